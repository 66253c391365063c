//! Rules across fields: the config hash, workflow-type consistency, writable fields, specs.

use serde_json::{json, Value};

use super::*;

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

