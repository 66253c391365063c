//! The localStorage adapter (through gloo-storage): for small installs, and the fallback where
//! IndexedDB is unavailable. Windows only (workers have no localStorage).
//!
//! The whole database is one JSON value under one key, so a write is one `setItem`: atomic, and
//! when the ~5 MB quota refuses it, what was stored before is untouched. Records are served from
//! an in-memory copy (the reference `MemoryStore`, which also checks revisions and the
//! latest-name rule); a small "stamp" key, rewritten with every commit, tells when another tab
//! wrote so the copy is reloaded. Commits of all tabs are serialised with the Web Locks API
//! where the browser has it.

use std::cell::RefCell;

use gloo_storage::errors::StorageError;
use gloo_storage::{LocalStorage, Storage};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::memory::{MemoryStore, Snapshot};
use super::{BuiltinStats, Rating, SpecFilter, Store, Stored, TemplateFilter, Write};
use crate::error::{Error, Result};
use crate::model::read::Fields;
use crate::model::id::{random_bits, IdGenerator};
use crate::model::{TemplateSpec, WorkflowTemplate};

const FORMAT: u32 = 1;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    /// Resolves with a function that releases an exclusive Web Lock (a no-op without the API).
    #[wasm_bindgen(js_name = acquireLock)]
    fn acquire_lock(name: &str) -> js_sys::Promise;
}

#[derive(Serialize)]
struct Persisted {
    format: u32,
    stamp: String,
    data: Snapshot,
}

pub struct LocalStore {
    key: String,
    stamp_key: String,
    /// (stamp of the stored data this copy was loaded from, the copy)
    cache: RefCell<(String, MemoryStore)>,
}

fn storage_error(what: &str, e: StorageError) -> Error {
    match e {
        StorageError::JsError(j) => super::dom_error(what, &j.name, &j.message),
        StorageError::SerdeError(e) => Error::corrupt(format!("{what}: the stored catalog is not valid JSON for this version: {e}")),
        StorageError::KeyNotFound(k) => Error::StorageUnavailable(format!("{what}: {k} not found")),
    }
}

fn raw() -> Result<web_sys::Storage> {
    // gloo-storage expects a window with localStorage and throws otherwise; check first, with
    // catching accessors (a private mode may throw SecurityError just for reading the property).
    let global = js_sys::global();
    if global.dyn_ref::<web_sys::Window>().is_none() {
        return Err(Error::StorageUnavailable("localStorage exists only in windows (not in workers); use IndexedDB".into()));
    }
    let ls = js_sys::Reflect::get(&global, &JsValue::from_str("localStorage"))
        .map_err(|_| Error::StorageUnavailable("localStorage is refused in this browsing context".into()))?;
    ls.dyn_into::<web_sys::Storage>().map_err(|_| Error::StorageUnavailable("localStorage is not available in this browser".into()))
}

/// The data key and the stamp key of a catalog; distinct prefixes, so no dbName's data key
/// can be another's stamp key.
fn keys(db_name: &str) -> (String, String) {
    (format!("workflow-templates:{db_name}"), format!("workflow-templates-stamp:{db_name}"))
}

impl LocalStore {
    pub fn open(db_name: &str) -> Result<LocalStore> {
        raw()?;
        let (key, stamp_key) = keys(db_name);
        let store = LocalStore { stamp_key, key, cache: RefCell::new((String::new(), MemoryStore::new())) };
        store.refresh()?;
        Ok(store)
    }

    /// Drops the stored catalog (the downgrade to base for this adapter).
    pub fn destroy(db_name: &str) -> Result<()> {
        let ls = raw()?;
        let (key, stamp_key) = keys(db_name);
        let _ = ls.remove_item(&stamp_key);
        let _ = ls.remove_item(&key);
        Ok(())
    }

    fn stored_stamp(&self) -> Result<String> {
        Ok(raw()?.get_item(&self.stamp_key).ok().flatten().unwrap_or_default())
    }

    /// Reloads the copy when another tab (or page) wrote since it was loaded.
    fn refresh(&self) -> Result<()> {
        let stamp = self.stored_stamp()?;
        if !stamp.is_empty() && stamp == self.cache.borrow().0 {
            return Ok(());
        }
        let text = raw()?.get_item(&self.key).map_err(|e| super::indexeddb::js_error("reading the catalog from localStorage", &e))?;
        let loaded = match text {
            None => (String::new(), MemoryStore::new()),
            Some(text) => {
                let (stamp, data) = read_persisted(&text)?;
                (stamp, MemoryStore::from_snapshot(data)?)
            }
        };
        *self.cache.borrow_mut() = loaded;
        Ok(())
    }

