//! Unit tests of validation: shared fixtures here, the rules by topic in the files beside.

mod fields;
mod records;

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

/// Names in messages are quoted as JSON strings, the form field paths use (not Rust's Debug
/// form, `\u{1}`): the same text the server and the package print, and no Debug escaping in
/// the wasm (issue 12).
#[test]
fn names_in_messages_are_json_strings() {
    let mut v = valid();
    v["a\u{1}\"b\u{200b}"] = json!(1);
    let out = validate_template(&v, COMPLETE);
    let m: Vec<&str> = out.iter().filter(|x| x.code == UNKNOWN_FIELD).map(|x| x.message.as_str()).collect();
    assert_eq!(m, ["unknown field \"a\\u0001\\\"b\u{200b}\""]);
    assert_eq!(
        crate::Error::NameTaken { name: "x\ny".into() }.to_string(),
        "a latest template named \"x\\ny\" already exists for this owner"
    );
    assert_eq!(crate::Error::BaseNotFound { reference: "\u{7f}".into() }.to_string(), "base template \"\u{7f}\" not found");
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

