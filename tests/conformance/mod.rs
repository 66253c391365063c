//! The storage conformance suite: one set of behaviours every adapter must show, run against
//! each of them (memory natively; memory, IndexedDB, localStorage and a JS adapter in headless
//! Chromium, Firefox and WebKit). An adapter is brought in by a `Harness`: a fresh empty
//! storage, a second handle to the same storage (what another tab would hold), and how a
//! catalog is wired to it.
//!
//! Each behaviour is a plain `async fn(&H)`; `conformance_tests!` turns the list into one test
//! per behaviour for a harness.
#![allow(dead_code)]

#[cfg(target_arch = "wasm32")]
pub mod browser;
mod discovery;
mod labels;
#[allow(unused_imports)]
pub use labels::*;
#[allow(unused_imports)]
pub use discovery::*;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use serde_json::{json, Value};
use workflow_templates::catalog::{Catalog, ChangeEvent, DiscoverOptions, Env, Sort, UsageRun, WriteOptions};
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, UsageTotals, Write};
use workflow_templates::{Error, TemplateCategory, TemplateSpec, WorkflowTemplate, WorkflowType};

/// How the suite reaches one adapter.
#[allow(async_fn_in_trait)]
pub trait Harness {
    type S: Store;
    type E: Env;
    /// A new, empty storage (a fresh database name, key prefix or object).
    async fn fresh(&self) -> Self::S;
    /// Another handle to the storage `fresh` last made: another tab, or a reopened page.
    async fn again(&self) -> Self::S;
    fn env(&self) -> Self::E;
    /// Wires a catalog to its store (cross-tab events); nothing for most adapters.
    fn attach(&self, _catalog: &Rc<Catalog<Self::S, Self::E>>) {}
    /// Whether changes made through one handle reach subscribers of another.
    fn cross_tab(&self) -> bool {
        false
    }
    /// Whether data outlives its handle (false for memory, whose "again" is the same object).
    fn persistent(&self) -> bool {
        true
    }
    /// Lets other tasks run (timers, channel messages) for about `ms` milliseconds.
    async fn pause(&self, _ms: u32) {}
}

pub const U1: &str = "01J00000000000000000000001";
pub const U2: &str = "01J00000000000000000000002";

/// A clock that moves 1 ms every time it is read: deterministic, strictly increasing, shared by
/// the clones a harness hands to its catalogs.
#[derive(Clone)]
pub struct TickEnv(Rc<Cell<i64>>);

impl TickEnv {
    pub fn new() -> Self {
        TickEnv(Rc::new(Cell::new(1_750_000_000_000)))
    }
}

impl Env for TickEnv {
    fn now_ms(&self) -> i64 {
        let t = self.0.get() + 1;
        self.0.set(t);
        t
    }
}

/// Polls every future together until all are done (no executor crate needed).
pub async fn join_all<T>(futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut futures: Vec<Option<Pin<Box<dyn Future<Output = T> + '_>>>> = futures.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        let mut pending = false;
        for (i, slot) in futures.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        out[i] = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(out.iter_mut().map(|o| o.take().expect("every future finished")).collect())
        }
    })
    .await
}

pub(crate) fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

pub(crate) fn ok<T>(r: Result<T, Error>) -> T {
    r.unwrap_or_else(|e| panic!("{}: {e}", e.code()))
}

/// A template record as the catalog would store it (the store itself checks no rule but
/// revisions and the latest-name one).
pub fn template(n: u32, owner: &str, name: &str) -> WorkflowTemplate {
    let mut t = WorkflowTemplate::with_defaults(format!("01K{n:023}"), owner.to_string(), format_ms(1_750_000_000_000 + n as i64));
    t.name = name.to_string();
    t.config_hash = format!("{:064x}", n % 7);
    t
}

fn spec(n: u32, owner: &str, name: &str) -> TemplateSpec {
    serde_json::from_value(json!({
        "id": format!("01S{n:023}"), "name": name, "description": "", "workflow_type": "plain",
        "base_template_name": if n % 2 == 0 { json!("General Assistant") } else { Value::Null },
        "default_params": {}, "required_tools": null, "required_retrievers": null, "owner_id": owner,
        "created_at": format_ms(1_750_000_000_000), "updated_at": format_ms(1_750_000_000_000),
        "usage_count": 0, "last_used_at": null, "tags": null, "extra_metadata": null
    }))
    .expect("a valid spec record")
}

pub(crate) fn put(t: &WorkflowTemplate, expect: Expect) -> Write {
    Write::PutTemplate { record: t.clone(), expect }
}

// ---- record-level behaviours ---------------------------------------------------------------

