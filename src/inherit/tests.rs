use serde_json::{json, Map, Value};

use super::*;
use crate::hash::config_hash;
use crate::model::{TemplateCategory, WorkflowTemplate, WorkflowType};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn tpl(id: &str, base: Option<&str>, params: Value, tools: Option<&[&str]>, retrievers: Option<&[&str]>) -> WorkflowTemplate {
    WorkflowTemplate {
        name: id.into(),
        workflow_type: WorkflowType::Plain,
        category: TemplateCategory::Custom,
        default_params: obj(params),
        required_tools: tools.map(|l| l.iter().map(|s| s.to_string()).collect()),
        required_retrievers: retrievers.map(|l| l.iter().map(|s| s.to_string()).collect()),
        base_template_id: base.map(Into::into),
        ..WorkflowTemplate::with_defaults(id.into(), "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(), "2026-01-01T00:00:00.000Z".into())
    }
}

fn prov(pairs: &[(&str, &str)]) -> Provenance {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
}

fn merged(base: Value, derived: Value) -> Value {
    let mut b = obj(base);
    merge_params(&mut b, &obj(derived));
    Value::Object(b)
}

// ---- merge_params ----------------------------------------------------------------------

#[test]
fn merge_objects_key_by_key_derived_wins() {
    let r = merged(
        json!({"model": {"name": "a", "temperature": 0.2}, "stop": ["x"], "k": 1}),
        json!({"model": {"temperature": 0.7, "top_p": 0.9}, "stop": ["y", "z"]}),
    );
    assert_eq!(r, json!({"model": {"name": "a", "temperature": 0.7, "top_p": 0.9}, "stop": ["y", "z"], "k": 1}));
}

#[test]
fn merge_arrays_replace_not_concatenate() {
    assert_eq!(merged(json!({"a": [1, 2, 3]}), json!({"a": []})), json!({"a": []}));
    assert_eq!(merged(json!({"a": [{"x": 1}]}), json!({"a": [{"y": null}]})), json!({"a": [{"y": null}]}));
}

#[test]
fn merge_null_removes_key_scalar_or_object() {
    let r = merged(
        json!({"a": 1, "b": {"c": 1, "d": 2}, "e": {"f": 1}}),
        json!({"a": null, "b": {"c": null}, "e": null, "absent": null}),
    );
    assert_eq!(r, json!({"b": {"d": 2}}));
}

#[test]
fn merge_object_over_scalar_strips_nulls() {
    let r = merged(
        json!({"a": 5, "b": [1]}),
        json!({"a": {"x": 1, "y": null, "z": {"w": null, "v": 2}}, "b": {"q": null}, "new": {"n": {"m": null}}}),
    );
    assert_eq!(r, json!({"a": {"x": 1, "z": {"v": 2}}, "b": {}, "new": {"n": {}}}));
}

#[test]
fn merge_object_over_null_strips_nulls() {
    // An inherited null is "not an object": the derived object replaces it, stripped.
    assert_eq!(merged(json!({"a": null}), json!({"a": {"b": null, "c": 1}})), json!({"a": {"c": 1}}));
}

#[test]
fn merge_scalar_over_object_replaces() {
    assert_eq!(merged(json!({"a": {"b": {"c": 1}}}), json!({"a": "flat"})), json!({"a": "flat"}));
    assert_eq!(merged(json!({"a": {"b": 1}}), json!({"a": [1]})), json!({"a": [1]}));
}

#[test]
fn merge_empty_child_is_identity() {
    let base = json!({"a": null, "b": {"c": null}, "d": []});
    assert_eq!(merged(base.clone(), json!({})), base);
}

#[test]
fn merge_empty_object_over_object_keeps_it() {
    assert_eq!(merged(json!({"a": {"b": 1}}), json!({"a": {}})), json!({"a": {"b": 1}}));
}

#[test]
fn strip_nulls_keeps_nulls_inside_arrays() {
    let s = strip_nulls(&obj(json!({"a": null, "b": [null, {"c": null}], "d": {"e": null}})), 0);
    assert_eq!(Value::Object(s), json!({"b": [null, {"c": null}], "d": {}}));
}

// ---- resolve ---------------------------------------------------------------------------

#[test]
fn resolve_two_levels() {
    let root = tpl("ROOT", None, json!({"model": {"name": "m1", "temperature": 0.2}, "max_tokens": 100}), Some(&["search", "calc"]), None);
    let mut leaf = tpl("LEAF", Some("ROOT"), json!({"model": {"temperature": 0.9}}), Some(&["calc", "web"]), Some(&["docs"]));
    leaf.workflow_type = WorkflowType::Full;
    let r = resolve(&[&leaf, &root]);
    assert_eq!(r.effective.workflow_type, WorkflowType::Full);
    assert_eq!(Value::Object(r.effective.default_params.clone()), json!({"model": {"name": "m1", "temperature": 0.9}, "max_tokens": 100}));
    assert_eq!(r.effective.required_tools, vec!["search", "calc", "web"]);
    assert_eq!(r.effective.required_retrievers, vec!["docs"]);
    assert_eq!(r.provenance, prov(&[("/max_tokens", "ROOT"), ("/model/name", "ROOT"), ("/model/temperature", "LEAF")]));
    assert_eq!(r.resolved_hash, config_hash(&r.effective.config()));
    assert!(crate::hash::is_hash(&r.resolved_hash));
}

#[test]
fn resolve_three_levels_with_removal_and_replacement() {
    let root = tpl(
        "R",
        None,
        json!({"model": {"name": "base", "temperature": 0.1, "stop": ["a"]}, "retrieval": {"top_k": 5, "rerank": true}, "style": "terse"}),
        Some(&["t1"]),
        Some(&["r1", "r2"]),
    );
    let mid = tpl(
        "M",
        Some("R"),
        json!({"model": {"temperature": 0.5, "stop": ["b", "c"]}, "retrieval": {"rerank": null}, "style": {"tone": "warm", "emoji": null}}),
        Some(&["t2", "t1"]),
        None,
    );
    let leaf = tpl(
        "L",
        Some("M"),
        json!({"model": {"name": "leafy"}, "retrieval": null, "style": {"tone": "cold", "length": 3}, "new": {"x": {}}}),
        None,
        Some(&["r2", "r3", "r1"]),
    );
    let r = resolve(&[&leaf, &mid, &root]);
    assert_eq!(
        Value::Object(r.effective.default_params.clone()),
        json!({"model": {"name": "leafy", "temperature": 0.5, "stop": ["b", "c"]}, "style": {"tone": "cold", "length": 3}, "new": {"x": {}}})
    );
    assert_eq!(r.effective.required_tools, vec!["t1", "t2"]);
    assert_eq!(r.effective.required_retrievers, vec!["r1", "r2", "r3"]);
    assert_eq!(
        r.provenance,
        prov(&[
            ("/model/name", "L"),
            ("/model/stop", "M"),
            ("/model/temperature", "M"),
            ("/new/x", "L"),
            ("/style/length", "L"),
            ("/style/tone", "L"),
        ])
    );
}

#[test]
fn resolve_root_hash_equals_config_hash() {
    let mut root = tpl("R", None, json!({"a": null, "b": {"c": [1, null], "d": {}}, "e": 1.5}), Some(&["z", "a"]), None);
    root.workflow_type = WorkflowType::Tools;
    root.config_hash = config_hash(&root.config());
    let r = resolve(&[&root]);
    assert_eq!(r.resolved_hash, root.config_hash);
    // Nulls of the root are kept, and are leaves with provenance.
    assert_eq!(r.effective.default_params, root.default_params);
    assert_eq!(r.provenance, prov(&[("/a", "R"), ("/b/c", "R"), ("/b/d", "R"), ("/e", "R")]));
}

#[test]
fn resolve_derived_hash_differs_from_its_config_hash() {
    let root = tpl("R", None, json!({"a": 1}), None, None);
    let leaf = tpl("L", Some("R"), json!({}), None, None);
    let r = resolve(&[&leaf, &root]);
    assert_ne!(r.resolved_hash, config_hash(&leaf.config()), "leaf's own hash has base id and no 'a'");
    // Same effective configuration as the root alone: same resolved hash.
    assert_eq!(r.resolved_hash, resolve(&[&root]).resolved_hash);
    assert_eq!(r.provenance, prov(&[("/a", "R")]));
}

#[test]
fn resolve_empty_chain_does_not_panic() {
    let r = resolve(&[]);
    assert_eq!(r.effective.workflow_type, WorkflowType::Plain);
    assert!(r.effective.default_params.is_empty() && r.effective.required_tools.is_empty());
    assert!(r.provenance.is_empty());
    assert!(crate::hash::is_hash(&r.resolved_hash));
}

#[test]
fn provenance_object_over_scalar_and_scalar_over_object() {
    let root = tpl("R", None, json!({"a": 1, "b": {"c": 1, "d": {"e": 2}}}), None, None);
    let leaf = tpl("L", Some("R"), json!({"a": {"x": 1, "y": null, "z": {"w": null}}, "b": 7}), None, None);
    let r = resolve(&[&leaf, &root]);
    assert_eq!(Value::Object(r.effective.default_params.clone()), json!({"a": {"x": 1, "z": {}}, "b": 7}));
    assert_eq!(r.provenance, prov(&[("/a/x", "L"), ("/a/z", "L"), ("/b", "L")]));
}

#[test]
fn provenance_of_empty_objects() {
    // Emptied by a derived template: that template supplied the empty object.
    let root = tpl("R", None, json!({"a": {"x": 1}, "e": {}, "f": {}}), None, None);
    let mid = tpl("M", Some("R"), json!({"a": {"x": null}, "e": {"gone": null}, "f": {"k": 1}}), None, None);
    let r = resolve(&[&mid, &root]);
    assert_eq!(Value::Object(r.effective.default_params.clone()), json!({"a": {}, "e": {}, "f": {"k": 1}}));
    assert_eq!(r.provenance, prov(&[("/a", "M"), ("/e", "R"), ("/f/k", "M")]));
    // An empty object merged into an inherited object changes nothing.
    let leaf = tpl("L", Some("M"), json!({"f": {}}), None, None);
    let r = resolve(&[&leaf, &mid, &root]);
    assert_eq!(r.provenance, prov(&[("/a", "M"), ("/e", "R"), ("/f/k", "M")]));
}

#[test]
fn provenance_restated_value_belongs_to_most_derived() {
    let root = tpl("R", None, json!({"t": 0.5}), None, None);
    let leaf = tpl("L", Some("R"), json!({"t": 0.5}), None, None);
    assert_eq!(resolve(&[&leaf, &root]).provenance, prov(&[("/t", "L")]));
}

#[test]
fn provenance_removal_does_not_touch_sibling_prefixes() {
    // "/a" removed must not remove "/ab" or "/a-b" (string prefixes, not path prefixes).
    let root = tpl("R", None, json!({"a": {"x": 1}, "ab": 1, "a-b": 2, "a~b": 3}), None, None);
    let leaf = tpl("L", Some("R"), json!({"a": null}), None, None);
    let r = resolve(&[&leaf, &root]);
    assert_eq!(r.provenance, prov(&[("/a-b", "R"), ("/a~0b", "R"), ("/ab", "R")]));
}

#[test]
fn pointer_escaping() {
    assert_eq!(escape_token("a/b~c"), "a~1b~0c");
    assert_eq!(escape_token("~1"), "~01");
    assert_eq!(pointer_of(["model", "a/b", "~"]), "/model/a~1b/~0");
    assert_eq!(pointer_of([""]), "/");
    let root = tpl("R", None, json!({"a/b": {"c~d": 1}, "": {"": 2}}), None, None);
    let r = resolve(&[&root]);
    let keys: Vec<&str> = r.provenance.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["//", "/a~1b/c~0d"]);
    // The pointers resolve back with serde_json's RFC 6901 implementation.
    let v = Value::Object(r.effective.default_params.clone());
    assert_eq!(v.pointer("/a~1b/c~0d"), Some(&json!(1)));
    assert_eq!(v.pointer("//"), Some(&json!(2)));
}

