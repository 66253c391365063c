//! The registry surface of SPEC section 6 (issue 14) over the reference memory store: labels
//! (set, move, remove, list, access, delete protection, rename, export/import, events), fetch by
//! name (`getByName` / `resolveByName`) and rollback (`restoreVersion`).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::{ByName, WriteOptions};
use workflow_templates::store::{Expect, Store, TemplateLabel, Write};
use workflow_templates::WorkflowTemplate;

fn no() -> WriteOptions {
    WriteOptions::default()
}

fn if_match(at: &str) -> WriteOptions {
    WriteOptions { if_match: Some(at.to_string()) }
}

fn v2(c: &Cat, t: &WorkflowTemplate, params: Value) -> WorkflowTemplate {
    ok(block_on(c.new_version(&t.id, json!({ "default_params": params }), Some("next".into()), no())))
}

fn by(version: Option<u64>, label: Option<&str>, owner: Option<&str>) -> ByName {
    ByName { version, label: label.map(str::to_string), owner: owner.map(str::to_string) }
}

#[test]
fn a_label_points_at_one_version_and_moves_atomically() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Support bot", json!({ "default_params": { "k": 1 } }));
    let t2 = v2(&a, &t1, json!({ "k": 2 }));
    let l = ok(block_on(a.set_label(&t1.id, "production", no())));
    assert_eq!((l.label.as_str(), l.template_id.as_str(), l.version), ("production", t1.id.as_str(), 1));
    ok(block_on(a.set_label(&t2.id, "staging", no())));
    let list = ok(block_on(a.labels(&t2.id)));
    let seen: Vec<(&str, &str, u64)> = list.iter().map(|l| (l.label.as_str(), l.template_id.as_str(), l.version)).collect();
    assert_eq!(seen, vec![("production", t1.id.as_str(), 1), ("staging", t2.id.as_str(), 2)]);
    // Any version of the lineage lists the same labels.
    assert_eq!(ok(block_on(a.labels(&t1.id))), list);
    // Moving: one row, a later updated_at.
    let moved = ok(block_on(a.set_label(&t2.id, "production", no())));
    assert_eq!((moved.template_id.as_str(), moved.version), (t2.id.as_str(), 2));
    assert!(moved.updated_at > l.updated_at, "{} > {}", moved.updated_at, l.updated_at);
    assert_eq!(ok(block_on(a.labels(&t1.id))).len(), 2);
    assert_eq!(block_on(fx.mem.find_labels(U1, None)).unwrap().len(), 2, "one row per label");
}

#[test]
fn label_names_follow_the_pattern_and_latest_is_reserved() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t = create(&a, "Named", json!({}));
    for bad in ["", "Production", "-x", "_x", ".x", "a b", "prod!", "é", &"a".repeat(65), "latest"] {
        let e = err(block_on(a.set_label(&t.id, bad, no())));
        assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad:?}: {e}");
    }
    for good in ["0", "a", "prod-1.2_x", &"a".repeat(64)] {
        ok(block_on(a.set_label(&t.id, good, no())));
    }
    assert!(block_on(fx.mem.find_labels(U1, None)).unwrap().iter().all(|l| l.record.label != "latest"));
}

#[test]
fn only_the_owner_moves_labels_and_viewers_see_them() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let public = create(&a, "Shared bot", json!({ "is_public": true }));
    let private = create(&a, "Secret bot", json!({}));
    ok(block_on(a.set_label(&public.id, "production", no())));
    ok(block_on(a.set_label(&private.id, "production", no())));
    assert_eq!(err(block_on(b.set_label(&public.id, "mine", no()))).code(), "FORBIDDEN");
    assert_eq!(err(block_on(b.remove_label(&public.id, "production", no()))).code(), "FORBIDDEN");
    assert_eq!(err(block_on(b.set_label(&private.id, "mine", no()))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(b.labels(&private.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(b.set_label("00000000000000000000000001", "prod", no()))).code(), "BUILTIN_READ_ONLY");
    assert!(ok(block_on(b.labels("00000000000000000000000001"))).is_empty());
    // Bob sees the public lineage's label.
    let seen = ok(block_on(b.labels(&public.id)));
    assert_eq!(seen.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), vec!["production"]);
    // A label on a version Bob may not see is left out: v2 public, v1 made private? Versions
    // of one lineage can differ in is_public: make v2 public and label the private v1.
    let p1 = create(&a, "Mixed", json!({}));
    let p2 = ok(block_on(a.new_version(&p1.id, json!({ "is_public": true }), None, no())));
    ok(block_on(a.set_label(&p1.id, "old", no())));
    ok(block_on(a.set_label(&p2.id, "new", no())));
    let seen: Vec<String> = ok(block_on(b.labels(&p2.id))).into_iter().map(|l| l.label).collect();
    assert_eq!(seen, vec!["new"]);
    assert_eq!(ok(block_on(a.labels(&p2.id))).len(), 2);
    assert_eq!(err(block_on(b.get_by_name("Mixed", &by(None, Some("old"), Some(U1))))).code(), "NOT_FOUND");
}

