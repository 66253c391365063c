//! Native tests of statistics, timestamps and what import may bring in (issue 10, items 1-4
//! and 7), over the in-memory store. The harness is a small copy of tests/catalog.rs's: the
//! memory store never waits, so `block_on` polls once.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Value};
use workflow_templates::catalog::{Catalog, Env, UsageRun, WriteOptions};
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::{format_ms, LATEST_ACCEPTED_MS, MAX_MS};
use workflow_templates::store::memory::MemoryStore;
use workflow_templates::store::{Expect, SpecFilter, Store, Stored, TemplateFilter, Write};
use workflow_templates::{Error, Result, WorkflowTemplate};

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the in-memory catalog should never wait"),
    }
}

#[derive(Clone)]
struct Clock(Rc<Cell<i64>>);

impl Env for Clock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

type Cat = Catalog<Rc<MemoryStore>, Clock>;

/// 2027-01-15T08:00:00.000Z.
const T0: i64 = 1_800_000_000_000;
const U1: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
const U2: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAW";
const U3: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAX";
const GENERAL_ASSISTANT: &str = "00000000000000000000000001";
const LAST: &str = "9999-12-31T23:59:59.999Z";
const LAST_ACCEPTED: &str = "9998-12-31T23:59:59.999Z";

struct Fx {
    mem: Rc<MemoryStore>,
    clock: Clock,
}

impl Fx {
    fn new() -> Self {
        Fx { mem: Rc::new(MemoryStore::new()), clock: Clock(Rc::new(Cell::new(T0))) }
    }
    fn cat(&self, user: &str) -> Cat {
        Catalog::new(self.mem.clone(), self.clock.clone(), user).unwrap()
    }
    fn tick(&self) {
        self.clock.0.set(self.clock.0.get() + 1000);
    }
    fn stored(&self, id: &str) -> Stored<WorkflowTemplate> {
        block_on(self.mem.get_template(id)).unwrap().unwrap()
    }
    /// Writes a record straight into the store (what a JS adapter or a server row could hold).
    fn plant(&self, record: WorkflowTemplate) {
        let expect = block_on(self.mem.get_template(&record.id)).unwrap().map(|s| Expect::Rev(s.rev)).unwrap_or(Expect::Absent);
        block_on(self.mem.commit(vec![Write::PutTemplate { record, expect }])).unwrap();
    }
    fn snapshot(&self) -> Value {
        json!({
            "t": block_on(self.mem.find_templates(&TemplateFilter::default())).unwrap(),
            "s": block_on(self.mem.find_specs(&SpecFilter::default())).unwrap(),
            "r": block_on(self.mem.find_ratings(None, None)).unwrap(),
            "b": block_on(self.mem.all_builtin_stats()).unwrap(),
        })
    }
}

fn ok<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("unexpected error {}: {e}", e.code()))
}

fn err<T: std::fmt::Debug>(r: Result<T>) -> Error {
    r.expect_err("expected an error")
}

fn violations(e: &Error) -> Vec<(String, String)> {
    match e {
        Error::ValidationFailed(v) => v.iter().map(|x| (x.field.clone(), x.code.clone())).collect(),
        other => panic!("expected VALIDATION_FAILED, got {}: {other}", other.code()),
    }
}

fn create(c: &Cat, name: &str, extra: Value) -> WorkflowTemplate {
    let mut d = json!({ "name": name, "workflow_type": "plain" });
    d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    ok(block_on(c.create(d)))
}

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
    let fx = Fx::new();
    let c = fx.cat(U1);
    let t = create(&c, "Mine", json!({}));
    ok(block_on(c.rate(&t.id, 3.0)));
    ok(block_on(c.record_usage(GENERAL_ASSISTANT, &run(true, 5))));
    ok(block_on(c.create_spec(json!({ "name": "Spec", "workflow_type": "plain" }))));
    let bundle = ok(block_on(c.export_all()));
    let target = Fx::new();
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
    let fx = Fx::new();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let v1 = create(&c1, "Edge", json!({ "is_public": true }));
    fx.tick();
    let v2 = ok(block_on(c1.new_version(&v1.id, json!({}), None, WriteOptions::default())));
    // A row at the last representable instant (written by another adapter, or an old import).
    for id in [&v1.id, &v2.id] {
        let mut r = fx.stored(id).record;
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
        let fx = Fx::new();
        fx.clock.0.set(ms);
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
