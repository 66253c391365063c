//! Errors never name what the caller cannot see (issue 10, item 5): a template that the acting
//! user may not `get` (another user's private template) appears in an error only as a count,
//! in every error a write or a read can give. And what the owner of a public base may do while
//! other users' private templates derive from it.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::json;
use support::*;
use workflow_templates::catalog::WriteOptions;
use workflow_templates::hash::config_hash;
use workflow_templates::{Error, WorkflowTemplate};

fn no_opts() -> WriteOptions {
    WriteOptions::default()
}

/// The error says nothing of `hidden` (neither id nor name).
fn assert_silent_about(e: &Error, hidden: &WorkflowTemplate) {
    let said = everything_said(e);
    assert!(!said.contains(&hidden.id), "{} names the hidden id {}: {said}", e.code(), hidden.id);
    assert!(!said.to_lowercase().contains(&hidden.name.to_lowercase()), "{} names the hidden template {:?}: {said}", e.code(), hidden.name);
}

#[test]
fn a_type_mismatch_of_a_hidden_derived_template_is_a_count() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let p = create(&a, "Search base", json!({ "is_public": true, "workflow_type": "tools", "required_tools": ["search"] }));
    let hidden = create(&b, "Bobs secret child", json!({ "base_template_id": p.id, "workflow_type": "tools" }));
    let e = err(block_on(a.update(&p.id, json!({ "workflow_type": "plain", "required_tools": [] }), no_opts())));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    assert_silent_about(&e, &hidden);
    let Error::ValidationFailed(v) = &e else { unreachable!() };
    assert!(v.iter().any(|x| x.field == "derived" && x.code == "WORKFLOW_TYPE_MISMATCH" && x.message.contains('1')), "{v:?}");
    // A derived template the caller can see is named, as before.
    let mine = create(&a, "My child", json!({ "base_template_id": p.id, "workflow_type": "tools" }));
    let e = err(block_on(a.update(&p.id, json!({ "workflow_type": "plain", "required_tools": [] }), no_opts())));
    assert_silent_about(&e, &hidden);
    let Error::ValidationFailed(v) = &e else { unreachable!() };
    assert!(v.iter().any(|x| x.field == format!("derived[{}].workflow_type", mine.id)), "{v:?}");
    assert!(v.iter().any(|x| x.field == "derived"), "{v:?}");
    // Nothing changed.
    assert_eq!(fx.stored(&p.id).unwrap().record, p);
}

#[test]
fn the_owner_of_a_public_base_cannot_unpublish_it_under_others_but_can_move_on() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let p = create(&a, "Shared base", json!({ "is_public": true, "default_params": { "k": 1 } }));
    let hidden = create(&b, "Bobs private child", json!({ "base_template_id": p.id }));
    // Unpublishing would leave B's template with a base B may not see.
    let e = err(block_on(a.update(&p.id, json!({ "is_public": false }), no_opts())));
    assert_eq!(e.code(), "HAS_DERIVED", "{e}");
    assert_eq!(e.details()["hidden"], json!(1), "{}", e.details());
    assert_silent_about(&e, &hidden);
    let e = err(block_on(a.delete(&p.id)));
    assert_eq!(e.code(), "HAS_DERIVED");
    assert_eq!(e.details()["hidden"], json!(1));
    assert_eq!(e.details()["derived"], json!([]));
    assert_silent_about(&e, &hidden);
    // Edits that keep the derived template consistent go through.
    let p = ok(block_on(a.update(&p.id, json!({ "default_params": { "k": 2 }, "description": "tuned" }), no_opts())));
    // Moving on: a new version (nobody derives from it) can be made private; B keeps resolving
    // against the version it points at.
    let v2 = ok(block_on(a.new_version(&p.id, json!({}), None, no_opts())));
    ok(block_on(a.update(&v2.id, json!({ "is_public": false }), no_opts())));
    let r = ok(block_on(b.resolve(&hidden.id)));
    assert_eq!(r.effective.default_params["k"], json!(2));
}

