//! Canonical forms on every way into storage (issue 10, item 8; SPEC section 2): ids are
//! uppercase ULIDs and timestamps `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, whatever spelling came in
//! (import, create, update), references included; lookups by id accept either case; rows read
//! from storage in another spelling are given back canonical (timestamps) or refused (ids, which
//! are storage keys).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::{DiscoverOptions, WriteOptions};
use workflow_templates::hash::{config_hash, ConfigParts};
use workflow_templates::model::time::parse_ms;
use workflow_templates::store::{Store, TemplateFilter};
use workflow_templates::{TemplateSpec, WorkflowTemplate};

fn no_opts() -> WriteOptions {
    WriteOptions::default()
}

fn is_canonical_time(s: &str) -> bool {
    s.len() == 24 && s.ends_with('Z') && parse_ms(s).map(workflow_templates::model::time::format_ms).as_deref() == Some(s)
}

fn assert_canonical(t: &WorkflowTemplate) {
    for (f, v) in [("created_at", Some(&t.created_at)), ("updated_at", Some(&t.updated_at)), ("last_used_at", t.last_used_at.as_ref())] {
        if let Some(v) = v {
            assert!(is_canonical_time(v), "{f} = {v:?}");
        }
    }
    for (f, v) in [("id", Some(&t.id)), ("owner_id", Some(&t.owner_id)), ("base_template_id", t.base_template_id.as_ref())] {
        if let Some(v) = v {
            assert_eq!(v, &v.to_uppercase(), "{f}");
        }
    }
}

/// An exported record of `c`, as a JSON value to spell differently.
fn exported(c: &Cat, id: &str) -> Value {
    let b = ok(block_on(c.export_all()));
    b["workflow_templates"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone()
}

#[test]
fn import_stores_canonical_timestamps_and_ids() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let base = create(&a, "Base", json!({}));
    let child = create(&a, "Child", json!({ "base_template_id": base.id }));
    let mut b = exported(&a, &base.id);
    let mut c = exported(&a, &child.id);
    ok(block_on(a.delete(&child.id)));
    ok(block_on(a.delete(&base.id)));
    b["created_at"] = json!("2026-01-01T10:00:00.000+05:00");
    b["updated_at"] = json!("2026-01-01t10:00:00.1239z");
    b["last_used_at"] = json!("2026-01-02T00:00:00-01:30");
    b["id"] = json!(base.id.to_lowercase());
    b["owner_id"] = json!(U1.to_lowercase());
    // The child's hash covers its base id: computed over the canonical (uppercase) id.
    c["base_template_id"] = json!(base.id.to_lowercase());
    c["id"] = json!(child.id.to_lowercase());
    let bundle = json!({ "format_version": 1, "owner_id": U1.to_lowercase(), "workflow_templates": [b, c] });
    ok(block_on(a.import_all(bundle)));

    let got = ok(block_on(a.get(&base.id)));
    assert_eq!(got.created_at, "2026-01-01T05:00:00.000Z");
    assert_eq!(got.updated_at, "2026-01-01T10:00:00.123Z");
    assert_eq!(got.last_used_at.as_deref(), Some("2026-01-02T01:30:00.000Z"));
    assert_canonical(&got);
    // What storage holds is canonical too (not only what is returned).
    for id in [&base.id, &child.id] {
        assert_canonical(&fx.stored(id).unwrap_or_else(|| panic!("{id} is stored under its canonical id")).record);
    }
    // Lookups by either case, on every path.
    for id in [base.id.clone(), base.id.to_lowercase()] {
        assert_eq!(ok(block_on(a.get(&id))).id, base.id);
        assert_eq!(ok(block_on(a.versions(&id))).len(), 1);
        assert_eq!(ok(block_on(a.derived(&id))).iter().map(|t| t.id.clone()).collect::<Vec<_>>(), vec![child.id.clone()]);
    }
    for id in [child.id.to_lowercase(), child.id.clone()] {
        assert_eq!(ok(block_on(a.chain(&id))).len(), 2);
        assert_eq!(ok(block_on(a.resolve(&id))).id, child.id);
        ok(block_on(a.update(&id, json!({ "description": "edited" }), no_opts())));
    }
    let page = ok(block_on(a.discover(&DiscoverOptions { include_builtin: false, ..Default::default() })));
    assert_eq!(page.items.len(), 2);
    page.items.iter().for_each(assert_canonical);
    ok(block_on(a.delete(&child.id.to_lowercase())));
    ok(block_on(a.delete(&base.id.to_lowercase())));
    assert!(block_on(fx.mem.find_templates(&TemplateFilter::default())).unwrap().is_empty());
}

