//! No single bad row turns a list, a page or another user's request into an error (issue 10,
//! item 1): a stored row that fails verification (SPEC section 4) is left out of every list,
//! counted (`skipped` of a page, `skipped` of an export) and reported through `Env::skipped_row`;
//! a direct read of it stays INTEGRITY, and its owner can still delete and export it.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use support::*;
use workflow_templates::catalog::{DiscoverOptions, WriteOptions};
use workflow_templates::store::{Expect, Store, Write};
use workflow_templates::{TemplateSpec, WorkflowTemplate};

/// Every way a stored template can fail verification, applied to a copy of `t`.
fn corruptions(t: &WorkflowTemplate) -> Vec<(&'static str, WorkflowTemplate)> {
    let mut hash = t.clone();
    hash.config_hash = "0".repeat(64);
    let mut time = t.clone();
    time.updated_at = "+10000-01-01T00:00:00.000Z".into();
    let mut schema = t.clone();
    schema.description = "d".repeat(10_001);
    let mut counter = t.clone();
    counter.rating_count = 1 << 60;
    vec![("hash", hash), ("timestamp", time), ("schema", schema), ("counter", counter)]
}

fn page_ids(p: &workflow_templates::catalog::Page<WorkflowTemplate>) -> Vec<String> {
    p.items.iter().map(|t| t.id.clone()).collect()
}

fn discover_opts(limit: usize, offset: u64) -> DiscoverOptions {
    DiscoverOptions { limit, offset, include_builtin: false, ..Default::default() }
}

fn lists_leave_out_a_corrupt_row(fx: Fx) {
    for (how, _) in corruptions(&WorkflowTemplate::with_defaults("x".into(), U1.into(), "2026-01-01T00:00:00.000Z".into())) {
        let fx = Fx { mem: std::rc::Rc::new(Default::default()), skipped: Default::default(), ..Fx { indexed: fx.indexed, ..Fx::new() } };
        let (a, b, c) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
        let mut good = Vec::new();
        for i in 0..5 {
            good.push(create(&a, &format!("Public {i}"), json!({ "is_public": true })).id);
        }
        let victim = create(&b, "Victim", json!({ "is_public": true }));
        good.push(create(&c, "Mine", json!({})).id);
        let bad = corruptions(&victim).into_iter().find(|(h, _)| *h == how).unwrap().1;
        fx.plant(bad);

        // Every user's browse page works; the bad row is left out and counted, never shown.
        let page = ok(block_on(c.discover(&discover_opts(20, 0))));
        assert_eq!(page.total, 7, "{how}: total counts every matching row");
        assert_eq!(page.skipped, 1, "{how}");
        assert!(!page_ids(&page).contains(&victim.id), "{how}");
        assert_eq!(page_ids(&page).into_iter().collect::<BTreeSet<_>>(), good.iter().cloned().collect(), "{how}");
        assert_eq!(fx.take_skipped(), vec![victim.id.clone()], "{how}: reported through Env::skipped_row");

        // Paging: every page is the slice [offset, offset + limit) of one order; a bad row takes
        // its slot and is counted, so no good row is repeated or lost across pages.
        for limit in 1..=3 {
            let mut seen = Vec::new();
            let mut skipped = 0;
            let mut offset = 0;
            while offset < 7 {
                let p = ok(block_on(c.discover(&discover_opts(limit, offset))));
                assert_eq!(p.total, 7);
                assert_eq!(p.items.len() + p.skipped, limit.min(7 - offset as usize), "{how}: a page is never silently short");
                skipped += p.skipped;
                seen.extend(page_ids(&p));
                offset += limit as u64;
            }
            assert_eq!(skipped, 1, "{how} limit {limit}");
            assert_eq!(seen.len(), 6, "{how} limit {limit}: {seen:?}");
            assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), good.iter().cloned().collect(), "{how} limit {limit}");
        }
        // Filtered discovery (not the browse page) too.
        let p = ok(block_on(c.discover(&DiscoverOptions { text: Some("i".into()), ..discover_opts(20, 0) })));
        assert!(!page_ids(&p).contains(&victim.id) && p.skipped == 1, "{how}");
        let p = ok(block_on(c.discover(&DiscoverOptions { owner: Some(U2.into()), ..discover_opts(20, 0) })));
        assert_eq!((p.items.len(), p.skipped, p.total), (0, 1, 1), "{how}");

        // The top n of each category is refilled from the next good rows.
        let top = ok(block_on(a.popular_by_category(6)));
        let custom: Vec<String> = top["custom"].iter().map(|t| t.id.clone()).collect();
        assert!(!custom.contains(&victim.id), "{how}");
        assert_eq!(custom.iter().filter(|id| good.contains(id)).count(), 5, "{how}: {custom:?}");
        fx.take_skipped();

        // A direct read of the bad row is INTEGRITY for whoever may see it.
        assert_eq!(err(block_on(a.get(&victim.id))).code(), "INTEGRITY", "{how}");
        assert_eq!(err(block_on(b.get(&victim.id))).code(), "INTEGRITY", "{how}");
    }
}