pub async fn crud_and_revisions<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let mut t = template(1, U1, "First");
    assert_eq!(ok(s.get_template(&t.id).await), None);
    ok(s.commit(vec![put(&t, Expect::Absent)]).await);
    let got = ok(s.get_template(&t.id).await).expect("stored");
    assert_eq!((got.rev, &got.record), (1, &t));
    t.description = "second revision".into();
    ok(s.commit(vec![put(&t, Expect::Rev(1))]).await);
    let got = ok(s.get_template(&t.id).await).unwrap();
    assert_eq!((got.rev, got.record.description.as_str()), (2, "second revision"));
    // Any: no expectation, the revision still moves.
    ok(s.commit(vec![put(&t, Expect::Any)]).await);
    assert_eq!(ok(s.get_template(&t.id).await).unwrap().rev, 3);
    ok(s.commit(vec![Write::DeleteTemplate { id: t.id.clone(), expect: Expect::Rev(3) }]).await);
    assert_eq!(ok(s.get_template(&t.id).await), None);
    // Specs, ratings and built-in statistics follow the same rules.
    let sp = spec(1, U1, "Spec one");
    ok(s.commit(vec![Write::PutSpec { record: sp.clone(), expect: Expect::Absent }]).await);
    assert_eq!(ok(s.get_spec(&sp.id).await).unwrap().record, sp);
    ok(s.commit(vec![Write::DeleteSpec { id: sp.id.clone(), expect: Expect::Rev(1) }]).await);
    assert_eq!(ok(s.get_spec(&sp.id).await), None);
    let r = Rating { template_id: t.id.clone(), user_id: U2.into(), stars: 4.5, updated_at: format_ms(1) };
    ok(s.commit(vec![Write::PutRating { record: r.clone(), expect: Expect::Absent }]).await);
    assert_eq!(ok(s.get_rating(&t.id, U2).await).unwrap(), Stored { rev: 1, record: r.clone() });
    assert_eq!(ok(s.get_rating(&t.id, U1).await), None);
    ok(s.commit(vec![Write::DeleteRating { template_id: t.id.clone(), user_id: U2.into() }]).await);
    assert_eq!(ok(s.get_rating(&t.id, U2).await), None);
    let b = BuiltinStats { id: "00000000000000000000000001".into(), stats: Default::default() };
    ok(s.commit(vec![Write::PutBuiltinStats { record: b.clone(), expect: Expect::Absent }]).await);
    assert_eq!(ok(s.get_builtin_stats(&b.id).await).unwrap().record, b);
    assert_eq!(ok(s.all_builtin_stats().await).len(), 1);
}

pub async fn conditional_writes_refuse_stale_revisions<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let t = template(2, U1, "Guarded");
    ok(s.commit(vec![put(&t, Expect::Absent)]).await);
    let mut changed = t.clone();
    changed.description = "lost update".into();
    let e = s.commit(vec![put(&changed, Expect::Absent)]).await.unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(code(s.commit(vec![put(&changed, Expect::Rev(7))]).await), "CONFLICT");
    assert_eq!(code(s.commit(vec![Write::DeleteTemplate { id: t.id.clone(), expect: Expect::Rev(2) }]).await), "CONFLICT");
    assert_eq!(code(s.commit(vec![Write::DeleteTemplate { id: "01K99999999999999999999999".into(), expect: Expect::Rev(1) }]).await), "CONFLICT");
    let got = ok(s.get_template(&t.id).await).unwrap();
    assert_eq!((got.rev, got.record.description.as_str()), (1, ""), "a refused write changes nothing");
}

pub async fn batches_are_all_or_nothing<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let keep = template(3, U1, "Keep");
    ok(s.commit(vec![put(&keep, Expect::Absent)]).await);
    let a = template(4, U1, "Batch A");
    let sp = spec(4, U1, "Batch spec");
    let mut keep2 = keep.clone();
    keep2.description = "should not stay".into();
    // The last write's expectation fails: the earlier ones must not stay.
    let e = s
        .commit(vec![put(&a, Expect::Absent), Write::PutSpec { record: sp.clone(), expect: Expect::Absent }, put(&keep2, Expect::Rev(1)), put(&keep2, Expect::Rev(1))])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(ok(s.get_template(&a.id).await), None);
    assert_eq!(ok(s.get_spec(&sp.id).await), None);
    assert_eq!(ok(s.get_template(&keep.id).await).unwrap().rev, 1);
    // A batch may write one key twice; the second write sees the first.
    ok(s.commit(vec![put(&a, Expect::Absent), put(&a, Expect::Rev(1))]).await);
    assert_eq!(ok(s.get_template(&a.id).await).unwrap().rev, 2);
    // A batch that breaks the name rule writes nothing either.
    let b = template(5, U1, "  batch a ");
    let c = template(6, U1, "Batch C");
    assert_eq!(code(s.commit(vec![put(&c, Expect::Absent), put(&b, Expect::Absent)]).await), "NAME_TAKEN");
    assert_eq!(ok(s.get_template(&c.id).await), None);
    assert_eq!(ok(s.get_template(&b.id).await), None);
    // Large batches (adapters may issue them in chunks): a create of a key that exists, or a
    // name held twice, far into the batch still leaves nothing of it.
    let many: Vec<WorkflowTemplate> = (1000..1600u32).map(|n| template(n, U1, &format!("Many {n}"))).collect();
    let mut writes: Vec<Write> = many.iter().map(|t| put(t, Expect::Absent)).collect();
    writes.insert(550, put(&keep, Expect::Absent));
    assert_eq!(code(s.commit(writes).await), "CONFLICT");
    let mut writes: Vec<Write> = many.iter().map(|t| put(t, Expect::Absent)).collect();
    writes.push(put(&template(1700, U1, "many 1000"), Expect::Absent));
    assert_eq!(code(s.commit(writes).await), "NAME_TAKEN");
    for t in [&many[0], &many[300], &many[599]] {
        assert_eq!(ok(s.get_template(&t.id).await), None, "{}", t.name);
    }
    ok(s.commit(many.iter().map(|t| put(t, Expect::Absent)).collect()).await);
    assert_eq!(ok(s.get_templates(&many.iter().map(|t| t.id.clone()).collect::<Vec<_>>()).await).iter().filter(|x| x.is_some()).count(), 600);
}

