//! Native tests of statistics, timestamps and what import may bring in (issue 10, items 1-4
//! and 7), over the in-memory store, with the shared harness of tests/support (a frozen clock:
//! timestamps are exactly what the test set).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::{UsageRun, WriteOptions};
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::{format_ms, LATEST_ACCEPTED_MS, MAX_MS};
use workflow_templates::store::Store;
use workflow_templates::WorkflowTemplate;

const LAST: &str = "9999-12-31T23:59:59.999Z";
const LAST_ACCEPTED: &str = "9998-12-31T23:59:59.999Z";

fn run(success: bool, response_time_ms: u64) -> UsageRun {
    UsageRun { success, response_time_ms, tokens: 0, cost: 0.0 }
}

/// Rewrites template `i` of a bundle with `f` and recomputes its hash.
fn rewrite(bundle: &mut Value, i: usize, f: impl FnOnce(&mut WorkflowTemplate)) {
    let mut t: WorkflowTemplate = serde_json::from_value(bundle["workflow_templates"][i].clone()).unwrap();
    f(&mut t);
    t.config_hash = config_hash(&t.config());
    bundle["workflow_templates"][i] = t.to_value();
}

// ---- item 1: timestamps a later edit could not move forward ---------------------------------

#[test]
fn import_refuses_every_timestamp_past_the_entry_bound() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Mine", json!({}));
    ok(block_on(c.rate(&t.id, 3.0)));
    ok(block_on(c.record_usage(GENERAL_ASSISTANT, &run(true, 5))));
    ok(block_on(c.create_spec(json!({ "name": "Spec", "workflow_type": "plain" }))));
    let bundle = ok(block_on(c.export_all()));
    let target = Fx::frozen();
    let tc = target.cat(U1);
    let before = target.snapshot();

    let cases: Vec<(&str, Box<dyn Fn(&mut Value)>)> = vec![
        ("workflow_templates[0].updated_at", Box::new(|b| rewrite(b, 0, |t| t.updated_at = LAST.into()))),
        ("workflow_templates[0].updated_at", Box::new(|b| rewrite(b, 0, |t| t.updated_at = "9999-01-01T00:00:00.000Z".into()))),
        ("workflow_templates[0].created_at", Box::new(|b| rewrite(b, 0, |t| { t.created_at = LAST.into(); t.updated_at = LAST.into() }))),
        ("workflow_templates[0].last_used_at", Box::new(|b| rewrite(b, 0, |t| t.last_used_at = Some(LAST.into())))),
        ("template_specs[0].updated_at", Box::new(|b| b["template_specs"][0]["updated_at"] = json!(LAST))),
        ("template_specs[0].last_used_at", Box::new(|b| b["template_specs"][0]["last_used_at"] = json!(LAST))),
        ("ratings[0].updated_at", Box::new(|b| b["ratings"][0]["updated_at"] = json!(LAST))),
        ("builtin_stats[0].last_used_at", Box::new(|b| b["builtin_stats"][0]["last_used_at"] = json!(LAST))),
        ("exported_at", Box::new(|b| b["exported_at"] = json!(LAST))),
        // An offset that moves the instant past the bound counts in UTC.
        ("workflow_templates[0].updated_at", Box::new(|b| rewrite(b, 0, |t| t.updated_at = "9998-12-31T23:59:59.999-00:01".into()))),
    ];
    for (field, f) in cases {
        let mut bad = bundle.clone();
        f(&mut bad);
        let e = err(block_on(tc.import_all(bad)));
        let v = violations(&e);
        assert!(v.iter().any(|(fl, code)| fl == field && code == "OUT_OF_RANGE"), "{field}: {v:?}");
        assert_eq!(target.snapshot(), before, "{field}: nothing may be written");
    }
    // exported_at must be a timestamp when present.
    let mut bad = bundle.clone();
    bad["exported_at"] = json!("yesterday");
    assert!(violations(&err(block_on(tc.import_all(bad)))).iter().any(|(f, c)| f == "exported_at" && c == "INVALID_TIMESTAMP"));

    // At the bound itself, the record enters, and the next edit still moves it forward.
    let mut fine = bundle.clone();
    rewrite(&mut fine, 0, |t| t.updated_at = LAST_ACCEPTED.into());
    ok(block_on(tc.import_all(fine)));
    let edited = ok(block_on(tc.update(&t.id, json!({ "description": "later" }), WriteOptions::default())));
    assert_eq!(edited.updated_at, "9999-01-01T00:00:00.000Z");
}

