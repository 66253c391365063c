//! The IndexedDB adapter: the embedded default in the browser (windows and workers alike: the
//! factory comes from the global scope).
//!
//! Layout. One object store per table plus what ratings and built-in statistics need. A row is
//! `{ rev, record, name_key, is_public, is_latest, is_builtin }`: the record exactly as the
//! core models it, its revision, and derived keys for the indexes. Booleans are stored as 0/1
//! because IndexedDB cannot index `true`/`false`. Index names are the schema's (13) plus
//! compound ones for the lookups discovery and the uniqueness rule make.
//!
//! Transactions. `commit` runs in one readwrite transaction: it issues every read it needs at
//! once, checks revisions, issues every write, checks the latest-name rule with index reads,
//! and aborts on any failure. Nothing but IndexedDB requests is awaited in between (a
//! transaction commits itself when the event loop turns with no request pending).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::IntoFuture;
use std::rc::Rc;

use idb::{Database, Factory, KeyPath, KeyRange, ObjectStore, Query, Transaction, TransactionMode};
use js_sys::{Array, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbTransaction};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};

use super::{check_expect, dom_error, name_key, BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, Write};
use crate::error::{Error, Result};
use crate::model::{TemplateSpec, WorkflowTemplate};

pub const TEMPLATES: &str = "workflow_templates";
pub const SPECS: &str = "template_specs";
pub const RATINGS: &str = "template_ratings";
pub const BUILTIN_STATS: &str = "builtin_stats";
/// The exact usage sums (`super::UsageTotals`), keyed by template id (migration 004).
pub const USAGE_TOTALS: &str = "usage_totals";
/// Counts kept up to date by every commit (so `total` of a browse page is one read, not a
/// count over an index of 100,000 entries).
pub const COUNTERS: &str = "counters";
const PUBLIC_LATEST: &str = "public_latest";
/// Labels (`super::TemplateLabel`), keyed by `TemplateLabel::key` (migration 005).
pub const TEMPLATE_LABELS: &str = "template_labels";
const ALL_STORES: [&str; 7] = [TEMPLATES, SPECS, RATINGS, BUILTIN_STATS, COUNTERS, USAGE_TOTALS, TEMPLATE_LABELS];

/// (name, key path) of every index, per store. The first 13 are the schema's.
const TEMPLATE_INDEXES: [(&str, &[&str]); 18] = [
    ("idx_workflow_templates_owner_id", &["record.owner_id"]),
    ("idx_workflow_templates_name", &["record.name"]),
    ("idx_workflow_templates_workflow_type", &["record.workflow_type"]),
    ("idx_workflow_templates_category", &["record.category"]),
    ("idx_workflow_templates_base_template_id", &["record.base_template_id"]),
    ("idx_workflow_templates_is_builtin", &["is_builtin"]),
    ("idx_workflow_templates_is_latest", &["is_latest"]),
    ("idx_workflow_templates_is_public", &["is_public"]),
    ("idx_workflow_templates_config_hash", &["record.config_hash"]),
    // Compound: one owner's latest template of a name (the uniqueness rule, name lookups).
    ("owner_name_latest", &["record.owner_id", "name_key", "is_latest"]),
    // Compound: the public latest templates (discovery), by category and by type.
    ("public_latest", &["is_public", "is_latest"]),
    ("public_latest_category", &["is_public", "is_latest", "record.category"]),
    ("public_latest_type", &["is_public", "is_latest", "record.workflow_type"]),
    ("owner_latest", &["record.owner_id", "is_latest"]),
    // Ordered: the public latest templates in each discovery sort (`sort_keys`), so the first
    // page is the first rows of an index rather than a sort of every candidate.
    ("public_latest_by_popular", &["is_public", "is_latest", "k_popular"]),
    ("public_latest_by_rating", &["is_public", "is_latest", "k_rating"]),
    ("public_latest_by_recent", &["is_public", "is_latest", "k_recent"]),
    ("public_latest_by_name", &["is_public", "is_latest", "k_name"]),
];
const SPEC_INDEXES: [(&str, &[&str]); 5] = [
    ("idx_template_specs_owner_id", &["record.owner_id"]),
    ("idx_template_specs_name", &["record.name"]),
    ("idx_template_specs_workflow_type", &["record.workflow_type"]),
    ("idx_template_specs_base_template_name", &["record.base_template_name"]),
    ("owner_name", &["record.owner_id", "name_key"]),
];
const RATING_INDEXES: [(&str, &[&str]); 2] =
    [("ratings_by_user", &["record.user_id"]), ("ratings_by_template", &["record.template_id"])];

/// The schema version this build creates: one migration per version, run in order.
pub const SCHEMA_VERSION: u32 = 5;

fn key_path(parts: &[&str]) -> KeyPath {
    if parts.len() == 1 {
        KeyPath::new_single(parts[0])
    } else {
        KeyPath::new_array(parts.iter().copied())
    }
}

/// Migration 001: everything the seed's migration creates, in IndexedDB terms.
fn migrate_001(db: &Database) -> std::result::Result<(), idb::Error> {
    let mut params = idb::ObjectStoreParams::new();
    params.key_path(Some(KeyPath::new_single("record.id")));
    let templates = db.create_object_store(TEMPLATES, params.clone())?;
    for (name, path) in TEMPLATE_INDEXES {
        templates.create_index(name, key_path(path), None)?;
    }
    let specs = db.create_object_store(SPECS, params.clone())?;
    for (name, path) in SPEC_INDEXES {
        specs.create_index(name, key_path(path), None)?;
    }
    let mut rp = idb::ObjectStoreParams::new();
    rp.key_path(Some(KeyPath::new_array(["record.template_id", "record.user_id"])));
    let ratings = db.create_object_store(RATINGS, rp)?;
    for (name, path) in RATING_INDEXES {
        ratings.create_index(name, key_path(path), None)?;
    }
    db.create_object_store(BUILTIN_STATS, params)?;
    Ok(())
}

/// Migration 002: the counters store, with the number of public latest templates counted once
/// here (a request of the upgrade transaction; the upgrade finishes after it).
fn migrate_002(db: &Database, upgrade: &IdbTransaction) -> std::result::Result<(), JsValue> {
    let mut params = idb::ObjectStoreParams::new();
    params.key_path(Some(KeyPath::new_single("name")));
    db.create_object_store(COUNTERS, params).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let templates = upgrade.object_store(TEMPLATES)?;
    let counters = upgrade.object_store(COUNTERS)?;
    let count = templates.index(PUBLIC_LATEST)?.count_with_key(&array_key(&[JsValue::from(1), JsValue::from(1)]))?;
    let c = count.clone();
    let on_count = Closure::once_into_js(move || {
        let n = c.result().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        let _ = counters.put(&to_js_value(&json!({ "name": PUBLIC_LATEST, "value": n })));
    });
    count.set_onsuccess(Some(on_count.unchecked_ref()));
    Ok(())
}