pub async fn one_latest_template_per_owner_and_name<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let a = template(10, U1, "Summarizer");
    ok(s.commit(vec![put(&a, Expect::Absent)]).await);
    assert_eq!(code(s.commit(vec![put(&template(11, U1, "SUMMARIZER"), Expect::Absent)]).await), "NAME_TAKEN");
    // Another owner may use the name; so may a version that is not the latest.
    ok(s.commit(vec![put(&template(12, U2, "Summarizer"), Expect::Absent)]).await);
    let mut old = template(13, U1, "summarizer");
    old.is_latest = false;
    ok(s.commit(vec![put(&old, Expect::Absent)]).await);
    // A new version: the old one stops being latest in the same batch.
    let mut a_old = a.clone();
    a_old.is_latest = false;
    let mut v2 = template(14, U1, "Summarizer");
    v2.version = 2;
    ok(s.commit(vec![put(&a_old, Expect::Rev(1)), put(&v2, Expect::Absent)]).await);
    let latest = ok(s.find_templates(&TemplateFilter { owner_id: Some(U1.into()), name_key: Some("summarizer".into()), is_latest: Some(true), ..Default::default() }).await);
    assert_eq!(latest.iter().map(|r| r.record.id.clone()).collect::<Vec<_>>(), vec![v2.id.clone()]);
}

/// A varied data set, and every filter checked against a brute-force answer over it.
pub async fn every_index_query_matches_a_full_scan<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let mut all = Vec::new();
    for n in 0..48u32 {
        let owner = [U1, U2, "01J00000000000000000000003"][n as usize % 3];
        let mut t = template(100 + n, owner, &format!("Template {}", n / 2));
        t.is_latest = n % 4 != 3;
        t.is_public = n % 3 != 1;
        t.category = TemplateCategory::ALL[n as usize % TemplateCategory::ALL.len()];
        t.workflow_type = WorkflowType::ALL[n as usize % 4];
        t.base_template_id = (n % 5 == 0 && n > 0).then(|| all.get(0).map(|x: &WorkflowTemplate| x.id.clone()).unwrap());
        if n % 2 == 1 {
            t.name = format!("Template {} v", n / 2); // keep names unique per owner among latest
        }
        all.push(t);
    }
    let writes = all.iter().map(|t| put(t, Expect::Absent)).collect();
    ok(s.commit(writes).await);
    let mut filters = vec![TemplateFilter::default()];
    for o in [U1, U2] {
        filters.push(TemplateFilter { owner_id: Some(o.into()), ..Default::default() });
        filters.push(TemplateFilter { owner_id: Some(o.into()), is_latest: Some(true), ..Default::default() });
        filters.push(TemplateFilter { owner_id: Some(o.into()), name_key: Some("template 3".into()), ..Default::default() });
        filters.push(TemplateFilter { owner_id: Some(o.into()), name_key: Some("template 3".into()), is_latest: Some(true), ..Default::default() });
    }
    filters.push(TemplateFilter { base_template_id: Some(all[0].id.clone()), ..Default::default() });
    filters.push(TemplateFilter { config_hash: Some(all[3].config_hash.clone()), ..Default::default() });
    for p in [true, false] {
        for l in [true, false] {
            filters.push(TemplateFilter { is_public: Some(p), is_latest: Some(l), ..Default::default() });
            filters.push(TemplateFilter { is_public: Some(p), is_latest: Some(l), category: Some(TemplateCategory::ALL[2]), ..Default::default() });
            filters.push(TemplateFilter { is_public: Some(p), is_latest: Some(l), workflow_type: Some(WorkflowType::Rag), ..Default::default() });
        }
        filters.push(TemplateFilter { is_public: Some(p), ..Default::default() });
        filters.push(TemplateFilter { is_latest: Some(p), ..Default::default() });
    }
    filters.push(TemplateFilter { category: Some(TemplateCategory::ALL[1]), ..Default::default() });
    filters.push(TemplateFilter { workflow_type: Some(WorkflowType::Tools), ..Default::default() });
    filters.push(TemplateFilter { name_key: Some("template 5 v".into()), ..Default::default() });
    for f in &filters {
        let mut got: Vec<String> = ok(s.find_templates(f).await).into_iter().map(|r| r.record.id).collect();
        got.sort();
        let mut want: Vec<String> = all.iter().filter(|t| f.matches(t)).map(|t| t.id.clone()).collect();
        want.sort();
        assert_eq!(got, want, "filter {f:?}");
    }
    // Specs and ratings too.
    let specs: Vec<TemplateSpec> = (0..9).map(|n| spec(200 + n, [U1, U2][n as usize % 2], &format!("Spec {}", n / 2))).collect();
    ok(s.commit(specs.iter().map(|sp| Write::PutSpec { record: sp.clone(), expect: Expect::Absent }).collect()).await);
    for f in [
        SpecFilter::default(),
        SpecFilter { owner_id: Some(U1.into()), ..Default::default() },
        SpecFilter { owner_id: Some(U2.into()), name_key: Some("spec 1".into()), ..Default::default() },
        SpecFilter { base_template_name: Some("General Assistant".into()), ..Default::default() },
        SpecFilter { workflow_type: Some(WorkflowType::Plain), ..Default::default() },
    ] {
        let got: BTreeSet<String> = ok(s.find_specs(&f).await).into_iter().map(|r| r.record.id).collect();
        let want: BTreeSet<String> = specs.iter().filter(|sp| f.matches(sp)).map(|sp| sp.id.clone()).collect();
        assert_eq!(got, want, "spec filter {f:?}");
    }
    let ratings: Vec<Rating> = (0..6)
        .map(|n| Rating { template_id: all[n % 3].id.clone(), user_id: [U1, U2][n / 3].into(), stars: n as f64 / 2.0, updated_at: format_ms(1) })
        .collect();
    ok(s.commit(ratings.iter().map(|r| Write::PutRating { record: r.clone(), expect: Expect::Absent }).collect()).await);
    assert_eq!(ok(s.find_ratings(Some(U1), None).await).len(), 3);
    assert_eq!(ok(s.find_ratings(None, Some(&all[1].id)).await).len(), 2);
    assert_eq!(ok(s.find_ratings(Some(U2), Some(&all[2].id)).await).len(), 1);
    assert_eq!(ok(s.find_ratings(None, None).await).len(), 6);
}

