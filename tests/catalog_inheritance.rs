//! Inheritance over stored records (SPEC section 5): chain, resolve, depth, cycles, derived, integrity on read, and preview of an unsaved draft.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use support::*;
use workflow_templates::builtin;
use workflow_templates::hash::{config_hash, ConfigParts};
use workflow_templates::{Error, WorkflowTemplate, WorkflowType};

// ---- inheritance ---------------------------------------------------------------------------

#[test]
fn chain_and_resolve_merge_deeply_with_provenance() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let a = create(
        &c,
        "A",
        json!({ "base_template_id": GENERAL_ASSISTANT, "default_params": { "model": { "temperature": 0.2 }, "style": { "tone": "dry", "length": "short" } } }),
    );
    let b = create(&c, "B", json!({ "base_template_id": a.id, "default_params": { "system_prompt": null, "style": { "length": "long" } } }));
    let leaf = create(&c, "C", json!({ "base_template_id": b.id, "default_params": { "model": { "max_tokens": 2048 }, "extra": [1, 2] } }));

    let chain = ok(block_on(c.chain(&leaf.id)));
    let got: Vec<(String, String, Option<String>, usize)> = chain.iter().map(|l| (l.id.clone(), l.name.clone(), l.base_template_id.clone(), l.level)).collect();
    assert_eq!(
        got,
        vec![
            (leaf.id.clone(), "C".into(), Some(b.id.clone()), 0),
            (b.id.clone(), "B".into(), Some(a.id.clone()), 1),
            (a.id.clone(), "A".into(), Some(GENERAL_ASSISTANT.into()), 2),
            (GENERAL_ASSISTANT.into(), "General Assistant".into(), None, 3),
        ]
    );

    let r = ok(block_on(c.resolve(&leaf.id)));
    assert_eq!(r.id, leaf.id);
    assert_eq!(r.chain, chain);
    assert_eq!(r.effective.workflow_type, WorkflowType::Plain);
    assert_eq!(
        Value::Object(r.effective.default_params.clone()),
        json!({
            "model": { "name": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 2048 },
            "style": { "tone": "dry", "length": "long" },
            "extra": [1, 2]
        })
    );
    let want: BTreeMap<String, Value> = [
        ("/model/name", GENERAL_ASSISTANT),
        ("/model/temperature", a.id.as_str()),
        ("/model/max_tokens", leaf.id.as_str()),
        ("/style/tone", a.id.as_str()),
        ("/style/length", b.id.as_str()),
        ("/extra", leaf.id.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect();
    assert_eq!(r.provenance, want);
    let expect_hash = config_hash(&ConfigParts {
        workflow_type: WorkflowType::Plain,
        default_params: &r.effective.default_params,
        required_tools: &[],
        required_retrievers: &[],
        base_template_id: None,
    });
    assert_eq!(r.resolved_hash, expect_hash);
    assert_ne!(r.resolved_hash, leaf.config_hash);

    // For a template without a base, the resolved hash is its config_hash.
    let root = create(&c, "Root", json!({ "default_params": { "x": { "y": null } } }));
    let rr = ok(block_on(c.resolve(&root.id)));
    assert_eq!(rr.resolved_hash, root.config_hash);
    assert_eq!(rr.effective.default_params, root.default_params);
    assert_eq!(rr.chain.len(), 1);
    let rb = ok(block_on(c.resolve(CODE_ASSISTANT)));
    assert_eq!(rb.resolved_hash, builtin::get(CODE_ASSISTANT).unwrap().config_hash);
    assert_eq!(ok(block_on(c.chain(CODE_ASSISTANT))).len(), 1);
}

#[test]
fn resolve_unions_tools_and_retrievers_root_first() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let root = create(&c, "Root", json!({ "workflow_type": "tools", "required_tools": ["b", "a"] }));
    let mid = create(&c, "Mid", json!({ "workflow_type": "full", "base_template_id": root.id, "required_tools": ["c", "a"], "required_retrievers": ["r1"] }));
    let leaf = create(&c, "Leaf", json!({ "workflow_type": "full", "base_template_id": mid.id, "required_retrievers": ["r2", "r1"] }));
    let r = ok(block_on(c.resolve(&leaf.id)));
    assert_eq!(r.effective.workflow_type, WorkflowType::Full);
    assert_eq!(r.effective.required_tools, vec!["b", "a", "c"]);
    assert_eq!(r.effective.required_retrievers, vec!["r1", "r2"]);
}