#[test]
fn a_labelled_version_cannot_be_deleted() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Guarded", json!({}));
    let t2 = v2(&a, &t1, json!({ "x": 1 }));
    ok(block_on(a.set_label(&t1.id, "production", no())));
    ok(block_on(a.set_label(&t1.id, "canary", no())));
    let e = err(block_on(a.delete(&t1.id)));
    assert_eq!(e.code(), "HAS_LABELS", "{e}");
    assert_eq!(e.details(), json!({ "id": t1.id, "labels": ["canary", "production"] }));
    assert!(fx.stored(&t1.id).is_some());
    // The unlabelled latest goes; the labels stay.
    ok(block_on(a.delete(&t2.id)));
    assert_eq!(ok(block_on(a.labels(&t1.id))).len(), 2);
    ok(block_on(a.remove_label(&t1.id, "production", no())));
    assert_eq!(err(block_on(a.delete(&t1.id))).details()["labels"], json!(["canary"]));
    ok(block_on(a.set_label(&t1.id, "canary", no())));
    ok(block_on(a.remove_label(&t1.id, "canary", no())));
    ok(block_on(a.delete(&t1.id)));
    assert_eq!(err(block_on(a.remove_label(&t1.id, "canary", no()))).code(), "NOT_FOUND");
}

#[test]
fn if_match_guards_moves_and_removals() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Raced", json!({}));
    let t2 = v2(&a, &t1, json!({ "x": 1 }));
    // ifMatch on a label that does not exist yet: someone else may have created it.
    assert_eq!(err(block_on(a.set_label(&t1.id, "production", if_match("2027-01-15T08:00:00.000Z")))).code(), "CONFLICT");
    let l = ok(block_on(a.set_label(&t1.id, "production", no())));
    let moved = ok(block_on(a.set_label(&t2.id, "production", if_match(&l.updated_at))));
    // The tab that read `l` is stale now.
    let e = err(block_on(a.set_label(&t1.id, "production", if_match(&l.updated_at))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(ok(block_on(a.labels(&t1.id)))[0].template_id, t2.id);
    assert_eq!(err(block_on(a.remove_label(&t1.id, "production", if_match(&l.updated_at)))).code(), "CONFLICT");
    assert_eq!(err(block_on(a.set_label(&t1.id, "production", if_match("yesterday")))).code(), "INVALID_ARGUMENT");
    ok(block_on(a.remove_label(&t1.id, "production", if_match(&moved.updated_at))));
    assert!(ok(block_on(a.labels(&t1.id))).is_empty());
}

#[test]
fn renaming_a_lineage_takes_its_labels_along() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Old name", json!({}));
    let t2 = v2(&a, &t1, json!({ "x": 1 }));
    ok(block_on(a.set_label(&t1.id, "production", no())));
    ok(block_on(a.update(&t2.id, json!({ "name": "New name" }), no())));
    let list = ok(block_on(a.labels(&t2.id)));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].template_id, t1.id);
    assert_eq!(ok(block_on(a.get_by_name("new name", &by(None, Some("production"), None)))).id, t1.id);
    assert_eq!(err(block_on(a.delete(&t1.id))).code(), "HAS_LABELS");
    // A new lineage under the old name starts without labels.
    let fresh = create(&a, "Old name", json!({}));
    assert!(ok(block_on(a.labels(&fresh.id))).is_empty());
}

#[test]
fn versions_with_labels_keeps_records_exact() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Listed", json!({}));
    let t2 = v2(&a, &t1, json!({ "x": 1 }));
    ok(block_on(a.set_label(&t1.id, "production", no())));
    ok(block_on(a.set_label(&t1.id, "canary", no())));
    let list = ok(block_on(a.versions_with_labels(&t2.id)));
    assert_eq!(list.iter().map(|v| v.record.id.clone()).collect::<Vec<_>>(), vec![t2.id.clone(), t1.id.clone()]);
    assert_eq!(list[0].labels, Vec::<String>::new());
    assert_eq!(list[1].labels, vec!["canary", "production"]);
    assert_eq!(list.iter().map(|v| v.record.clone()).collect::<Vec<_>>(), ok(block_on(a.versions(&t2.id))));
    assert_eq!(ok(block_on(a.versions_with_labels("00000000000000000000000003")))[0].labels.len(), 0);
}