    fn with_copy<T>(&self, f: impl FnOnce(&MemoryStore) -> T) -> Result<T> {
        self.refresh()?;
        Ok(f(&self.cache.borrow().1))
    }
}

/// The stored catalog `{ format, stamp, data }`, read by hand (`crate::model::read`).
fn read_persisted(text: &str) -> Result<(String, Snapshot)> {
    let bad = |why: String| Error::corrupt(["reading the catalog from localStorage: the stored catalog is not valid JSON for this version: ", &why].concat());
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let mut f = Fields::new(v).map_err(|e| bad(e.text()))?;
    let format: u64 = f.req("format").map_err(|e| bad(e.text()))?;
    if format != u64::from(FORMAT) {
        return Err(Error::corrupt(format!("the stored catalog has format {format}; this version reads {FORMAT}")));
    }
    let stamp = f.req("stamp").map_err(|e| bad(e.text()))?;
    let data = f.req("data").map_err(|e| bad(e.text()))?;
    Ok((stamp, data))
}

/// Runs a `MemoryStore` future that completes at once (it never awaits anything).
fn now<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::noop();
    match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => Err(Error::StorageUnavailable("the in-memory copy did not answer at once".into())),
    }
}

impl Store for LocalStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        self.with_copy(|m| now(m.get_template(id)))?
    }
    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        self.with_copy(|m| now(m.find_templates(filter)))?
    }
    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        self.with_copy(|m| now(m.get_spec(id)))?
    }
    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        self.with_copy(|m| now(m.find_specs(filter)))?
    }
    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        self.with_copy(|m| now(m.get_rating(template_id, user_id)))?
    }
    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        self.with_copy(|m| now(m.find_ratings(user_id, template_id)))?
    }
    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        self.with_copy(|m| now(m.get_builtin_stats(id)))?
    }
    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        self.with_copy(|m| now(m.all_builtin_stats()))?
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<super::UsageTotals>>> {
        self.with_copy(|m| now(m.get_usage_totals(id)))?
    }

    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<super::TemplateLabel>>> {
        self.with_copy(|m| now(m.find_labels(owner_id, name_key)))?
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        let release = JsFuture::from(acquire_lock(&self.key))
            .await
            .map_err(|_| Error::StorageUnavailable("the cross-tab write lock was refused".into()))?;
        let outcome = self.commit_locked(writes);
        if let Some(f) = release.dyn_ref::<js_sys::Function>() {
            let _ = f.call0(&JsValue::NULL);
        }
        outcome
    }
}

impl LocalStore {
    /// With the lock held: apply to a fresh copy, then store it in one `setItem`. The stamp key
    /// is written first, so a reader that sees the old data with a new stamp simply reloads
    /// again later; on failure both go back and the copy is reloaded from what is stored.
    fn commit_locked(&self, writes: Vec<Write>) -> Result<()> {
        self.refresh()?;
        now(self.cache.borrow().1.commit(writes))?;
        let outcome = self.persist();
        if outcome.is_err() {
            // Whatever failed, the copy may hold the unsaved batch: reload it next time.
            self.cache.borrow_mut().0 = String::new();
        }
        outcome
    }

    fn persist(&self) -> Result<()> {
        let old_stamp = self.stored_stamp()?;
        let stamp = IdGenerator::new().next(js_sys::Date::now() as u64, random_bits());
        let persisted = Persisted { format: FORMAT, stamp: stamp.clone(), data: self.cache.borrow().1.snapshot() };
        let ls = raw()?;
        let written = ls
            .set_item(&self.stamp_key, &stamp)
            .map_err(|e| super::indexeddb::js_error("writing to localStorage", &e))
            .and_then(|_| LocalStorage::set(&self.key, &persisted).map_err(|e| storage_error("writing the catalog to localStorage", e)));
        match written {
            Ok(()) => {
                self.cache.borrow_mut().0 = stamp;
                Ok(())
            }
            Err(e) => {
                let _ = ls.set_item(&self.stamp_key, &old_stamp);
                self.cache.borrow_mut().0 = String::new();
                self.refresh()?;
                Err(e)
            }
        }
    }
}
