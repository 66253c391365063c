//! `apply_remote` (issue 15): a replica stores what the server answered, exactly, in one
//! commit; one bad record refuses the whole batch; deletions; external events; idempotent.
//!
//! The "server" here is a second fixture running the same core (as the reference server does):
//! its answers are serialised to JSON and handed to the replica, as the JS engine does.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::{ChangeEvent, RemoteBatch};
use workflow_templates::store::{Store, Stored, TemplateLabel};
use workflow_templates::{TemplateSpec, WorkflowTemplate};

/// What the server holds, and the JSON it answers with.
struct Server {
    fx: Fx,
    mine: Vec<WorkflowTemplate>,
    theirs_public: WorkflowTemplate,
    theirs_private: WorkflowTemplate,
    spec: TemplateSpec,
}

fn server() -> Server {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let v1 = create(&a, "Lineage", json!({ "description": "one", "is_public": true }));
    let v2 = ok(block_on(a.new_version(&v1.id, json!({ "description": "two" }), Some("second".into()), no_opts())));
    ok(block_on(a.set_label(&v1.id, "production", no_opts())));
    let theirs_public = create(&b, "Shared by U2", json!({ "is_public": true, "base_template_id": GENERAL_ASSISTANT }));
    let theirs_private = create(&b, "U2 private", json!({}));
    ok(block_on(a.rate(&theirs_public.id, 4.0)));
    ok(block_on(a.record_usage(GENERAL_ASSISTANT, &run(true, 120, 30, 0.01))));
    let spec = ok(block_on(a.create_spec(json!({ "name": "Recipe", "workflow_type": "plain" }))));
    let mine = vec![get(&a, &v1.id), get(&a, &v2.id)];
    let theirs_public = get(&a, &theirs_public.id);
    Server { fx, mine, theirs_public, theirs_private, spec }
}

impl Server {
    /// Everything U1 sees, as the server's API answers it.
    fn full_batch(&self) -> Value {
        let a = self.fx.cat(U1);
        let labels: Vec<Value> = ok(block_on(a.labels(&self.mine[0].id))).into_iter().map(|l| serde_json::to_value(l).unwrap()).collect();
        let ratings: Vec<Value> = block_on(self.fx.mem.find_ratings(Some(U1), None)).unwrap().into_iter().map(|r| serde_json::to_value(r.record).unwrap()).collect();
        json!({
            "templates": [self.mine[0], self.mine[1], self.theirs_public],
            "specs": [self.spec],
            "ratings": ratings,
            "labels": labels,
            "builtin_stats": [get(&a, GENERAL_ASSISTANT)],
        })
    }
}

fn batch(v: Value) -> RemoteBatch {
    ok(RemoteBatch::from_value(v))
}

fn events_of(c: &Cat) -> Rc<RefCell<Vec<ChangeEvent>>> {
    let ev: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let e2 = ev.clone();
    c.subscribe(move |e| e2.borrow_mut().push(e.clone()));
    ev
}

fn labels_of(fx: &Fx, owner: &str) -> Vec<Stored<TemplateLabel>> {
    block_on(fx.mem.find_labels(owner, None)).unwrap()
}

/// Every record and label row of the replica.
fn everything(fx: &Fx) -> (Snapshot, Vec<Stored<TemplateLabel>>, Vec<Stored<TemplateLabel>>) {
    (fx.snapshot(), labels_of(fx, U1), labels_of(fx, U2))
}

fn kinds(ev: &[ChangeEvent]) -> Vec<(&'static str, &'static str, String, bool)> {
    ev.iter().map(|e| (e.kind, e.op, e.id.clone().unwrap_or_default(), e.external)).collect()
}

#[test]
fn stores_what_the_server_answered_exactly() {
    let s = server();
    let fx = Fx::new();
    let r = fx.cat(U1);
    ok(block_on(r.apply_remote(batch(s.full_batch()))));
    for t in s.mine.iter().chain([&s.theirs_public]) {
        assert_eq!(fx.stored(&t.id).unwrap().record, *t, "stored exactly as sent");
        assert_eq!(get(&r, &t.id), *t, "and read back the same");
    }
    // Another user's public template keeps its owner; versions keep their flags.
    assert_eq!(get(&r, &s.theirs_public.id).owner_id, U2);
    assert_eq!(ok(block_on(r.versions(&s.mine[0].id))).iter().map(|t| (t.version, t.is_latest)).collect::<Vec<_>>(), vec![(2, true), (1, false)]);
    assert_eq!(ok(block_on(r.get_spec(&s.spec.id))), s.spec);
    let labels = ok(block_on(r.labels(&s.mine[1].id)));
    assert_eq!(labels.iter().map(|l| (l.label.as_str(), l.template_id.as_str())).collect::<Vec<_>>(), vec![("production", s.mine[0].id.as_str())]);
    assert_eq!(get(&r, GENERAL_ASSISTANT).usage_count, 1);
    assert_eq!(block_on(fx.mem.get_rating(&s.theirs_public.id, U1)).unwrap().unwrap().record.stars, 4.0);
    // The replica works on what it holds: resolve walks the other user's base (a built-in).
    ok(block_on(r.resolve(&s.theirs_public.id)));
}