// ---- catalog-level behaviours over the adapter ---------------------------------------------

pub(crate) async fn catalog<H: Harness>(h: &H, store: H::S, user: &str) -> Rc<Catalog<H::S, H::E>> {
    let c = Rc::new(ok(Catalog::new(store, h.env(), user)));
    h.attach(&c);
    c
}

pub(crate) fn draft(name: &str, extra: Value) -> Value {
    let mut v = json!({ "name": name, "workflow_type": "plain" });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

pub async fn discovery_pages_and_orders<H: Harness>(h: &H) {
    let c = catalog(h, h.fresh().await, U1).await;
    for n in 0..25 {
        let t = ok(c.create(draft(&format!("Item {n:02}"), json!({ "is_public": true, "category": "programming", "tags": ["t", format!("n{}", n % 3)] }))).await);
        for _ in 0..(n % 4) {
            ok(c.record_usage(&t.id, &UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 10 })).unwrap()).await);
        }
    }
    let page = |sort: Sort, offset: u64| DiscoverOptions { include_builtin: false, sort, limit: 10, offset, ..Default::default() };
    let mut seen = Vec::new();
    for off in [0, 10, 20] {
        let p = ok(c.discover(&page(Sort::Name, off)).await);
        assert_eq!(p.total, 25);
        seen.extend(p.items.into_iter().map(|t| t.name));
    }
    let want: Vec<String> = (0..25).map(|n| format!("Item {n:02}")).collect();
    assert_eq!(seen, want, "name order over three pages");
    let popular = ok(c.discover(&page(Sort::Popular, 0)).await);
    let counts: Vec<u64> = popular.items.iter().map(|t| t.usage_count).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "popular sorts by usage desc: {counts:?}");
    assert_eq!(counts[0], 3);
    let recent = ok(c.discover(&page(Sort::Recent, 0)).await);
    let times: Vec<String> = recent.items.iter().map(|t| t.updated_at.clone()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "recent sorts by updated_at desc");
    let tagged = ok(c.discover(&DiscoverOptions { tags: vec!["n1".into()], include_builtin: false, limit: 100, ..Default::default() }).await);
    assert_eq!(tagged.total, 8);
    let texted = ok(c.discover(&DiscoverOptions { text: Some("ITEM 1".into()), include_builtin: false, limit: 100, ..Default::default() }).await);
    assert_eq!(texted.total, 10);
    let with_builtins = ok(c.discover(&DiscoverOptions { limit: 100, ..Default::default() }).await);
    assert_eq!(with_builtins.total, 35, "25 templates and the 10 built-ins");
}