#[test]
fn sixteen_levels_are_fine_and_the_seventeenth_is_too_deep() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let mut prev = create(&c, "L0", json!({ "default_params": { "level": 0 } }));
    let root = prev.id.clone();
    for i in 1..16 {
        prev = create(&c, &format!("L{i}"), json!({ "base_template_id": prev.id, "default_params": { "level": i } }));
    }
    let chain = ok(block_on(c.chain(&prev.id)));
    assert_eq!(chain.len(), 16);
    assert_eq!(chain.iter().map(|l| l.level).collect::<Vec<_>>(), (0..16).collect::<Vec<_>>());
    assert_eq!(chain[15].id, root);
    let r = ok(block_on(c.resolve(&prev.id)));
    assert_eq!(r.effective.default_params.get("level"), Some(&json!(15)));
    let e = err(block_on(c.create(draft("L16", json!({ "base_template_id": prev.id })))));
    assert_eq!(e.code(), "INHERITANCE_TOO_DEEP");
    assert_eq!(fx.snapshot().templates.len(), 16);
    // A built-in root counts as a level too.
    let mut prev = create(&c, "B1", json!({ "base_template_id": GENERAL_ASSISTANT }));
    for i in 2..16 {
        prev = create(&c, &format!("B{i}"), json!({ "base_template_id": prev.id }));
    }
    assert_eq!(ok(block_on(c.chain(&prev.id))).len(), 16);
    assert_eq!(err(block_on(c.create(draft("B16", json!({ "base_template_id": prev.id }))))).code(), "INHERITANCE_TOO_DEEP");
    // Re-basing a deep subtree under another chain is refused as well.
    let short = create(&c, "Short", json!({}));
    assert_eq!(err(block_on(c.update(&root, json!({ "base_template_id": short.id }), no_opts()))).code(), "INHERITANCE_TOO_DEEP");
}

#[test]
fn base_not_found() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    assert_eq!(err(block_on(c1.create(draft("x", json!({ "base_template_id": MISSING }))))).code(), "BASE_NOT_FOUND");
    let private = create(&c2, "Theirs", json!({}));
    let public = create(&c2, "Theirs public", json!({ "is_public": true }));
    assert_eq!(err(block_on(c1.create(draft("y", json!({ "base_template_id": private.id }))))).code(), "BASE_NOT_FOUND");
    let d = create(&c1, "z", json!({ "base_template_id": public.id }));
    assert_eq!(d.base_template_id.as_deref(), Some(public.id.as_str()));
    let e = err(block_on(c1.create(draft("w", json!({ "base_template_id": "abc" })))));
    assert!(has_violation(&e, "base_template_id", "INVALID_ID"), "{:?}", violations(&e));
    assert_eq!(err(block_on(c1.update(&d.id, json!({ "base_template_id": MISSING }), no_opts()))).code(), "BASE_NOT_FOUND");
}

#[test]
fn a_cycle_planted_in_storage_is_reported_with_its_ids() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let a = create(&c, "A", json!({}));
    let b = create(&c, "B", json!({ "base_template_id": a.id }));
    let mut planted = a.clone();
    planted.base_template_id = Some(b.id.clone());
    planted.config_hash = config_hash(&planted.config());
    fx.plant(planted);
    for id in [&a.id, &b.id] {
        for e in [err(block_on(c.chain(id))), err(block_on(c.resolve(id)))] {
            match &e {
                Error::InheritanceCycle { ids, .. } => {
                    assert!(ids.contains(&a.id) && ids.contains(&b.id), "{ids:?}");
                }
                other => panic!("expected INHERITANCE_CYCLE, got {}: {other}", other.code()),
            }
            assert_eq!(e.code(), "INHERITANCE_CYCLE");
            let d = e.details();
            assert!(d["ids"].as_array().is_some_and(|l| l.contains(&json!(a.id)) && l.contains(&json!(b.id))), "{d}");
        }
    }
    // Deriving from a template on the cycle is refused the same way; get itself still works.
    assert_eq!(err(block_on(c.create(draft("C", json!({ "base_template_id": b.id }))))).code(), "INHERITANCE_CYCLE");
    assert_eq!(get(&c, &a.id).base_template_id, Some(b.id.clone()));
    // A self-loop too.
    let s = create(&c, "Self", json!({}));
    let mut planted = s.clone();
    planted.base_template_id = Some(s.id.clone());
    planted.config_hash = config_hash(&planted.config());
    fx.plant(planted);
    assert_eq!(err(block_on(c.chain(&s.id))).code(), "INHERITANCE_CYCLE");
}