#[test]
fn one_bad_record_refuses_the_whole_batch_and_writes_nothing() {
    let s = server();
    let fx = Fx::new();
    let r = fx.cat(U1);
    // Something already there, which a refused batch must leave alone.
    let local = create(&r, "Local", json!({}));
    let good = s.full_batch();
    let with = |path: &str, f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(b.pointer_mut(path).unwrap());
        b
    };
    let bad: Vec<(&str, Value, &str)> = vec![
        ("templates[1].config_hash", with("/templates/1", &|t| t["config_hash"] = json!("0".repeat(64))), "HASH_MISMATCH"),
        // A configuration changed under its hash is the same fault.
        ("templates[2].config_hash", with("/templates/2", &|t| t["default_params"] = json!({ "model": { "name": "x" } })), "HASH_MISMATCH"),
        ("templates[0].made_up", with("/templates/0", &|t| t["made_up"] = json!(1)), "UNKNOWN_FIELD"),
        ("templates[0].name", with("/templates/0", &|t| t.as_object_mut().unwrap().remove("name").map(drop).unwrap_or(())), "REQUIRED"),
        ("templates[0]", with("/templates/0", &|t| t["id"] = json!(t["id"].as_str().unwrap().to_lowercase())), "INVALID_ID"),
        ("templates[2].owner_id", with("/templates/2", &|t| t["owner_id"] = json!("not an id")), "INVALID_ID"),
        ("specs[0].workflow_type", with("/specs/0", &|t| t["workflow_type"] = json!("nope")), "INVALID_ENUM"),
        ("ratings[0]", with("/ratings/0", &|t| t["stars"] = json!(7)), "OUT_OF_RANGE"),
        ("labels[0]", with("/labels/0", &|t| t["label"] = json!("Not A Label")), "PATTERN"),
        ("labels[0]", with("/labels/0", &|t| t["label"] = json!("latest")), "PATTERN"),
        ("builtin_stats[0].config_hash", with("/builtin_stats/0", &|t| t["default_params"] = json!({})), "HASH_MISMATCH"),
        // One built-in's record under another built-in's id.
        ("builtin_stats[0].id", with("/builtin_stats/0", &|t| t["id"] = json!(CODE_ASSISTANT)), "INCONSISTENT"),
        ("builtin_stats[0].usage_count", with("/builtin_stats/0", &|t| t["usage_count"] = json!(-1)), "OUT_OF_RANGE"),
        // The `{ id, ...statistics }` shape: a wrong type; statistics of no built-in.
        ("builtin_stats[0]", with("/builtin_stats/0", &|t| *t = json!({ "id": GENERAL_ASSISTANT, "usage_count": "many" })), "TYPE"),
        ("builtin_stats[0]", with("/builtin_stats/0", &|t| *t = json!({ "id": MISSING, "rating_count": 0, "usage_count": 1, "total_tokens_used": 0, "total_cost": 0.0 })), "INCONSISTENT"),
    ];
    let before = everything(&fx);
    let ev = events_of(&r);
    for (field, b, code) in bad {
        let e = err(block_on(r.apply_remote(batch(b))));
        assert_eq!(e.code(), "VALIDATION_FAILED", "{field}: {e}");
        assert!(has_violation(&e, field, code), "{field} {code}: {:?}", violations(&e));
        assert_eq!(everything(&fx), before, "{field}: nothing written");
    }
    // Keys that are not ULIDs or are built-ins' in deletions; a record written twice; a key
    // both written and deleted.
    let id0 = s.mine[0].id.clone();
    for (field, extra, code) in [
        ("deleted.templates[0]", json!({ "deleted": { "templates": ["nope"] } }), "INVALID_ID"),
        ("deleted.templates[0]", json!({ "deleted": { "templates": [GENERAL_ASSISTANT] } }), "BUILTIN_CLAIM"),
        ("deleted.specs[0]", json!({ "deleted": { "specs": [""] } }), "INVALID_ID"),
        ("deleted", json!({ "deleted": { "templates": [id0] } }), "INCONSISTENT"),
        ("templates", json!({ "templates": [s.mine[0], s.mine[1], s.theirs_public, s.mine[0]] }), "DUPLICATE"),
    ] {
        let mut b = good.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        let e = err(block_on(r.apply_remote(batch(b))));
        assert!(has_violation(&e, field, code), "{field} {code}: {:?}", violations(&e));
        assert_eq!(everything(&fx), before);
    }
    assert!(ev.borrow().is_empty(), "a refused batch tells nobody anything");
    assert_eq!(get(&r, &local.id), local);
    // The batch itself must have the documented shape.
    for shape in [json!([]), json!({ "templates": {} }), json!({ "extra": [] }), json!({ "deleted": { "templates": [1] } })] {
        assert_eq!(err(RemoteBatch::from_value(shape.clone())).code(), "VALIDATION_FAILED", "{shape}");
    }
    ok(RemoteBatch::from_value(json!({ "templates": null, "deleted": null })));
}