#[test]
fn an_edit_that_cannot_move_updated_at_forward_is_a_coded_error_and_writes_nothing() {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let v1 = create(&c1, "Edge", json!({ "is_public": true }));
    fx.tick();
    let v2 = ok(block_on(c1.new_version(&v1.id, json!({}), None, WriteOptions::default())));
    // A row at the last representable instant (written by another adapter, or an old import).
    for id in [&v1.id, &v2.id] {
        let mut r = fx.stored(id).unwrap().record;
        r.updated_at = LAST.into();
        fx.plant(r);
    }
    let before = fx.snapshot();
    for e in [
        err(block_on(c1.update(&v2.id, json!({ "description": "x" }), WriteOptions::default()))),
        err(block_on(c1.update(&v2.id, json!({ "name": "Renamed" }), WriteOptions::default()))),
        err(block_on(c1.new_version(&v2.id, json!({}), None, WriteOptions::default()))),
    ] {
        assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
        assert!(!e.to_string().contains("+10000"), "{e}");
    }
    assert_eq!(fx.snapshot(), before);
    // Reads, lists and everyone else's requests still work; the owner can still delete (the
    // promoted older version keeps its timestamp).
    assert_eq!(ok(block_on(c2.get(&v2.id))).updated_at, LAST);
    let opts = ok(workflow_templates::catalog::DiscoverOptions::from_value(&json!({ "sort": "recent" })));
    let page = ok(block_on(c2.discover(&opts)));
    assert_eq!(page.items[0].id, v2.id);
    ok(block_on(c1.export_all()));
    ok(block_on(c1.delete(&v2.id)));
    let promoted = ok(block_on(c1.get(&v1.id)));
    assert!(promoted.is_latest);
    assert_eq!(promoted.updated_at, LAST);
}

#[test]
fn a_clock_outside_the_range_never_writes_an_unreadable_timestamp() {
    for ms in [MAX_MS + 1, 253_402_300_800_000 + 86_400_000 * 200, i64::MAX, i64::MIN] {
        let fx = Fx::frozen();
        fx.clock.set(ms);
        let c = fx.cat(U1);
        let t = create(&c, "Clock", json!({}));
        let expected = if ms > 0 { LAST_ACCEPTED.to_string() } else { format_ms(i64::MIN) };
        assert_eq!(t.created_at, expected, "clock {ms}");
        assert_eq!(ok(block_on(c.get(&t.id))), t, "clock {ms}");
        let e = ok(block_on(c.update(&t.id, json!({ "description": "x" }), WriteOptions::default())));
        assert!(e.updated_at > t.updated_at && e.updated_at.len() == 24, "{}", e.updated_at);
        ok(block_on(c.record_usage(&t.id, &run(true, 1))));
        ok(block_on(c.export_all()));
    }
    assert_eq!(format_ms(LATEST_ACCEPTED_MS), LAST_ACCEPTED);
}

// ---- item 2: counters and totals never pass 2^53-1 ------------------------------------------

const MAX: u64 = (1 << 53) - 1;

fn discover_ids(c: &Cat, sort: &str) -> Vec<String> {
    let opts = ok(workflow_templates::catalog::DiscoverOptions::from_value(&json!({ "sort": sort, "limit": 100 })));
    ok(block_on(c.discover(&opts))).items.into_iter().map(|t| t.id).collect()
}

