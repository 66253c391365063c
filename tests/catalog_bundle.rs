//! exportAll / importAll (SPEC section 11): round trips and every refusal writing nothing.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::*;
use workflow_templates::hash::config_hash;
use workflow_templates::store::{BuiltinStats, Rating};
use workflow_templates::{TemplateSpec, WorkflowTemplate};

// ---- export / import -----------------------------------------------------------------------

struct Exported {
    fx: Fx,
    bundle: Value,
    a1: WorkflowTemplate,
    a2: WorkflowTemplate,
    b: WorkflowTemplate,
    c: WorkflowTemplate,
}

fn exported() -> Exported {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let a1 = create(&c1, "Alpha", json!({ "is_public": true, "default_params": { "model": { "name": "a" } }, "tags": ["t"] }));
    fx.tick();
    let a2 = ok(block_on(c1.new_version(&a1.id, json!({ "default_params": { "model": { "name": "b" } } }), Some("v2".into()), no_opts())));
    let b = create(&c1, "Bravo", json!({ "base_template_id": a2.id, "default_params": { "x": 1 } }));
    let c = create(&c1, "Charlie", json!({ "workflow_type": "tools", "base_template_id": CODE_ASSISTANT, "extra_metadata": { "k": [1, 2] } }));
    ok(block_on(c1.create_spec(json!({ "name": "Spec", "workflow_type": "plain", "base_template_name": "Alpha" }))));
    ok(block_on(c1.rate(&a2.id, 4.0)));
    ok(block_on(c1.rate(GENERAL_ASSISTANT, 3.0)));
    ok(block_on(c1.record_usage(&a2.id, &run(true, 120, 7, 0.3))));
    ok(block_on(c1.record_usage(GENERAL_ASSISTANT, &run(false, 80, 3, 0.1))));
    // Another user's things are not exported.
    let other = create(&c2, "Other", json!({ "is_public": true }));
    ok(block_on(c2.rate(&other.id, 1.0)));
    ok(block_on(c2.create_spec(json!({ "name": "Their spec", "workflow_type": "plain" }))));
    fx.tick();
    let bundle = ok(block_on(c1.export_all()));
    let (a1, a2, b, c) = (get(&c1, &a1.id), get(&c1, &a2.id), get(&c1, &b.id), get(&c1, &c.id));
    Exported { fx, bundle, a1, a2, b, c }
}

fn without_exported_at(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("exported_at");
    v
}

#[test]
fn export_contains_what_the_user_owns() {
    let e = exported();
    let b = &e.bundle;
    assert_eq!(b["format_version"], json!(1));
    assert_eq!(b["owner_id"], json!(U1));
    let ts = b["workflow_templates"].as_array().unwrap();
    let got: BTreeSet<&str> = ts.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = [&e.a1, &e.a2, &e.b, &e.c].iter().map(|t| t.id.as_str()).collect();
    assert_eq!(got, want);
    assert!(ts.iter().all(|t| t["owner_id"] == json!(U1)));
    let specs = b["template_specs"].as_array().unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0]["name"], json!("Spec"));
    let ratings = b["ratings"].as_array().unwrap();
    assert_eq!(ratings.len(), 2);
    assert!(ratings.iter().all(|r| r["user_id"] == json!(U1)));
    let stats = b["builtin_stats"].as_array().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0]["id"], json!(GENERAL_ASSISTANT));
    assert_eq!(stats[0]["usage_count"], json!(1));
    // Templates are exported exactly as stored.
    for t in [&e.a1, &e.a2, &e.b, &e.c] {
        let v = ts.iter().find(|x| x["id"] == json!(t.id)).unwrap();
        assert_eq!(v, &t.to_value());
    }
}

#[test]
fn export_import_round_trip_reproduces_records_exactly() {
    let e = exported();
    let fx2 = Fx::frozen();
    fx2.clock.set(e.fx.clock.get() + 86_400_000);
    let c = fx2.cat(U1);
    let report = ok(block_on(c.import_all(e.bundle.clone())));
    assert_eq!((report.templates, report.specs, report.ratings, report.builtin_stats), (4, 1, 2, 1));

    let src = e.fx.snapshot();
    let dst = fx2.snapshot();
    let mine = |s: &Snapshot| -> Vec<WorkflowTemplate> { s.templates.iter().filter(|t| t.record.owner_id == U1).map(|t| t.record.clone()).collect() };
    assert_eq!(mine(&dst), mine(&src));
    assert_eq!(dst.templates.len(), 4);
    let my_specs = |s: &Snapshot| -> Vec<TemplateSpec> { s.specs.iter().filter(|x| x.record.owner_id == U1).map(|x| x.record.clone()).collect() };
    assert_eq!(my_specs(&dst), my_specs(&src));
    let my_ratings = |s: &Snapshot| -> Vec<Rating> { s.ratings.iter().filter(|x| x.record.user_id == U1).map(|x| x.record.clone()).collect() };
    assert_eq!(my_ratings(&dst), my_ratings(&src));
    let stats = |s: &Snapshot| -> Vec<BuiltinStats> { s.builtin_stats.iter().map(|x| x.record.clone()).collect() };
    assert_eq!(stats(&dst), stats(&src));

    // The catalog reads them back identically, inheritance included.
    let c_src = e.fx.cat(U1);
    for t in [&e.a1, &e.a2, &e.b, &e.c] {
        assert_eq!(&get(&c, &t.id), t);
        assert_eq!(ok(block_on(c.resolve(&t.id))), ok(block_on(c_src.resolve(&t.id))));
    }
    assert_eq!(get(&c, GENERAL_ASSISTANT), get(&c_src, GENERAL_ASSISTANT));
    assert_eq!(ids(&ok(block_on(c.versions(&e.a1.id)))), vec![e.a2.id.clone(), e.a1.id.clone()]);
    // Exporting again gives the same bundle.
    assert_eq!(without_exported_at(ok(block_on(c.export_all()))), without_exported_at(e.bundle.clone()));
    // Importing into the store it came from restores the same records.
    let report = ok(block_on(c_src.import_all(e.bundle.clone())));
    assert_eq!(report.templates, 4);
    assert_eq!(mine(&e.fx.snapshot()), mine(&src));
}