/// Every sort, paged, equals the catalog's own order over every visible template (the adapter
/// may answer from ordered indexes: IndexedDB does), with names that order differently by
/// UTF-16 and by code point, ties, built-ins, private and other users' templates.
pub async fn discovery_matches_the_catalog_order<H: Harness>(h: &H) {
    let c = catalog(h, h.fresh().await, U1).await;
    let other = catalog(h, h.again().await, U2).await;
    // The one private template sorts last by name: a private template placed before others
    // would make the adapter's page read one row deeper and hide a misordered pair.
    let names = ["\u{10FFFD} last", "Alpha ", "ab", "Ab", "émile", "Zeta", "\u{FF26}ull", "\u{1F680} rocket", "\u{E000} private", "same", "Same", "zz"];
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let t = ok(c.create(draft(&format!("{n} {i}"), json!({ "is_public": i != 0 }))).await);
        for _ in 0..(i % 4) {
            ok(c.record_usage(&t.id, &UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 1 })).unwrap()).await);
        }
        if i % 2 == 0 {
            ok(c.rate(&t.id, (i % 5) as f64).await);
        }
        ids.push(t.id);
    }
    for i in 0..4 {
        let t = ok(other.create(draft(&format!("other {i}"), json!({ "is_public": i % 2 == 0 }))).await);
        if i % 2 == 0 {
            ids.push(t.id);
        }
    }
    let old = ok(c.create(draft("versioned", json!({ "is_public": true }))).await);
    let newer = ok(c.new_version(&old.id, json!({}), None, WriteOptions::default()).await);
    ids.push(newer.id);
    // Totals follow unpublishing, republishing and deleting too (IndexedDB keeps a counter).
    let gone = ok(c.create(draft("deleted soon", json!({ "is_public": true }))).await);
    ok(c.delete(&gone.id).await);
    let flip = ok(c.create(draft("flip", json!({ "is_public": true }))).await);
    ok(c.update(&flip.id, json!({ "is_public": false }), WriteOptions::default()).await);
    ok(c.update(&flip.id, json!({ "is_public": true }), WriteOptions::default()).await);
    ok(c.update(&flip.id, json!({ "is_public": false }), WriteOptions::default()).await);
    ids.push(flip.id);
    for sort in [Sort::Popular, Sort::Rating, Sort::Recent, Sort::Name] {
        for include_builtin in [true, false] {
            let mut want: Vec<WorkflowTemplate> = Vec::new();
            for id in &ids {
                want.push(ok(c.get(id).await));
            }
            if include_builtin {
                for b in workflow_templates::builtin::all() {
                    want.push(ok(c.get(&b.id).await));
                }
            }
            want.sort_by(|a, b| workflow_templates::catalog::discover::order(sort, a, b));
            let want: Vec<String> = want.into_iter().map(|t| t.id).collect();
            // Pages of one make every position a page boundary: an index that orders two
            // templates differently from `order` shows at once.
            let limit = if include_builtin { 7 } else { 1 };
            let mut got = Vec::new();
            let mut offset = 0;
            loop {
                let p = ok(c.discover(&DiscoverOptions { sort, include_builtin, limit, offset: offset as u64, ..Default::default() }).await);
                assert_eq!(p.total, want.len(), "total, {sort:?}");
                if p.items.is_empty() {
                    break;
                }
                got.extend(p.items.into_iter().map(|t| t.id));
                offset += limit;
            }
            assert_eq!(got, want, "order {sort:?}, builtins {include_builtin}");
        }
    }
}

/// The viewer's own private templates alone, paged one by one in every sort: an adapter's
/// ordered per-owner index must agree with the catalog's order too.
pub async fn own_private_templates_page_in_the_catalog_order<H: Harness>(h: &H) {
    let c = catalog(h, h.fresh().await, U1).await;
    let names = ["beta", "Alpha", "\u{1F680} rocket", "\u{E000} pua", "alpha 2", "zeta"];
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let t = ok(c.create(draft(n, json!({ "is_public": false }))).await);
        for _ in 0..(i % 3) {
            ok(c.record_usage(&t.id, &UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 1 })).unwrap()).await);
        }
        if i % 2 == 1 {
            ok(c.rate(&t.id, (i % 4) as f64).await);
        }
        ids.push(t.id);
    }
    for sort in [Sort::Popular, Sort::Rating, Sort::Recent, Sort::Name] {
        let mut want = Vec::new();
        for id in &ids {
            want.push(ok(c.get(id).await));
        }
        want.sort_by(|a, b| workflow_templates::catalog::discover::order(sort, a, b));
        let want: Vec<String> = want.into_iter().map(|t| t.id).collect();
        let mut got = Vec::new();
        for offset in 0..ids.len() as u64 + 1 {
            let p = ok(c.discover(&DiscoverOptions { sort, include_builtin: false, limit: 1, offset, ..Default::default() }).await);
            assert_eq!(p.total, ids.len(), "total, {sort:?}");
            got.extend(p.items.into_iter().map(|t| t.id));
        }
        assert_eq!(got, want, "own private order, {sort:?}");
    }
}

