//! The database's schema in one place: store and index names, the migrations (one named step per
//! schema version, run in order in the upgrade transaction by `js/idb.js`), opening at a
//! version, deleting, and what happens when another tab upgrades (`versionchange`).
//!
//! A migration is data (`createStore`, `createIndex`, `countInto`), so the request layer stays
//! ignorant of the schema and every step is readable here. Released steps never change: a new
//! schema is a new step with the next version.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::{json, Value};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

use super::requests::{self, Failure};
use crate::error::{Error, Result};

pub const TEMPLATES: &str = "workflow_templates";
pub const SPECS: &str = "template_specs";
pub const RATINGS: &str = "template_ratings";
pub const BUILTIN_STATS: &str = "builtin_stats";
/// The exact usage sums (`super::UsageTotals`), keyed by template id (migration 004).
pub const USAGE_TOTALS: &str = "usage_totals";
/// Counts kept up to date by every commit (so `total` of a browse page is one read, not a
/// count over an index of 100,000 entries).
pub const COUNTERS: &str = "counters";
/// The counter (and the index) of public latest templates.
pub const PUBLIC_LATEST: &str = "public_latest";
/// Labels (`super::TemplateLabel`), keyed by `TemplateLabel::key` (migration 005).
pub const TEMPLATE_LABELS: &str = "template_labels";
pub const ALL_STORES: [&str; 7] = [TEMPLATES, SPECS, RATINGS, BUILTIN_STATS, COUNTERS, USAGE_TOTALS, TEMPLATE_LABELS];

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
    (PUBLIC_LATEST, &["is_public", "is_latest"]),
    ("public_latest_category", &["is_public", "is_latest", "record.category"]),
    ("public_latest_type", &["is_public", "is_latest", "record.workflow_type"]),
    ("owner_latest", &["record.owner_id", "is_latest"]),
    // Ordered: the public latest templates in each discovery sort (`rows::sort_keys`), so the
    // first page is the first rows of an index rather than a sort of every candidate.
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

/// The ordered indexes of each discovery sort (popular, rating, recent, name): the public
/// latest templates (migration 001) and each owner's private latest ones (migration 003).
pub const PUBLIC_SORT_INDEXES: [&str; 4] =
    ["public_latest_by_popular", "public_latest_by_rating", "public_latest_by_recent", "public_latest_by_name"];
pub const PRIVATE_SORT_INDEXES: [(&str, &str); 4] = [
    ("owner_private_latest_by_popular", "k_popular"),
    ("owner_private_latest_by_rating", "k_rating"),
    ("owner_private_latest_by_recent", "k_recent"),
    ("owner_private_latest_by_name", "k_name"),
];

/// The schema version this build creates: one migration per version, run in order.
pub const SCHEMA_VERSION: u32 = 5;
/// The first version with the `counters` store (an older database has no ordered browse page).
pub const COUNTERS_SINCE: u32 = 2;
/// The first version with the per-owner ordered indexes.
pub const PRIVATE_SORT_SINCE: u32 = 3;

fn key_path(parts: &[&str]) -> Value {
    match parts {
        [one] => json!(one),
        many => json!(many),
    }
}

fn create_store(store: &str, key: &[&str]) -> Value {
    json!({ "op": "createStore", "store": store, "keyPath": key_path(key) })
}

fn create_index(store: &str, index: &str, key: &[&str]) -> Value {
    json!({ "op": "createIndex", "store": store, "index": index, "keyPath": key_path(key) })
}

/// Migration 001: everything the seed's migration creates, in IndexedDB terms.
fn m001_create_stores_and_indexes() -> Vec<Value> {
    let mut ops = vec![create_store(TEMPLATES, &["record.id"])];
    ops.extend(TEMPLATE_INDEXES.iter().map(|(name, path)| create_index(TEMPLATES, name, path)));
    ops.push(create_store(SPECS, &["record.id"]));
    ops.extend(SPEC_INDEXES.iter().map(|(name, path)| create_index(SPECS, name, path)));
    ops.push(create_store(RATINGS, &["record.template_id", "record.user_id"]));
    ops.extend(RATING_INDEXES.iter().map(|(name, path)| create_index(RATINGS, name, path)));
    ops.push(create_store(BUILTIN_STATS, &["record.id"]));
    ops
}

/// Migration 002: the counters store, with the public latest templates already stored counted
/// once (a request of the upgrade transaction; the upgrade finishes after it).
fn m002_public_latest_counter() -> Vec<Value> {
    vec![
        create_store(COUNTERS, &["name"]),
        json!({ "op": "countInto", "store": TEMPLATES, "index": PUBLIC_LATEST, "key": [1, 1],
                "into": COUNTERS, "row": { "name": PUBLIC_LATEST }, "field": "value" }),
    ]
}

