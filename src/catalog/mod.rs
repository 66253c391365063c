//! The catalog: every operation of SPEC sections 5-11 for one acting user, over any `Store`.
//! It owns the rules (access control, versions, inheritance checks, statistics); the store only
//! keeps records and enforces revisions and name uniqueness atomically.
//!
//! One idea per file: `env` (clock and ids), `events` (subscribe), `load` (reading with access
//! and integrity checks), `retry` (commits that lost a race), `templates` (template writes),
//! `inheritance`, `labels`, `specs`, `usage` (statistics), `bundle` (export/import),
//! `discover`, `integrity` (verifying stored rows), `create_id` (creates with a client-chosen
//! id), `replica` (storing what a server answered, for an offline replica). This file holds the `Catalog` itself and the
//! helpers every write uses on its input.

mod bundle;
mod create_id;
pub mod discover;
mod env;
mod events;
mod inheritance;
mod integrity;
mod labels;
mod load;
mod replica;
mod retry;
mod specs;
mod templates;
mod usage;

use std::cell::RefCell;

use serde_json::{Map, Value};

pub use create_id::{id_deleted, id_in_use, is_id_in_use, Made, MAX_ID_LEAD_MS};
pub use discover::{DiscoverOptions, Page, Sort};
pub use replica::{LabelRef, RemoteBatch, RemoteDeleted};
#[cfg(not(target_arch = "wasm32"))]
pub use env::SystemEnv;
pub use env::Env;
pub use events::{ChangeEvent, Listeners};
pub use inheritance::{ChainLink, Resolved};
pub use integrity::SkippedRow;
pub use labels::{label_name_problem, ByName, LabelInfo, LabelledVersion};
pub(crate) use load::{Loaded, Prefetched};
pub use templates::WriteOptions;
pub use usage::UsageRun;

/// Moved to `crate::hash` (the storage-free core needs it); kept here for existing callers.
pub use crate::hash::config_hash_of_value;

use crate::error::{Error, Result, Violation};
use crate::model::id::{normalize_id, IdGenerator};
use crate::store::Store;
use crate::validate;
use events::Listener;

pub struct Catalog<S: Store, E: Env> {
    store: S,
    env: E,
    user: String,
    ids: RefCell<IdGenerator>,
    listeners: Listeners,
    /// Told of every change made here (not of external ones), e.g. to tell other tabs.
    outbox: RefCell<Option<Listener>>,
    /// A catalog many users share (the server): import never sets what other users see of
    /// statistics (`bundle.rs`).
    shared: bool,
}

pub(crate) fn violations(list: Vec<Violation>) -> Error {
    Error::ValidationFailed(list)
}

fn as_object(v: Value, what: &str) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(violations(vec![Violation::new(
            "",
            validate::TYPE,
            format!("{what} must be an object, got {}", validate::type_name(&other)),
        )])),
    }
}

/// `base` (a record as JSON) with the writable fields of `patch` laid over it, for a create or
/// an edit; a field the caller may not write is reported in `out` (and not laid over).
fn overlay(base: Value, patch: Map<String, Value>, read_only: &[&str], writable: &[&str], out: &mut Vec<Violation>) -> Map<String, Value> {
    validate::check_writable(&patch, read_only, writable, out);
    let mut obj = match base {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, val) in patch {
        if writable.contains(&k.as_str()) {
            obj.insert(k, val);
        }
    }
    obj
}

/// Trims as validation defines it: Unicode White_Space and U+FEFF (what JS `trim` removes).
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Trims names and tags and upper-cases ids in a create/update payload, so that what people
/// type (`"My template "`, a lowercase id) is stored in canonical form.
fn normalize_input(m: &mut Map<String, Value>, id_fields: &[&str]) {
    if let Some(Value::String(s)) = m.get_mut("name") {
        *s = trim(s).to_string();
    }
    if let Some(Value::Array(tags)) = m.get_mut("tags") {
        for t in tags.iter_mut() {
            if let Value::String(s) = t {
                *s = trim(s).to_string();
            }
        }
    }
    for f in id_fields {
        if let Some(Value::String(s)) = m.get_mut(*f) {
            if let Some(n) = normalize_id(s) {
                *s = n;
            }
        }
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// A catalog acting for `user_id` (a ULID; lowercase accepted).
    pub fn new(store: S, env: E, user_id: &str) -> Result<Self> {
        let user = normalize_id(user_id).ok_or_else(|| Error::invalid(format!("userId {} is not a ULID", crate::validate::quoted(user_id))))?;
        Ok(Catalog { store, env, user, ids: RefCell::new(IdGenerator::new()), listeners: Listeners::default(), outbox: RefCell::new(None), shared: false })
    }

    /// Marks the catalog as shared by many users (the reference server sets it): imported
    /// statistics are then ignored (README, "Import on a shared catalog").
    pub fn shared(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }

    pub fn user_id(&self) -> &str {
        &self.user
    }

    pub fn store(&self) -> &S {
        &self.store
    }
}