#[test]
fn get_by_name_resolves_like_a_base_name_and_picks_inside_the_lineage() {
    let fx = Fx::new();
    let (a, b, c) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    let t1 = create(&a, "Support bot", json!({ "is_public": true, "default_params": { "v": 1 } }));
    let t2 = ok(block_on(a.new_version(&t1.id, json!({ "default_params": { "v": 2 } }), None, no())));
    let t3 = ok(block_on(a.new_version(&t2.id, json!({ "default_params": { "v": 3 } }), None, no())));
    ok(block_on(a.set_label(&t2.id, "production", no())));
    // The owner: own lineage, latest by default; version; label; `latest`.
    assert_eq!(ok(block_on(a.get_by_name("support BOT ", &ByName::default()))).id, t3.id);
    assert_eq!(ok(block_on(a.get_by_name("Support bot", &by(Some(1), None, None)))).id, t1.id);
    assert_eq!(ok(block_on(a.get_by_name("Support bot", &by(None, Some("production"), None)))).id, t2.id);
    assert_eq!(ok(block_on(a.get_by_name("Support bot", &by(None, Some("latest"), None)))).id, t3.id);
    assert_eq!(err(block_on(a.get_by_name("Support bot", &by(Some(9), None, None)))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(a.get_by_name("Support bot", &by(None, Some("staging"), None)))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(a.get_by_name("Support bot", &by(Some(1), Some("production"), None)))).code(), "INVALID_ARGUMENT");
    assert_eq!(err(block_on(a.get_by_name("Support bot", &by(None, Some("Bad Label"), None)))).code(), "INVALID_ARGUMENT");
    assert_eq!(err(block_on(a.get_by_name("   ", &ByName::default()))).code(), "INVALID_ARGUMENT");
    assert_eq!(err(block_on(a.get_by_name("x", &by(None, None, Some("not-an-id"))))).code(), "INVALID_ARGUMENT");
    // Another user: the single public lineage of that name.
    assert_eq!(ok(block_on(b.get_by_name("Support bot", &by(None, Some("production"), None)))).id, t2.id);
    // A built-in by name (before any public template), with version 1 / `latest` only.
    assert_eq!(ok(block_on(b.get_by_name("code assistant", &ByName::default()))).id, "00000000000000000000000003");
    assert_eq!(err(block_on(b.get_by_name("Code Assistant", &by(Some(2), None, None)))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(b.get_by_name("Code Assistant", &by(None, Some("production"), None)))).code(), "NOT_FOUND");
    assert_eq!(ok(block_on(b.get_by_name("Code Assistant", &by(None, None, Some("00000000000000000000000000"))))).id, "00000000000000000000000003");
    // Own lineage first, even when public ones share the name.
    let mine = create(&b, "Support bot", json!({}));
    assert_eq!(ok(block_on(b.get_by_name("Support bot", &ByName::default()))).id, mine.id);
    assert_eq!(ok(block_on(b.get_by_name("Support bot", &by(None, None, Some(&U1.to_lowercase()))))).id, t3.id);
    // Two public lineages: ambiguous for a third user, unless `owner` says whose.
    ok(block_on(b.update(&mine.id, json!({ "is_public": true }), no())));
    let e = err(block_on(c.get_by_name("Support bot", &ByName::default())));
    assert_eq!(e.code(), "AMBIGUOUS_BASE");
    assert_eq!(ok(block_on(c.get_by_name("Support bot", &by(None, None, Some(U2))))).id, mine.id);
    // Private lineages of others do not exist for the caller.
    create(&a, "Private bot", json!({}));
    assert_eq!(err(block_on(c.get_by_name("Private bot", &ByName::default()))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c.get_by_name("Private bot", &by(None, None, Some(U1))))).code(), "NOT_FOUND");
    // resolveByName is resolve of the pick.
    let r = ok(block_on(b.resolve_by_name("Support bot", &by(None, Some("production"), Some(U1)))));
    assert_eq!(r.id, t2.id);
    assert_eq!(r.effective.default_params, json!({ "v": 2 }).as_object().unwrap().clone());
}

