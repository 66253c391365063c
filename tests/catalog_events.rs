//! subscribe (SPEC section 12): events for every kind of change, unsubscribe.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::ChangeEvent;

// ---- subscribe -----------------------------------------------------------------------------

#[test]
fn subscribe_and_unsubscribe() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let events: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let e2 = events.clone();
    let h = c.subscribe(move |e| e2.borrow_mut().push(e.clone()));
    let other: Rc<Cell<usize>> = Rc::default();
    let o2 = other.clone();
    let h2 = c.subscribe(move |_| o2.set(o2.get() + 1));
    assert_ne!(h, h2);

    let t = create(&c, "Watched", json!({}));
    ok(block_on(c.update(&t.id, json!({ "description": "x" }), no_opts())));
    let _ = err(block_on(c.create(draft("watched", json!({})))));
    let _ = err(block_on(c.update(&t.id, json!({ "version": 3 }), no_opts())));
    ok(block_on(c.delete(&t.id)));
    let ev = |kind: &str, op: &str, id: &str| (kind.to_string(), op.to_string(), Some(id.to_string()));
    let got: Vec<(String, String, Option<String>)> = events.borrow().iter().map(|e| (e.kind.to_string(), e.op.to_string(), e.id.clone())).collect();
    assert_eq!(got, vec![ev("template", "create", &t.id), ev("template", "update", &t.id), ev("template", "delete", &t.id)], "failed writes emit nothing");
    assert_eq!(other.get(), 3);

    assert!(c.unsubscribe(h));
    assert!(!c.unsubscribe(h));
    create(&c, "After", json!({}));
    assert_eq!(events.borrow().len(), 3, "no event after unsubscribe");
    assert_eq!(other.get(), 4, "the other subscriber still hears");
    assert!(c.unsubscribe(h2));
    create(&c, "After 2", json!({}));
    assert_eq!(other.get(), 4);
}

#[test]
fn subscribe_sees_versions_usage_ratings_specs_and_imports() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let events: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let e2 = events.clone();
    c.subscribe(move |e| e2.borrow_mut().push(e.clone()));
    let t = create(&c, "V", json!({}));
    let v2 = ok(block_on(c.new_version(&t.id, json!({}), None, no_opts())));
    use_once(&c, &v2.id);
    ok(block_on(c.rate(&v2.id, 3.0)));
    let s = ok(block_on(c.create_spec(json!({ "name": "S", "workflow_type": "plain" }))));
    let made = ok(block_on(c.instantiate_spec(&s.id, Value::Null)));
    let bundle = ok(block_on(c.export_all()));
    ok(block_on(c.import_all(bundle)));
    // Deleting the latest version also announces the promoted one.
    ok(block_on(c.delete(&v2.id)));
    let got: Vec<(&str, &str, Option<String>)> = events.borrow().iter().map(|e| (e.kind, e.op, e.id.clone())).collect();
    let s_ = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            ("template", "create", s_(&t.id)),
            ("template", "create", s_(&v2.id)),
            ("template", "update", s_(&t.id)),
            ("usage", "update", s_(&v2.id)),
            ("rating", "update", s_(&v2.id)),
            ("spec", "create", s_(&s.id)),
            ("template", "create", s_(&made.id)),
            ("spec", "update", s_(&s.id)),
            ("import", "import", None),
            ("template", "delete", s_(&v2.id)),
            ("template", "update", s_(&t.id)),
        ]
    );
}

