//! Shared harness of the native catalog tests: a memory store that several catalogs (users, or
//! two "tabs" of one user) share, a clock the test sets and advances, an `Env` that records the
//! rows the catalog left out of lists, a hook that runs right before the next commit (to
//! interleave a second writer between another writer's read and its commit), and a way to plant
//! any record (corrupt ones too) in storage.
//! The memory store never waits, so every future completes on its first poll.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Map, Value};
use workflow_templates::catalog::discover::order;
use workflow_templates::catalog::{Catalog, DiscoverOptions, Env, Page, SkippedRow, Sort, UsageRun, WriteOptions};
use workflow_templates::store::memory::MemoryStore;
use workflow_templates::store::{BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, UsageTotals, Write};
use workflow_templates::{Error, Result, TemplateSpec, WorkflowTemplate};

pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("future returned Pending: the in-memory catalog should never wait"),
    }
}

/// 2027-01-15T08:00:00.000Z.
pub const T0: i64 = 1_800_000_000_000;
pub const U1: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
pub const U2: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAW";
pub const U3: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAX";
/// The built-in "General Assistant".
pub const GENERAL_ASSISTANT: &str = "00000000000000000000000001";

/// `step` is how far the clock moves on each read: 1 gives every write its own instant, 0 keeps
/// the clock where the test put it (for tests that assert exact timestamps).
pub struct TestEnv {
    clock: Rc<Cell<i64>>,
    step: i64,
    skipped: Rc<RefCell<Vec<SkippedRow>>>,
    lost_races: Rc<RefCell<Vec<usize>>>,
}

impl Env for TestEnv {
    fn after_lost_race(&self, lost: usize) {
        self.lost_races.borrow_mut().push(lost);
    }
    fn now_ms(&self) -> i64 {
        let t = self.clock.get();
        self.clock.set(t + self.step);
        t
    }
    fn skipped_row(&self, row: &SkippedRow) {
        self.skipped.borrow_mut().push(row.clone());
    }
}

pub type Hook = Box<dyn FnOnce()>;

/// The shared memory store; with `indexed`, it also answers `top_public` (an ordered index, as
/// IndexedDB and the SQL stores have), so discovery takes its indexed path. `hook`, when set,
/// runs once right before the next commit.
pub struct Shared {
    pub inner: Rc<MemoryStore>,
    pub indexed: bool,
    pub hook: RefCell<Option<Hook>>,
    /// Errors the next commits fail with, one each, before the store sees them; `commits`
    /// counts every commit asked for.
    pub refusals: RefCell<Vec<Error>>,
    pub commits: Cell<usize>,
}

impl Shared {
    pub fn before_next_commit(&self, f: impl FnOnce() + 'static) {
        *self.hook.borrow_mut() = Some(Box::new(f));
    }

    /// The next `n` commits fail with `e` (as an adapter reports a race it lost) and write nothing.
    pub fn refuse_commits(&self, n: usize, e: impl Fn() -> Error) {
        self.refusals.borrow_mut().extend((0..n).map(|_| e()));
    }
}

impl Store for Shared {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        self.inner.get_template(id).await
    }
    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        self.inner.find_templates(filter).await
    }
    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        self.inner.get_spec(id).await
    }
    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        self.inner.find_specs(filter).await
    }
    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        self.inner.get_rating(template_id, user_id).await
    }
    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        self.inner.find_ratings(user_id, template_id).await
    }
    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        self.inner.get_builtin_stats(id).await
    }
    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        self.inner.all_builtin_stats().await
    }
    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>> {
        self.inner.get_usage_totals(id).await
    }
    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<workflow_templates::store::TemplateLabel>>> {
        self.inner.find_labels(owner_id, name_key).await
    }
    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        let hook = self.hook.borrow_mut().take();
        if let Some(h) = hook {
            h();
        }
        self.commits.set(self.commits.get() + 1);
        let refused = {
            let mut r = self.refusals.borrow_mut();
            (!r.is_empty()).then(|| r.remove(0))
        };
        if let Some(e) = refused {
            return Err(e);
        }
        self.inner.commit(writes).await
    }
    async fn top_public(&self, sort: Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        if !self.indexed {
            return Ok(None);
        }
        let mut all = self.inner.find_templates(&TemplateFilter { is_public: Some(true), is_latest: Some(true), ..Default::default() }).await?;
        all.sort_by(|a, b| order(sort, &a.record, &b.record));
        let total = all.len();
        all.truncate(n);
        Ok(Some((all, total)))
    }
}

pub type Cat = Catalog<Shared, TestEnv>;

pub struct Fx {
    pub mem: Rc<MemoryStore>,
    pub clock: Rc<Cell<i64>>,
    pub skipped: Rc<RefCell<Vec<SkippedRow>>>,
    /// Every `Env::after_lost_race` call of this fixture's catalogs, in order.
    pub lost_races: Rc<RefCell<Vec<usize>>>,
    pub indexed: bool,
    /// How far the clock moves on each read (see `TestEnv`).
    pub step: i64,
}

impl Fx {
    pub fn new() -> Self {
        Fx { mem: Rc::new(MemoryStore::new()), clock: Rc::new(Cell::new(T0)), skipped: Rc::default(), lost_races: Rc::default(), indexed: false, step: 1 }
    }

    pub fn indexed() -> Self {
        Fx { indexed: true, ..Fx::new() }
    }

    /// A fixture whose clock moves only when the test sets or advances it.
    pub fn frozen() -> Self {
        Fx { step: 0, ..Fx::new() }
    }