/// Migration 003: each owner's private latest templates in each discovery sort (the browse page
/// merges the viewer's own private ones; without these it read all of them).
const PUBLIC_SORT_INDEXES: [&str; 4] =
    ["public_latest_by_popular", "public_latest_by_rating", "public_latest_by_recent", "public_latest_by_name"];

const PRIVATE_SORT_INDEXES: [(&str, &str); 4] = [
    ("owner_private_latest_by_popular", "k_popular"),
    ("owner_private_latest_by_rating", "k_rating"),
    ("owner_private_latest_by_recent", "k_recent"),
    ("owner_private_latest_by_name", "k_name"),
];

fn migrate_003(upgrade: &IdbTransaction) -> std::result::Result<(), JsValue> {
    let templates = Transaction::from(upgrade.clone()).object_store(TEMPLATES).map_err(|e| JsValue::from_str(&e.to_string()))?;
    for (name, key) in PRIVATE_SORT_INDEXES {
        templates
            .create_index(name, KeyPath::new_array(["record.owner_id", "is_public", "is_latest", key]), None)
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
    }
    Ok(())
}

/// Migration 004: the exact usage sums behind the means (rows appear with the next recorded
/// use; older templates' sums are derived from their stored means then).
fn migrate_004(db: &Database) -> std::result::Result<(), idb::Error> {
    let mut params = idb::ObjectStoreParams::new();
    params.key_path(Some(KeyPath::new_single("record.id")));
    db.create_object_store(USAGE_TOTALS, params)?;
    Ok(())
}

/// Migration 005: labels (issue 14). A row is `{ rev, record, key }` (the key beside the
/// record, as the record has no single id), found by owner (export) and by lineage.
fn migrate_005(db: &Database) -> std::result::Result<(), idb::Error> {
    let mut params = idb::ObjectStoreParams::new();
    params.key_path(Some(KeyPath::new_single("key")));
    let labels = db.create_object_store(TEMPLATE_LABELS, params)?;
    labels.create_index("labels_by_owner", KeyPath::new_single("record.owner_id"), None)?;
    labels.create_index("labels_by_lineage", KeyPath::new_array(["record.owner_id", "record.name_key"]), None)?;
    Ok(())
}

/// Runs the migrations after `old` up to `new`, in order, in the upgrade transaction.
fn migrate(db: &Database, upgrade: &IdbTransaction, old: u32, new: u32) -> std::result::Result<(), JsValue> {
    if old < 1 && new >= 1 {
        migrate_001(db).map_err(|e| JsValue::from_str(&e.to_string()))?;
    }
    if old < 2 && new >= 2 {
        migrate_002(db, upgrade)?;
    }
    if old < 3 && new >= 3 {
        migrate_003(upgrade)?;
    }
    if old < 4 && new >= 4 {
        migrate_004(db).map_err(|e| JsValue::from_str(&e.to_string()))?;
    }
    if old < 5 && new >= 5 {
        migrate_005(db).map_err(|e| JsValue::from_str(&e.to_string()))?;
    }
    Ok(())
}

fn idb_error(what: &str, e: idb::Error) -> Error {
    match e {
        idb::Error::DomException(d) => dom_error(what, &d.name(), &d.message()),
        other => Error::StorageUnavailable(format!("{what}: {other}")),
    }
}

/// A JS exception (a DOMException from a storage API) as a contract error.
pub(super) fn js_error(what: &str, v: &JsValue) -> Error {
    match v.dyn_ref::<js_sys::Error>() {
        Some(e) => {
            let name: String = e.name().into();
            let message: String = e.message().into();
            dom_error(what, &name, &message)
        }
        None => Error::StorageUnavailable(format!("{what}: {v:?}")),
    }
}

/// What the connection knows of its own state, shared with its event handlers.
#[derive(Default)]
pub struct Health {
    /// Set when another tab asked for a newer schema (or a delete) and this connection closed.
    pub closed_by_other: Cell<bool>,
    /// Called once when that happens (the facade tells subscribers).
    pub on_closed: RefCell<Option<Box<dyn Fn()>>>,
}

pub struct IndexedDbStore {
    /// The raw handle: `idb::Database` values are made from it when its API is wanted.
    db: IdbDatabase,
    name: String,
    health: Rc<Health>,
    _on_version_change: Closure<dyn FnMut()>,
    /// Base pointers as last read (id -> base id), to predict a chain and request all of it at
    /// once. Only a hint: every row read is checked against the prediction.
    bases: RefCell<HashMap<String, Option<String>>>,
}

/// Entries the chain hint keeps before it starts over (bounded memory).
const BASE_HINTS: usize = 4096;

/// How an open failure starts when falling back to localStorage is right: no IndexedDB at
/// all, or one the browser refuses (private modes: InvalidStateError, SecurityError). Other
/// failures (a newer schema, a failed migration) must reach the app instead.
pub const REFUSED: &str = "IndexedDB is not available in this environment";