#[test]
fn a_rating_count_at_the_bound_never_turns_a_read_into_integrity() {
    let fx = Fx::frozen();
    let (c2, c3) = (fx.cat(U2), fx.cat(U3));
    let r = create(&c2, "Maxed", json!({ "is_public": true }));
    let mut planted = fx.stored(&r.id).unwrap().record;
    (planted.rating, planted.rating_count) = (Some(5.0), MAX);
    fx.plant(planted);
    let after = ok(block_on(c3.rate(&r.id, 4.0)));
    // The aggregate is what the stored ratings say (one rating), within bounds and readable.
    assert_eq!((after.rating, after.rating_count), (Some(4.0), 1));
    assert_eq!(ok(block_on(c3.get(&r.id))), after);
    assert!(discover_ids(&c3, "rating").contains(&r.id));
}

#[test]
fn imported_statistics_at_the_bound_are_read_listed_and_sorted_and_the_next_increment_is_refused() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Busy", json!({ "is_public": true }));
    let s = ok(block_on(c.create_spec(json!({ "name": "Spec", "workflow_type": "plain" }))));
    let mut bundle = ok(block_on(c.export_all()));
    rewrite(&mut bundle, 0, |t| {
        t.usage_count = MAX;
        t.total_tokens_used = MAX;
        t.total_cost = MAX as f64;
        t.success_rate = Some(1.0);
        t.avg_response_time_ms = Some(MAX);
        t.avg_tokens_per_use = Some(1.0);
    });
    bundle["template_specs"][0]["usage_count"] = json!(MAX);
    ok(block_on(c.import_all(bundle)));
    let other = fx.cat(U2);
    assert_eq!(ok(block_on(other.get(&t.id))).usage_count, MAX);
    assert_eq!(discover_ids(&other, "popular")[0], t.id);
    for sort in ["rating", "recent", "name"] {
        assert!(discover_ids(&other, sort).contains(&t.id), "{sort}");
    }
    let before = fx.snapshot();
    let e = err(block_on(other.record_usage(&t.id, &run(true, 1))));
    assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
    // A spec's usage counter has the same bound: instantiating refuses instead of losing a count.
    let e = err(block_on(c.instantiate_spec(&s.id, json!({ "name": "From spec" }))));
    assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
    assert_eq!(fx.snapshot(), before);
}

// ---- item 4 and the rating half of item 7: aggregates are what the stored ratings say -------

fn rating_row(template_id: &str, user_id: &str, stars: f64) -> Value {
    json!({ "format_version": 1, "ratings": [{ "template_id": template_id, "user_id": user_id, "stars": stars, "updated_at": "2027-01-01T00:00:00.000Z" }] })
}

#[test]
fn imported_ratings_are_folded_into_the_aggregate_whatever_the_order() {
    for shared in [false, true] {
        let fx = Fx::frozen();
        let cat = |u: &str| fx.cat(u).shared(shared);
        let (a, b, c) = (cat(U1), cat(U2), cat(U3));
        let p = create(&a, "P", json!({ "is_public": true }));
        ok(block_on(a.rate(&p.id, 1.0)));
        ok(block_on(c.rate(&p.id, 1.0)));
        let report = ok(block_on(b.import_all(rating_row(&p.id, U2, 0.0))));
        assert_eq!(report.ratings, 1);
        let t = ok(block_on(c.get(&p.id)));
        assert_eq!((t.rating, t.rating_count), (Some(2.0 / 3.0), 3), "shared {shared}");
        let t = ok(block_on(b.rate(&p.id, 5.0)));
        assert_eq!((t.rating, t.rating_count), (Some(7.0 / 3.0), 3), "shared {shared}");
        // The other order: rate, then import a row that replaces the rating.
        let t = ok(block_on(b.import_all(rating_row(&p.id.to_lowercase(), U2, 4.0))));
        assert_eq!(t.ratings, 1);
        let t = ok(block_on(a.get(&p.id)));
        assert_eq!((t.rating, t.rating_count), (Some(2.0), 3), "shared {shared}");
        // Built-ins too.
        ok(block_on(a.rate(GENERAL_ASSISTANT, 2.0)));
        ok(block_on(b.import_all(rating_row(GENERAL_ASSISTANT, U2, 5.0))));
        let g = ok(block_on(c.get(GENERAL_ASSISTANT)));
        assert_eq!((g.rating, g.rating_count), (Some(3.5), 2), "shared {shared}");
    }
}

