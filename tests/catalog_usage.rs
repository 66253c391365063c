//! Usage statistics and ratings (SPEC section 9), and writers that race each other (two tabs, two users, a write between another's read and commit).
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeSet;
use std::rc::Rc;

use serde_json::json;
use support::*;
use workflow_templates::builtin;
use workflow_templates::catalog::UsageRun;
use workflow_templates::model::time::format_ms;
use workflow_templates::model::MAX_SAFE_INTEGER;
use workflow_templates::store::Store;

// ---- usage and ratings ---------------------------------------------------------------------

#[test]
fn record_usage_counts_and_averages() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Used", json!({}));
    fx.tick();
    ok(block_on(c.record_usage(&t.id, &run(true, 100, 10, 0.5))));
    fx.tick();
    ok(block_on(c.record_usage(&t.id, &run(false, 300, 20, 0.25))));
    fx.tick();
    let r = ok(block_on(c.record_usage(&t.id, &run(true, 200, 30, 0.25))));
    assert_eq!(r.usage_count, 3);
    assert!((r.success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-12, "{:?}", r.success_rate);
    assert_eq!(r.avg_response_time_ms, Some(200));
    assert_eq!(r.total_tokens_used, 60);
    assert_eq!(r.avg_tokens_per_use, Some(20.0));
    assert_eq!(r.total_cost, 1.0);
    assert_eq!(r.last_used_at.as_deref(), Some(format_ms(fx.clock.get()).as_str()));
    // Statistics are not edits: updated_at and the configuration stay put.
    assert_eq!(r.updated_at, t.updated_at);
    assert_eq!(r.config_hash, t.config_hash);
    assert_eq!(get(&c, &t.id), r);
}

#[test]
fn usage_of_a_builtin_persists_beside_it() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    ok(block_on(c1.record_usage(CODE_ASSISTANT, &run(true, 100, 5, 0.1))));
    ok(block_on(c1.record_usage(CODE_ASSISTANT, &run(false, 200, 5, 0.1))));
    ok(block_on(c2.record_usage(&CODE_ASSISTANT.to_lowercase(), &run(true, 300, 5, 0.1))));
    let g = get(&c3, CODE_ASSISTANT);
    assert_eq!(g.usage_count, 3);
    assert_eq!(g.total_tokens_used, 15);
    assert_eq!(g.avg_response_time_ms, Some(200));
    assert!(g.is_builtin);
    assert_eq!(g.config_hash, builtin::get(CODE_ASSISTANT).unwrap().config_hash);
    // The compiled-in record is untouched; the statistics live in storage.
    assert_eq!(builtin::get(CODE_ASSISTANT).unwrap().usage_count, 0);
    assert_eq!(block_on(fx.mem.get_builtin_stats(CODE_ASSISTANT)).unwrap().unwrap().record.stats.usage_count, 3);
    assert!(fx.snapshot().templates.is_empty(), "built-ins are never written as templates");
    // Discovery shows them.
    let page = discover(&c3, json!({ "text": "code assistant" }));
    assert_eq!(ids(&page.items), vec![CODE_ASSISTANT.to_string()]);
    assert_eq!(page.items[0].usage_count, 3);
    // Ratings too.
    ok(block_on(c1.rate(CODE_ASSISTANT, 5.0)));
    ok(block_on(c2.rate(CODE_ASSISTANT, 4.0)));
    let g = get(&c3, CODE_ASSISTANT);
    assert_eq!((g.rating, g.rating_count, g.usage_count), (Some(4.5), 2, 3));
}

#[test]
fn invalid_usage_runs_are_refused() {
    let e = err(UsageRun::from_value(&json!({ "success": "yes", "responseTimeMs": -1, "tokens": 1.5, "cost": -2, "extra": 1 })));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    let fields: BTreeSet<String> = violations(&e).into_iter().map(|(f, _)| f).collect();
    for f in ["success", "responseTimeMs", "tokens", "cost", "extra"] {
        assert!(fields.contains(f), "{f}: {fields:?}");
    }
    assert_eq!(err(UsageRun::from_value(&json!({}))).code(), "VALIDATION_FAILED");
    assert_eq!(err(UsageRun::from_value(&json!([true]))).code(), "VALIDATION_FAILED");
    assert_eq!(err(UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 9007199254740992u64 }))).code(), "VALIDATION_FAILED");
    let r = ok(UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 5 })));
    assert_eq!(r, run(true, 5, 0, 0.0));
    let r = ok(UsageRun::from_value(&json!({ "success": false, "responseTimeMs": 5.0, "tokens": 7, "cost": 0.5 })));
    assert_eq!(r, run(false, 5, 7, 0.5));

    // Counters never pass 2^53-1; a refused run changes nothing.
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Big", json!({}));
    ok(block_on(c.record_usage(&t.id, &run(true, 1, MAX_SAFE_INTEGER, 0.0))));
    let before = fx.stored(&t.id).unwrap();
    assert_eq!(err(block_on(c.record_usage(&t.id, &run(true, 1, 1, 0.0)))).code(), "INVALID_ARGUMENT");
    assert_eq!(fx.stored(&t.id).unwrap(), before);
}