fn factory() -> Result<IdbFactory> {
    Factory::new().map(Into::into).map_err(|_| Error::StorageUnavailable(REFUSED.into()))
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the database `name` at this build's schema version.
    pub async fn open(name: &str) -> Result<IndexedDbStore> {
        Self::open_at(name, SCHEMA_VERSION).await
    }

    /// Opens `name` at `version`, running the migrations up to it. A `blocked` open is reported
    /// at once rather than left hanging. (Public for tests that simulate a newer release.)
    #[doc(hidden)]
    pub async fn open_at(name: &str, version: u32) -> Result<IndexedDbStore> {
        let raw = factory()?;
        let req = raw.open_with_u32(name, version).map_err(|e| js_error("opening the database", &e))?;
        let upgrade_failed: Rc<RefCell<Option<Error>>> = Rc::default();
        let (r, failed) = (req.clone(), upgrade_failed.clone());
        let on_upgrade = Closure::once_into_js(move |event: web_sys::IdbVersionChangeEvent| {
            let old = event.old_version() as u32;
            let result = r.result().map_err(|e| js_error("upgrading the database schema", &e)).and_then(|db| {
                let upgrade = r.transaction().ok_or_else(|| Error::StorageUnavailable("the upgrade has no transaction".into()))?;
                migrate(&Database::from(db.unchecked_into::<IdbDatabase>()), &upgrade, old, version)
                    .map_err(|e| js_error("upgrading the database schema", &e))
            });
            if let Err(e) = result {
                *failed.borrow_mut() = Some(e);
                if let Some(tx) = r.transaction() {
                    let _ = tx.abort();
                }
            }
        });
        req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let outcome = settle(&req).await;
        if let Some(e) = upgrade_failed.borrow_mut().take() {
            return Err(e);
        }
        match outcome {
            Ok(db) => Ok(Self::wrap(db.unchecked_into(), name)),
            Err(Blocked) => Err(Error::StorageUnavailable(format!(
                "opening {name:?} is blocked: another tab holds the database open at an older schema version; close or reload it"
            ))),
            Err(Failed(e)) => {
                let name = e.dyn_ref::<js_sys::Error>().map(|x| String::from(x.name())).unwrap_or_default();
                if name == "InvalidStateError" || name == "SecurityError" {
                    Err(Error::StorageUnavailable(format!("{REFUSED}: the browser refused it ({name})")))
                } else {
                    Err(js_error("opening the database", &e))
                }
            }
        }
    }

    /// When another tab upgrades or deletes the database, close at once (so it is not blocked)
    /// and remember it: later calls fail with STORAGE_UNAVAILABLE and subscribers are told.
    fn wrap(db: IdbDatabase, name: &str) -> Self {
        let health = Rc::new(Health::default());
        let (h, d) = (health.clone(), db.clone());
        let on_version_change = Closure::<dyn FnMut()>::new(move || {
            d.close();
            if !h.closed_by_other.replace(true) {
                if let Some(f) = h.on_closed.borrow().as_ref() {
                    f();
                }
            }
        });
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        IndexedDbStore { db, name: name.to_string(), health, _on_version_change: on_version_change, bases: RefCell::new(HashMap::new()) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn health(&self) -> Rc<Health> {
        self.health.clone()
    }

    pub fn close(&self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }

    fn check_open(&self) -> Result<()> {
        if self.health.closed_by_other.get() {
            return Err(Error::StorageUnavailable(
                "the database was upgraded or deleted by another tab; this catalog is closed: reload the page".into(),
            ));
        }
        Ok(())
    }

    fn tx(&self, stores: &[&str], mode: TransactionMode) -> Result<IdbTransaction> {
        self.check_open()?;
        Database::from(self.db.clone())
            .transaction(stores, mode)
            .map(Into::into)
            .map_err(|e| idb_error("starting a transaction", e))
    }

    fn store_of(tx: &IdbTransaction, name: &str) -> Result<ObjectStore> {
        Transaction::from(tx.clone()).object_store(name).map_err(|e| idb_error("opening an object store", e))
    }

    async fn get_row<T: DeserializeOwned>(&self, store: &str, key: JsValue) -> Result<Option<Stored<T>>> {
        self.check_open()?;
        let text = JsFuture::from(read_row(&self.db, store, &key)).await.map_err(|e| js_error("reading", &e))?;
        match text.as_string() {
            Some(text) => parse_row_text(&text).map(Some),
            None => Ok(None),
        }
    }

    /// Every row of `store` whose `index` key is `query` (the whole store when `index` is None),
    /// read with one `getAll` and converted in one step.
    async fn get_all<T: DeserializeOwned>(&self, store: &str, index: Option<&str>, query: Option<Query>) -> Result<Vec<Stored<T>>> {
        let tx = self.tx(&[store], TransactionMode::ReadOnly)?;
        let os = Self::store_of(&tx, store)?;
        let rows = match index {
            Some(i) => {
                let ix = os.index(i).map_err(|e| idb_error("reading an index", e))?;
                ix.get_all(query, None).map_err(|e| idb_error("reading", e))?.await
            }
            None => os.get_all(query, None).map_err(|e| idb_error("reading", e))?.await,
        }
        .map_err(|e| idb_error("reading", e))?;
        parse_rows(rows)
    }
}

/// A store dropped without `close` must not leave its `versionchange` handler (about to be
/// freed) on a connection that stays open.
impl Drop for IndexedDbStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// How an open or delete request ended, when it did not succeed.
enum Unsettled {
    Blocked,
    Failed(JsValue),
}
use Unsettled::{Blocked, Failed};

/// How long a `blocked` request may still succeed before it is reported (Chrome also reports
/// connections that are closing, which let the request through a moment later).
const BLOCKED_GRACE_MS: i32 = 1000;
/// How long a request may make no progress at all (queued behind another tab's pending open).
const STALL_MS: i32 = 10_000;

fn after_ms(ms: i32, f: &JsValue) {
    if let Ok(set_timeout) = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout")) {
        if let Some(set_timeout) = set_timeout.dyn_ref::<js_sys::Function>() {
            let _ = set_timeout.call2(&JsValue::NULL, f, &JsValue::from(ms));
        }
    }
}

/// Waits for an open or delete request: its result, or `Blocked` when another connection
/// keeps blocking it past a short grace, or when it makes no progress at all (reported, not
/// left hanging). If a request given up on succeeds later, the connection nobody waits for is
/// closed at once, so it does not block the other tab in turn.
async fn settle(req: &IdbOpenDbRequest) -> std::result::Result<JsValue, Unsettled> {
    let settled = Rc::new(Cell::new(false));
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let (r, s) = (req.clone(), settled.clone());
        let on_success = Closure::once_into_js(move || {
            let result = r.result().unwrap_or(JsValue::UNDEFINED);
            if s.replace(true) {
                if let Some(db) = result.dyn_ref::<IdbDatabase>() {
                    db.close();
                }
            } else {
                let _ = resolve.call1(&JsValue::NULL, &result);
            }
        });
        req.set_onsuccess(Some(on_success.unchecked_ref()));
        let (r, s, rej) = (req.clone(), settled.clone(), reject.clone());
        let on_error = Closure::once_into_js(move || {
            if !s.replace(true) {
                let e = r.error().ok().flatten().map(JsValue::from).unwrap_or(JsValue::NULL);
                let _ = rej.call1(&JsValue::NULL, &js_sys::Array::of1(&e));
            }
        });
        req.set_onerror(Some(on_error.unchecked_ref()));
        let give_up = {
            let s = settled.clone();
            Closure::<dyn Fn()>::new(move || {
                if !s.replace(true) {
                    let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("blocked"));
                }
            })
            .into_js_value()
        };
        let g = give_up.clone();
        let on_blocked = Closure::once_into_js(move || after_ms(BLOCKED_GRACE_MS, &g));
        req.set_onblocked(Some(on_blocked.unchecked_ref()));
        after_ms(STALL_MS, &give_up);
    });
    JsFuture::from(promise).await.map_err(|e| match e.dyn_ref::<js_sys::Array>() {
        Some(a) => Failed(a.get(0)),
        None => Blocked,
    })
}