#[test]
fn leaf_pointers_lists_leaves_only() {
    let p = obj(json!({"a": {"b": 1, "c": {}, "d": [{"e": 1}]}, "n": null}));
    assert_eq!(leaf_pointers(&p), vec!["/a/b", "/a/c", "/a/d", "/n"]);
    assert!(leaf_pointers(&Map::new()).is_empty());
}

fn deep(levels: usize, leaf: Value) -> Value {
    let mut v = leaf;
    for _ in 0..levels {
        let mut m = Map::new();
        m.insert("k".into(), v);
        v = Value::Object(m);
    }
    v
}

#[test]
fn hostile_depth_is_bounded() {
    // 200 levels: far beyond MAX_NESTING, still shallow enough for clone/drop/hash.
    let root = tpl("R", None, deep(200, json!(1)), None, None);
    let leaf = tpl("L", Some("R"), deep(200, json!({"x": null})), None, None);
    let r = resolve(&[&leaf, &root]);
    // The object MAX_NESTING levels down is opaque: replaced whole, nulls not stripped.
    let ptr = pointer_of(std::iter::repeat_n("k", MAX_NESTING));
    assert_eq!(r.provenance, prov(&[(ptr.as_str(), "L")]));
    assert_eq!(Value::Object(r.effective.default_params.clone()), deep(200, json!({"x": null})));
    assert_eq!(leaf_pointers(&r.effective.default_params), vec![ptr]);
    let d = diff(&deep(200, json!(1)), &deep(200, json!(2)));
    assert_eq!(d.len(), 1);
    assert!(diff(&deep(200, json!(1)), &deep(200, json!(1))).is_empty());
}