/// Per-run bounds (README, "Usage"): a day of response time, 10^8 tokens, a cost of 10^6. Above
/// is OUT_OF_RANGE at the field and writes nothing; at the bound the run counts.
#[test]
fn per_run_bounds_refuse_above_and_count_at_the_bound() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Bounded", json!({}));
    for (field, over, at) in [
        ("responseTimeMs", json!(86_400_001u64), json!(86_400_000u64)),
        ("tokens", json!(100_000_001u64), json!(100_000_000u64)),
        ("cost", json!(1_000_000.5), json!(1_000_000)),
    ] {
        let mut run = json!({ "success": true, "responseTimeMs": 1 });
        run[field] = over;
        let e = err(UsageRun::from_value(&run));
        assert_eq!(violations(&e), vec![(field.to_string(), "OUT_OF_RANGE".to_string())], "{field}");
        run[field] = at;
        let used = ok(block_on(c.record_usage(&t.id, &ok(UsageRun::from_value(&run)))));
        assert!(used.usage_count >= 1, "{field}: a run at the bound counts");
    }
    // A cost whose sum total_cost could not hold is one such run: refused, nothing written.
    let before = fx.stored(&t.id).unwrap();
    assert_eq!(err(UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 1, "cost": 1e16 }))).code(), "VALIDATION_FAILED");
    assert_eq!(fx.stored(&t.id).unwrap(), before);
}

#[test]
fn ratings_one_per_user() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    let t = create(&c1, "Rated", json!({ "is_public": true }));
    assert_eq!((t.rating, t.rating_count), (None, 0));
    let r = ok(block_on(c1.rate(&t.id, 4.0)));
    assert_eq!((r.rating, r.rating_count), (Some(4.0), 1));
    let r = ok(block_on(c1.rate(&t.id, 2.0)));
    assert_eq!((r.rating, r.rating_count), (Some(2.0), 1), "a second rating replaces the first");
    let r = ok(block_on(c2.rate(&t.id, 5.0)));
    assert_eq!((r.rating, r.rating_count), (Some(3.5), 2));
    assert_eq!(get(&c3, &t.id).rating, Some(3.5));
    assert_eq!(block_on(fx.mem.get_rating(&t.id, U1)).unwrap().unwrap().record.stars, 2.0);
    assert_eq!(get(&c1, &t.id).updated_at, t.updated_at, "ratings are not edits");

    for bad in [5.01, -0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = err(block_on(c3.rate(&t.id, bad)));
        assert_eq!(e.code(), "VALIDATION_FAILED", "{bad}");
    }
    assert_eq!(get(&c3, &t.id).rating_count, 2);
    assert!(block_on(fx.mem.get_rating(&t.id, U3)).unwrap().is_none());

    // Zero stars is a rating: rating is null only when there are none.
    let z = create(&c1, "Zero", json!({}));
    let r = ok(block_on(c1.rate(&z.id, 0.0)));
    assert_eq!((r.rating, r.rating_count), (Some(0.0), 1));
    assert_eq!(get(&c1, &z.id).rating, Some(0.0));
    let r = ok(block_on(c1.rate(&z.id, 0.0)));
    assert_eq!((r.rating, r.rating_count), (Some(0.0), 1));
}

// ---- concurrency ---------------------------------------------------------------------------