#[derive(Deserialize)]
struct Row<T> {
    rev: u64,
    record: T,
}

fn parse_row<T: DeserializeOwned>(v: &JsValue) -> Result<Stored<T>> {
    let text: String = JSON::stringify(v).map_err(|_| Error::corrupt("a stored row could not be read"))?.into();
    parse_row_text(&text)
}

fn parse_row_text<T: DeserializeOwned>(text: &str) -> Result<Stored<T>> {
    let r: Row<T> = serde_json::from_str(text).map_err(|e| Error::corrupt(format!("a stored row does not match the schema: {e}")))?;
    Ok(Stored { rev: r.rev, record: r.record })
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    /// See js/storage.js: one readonly get, the row's `{ rev, record }` as JSON text or null.
    #[wasm_bindgen(js_name = readRow)]
    fn read_row(db: &IdbDatabase, store: &str, key: &JsValue) -> js_sys::Promise;
}

fn parse_rows<T: DeserializeOwned>(rows: Vec<JsValue>) -> Result<Vec<Stored<T>>> {
    let arr: Array = rows.into_iter().collect();
    let text: String = JSON::stringify(&arr).map_err(|_| Error::corrupt("stored rows could not be read"))?.into();
    let rows: Vec<Row<T>> = serde_json::from_str(&text).map_err(|e| Error::corrupt(format!("a stored row does not match the schema: {e}")))?;
    Ok(rows.into_iter().map(|r| Stored { rev: r.rev, record: r.record }).collect())
}