#[test]
fn a_hash_over_a_lowercase_base_id_is_refused_clearly() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let base = create(&a, "Base", json!({}));
    let child = create(&a, "Child", json!({ "base_template_id": base.id }));
    let mut c = exported(&a, &child.id);
    let lower = base.id.to_lowercase();
    let parts = ConfigParts { workflow_type: child.workflow_type, default_params: &child.default_params, required_tools: &[], required_retrievers: &[], base_template_id: Some(&lower) };
    c["config_hash"] = json!(config_hash(&parts));
    c["base_template_id"] = json!(lower);
    let e = err(block_on(a.import_all(json!({ "format_version": 1, "workflow_templates": [c] }))));
    let said = everything_said(&e);
    assert!(said.contains("HASH_MISMATCH") && said.contains("uppercase"), "{said}");
    assert_eq!(fx.stored(&child.id).unwrap().record, child);
}

#[test]
fn imported_specs_ratings_and_builtin_stats_are_canonical() {
    let fx = Fx::new();
    let a = fx.cat(U1);
    let t = create(&a, "Rated", json!({ "is_public": true }));
    let spec = ok(block_on(a.create_spec(json!({ "name": "S", "workflow_type": "plain" }))));
    let mut s = serde_json::to_value(&spec).unwrap();
    s["id"] = json!(spec.id.to_lowercase());
    s["owner_id"] = json!(U1.to_lowercase());
    s["created_at"] = json!("2026-03-01T12:00:00+02:00");
    s["updated_at"] = json!("2026-03-01T12:00:00.5+02:00");
    let rating = json!({ "template_id": t.id.to_lowercase(), "user_id": U1.to_lowercase(), "stars": 4, "updated_at": "2026-03-01T00:00:00+00:00" });
    let stats = json!({ "id": "0000000000000000000000000a", "rating": null, "rating_count": 0, "usage_count": 1, "success_rate": 1.0,
        "avg_response_time_ms": 5, "last_used_at": "2026-03-01T00:00:00.000+01:00", "total_tokens_used": 0, "total_cost": 0.0, "avg_tokens_per_use": 0.0 });
    let bundle = json!({ "format_version": 1, "template_specs": [s], "ratings": [rating], "builtin_stats": [stats] });
    ok(block_on(a.import_all(bundle)));
    let got: TemplateSpec = ok(block_on(a.get_spec(&spec.id.to_lowercase())));
    assert_eq!((got.id.as_str(), got.owner_id.as_str()), (spec.id.as_str(), U1));
    assert_eq!((got.created_at.as_str(), got.updated_at.as_str()), ("2026-03-01T10:00:00.000Z", "2026-03-01T10:00:00.500Z"));
    let r = block_on(fx.mem.get_rating(&t.id, U1)).unwrap().expect("the rating is stored under canonical ids");
    assert_eq!(r.record.updated_at, "2026-03-01T00:00:00.000Z");
    let b = block_on(fx.mem.get_builtin_stats("0000000000000000000000000A")).unwrap().expect("canonical built-in id");
    assert_eq!(b.record.stats.last_used_at.as_deref(), Some("2026-02-28T23:00:00.000Z"));
}

