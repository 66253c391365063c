//! Template specs (SPEC section 10): CRUD, privacy, instantiateSpec.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeSet;
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{Expect, Store, Write};
use workflow_templates::{Error, Result, TemplateSpec, WorkflowTemplate, WorkflowType};

// ---- specs ---------------------------------------------------------------------------------

#[test]
fn spec_crud_and_privacy() {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let s = ok(block_on(c1.create_spec(json!({
        "name": " My Spec ", "workflow_type": "rag", "required_retrievers": ["docs"],
        "default_params": { "k": 1 }, "tags": ["t"]
    }))));
    assert_eq!(s.name, "My Spec");
    assert_eq!((s.owner_id.as_str(), s.usage_count, s.last_used_at.clone()), (U1, 0, None));
    assert_eq!(s.created_at, s.updated_at);
    assert_eq!(s.description, "");
    assert_eq!(ok(block_on(c1.get_spec(&s.id))), s);
    assert_eq!(ok(block_on(c1.get_spec(&s.id.to_lowercase()))), s);
    // Specs are private: another user gets NOT_FOUND for everything.
    assert_eq!(err(block_on(c2.get_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.update_spec(&s.id, json!({ "description": "x" }), no_opts()))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.delete_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.instantiate_spec(&s.id, Value::Null))).code(), "NOT_FOUND");
    assert!(ok(block_on(c2.list_specs())).is_empty());
    assert_eq!(err(block_on(c1.get_spec("nope"))).code(), "INVALID_ARGUMENT");
    assert_eq!(err(block_on(c1.get_spec(MISSING))).code(), "NOT_FOUND");

    fx.tick();
    let s2 = ok(block_on(c1.create_spec(json!({ "name": "Second", "workflow_type": "plain" }))));
    assert_eq!(ids_s(&ok(block_on(c1.list_specs()))), vec![s2.id.clone(), s.id.clone()]);
    fx.tick();
    let u = ok(block_on(c1.update_spec(&s.id, json!({ "description": "now" }), if_match(&s.updated_at))));
    assert_eq!(u.description, "now");
    assert_eq!(u.updated_at, format_ms(fx.clock.get()));
    assert_eq!(u.created_at, s.created_at);
    assert_eq!(ok(block_on(c1.get_spec(&s.id))), u);
    assert_eq!(ids_s(&ok(block_on(c1.list_specs()))), vec![s.id.clone(), s2.id.clone()], "most recently updated first");
    assert_eq!(err(block_on(c1.update_spec(&s.id, json!({ "description": "x" }), if_match(&s.updated_at)))).code(), "CONFLICT");
    let e = err(block_on(c1.update_spec(&s.id, json!({ "usage_count": 9, "bogus": 1 }), no_opts())));
    assert!(has_violation(&e, "usage_count", "READ_ONLY") && has_violation(&e, "bogus", "UNKNOWN_FIELD"), "{:?}", violations(&e));
    let e = err(block_on(c1.create_spec(json!({ "name": "p", "workflow_type": "plain", "required_tools": ["x"] }))));
    assert!(has_violation(&e, "workflow_type", "WORKFLOW_TYPE_MISMATCH"), "{:?}", violations(&e));
    assert_eq!(ok(block_on(c1.get_spec(&s.id))), u);

    ok(block_on(c1.delete_spec(&s.id)));
    assert_eq!(err(block_on(c1.get_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c1.delete_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(ids_s(&ok(block_on(c1.list_specs()))), vec![s2.id.clone()]);

    // A malformed spec planted in storage fails INTEGRITY on read.
    let mut bad = s2.clone();
    bad.name = " untrimmed".into();
    let rev = block_on(fx.mem.get_spec(&s2.id)).unwrap().unwrap().rev;
    block_on(fx.mem.commit(vec![Write::PutSpec { record: bad, expect: Expect::Rev(rev) }])).unwrap();
    assert_eq!(err(block_on(c1.get_spec(&s2.id))).code(), "INTEGRITY");
}

fn ids_s(v: &[TemplateSpec]) -> Vec<String> {
    v.iter().map(|s| s.id.clone()).collect()
}

#[test]
fn create_spec_reports_every_violation_at_once() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    // SPEC 3: the catalog's VALIDATION_FAILED carries the same full list as validateSpec.
    let e = err(block_on(c.create_spec(json!({ "description": 5, "usage_count": 1 }))));
    assert!(has_violation(&e, "name", "REQUIRED"), "{:?}", violations(&e));
    assert!(has_violation(&e, "workflow_type", "REQUIRED"), "{:?}", violations(&e));
    assert!(has_violation(&e, "description", "TYPE"), "{:?}", violations(&e));
    assert!(has_violation(&e, "usage_count", "READ_ONLY"), "{:?}", violations(&e));
    assert!(fx.snapshot().specs.is_empty());
}

fn spec(c: &Cat, name: &str, base: Option<&str>, wt: &str) -> TemplateSpec {
    ok(block_on(c.create_spec(json!({ "name": name, "workflow_type": wt, "base_template_name": base }))))
}

fn instantiate(c: &Cat, spec_id: &str, name: &str) -> Result<WorkflowTemplate> {
    block_on(c.instantiate_spec(spec_id, json!({ "name": name })))
}

#[test]
fn instantiate_spec_copies_the_spec_and_counts_the_use() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let s = ok(block_on(c.create_spec(json!({
        "name": "Helper", "description": "helps", "workflow_type": "rag", "required_retrievers": ["docs"],
        "default_params": { "k": 3 }, "tags": ["x"], "extra_metadata": { "m": 1 }
    }))));
    fx.tick();
    let t = ok(block_on(c.instantiate_spec(&s.id, Value::Null)));
    assert_eq!((t.name.as_str(), t.description.as_str(), t.workflow_type), ("Helper", "helps", WorkflowType::Rag));
    assert_eq!(t.required_retrievers, Some(vec!["docs".to_string()]));
    assert_eq!(Value::Object(t.default_params.clone()), json!({ "k": 3 }));
    assert_eq!(t.tags, Some(vec!["x".to_string()]));
    assert_eq!(t.extra_metadata.as_ref().map(|m| Value::Object(m.clone())), Some(json!({ "m": 1 })));
    assert_eq!((t.owner_id.as_str(), t.version, t.is_latest, t.base_template_id.clone()), (U1, 1, true, None));
    assert_eq!(t.config_hash, config_hash(&t.config()));
    assert_eq!(fx.stored(&t.id).unwrap().record, t);
    let s1 = ok(block_on(c.get_spec(&s.id)));
    assert_eq!(s1.usage_count, 1);
    assert_eq!(s1.last_used_at.as_deref(), Some(format_ms(fx.clock.get()).as_str()));
    // Overrides win.
    fx.tick();
    let t2 = ok(block_on(c.instantiate_spec(&s.id, json!({ "name": "Helper 2", "is_public": true, "default_params": { "k": 4 } }))));
    assert_eq!((t2.name.as_str(), t2.is_public), ("Helper 2", true));
    assert_eq!(t2.default_params.get("k"), Some(&json!(4)));
    assert_eq!(ok(block_on(c.get_spec(&s.id))).usage_count, 2);
    // Bad overrides are refused and not counted.
    let e = err(block_on(c.instantiate_spec(&s.id, json!({ "name": "Helper 3", "usage_count": 5 }))));
    assert!(has_violation(&e, "usage_count", "READ_ONLY"));
    assert_eq!(err(block_on(c.instantiate_spec(&s.id, json!([1])))).code(), "VALIDATION_FAILED");
    assert_eq!(ok(block_on(c.get_spec(&s.id))).usage_count, 2);
}

