//! Writes whose commit lost a race (`src/catalog/retry.rs`): every read-modify-write runs again
//! on fresh reads, however the store words its CONFLICT (a JS adapter may say anything in
//! `expected`); an `ifMatch` mismatch is never retried; and each kind of write gives up after
//! its named number of attempts (16 for edits, 64 for statistics) with CONFLICT.

mod support;

use serde_json::json;
use support::*;
use workflow_templates::catalog::{UsageRun, WriteOptions};
use workflow_templates::Error;

/// A lost race as an adapter other than the built-in stores may report it: not `rev N`.
fn adapter_conflict() -> Error {
    Error::Conflict { id: String::new(), expected: "the revision read".into(), actual: "a newer revision".into() }
}

const RUN: UsageRun = UsageRun { success: true, response_time_ms: 5, tokens: 1, cost: 0.0 };

/// Runs `op` with its first commit refused by `adapter_conflict` and returns the result.
fn after_one_lost_race<T: std::fmt::Debug>(c: &Cat, op: impl FnOnce() -> workflow_templates::Result<T>) -> T {
    c.store().refuse_commits(1, adapter_conflict);
    let before = c.store().commits.get();
    let out = ok(op());
    assert_eq!(c.store().commits.get() - before, 2, "one refused commit, then one that went through");
    out
}

#[test]
fn every_write_retries_a_commit_that_lost_a_race_however_the_store_words_it() {
    let fx = Fx::new();
    let c = fx.cat(U1);
    let t = create(&c, "Raced", json!({}));
    let t = after_one_lost_race(&c, || block_on(c.update(&t.id, json!({"description": "after a race"}), WriteOptions::default())));
    assert_eq!(t.description, "after a race");
    let v2 = after_one_lost_race(&c, || block_on(c.new_version(&t.id, json!({}), None, WriteOptions::default())));
    assert_eq!(v2.version, 2);
    after_one_lost_race(&c, || block_on(c.set_label(&v2.id, "prod", WriteOptions::default())));
    let used = after_one_lost_race(&c, || block_on(c.record_usage(&v2.id, &RUN)));
    assert_eq!(used.usage_count, 1);
    let rated = after_one_lost_race(&c, || block_on(c.rate(&v2.id, 4.0)));
    assert_eq!(rated.rating_count, 1);
    let s = ok(block_on(c.create_spec(json!({"name": "Raced spec", "workflow_type": "plain"}))));
    let s = after_one_lost_race(&c, || block_on(c.update_spec(&s.id, json!({"description": "after a race"}), WriteOptions::default())));
    assert_eq!(s.description, "after a race");
    after_one_lost_race(&c, || block_on(c.delete_spec(&s.id)));
    let other = create(&c, "Deleted after a race", json!({}));
    after_one_lost_race(&c, || block_on(c.delete(&other.id)));
    assert!(fx.stored(&other.id).is_none());
}

#[test]
fn an_if_match_mismatch_is_answered_at_once_not_retried() {
    let fx = Fx::new();
    let c = fx.cat(U1);
    let t = create(&c, "Pinned", json!({}));
    let stale = t.updated_at.clone();
    ok(block_on(c.update(&t.id, json!({"description": "moved on"}), WriteOptions::default())));
    let before = c.store().commits.get();
    let e = err(block_on(c.update(&t.id, json!({"description": "stale"}), WriteOptions { if_match: Some(stale) })));
    assert!(matches!(&e, Error::Conflict { expected, .. } if *expected == t.updated_at), "{e:?}");
    assert_eq!(c.store().commits.get(), before, "a stale ifMatch commits nothing");
}

/// How many commits `op` asks for when every one of them loses a race, and its error.
fn attempts_until_given_up<T: std::fmt::Debug>(c: &Cat, op: impl FnOnce() -> workflow_templates::Result<T>) -> (usize, Error) {
    c.store().refuse_commits(1000, adapter_conflict);
    let before = c.store().commits.get();
    let e = err(op());
    let n = c.store().commits.get() - before;
    c.store().refusals.borrow_mut().clear();
    (n, e)
}

#[test]
fn a_write_that_loses_every_race_gives_up_with_conflict_after_its_named_attempts() {
    let fx = Fx::new();
    let c = fx.cat(U1);
    let t = create(&c, "Contended", json!({}));
    let busy = |e: &Error| matches!(e, Error::Conflict { expected, actual, .. } if expected == "a quiet moment" && actual == "too many concurrent writers");
    for (what, (n, e)) in [
        ("update", attempts_until_given_up(&c, || block_on(c.update(&t.id, json!({"description": "x"}), WriteOptions::default())).map(|_| ()))),
        ("set_label", attempts_until_given_up(&c, || block_on(c.set_label(&t.id, "prod", WriteOptions::default())).map(|_| ()))),
        ("delete", attempts_until_given_up(&c, || block_on(c.delete(&t.id)))),
    ] {
        assert_eq!(n, 16, "{what}: edits try 16 times");
        assert!(busy(&e), "{what}: {e:?}");
    }
    for (what, (n, e)) in [
        ("record_usage", attempts_until_given_up(&c, || block_on(c.record_usage(&t.id, &RUN)).map(|_| ()))),
        ("rate", attempts_until_given_up(&c, || block_on(c.rate(&t.id, 3.0)).map(|_| ()))),
    ] {
        assert_eq!(n, 64, "{what}: statistics writes try 64 times");
        assert!(busy(&e), "{what}: {e:?}");
    }
    assert_eq!(ok(block_on(c.get(&t.id))).usage_count, 0, "nothing was written");
}

#[test]
fn the_environment_is_told_of_each_lost_race_before_the_next_attempt_and_not_after_the_last() {
    let fx = Fx::new();
    let c = fx.cat(U1);
    let t = create(&c, "Told", json!({}));
    c.store().refuse_commits(2, adapter_conflict);
    ok(block_on(c.record_usage(&t.id, &RUN)));
    assert_eq!(*fx.lost_races.borrow(), vec![1, 2], "two lost races, each followed by an attempt");
    fx.lost_races.borrow_mut().clear();
    let (n, _) = attempts_until_given_up(&c, || block_on(c.update(&t.id, json!({"description": "x"}), WriteOptions::default())).map(|_| ()));
    assert_eq!(n, 16);
    assert_eq!(*fx.lost_races.borrow(), (1..16).collect::<Vec<_>>(), "no wait after the last attempt: the answer goes out at once");
}