#[test]
fn a_cycle_through_a_hidden_template_names_only_what_the_caller_sees() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let p = create(&a, "P", json!({ "is_public": true }));
    let r = create(&b, "Bobs private R", json!({ "base_template_id": p.id }));
    let q = create(&b, "Bobs public Q", json!({ "base_template_id": r.id, "is_public": true }));
    let e = err(block_on(a.update(&p.id, json!({ "base_template_id": q.id }), no_opts())));
    assert_eq!(e.code(), "INHERITANCE_CYCLE", "{e}");
    assert_silent_about(&e, &r);
    assert_eq!(e.details()["hidden"], json!(1), "{}", e.details());
    let ids = e.details()["ids"].clone();
    assert!(ids.as_array().unwrap().contains(&json!(p.id)) && ids.as_array().unwrap().contains(&json!(q.id)), "{ids}");
    // The same through preview.
    let e = err(block_on(a.preview(json!({ "base_template_id": q.id }), Some(&p.id))));
    assert_eq!(e.code(), "INHERITANCE_CYCLE");
    assert_silent_about(&e, &r);
}

#[test]
fn a_broken_link_beyond_a_hidden_template_is_not_named() {
    let fx = Fx::new();
    let (b, c) = (fx.cat(U2), fx.cat(U3));
    let r = create(&b, "Bobs private R", json!({}));
    let q = create(&b, "Bobs public Q", json!({ "base_template_id": r.id, "is_public": true }));
    // R's base points at something missing (planted: storage is what it is).
    let missing = "01ARZ3NDEKTSV4RRFFQ69G5FB9";
    let mut broken = fx.stored(&r.id).unwrap().record;
    broken.base_template_id = Some(missing.into());
    broken.config_hash = config_hash(&broken.config());
    fx.plant(broken.clone());
    for e in [err(block_on(c.resolve(&q.id))), err(block_on(c.chain(&q.id)))] {
        assert_eq!(e.code(), "BASE_NOT_FOUND", "{e}");
        assert!(!everything_said(&e).contains(missing), "{}", everything_said(&e));
        assert_silent_about(&e, &r);
    }
    // A hidden link that fails verification: INTEGRITY, without its id.
    let mut corrupt = broken;
    corrupt.base_template_id = None;
    fx.plant(corrupt);
    let e = err(block_on(c.resolve(&q.id)));
    assert_eq!(e.code(), "INTEGRITY", "{e}");
    assert_silent_about(&e, &r);
    // Its owner is told exactly.
    let e = err(block_on(b.resolve(&q.id)));
    assert!(everything_said(&e).contains(&r.id), "{}", everything_said(&e));
}

#[test]
fn a_too_deep_hidden_descendant_is_not_named() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let p = create(&a, "Root", json!({ "is_public": true }));
    let mut last = p.clone();
    for i in 1..16 {
        last = create(&b, &format!("Bobs level {i}"), json!({ "base_template_id": last.id }));
    }
    let e = err(block_on(a.update(&p.id, json!({ "base_template_id": "00000000000000000000000001" }), no_opts())));
    assert_eq!(e.code(), "INHERITANCE_TOO_DEEP", "{e}");
    assert_silent_about(&e, &last);
    assert!(!everything_said(&e).contains("Bobs level"), "{}", everything_said(&e));
}

#[test]
fn import_does_not_say_whose_an_id_is() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let secret = create(&b, "Bobs secret", json!({}));
    let mut forged = secret.clone();
    forged.owner_id = U1.into();
    forged.name = "Mine now".into();
    let bundle = json!({ "format_version": 1, "workflow_templates": [forged] });
    let e = err(block_on(a.import_all(bundle)));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    assert!(!everything_said(&e).contains("another user"), "{}", everything_said(&e));
    assert_eq!(fx.stored(&secret.id).unwrap().record, secret);
}