#[test]
fn rows_read_in_another_spelling_come_back_canonical_or_are_refused() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let t = create(&a, "Spelled", json!({ "is_public": true }));
    // A row written by other means with offset timestamps: same instants, canonical on the way out.
    let mut planted = t.clone();
    planted.created_at = "2027-01-15T09:00:00.000+01:00".into();
    planted.updated_at = "2027-01-15T08:00:00.001000Z".into();
    fx.plant(planted);
    for c in [&a, &b] {
        let got = ok(block_on(c.get(&t.id)));
        assert_eq!((got.created_at.as_str(), got.updated_at.as_str()), ("2027-01-15T08:00:00.000Z", "2027-01-15T08:00:00.001Z"));
    }
    let page = ok(block_on(b.discover(&DiscoverOptions { include_builtin: false, ..Default::default() })));
    page.items.iter().for_each(assert_canonical);
    // A write-back (statistics) stores the canonical spelling.
    ok(block_on(b.rate(&t.id, 3.0)));
    assert_canonical(&fx.stored(&t.id).unwrap().record);

    // Ids are storage keys and index values: a row holding a lowercase reference is refused
    // (INTEGRITY on a direct read, left out of lists), not silently respelled.
    let base = create(&a, "Base", json!({ "is_public": true }));
    let mut child = create(&a, "Child", json!({ "base_template_id": base.id, "is_public": true }));
    child.base_template_id = Some(base.id.to_lowercase());
    fx.plant(child.clone());
    assert_eq!(err(block_on(b.get(&child.id))).code(), "INTEGRITY");
    let page = ok(block_on(b.discover(&DiscoverOptions { include_builtin: false, ..Default::default() })));
    assert!(page.items.iter().all(|t| t.id != child.id) && page.skipped == 1, "{:?}", page.skipped);
    // Its owner can still delete it.
    ok(block_on(a.delete(&child.id)));
}

#[test]
fn create_and_update_normalise_references() {
    let fx = Fx::new();
    let a = fx.cat(&U1.to_lowercase());
    let base = create(&a, "Base", json!({}));
    assert_eq!(base.owner_id, U1);
    let child = create(&a, "Child", json!({ "base_template_id": base.id.to_lowercase() }));
    assert_eq!(child.base_template_id.as_deref(), Some(base.id.as_str()));
    let other = create(&a, "Other", json!({}));
    // ifMatch may be any spelling of the same instant.
    let seen = chrono::DateTime::parse_from_rfc3339(&child.updated_at).unwrap().with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap()).to_rfc3339();
    assert!(seen.ends_with("+01:00"), "{seen}");
    let child = ok(block_on(a.update(&child.id.to_lowercase(), json!({ "base_template_id": other.id.to_lowercase() }), WriteOptions { if_match: Some(seen) })));
    assert_eq!(child.base_template_id.as_deref(), Some(other.id.as_str()));
    assert_canonical(&child);
    assert_eq!(child.config_hash, config_hash(&child.config()));
}

#[test]
fn a_row_stored_under_a_lowercase_id_is_refused_and_its_owner_can_delete_it() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let t = create(&a, "Legacy", json!({ "is_public": true }));
    ok(block_on(a.delete(&t.id)));
    // What an import stored before ids were made canonical: the row keyed by a lowercase id.
    let mut legacy = t.clone();
    legacy.id = t.id.to_lowercase();
    fx.plant(legacy.clone());
    let page = ok(block_on(b.discover(&DiscoverOptions { include_builtin: false, ..Default::default() })));
    assert_eq!((page.items.len(), page.skipped), (0, 1));
    for id in [&t.id, &legacy.id] {
        assert_eq!(err(block_on(b.get(id))).code(), "NOT_FOUND");
    }
    let bundle = ok(block_on(a.export_all()));
    assert_eq!(bundle["skipped"][0]["id"], json!(legacy.id));
    assert_eq!(err(block_on(b.delete(&legacy.id))).code(), "FORBIDDEN");
    ok(block_on(a.delete(&legacy.id)));
    assert!(block_on(fx.mem.find_templates(&TemplateFilter::default())).unwrap().is_empty());
}