#[test]
fn instantiate_spec_resolves_the_base_name() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));

    // A built-in, by name, case-insensitively.
    let s = spec(&c1, "Coder spec", Some("code assistant"), "tools");
    let t = ok(instantiate(&c1, &s.id, "T1"));
    assert_eq!(t.base_template_id.as_deref(), Some(CODE_ASSISTANT));
    // The user's own latest template of that name comes before the built-in.
    let own_v1 = create(&c1, "Code Assistant", json!({ "workflow_type": "tools", "required_tools": ["mine"] }));
    let own_v2 = ok(block_on(c1.new_version(&own_v1.id, json!({}), None, no_opts())));
    let t = ok(instantiate(&c1, &s.id, "T2"));
    assert_eq!(t.base_template_id.as_deref(), Some(own_v2.id.as_str()));
    // Another user's public template with a built-in's name does not shadow the built-in.
    create(&c2, "Creative Writer", json!({ "is_public": true }));
    let s = spec(&c1, "Writer spec", Some("Creative Writer"), "plain");
    assert_eq!(ok(instantiate(&c1, &s.id, "T3")).base_template_id.as_deref(), Some(CREATIVE_WRITER));
    // Else the single public template of that name (its latest version).
    let g1 = create(&c2, "Gadget", json!({ "is_public": true }));
    let g2 = ok(block_on(c2.new_version(&g1.id, json!({}), None, no_opts())));
    create(&c3, "Gadget", json!({}));
    let s = spec(&c1, "Gadget spec", Some("gadget"), "plain");
    assert_eq!(ok(instantiate(&c1, &s.id, "T4")).base_template_id.as_deref(), Some(g2.id.as_str()));
    // Two public templates of that name from two other users: ambiguous.
    let w2 = create(&c2, "Widget", json!({ "is_public": true }));
    let w3 = create(&c3, "WIDGET", json!({ "is_public": true }));
    let s = spec(&c1, "Widget spec", Some("Widget"), "plain");
    match err(instantiate(&c1, &s.id, "T5")) {
        Error::AmbiguousBase { candidates, .. } => {
            let got: BTreeSet<String> = candidates.into_iter().collect();
            assert_eq!(got, [w2.id.clone(), w3.id.clone()].into_iter().collect());
        }
        other => panic!("expected AMBIGUOUS_BASE, got {}: {other}", other.code()),
    }
    assert_eq!(ok(block_on(c1.get_spec(&s.id))).usage_count, 0);
    // ... unless the user has their own.
    let mine = create(&c1, "widget", json!({}));
    assert_eq!(ok(instantiate(&c1, &s.id, "T5")).base_template_id.as_deref(), Some(mine.id.as_str()));
    // Nothing of that name visible: BASE_NOT_FOUND (private templates of others do not count).
    create(&c2, "Secret", json!({}));
    for name in ["Secret", "Nothing Here"] {
        let s = spec(&c1, &format!("{name} spec"), Some(name), "plain");
        assert_eq!(err(instantiate(&c1, &s.id, "T6")).code(), "BASE_NOT_FOUND", "{name}");
        assert_eq!(ok(block_on(c1.get_spec(&s.id))).usage_count, 0);
    }
    // An explicit base_template_id override skips name resolution.
    let s = spec(&c1, "Override spec", Some("Nothing Here"), "plain");
    let t = ok(block_on(c1.instantiate_spec(&s.id, json!({ "name": "T7", "base_template_id": GENERAL_ASSISTANT }))));
    assert_eq!(t.base_template_id.as_deref(), Some(GENERAL_ASSISTANT));
}