pub async fn catalog_writes_survive_a_new_handle<H: Harness>(h: &H) {
    let c = catalog(h, h.fresh().await, U1).await;
    let t = ok(c.create(draft("Durable", json!({ "default_params": { "temperature": 0.2 } }))).await);
    let v2 = ok(c.new_version(&t.id, json!({ "description": "second" }), Some("more".into()), WriteOptions::default()).await);
    ok(c.record_usage(&v2.id, &UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 5, "tokens": 7 })).unwrap()).await);
    ok(c.rate(&v2.id, 4.0).await);
    let sp = ok(c.create_spec(json!({ "name": "Durable spec", "workflow_type": "plain", "base_template_name": "Durable" })).await);
    drop(c);
    let c2 = catalog(h, h.again().await, U1).await;
    let versions = ok(c2.versions(&t.id).await);
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![2, 1]);
    let got = ok(c2.get(&v2.id).await);
    assert_eq!((got.usage_count, got.total_tokens_used, got.rating), (1, 7, Some(4.0)));
    assert_eq!(ok(c2.get_spec(&sp.id).await).name, "Durable spec");
    let made = ok(c2.instantiate_spec(&sp.id, json!({ "name": "From spec" })).await);
    assert_eq!(made.base_template_id.as_deref(), Some(v2.id.as_str()));
    assert_eq!(ok(c2.get_spec(&sp.id).await).usage_count, 1);
}

pub async fn stale_edit_from_another_tab_conflicts<H: Harness>(h: &H) {
    let a = catalog(h, h.fresh().await, U1).await;
    let b = catalog(h, h.again().await, U1).await;
    let t = ok(a.create(draft("Shared", json!({}))).await);
    let seen_by_b = ok(b.get(&t.id).await);
    ok(a.update(&t.id, json!({ "description": "tab A was first" }), WriteOptions { if_match: Some(t.updated_at.clone()) }).await);
    let e = b.update(&t.id, json!({ "description": "tab B is stale" }), WriteOptions { if_match: Some(seen_by_b.updated_at.clone()) }).await.unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
    let e = b.new_version(&t.id, json!({}), None, WriteOptions { if_match: Some(seen_by_b.updated_at) }).await.unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(ok(a.get(&t.id).await).description, "tab A was first");
    assert_eq!(ok(a.versions(&t.id).await).len(), 1, "the refused new version left nothing");
}

pub async fn concurrent_usage_from_two_tabs_loses_nothing<H: Harness>(h: &H) {
    let a = catalog(h, h.fresh().await, U1).await;
    let b = catalog(h, h.again().await, U1).await;
    let t = ok(a.create(draft("Busy", json!({ "is_public": true }))).await);
    let run = UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 10, "tokens": 1 })).unwrap();
    let mut futures: Vec<Pin<Box<dyn Future<Output = Result<WorkflowTemplate, Error>> + '_>>> = Vec::new();
    for i in 0..12 {
        let c = if i % 2 == 0 { &a } else { &b };
        futures.push(Box::pin(c.record_usage(&t.id, &run)));
    }
    // Ratings of two users on the same template, concurrently too.
    let other = catalog(h, h.again().await, U2).await;
    let results = join_all(futures).await;
    for r in results {
        ok(r);
    }
    let rated = join_all::<Result<WorkflowTemplate, Error>>(vec![Box::pin(a.rate(&t.id, 5.0)), Box::pin(other.rate(&t.id, 3.0))]).await;
    for r in rated {
        ok(r);
    }
    let got = ok(b.get(&t.id).await);
    assert_eq!(got.usage_count, 12, "every increment kept");
    assert_eq!(got.total_tokens_used, 12);
    assert_eq!((got.rating_count, got.rating), (2, Some(4.0)));
}

pub async fn subscribers_hear_of_changes<H: Harness>(h: &H) {
    let a = catalog(h, h.fresh().await, U1).await;
    let b = catalog(h, h.again().await, U1).await;
    let heard_a: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let heard_b: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let (ha, hb) = (heard_a.clone(), heard_b.clone());
    let handle = a.subscribe(move |e| ha.borrow_mut().push(e.clone()));
    b.subscribe(move |e| hb.borrow_mut().push(e.clone()));
    let t = ok(a.create(draft("Noticed", json!({}))).await);
    ok(a.update(&t.id, json!({ "description": "x" }), WriteOptions::default()).await);
    h.pause(300).await;
    let local: Vec<(&str, &str, Option<String>, bool)> = heard_a.borrow().iter().map(|e| (e.kind, e.op, e.id.clone(), e.external)).collect();
    assert_eq!(local, vec![("template", "create", Some(t.id.clone()), false), ("template", "update", Some(t.id.clone()), false)]);
    if h.cross_tab() {
        let remote: Vec<(&str, &str, Option<String>, bool)> = heard_b.borrow().iter().map(|e| (e.kind, e.op, e.id.clone(), e.external)).collect();
        assert_eq!(remote, vec![("template", "create", Some(t.id.clone()), true), ("template", "update", Some(t.id.clone()), true)]);
    } else {
        assert!(heard_b.borrow().is_empty(), "no cross-tab events from an adapter that has none");
    }
    assert!(a.unsubscribe(handle));
    ok(a.delete(&t.id).await);
    h.pause(50).await;
    assert_eq!(heard_a.borrow().len(), 2, "nothing after unsubscribe");
}