#[test]
fn a_record_with_a_wrong_hash_fails_integrity_on_read() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "A", json!({ "is_public": true, "default_params": { "a": 1 } }));
    let mut bad = t.clone();
    bad.default_params.insert("a".into(), json!(2));
    fx.plant(bad);
    let e = err(block_on(c.get(&t.id)));
    assert_eq!(e.code(), "INTEGRITY");
    assert_eq!(e.details()["id"], json!(t.id));
    assert_eq!(err(block_on(fx.cat(U2).get(&t.id))).code(), "INTEGRITY");
    assert_eq!(err(block_on(c.resolve(&t.id))).code(), "INTEGRITY");
    assert_eq!(err(block_on(c.update(&t.id, json!({ "description": "x" }), no_opts()))).code(), "INTEGRITY");
    let mut bad2 = t.clone();
    bad2.config_hash = "0".repeat(64);
    fx.plant(bad2);
    assert_eq!(err(block_on(c.get(&t.id))).code(), "INTEGRITY");
}

#[test]
fn derived_lists_direct_visible_children() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    let a = create(&c1, "A", json!({ "is_public": true, "base_template_id": GENERAL_ASSISTANT }));
    let b = create(&c1, "B", json!({ "base_template_id": a.id }));
    let cc = create(&c2, "C", json!({ "base_template_id": a.id, "is_public": true }));
    let d = create(&c2, "D", json!({ "base_template_id": a.id }));
    create(&c1, "E", json!({ "base_template_id": b.id }));
    let set = |v: Vec<WorkflowTemplate>| ids(&v).into_iter().collect::<BTreeSet<_>>();
    let want = |xs: &[&WorkflowTemplate]| idv(xs).into_iter().collect::<BTreeSet<_>>();
    assert_eq!(set(ok(block_on(c1.derived(&a.id)))), want(&[&b, &cc]));
    assert_eq!(set(ok(block_on(c2.derived(&a.id)))), want(&[&cc, &d]));
    assert_eq!(set(ok(block_on(c3.derived(&a.id)))), want(&[&cc]));
    assert_eq!(set(ok(block_on(c3.derived(GENERAL_ASSISTANT)))), want(&[&a]));
    assert!(ok(block_on(c1.derived(&cc.id))).is_empty());
}

// ---- preview: resolve of an unsaved draft -------------------------------------------------------

#[test]
fn preview_of_a_draft_equals_resolve_after_saving_it_and_writes_nothing() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let base = create(&c, "Base", json!({ "workflow_type": "rag", "required_retrievers": ["docs"], "default_params": { "model": { "name": "m", "temperature": 0.7 }, "drop": 1 } }));
    let d = draft("Child", json!({ "workflow_type": "rag", "base_template_id": base.id.to_lowercase(), "default_params": { "model": { "temperature": 0.1 }, "drop": null } }));
    let before = fx.snapshot();
    let p = ok(block_on(c.preview(d.clone(), None)));
    assert_eq!(fx.snapshot(), before, "a preview writes nothing");
    let saved = ok(block_on(c.create(d)));
    let r = ok(block_on(c.resolve(&saved.id)));
    assert_eq!((&p.effective, &p.resolved_hash), (&r.effective, &r.resolved_hash));
    assert_eq!(p.chain.len(), 2);
    assert_eq!(p.provenance.get("/model/name"), Some(&json!(base.id)));
    assert_eq!(p.provenance.get("/model/temperature"), Some(&json!(p.id)), "the draft supplies its own keys");
    assert!(!p.provenance.contains_key("/drop"));
    // Without a base it is the draft alone: its resolved hash is its config hash.
    let alone = ok(block_on(c.preview(json!({ "workflow_type": "plain", "default_params": { "a": 1 } }), None)));
    assert_eq!(alone.chain.len(), 1);
    let hashed = ok(workflow_templates::catalog::config_hash_of_value(json!({ "workflow_type": "plain", "default_params": { "a": 1 } })));
    assert_eq!(alone.resolved_hash, hashed);
}

#[test]
fn preview_reports_what_a_save_would_refuse() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let other = fx.cat(U2);
    let a = create(&c, "A", json!({}));
    let b = create(&c, "B", json!({ "base_template_id": a.id }));
    // Editing A to derive from B closes a cycle.
    let e = err(block_on(c.preview(json!({ "base_template_id": b.id }), Some(&a.id))));
    assert_eq!(e.code(), "INHERITANCE_CYCLE", "{e:?}");
    let secret = create(&other, "Secret", json!({ "is_public": false }));
    assert_eq!(err(block_on(c.preview(json!({ "base_template_id": secret.id }), None))).code(), "BASE_NOT_FOUND");
    let e = err(block_on(c.preview(json!({ "default_params": [1] }), None)));
    assert!(has_violation(&e, "default_params", "TYPE"), "{e:?}");
    // Non-configuration fields are not its business (the form validates them).
    ok(block_on(c.preview(json!({ "name": "", "workflow_type": "plain" }), None)));
    // Editing someone else's template is not previewed.
    assert_eq!(err(block_on(other.preview(json!({}), Some(&a.id)))).code(), "NOT_FOUND");
}