fn template_at(bundle: &Value, id: &str) -> usize {
    bundle["workflow_templates"].as_array().unwrap().iter().position(|t| t["id"] == json!(id)).unwrap()
}

/// Replaces a template of the bundle by `f(template)` with its config_hash recomputed, so that
/// only the change made by `f` is wrong.
fn rewrite(bundle: &mut Value, id: &str, f: impl FnOnce(&mut WorkflowTemplate)) {
    let i = template_at(bundle, id);
    let mut t: WorkflowTemplate = serde_json::from_value(bundle["workflow_templates"][i].clone()).unwrap();
    f(&mut t);
    t.config_hash = config_hash(&t.config());
    bundle["workflow_templates"][i] = t.to_value();
}

/// A target store that already holds data, so "writes nothing" is checked against more than
/// an empty store.
fn import_target() -> Fx {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Existing", json!({ "is_public": true }));
    ok(block_on(c.rate(&t.id, 3.0)));
    ok(block_on(c.record_usage(CREATIVE_WRITER, &run(true, 1, 1, 0.0))));
    ok(block_on(c.create_spec(json!({ "name": "Existing spec", "workflow_type": "plain" }))));
    fx
}

#[test]
fn import_refuses_a_tampered_hash_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();

    let mut bad = e.bundle.clone();
    let i = template_at(&bad, &e.c.id);
    bad["workflow_templates"][i]["config_hash"] = json!("0".repeat(64));
    let err1 = err(block_on(c.import_all(bad)));
    assert_eq!(err1.code(), "VALIDATION_FAILED");
    assert!(violations(&err1).iter().any(|(f, _)| f.starts_with(&format!("workflow_templates[{i}]"))), "{:?}", violations(&err1));
    assert_eq!(target.snapshot(), before);

    // A changed configuration under the old hash is refused the same way.
    let mut bad = e.bundle.clone();
    let i = template_at(&bad, &e.a2.id);
    bad["workflow_templates"][i]["default_params"]["model"]["name"] = json!("tampered");
    assert_eq!(err(block_on(c.import_all(bad))).code(), "VALIDATION_FAILED");
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_dangling_base_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();
    let mut bad = e.bundle.clone();
    rewrite(&mut bad, &e.b.id, |t| t.base_template_id = Some(MISSING.into()));
    let er = err(block_on(c.import_all(bad)));
    assert!(has_code(&er, "BASE_NOT_FOUND"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);

    // Dropping the base from the bundle leaves its child dangling too.
    let mut bad = e.bundle.clone();
    let i = template_at(&bad, &e.a2.id);
    bad["workflow_templates"].as_array_mut().unwrap().remove(i);
    let er = err(block_on(c.import_all(bad)));
    assert!(has_code(&er, "BASE_NOT_FOUND"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_cycle_inside_the_bundle_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();
    let mut bad = e.bundle.clone();
    // b -> a2 already; make a2 -> b.
    rewrite(&mut bad, &e.a2.id, |t| t.base_template_id = Some(e.b.id.clone()));
    let er = err(block_on(c.import_all(bad)));
    assert!(has_code(&er, "INHERITANCE_CYCLE"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_name_clash_with_the_target_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    // A different template named like one of the bundle's latest versions.
    create(&c, "bravo", json!({}));
    let before = target.snapshot();
    let er = err(block_on(c.import_all(e.bundle.clone())));
    assert!(["NAME_TAKEN", "VALIDATION_FAILED"].contains(&er.code()), "{}: {er}", er.code());
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_lineage_without_a_latest_version() {
    // SPEC 6: no reader ever sees two latest versions of a template, or none. A bundle whose
    // only version of "Solo" is not latest would leave "Solo" with no latest version.
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    create(&c, "Solo", json!({}));
    let mut bundle = ok(block_on(c.export_all()));
    bundle["workflow_templates"][0]["is_latest"] = json!(false);
    let target = Fx::frozen();
    let before = target.snapshot();
    let r = block_on(target.cat(U1).import_all(bundle));
    assert!(r.is_err(), "a lineage with no latest version was imported");
    assert_eq!(err(r).code(), "VALIDATION_FAILED");
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_does_not_overwrite_builtin_statistics_recorded_by_others() {
    // Usage of built-ins is shared by every user of a store. One user's import (a backup made
    // elsewhere) must not erase the uses other users recorded here (SPEC 8: a catalog acts for
    // one user; SPEC 9: no increment is lost).
    let source = Fx::frozen();
    let c_src = source.cat(U1);
    use_once(&c_src, GENERAL_ASSISTANT);
    let bundle = ok(block_on(c_src.export_all()));

    let target = Fx::frozen();
    let (c1, c2) = (target.cat(U1), target.cat(U2));
    use_once(&c2, GENERAL_ASSISTANT);
    use_once(&c2, GENERAL_ASSISTANT);
    let _ = block_on(c1.import_all(bundle));
    let g = get(&target.cat(U3), GENERAL_ASSISTANT);
    assert!(g.usage_count >= 2, "U2's 2 recorded uses of a built-in were erased by U1's import (usage_count is now {})", g.usage_count);
}

#[test]
fn import_refuses_foreign_records_and_bad_bundles() {
    let e = exported();
    let target = import_target();
    let before = target.snapshot();
    let c2 = target.cat(U2);
    let er = err(block_on(c2.import_all(e.bundle.clone())));
    assert!(has_code(&er, "FORBIDDEN"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);

    let c = target.cat(U1);
    for bad in [
        json!([]),
        json!({ "format_version": 2, "workflow_templates": [] }),
        json!({ "format_version": 1, "workflow_templates": {} }),
        json!({ "format_version": 1, "surprise": 1 }),
        json!({ "format_version": 1, "workflow_templates": [{ "id": "x" }] }),
        json!({ "format_version": 1, "ratings": [{ "template_id": MISSING, "user_id": U1, "stars": 3.0, "updated_at": "2027-01-01T00:00:00.000Z" }] }),
        json!({ "format_version": 1, "ratings": [{ "template_id": GENERAL_ASSISTANT, "user_id": U1, "stars": 7.0, "updated_at": "2027-01-01T00:00:00.000Z" }] }),
        json!({ "format_version": 1, "builtin_stats": [{ "id": MISSING, "rating": null, "rating_count": 0, "usage_count": 0, "success_rate": null, "avg_response_time_ms": null, "last_used_at": null, "total_tokens_used": 0, "total_cost": 0.0, "avg_tokens_per_use": null }] }),
    ] {
        assert_eq!(err(block_on(c.import_all(bad.clone()))).code(), "VALIDATION_FAILED", "{bad}");
        assert_eq!(target.snapshot(), before, "{bad}");
    }
    // A good record beside a bad one is not written either.
    let mut mixed = e.bundle.clone();
    mixed["template_specs"][0]["usage_count"] = json!(-1);
    assert_eq!(err(block_on(c.import_all(mixed))).code(), "VALIDATION_FAILED");
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_ids_of_another_users_templates_and_restores_own_ones() {
    let fx = Fx::frozen();
    let theirs = create(&fx.cat(U2), "Theirs", json!({}));
    let c = fx.cat(U1);
    let mine = create(&c, "Mine", json!({}));
    let mut bundle = ok(block_on(c.export_all()));
    // A record of U1's own whose id is U2's template: refused at that index, nothing written.
    let mut forged: WorkflowTemplate = serde_json::from_value(bundle["workflow_templates"][0].clone()).unwrap();
    forged.id = theirs.id.clone();
    forged.name = "Forged".into();
    bundle["workflow_templates"].as_array_mut().unwrap().push(forged.to_value());
    let before = fx.snapshot();
    let e = err(block_on(c.import_all(bundle.clone())));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    let v = violations(&e);
    assert!(v.contains(&("workflow_templates[1].id".to_string(), "DUPLICATE".to_string())), "{v:?}");
    assert_eq!(fx.snapshot(), before);
    // Without it, the bundle restores U1's record over the stored one (guarded by its revision).
    bundle["workflow_templates"].as_array_mut().unwrap().pop();
    ok(block_on(c.update(&mine.id, json!({ "description": "changed after export" }), no_opts())));
    let report = ok(block_on(c.import_all(bundle)));
    assert_eq!(report.templates, 1);
    assert_eq!(get(&c, &mine.id), mine);
    assert_eq!(get(&fx.cat(U2), &theirs.id), theirs);
}


/// A spec the validator takes but the record type cannot hold (a counter written `3.0`) is a
/// TYPE violation at its path, never silently left out of the import.
#[test]
fn import_refuses_a_spec_whose_counter_is_not_an_integer() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();
    let mut bad = e.bundle.clone();
    bad["template_specs"][0]["usage_count"] = json!(3.0);
    let er = err(block_on(c.import_all(bad)));
    assert_eq!(er.code(), "VALIDATION_FAILED");
    assert!(violations(&er).iter().any(|(f, _)| f.starts_with("template_specs[0]")), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);
}
