use serde_json::{json, Map, Value};

use super::*;
use crate::model::{TemplateSpec, WorkflowTemplate};

const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
const OWNER: &str = "01BX5ZZKBKACTAV9WEVGEMMVRZ";
const BASE: &str = "01BX5ZZKBKACTAV9WEVGEMMVS0";

const COMPLETE: Options = Options { complete: true, allow_builtin: false };
const PARTIAL: Options = Options { complete: false, allow_builtin: false };

fn template() -> WorkflowTemplate {
    let mut t = WorkflowTemplate {
        id: ID.into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-02T00:00:00.000Z".into(),
        owner_id: OWNER.into(),
        name: "Support Bot".into(),
        description: "Answers questions.".into(),
        workflow_type: WorkflowType::Full,
        category: TemplateCategory::CustomerSupport,
        default_params: json!({ "model": { "name": "gpt", "temperature": 0.2 }, "retrieval": { "top_k": 5 } })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        required_tools: Some(vec!["ticket_lookup".into(), "orders:status".into()]),
        required_retrievers: Some(vec!["help_center".into()]),
        base_template_id: None,
        is_builtin: false,
        version: 2,
        is_latest: true,
        changelog: Some("tuned".into()),
        is_public: true,
        rating: Some(4.5),
        rating_count: 2,
        usage_count: 10,
        success_rate: Some(0.9),
        avg_response_time_ms: Some(1200),
        last_used_at: Some("2026-01-03T00:00:00.000Z".into()),
        total_tokens_used: 12_345,
        total_cost: 1.25,
        avg_tokens_per_use: Some(1234.5),
        tags: Some(vec!["support".into(), "Tickets".into()]),
        extra_metadata: Some(json!({ "team": "cx" }).as_object().cloned().unwrap_or_default()),
        config_hash: String::new(),
        estimated_complexity: Some(3),
    };
    t.config_hash = hash::config_hash(&t.config());
    t
}

fn valid() -> Value {
    template().to_value()
}

/// A valid record with `field` replaced (and config_hash recomputed when `rehash`).
fn with(field: &str, value: Value) -> Value {
    let mut v = valid();
    if let Some(o) = v.as_object_mut() {
        o.insert(field.to_string(), value);
    }
    v
}

fn rehash(mut v: Value) -> Value {
    let t: WorkflowTemplate = serde_json::from_value(v.clone()).expect("typed");
    v["config_hash"] = json!(hash::config_hash(&t.config()));
    v
}

fn without(v: &Value, field: &str) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove(field);
    }
    v
}

fn pairs(vs: &[Violation]) -> Vec<(String, String)> {
    for v in vs {
        assert!(VIOLATION_CODES.contains(&v.code.as_str()), "undeclared code {}", v.code);
        assert!(!v.message.is_empty());
    }
    vs.iter().map(|v| (v.field.clone(), v.code.clone())).collect()
}

