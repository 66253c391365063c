//! Property tests of inheritance (SPEC section 5) and diff (SPEC section 6).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;
use serde_json::{Map, Value};
use workflow_templates::hash::{canonical_json, config_hash};
use workflow_templates::inherit::{diff, leaf_pointers, merge_params, resolve, ChangeOp};
use workflow_templates::{TemplateCategory, WorkflowTemplate, WorkflowType};

fn tpl(id: &str, params: Map<String, Value>, tools: Option<Vec<String>>, retrievers: Option<Vec<String>>) -> WorkflowTemplate {
    WorkflowTemplate {
        name: id.into(),
        workflow_type: WorkflowType::Full,
        category: TemplateCategory::Custom,
        default_params: params,
        required_tools: tools,
        required_retrievers: retrievers,
        base_template_id: None,
        ..WorkflowTemplate::with_defaults(id.into(), "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(), "2026-01-01T00:00:00.000Z".into())
    }
}

/// A small key alphabet so that templates in a chain collide on keys, including keys that
/// need pointer escaping and the empty key.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("model".to_string()),
        Just("a/b".to_string()),
        Just("~x".to_string()),
        Just(String::new()),
        "[a-c]{1,2}",
    ]
}

/// Scalars; floats are never integral, so `!=` on serde_json values agrees with RFC 8785.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(Value::from),
        (-5i64..5).prop_map(|i| Value::from(i as f64 + 0.5)),
        "[xyz]{0,3}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn params() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json(), 0..5).prop_map(|m| m.into_iter().collect())
}

fn names() -> impl Strategy<Value = Option<Vec<String>>> {
    // No duplicates inside one list (validation refuses them); overlaps across the chain.
    prop::option::of(prop::collection::btree_set("[pqrst]", 0..4).prop_map(|s| s.into_iter().collect()))
}

fn chain() -> impl Strategy<Value = Vec<WorkflowTemplate>> {
    prop::collection::vec((params(), names(), names()), 1..5).prop_map(|levels| {
        let n = levels.len();
        let mut out: Vec<WorkflowTemplate> = levels
            .into_iter()
            .enumerate()
            .map(|(i, (p, t, r))| tpl(&format!("T{i}"), p, t, r))
            .collect();
        for (i, t) in out.iter_mut().enumerate().take(n - 1) {
            t.base_template_id = Some(format!("T{}", i + 1));
        }
        out
    })
}

fn first_occurrences<'a>(lists: impl Iterator<Item = &'a Option<Vec<String>>>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for l in lists {
        for s in l.iter().flatten() {
            if seen.insert(s.clone()) {
                out.push(s.clone());
            }
        }
    }
    out
}