#[test]
fn import_refuses_rating_rows_it_may_not_write() {
    let fx = Fx::frozen();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let private = create(&a, "Hidden", json!({}));
    let public = create(&a, "Shown", json!({ "is_public": true }));
    let before = fx.snapshot();
    let cases = [
        (rating_row(&private.id, U2, 3.0), "ratings[0].template_id", "NOT_FOUND"),
        (rating_row(&public.id, U1, 3.0), "ratings[0].user_id", "FORBIDDEN"),
        (rating_row(&public.id, U2, 5.5), "ratings[0].stars", "OUT_OF_RANGE"),
        (rating_row(&public.id, U2, -1.0), "ratings[0].stars", "OUT_OF_RANGE"),
        (rating_row("not-an-id", U2, 3.0), "ratings[0].template_id", "INVALID_ID"),
    ];
    for (bundle, field, code) in cases {
        let v = violations(&err(block_on(b.import_all(bundle.clone()))));
        assert!(v.iter().any(|(f, c)| f == field && c == code), "{bundle}: {v:?}");
        assert_eq!(fx.snapshot(), before);
    }
    let mut twice = rating_row(&public.id, U2, 3.0);
    let row = twice["ratings"][0].clone();
    twice["ratings"].as_array_mut().unwrap().push(row);
    let v = violations(&err(block_on(b.import_all(twice))));
    assert!(v.iter().any(|(f, c)| f == "ratings[1].template_id" && c == "DUPLICATE"), "{v:?}");
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn rating_means_are_exact_whatever_the_order_of_rates() {
    let users: Vec<String> = (0..7).map(|i| format!("01ARZ3NDEKTSV4RRFFQ69G5FB{i}")).collect();
    let fx = Fx::frozen();
    let owner = fx.cat(U1);
    let t = create(&owner, "Seven", json!({ "is_public": true }));
    for (i, u) in users.iter().enumerate() {
        ok(block_on(fx.cat(u).rate(&t.id, [0.5, 0.5, 0.5, 4.5, 4.5, 4.5, 4.5][i])));
    }
    for u in &users {
        ok(block_on(fx.cat(u).rate(&t.id, 4.0)));
    }
    let r = ok(block_on(owner.get(&t.id)));
    assert_eq!((r.rating, r.rating_count), (Some(4.0), 7));
    // It sorts level with a template rated exactly 4 (then by rating_count, name).
    let four = create(&owner, "Four", json!({ "is_public": true }));
    ok(block_on(fx.cat(U2).rate(&four.id, 4.0)));
    assert_eq!(ok(block_on(owner.get(&four.id))).rating, r.rating);
}

// ---- item 3: on a shared catalog, import never sets what other users see ---------------------

/// Statistics an attacker would like others to see.
fn forge(t: &mut WorkflowTemplate) {
    t.usage_count = 1_000_000;
    t.success_rate = Some(1.0);
    t.avg_response_time_ms = Some(1);
    t.last_used_at = Some("2027-01-01T00:00:00.000Z".into());
    t.total_tokens_used = 5;
    t.total_cost = 0.0;
    t.avg_tokens_per_use = Some(0.0);
    (t.rating, t.rating_count) = (Some(5.0), 1000);
}

#[test]
fn a_shared_catalog_takes_no_statistics_from_an_import() {
    let fx = Fx::frozen();
    let (a, b, c) = (fx.cat(U1).shared(true), fx.cat(U2).shared(true), fx.cat(U3).shared(true));
    let honest = create(&a, "Honest", json!({ "is_public": true }));
    ok(block_on(c.record_usage(&honest.id, &run(true, 10))));
    let existing = create(&b, "Existing", json!({ "is_public": true }));
    ok(block_on(c.record_usage(&existing.id, &run(false, 30))));
    ok(block_on(c.rate(&existing.id, 2.0)));
    let counted = ok(block_on(c.get(&existing.id)));
    ok(block_on(c.record_usage(GENERAL_ASSISTANT, &run(true, 10))));
    let builtin_before = ok(block_on(c.get(GENERAL_ASSISTANT)));

    // B's bundle: its stored public template, a new public one, a new private one, all forged,
    // and built-in statistics.
    let mut bundle = ok(block_on(b.export_all()));
    let mut fresh_public = existing.clone();
    fresh_public.id = "01ARZ3NDEKTSV4RRFFQ69G5FC1".into();
    fresh_public.name = "Fresh public".into();
    let mut fresh_private = fresh_public.clone();
    fresh_private.id = "01ARZ3NDEKTSV4RRFFQ69G5FC2".into();
    fresh_private.name = "Fresh private".into();
    fresh_private.is_public = false;
    for t in [fresh_public, fresh_private] {
        bundle["workflow_templates"].as_array_mut().unwrap().push(t.to_value());
    }
    for i in 0..3 {
        rewrite(&mut bundle, i, forge);
    }
    let mut stats = serde_json::to_value(builtin_before.stats()).unwrap();
    stats["id"] = json!(GENERAL_ASSISTANT);
    stats["usage_count"] = json!(1_000_000);
    bundle["builtin_stats"] = json!([stats]);
    let report = ok(block_on(b.import_all(bundle)));
    assert_eq!((report.templates, report.builtin_stats, report.builtin_stats_ignored), (3, 0, 1));

    // What others see is what this catalog counted.
    let e = ok(block_on(c.get(&existing.id)));
    assert_eq!(e.stats(), counted.stats());
    let p = ok(block_on(c.get("01ARZ3NDEKTSV4RRFFQ69G5FC1")));
    assert_eq!(p.stats(), workflow_templates::model::UsageStats::default());
    assert_eq!(ok(block_on(c.get(GENERAL_ASSISTANT))).stats(), builtin_before.stats());
    let opts = ok(workflow_templates::catalog::DiscoverOptions::from_value(&json!({ "sort": "popular", "limit": 100 })));
    let page = ok(block_on(c.discover(&opts)));
    assert!(page.items.iter().all(|t| t.usage_count <= 1 && t.rating_count <= 1), "a forged count reached other users");
    // Publishing the private one later launders nothing: it never held the forged numbers.
    let published = ok(block_on(b.update("01ARZ3NDEKTSV4RRFFQ69G5FC2", json!({ "is_public": true }), WriteOptions::default())));
    assert_eq!(published.stats(), workflow_templates::model::UsageStats::default());
    assert_eq!(ok(block_on(c.get(&honest.id))).usage_count, 1);
}

#[test]
fn a_private_catalog_restores_usage_statistics_but_ratings_follow_the_rating_rows() {
    let fx = Fx::frozen();
    let b = fx.cat(U2);
    let t = create(&b, "Restored", json!({}));
    let mut bundle = ok(block_on(b.export_all()));
    rewrite(&mut bundle, 0, forge);
    ok(block_on(b.import_all(bundle)));
    let got = ok(block_on(b.get(&t.id)));
    assert_eq!((got.usage_count, got.success_rate, got.last_used_at.as_deref()), (1_000_000, Some(1.0), Some("2027-01-01T00:00:00.000Z")));
    assert_eq!((got.rating, got.rating_count), (None, 0), "no rating row was stored");
}

#[test]
fn a_shared_catalog_refuses_imported_records_dated_in_the_future() {
    let fx = Fx::frozen();
    let b = fx.cat(U2).shared(true);
    create(&b, "Dated", json!({ "is_public": true }));
    let mut bundle = ok(block_on(b.export_all()));
    rewrite(&mut bundle, 0, |t| t.updated_at = format_ms(T0 + 6 * 60 * 1000));
    let v = violations(&err(block_on(b.import_all(bundle.clone()))));
    assert!(v.iter().any(|(f, c)| f == "workflow_templates[0].updated_at" && c == "OUT_OF_RANGE"), "{v:?}");
    // Within the allowed clock skew, and on a private catalog, it is a restore.
    rewrite(&mut bundle, 0, |t| t.updated_at = format_ms(T0 + 4 * 60 * 1000));
    ok(block_on(b.import_all(bundle.clone())));
    rewrite(&mut bundle, 0, |t| t.updated_at = format_ms(T0 + 86_400_000));
    ok(block_on(fx.cat(U2).import_all(bundle)));
}

// ---- item 7: every mean is the mean of what was recorded ------------------------------------

#[test]
fn usage_means_come_from_exact_sums_not_from_the_rounded_mean() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Timed", json!({}));
    ok(block_on(c.record_usage(&t.id, &run(true, 1))));
    let mut last = None;
    for i in 0..99 {
        last = Some(ok(block_on(c.record_usage(&t.id, &run(i % 3 != 0, 100)))));
    }
    let r = last.unwrap();
    // (1 + 99 * 100) / 100 = 99.01 -> 99; 67 successes of 100.
    assert_eq!((r.usage_count, r.avg_response_time_ms, r.success_rate), (100, Some(99), Some(0.67)));
    assert_eq!(ok(block_on(c.get(&t.id))), r);
    // Built-ins keep their sums the same way.
    ok(block_on(c.record_usage(GENERAL_ASSISTANT, &run(true, 1))));
    for _ in 0..99 {
        ok(block_on(c.record_usage(GENERAL_ASSISTANT, &run(true, 100))));
    }
    assert_eq!(ok(block_on(c.get(GENERAL_ASSISTANT))).avg_response_time_ms, Some(99));
}

