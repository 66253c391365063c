//! The JS facade sends a record in which `js/convert.js` found problems (a BigInt, a lone
//! surrogate...) to the core with `validate::boundary::GUARD_KEY` added, relying on every
//! operation that writes to refuse it with VALIDATION_FAILED before writing anything, so that
//! the answer lists the rule violations of the rest of the record (src/wasm/convert.rs). This
//! pins that reliance: a record valid in every other way, plus the guard, is refused with
//! exactly the guard's UNKNOWN_FIELD, nothing is written and nothing is announced.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::WriteOptions;
use workflow_templates::validate::boundary::{self, GUARD_KEY};
use workflow_templates::validate::key_path;
use workflow_templates::Error;

const USER: &str = "01KGGGGGGGGGGGGGGGGGGGGGGG";

/// One catalog of `USER` over a fresh store, its clock held at 2026-01-01T00:00:00.000Z.
fn catalog() -> Cat {
    let fx = Fx::frozen();
    fx.clock.set(1_767_225_600_000);
    fx.cat(USER)
}

fn guarded(mut v: Value) -> Value {
    boundary::guard(&mut v);
    v
}

/// The error must be VALIDATION_FAILED holding the guard's violation and nothing else; merging
/// it with no boundary problem must leave an empty list.
fn assert_refused<T: std::fmt::Debug>(what: &str, r: workflow_templates::Result<T>) {
    match r {
        Err(Error::ValidationFailed(list)) => {
            let fields: Vec<(&str, &str)> = list.iter().map(|v| (v.field.as_str(), v.code.as_str())).collect();
            assert_eq!(fields, [(key_path("", GUARD_KEY).as_str(), "UNKNOWN_FIELD")], "{what}");
            assert_eq!(boundary::merge(Vec::new(), 0, list), Vec::new(), "{what}: merge must remove the guard");
        }
        other => panic!("{what}: expected VALIDATION_FAILED for the guard, got {other:?}"),
    }
}

#[test]
fn every_writing_operation_refuses_the_guard_key_before_writing() {
    let c = catalog();
    let events = Rc::new(RefCell::new(Vec::new()));
    let t = block_on(c.create(json!({"name": "Kept", "workflow_type": "plain"}))).unwrap();
    let spec = block_on(c.create_spec(json!({"name": "Kept spec", "workflow_type": "plain"}))).unwrap();
    let bundle = block_on(c.export_all()).unwrap();
    let before = c.store().inner.snapshot();
    let seen = events.clone();
    c.subscribe(move |ev| seen.borrow_mut().push(format!("{ev:?}")));

    let draft = || guarded(json!({"name": "Fine", "workflow_type": "plain", "extra_metadata": {"k": null}}));
    assert_refused("create", block_on(c.create(draft())));
    assert_refused("update", block_on(c.update(&t.id, draft(), WriteOptions::default())));
    let patch = guarded(json!({"description": "new"}));
    assert_refused("new_version", block_on(c.new_version(&t.id, patch.clone(), None, WriteOptions::default())));
    assert_refused("new_version of an empty patch", block_on(c.new_version(&t.id, guarded(json!({})), None, WriteOptions::default())));
    assert_refused("create_spec", block_on(c.create_spec(draft())));
    assert_refused("update_spec", block_on(c.update_spec(&spec.id, patch.clone(), WriteOptions::default())));
    assert_refused("instantiate_spec", block_on(c.instantiate_spec(&spec.id, guarded(json!({"name": "Other"})))));
    assert_refused("instantiate_spec without overrides", block_on(c.instantiate_spec(&spec.id, guarded(json!({})))));
    assert_refused("import_all", block_on(c.import_all(guarded(bundle))));

    assert_eq!(c.store().inner.snapshot(), before, "nothing may be written");
    assert!(events.borrow().is_empty(), "nothing may be announced: {:?}", events.borrow());
}

#[test]
fn import_violations_inside_a_record_use_the_documented_path_syntax() {
    let c = catalog();
    block_on(c.create(json!({"name": "Kept", "workflow_type": "plain"}))).unwrap();
    let mut bundle = block_on(c.export_all()).unwrap();
    bundle["workflow_templates"][0]["odd key"] = json!(1);
    bundle["workflow_templates"][0]["plain_key"] = json!(1);
    bundle["a.b"] = json!(1);
    match block_on(c.import_all(bundle)) {
        Err(Error::ValidationFailed(list)) => {
            let mut fields: Vec<&str> = list.iter().map(|v| v.field.as_str()).collect();
            fields.sort();
            assert_eq!(fields, ["[\"a.b\"]", "workflow_templates[0].plain_key", "workflow_templates[0][\"odd key\"]"]);
        }
        other => panic!("expected VALIDATION_FAILED, got {other:?}"),
    }
}