/// Migration 003: each owner's private latest templates in each discovery sort (the browse page
/// merges the viewer's own private ones; without these it read all of them).
fn m003_owner_private_sort_indexes() -> Vec<Value> {
    PRIVATE_SORT_INDEXES.iter().map(|(name, key)| create_index(TEMPLATES, name, &["record.owner_id", "is_public", "is_latest", key])).collect()
}

/// Migration 004: the exact usage sums behind the means (rows appear with the next recorded
/// use; older templates' sums are derived from their stored means then).
fn m004_usage_totals() -> Vec<Value> {
    vec![create_store(USAGE_TOTALS, &["record.id"])]
}

/// Migration 005: labels (issue 14). A row is `{ rev, record, key }` (the key beside the
/// record, as the record has no single id), found by owner (export) and by lineage.
fn m005_template_labels() -> Vec<Value> {
    vec![
        create_store(TEMPLATE_LABELS, &["key"]),
        create_index(TEMPLATE_LABELS, "labels_by_owner", &["record.owner_id"]),
        create_index(TEMPLATE_LABELS, "labels_by_lineage", &["record.owner_id", "record.name_key"]),
    ]
}

/// Every migration: (version it creates, name, its operations).
const MIGRATIONS: [(u32, &str, fn() -> Vec<Value>); 5] = [
    (1, "001_create_stores_and_indexes", m001_create_stores_and_indexes),
    (2, "002_public_latest_counter", m002_public_latest_counter),
    (3, "003_owner_private_sort_indexes", m003_owner_private_sort_indexes),
    (4, "004_usage_totals", m004_usage_totals),
    (5, "005_template_labels", m005_template_labels),
];

/// The steps up to `version`, as `js/idb.js` runs them.
fn steps(version: u32) -> String {
    let steps: Vec<Value> =
        MIGRATIONS.iter().filter(|(v, ..)| *v <= version).map(|(v, name, ops)| json!({ "version": v, "name": name, "ops": ops() })).collect();
    Value::Array(steps).to_string()
}

/// What the connection knows of its own state, shared with its event handlers.
#[derive(Default)]
pub struct Health {
    /// Set when another tab asked for a newer schema (or a delete) and this connection closed.
    pub closed_by_other: Cell<bool>,
    /// Called once when that happens (the facade tells subscribers).
    pub on_closed: RefCell<Option<Box<dyn Fn()>>>,
}

/// How an open failure starts when falling back to localStorage is right: no IndexedDB at
/// all, or one the browser refuses (private modes: InvalidStateError, SecurityError). Other
/// failures (a newer schema, a failed migration) must reach the app instead.
pub const REFUSED: &str = "IndexedDB is not available in this environment";

/// An open connection: the database handle, its schema version and its `versionchange` handler
/// (which must live as long as the connection).
pub struct Connection {
    pub db: JsValue,
    pub version: u32,
    pub health: Rc<Health>,
    _on_version_change: Closure<dyn FnMut()>,
}

/// Opens `name` at `version`, running the migrations up to it. A `blocked` open is reported at
/// once rather than left hanging. When another tab upgrades or deletes the database, the
/// connection closes at once (so that tab is not blocked) and remembers it: later calls fail
/// with STORAGE_UNAVAILABLE and subscribers are told.
pub async fn open(name: &str, version: u32) -> Result<Connection> {
    let health = Rc::new(Health::default());
    let h = health.clone();
    let on_version_change = Closure::<dyn FnMut()>::new(move || {
        if !h.closed_by_other.replace(true) {
            if let Some(f) = h.on_closed.borrow().as_ref() {
                f();
            }
        }
    });
    let opened = requests::open(name, version, &steps(version), &on_version_change).await;
    match opened {
        Ok(db) => Ok(Connection { db, version, health, _on_version_change: on_version_change }),
        Err(f) => Err(match f.kind.as_str() {
            "blocked" => Error::StorageUnavailable(format!(
                "opening {name:?} is blocked: another tab holds the database open at an older schema version; close or reload it"
            )),
            "refused" => Error::StorageUnavailable(format!("{REFUSED}: the browser refused it ({})", f.name)),
            "upgrade" => f.to_error(&format!("upgrading the database schema (step {})", f.step)),
            _ => f.to_error("opening the database"),
        }),
    }
}

/// Drops the database (the downgrade to base). Open connections of this package close
/// themselves on `versionchange`; one that does not (another app's) makes the delete report
/// STORAGE_UNAVAILABLE at once instead of hanging. The delete then happens when it closes.
pub async fn destroy(name: &str) -> Result<()> {
    requests::delete(name).await.map_err(|f: Failure| match f.kind.as_str() {
        "blocked" => Error::StorageUnavailable(format!(
            "deleting {name:?} is blocked: another tab holds the database open and did not close it; it is deleted once that tab closes"
        )),
        "refused" => Error::StorageUnavailable(REFUSED.into()),
        _ => f.to_error("deleting the database"),
    })
}