#[test]
fn replaces_what_is_there_and_deletes_with_what_hangs_on_it() {
    let s = server();
    let fx = Fx::new();
    let r = fx.cat(U1);
    ok(block_on(r.apply_remote(batch(s.full_batch()))));
    // A local edit of the latest version, then the server's copy wins unconditionally.
    let edited = ok(block_on(r.update(&s.mine[1].id, json!({ "description": "local" }), no_opts())));
    assert_ne!(edited, s.mine[1]);
    ok(block_on(r.apply_remote(batch(json!({ "templates": [s.mine[1]] })))));
    assert_eq!(fx.stored(&s.mine[1].id).unwrap().record, s.mine[1]);
    // Deletions: the other user's template (with my rating of it), the spec, a label.
    let ev = events_of(&r);
    ok(block_on(r.apply_remote(batch(json!({ "deleted": {
        "templates": [s.theirs_public.id.to_lowercase()],
        "specs": [s.spec.id],
        "labels": [{ "template_id": s.mine[0].id, "label": "production" }],
        "ratings": [GENERAL_ASSISTANT],
    } })))));
    assert!(fx.stored(&s.theirs_public.id).is_none());
    assert!(block_on(fx.mem.get_rating(&s.theirs_public.id, U1)).unwrap().is_none(), "its ratings go with it");
    assert!(block_on(fx.mem.get_spec(&s.spec.id)).unwrap().is_none());
    assert!(labels_of(&fx, U1).is_empty());
    assert_eq!(
        kinds(&ev.borrow()),
        vec![
            ("template", "delete", s.theirs_public.id.clone(), true),
            ("spec", "delete", s.spec.id.clone(), true),
            ("label", "delete", s.mine[0].id.clone(), true),
        ]
    );
    // Deleting what is not there is nothing.
    let before = everything(&fx);
    ok(block_on(r.apply_remote(batch(json!({ "deleted": { "templates": [MISSING], "specs": [MISSING], "ratings": [MISSING] } })))));
    assert_eq!(everything(&fx), before);
    // A labelled version deleted together with its label (the label row named twice).
    ok(block_on(r.apply_remote(batch(s.full_batch()))));
    assert_eq!(labels_of(&fx, U1).len(), 1);
    ok(block_on(r.apply_remote(batch(json!({ "deleted": { "templates": [s.mine[0].id], "labels": [{ "template_id": s.mine[0].id, "label": "production" }] } })))));
    assert!(labels_of(&fx, U1).is_empty() && fx.stored(&s.mine[0].id).is_none());
}