// ---- diff ------------------------------------------------------------------------------

fn ch(path: &str, op: ChangeOp, before: Value, after: Value) -> Change {
    Change { path: path.into(), op, before, after }
}

#[test]
fn diff_identical_is_empty() {
    let v = json!({"a": {"b": [1, 2]}, "n": null});
    assert!(diff(&v, &v).is_empty());
}

#[test]
fn diff_reaches_inside_objects_sorted_by_path() {
    let a = json!({"name": "x", "default_params": {"model": {"name": "a", "t": 1}}, "version": 1, "tags": ["p"]});
    let b = json!({"name": "y", "default_params": {"model": {"name": "b", "t": 1}}, "version": 2, "tags": ["p", "q"]});
    assert_eq!(
        diff(&a, &b),
        vec![
            ch("/default_params/model/name", ChangeOp::Replace, json!("a"), json!("b")),
            ch("/name", ChangeOp::Replace, json!("x"), json!("y")),
            ch("/tags", ChangeOp::Replace, json!(["p"]), json!(["p", "q"])),
            ch("/version", ChangeOp::Replace, json!(1), json!(2)),
        ]
    );
}

#[test]
fn diff_added_removed_and_null() {
    let a = json!({"p": {"gone": {"deep": 1}, "was_null": null, "to_null": 3}});
    let b = json!({"p": {"new": {"x": 1}, "to_null": null}});
    assert_eq!(
        diff(&a, &b),
        vec![
            ch("/p/gone", ChangeOp::Remove, json!({"deep": 1}), Value::Null),
            ch("/p/new", ChangeOp::Add, Value::Null, json!({"x": 1})),
            ch("/p/to_null", ChangeOp::Replace, json!(3), Value::Null),
            ch("/p/was_null", ChangeOp::Remove, Value::Null, Value::Null),
        ]
    );
}