fn to_js_value(v: &Value) -> JsValue {
    JSON::parse(&v.to_string()).unwrap_or(JsValue::NULL)
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

fn template_row(rev: u64, t: &WorkflowTemplate) -> Value {
    let k = sort_keys(t);
    json!({ "rev": rev, "record": t, "name_key": name_key(&t.name),
            "is_public": flag(t.is_public), "is_latest": flag(t.is_latest), "is_builtin": flag(t.is_builtin),
            "k_popular": k[0], "k_rating": k[1], "k_recent": k[2], "k_name": k[3] })
}

/// Index keys whose ascending order is exactly `catalog::discover::order` for each sort
/// (popular, rating, recent, name). Names are arrays of code points: IndexedDB compares
/// strings by UTF-16 code units, which differs from Rust's order for characters above U+FFFF.
/// Descending parts are negated; a missing rating sorts last.
pub fn sort_keys(t: &WorkflowTemplate) -> [Value; 4] {
    let cps = |s: &str| Value::Array(s.chars().map(|c| Value::from(c as u32)).collect());
    let (lower, name) = (cps(&t.name.to_lowercase()), cps(&t.name));
    let rating = t.rating.map(|r| -r).unwrap_or(1e9);
    let id_desc = Value::Array(t.id.chars().map(|c| Value::from(-(c as i64))).collect());
    let updated = crate::model::time::parse_ms(&t.updated_at).unwrap_or(0);
    [
        json!([-(t.usage_count as f64), rating, lower, name, t.id]),
        json!([rating, -(t.rating_count as f64), lower, name, t.id]),
        json!([-(updated as f64), id_desc]),
        json!([lower, name, t.id]),
    ]
}

fn spec_row(rev: u64, s: &TemplateSpec) -> Value {
    json!({ "rev": rev, "record": s, "name_key": name_key(&s.name) })
}

fn plain_row<T: serde::Serialize>(rev: u64, r: &T) -> Value {
    json!({ "rev": rev, "record": r })
}

fn str_key(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn rating_key(template_id: &str, user_id: &str) -> JsValue {
    Array::of2(&str_key(template_id), &str_key(user_id)).into()
}

fn array_key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

/// The key range of every compound key that starts with `prefix`.
fn prefix_range(prefix: &[JsValue]) -> Result<Query> {
    let lower = array_key(prefix);
    let mut upper: Vec<JsValue> = prefix.to_vec();
    upper.push(Array::new().into()); // arrays sort after every other key type
    KeyRange::bound(&lower, &array_key(&upper), Some(false), Some(false))
        .map(Query::from)
        .map_err(|e| idb_error("building a key range", e))
}

/// Builds the row a put stores, given the revision it gets.
type MakeRow = Box<dyn Fn(u64) -> Value>;

/// The store, key and expectation a write is about, and the row it puts (None: delete).
struct Planned {
    store: &'static str,
    key: JsValue,
    /// The key as text, to recognise a key written twice in one batch.
    key_text: String,
    label: String,
    expect: Expect,
    row: Option<MakeRow>,
    /// (owner, name key) when this write leaves a latest template that must be unique.
    claims: Option<(String, String, String)>,
    /// Whether the key holds a public latest template after this write.
    public_latest: bool,
}

impl Planned {
    /// The key as JSON, for the writes handed to JS (ratings have `[template_id, user_id]`
    /// keys, see `rating_key`; every other store a string).
    fn key_json(&self) -> Value {
        match self.key.as_string() {
            Some(k) => Value::String(k),
            None => {
                let part = |i: u32| Value::String(Array::from(&self.key).get(i).as_string().unwrap_or_default());
                json!([part(0), part(1)])
            }
        }
    }
}

/// Whether a stored template row is public and latest.
fn public_latest(row: &JsValue) -> bool {
    let flag = |k: &str| js_sys::Reflect::get(row, &JsValue::from_str(k)).ok().and_then(|v| v.as_f64()) == Some(1.0);
    flag("is_public") && flag("is_latest")
}

fn plan(w: Write) -> Planned {
    match w {
        Write::PutTemplate { record, expect } => {
            let claims = record.is_latest.then(|| (record.owner_id.clone(), name_key(&record.name), record.name.clone()));
            let key = str_key(&record.id);
            let label = record.id.clone();
            let public_latest = record.is_public && record.is_latest;
            Planned { store: TEMPLATES, key, key_text: label.clone(), label, expect, row: Some(Box::new(move |rev| template_row(rev, &record))), claims, public_latest }
        }
        Write::DeleteTemplate { id, expect } => Planned { store: TEMPLATES, key: str_key(&id), key_text: id.clone(), label: id, expect, row: None, claims: None, public_latest: false },
        Write::PutSpec { record, expect } => {
            let key = str_key(&record.id);
            let label = record.id.clone();
            Planned { store: SPECS, key, key_text: label.clone(), label, expect, row: Some(Box::new(move |rev| spec_row(rev, &record))), claims: None, public_latest: false }
        }
        Write::DeleteSpec { id, expect } => Planned { store: SPECS, key: str_key(&id), key_text: id.clone(), label: id, expect, row: None, claims: None, public_latest: false },
        Write::PutRating { record, expect } => {
            let key = rating_key(&record.template_id, &record.user_id);
            let key_text = format!("{}:{}", record.template_id, record.user_id);
            let label = record.template_id.clone();
            Planned { store: RATINGS, key, key_text, label, expect, row: Some(Box::new(move |rev| plain_row(rev, &record))), claims: None, public_latest: false }
        }
        Write::DeleteRating { template_id, user_id } => {
            let key_text = format!("{template_id}:{user_id}");
            Planned { store: RATINGS, key: rating_key(&template_id, &user_id), key_text, label: template_id, expect: Expect::Any, row: None, claims: None, public_latest: false }
        }
        Write::PutBuiltinStats { record, expect } => {
            let key = str_key(&record.id);
            let label = record.id.clone();
            Planned { store: BUILTIN_STATS, key, key_text: label.clone(), label, expect, row: Some(Box::new(move |rev| plain_row(rev, &record))), claims: None, public_latest: false }
        }
        Write::PutUsageTotals { record } => {
            let key = str_key(&record.id);
            let label = record.id.clone();
            Planned { store: USAGE_TOTALS, key, key_text: label.clone(), label, expect: Expect::Any, row: Some(Box::new(move |rev| plain_row(rev, &record))), claims: None, public_latest: false }
        }
        Write::DeleteUsageTotals { id } => Planned { store: USAGE_TOTALS, key: str_key(&id), key_text: id.clone(), label: id, expect: Expect::Any, row: None, claims: None, public_latest: false },
        Write::PutLabel { record, expect } => {
            let key = record.key();
            let row_key = key.clone();
            Planned {
                store: TEMPLATE_LABELS,
                key: str_key(&key),
                key_text: key.clone(),
                label: key,
                expect,
                row: Some(Box::new(move |rev| json!({ "rev": rev, "record": record, "key": row_key }))),
                claims: None,
                public_latest: false,
            }
        }
        Write::DeleteLabel { key, expect } => Planned { store: TEMPLATE_LABELS, key: str_key(&key), key_text: key.clone(), label: key, expect, row: None, claims: None, public_latest: false },
    }
}

fn rev_of(v: &Option<JsValue>) -> Option<u64> {
    v.as_ref().and_then(|v| js_sys::Reflect::get(v, &"rev".into()).ok()).and_then(|r| r.as_f64()).map(|r| r as u64)
}

impl IndexedDbStore {
    async fn commit_in(&self, tx: &IdbTransaction, writes: Vec<Write>) -> Result<()> {
        let planned: Vec<Planned> = writes.into_iter().map(plan).collect();
        let stores: Vec<ObjectStore> = planned.iter().map(|p| Self::store_of(tx, p.store)).collect::<Result<_>>()?;
        // 1. The stored revisions the batch needs, requested at once. Not needed: creates (an
        //    `add` fails by itself if the key exists), unconditional deletes, and keys an
        //    earlier write of this batch already set.
        let mut touched: HashSet<(&'static str, &str)> = HashSet::with_capacity(planned.len());
        let mut reads = Vec::with_capacity(planned.len());
        for (p, os) in planned.iter().zip(&stores) {
            let first = touched.insert((p.store, p.key_text.as_str()));
            let create = p.row.is_some() && p.expect == Expect::Absent;
            // Template deletes read the old row too: the public-latest counter needs it.
            let needed = first && !create && !(p.row.is_none() && p.expect == Expect::Any && p.store != TEMPLATES);
            reads.push(if needed { Some(os.get(Query::Key(p.key.clone())).map_err(|e| idb_error("reading", e))?.into_future()) } else { None });
        }
        let counters = Self::store_of(tx, COUNTERS)?;
        let counter_read = match planned.iter().any(|p| p.store == TEMPLATES) {
            true => Some(counters.get(Query::Key(str_key(PUBLIC_LATEST))).map_err(|e| idb_error("reading", e))?.into_future()),
            false => None,
        };
        // Every request future is awaited before anything returns: the `idb` crate frees a
        // request's handlers with its future, and a request still pending would then call a
        // freed closure.
        let counter = match counter_read {
            Some(f) => f.await.map_err(|e| idb_error("reading", e))?,
            None => None,
        };
        let mut revs = Vec::with_capacity(reads.len());
        for r in reads {
            revs.push(match r {
                Some(f) => Some(f.await),
                None => None,
            });
        }
        // 2. Expectations, in batch order (later writes see earlier ones), and how the number
        //    of public latest templates moves.
        let mut known: HashMap<(&'static str, &str), Option<u64>> = HashMap::with_capacity(planned.len());
        let mut member: HashMap<&str, bool> = HashMap::new();
        let mut delta: i64 = 0;
        let mut ops = Vec::with_capacity(planned.len());
        for (p, read) in planned.iter().zip(revs) {
            let k = (p.store, p.key_text.as_str());
            let earlier = known.get(&k).copied();
            let read = read.transpose().map_err(|e| idb_error("reading", e))?.flatten();
            if p.store == TEMPLATES {
                let was = member.get(p.key_text.as_str()).copied().unwrap_or_else(|| read.as_ref().is_some_and(public_latest));
                let now = p.public_latest;
                delta += i64::from(now) - i64::from(was);
                member.insert(p.key_text.as_str(), now);
            }
            let current = match earlier {
                Some(r) => r,
                None => rev_of(&read),
            };
            let add = earlier.is_none() && p.row.is_some() && p.expect == Expect::Absent;
            let rev = check_expect(p.expect, current, &p.label)?;
            known.insert(k, p.row.as_ref().map(|_| rev));
            ops.push((rev, add));
        }
        // 3. Every write, then 4. the latest-name rule read back through the compound index
        //    (reads in a transaction see its own writes): issued by JS a chunk of rows at a
        //    time, so IndexedDB writes one chunk while the next is built.
        const CHUNK: usize = 256;
        let batch = write_batch(tx);
        let mut chunk = String::with_capacity(CHUNK * 2048);
        let mut in_chunk = 0;
        let mut adds: Vec<bool> = Vec::with_capacity(planned.len() + 1);
        let mut push = |op: Value, add: bool, chunk: &mut String, in_chunk: &mut usize| {
            chunk.push(if *in_chunk == 0 { '[' } else { ',' });
            chunk.push_str(&op.to_string());
            *in_chunk += 1;
            adds.push(add);
            if *in_chunk == CHUNK {
                chunk.push(']');
                write_chunk(&batch, chunk);
                chunk.clear();
                *in_chunk = 0;
            }
        };
        for (p, (rev, add)) in planned.iter().zip(ops) {
            let op = match (&p.row, add) {
                (Some(make), true) => json!({ "s": p.store, "op": "add", "v": make(rev) }),
                (Some(make), false) => json!({ "s": p.store, "op": "put", "v": make(rev) }),
                (None, _) => json!({ "s": p.store, "op": "delete", "k": p.key_json() }),
            };
            push(op, add, &mut chunk, &mut in_chunk);
        }
        // The counter moves with the batch (a database without one keeps counting on reads).
        if delta != 0 {
            if let Some(n) = counter.as_ref().and_then(|c| js_sys::Reflect::get(c, &"value".into()).ok()).and_then(|v| v.as_f64()) {
                let row = json!({ "name": PUBLIC_LATEST, "value": (n as i64 + delta).max(0) });
                push(json!({ "s": COUNTERS, "op": "put", "v": row }), false, &mut chunk, &mut in_chunk);
            }
        }
        if in_chunk > 0 {
            chunk.push(']');
            write_chunk(&batch, &chunk);
        }
        drop(push);
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        let mut claims: Vec<(&str, &str, &str)> = Vec::new();
        for p in &planned {
            if let Some((owner, key, name)) = &p.claims {
                if seen.insert((owner.as_str(), key.as_str())) {
                    claims.push((owner, key, name));
                }
            }
        }
        let claims_json = Value::Array(claims.iter().map(|(o, k, _)| json!([o, k])).collect()).to_string();
        let outcome = JsFuture::from(write_end(&batch, &claims_json)).await.map_err(|e| js_error("writing", &e))?;
        if outcome.is_null() || outcome.is_undefined() {
            return Ok(());
        }
        let get = |k: &str| js_sys::Reflect::get(&outcome, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let text = |k: &str| get(k).as_string().unwrap_or_default();
        if let Some(i) = get("write").as_f64() {
            let i = i as usize;
            let added = adds.get(i).copied().unwrap_or(false);
            return Err(match (text("name").as_str(), added) {
                // The create found the key taken (by another tab since this batch was planned).
                ("ConstraintError", true) => {
                    Error::Conflict { id: planned.get(i).map(|p| p.label.clone()).unwrap_or_default(), expected: "absent".into(), actual: "present".into() }
                }
                (name, _) => dom_error("writing", name, &text("message")),
            });
        }
        let j = get("claim").as_f64().unwrap_or(0.0) as usize;
        Err(match get("count").as_f64() {
            Some(_) => Error::NameTaken { name: claims.get(j).map(|c| c.2.to_string()).unwrap_or_default() },
            None => dom_error("reading", &text("name"), &text("message")),
        })
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    // See js/storage.js: a commit's writes (in chunks) and name-rule counts, issued at once.
    #[wasm_bindgen(js_name = writeBatch)]
    fn write_batch(tx: &IdbTransaction) -> JsValue;
    #[wasm_bindgen(js_name = writeChunk)]
    fn write_chunk(batch: &JsValue, writes: &str);
    #[wasm_bindgen(js_name = writeEnd)]
    fn write_end(batch: &JsValue, claims: &str) -> js_sys::Promise;
}

/// The position of a discovery sort in the ordered-index lists.
fn sort_slot(sort: crate::catalog::Sort) -> usize {
    use crate::catalog::Sort;
    match sort {
        Sort::Popular => 0,
        Sort::Rating => 1,
        Sort::Recent => 2,
        Sort::Name => 3,
    }
}

impl IndexedDbStore {
    /// Remembers the base pointers of rows just read (the chain prediction's hint).
    fn learn(&self, chain: Vec<Stored<WorkflowTemplate>>) -> Vec<Stored<WorkflowTemplate>> {
        let mut bases = self.bases.borrow_mut();
        if bases.len() + chain.len() > BASE_HINTS {
            bases.clear();
        }
        for s in &chain {
            bases.insert(s.record.id.clone(), s.record.base_template_id.clone());
        }
        chain
    }
}

impl Store for IndexedDbStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        self.get_row(TEMPLATES, str_key(id)).await
    }

    /// One readonly transaction; every `get` is issued before any is awaited, so the reads are
    /// pipelined instead of paying a round trip each (import checks thousands of ids).
    async fn get_templates(&self, ids: &[String]) -> Result<Vec<Option<Stored<WorkflowTemplate>>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.tx(&[TEMPLATES], TransactionMode::ReadOnly)?;
        let os = Self::store_of(&tx, TEMPLATES)?;
        let mut requests = Vec::with_capacity(ids.len());
        for id in ids {
            requests.push(os.get(Query::Key(str_key(id))).map_err(|e| idb_error("reading", e))?);
        }
        // Awaited to the last one even after a failure: a request's handlers live in its future.
        let mut rows = Vec::with_capacity(ids.len());
        for r in requests {
            rows.push(r.await);
        }
        rows.into_iter()
            .map(|r| match r.map_err(|e| idb_error("reading", e))? {
                Some(row) => parse_row(&row).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// One readonly transaction for the whole chain. IndexedDB answers each request after a
    /// round trip to the browser's storage backend, so a chain read one link at a time costs 16
    /// round trips for 16 levels. The chain is predicted from the base pointers this handle read
    /// before and every predicted row is requested at once; the rows are then followed link by
    /// link, and from the first row that breaks the prediction on, the rest is read one by one
    /// in the same transaction (each request issued from the previous one's success, while the
    /// transaction is still active).
    async fn get_template_chain(&self, id: &str, max: usize) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let stop = |id: &str, out: &[Stored<WorkflowTemplate>]| {
            out.len() >= max || crate::builtin::get(id).is_some() || out.iter().any(|s| s.record.id == id)
        };
        let mut predicted: Vec<String> = vec![id.to_string()];
        {
            let bases = self.bases.borrow();
            while let Some(Some(b)) = predicted.last().and_then(|x| bases.get(x)) {
                if predicted.len() >= max || predicted.contains(b) || crate::builtin::get(b).is_some() {
                    break;
                }
                predicted.push(b.clone());
            }
        }
        let tx = self.tx(&[TEMPLATES], TransactionMode::ReadOnly)?;
        let os = Self::store_of(&tx, TEMPLATES)?;
        // Issue every predicted request before awaiting any; all of them are awaited (a request
        // future dropped early would free the handlers its events still call).
        let requests: Vec<_> = predicted.iter().map(|id| os.get(Query::Key(str_key(id)))).collect();
        let mut rows = Vec::with_capacity(requests.len());
        for r in requests {
            rows.push(match r {
                Ok(request) => request.await.ok().flatten(),
                Err(_) => None,
            });
        }
        let mut out: Vec<Stored<WorkflowTemplate>> = Vec::new();
        let mut next = Some(id.to_string());
        // Follow the rows read ahead while they agree with the links.
        for (want, row) in predicted.iter().zip(rows) {
            let Some(id) = next.take() else { break };
            if *want != id || stop(&id, &out) {
                next = Some(id);
                break;
            }
            // Anything unreadable ends the read ahead; the catalog reads that id itself and
            // reports it properly.
            let Some(s) = row.and_then(|row| parse_row::<WorkflowTemplate>(&row).ok()) else { return Ok(self.learn(out)) };
            next = s.record.base_template_id.clone();
            out.push(s);
        }
        // The rest, one link at a time.
        while let Some(id) = next.take() {
            if stop(&id, &out) {
                break;
            }
            let row = match os.get(Query::Key(str_key(&id))) {
                Ok(request) => request.await,
                Err(_) => break,
            };
            let Ok(Some(row)) = row else { break };
            let Ok(s) = parse_row::<WorkflowTemplate>(&row) else { break };
            next = s.record.base_template_id.clone();
            out.push(s);
        }
        Ok(self.learn(out))
    }

    async fn find_templates(&self, f: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        // The most selective index the filter allows; the rest of the filter is applied after.
        let (index, query) = match f {
            TemplateFilter { owner_id: Some(o), name_key: Some(n), is_latest: Some(l), .. } => {
                ("owner_name_latest", Query::Key(array_key(&[str_key(o), str_key(n), JsValue::from(flag(*l))])))
            }
            TemplateFilter { owner_id: Some(o), name_key: Some(n), .. } => ("owner_name_latest", prefix_range(&[str_key(o), str_key(n)])?),
            TemplateFilter { owner_id: Some(o), is_latest: Some(l), .. } => ("owner_latest", Query::Key(array_key(&[str_key(o), JsValue::from(flag(*l))]))),
            TemplateFilter { owner_id: Some(o), .. } => ("idx_workflow_templates_owner_id", Query::Key(str_key(o))),
            TemplateFilter { base_template_id: Some(b), .. } => ("idx_workflow_templates_base_template_id", Query::Key(str_key(b))),
            TemplateFilter { config_hash: Some(h), .. } => ("idx_workflow_templates_config_hash", Query::Key(str_key(h))),
            TemplateFilter { is_public: Some(p), is_latest: Some(l), category: Some(c), .. } => (
                "public_latest_category",
                Query::Key(array_key(&[JsValue::from(flag(*p)), JsValue::from(flag(*l)), str_key(c.as_str())])),
            ),
            TemplateFilter { is_public: Some(p), is_latest: Some(l), workflow_type: Some(w), .. } => (
                "public_latest_type",
                Query::Key(array_key(&[JsValue::from(flag(*p)), JsValue::from(flag(*l)), str_key(w.as_str())])),
            ),
            TemplateFilter { is_public: Some(p), is_latest: Some(l), .. } => {
                ("public_latest", Query::Key(array_key(&[JsValue::from(flag(*p)), JsValue::from(flag(*l))])))
            }
            TemplateFilter { category: Some(c), .. } => ("idx_workflow_templates_category", Query::Key(str_key(c.as_str()))),
            TemplateFilter { workflow_type: Some(w), .. } => ("idx_workflow_templates_workflow_type", Query::Key(str_key(w.as_str()))),
            TemplateFilter { is_public: Some(p), .. } => ("idx_workflow_templates_is_public", Query::Key(JsValue::from(flag(*p)))),
            TemplateFilter { is_latest: Some(l), .. } => ("idx_workflow_templates_is_latest", Query::Key(JsValue::from(flag(*l)))),
            _ => {
                let all: Vec<Stored<WorkflowTemplate>> = self.get_all(TEMPLATES, None, None).await?;
                return Ok(all.into_iter().filter(|s| f.matches(&s.record)).collect());
            }
        };
        let rows: Vec<Stored<WorkflowTemplate>> = self.get_all(TEMPLATES, Some(index), Some(query)).await?;
        Ok(rows.into_iter().filter(|s| f.matches(&s.record)).collect())
    }

    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        self.get_row(SPECS, str_key(id)).await
    }

    async fn find_specs(&self, f: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        let (index, query) = match f {
            SpecFilter { owner_id: Some(o), name_key: Some(n), .. } => ("owner_name", Query::Key(array_key(&[str_key(o), str_key(n)]))),
            SpecFilter { owner_id: Some(o), .. } => ("idx_template_specs_owner_id", Query::Key(str_key(o))),
            SpecFilter { base_template_name: Some(b), .. } => ("idx_template_specs_base_template_name", Query::Key(str_key(b))),
            SpecFilter { workflow_type: Some(w), .. } => ("idx_template_specs_workflow_type", Query::Key(str_key(w.as_str()))),
            _ => {
                let all: Vec<Stored<TemplateSpec>> = self.get_all(SPECS, None, None).await?;
                return Ok(all.into_iter().filter(|s| f.matches(&s.record)).collect());
            }
        };
        let rows: Vec<Stored<TemplateSpec>> = self.get_all(SPECS, Some(index), Some(query)).await?;
        Ok(rows.into_iter().filter(|s| f.matches(&s.record)).collect())
    }

    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        self.get_row(RATINGS, rating_key(template_id, user_id)).await
    }

    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        let rows: Vec<Stored<Rating>> = match (user_id, template_id) {
            (Some(u), _) => self.get_all(RATINGS, Some("ratings_by_user"), Some(Query::Key(str_key(u)))).await?,
            (None, Some(t)) => self.get_all(RATINGS, Some("ratings_by_template"), Some(Query::Key(str_key(t)))).await?,
            (None, None) => self.get_all(RATINGS, None, None).await?,
        };
        Ok(rows
            .into_iter()
            .filter(|r| user_id.is_none_or(|u| u == r.record.user_id) && template_id.is_none_or(|t| t == r.record.template_id))
            .collect())
    }

    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        self.get_row(BUILTIN_STATS, str_key(id)).await
    }

    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        self.get_all(BUILTIN_STATS, None, None).await
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<super::UsageTotals>>> {
        self.get_row(USAGE_TOTALS, str_key(id)).await
    }

    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<super::TemplateLabel>>> {
        let rows: Vec<Stored<super::TemplateLabel>> = match name_key {
            Some(n) => self.get_all(TEMPLATE_LABELS, Some("labels_by_lineage"), Some(Query::Key(array_key(&[str_key(owner_id), str_key(n)])))).await?,
            None => self.get_all(TEMPLATE_LABELS, Some("labels_by_owner"), Some(Query::Key(str_key(owner_id)))).await?,
        };
        Ok(rows.into_iter().filter(|l| l.record.owner_id == owner_id && name_key.is_none_or(|n| n == l.record.name_key)).collect())
    }

    /// The browse page's reads in one readonly transaction, every request issued before any is
    /// awaited: the public page and its counter, the viewer's private page and its count, the
    /// built-ins' statistics. One round trip to the storage backend instead of three.
    async fn browse_page(&self, owner: &str, sort: crate::catalog::Sort, n: usize, builtins: bool) -> Result<Option<crate::store::BrowseRead>> {
        let tx = self.tx(&[TEMPLATES, COUNTERS, BUILTIN_STATS], TransactionMode::ReadOnly)?;
        let os = Self::store_of(&tx, TEMPLATES)?;
        let names = os.index_names();
        let (public_index, private_index) = (PUBLIC_SORT_INDEXES[sort_slot(sort)], PRIVATE_SORT_INDEXES[sort_slot(sort)].0);
        if !names.iter().any(|i| i == public_index) {
            return Ok(None);
        }
        let has_private = names.iter().any(|i| i == private_index);
        let limit = Some(n.min(u32::MAX as usize) as u32);
        let range = |lower: &[JsValue], upper: &[JsValue]| {
            KeyRange::bound(&array_key(lower), &array_key(upper), Some(false), Some(true)).map(Query::from).map_err(|e| idb_error("building a key range", e))
        };
        let (one, two, zero) = (JsValue::from(1), JsValue::from(2), JsValue::from(0));
        let public_range = range(&[one.clone(), one.clone()], &[one.clone(), two.clone()])?;
        let public_rows = os.index(public_index).map_err(|e| idb_error("reading an index", e))?.get_all(Some(public_range), limit);
        let public_rows = public_rows.map_err(|e| idb_error("reading", e))?.into_future();
        let counter = Self::store_of(&tx, COUNTERS)?.get(Query::Key(str_key(PUBLIC_LATEST))).map_err(|e| idb_error("reading", e))?.into_future();
        let private = if has_private {
            let o = str_key(owner);
            let r = range(&[o.clone(), zero.clone(), one.clone()], &[o, zero, two])?;
            let ix = os.index(private_index).map_err(|e| idb_error("reading an index", e))?;
            let rows = ix.get_all(Some(r.clone()), limit).map_err(|e| idb_error("reading", e))?.into_future();
            let count = ix.count(Some(r)).map_err(|e| idb_error("counting", e))?.into_future();
            Some((rows, count))
        } else {
            None
        };
        let stats = if builtins {
            Some(Self::store_of(&tx, BUILTIN_STATS)?.get_all(None, None).map_err(|e| idb_error("reading", e))?.into_future())
        } else {
            None
        };
        // Every request is awaited (its handlers live in its future) before any result is used.
        let public_rows = public_rows.await;
        let counter = counter.await;
        let private = match private {
            Some((rows, count)) => Some((rows.await, count.await)),
            None => None,
        };
        let stats = match stats {
            Some(f) => Some(f.await),
            None => None,
        };
        let value = counter.map_err(|e| idb_error("reading", e))?.and_then(|c| js_sys::Reflect::get(&c, &"value".into()).ok()).and_then(|v| v.as_f64());
        // A database from before the counter: no ordered page (the catalog sorts in memory).
        let Some(public_total) = value else { return Ok(None) };
        let public = (parse_rows(public_rows.map_err(|e| idb_error("reading", e))?)?, public_total as usize);
        let private = match private {
            Some((rows, count)) => {
                let count = count.map_err(|e| idb_error("counting", e))? as usize;
                Some((parse_rows(rows.map_err(|e| idb_error("reading", e))?)?, count))
            }
            None => None,
        };
        let builtin_stats = match stats {
            Some(rows) => parse_rows(rows.map_err(|e| idb_error("reading", e))?)?,
            None => Vec::new(),
        };
        Ok(Some(crate::store::BrowseRead { public, private, builtin_stats }))
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let raw = self.tx(&ALL_STORES, TransactionMode::ReadWrite)?;
        // Listen for the end before issuing anything, so no event can be missed.
        let done = ended(&raw);
        let outcome = self.commit_in(&raw, writes).await;
        if let Err(e) = outcome {
            // Abort: nothing of the batch stays. (Abort throws only if the transaction already
            // finished, in which case it aborted itself.)
            let _ = raw.abort();
            let _ = done.await;
            return Err(e);
        }
        match done.await {
            Ok(_) => Ok(()),
            Err(_) => Err(match raw.error() {
                Some(d) => dom_error("the write was rolled back", &d.name(), &d.message()),
                None => Error::StorageUnavailable("the write was rolled back by the browser".into()),
            }),
        }
    }
}

/// Resolves when the transaction commits, rejects when it aborts. The handlers belong to JS
/// (`once_into_js`): a failed request fires `error` and then `abort`, and neither may reach a
/// closure that is gone once the first settled the promise.
fn ended(tx: &IdbTransaction) -> JsFuture {
    let p = js_sys::Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        }).unchecked_ref()));
        tx.set_onabort(Some(Closure::once_into_js(move || {
            let _ = reject.call0(&JsValue::NULL);
        }).unchecked_ref()));
    });
    JsFuture::from(p)
}

/// Drops the database (the downgrade to base). Open connections of this package close
/// themselves on `versionchange`; one that does not (another app's) makes the delete report
/// STORAGE_UNAVAILABLE at once instead of hanging. The delete then happens when it closes.
pub async fn destroy(name: &str) -> Result<()> {
    let raw = factory()?;
    let req = raw.delete_database(name).map_err(|e| js_error("deleting the database", &e))?;
    match settle(&req).await {
        Ok(_) => Ok(()),
        Err(Blocked) => Err(Error::StorageUnavailable(format!(
            "deleting {name:?} is blocked: another tab holds the database open and did not close it; it is deleted once that tab closes"
        ))),
        Err(Failed(e)) => Err(js_error("deleting the database", &e)),
    }
}
