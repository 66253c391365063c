//! Cross-implementation test vectors for RFC 8785 canonical JSON and `config_hash` (SPEC
//! section 4). The expected values in `tests/vectors/` were produced by PyPI `rfc8785` +
//! `hashlib` (scripts/make_vectors.py), not by this crate; scripts/check_vectors.py re-derives
//! them. Never edit an expected value to make this test pass: a mismatch is a bug in src/hash.
//!
//! The files are embedded with `include_str!`, so these tests also run on wasm32 under
//! wasm-bindgen-test.

use serde_json::{Map, Value};
use workflow_templates::hash::{
    canonical_json, config_hash, config_value, sha256_hex, ConfigParts,
};
use workflow_templates::model::WorkflowType;

const CANONICAL_VECTORS: &str = include_str!("vectors/canonical.json");
const CONFIG_VECTORS: &str = include_str!("vectors/config.json");

fn load(text: &str, file: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(_) => panic!("tests/vectors/{file}: top level is not an array"),
        Err(e) => panic!("tests/vectors/{file}: not valid JSON: {e}"),
    }
}

fn field<'a>(v: &'a Value, key: &str, file: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("tests/vectors/{file}: a vector lacks string field {key:?}: {v}"))
}

fn string_list(v: &Value, name: &str, key: &str) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|s| {
                s.as_str()
                    .unwrap_or_else(|| panic!("config vector {name}: {key} holds a non-string"))
                    .to_owned()
            })
            .collect(),
        other => panic!("config vector {name}: {key} is neither null nor an array: {other}"),
    }
}

/// `failures` holds one line per failed check, each starting with "  <vector name>: ".
fn finish(kind: &str, total: usize, failures: Vec<String>) {
    let mut failed: Vec<&str> = failures
        .iter()
        .filter_map(|f| f.trim_start().split(':').next())
        .collect();
    failed.dedup();
    assert!(
        failures.is_empty(),
        "{} of {total} {kind} vectors disagree with the independent oracle (rfc8785 + hashlib): {}\n{}",
        failed.len(),
        failed.join(", "),
        failures.join("\n")
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn canonical_json_vectors() {
    let vectors = load(CANONICAL_VECTORS, "canonical.json");
    assert!(
        vectors.len() >= 60,
        "expected at least 60 canonical vectors, found {}",
        vectors.len()
    );
    let mut failures = Vec::new();
    for v in &vectors {
        let name = field(v, "name", "canonical.json");
        let input = field(v, "input", "canonical.json");
        let want = field(v, "canonical", "canonical.json");
        let want_sha = field(v, "sha256", "canonical.json");
        let parsed: Value = match serde_json::from_str(input) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!(
                    "  {name}: serde_json cannot parse input {input:?}: {e}"
                ));
                continue;
            }
        };
        let got = canonical_json(&parsed);
        if got != want {
            failures.push(format!("  {name}: canonical_json\n      input {input:?}\n      want  {want:?}\n      got   {got:?}"));
        }
        let got_sha = sha256_hex(got.as_bytes());
        if got_sha != want_sha {
            failures.push(format!(
                "  {name}: sha256_hex(canonical_json)\n      want {want_sha}\n      got  {got_sha}"
            ));
        }
        // sha256_hex on its own, independent of canonicalisation.
        let sha_of_expected = sha256_hex(want.as_bytes());
        if sha_of_expected != want_sha {
            failures.push(format!("  {name}: sha256_hex(expected canonical text)\n      want {want_sha}\n      got  {sha_of_expected}"));
        }
    }
    finish("canonical", vectors.len(), failures);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn config_hash_vectors() {
    let vectors = load(CONFIG_VECTORS, "config.json");
    assert!(
        vectors.len() >= 10,
        "expected at least 10 config vectors, found {}",
        vectors.len()
    );
    let mut failures = Vec::new();
    for v in &vectors {
        let name = field(v, "name", "config.json");
        let want_hash = field(v, "config_hash", "config.json");
        let cfg = v
            .get("config")
            .unwrap_or_else(|| panic!("config vector {name}: no config"));
        let type_str = cfg["workflow_type"]
            .as_str()
            .unwrap_or_else(|| panic!("config vector {name}: workflow_type is not a string"));
        let workflow_type = WorkflowType::parse(type_str)
            .unwrap_or_else(|| panic!("config vector {name}: unknown workflow_type {type_str:?}"));
        let empty = Map::new();
        let default_params = match &cfg["default_params"] {
            Value::Object(m) => m,
            Value::Null => &empty,
            other => panic!("config vector {name}: default_params is not an object: {other}"),
        };
        let tools = string_list(&cfg["required_tools"], name, "required_tools");
        let retrievers = string_list(&cfg["required_retrievers"], name, "required_retrievers");
        let base = match &cfg["base_template_id"] {
            Value::Null => None,
            Value::String(s) => Some(s.as_str()),
            other => panic!(
                "config vector {name}: base_template_id is neither null nor a string: {other}"
            ),
        };
        let parts = ConfigParts {
            workflow_type,
            default_params,
            required_tools: &tools,
            required_retrievers: &retrievers,
            base_template_id: base,
        };
        let canonical = canonical_json(&config_value(&parts));
        if let Some(want) = v.get("canonical").and_then(Value::as_str) {
            if canonical != want {
                failures.push(format!("  {name}: canonical_json(config_value)\n      want {want:?}\n      got  {canonical:?}"));
            }
        }
        let got = config_hash(&parts);
        if got != want_hash {
            failures.push(format!(
                "  {name}: config_hash\n      want {want_hash}\n      got  {got}"
            ));
        }
    }
    finish("config", vectors.len(), failures);
}

/// Vector names are unique across both files, so a failure report is unambiguous.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn vector_names_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for (text, file) in [
        (CANONICAL_VECTORS, "canonical.json"),
        (CONFIG_VECTORS, "config.json"),
    ] {
        for v in load(text, file) {
            let name = field(&v, "name", file).to_owned();
            assert!(
                seen.insert(name.clone()),
                "duplicate vector name {name:?} in tests/vectors/{file}"
            );
        }
    }
}