#[test]
fn two_tabs_stale_if_match_conflicts() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = fx.cat(U1);
    let t = create(&a, "Shared", json!({}));
    let copy_b = get(&b, &t.id);
    ok(block_on(a.update(&t.id, json!({ "description": "from A" }), if_match(&t.updated_at))));
    let e = err(block_on(b.update(&t.id, json!({ "description": "from B" }), if_match(&copy_b.updated_at))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(get(&a, &t.id).description, "from A");
    let e = err(block_on(b.new_version(&t.id, json!({}), None, if_match(&copy_b.updated_at))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(fx.latest_count(U1, "shared"), 1);
}

#[test]
fn a_write_that_lands_between_read_and_commit_is_not_overwritten() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U1));
    let t = create(&a, "Shared", json!({}));
    let (b2, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        ok(block_on(b2.update(&id, json!({ "description": "from B" }), no_opts())));
    });
    // Even without ifMatch, A's edit was made from a copy B has since replaced.
    let e = err(block_on(a.update(&t.id, json!({ "description": "from A" }), no_opts())));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(get(&a, &t.id).description, "from B");

    // Two tabs making a new version at once: one wins, one latest.
    let (b3, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        ok(block_on(b3.new_version(&id, json!({}), Some("B".into()), no_opts())));
    });
    assert_eq!(err(block_on(a.new_version(&t.id, json!({}), Some("A".into()), no_opts()))).code(), "CONFLICT");
    assert_eq!(fx.latest_count(U1, "shared"), 1);
    let vs = ok(block_on(a.versions(&t.id)));
    assert_eq!(vs.len(), 2);
    assert_eq!(vs[0].changelog.as_deref(), Some("B"));
}

#[test]
fn a_rating_that_lands_while_an_import_folds_ratings_is_never_lost() {
    // Issue 10 item 4: an import recomputes the aggregate of every template its rating rows
    // touch; a rating made meanwhile must fail the import's commit, not vanish from the count.
    let fx = Fx::frozen();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let c = Rc::new(fx.cat(U3));
    let p = create(&a, "Rated meanwhile", json!({ "is_public": true }));
    ok(block_on(a.rate(&p.id, 1.0)));
    let bundle = json!({ "format_version": 1, "ratings": [{ "template_id": p.id, "user_id": U2, "stars": 3.0, "updated_at": "2027-01-01T00:00:00.000Z" }] });
    let (c2, id) = (c.clone(), p.id.clone());
    b.store().before_next_commit(move || {
        ok(block_on(c2.rate(&id, 5.0)));
    });
    assert_eq!(err(block_on(b.import_all(bundle.clone()))).code(), "CONFLICT");
    let got = get(&a, &p.id);
    assert_eq!((got.rating, got.rating_count), (Some(3.0), 2));
    ok(block_on(b.import_all(bundle)));
    let got = get(&a, &p.id);
    assert_eq!((got.rating, got.rating_count), (Some(3.0), 3));
}

#[test]
fn concurrent_usage_from_two_users_loses_no_increment() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U2));
    let t = create(&a, "Popular", json!({ "is_public": true }));
    for target in [t.id.clone(), GENERAL_ASSISTANT.to_string()] {
        for i in 0..50u64 {
            // B records a use between A's read and A's commit: A's commit conflicts and retries.
            let (b2, id) = (b.clone(), target.clone());
            a.store().before_next_commit(move || {
                ok(block_on(b2.record_usage(&id, &run(i % 2 == 0, 100, i, 0.5))));
            });
            ok(block_on(a.record_usage(&target, &run(true, 300, 1000 + i, 0.25))));
            // And a plain alternation.
            ok(block_on(b.record_usage(&target, &run(false, 200, 1, 0.0))));
        }
        let g = get(&a, &target);
        assert_eq!(g.usage_count, 150, "{target}");
        let want_tokens: u64 = (0..50).sum::<u64>() + (0..50).map(|i| 1000 + i).sum::<u64>() + 50;
        assert_eq!(g.total_tokens_used, want_tokens);
        assert_eq!(g.total_cost, 50.0 * 0.5 + 50.0 * 0.25);
        assert_eq!(g.avg_response_time_ms, Some(200));
        // successes: 25 (B, even i) + 50 (A) of 150.
        assert!((g.success_rate.unwrap() - 0.5).abs() < 1e-12, "{:?}", g.success_rate);
    }
}