#[test]
fn events_are_external_and_reach_other_tabs_and_a_second_apply_is_a_no_op() {
    let s = server();
    let fx = Fx::new();
    let r = fx.cat(U1);
    let ev = events_of(&r);
    let told: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let t2 = told.clone();
    r.set_outbox(move |e| t2.borrow_mut().push(e.clone()));
    ok(block_on(r.apply_remote(batch(s.full_batch()))));
    let got = kinds(&ev.borrow());
    assert!(got.iter().all(|e| e.3), "every event is external: {got:?}");
    for want in [
        ("template", "create", s.mine[0].id.clone(), true),
        ("template", "create", s.theirs_public.id.clone(), true),
        ("spec", "create", s.spec.id.clone(), true),
        ("rating", "create", s.theirs_public.id.clone(), true),
        ("label", "create", s.mine[0].id.clone(), true),
        ("usage", "update", GENERAL_ASSISTANT.to_string(), true),
    ] {
        assert!(got.contains(&want), "{want:?} in {got:?}");
    }
    assert_eq!(got.len(), 7);
    assert_eq!(kinds(&told.borrow()), got, "other tabs hear the same");
    // Again: nothing written, nothing told.
    let before = everything(&fx);
    let commits = r.store().commits.get();
    ev.borrow_mut().clear();
    ok(block_on(r.apply_remote(batch(s.full_batch()))));
    assert_eq!(everything(&fx), before);
    assert_eq!(r.store().commits.get(), commits);
    assert!(ev.borrow().is_empty(), "{:?}", ev.borrow());
    // A changed record is an update.
    let newer = ok(block_on(s.fx.cat(U2).update(&s.theirs_public.id, json!({ "description": "newer" }), no_opts())));
    ok(block_on(r.apply_remote(batch(json!({ "templates": [newer] })))));
    assert_eq!(kinds(&ev.borrow()), vec![("template", "update", s.theirs_public.id.clone(), true)]);
}

#[test]
fn a_displaced_latest_version_of_another_user_goes_but_my_own_refuses_the_batch() {
    let s = server();
    let fx = Fx::new();
    let r = fx.cat(U1);
    ok(block_on(r.apply_remote(batch(json!({ "templates": [s.theirs_public] })))));
    // U2 made version 2 on the server; the replica is handed only the new version.
    let v2 = ok(block_on(s.fx.cat(U2).new_version(&s.theirs_public.id, json!({ "description": "v2" }), None, no_opts())));
    ok(block_on(r.apply_remote(batch(json!({ "templates": [v2] })))));
    assert!(fx.stored(&s.theirs_public.id).is_none(), "the stale latest copy is dropped");
    assert_eq!(fx.stored(&v2.id).unwrap().record, v2);
    // My own latest template of that name made here (not yet accepted by the server): the
    // batch is refused, nothing written.
    let mine_here = create(&r, "Lineage", json!({}));
    let before = everything(&fx);
    let e = err(block_on(r.apply_remote(batch(json!({ "templates": [s.mine[1]] })))));
    assert_eq!(e.code(), "NAME_TAKEN");
    assert_eq!(everything(&fx), before);
    assert_eq!(get(&r, &mine_here.id), mine_here);
}

#[test]
fn labels_without_a_known_lineage_are_not_stored_and_built_in_records_give_statistics() {
    let s = server();
    let fx = Fx::new();
    let r = fx.cat(U1);
    let unknown = json!({ "template_id": MISSING, "label": "beta", "version": 1, "updated_at": "2027-01-15T08:00:00.000Z" });
    let placed = json!({ "template_id": MISSING, "label": "beta", "version": 3, "updated_at": "2027-01-15T08:00:00Z", "owner_id": U2, "name_key": "far away" });
    ok(block_on(r.apply_remote(batch(json!({ "labels": [unknown], "templates": [get(&s.fx.cat(U1), GENERAL_ASSISTANT)] })))));
    assert!(labels_of(&fx, U1).is_empty() && labels_of(&fx, U2).is_empty());
    assert_eq!(get(&r, GENERAL_ASSISTANT).usage_count, 1, "a built-in's record in templates keeps its statistics");
    ok(block_on(r.apply_remote(batch(json!({ "labels": [placed] })))));
    let rows = labels_of(&fx, U2);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].record.name_key.as_str(), rows[0].record.version, rows[0].record.updated_at.as_str()), ("far away", 3, "2027-01-15T08:00:00.000Z"));
    let bad_key = json!({ "labels": [{ "template_id": MISSING, "label": "beta", "updated_at": "2027-01-15T08:00:00Z", "owner_id": U2, "name_key": " Far" }] });
    assert_eq!(err(block_on(r.apply_remote(batch(bad_key)))).code(), "VALIDATION_FAILED");
    // The private template of another user is not something the server sends; if it did, the
    // replica would keep it with its owner, unreadable to this user (no acting-user rules).
    ok(block_on(r.apply_remote(batch(json!({ "templates": [s.theirs_private] })))));
    assert_eq!(err(block_on(r.get(&s.theirs_private.id))).code(), "NOT_FOUND");
}
