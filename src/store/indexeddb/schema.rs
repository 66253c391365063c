//! The database's schema in one place: store and index names, the migrations (one named step per
//! schema version, run in order in the upgrade transaction by `js/idb.js`), opening at a
//! version, deleting, and what happens when another tab upgrades (`versionchange`).
//!
//! A migration is data (`createStore`, `createIndex`, `countInto`, in `migrations.json`), so the
//! request layer stays ignorant of the schema and every step is readable in one file. Released steps never change: a new
//! schema is a new step with the next version.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

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
/// The counter (and the index, `[is_public, is_latest]`) of public latest templates.
pub const PUBLIC_LATEST: &str = "public_latest";
/// Labels (`super::TemplateLabel`), keyed by `TemplateLabel::key` (migration 005).
pub const TEMPLATE_LABELS: &str = "template_labels";
pub const ALL_STORES: [&str; 7] = [TEMPLATES, SPECS, RATINGS, BUILTIN_STATS, COUNTERS, USAGE_TOTALS, TEMPLATE_LABELS];

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
pub const SCHEMA_VERSION: u32 = 7;
/// The first version with the `counters` store (an older database has no ordered browse page).
pub const COUNTERS_SINCE: u32 = 2;
/// The first version with the per-owner ordered indexes.
pub const PRIVATE_SORT_SINCE: u32 = 3;

/// Every migration, in order: `[{ version, name, ops }]`, each op a `createStore`, a
/// `createIndex` or a `countInto` (see `js/idb.js` `upgradeOp`). What each step is for:
/// - `001_create_stores_and_indexes`: everything the seed's migration creates, in IndexedDB
///   terms: the stores, the schema's 13 indexes by their names, and the compound and ordered
///   ones for the uniqueness rule, name lookups and discovery (`rows::sort_keys`).
/// - `002_public_latest_counter`: the `counters` store, with the public latest templates already
///   stored counted once (a request of the upgrade transaction; the upgrade finishes after it).
/// - `003_owner_private_sort_indexes`: each owner's private latest templates in each discovery
///   sort (the browse page merges the viewer's own; without these it read all of them).
/// - `004_usage_totals`: the exact usage sums behind the means (rows appear with the next
///   recorded use; older templates' sums are derived from their stored means then).
/// - `005_template_labels`: labels (issue 14); a row is `{ rev, record, key }` (the key beside
///   the record, which has no single id), found by owner (export) and by lineage.
/// - `006_replica_outbox`: the offline replica's outbox (`{ seq, key, endpoint, args, ... }`)
///   and meta (`{ key, value }`: feed cursor, identity, `complete` marker, conflicts, known
///   server `updated_at`s), written only by `js/replica.js` (issue 15). In the replica's own
///   database so that losing it (eviction, a delete) loses its `complete` marker with it; empty
///   in a plain IndexedDB catalog.
/// - `007_replica_queued_index`: the replica's queued-id index (meta `queued:<id>` = `{ n, rates
///   }`) rebuilt from the outbox (`js/outbox.js`, `idsOf`). A
///   version of its own so that a tab of an older release, which writes the outbox without the
///   index, is closed (`versionchange`) and can no longer open the replica (VersionError).
///
/// The steps are data (compiled in as text, a fraction of the code building them would take).
const MIGRATIONS: &str = include_str!("migrations.json");

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
    let opened = requests::open(name, version, MIGRATIONS, &on_version_change).await;
    match opened {
        Ok(db) => Ok(Connection { db, version, health, _on_version_change: on_version_change }),
        Err(f) => Err(match f.kind.as_str() {
            "blocked" => Error::StorageUnavailable(format!(
                "opening {} is blocked: another tab holds the database open at an older schema version; close or reload it", crate::validate::quoted(name)
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
            "deleting {} is blocked: another tab holds the database open and did not close it; it is deleted once that tab closes", crate::validate::quoted(name)
        )),
        "refused" => Error::StorageUnavailable(REFUSED.into()),
        _ => f.to_error("deleting the database"),
    })
}