fn p(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

/// Exactly these (field, code) pairs, in any order.
#[track_caller]
fn assert_exactly(vs: &[Violation], expected: &[(&str, &str)]) {
    let mut got = pairs(vs);
    let mut want: Vec<_> = expected.iter().map(|(f, c)| p(f, c)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{vs:#?}");
}

#[track_caller]
fn template_violations(v: &Value, expected: &[(&str, &str)]) {
    assert_exactly(&validate_template(v, COMPLETE), expected);
}

fn nested(depth: usize) -> Value {
    // `depth` containers: {} is 1.
    let mut v = json!({});
    for _ in 1..depth {
        let mut m = Map::new();
        m.insert("a".into(), v);
        v = Value::Object(m);
    }
    v
}

/// serde_json drops values recursively; take very deep ones apart iteratively.
fn drop_deep(v: Value) {
    let mut stack = vec![v];
    while let Some(mut v) = stack.pop() {
        match &mut v {
            Value::Array(a) => stack.append(a),
            Value::Object(m) => stack.extend(std::mem::take(m).into_iter().map(|(_, x)| x)),
            _ => {}
        }
    }
}

fn very_deep(depth: usize) -> Value {
    let mut v = json!(1);
    for i in 0..depth {
        v = if i % 2 == 0 {
            Value::Array(vec![v])
        } else {
            let mut m = Map::new();
            m.insert("k".into(), v);
            Value::Object(m)
        };
    }
    v
}

// ---- codes -------------------------------------------------------------------------------

#[test]
fn codes_are_distinct_upper_snake() {
    assert_eq!(VIOLATION_CODES.len(), 24);
    let set: std::collections::HashSet<_> = VIOLATION_CODES.iter().collect();
    assert_eq!(set.len(), VIOLATION_CODES.len());
    for c in VIOLATION_CODES {
        assert!(c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{c}");
    }
    assert_eq!(FORBIDDEN_KEY, "FORBIDDEN_KEY");
}

// ---- whole records -----------------------------------------------------------------------

#[test]
fn valid_complete_template_passes() {
    template_violations(&valid(), &[]);
    assert!(validate_template(&valid(), PARTIAL).is_empty());
}

#[test]
fn valid_template_with_nulls_passes() {
    let mut t = template();
    t.required_tools = Some(vec![]);
    t.required_retrievers = None;
    t.workflow_type = WorkflowType::Plain;
    t.changelog = None;
    t.rating = None;
    t.rating_count = 0;
    t.success_rate = None;
    t.avg_response_time_ms = None;
    t.last_used_at = None;
    t.avg_tokens_per_use = None;
    t.tags = None;
    t.extra_metadata = None;
    t.estimated_complexity = None;
    t.base_template_id = Some(BASE.into());
    t.default_params = Map::new();
    t.config_hash = hash::config_hash(&t.config());
    template_violations(&t.to_value(), &[]);
}

#[test]
fn builtins_pass_with_allow_builtin() {
    for t in crate::builtin::all() {
        let v = t.to_value();
        let opts = Options { complete: true, allow_builtin: true };
        assert_exactly(&validate_template(&v, opts), &[]);
        assert_exactly(&validate_template(&v, COMPLETE), &[("is_builtin", BUILTIN_CLAIM)]);
    }
}

#[test]
fn not_an_object() {
    for v in [json!(null), json!(1), json!("x"), json!([]), json!(true)] {
        assert_exactly(&validate_template(&v, COMPLETE), &[("", TYPE)]);
        assert_exactly(&validate_spec(&v, PARTIAL), &[("", TYPE)]);
    }
}

#[test]
fn partial_record_needs_only_name_and_type() {
    let v = json!({ "name": "x", "workflow_type": "plain" });
    assert_exactly(&validate_template(&v, PARTIAL), &[]);
    assert_exactly(&validate_template(&json!({}), PARTIAL), &[("name", REQUIRED), ("workflow_type", REQUIRED)]);
    // Complete mode: every other column is missing.
    let vs = validate_template(&v, COMPLETE);
    assert_eq!(vs.len(), 28, "{vs:#?}");
    assert!(vs.iter().all(|x| x.code == REQUIRED));
    for col in template_columns().filter(|c| *c != "name" && *c != "workflow_type") {
        assert!(vs.iter().any(|x| x.field == col), "{col}");
    }
    // Every column missing, one by one.
    for col in template_columns() {
        assert_exactly(&validate_template(&without(&valid(), col), COMPLETE), &[(col, REQUIRED)]);
    }
}

#[test]
fn partial_record_checks_what_is_present() {
    let v = json!({ "name": "x", "workflow_type": "plain", "usage_count": -1, "id": "nope", "config_hash": "zz" });
    assert_exactly(
        &validate_template(&v, PARTIAL),
        &[("usage_count", OUT_OF_RANGE), ("id", INVALID_ID), ("config_hash", PATTERN)],
    );
    // The defaults (description "", category custom, default_params {}) feed the hash.
    let t = WorkflowTemplate { workflow_type: WorkflowType::Plain, default_params: Map::new(), ..template() };
    let h = hash::config_hash(&ConfigParts { required_tools: &[], required_retrievers: &[], ..t.config() });
    let v = json!({ "name": "x", "workflow_type": "plain", "config_hash": h });
    assert_exactly(&validate_template(&v, PARTIAL), &[]);
}

#[test]
fn null_in_non_nullable_column_is_type() {
    for col in [
        "id",
        "name",
        "description",
        "default_params",
        "is_builtin",
        "version",
        "usage_count",
        "config_hash",
        "total_cost",
    ] {
        assert_exactly(&validate_template(&with(col, Value::Null), COMPLETE), &[(col, TYPE)]);
    }
}

#[test]
fn unknown_and_forbidden_top_level_fields() {
    let mut v = valid();
    v["colour"] = json!("red");
    v["__proto__"] = json!({ "x": 1 });
    template_violations(&v, &[("colour", UNKNOWN_FIELD), ("__proto__", FORBIDDEN_KEY)]);
    let mut v = valid();
    v["odd.key"] = json!(9_007_199_254_740_992u64);
    template_violations(&v, &[("[\"odd.key\"]", UNKNOWN_FIELD), ("[\"odd.key\"]", UNSAFE_NUMBER)]);
}

#[test]
fn many_violations_reported_together_with_paths() {
    let mut v = valid();
    v["name"] = json!(" bad\u{7}");
    v["required_tools"] = json!(["ok", "-bad", "ok", 3]);
    v["tags"] = json!(["x", "X", ""]);
    v["default_params"] = json!({ "retrieval": { "top_k": 1e300 }, "list": [{ "__proto__": 1 }] });
    v["version"] = json!(0);
    v["rating"] = json!(7);
    v["updated_at"] = json!("2025-01-01T00:00:00Z");
    v["category"] = json!("sports");
    template_violations(
        &v,
        &[
            ("name", NOT_TRIMMED),
            ("name", CONTROL_CHAR),
            ("required_tools[1]", PATTERN),
            ("required_tools[2]", DUPLICATE),
            ("required_tools[3]", TYPE),
            ("tags[1]", DUPLICATE),
            ("tags[2]", TOO_SHORT),
            ("default_params.retrieval.top_k", UNSAFE_NUMBER),
            ("default_params.list[0].__proto__", FORBIDDEN_KEY),
            ("version", OUT_OF_RANGE),
            ("rating", OUT_OF_RANGE),
            ("updated_at", TIME_ORDER),
            ("category", INVALID_ENUM),
        ],
    );
}

// ---- names and text ----------------------------------------------------------------------

#[test]
fn name_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("ok name", &[]),
        ("é", &[]),
        (" lead", &[NOT_TRIMMED]),
        ("trail ", &[NOT_TRIMMED]),
        ("tab\t", &[NOT_TRIMMED, CONTROL_CHAR]),
        ("\u{FEFF}bom", &[NOT_TRIMMED]),
        ("nbsp\u{A0}", &[NOT_TRIMMED]),
        ("", &[TOO_SHORT]),
        ("   ", &[NOT_TRIMMED]),
        ("a\nb", &[CONTROL_CHAR]),
        ("a\u{0}b", &[CONTROL_CHAR]),
        ("a\u{9f}b", &[CONTROL_CHAR]),
        (" a\nb ", &[NOT_TRIMMED, CONTROL_CHAR]),
    ];
    for (name, codes) in cases {
        let expected: Vec<(&str, &str)> = codes.iter().map(|c| ("name", *c)).collect();
        template_violations(&with("name", json!(name)), &expected);
    }
    template_violations(&with("name", json!(1)), &[("name", TYPE)]);
}

#[test]
fn name_length_counts_scalar_values() {
    template_violations(&with("name", json!("x".repeat(255))), &[]);
    template_violations(&with("name", json!("é".repeat(255))), &[]);
    template_violations(&with("name", json!("😀".repeat(255))), &[]);
    template_violations(&with("name", json!("x".repeat(256))), &[("name", TOO_LONG)]);
    template_violations(&with("name", json!("😀".repeat(256))), &[("name", TOO_LONG)]);
}

#[test]
fn description_and_changelog() {
    template_violations(&with("description", json!("")), &[]);
    template_violations(&with("description", json!("\n\tmulti\nline ")), &[]);
    template_violations(&with("description", json!("é".repeat(10_000))), &[]);
    template_violations(&with("description", json!("x".repeat(10_001))), &[("description", TOO_LONG)]);
    template_violations(&with("description", json!([])), &[("description", TYPE)]);
    template_violations(&with("changelog", Value::Null), &[]);
    template_violations(&with("changelog", json!("y".repeat(10_001))), &[("changelog", TOO_LONG)]);
    template_violations(&with("changelog", json!(false)), &[("changelog", TYPE)]);
}

// ---- enums, ids, timestamps, booleans ----------------------------------------------------

#[test]
fn enums() {
    template_violations(&with("workflow_type", json!("PLAIN")), &[("workflow_type", INVALID_ENUM)]);
    template_violations(&with("workflow_type", json!(1)), &[("workflow_type", TYPE)]);
    template_violations(&with("category", json!("custom")), &[]);
    template_violations(&with("category", json!("Custom")), &[("category", INVALID_ENUM)]);
    template_violations(&with("category", json!(null)), &[("category", TYPE)]);
    let vs = validate_template(&with("category", json!("x")), COMPLETE);
    assert!(vs[0].message.contains("\"customer_support\""), "{}", vs[0].message);
}

#[test]
fn ids() {
    template_violations(&with("id", json!(ID.to_lowercase())), &[]);
    template_violations(&with("owner_id", json!("not-a-ulid")), &[("owner_id", INVALID_ID)]);
    template_violations(&with("id", json!("81ARZ3NDEKTSV4RRFFQ69G5FAV")), &[("id", INVALID_ID)]);
    template_violations(&with("id", json!(12)), &[("id", TYPE)]);
    // A bad base id: reported, and the hash is not judged on a bad configuration.
    template_violations(&with("base_template_id", json!("zzz")), &[("base_template_id", INVALID_ID)]);
}

#[test]
fn timestamps() {
    template_violations(&with("created_at", json!("2026-01-01T01:00:00+01:00")), &[]);
    template_violations(&with("created_at", json!("2026-01-01")), &[("created_at", INVALID_TIMESTAMP)]);
    template_violations(&with("last_used_at", json!("yesterday")), &[("last_used_at", INVALID_TIMESTAMP)]);
    template_violations(&with("last_used_at", Value::Null), &[]);
    template_violations(&with("updated_at", json!(5)), &[("updated_at", TYPE)]);
    // updated_at may equal created_at, not precede it; offsets are compared as instants.
    template_violations(&with("updated_at", json!("2026-01-01T00:00:00Z")), &[]);
    template_violations(&with("updated_at", json!("2025-12-31T23:59:59.999Z")), &[("updated_at", TIME_ORDER)]);
    template_violations(&with("updated_at", json!("2026-01-01T00:30:00+01:00")), &[("updated_at", TIME_ORDER)]);
}

#[test]
fn booleans_and_builtin_claim() {
    template_violations(&with("is_public", json!("true")), &[("is_public", TYPE)]);
    template_violations(&with("is_latest", json!(1)), &[("is_latest", TYPE)]);
    template_violations(&with("is_builtin", json!(true)), &[("is_builtin", BUILTIN_CLAIM)]);
    let opts = Options { complete: true, allow_builtin: true };
    assert_exactly(&validate_template(&with("is_builtin", json!(true)), opts), &[]);
    let partial = json!({ "name": "x", "workflow_type": "plain", "is_builtin": true });
    assert_exactly(&validate_template(&partial, PARTIAL), &[("is_builtin", BUILTIN_CLAIM)]);
}

// ---- numbers -----------------------------------------------------------------------------

#[test]
fn integers() {
    template_violations(&with("version", json!(1)), &[]);
    template_violations(&with("version", json!(3.0)), &[]);
    template_violations(&with("version", json!(0)), &[("version", OUT_OF_RANGE)]);
    template_violations(&with("version", json!(1.5)), &[("version", TYPE)]);
    template_violations(&with("version", json!("1")), &[("version", TYPE)]);
    template_violations(&with("usage_count", json!(0)), &[]);
    template_violations(&with("usage_count", json!(-1)), &[("usage_count", OUT_OF_RANGE)]);
    template_violations(&with("usage_count", json!(-3.0)), &[("usage_count", OUT_OF_RANGE)]);
    template_violations(&with("usage_count", json!(-0.0)), &[]);
    template_violations(&with("total_tokens_used", json!(MAX_SAFE_INTEGER)), &[]);
    template_violations(&with("total_tokens_used", json!(MAX_SAFE_INTEGER as f64)), &[]);
    // Beyond 2^53-1: one UNSAFE_NUMBER, not also OUT_OF_RANGE.
    template_violations(
        &with("total_tokens_used", json!(MAX_SAFE_INTEGER + 1)),
        &[("total_tokens_used", UNSAFE_NUMBER)],
    );
    template_violations(&with("total_tokens_used", json!(u64::MAX)), &[("total_tokens_used", UNSAFE_NUMBER)]);
    template_violations(&with("usage_count", json!(i64::MIN)), &[("usage_count", UNSAFE_NUMBER)]);
    template_violations(&with("usage_count", json!(1e300)), &[("usage_count", UNSAFE_NUMBER)]);
    template_violations(&with("avg_response_time_ms", json!(-5)), &[("avg_response_time_ms", OUT_OF_RANGE)]);
    template_violations(&with("avg_response_time_ms", json!(0.5)), &[("avg_response_time_ms", TYPE)]);
    template_violations(&with("estimated_complexity", Value::Null), &[]);
    template_violations(&with("estimated_complexity", json!([1])), &[("estimated_complexity", TYPE)]);
}

#[test]
fn floats() {
    template_violations(&with("rating", json!(0)), &[]);
    template_violations(&with("rating", json!(5)), &[]);
    template_violations(&with("rating", json!(5.0001)), &[("rating", OUT_OF_RANGE)]);
    template_violations(&with("rating", json!(-0.1)), &[("rating", OUT_OF_RANGE)]);
    template_violations(&with("rating", json!("4")), &[("rating", TYPE)]);
    template_violations(&with("success_rate", json!(1)), &[]);
    template_violations(&with("success_rate", json!(1.01)), &[("success_rate", OUT_OF_RANGE)]);
    template_violations(&with("success_rate", Value::Null), &[]);
    template_violations(&with("total_cost", json!(0)), &[]);
    template_violations(&with("total_cost", json!(-0.01)), &[("total_cost", OUT_OF_RANGE)]);
    template_violations(&with("total_cost", json!(1e16)), &[("total_cost", UNSAFE_NUMBER)]);
    template_violations(&with("avg_tokens_per_use", json!(-1)), &[("avg_tokens_per_use", OUT_OF_RANGE)]);
}

#[test]
fn rating_consistency() {
    let mut v = valid();
    v["rating"] = Value::Null;
    template_violations(&v, &[("rating", INCONSISTENT)]);
    v["rating_count"] = json!(0);
    template_violations(&v, &[]);
    v["rating"] = json!(3);
    template_violations(&v, &[("rating", INCONSISTENT)]);
    // Not judged when either side is invalid.
    v["rating_count"] = json!(-1);
    template_violations(&v, &[("rating_count", OUT_OF_RANGE)]);
}

// ---- lists -------------------------------------------------------------------------------

#[test]
fn resource_names() {
    for ok in ["a", "A9", "ns:tool/v1.2-beta_x", &"a".repeat(128)] {
        assert!(is_resource_name(ok), "{ok}");
    }
    for bad in ["", "_a", "-a", ".a", "a b", "a\u{e9}", "é", &"a".repeat(129), "a\n", "a@b", "a+b"] {
        assert!(!is_resource_name(bad), "{bad}");
    }
}

#[test]
fn required_lists() {
    let v = rehash(with("required_tools", json!(["a", "b"])));
    template_violations(&v, &[]);
    template_violations(&with("required_tools", json!("a")), &[("required_tools", TYPE)]);
    template_violations(&with("required_tools", json!({})), &[("required_tools", TYPE)]);
    template_violations(
        &with("required_retrievers", json!(["r", "bad name", "r", null])),
        &[("required_retrievers[1]", PATTERN), ("required_retrievers[2]", DUPLICATE), ("required_retrievers[3]", TYPE)],
    );
    let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    template_violations(&with("required_tools", json!(many)), &[("required_tools", TOO_MANY)]);
    let max: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();
    template_violations(&rehash(with("required_tools", json!(max))), &[]);
    // Duplicates are exact (case-sensitive) for tools.
    template_violations(&rehash(with("required_tools", json!(["Tool", "tool"]))), &[]);
    let vs = validate_template(&with("required_tools", json!(["a", "a"])), COMPLETE);
    assert!(vs.iter().any(|x| x.code == DUPLICATE && x.message.contains("required_tools[0]")), "{vs:#?}");
}

#[test]
fn tags() {
    template_violations(&with("tags", Value::Null), &[]);
    template_violations(&with("tags", json!([])), &[]);
    template_violations(&with("tags", json!(["Rust", "rust"])), &[("tags[1]", DUPLICATE)]);
    template_violations(&with("tags", json!(["Ärger", "äRGER"])), &[("tags[1]", DUPLICATE)]);
    // Unicode lowercase, final sigma included (as JavaScript's toLowerCase).
    template_violations(&with("tags", json!(["ΣΑΣ", "σας"])), &[("tags[1]", DUPLICATE)]);
    template_violations(&with("tags", json!(["ǅ", "ǆ", "Ǆ"])), &[("tags[1]", DUPLICATE), ("tags[2]", DUPLICATE)]);
    template_violations(
        &with("tags", json!([" a", "b\n"])),
        &[("tags[0]", NOT_TRIMMED), ("tags[1]", NOT_TRIMMED), ("tags[1]", CONTROL_CHAR)],
    );
    template_violations(
        &with("tags", json!(["", "x".repeat(65), "y".repeat(64)])),
        &[("tags[0]", TOO_SHORT), ("tags[1]", TOO_LONG)],
    );
    template_violations(&with("tags", json!(["a\u{1}b"])), &[("tags[0]", CONTROL_CHAR)]);
    template_violations(&with("tags", json!([1, {}])), &[("tags[0]", TYPE), ("tags[1]", TYPE)]);
    template_violations(&with("tags", json!("a,b")), &[("tags", TYPE)]);
    let many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    template_violations(&with("tags", json!(many)), &[("tags", TOO_MANY)]);
}

// ---- JSON columns ------------------------------------------------------------------------

#[test]
fn default_params_type_and_paths() {
    template_violations(&with("default_params", json!([])), &[("default_params", TYPE)]);
    template_violations(&with("default_params", json!("{}")), &[("default_params", TYPE)]);
    let v =
        with("default_params", json!({ "a.b": { "": [1, { "__proto__": null }] }, "ok": -9_007_199_254_740_992i64 }));
    template_violations(
        &v,
        &[("default_params[\"a.b\"][\"\"][1].__proto__", FORBIDDEN_KEY), ("default_params.ok", UNSAFE_NUMBER)],
    );
    // Safe extremes are fine.
    let v = rehash(with(
        "default_params",
        json!({ "max": MAX_SAFE_INTEGER, "min": -(MAX_SAFE_INTEGER as i64), "f": 1.5e-300 }),
    ));
    template_violations(&v, &[]);
}

#[test]
fn default_params_depth() {
    assert_eq!(json_depth(&json!(1), 10), 0);
    assert_eq!(json_depth(&json!({}), 10), 1);
    assert_eq!(json_depth(&json!({ "a": {} }), 10), 2);
    assert_eq!(json_depth(&json!([[1], [[2]]]), 10), 3);
    assert_eq!(json_depth(&nested(40), 10), 11);
    assert_eq!(json_depth(&nested(32), 100), 32);

    template_violations(&rehash(with("default_params", nested(32))), &[]);
    let v = with("default_params", nested(33));
    let vs = validate_template(&v, COMPLETE);
    assert_exactly(
        &vs,
        &[("default_params.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a", TOO_DEEP)],
    );
    // Too deep everywhere: still a single TOO_DEEP.
    let wide = json!({ "x": nested(40), "y": nested(50), "z": [nested(60)] });
    let vs = validate_template(&with("default_params", wide), COMPLETE);
    assert_eq!(vs.iter().filter(|v| v.code == TOO_DEEP).count(), 1, "{vs:#?}");
    assert_eq!(vs.len(), 1);
}

#[test]
fn sizes() {
    // Canonical size, not the size of the input: just under and just over 256 KiB.
    let pad = |n: usize| json!({ "s": "x".repeat(n) });
    let overhead = hash::canonical_json(&pad(0)).len();
    template_violations(&rehash(with("default_params", pad(MAX_PARAMS_BYTES - overhead))), &[]);
    template_violations(
        &with("default_params", pad(MAX_PARAMS_BYTES - overhead + 1)),
        &[("default_params", TOO_LARGE)],
    );
    template_violations(&with("extra_metadata", pad(MAX_METADATA_BYTES - overhead)), &[]);
    template_violations(
        &with("extra_metadata", pad(MAX_METADATA_BYTES - overhead + 1)),
        &[("extra_metadata", TOO_LARGE)],
    );
    template_violations(&with("extra_metadata", json!([1])), &[("extra_metadata", TYPE)]);
    template_violations(
        &with("extra_metadata", json!({ "n": 1e20, "__proto__": {} })),
        &[("extra_metadata.n", UNSAFE_NUMBER), ("extra_metadata.__proto__", FORBIDDEN_KEY)],
    );
    // Metadata may nest deeper than params (up to the hard bound).
    template_violations(&with("extra_metadata", nested(100)), &[]);
    let vs = validate_template(&with("extra_metadata", nested(200)), COMPLETE);
    assert_eq!(pairs(&vs).iter().map(|x| x.1.as_str()).collect::<Vec<_>>(), vec![TOO_DEEP]);
}

/// Owns a value and takes it apart iteratively when dropped, even while unwinding from a
/// failed assertion.
struct Deep(Value);

impl Drop for Deep {
    fn drop(&mut self) {
        drop_deep(std::mem::take(&mut self.0));
    }
}

#[test]
fn hostile_depth_does_not_overflow() {
    let deep = Deep(very_deep(200_000));
    let mut out = Vec::new();
    check_json_value(&deep.0, "x", &mut out);
    // The outermost container is an object, then an array, ...: the bound is hit once.
    assert_exactly(&out, &[(&format!("x{}", ".k[0]".repeat(MAX_JSON_DEPTH / 2)), TOO_DEEP)]);
    assert_eq!(json_depth(&deep.0, 1000), 1001);

    for field in ["default_params", "extra_metadata", "name", "tags", "required_tools", "unknown"] {
        let mut v = Deep(valid());
        v.0[field] = very_deep(200_000);
        let vs = validate_template(&v.0, COMPLETE);
        assert!(vs.iter().filter(|x| x.code == TOO_DEEP).count() == 1, "{field}: {vs:#?}");
        let vs = validate_spec(&v.0, PARTIAL);
        assert!(!vs.is_empty());
    }
}

#[test]
fn check_json_value_generic() {
    let mut out = Vec::new();
    check_json_value(&json!({ "a": [1, 2.5, "s", null, true], "b": { "c": {} } }), "f", &mut out);
    assert!(out.is_empty());
    check_json_value(&json!([9_007_199_254_740_992u64, { "__proto__": -1e300 }]), "", &mut out);
    assert_exactly(&out, &[("[0]", UNSAFE_NUMBER), ("[1].__proto__", FORBIDDEN_KEY), ("[1].__proto__", UNSAFE_NUMBER)]);
    let mut out = Vec::new();
    assert!(!check_json_value_with_depth(&nested(3), "p", 2, &mut out));
    assert_exactly(&out, &[("p.a.a", TOO_DEEP)]);
    assert_eq!(key_path("", "a b"), "[\"a b\"]");
    assert_eq!(key_path("x", "y_z-1$"), "x.y_z-1$");
    assert_eq!(key_path("x", "é"), "x.é");
    assert_eq!(key_path("x", "q\"]"), "x[\"q\\\"]\"]");
    assert_eq!(index_path("x", 7), "x[7]");
}

// ---- config hash -------------------------------------------------------------------------

#[test]
fn config_hash_checks() {
    template_violations(&with("config_hash", json!("ABC")), &[("config_hash", PATTERN)]);
    template_violations(&with("config_hash", json!("A".repeat(64))), &[("config_hash", PATTERN)]);
    template_violations(&with("config_hash", json!(1)), &[("config_hash", TYPE)]);
    let zero = "0".repeat(64);
    let vs = validate_template(&with("config_hash", json!(zero)), COMPLETE);
    assert_exactly(&vs, &[("config_hash", HASH_MISMATCH)]);
    assert!(vs[0].message.contains(&template().config_hash), "{}", vs[0].message);
    // Behaviour changes break the hash; names, tags, statistics do not.
    template_violations(&with("default_params", json!({ "model": "other" })), &[("config_hash", HASH_MISMATCH)]);
    template_violations(&with("required_tools", json!(["orders:status", "ticket_lookup"])), &[]);
    template_violations(&with("required_tools", json!(["orders:status"])), &[("config_hash", HASH_MISMATCH)]);
    template_violations(&with("name", json!("Renamed")), &[]);
    template_violations(&with("usage_count", json!(99)), &[]);
    // Not judged while the configuration itself is invalid.
    template_violations(&with("default_params", json!({ "x": 1e300 })), &[("default_params.x", UNSAFE_NUMBER)]);
    template_violations(&with("workflow_type", json!("nope")), &[("workflow_type", INVALID_ENUM)]);
    template_violations(&with("required_tools", json!(["a b"])), &[("required_tools[0]", PATTERN)]);
}

#[test]
fn config_hash_uses_normalised_base_id() {
    let mut t = template();
    t.base_template_id = Some(BASE.into());
    t.config_hash = hash::config_hash(&t.config());
    let mut v = t.to_value();
    template_violations(&v, &[]);
    v["base_template_id"] = json!(BASE.to_lowercase());
    template_violations(&v, &[]);
}

// ---- type consistency --------------------------------------------------------------------

#[test]
fn type_consistency_matrix() {
    let s = |n: usize| (0..n).map(|i| format!("x{i}")).collect::<Vec<String>>();
    for wt in WorkflowType::ALL {
        for tools in 0..3 {
            for retrievers in 0..3 {
                let mut out = Vec::new();
                check_type_consistency(wt, &s(tools), &s(retrievers), &mut out);
                let (nt, nr) = wt.needs();
                let ok = (tools > 0) == nt && (retrievers > 0) == nr;
                if ok {
                    assert!(out.is_empty(), "{wt:?} {tools} {retrievers}");
                } else {
                    assert_exactly(&out, &[("workflow_type", WORKFLOW_TYPE_MISMATCH)]);
                }
            }
        }
    }
    let mut out = Vec::new();
    check_type_consistency(WorkflowType::Plain, &s(1), &s(2), &mut out);
    assert!(out[0].message.contains("tools") && out[0].message.contains("retrievers"), "{}", out[0].message);
}

#[test]
fn type_consistency_in_records() {
    let v = rehash(with("workflow_type", json!("tools")));
    template_violations(&v, &[("workflow_type", WORKFLOW_TYPE_MISMATCH)]);
    let v = json!({ "name": "x", "workflow_type": "rag" });
    assert_exactly(&validate_template(&v, PARTIAL), &[("workflow_type", WORKFLOW_TYPE_MISMATCH)]);
    let v = json!({ "name": "x", "workflow_type": "rag", "required_retrievers": ["r"], "required_tools": null });
    assert_exactly(&validate_template(&v, PARTIAL), &[]);
    // With a base, the catalog checks the effective configuration instead.
    let v = json!({ "name": "x", "workflow_type": "rag", "base_template_id": BASE });
    assert_exactly(&validate_template(&v, PARTIAL), &[]);
    let v = json!({ "name": "x", "workflow_type": "rag", "base_template_id": null });
    assert_exactly(&validate_template(&v, PARTIAL), &[("workflow_type", WORKFLOW_TYPE_MISMATCH)]);
    // Not judged when a list is not even an array.
    let v = json!({ "name": "x", "workflow_type": "rag", "required_retrievers": "r" });
    assert_exactly(&validate_template(&v, PARTIAL), &[("required_retrievers", TYPE)]);
}

// ---- writable ----------------------------------------------------------------------------

#[test]
fn writable_fields() {
    use crate::model::template::{TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE};
    let patch = json!({ "name": "x", "version": 3, "config_hash": "x", "bogus": 1, "__proto__": {}, "tags": [] });
    let mut out = Vec::new();
    check_writable(patch.as_object().unwrap_or(&Map::new()), TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE, &mut out);
    assert_exactly(
        &out,
        &[("version", READ_ONLY), ("config_hash", READ_ONLY), ("bogus", UNKNOWN_FIELD), ("__proto__", FORBIDDEN_KEY)],
    );
    // Read-only and writable together cover every column.
    for c in template_columns() {
        assert!(TEMPLATE_READ_ONLY.contains(&c) ^ TEMPLATE_WRITABLE.contains(&c), "{c}");
    }
}

// ---- specs -------------------------------------------------------------------------------

fn spec() -> TemplateSpec {
    TemplateSpec {
        id: ID.into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        owner_id: OWNER.into(),
        name: "Quick RAG".into(),
        description: String::new(),
        workflow_type: WorkflowType::Rag,
        default_params: Map::new(),
        required_tools: None,
        required_retrievers: Some(vec!["docs".into()]),
        base_template_name: None,
        usage_count: 0,
        last_used_at: None,
        tags: Some(vec!["rag".into()]),
        extra_metadata: None,
    }
}

fn spec_with(field: &str, value: Value) -> Value {
    let mut v = spec().to_value();
    v[field] = value;
    v
}

#[track_caller]
fn spec_violations(v: &Value, expected: &[(&str, &str)]) {
    assert_exactly(&validate_spec(v, COMPLETE), expected);
}

#[test]
fn specs() {
    spec_violations(&spec().to_value(), &[]);
    assert_exactly(&validate_spec(&json!({ "name": "s", "workflow_type": "plain" }), PARTIAL), &[]);
    let vs = validate_spec(&json!({ "name": "s", "workflow_type": "plain" }), COMPLETE);
    assert_eq!(vs.len(), spec_columns().count() - 2);
    for col in spec_columns() {
        spec_violations(&without(&spec().to_value(), col), &[(col, REQUIRED)]);
    }
    // Template-only columns are unknown on a spec.
    spec_violations(&spec_with("category", json!("custom")), &[("category", UNKNOWN_FIELD)]);
    spec_violations(&spec_with("config_hash", json!("0".repeat(64))), &[("config_hash", UNKNOWN_FIELD)]);
    spec_violations(&spec_with("is_builtin", json!(true)), &[("is_builtin", UNKNOWN_FIELD)]);
    // Shared rules.
    spec_violations(&spec_with("name", json!(" s")), &[("name", NOT_TRIMMED)]);
    spec_violations(&spec_with("usage_count", json!(-2)), &[("usage_count", OUT_OF_RANGE)]);
    spec_violations(&spec_with("tags", json!(["a", "A"])), &[("tags[1]", DUPLICATE)]);
    spec_violations(
        &spec_with("default_params", json!({ "__proto__": 1 })),
        &[("default_params.__proto__", FORBIDDEN_KEY)],
    );
    spec_violations(&spec_with("updated_at", json!("2020-01-01T00:00:00Z")), &[("updated_at", TIME_ORDER)]);
    spec_violations(&spec_with("id", json!("x")), &[("id", INVALID_ID)]);
}

#[test]
fn spec_base_name_and_consistency() {
    spec_violations(&spec_with("base_template_name", json!("Research Analyst")), &[]);
    spec_violations(&spec_with("base_template_name", json!("")), &[("base_template_name", TOO_SHORT)]);
    spec_violations(&spec_with("base_template_name", json!("x ")), &[("base_template_name", NOT_TRIMMED)]);
    spec_violations(&spec_with("base_template_name", json!("x".repeat(256))), &[("base_template_name", TOO_LONG)]);
    spec_violations(&spec_with("base_template_name", json!(3)), &[("base_template_name", TYPE)]);
    // Without a base, the type must agree with the lists; with one, it is checked after
    // inheritance.
    spec_violations(&spec_with("required_retrievers", Value::Null), &[("workflow_type", WORKFLOW_TYPE_MISMATCH)]);
    let mut v = spec_with("required_retrievers", Value::Null);
    v["base_template_name"] = json!("Research Analyst");
    spec_violations(&v, &[]);
}