#[test]
fn instantiate_spec_name_taken_leaves_the_spec_unchanged() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let s = spec(&c, "Recipe", None, "plain");
    fx.tick();
    ok(block_on(c.instantiate_spec(&s.id, Value::Null)));
    let after_first = ok(block_on(c.get_spec(&s.id)));
    assert_eq!(after_first.usage_count, 1);
    let before = fx.snapshot();
    fx.tick();
    assert_eq!(err(block_on(c.instantiate_spec(&s.id, Value::Null))).code(), "NAME_TAKEN");
    assert_eq!(ok(block_on(c.get_spec(&s.id))), after_first);
    assert_eq!(fx.snapshot(), before);

    // The name is taken by another tab between the check and the commit: the store refuses the
    // whole transaction, spec counter included.
    let other = Rc::new(fx.cat(U1));
    let o2 = other.clone();
    c.store().before_next_commit(move || {
        ok(block_on(o2.create(draft("Raced", json!({})))));
    });
    assert_eq!(err(block_on(c.instantiate_spec(&s.id, json!({ "name": "raced" })))).code(), "NAME_TAKEN");
    assert_eq!(ok(block_on(c.get_spec(&s.id))), after_first);
    assert_eq!(fx.snapshot().templates.len(), before.templates.len() + 1);
}