#[test]
fn a_deleted_or_restored_template_leaves_no_stale_sums() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Gone", json!({}));
    ok(block_on(c.record_usage(&t.id, &run(true, 10))));
    assert!(block_on(fx.mem.get_usage_totals(&t.id)).unwrap().is_some());
    let bundle = ok(block_on(c.export_all()));
    ok(block_on(c.record_usage(&t.id, &run(false, 30))));
    // Restoring the backup brings back one use of 10 ms; the next use counts from there.
    ok(block_on(c.import_all(bundle)));
    let r = ok(block_on(c.record_usage(&t.id, &run(true, 40))));
    assert_eq!((r.usage_count, r.avg_response_time_ms, r.success_rate), (2, Some(25), Some(1.0)));
    ok(block_on(c.delete(&t.id)));
    assert!(block_on(fx.mem.get_usage_totals(&t.id)).unwrap().is_none());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random runs and rates by several users, in random order: every mean equals the mean
        /// of what was recorded (success_rate and the rating as exactly rounded quotients, the
        /// average response time rounded half up), whatever the order and number of writes.
        #[test]
        fn means_equal_the_exact_means_of_what_was_recorded(
            ops in proptest::collection::vec((0usize..4, any::<bool>(), 0u64..5_000, 0u8..=10, any::<bool>()), 1..60)
        ) {
            let users = [U1, U2, U3, "01ARZ3NDEKTSV4RRFFQ69G5FB9"];
            let fx = Fx::frozen();
            let owner = fx.cat(U1);
            let t = create(&owner, "Prop", json!({ "is_public": true }));
            let (mut runs, mut stars): (Vec<(bool, u64)>, std::collections::BTreeMap<usize, f64>) = (Vec::new(), Default::default());
            for (u, success, rt, half_stars, is_rate) in ops {
                let c = fx.cat(users[u]);
                if is_rate {
                    ok(block_on(c.rate(&t.id, f64::from(half_stars) / 2.0)));
                    stars.insert(u, f64::from(half_stars) / 2.0);
                } else {
                    ok(block_on(c.record_usage(&t.id, &run(success, rt))));
                    runs.push((success, rt));
                }
            }
            let got = ok(block_on(owner.get(&t.id)));
            let n = runs.len() as u64;
            prop_assert_eq!(got.usage_count, n);
            if n > 0 {
                let ok_runs = runs.iter().filter(|r| r.0).count() as f64;
                let total: u64 = runs.iter().map(|r| r.1).sum();
                prop_assert_eq!(got.success_rate, Some(ok_runs / n as f64));
                prop_assert_eq!(got.avg_response_time_ms, Some((2 * total + n) / (2 * n)));
            }
            let sum: f64 = stars.values().sum(); // halves: exact in binary
            let want = if stars.is_empty() { None } else { Some(sum / stars.len() as f64) };
            prop_assert_eq!((got.rating, got.rating_count), (want, stars.len() as u64));
        }
    }
}
