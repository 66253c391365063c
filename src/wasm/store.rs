//! Choosing and opening a storage adapter from the JS options, and the browser `Env`.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::catalog::get_opt;
use super::convert::err;
use crate::catalog::{Catalog, Env};
use crate::error::{Error, Result};
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::memory::MemoryStore;
use crate::store::{BuiltinStats, Rating, SpecFilter, Store, Stored, TemplateFilter, Write};

pub const DEFAULT_DB: &str = "workflow-templates";

#[wasm_bindgen(module = "/js/convert.js")]
extern "C" {
    #[wasm_bindgen(js_name = deleteDatabase)]
    fn delete_database(name: &str) -> Promise;
}

/// Time from the JS clock (`SystemTime` does not exist on wasm32-unknown-unknown).
pub struct WasmEnv;

impl Env for WasmEnv {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}

/// Every adapter the package can run on, dispatched statically.
pub enum AnyStore {
    Memory(MemoryStore),
}

impl AnyStore {
    /// Hook for adapters that deliver changes made elsewhere (other tabs) to subscribers.
    pub fn attach(&self, _catalog: &Rc<Catalog<AnyStore, WasmEnv>>) {}

    pub fn close(&self) {}
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Memory($s) => $e,
        }
    };
}

impl Store for AnyStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        dispatch!(self, s => s.get_template(id).await)
    }
    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        dispatch!(self, s => s.find_templates(filter).await)
    }
    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        dispatch!(self, s => s.get_spec(id).await)
    }
    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        dispatch!(self, s => s.find_specs(filter).await)
    }
    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        dispatch!(self, s => s.get_rating(template_id, user_id).await)
    }
    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        dispatch!(self, s => s.find_ratings(user_id, template_id).await)
    }
    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        dispatch!(self, s => s.get_builtin_stats(id).await)
    }
    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        dispatch!(self, s => s.all_builtin_stats().await)
    }
    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        dispatch!(self, s => s.commit(writes).await)
    }
}

/// Reads `{ userId, storage, dbName, baseUrl, token }` and opens the chosen adapter.
pub async fn open(options: &JsValue) -> std::result::Result<(AnyStore, String), JsValue> {
    if !options.is_object() {
        return Err(err(Error::invalid("TemplateCatalog.open takes an options object { userId, storage?, dbName? }")));
    }
    // Reflect.ownKeys is a catching import: a Proxy whose trap throws becomes an error here.
    let keys = js_sys::Reflect::own_keys(options).map_err(|_| err(Error::invalid("the open options could not be read")))?;
    for k in keys.iter() {
        let k = k.as_string().unwrap_or_default();
        if !["userId", "storage", "dbName", "baseUrl", "token"].contains(&k.as_str()) {
            return Err(err(Error::invalid(format!("unknown open option {k:?}"))));
        }
    }
    let user = get_opt(options, "userId").as_string().ok_or_else(|| err(Error::invalid("userId must be a string (a ULID)")))?;
    let storage = get_opt(options, "storage");
    if !(storage.is_undefined() || storage.is_null() || storage.is_string() || storage.is_object()) {
        return Err(err(Error::invalid("storage must be \"memory\", \"indexeddb\", \"local\", \"remote\" or an adapter object")));
    }
    let kind = if storage.is_undefined() || storage.is_null() { Some("memory".to_string()) } else { storage.as_string() };
    match kind.as_deref() {
        Some("memory") => Ok((AnyStore::Memory(MemoryStore::new()), user)),
        Some(k @ ("indexeddb" | "local" | "remote")) => Err(err(Error::StorageUnavailable(format!(
            "the {k} adapter is not in this release yet; use storage: \"memory\""
        )))),
        Some(other) => Err(err(Error::invalid(format!("unknown storage {other:?}; use \"memory\", \"indexeddb\", \"local\", \"remote\" or an adapter object")))),
        None => Err(err(Error::StorageUnavailable("adapter objects are not in this release yet; use storage: \"memory\"".into()))),
    }
}

pub async fn destroy(name: String) -> std::result::Result<(), JsValue> {
    JsFuture::from(delete_database(&name)).await.map(|_| ())
}