#[test]
fn restore_version_makes_a_new_latest_with_the_old_configuration() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let t1 = create(&a, "Rollback", json!({ "description": "first", "tags": ["a"], "default_params": { "v": 1 }, "is_public": true }));
    let t2 = ok(block_on(a.new_version(&t1.id, json!({ "description": "second", "tags": ["b"], "default_params": { "v": 2 }, "workflow_type": "tools", "required_tools": ["search"] }), None, no())));
    ok(block_on(a.set_label(&t2.id, "production", no())));
    // A stale ifMatch (not the latest's updated_at) is CONFLICT and writes nothing.
    assert_eq!(err(block_on(a.restore_version(&t1.id, None, if_match(&t1.updated_at)))).code(), "CONFLICT");
    assert_eq!(err(block_on(b.restore_version(&t1.id, None, no()))).code(), "FORBIDDEN");
    let r = ok(block_on(a.restore_version(&t1.id, None, if_match(&t2.updated_at))));
    assert_eq!((r.version, r.is_latest, r.name.as_str()), (3, true, "Rollback"));
    assert_eq!(r.config_hash, t1.config_hash);
    assert_eq!((r.description.as_str(), r.tags.clone(), r.workflow_type, r.required_tools.clone()), (t1.description.as_str(), t1.tags.clone(), t1.workflow_type, t1.required_tools.clone()));
    assert_eq!(r.changelog.as_deref(), Some(format!("Restored version 1 ({})", t1.id).as_str()));
    // History is intact and the label did not move.
    let versions = ok(block_on(a.versions(&r.id)));
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[1].id, t2.id);
    assert_eq!(versions[1].config_hash, t2.config_hash);
    assert_eq!(ok(block_on(a.labels(&r.id)))[0].template_id, t2.id);
    let r2 = ok(block_on(a.restore_version(&t2.id, Some("back to 2".into()), no())));
    assert_eq!((r2.version, r2.config_hash.as_str(), r2.changelog.as_deref()), (4, t2.config_hash.as_str(), Some("back to 2")));
}

#[test]
fn labels_reach_subscribers() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t = create(&a, "Heard", json!({}));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    a.subscribe(move |e| s.borrow_mut().push((e.kind, e.op, e.id.clone())));
    ok(block_on(a.set_label(&t.id, "production", no())));
    ok(block_on(a.set_label(&t.id, "production", no())));
    ok(block_on(a.remove_label(&t.id, "production", no())));
    let id = Some(t.id.clone());
    assert_eq!(*seen.borrow(), vec![("label", "create", id.clone()), ("label", "update", id.clone()), ("label", "delete", id)]);
    assert!(workflow_templates::catalog::ChangeEvent::external("label", "update", None).is_some());
}

#[test]
fn labels_travel_in_export_and_import() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Exported", json!({}));
    let t2 = v2(&a, &t1, json!({ "x": 1 }));
    let p = ok(block_on(a.set_label(&t1.id, "production", no())));
    ok(block_on(a.set_label(&t2.id, "staging", no())));
    let bundle = ok(block_on(a.export_all()));
    assert_eq!(bundle["template_labels"][0], json!({ "label": "production", "template_id": t1.id, "version": 1, "updated_at": p.updated_at }));
    assert_eq!(bundle["template_labels"].as_array().unwrap().len(), 2);
    // Into a fresh store: the same labels.
    let fx2 = Fx::new();
    let a2 = fx2.cat(U1);
    let report = ok(block_on(a2.import_all(bundle.clone())));
    assert_eq!(report.labels, 2);
    assert_eq!(ok(block_on(a2.labels(&t1.id))), ok(block_on(a.labels(&t1.id))));
    assert_eq!(err(block_on(a2.delete(&t1.id))).code(), "HAS_LABELS");
    // Over the same store: replaces in place.
    ok(block_on(a.import_all(bundle.clone())));
    assert_eq!(block_on(fx.mem.find_labels(U1, None)).unwrap().len(), 2);
    // Bad rows are refused with their paths, and nothing is written.
    let mut bad = bundle.clone();
    bad["template_labels"] = json!([
        { "label": "Prod", "template_id": t1.id, "version": 1, "updated_at": p.updated_at },
        { "label": "latest", "template_id": t1.id, "version": 1, "updated_at": p.updated_at },
        { "label": "x", "template_id": t1.id, "version": 2, "updated_at": p.updated_at },
        { "label": "y", "template_id": "01ARZ3NDEKTSV4RRFFQ69G5FZZ", "version": 1, "updated_at": p.updated_at },
        { "label": "z", "template_id": t1.id, "version": 1, "updated_at": "soon" },
        { "label": "w", "template_id": t1.id, "version": 1, "updated_at": p.updated_at, "owner_id": U2 },
        { "label": "v", "template_id": t1.id, "version": 1, "updated_at": p.updated_at },
        { "label": "v", "template_id": t2.id, "version": 2, "updated_at": p.updated_at },
    ]);
    let fx3 = Fx::new();
    let e = err(block_on(fx3.cat(U1).import_all(bad)));
    let fields: Vec<String> = match &e {
        workflow_templates::Error::ValidationFailed(v) => v.iter().map(|x| format!("{} {}", x.field, x.code)).collect(),
        other => panic!("{other}"),
    };
    for want in [
        "template_labels[0].label PATTERN",
        "template_labels[1].label PATTERN",
        "template_labels[2].version INCONSISTENT",
        "template_labels[3].template_id NOT_FOUND",
        "template_labels[4].updated_at INVALID_TIMESTAMP",
        "template_labels[5] TYPE",
        "template_labels[7].label DUPLICATE",
    ] {
        assert!(fields.iter().any(|f| f == want), "{want} missing in {fields:?}");
    }
    assert!(fx3.stored(&t1.id).is_none());
    // Someone else's template cannot be labelled by an import.
    let b = fx.cat(U2);
    let theirs = create(&b, "Theirs", json!({ "is_public": true }));
    let mut other = bundle;
    other["template_labels"] = json!([{ "label": "mine", "template_id": theirs.id, "version": 1, "updated_at": p.updated_at }]);
    assert_eq!(err(block_on(a.import_all(other))).code(), "VALIDATION_FAILED");
    assert!(block_on(fx.mem.find_labels(U1, None)).unwrap().iter().all(|l| l.record.template_id != theirs.id));
}