#[test]
fn a_corrupt_row_is_left_out_of_discovery_and_popular_lists() {
    lists_leave_out_a_corrupt_row(Fx::new());
}

#[test]
fn a_corrupt_row_is_left_out_of_the_indexed_browse_page() {
    lists_leave_out_a_corrupt_row(Fx::indexed());
}

#[test]
fn a_corrupt_private_row_is_not_found_for_others_not_integrity() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let secret = create(&a, "Secret", json!({}));
    let mut bad = secret.clone();
    bad.config_hash = "f".repeat(64);
    fx.plant(bad);
    let e = err(block_on(b.get(&secret.id)));
    assert_eq!(e.code(), "NOT_FOUND", "{e}");
    assert_eq!(err(block_on(b.delete(&secret.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(b.record_usage(&secret.id, &workflow_templates::catalog::UsageRun { success: true, response_time_ms: 1, tokens: 0, cost: 0.0 }))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(a.get(&secret.id))).code(), "INTEGRITY");
}

#[test]
fn versions_derived_and_edits_of_others_skip_a_corrupt_row() {
    for (how, _) in corruptions(&WorkflowTemplate::with_defaults("x".into(), U1.into(), "2026-01-01T00:00:00.000Z".into())) {
        let fx = Fx::new();
        let (a, b) = (fx.cat(U1), fx.cat(U2));
        let base = create(&a, "Base", json!({ "is_public": true }));
        let v2 = ok(block_on(a.new_version(&base.id, json!({}), None, WriteOptions::default())));
        let good_child = create(&b, "Good child", json!({ "base_template_id": base.id, "is_public": true }));
        let bad_child = create(&b, "Bad child", json!({ "base_template_id": base.id, "is_public": true }));
        let grandchild = create(&a, "Grandchild", json!({ "base_template_id": bad_child.id }));
        let pick = |t: &WorkflowTemplate| corruptions(t).into_iter().find(|(h, _)| *h == how).unwrap().1;
        fx.plant(pick(&bad_child));
        fx.plant(pick(&fx.stored(&base.id).unwrap().record));

        let derived: Vec<String> = ok(block_on(a.derived(&v2.id))).into_iter().map(|t| t.id).collect();
        assert!(derived.is_empty());
        // derived of the (corrupt) base itself is a direct read of it: INTEGRITY.
        assert_eq!(err(block_on(b.derived(&base.id))).code(), "INTEGRITY", "{how}");
        // The lineage lists the intact version only.
        let versions: Vec<String> = ok(block_on(b.versions(&v2.id))).into_iter().map(|t| t.id).collect();
        assert_eq!(versions, vec![v2.id.clone()], "{how}");
        assert!(fx.take_skipped().contains(&base.id), "{how}");

        // A healthy parent: its corrupt child is left out of derived.
        let p = create(&a, "Parent", json!({ "is_public": true }));
        let c1 = create(&b, "C1", json!({ "base_template_id": p.id, "is_public": true }));
        let c2 = create(&b, "C2", json!({ "base_template_id": p.id, "is_public": true }));
        fx.plant(pick(&c2));
        let derived: Vec<String> = ok(block_on(a.derived(&p.id))).into_iter().map(|t| t.id).collect();
        assert_eq!(derived, vec![c1.id.clone()], "{how}");
        assert_eq!(fx.take_skipped(), vec![c2.id.clone()], "{how}");
        // Editing the parent is judged on the intact descendants; a broken one does not make
        // the owner's edit fail.
        ok(block_on(a.update(&p.id, json!({ "description": "still fine" }), WriteOptions::default())));
        let _ = (good_child, grandchild);
    }
}

#[test]
fn the_owner_can_export_and_delete_a_corrupt_template() {
    for (how, _) in corruptions(&WorkflowTemplate::with_defaults("x".into(), U1.into(), "2026-01-01T00:00:00.000Z".into())) {
        let fx = Fx::new();
        let (a, b) = (fx.cat(U1), fx.cat(U2));
        let keep = create(&a, "Keep", json!({}));
        let broken = create(&a, "Broken", json!({ "is_public": true }));
        let bad = corruptions(&broken).into_iter().find(|(h, _)| *h == how).unwrap().1;
        fx.plant(bad.clone());
        let spec = ok(block_on(a.create_spec(json!({ "name": "S", "workflow_type": "plain" }))));
        let mut bad_spec: TemplateSpec = spec.clone();
        bad_spec.id = "01ARZ3NDEKTSV4RRFFQ69G5FB1".into();
        bad_spec.name = "\u{7}".into();
        fx.plant_write(Write::PutSpec { record: bad_spec.clone(), expect: Expect::Absent });

        // Export: what is intact, plus the rows left out (with their stored content, so the
        // owner can repair and re-import them).
        let bundle = ok(block_on(a.export_all()));
        let ids: Vec<&str> = bundle["workflow_templates"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![keep.id.as_str()], "{how}");
        let skipped = bundle["skipped"].as_array().unwrap_or_else(|| panic!("{how}: {bundle}"));
        let said: Vec<(&str, &str)> = skipped.iter().map(|s| (s["table"].as_str().unwrap(), s["id"].as_str().unwrap())).collect();
        assert!(said.contains(&("workflow_templates", broken.id.as_str())), "{how}: {said:?}");
        assert!(said.contains(&("template_specs", bad_spec.id.as_str())), "{how}: {said:?}");
        assert_eq!(skipped.iter().find(|s| s["id"] == broken.id.as_str()).unwrap()["record"]["name"], json!(bad.name));
        // The export imports back (the report of skipped rows is not an error).
        ok(block_on(a.import_all(bundle)));
        // list_specs leaves the bad spec out.
        let specs: Vec<String> = ok(block_on(a.list_specs())).into_iter().map(|s| s.id).collect();
        assert_eq!(specs, vec![spec.id.clone()], "{how}");

        // Others cannot delete it; its owner can (and the ifMatch of what the owner saw works).
        assert_eq!(err(block_on(b.delete(&broken.id))).code(), "FORBIDDEN", "{how}");
        assert_eq!(err(block_on(a.delete_with(&broken.id, WriteOptions { if_match: Some("2020-01-01T00:00:00.000Z".into()) }))).code(), "CONFLICT", "{how}");
        ok(block_on(a.delete_with(&broken.id, WriteOptions { if_match: Some(bad.updated_at.clone()) })));
        assert!(fx.stored(&broken.id).is_none(), "{how}");
        assert_eq!(err(block_on(b.delete_spec(&bad_spec.id))).code(), "NOT_FOUND");
        assert_eq!(err(block_on(a.get_spec(&bad_spec.id))).code(), "INTEGRITY");
        ok(block_on(a.delete_spec(&bad_spec.id)));
        assert!(block_on(fx.mem.get_spec(&bad_spec.id)).unwrap().is_none());
        // Nothing left out: the bundle has no `skipped`.
        assert!(ok(block_on(a.export_all())).get("skipped").is_none(), "{how}");
    }
}

#[test]
fn a_corrupt_builtin_statistics_row_does_not_break_lists_or_the_builtin() {
    let ga = "00000000000000000000000001";
    for fx in [Fx::new(), Fx::indexed()] {
        let (a, b) = (fx.cat(U1), fx.cat(U2));
        let mut stats = workflow_templates::model::UsageStats::default();
        stats.rating = Some(9.0);
        stats.rating_count = 1;
        stats.usage_count = 1 << 60;
        fx.plant_write(Write::PutBuiltinStats { record: workflow_templates::store::BuiltinStats { id: ga.into(), stats }, expect: Expect::Absent });
        let page = ok(block_on(a.discover(&DiscoverOptions::default())));
        let shown = page.items.iter().find(|t| t.id == ga).expect("the built-in is listed");
        assert_eq!((shown.rating, shown.usage_count), (None, 0), "shown without the bad statistics");
        let top = ok(block_on(a.popular_by_category(3)));
        assert!(top["general"].iter().all(|t| t.usage_count < 1 << 53));
        assert!(fx.take_skipped().contains(&ga.to_string()));
        assert_eq!(ok(block_on(b.get(ga))).rating, None);
        // The next recorded use replaces the bad row with what was counted.
        let used = ok(block_on(b.record_usage(ga, &workflow_templates::catalog::UsageRun { success: true, response_time_ms: 5, tokens: 1, cost: 0.0 })));
        assert_eq!(used.usage_count, 1);
        assert_eq!(ok(block_on(a.get(ga))).usage_count, 1);
    }
}