#[test]
fn an_edit_is_not_refused_because_a_use_was_recorded_meanwhile() {
    // Statistics do not move updated_at, so that "a usage recorded elsewhere must not invalidate
    // an editor's copy" (catalog/usage.rs). The edit below starts from the current copy (its
    // ifMatch token is still current when it commits); another user merely ran the template in
    // between. The edit must go through and keep that use.
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U2));
    let t = create(&a, "Hot", json!({ "is_public": true }));
    let (b2, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        use_once(&b2, &id);
    });
    let u = block_on(a.update(&t.id, json!({ "description": "edited" }), if_match(&t.updated_at)));
    let u = u.unwrap_or_else(|e| panic!("update failed with {} although only statistics moved: {e}", e.code()));
    assert_eq!(u.description, "edited");
    let now = get(&a, &t.id);
    assert_eq!((now.description.as_str(), now.usage_count), ("edited", 1), "the use recorded meanwhile is kept");

    // The same for newVersion.
    let (b3, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        use_once(&b3, &id);
    });
    let v2 = block_on(a.new_version(&t.id, json!({}), None, if_match(&now.updated_at)));
    let v2 = v2.unwrap_or_else(|e| panic!("newVersion failed with {} although only statistics moved: {e}", e.code()));
    assert_eq!(v2.version, 2);
    assert_eq!(get(&a, &t.id).usage_count, 2);
}

#[test]
fn concurrent_ratings_from_two_users_both_count() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U2));
    let t = create(&a, "Rated", json!({ "is_public": true }));
    let (b2, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        ok(block_on(b2.rate(&id, 1.0)));
    });
    let r = ok(block_on(a.rate(&t.id, 4.0)));
    assert_eq!((r.rating, r.rating_count), (Some(2.5), 2));
    assert_eq!(get(&b, &t.id).rating, Some(2.5));
    // The same on a built-in, first ratings on both sides (stats absent when both read).
    let (b3, id) = (b.clone(), CREATIVE_WRITER.to_string());
    a.store().before_next_commit(move || {
        ok(block_on(b3.rate(&id, 3.0)));
    });
    let r = ok(block_on(a.rate(CREATIVE_WRITER, 5.0)));
    assert_eq!((r.rating, r.rating_count), (Some(4.0), 2));
}


/// `my_rating`: the acting user's own rating row only (the replica's re-read of a rating change).
#[test]
fn my_rating_is_the_callers_own_row_only() {
    let fx = Fx::new();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let t = create(&b, "Rated by two", json!({ "is_public": true }));
    let private = create(&b, "Not for U1", json!({}));
    assert_eq!(err(block_on(a.my_rating(&t.id))).code(), "NOT_FOUND", "not rated yet");
    ok(block_on(b.rate(&t.id, 1.0)));
    assert_eq!(err(block_on(a.my_rating(&t.id))).code(), "NOT_FOUND", "another user's row is never read");
    ok(block_on(a.rate(&t.id, 4.0)));
    let mine = ok(block_on(a.my_rating(&t.id)));
    assert_eq!((mine.template_id.as_str(), mine.user_id.as_str(), mine.stars), (t.id.as_str(), U1, 4.0));
    assert_eq!(ok(block_on(b.my_rating(&t.id))).stars, 1.0);
    assert_eq!(err(block_on(a.my_rating(&private.id))).code(), "NOT_FOUND", "a template U1 may not read");
    assert_eq!(err(block_on(a.my_rating("not-an-id"))).code(), "INVALID_ARGUMENT");
}

/// A name in a message is quoted as a JSON string wherever the message is made (README
/// "Names in messages"): the recordUsage run and the import bundle as `validateTemplate` does.
#[test]
fn unknown_fields_are_quoted_as_json_everywhere() {
    let key = "a\u{1}b";
    let messages = |e: workflow_templates::Error| match e {
        workflow_templates::Error::ValidationFailed(v) => v.into_iter().filter(|x| x.code == "UNKNOWN_FIELD").map(|x| x.message).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let e = UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 1, key: 1 })).unwrap_err();
    assert_eq!(messages(e), ["unknown field \"a\\u0001b\""], "recordUsage run");
    let fx = Fx::frozen();
    let mut bundle = ok(block_on(fx.cat(U1).export_all()));
    bundle[key] = json!(1);
    assert_eq!(messages(err(block_on(fx.cat(U1).import_all(bundle)))), ["unknown bundle field \"a\\u0001b\""], "importAll");
    let t = workflow_templates::validate::validate_template(&json!({ key: 1 }), workflow_templates::validate::Options { complete: false, allow_builtin: false });
    assert!(t.iter().any(|x| x.message == "unknown field \"a\\u0001b\""), "validateTemplate: {t:?}");
}