#[test]
fn stored_label_rows_that_do_not_check_out_are_left_out() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Checked", json!({}));
    let row = |label: &str, template_id: &str, version: u64| TemplateLabel {
        owner_id: U1.into(),
        name_key: "checked".into(),
        label: label.into(),
        template_id: template_id.into(),
        version,
        updated_at: "2027-01-15T08:00:00.000Z".into(),
    };
    fx.plant_write(Write::PutLabel { record: row("ghost", "01ARZ3NDEKTSV4RRFFQ69G5FZZ", 1), expect: Expect::Absent });
    fx.plant_write(Write::PutLabel { record: row("wrongversion", &t1.id, 7), expect: Expect::Absent });
    fx.plant_write(Write::PutLabel { record: row("Bad Name", &t1.id, 1), expect: Expect::Absent });
    fx.plant_write(Write::PutLabel { record: row("fine", &t1.id, 1), expect: Expect::Absent });
    fx.take_skipped();
    let list = ok(block_on(a.labels(&t1.id)));
    assert_eq!(list.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), vec!["fine"]);
    assert_eq!(fx.take_skipped().len(), 3);
    assert_eq!(err(block_on(a.get_by_name("Checked", &by(None, Some("ghost"), None)))).code(), "NOT_FOUND");
    // A broken row neither holds a delete up nor breaks an export (it is listed as skipped).
    let bundle = ok(block_on(a.export_all()));
    assert_eq!(bundle["template_labels"].as_array().unwrap().len(), 1);
    assert_eq!(bundle["skipped"].as_array().unwrap().len(), 3);
    // Setting a label over a broken row replaces it.
    ok(block_on(a.set_label(&t1.id, "ghost", no())));
    assert_eq!(ok(block_on(a.labels(&t1.id))).len(), 2);
}

#[test]
fn an_import_does_not_move_a_labelled_version_to_another_name() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t1 = create(&a, "Stays", json!({}));
    ok(block_on(a.set_label(&t1.id, "production", no())));
    let mut bundle = ok(block_on(a.export_all()));
    bundle["workflow_templates"][0]["name"] = json!("Renamed by import");
    bundle["template_labels"] = json!([]);
    let e = err(block_on(a.import_all(bundle.clone())));
    let workflow_templates::Error::ValidationFailed(v) = &e else { panic!("{e}") };
    assert!(v.iter().any(|x| x.field == "workflow_templates[0].name" && x.code == "HAS_LABELS" && x.message.contains("production")), "{v:?}");
    assert_eq!(fx.stored(&t1.id).unwrap().record.name, "Stays");
    // Without the label, the same import renames it.
    ok(block_on(a.remove_label(&t1.id, "production", no())));
    ok(block_on(a.import_all(bundle)));
    assert_eq!(fx.stored(&t1.id).unwrap().record.name, "Renamed by import");
}