    /// A new view of the shared store, with no hook set.
    pub fn store(&self) -> Shared {
        Shared { inner: self.mem.clone(), indexed: self.indexed, hook: RefCell::new(None), refusals: RefCell::default(), commits: Cell::new(0) }
    }

    pub fn env(&self) -> TestEnv {
        TestEnv { clock: self.clock.clone(), step: self.step, skipped: self.skipped.clone(), lost_races: self.lost_races.clone() }
    }

    pub fn cat(&self, user: &str) -> Cat {
        Catalog::new(self.store(), self.env(), user).unwrap_or_else(|e| panic!("Catalog::new({user}): {e}"))
    }

    /// Moves the clock one second on.
    pub fn tick(&self) {
        self.clock.set(self.clock.get() + 1000);
    }

    /// Every record in the store, to compare before and after an operation that must write nothing.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            templates: block_on(self.mem.find_templates(&TemplateFilter::default())).unwrap(),
            specs: block_on(self.mem.find_specs(&SpecFilter::default())).unwrap(),
            ratings: block_on(self.mem.find_ratings(None, None)).unwrap(),
            builtin_stats: block_on(self.mem.all_builtin_stats()).unwrap(),
        }
    }

    /// How many latest versions of `name` the owner has (must always be 0 or 1).
    pub fn latest_count(&self, owner: &str, name: &str) -> usize {
        let f = TemplateFilter { owner_id: Some(owner.into()), name_key: Some(name.to_lowercase()), is_latest: Some(true), ..Default::default() };
        block_on(self.mem.find_templates(&f)).unwrap().len()
    }

    pub fn stored(&self, id: &str) -> Option<Stored<WorkflowTemplate>> {
        block_on(self.mem.get_template(id)).unwrap()
    }

    /// Writes a record straight into the store, bypassing every catalog rule.
    pub fn plant(&self, record: WorkflowTemplate) {
        let expect = match self.stored(&record.id) {
            Some(s) => Expect::Rev(s.rev),
            None => Expect::Absent,
        };
        block_on(self.mem.commit(vec![Write::PutTemplate { record, expect }])).unwrap();
    }

    pub fn plant_write(&self, w: Write) {
        block_on(self.mem.commit(vec![w])).unwrap();
    }

    /// Ids of the rows reported as skipped so far (and forgets them).
    pub fn take_skipped(&self) -> Vec<String> {
        self.skipped.borrow_mut().drain(..).map(|r| r.id).collect()
    }
}

#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub templates: Vec<Stored<WorkflowTemplate>>,
    pub specs: Vec<Stored<TemplateSpec>>,
    pub ratings: Vec<Stored<Rating>>,
    pub builtin_stats: Vec<Stored<BuiltinStats>>,
}

pub fn ok<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error {}: {e} {}", e.code(), e.details()),
    }
}

pub fn err<T: std::fmt::Debug>(r: Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

pub fn draft(name: &str, extra: Value) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("workflow_type".into(), json!("plain"));
    if let Value::Object(e) = extra {
        m.extend(e);
    }
    Value::Object(m)
}

pub fn create(c: &Cat, name: &str, extra: Value) -> WorkflowTemplate {
    ok(block_on(c.create(draft(name, extra))))
}

/// (field, code) of every violation of a VALIDATION_FAILED error.
pub fn violations(e: &Error) -> Vec<(String, String)> {
    match e {
        Error::ValidationFailed(v) => v.iter().map(|x| (x.field.clone(), x.code.clone())).collect(),
        other => panic!("expected VALIDATION_FAILED, got {}: {other}", other.code()),
    }
}

/// The error's message and details as one text (to look for what must not be there).
pub fn everything_said(e: &Error) -> String {
    format!("{e} {}", e.details())
}

// ---- helpers of the catalog_*.rs topic files ----------------------------------------------

/// A well-formed id that no record has.
pub const MISSING: &str = "01ARZ3NDEKTSV4RRFFQ69G5FB0";

pub const CODE_ASSISTANT: &str = "00000000000000000000000003";
pub const RESEARCH_ANALYST: &str = "00000000000000000000000004";
pub const CREATIVE_WRITER: &str = "00000000000000000000000006";
pub const DOCUMENT_QA: &str = "0000000000000000000000000A";

pub fn has_violation(e: &Error, field: &str, code: &str) -> bool {
    violations(e).iter().any(|(f, c)| f == field && c == code)
}

pub fn has_code(e: &Error, code: &str) -> bool {
    violations(e).iter().any(|(_, c)| c == code)
}

pub fn get(c: &Cat, id: &str) -> WorkflowTemplate {
    ok(block_on(c.get(id)))
}

pub fn if_match(t: &str) -> WriteOptions {
    WriteOptions { if_match: Some(t.to_string()) }
}

pub fn no_opts() -> WriteOptions {
    WriteOptions::default()
}

pub fn run(success: bool, response_time_ms: u64, tokens: u64, cost: f64) -> UsageRun {
    UsageRun { success, response_time_ms, tokens, cost }
}

pub fn use_once(c: &Cat, id: &str) -> WorkflowTemplate {
    ok(block_on(c.record_usage(id, &run(true, 100, 10, 0.0))))
}

pub fn opts(v: Value) -> DiscoverOptions {
    ok(DiscoverOptions::from_value(&v))
}

pub fn discover(c: &Cat, v: Value) -> Page<WorkflowTemplate> {
    ok(block_on(c.discover(&opts(v))))
}

pub fn ids(ts: &[WorkflowTemplate]) -> Vec<String> {
    ts.iter().map(|t| t.id.clone()).collect()
}

pub fn idv(ts: &[&WorkflowTemplate]) -> Vec<String> {
    ts.iter().map(|t| t.id.clone()).collect()
}