/// `get_template_chain` follows base pointers through stored records and stops, without an
/// error, at a missing id, a built-in, an id seen before, or after `max` records.
pub async fn chain_reads_follow_base_pointers<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let builtin = workflow_templates::builtin::all()[0].id.clone();
    // 5 <- 4 <- 3 <- 2 <- 1 (1 derives from a built-in); 7 -> 8 -> 7 (a cycle). (No dangling
    // base: stores with referential integrity, like the server's SQL, refuse to hold one.)
    let mut writes = Vec::new();
    for n in 1..=5u32 {
        let mut t = template(n, U1, &format!("Chain {n}"));
        t.base_template_id = Some(if n == 1 { builtin.clone() } else { template(n - 1, U1, "").id });
        writes.push(put(&t, Expect::Absent));
    }
    let mut a = template(7, U1, "Loop a");
    a.base_template_id = Some(template(8, U1, "").id);
    let mut b = template(8, U1, "Loop b");
    b.base_template_id = Some(a.id.clone());
    writes.extend([put(&a, Expect::Absent), put(&b, Expect::Absent)]);
    ok(s.commit(writes).await);
    let ids = |v: Vec<Stored<WorkflowTemplate>>| v.into_iter().map(|x| x.record.id).collect::<Vec<_>>();
    let want = |ns: &[u32]| ns.iter().map(|n| template(*n, U1, "").id).collect::<Vec<_>>();
    assert_eq!(ids(ok(s.get_template_chain(&template(5, U1, "").id, 16).await)), want(&[5, 4, 3, 2, 1]));
    assert_eq!(ids(ok(s.get_template_chain(&template(5, U1, "").id, 2).await)), want(&[5, 4]));
    assert_eq!(ids(ok(s.get_template_chain(&a.id, 16).await)), want(&[7, 8]));
    assert!(ok(s.get_template_chain(&template(99, U1, "").id, 16).await).is_empty());
    assert!(ok(s.get_template_chain(&builtin, 16).await).is_empty());
    // The records are exactly what get_template returns, revisions included.
    let got = ok(s.get_template_chain(&template(3, U1, "").id, 16).await);
    for x in &got {
        assert_eq!(Some(x), ok(s.get_template(&x.record.id).await).as_ref());
    }
    // Several by id at once: in the order asked, None where absent, equal to one-by-one reads.
    let asked: Vec<String> = [5u32, 99, 1, 5].iter().map(|n| template(*n, U1, "").id).collect();
    let many = ok(s.get_templates(&asked).await);
    assert_eq!(many.len(), 4);
    for (id, got) in asked.iter().zip(&many) {
        assert_eq!(got, &ok(s.get_template(id).await), "{id}");
    }
    assert!(many[1].is_none() && many[0].is_some());
    assert!(ok(s.get_templates(&[]).await).is_empty());
    // Read again (an adapter may predict the chain from what it read before), then after links
    // changed under it: cut at 3, then 3 re-pointed into the cycle, at 8 and then at 7.
    let five = template(5, U1, "").id;
    assert_eq!(ids(ok(s.get_template_chain(&five, 16).await)), want(&[5, 4, 3, 2, 1]));
    let mut three = ok(s.get_template(&template(3, U1, "").id).await).unwrap();
    for (base, expect) in [(None, vec![5, 4, 3]), (Some(b.id.clone()), vec![5, 4, 3, 8, 7]), (Some(a.id.clone()), vec![5, 4, 3, 7, 8])] {
        three.record.base_template_id = base;
        ok(s.commit(vec![put(&three.record, Expect::Rev(three.rev))]).await);
        three.rev += 1;
        assert_eq!(ids(ok(s.get_template_chain(&five, 16).await)), want(&expect));
        assert_eq!(ids(ok(s.get_template_chain(&five, 16).await)), want(&expect), "read twice");
        assert_eq!(ids(ok(s.get_template_chain(&five, 3).await)), want(&[5, 4, 3]), "max");
    }
}