/// Applies a diff to `v` as a JSON patch.
fn apply(mut v: Value, changes: &[workflow_templates::inherit::Change]) -> Value {
    for c in changes {
        if c.path.is_empty() {
            v = c.after.clone();
            continue;
        }
        let cut = c.path.rfind('/').unwrap();
        let parent = &c.path[..cut];
        let key = c.path[cut + 1..].replace("~1", "/").replace("~0", "~");
        let obj = v.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent is an object");
        match c.op {
            ChangeOp::Remove => {
                obj.remove(&key).expect("removed key existed");
            }
            ChangeOp::Add | ChangeOp::Replace => {
                obj.insert(key, c.after.clone());
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn merge_with_empty_child_is_identity(x in params()) {
        let mut m = x.clone();
        merge_params(&mut m, &Map::new());
        prop_assert_eq!(m, x);
    }

    #[test]
    fn empty_child_resolves_to_root_params(p in params(), tools in names()) {
        let mut root = tpl("ROOT", p.clone(), tools, None);
        root.config_hash = config_hash(&root.config());
        let mut child = tpl("CHILD", Map::new(), None, None);
        child.base_template_id = Some("ROOT".into());
        let r = resolve(&[&child, &root]);
        prop_assert_eq!(&r.effective.default_params, &p);
        prop_assert!(r.provenance.values().all(|id| id == "ROOT"));
        // Same effective configuration as the root alone, whose resolved hash is its config_hash.
        prop_assert_eq!(&r.resolved_hash, &root.config_hash);
        prop_assert_eq!(resolve(&[&root]).resolved_hash, root.config_hash.clone());
    }

    #[test]
    fn resolve_matches_fold_of_merge_params(ts in chain()) {
        let refs: Vec<&WorkflowTemplate> = ts.iter().collect();
        let r = resolve(&refs);
        let mut expected = ts.last().unwrap().default_params.clone();
        for t in ts.iter().rev().skip(1) {
            merge_params(&mut expected, &t.default_params);
        }
        prop_assert_eq!(&r.effective.default_params, &expected);
        prop_assert_eq!(r.effective.workflow_type, ts[0].workflow_type);
        prop_assert_eq!(&r.resolved_hash, &config_hash(&r.effective.config()));
    }

    #[test]
    fn provenance_covers_every_leaf_with_its_supplier(ts in chain()) {
        let refs: Vec<&WorkflowTemplate> = ts.iter().collect();
        let r = resolve(&refs);
        let keys: BTreeSet<&String> = r.provenance.keys().collect();
        let leaves = leaf_pointers(&r.effective.default_params);
        prop_assert_eq!(keys, leaves.iter().collect::<BTreeSet<_>>());
        let effective = Value::Object(r.effective.default_params.clone());
        for (ptr, id) in &r.provenance {
            let id = id.as_str().expect("provenance values are ids");
            let supplier = ts.iter().find(|t| t.id == id).expect("supplier is on the chain");
            let value = effective.pointer(ptr).expect("provenance pointer resolves");
            if !value.is_object() {
                let own = Value::Object(supplier.default_params.clone());
                prop_assert_eq!(own.pointer(ptr), Some(value), "supplier {} at {}", id, ptr);
            }
            // Nobody more derived than the supplier sets this path (one may merge an object
            // into an inherited empty object without adding anything: that keeps the supplier).
            let level = ts.iter().position(|t| &t.id == id).unwrap();
            for t in &ts[..level] {
                let theirs = Value::Object(t.default_params.clone());
                let ok = match theirs.pointer(ptr) {
                    None => true,
                    Some(v) => v.is_object() && value.as_object().is_some_and(|m| m.is_empty()),
                };
                prop_assert!(ok, "{} overrides {} at {}", t.id, id, ptr);
            }
        }
    }

    #[test]
    fn union_is_root_first_without_duplicates(ts in chain()) {
        let refs: Vec<&WorkflowTemplate> = ts.iter().collect();
        let r = resolve(&refs);
        for (got, expected) in [
            (&r.effective.required_tools, first_occurrences(ts.iter().rev().map(|t| &t.required_tools))),
            (&r.effective.required_retrievers, first_occurrences(ts.iter().rev().map(|t| &t.required_retrievers))),
        ] {
            prop_assert_eq!(got.len(), got.iter().collect::<HashSet<_>>().len(), "duplicates in {:?}", got);
            prop_assert_eq!(got, &expected);
        }
        // Root first: the root's own list is a prefix.
        let root_tools = ts.last().unwrap().required_tools.clone().unwrap_or_default();
        prop_assert_eq!(&r.effective.required_tools[..root_tools.len()], &root_tools[..]);
    }

    #[test]
    fn diff_of_a_value_with_itself_is_empty(a in json()) {
        prop_assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn diff_is_nonempty_exactly_when_values_differ(a in json(), b in json()) {
        let d = diff(&a, &b);
        prop_assert_eq!(d.is_empty(), a == b);
        prop_assert_eq!(d.is_empty(), canonical_json(&a) == canonical_json(&b));
    }

    #[test]
    fn diff_is_a_sorted_patch(a in params(), c in params()) {
        // b is a plausible edit of a: a with c merged on top.
        let mut bm = a.clone();
        merge_params(&mut bm, &c);
        let (a, b) = (Value::Object(a), Value::Object(bm));
        let d = diff(&a, &b);
        prop_assert!(d.windows(2).all(|w| w[0].path < w[1].path), "sorted, unique paths");
        for ch in &d {
            let (before, after) = (a.pointer(&ch.path), b.pointer(&ch.path));
            match ch.op {
                ChangeOp::Add => { prop_assert!(before.is_none()); prop_assert_eq!(after, Some(&ch.after)); prop_assert!(ch.before.is_null()); }
                ChangeOp::Remove => { prop_assert!(after.is_none()); prop_assert_eq!(before, Some(&ch.before)); prop_assert!(ch.after.is_null()); }
                ChangeOp::Replace => { prop_assert_eq!(before, Some(&ch.before)); prop_assert_eq!(after, Some(&ch.after)); }
            }
        }
        prop_assert_eq!(apply(a.clone(), &d), b.clone());
        prop_assert_eq!(d.is_empty(), a == b);
    }
}
