//! U+0000 (NUL) is refused in every string of a record, values and object keys alike, with
//! `CONTROL_CHAR` at its path (validate/mod.rs, "Decisions where SPEC is silent": PostgreSQL
//! `text` and `jsonb` cannot hold it, and every backend answers the same). canonicalJson is not
//! record validation and still accepts it.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use workflow_templates::hash::canonical_json;
use workflow_templates::validate::{validate_spec, validate_template, Options, CONTROL_CHAR};

const PARTIAL: Options = Options { complete: false, allow_builtin: false };

fn at(vs: &[workflow_templates::Violation], code: &str) -> Vec<String> {
    let mut f: Vec<String> = vs.iter().filter(|v| v.code == code).map(|v| v.field.clone()).collect();
    f.sort();
    f
}

#[test]
fn nul_is_control_char_at_its_path_in_every_string_of_a_template() {
    let t = json!({
        "name": "a\u{0}b",
        "workflow_type": "plain",
        "description": "line\nbreaks are fine, \u{0} is not",
        "changelog": "\u{0}",
        "tags": ["ok", "t\u{0}"],
        "default_params": { "model": "m\u{0}", "k\u{0}": 1, "nested": [{ "deep": ["x", "\u{0}"] }] },
        "extra_metadata": { "a": { "\u{0}": "v" } },
    });
    let vs = validate_template(&t, PARTIAL);
    let want = [
        "changelog",
        "default_params.model",
        "default_params.nested[0].deep[1]",
        "default_params[\"k\\u0000\"]",
        "description",
        "extra_metadata.a[\"\\u0000\"]",
        "name",
        "tags[1]",
    ];
    assert_eq!(at(&vs, CONTROL_CHAR), want, "{vs:#?}");
    // Once each (a name's own control-character rule does not repeat it).
    assert_eq!(vs.len(), want.len(), "{vs:#?}");
    // Without it, the same record is valid.
    let clean: Value = serde_json::from_str(&t.to_string().replace("\\u0000", "0")).unwrap();
    assert_eq!(validate_template(&clean, PARTIAL), vec![]);
}

#[test]
fn nul_is_refused_in_specs_and_unknown_fields_too() {
    let s = json!({ "name": "spec", "workflow_type": "plain", "base_template_name": "b\u{0}", "default_params": { "\u{0}": 1 } });
    assert_eq!(at(&validate_spec(&s, PARTIAL), CONTROL_CHAR), ["base_template_name", "default_params[\"\\u0000\"]"]);
    let t = json!({ "name": "x", "workflow_type": "plain", "odd": "\u{0}" });
    assert_eq!(at(&validate_template(&t, PARTIAL), CONTROL_CHAR), ["odd"]);
}

#[test]
fn canonical_json_still_holds_nul() {
    assert_eq!(canonical_json(&json!({ "\u{0}": "\u{0}" })), "{\"\\u0000\":\"\\u0000\"}");
}