#[test]
fn diff_type_changes_are_one_replace() {
    assert_eq!(
        diff(&json!({"e": null}), &json!({"e": {"a": 1}})),
        vec![ch("/e", ChangeOp::Replace, Value::Null, json!({"a": 1}))]
    );
    assert_eq!(
        diff(&json!({"e": {"a": 1}}), &json!({"e": [1]})),
        vec![ch("/e", ChangeOp::Replace, json!({"a": 1}), json!([1]))]
    );
    assert_eq!(diff(&json!(1), &json!("1")), vec![ch("", ChangeOp::Replace, json!(1), json!("1"))]);
}

#[test]
fn diff_order_is_by_pointer_string_and_escaped() {
    let a = json!({"a": {"b": 1}, "a-b": 1, "x/y": 1});
    let b = json!({"a": {"b": 2}, "a-b": 2, "x/y": 2});
    let paths: Vec<String> = diff(&a, &b).into_iter().map(|c| c.path).collect();
    assert_eq!(paths, vec!["/a-b", "/a/b", "/x~1y"]);
}

#[test]
fn diff_numbers_compare_by_value() {
    assert!(diff(&json!({"t": 1}), &json!({"t": 1.0})).is_empty());
    assert!(diff(&json!({"t": [0.0]}), &json!({"t": [-0.0]})).is_empty());
    assert_eq!(diff(&json!({"t": 1}), &json!({"t": 1.5})).len(), 1);
}

#[test]
fn diff_whole_records() {
    let a = tpl("A", None, json!({"model": {"name": "m"}}), Some(&["t"]), None);
    let mut b = a.clone();
    b.default_params = obj(json!({"model": {"name": "n"}}));
    b.required_tools = None;
    b.extra_metadata = Some(obj(json!({"k": 1})));
    let paths: Vec<String> = diff(&a.to_value(), &b.to_value()).into_iter().map(|c| c.path).collect();
    assert_eq!(paths, vec!["/default_params/model/name", "/extra_metadata", "/required_tools"]);
}

#[test]
fn change_serialises_with_op() {
    let c = ch("/a", ChangeOp::Add, Value::Null, json!(1));
    assert_eq!(serde_json::to_value(&c).unwrap(), json!({"path": "/a", "op": "add", "before": null, "after": 1}));
}