pub async fn import_is_one_transaction<H: Harness>(h: &H) {
    let a = catalog(h, h.fresh().await, U1).await;
    let t = ok(a.create(draft("Exported", json!({}))).await);
    let bundle = ok(a.export_all().await);
    // Into a fresh storage, with one record broken: nothing may be written.
    let target = catalog(h, h.fresh().await, U1).await;
    let mut bad = bundle.clone();
    let mut second = bad["workflow_templates"][0].clone();
    second["id"] = json!("01K00000000000000000000777");
    second["name"] = json!("Second");
    second["config_hash"] = json!("0".repeat(64));
    bad["workflow_templates"].as_array_mut().unwrap().push(second);
    assert!(target.import_all(bad).await.is_err());
    assert_eq!(ok(target.discover(&DiscoverOptions { include_builtin: false, ..Default::default() }).await).total, 0);
    ok(target.import_all(bundle).await);
    assert_eq!(ok(target.get(&t.id).await).name, "Exported");
}

/// The exact usage sums (`usage_totals`) are kept beside templates and built-ins, go with the
/// batch they are written in (all or nothing) and survive a new handle; the catalog's means
/// come from them, not from a rounded mean (issue 10 item 7).
pub async fn usage_totals_are_kept_with_the_statistics<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let t = template(40, U1, "Totals");
    // The cost's partials (with a tiny one and a negative one) come back bit for bit.
    let partials = vec![-2.7755575615628914e-17, 5e-324, 0.6000000000000001];
    let sums = UsageTotals { id: t.id.clone(), usage_count: 3, successes: 2, response_time_ms: (1u64 << 53) - 1, cost_sum: Some(partials) };
    ok(s.commit(vec![put(&t, Expect::Absent), Write::PutUsageTotals { record: sums.clone() }]).await);
    assert_eq!(ok(s.get_usage_totals(&t.id).await).map(|x| x.record), Some(sums.clone()));
    // A failed batch leaves the earlier sums as they were.
    let mut later = sums.clone();
    later.usage_count = 4;
    // A row from before the cost sum was kept has none.
    later.cost_sum = None;
    assert_eq!(code(s.commit(vec![Write::PutUsageTotals { record: later.clone() }, put(&t, Expect::Absent)]).await), "CONFLICT");
    assert_eq!(ok(s.get_usage_totals(&t.id).await).map(|x| x.record), Some(sums.clone()));
    ok(s.commit(vec![Write::PutUsageTotals { record: later.clone() }]).await);
    assert_eq!(ok(h.again().await.get_usage_totals(&t.id).await).map(|x| x.record), Some(later));
    ok(s.commit(vec![Write::DeleteUsageTotals { id: t.id.clone() }, Write::DeleteUsageTotals { id: "01K00000000000000000000999".into() }]).await);
    assert_eq!(ok(s.get_usage_totals(&t.id).await), None);

    // Through the catalog, on a stored template and on a built-in.
    let c = catalog(h, s, U1).await;
    let mine = ok(c.create(draft("Timed", json!({ "is_public": true }))).await);
    for id in [mine.id.as_str(), "00000000000000000000000001"] {
        ok(c.record_usage(id, &UsageRun { success: true, response_time_ms: 1, tokens: 0, cost: 0.0 }).await);
        for _ in 0..9 {
            ok(c.record_usage(id, &UsageRun { success: false, response_time_ms: 100, tokens: 0, cost: 0.0 }).await);
        }
        let again = catalog(h, h.again().await, U2).await;
        let got = ok(again.get(id).await);
        // (1 + 9 * 100) / 10 = 90.1 -> 90, 1 success of 10.
        assert_eq!((got.usage_count, got.avg_response_time_ms, got.success_rate), (10, Some(90), Some(0.1)), "{id}");
    }
}

/// One test per behaviour for a harness: `conformance_tests!(native, harness_expr)` (sync
/// tests run with `block_on`) or `conformance_tests!(wasm, harness_expr)`.
#[macro_export]
macro_rules! conformance_tests {
    ($mode:ident, $h:expr) => {
        $crate::conformance_tests!(@each $mode, $h,
            crud_and_revisions, conditional_writes_refuse_stale_revisions, batches_are_all_or_nothing,
            one_latest_template_per_owner_and_name, every_index_query_matches_a_full_scan,
            discovery_pages_and_orders, discovery_matches_the_catalog_order, own_private_templates_page_in_the_catalog_order,
            discovery_queries_match_a_full_scan,
            catalog_writes_survive_a_new_handle,
            stale_edit_from_another_tab_conflicts, concurrent_usage_from_two_tabs_loses_nothing,
            subscribers_hear_of_changes, import_is_one_transaction, chain_reads_follow_base_pointers,
            usage_totals_are_kept_with_the_statistics,
            label_rows_are_guarded_and_found_by_lineage, labels_through_the_catalog);
    };
    (@each native, $h:expr, $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let h = $h;
                block_on(conformance::$name(&h));
            }
        )*
    };
    (@each wasm, $h:expr, $($name:ident),*) => {
        $(
            #[wasm_bindgen_test]
            async fn $name() {
                let h = $h;
                super::conformance::$name(&h).await;
            }
        )*
    };
}
