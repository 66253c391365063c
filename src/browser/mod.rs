//! The browser runtime the facade opens (README "Layout": above the catalog, below `wasm`; it
//! also serves Node, where `storage` is "memory" or an adapter object): the adapter a catalog
//! runs on, chosen from `storage`; the `AnyStore` that dispatches the storage contract to it and
//! bridges tabs (changes of a store every tab of the origin shares go out on, and come in from,
//! a BroadcastChannel); the browser `Env`; and dropping a database. The facade only converts
//! (issue 12); the store knows nothing of the catalog it serves.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::Value;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

pub mod replica;

use crate::catalog::{Catalog, ChangeEvent, Env, SkippedRow};
use crate::error::{Error, Result};
use crate::jsval::{from_js, to_js};
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::indexeddb::{self, IndexedDbStore};
use crate::store::js::JsStore;
use crate::store::local::LocalStore;
use crate::store::memory::MemoryStore;
use crate::store::{BuiltinStats, Rating, Sort, SpecFilter, Store, Stored, TemplateFilter, Write};

pub const DEFAULT_DB: &str = "workflow-templates";

/// The catalog the facade runs locally: over the adapter `storage` chose, on the JS clock.
pub type Core = Catalog<AnyStore, WasmEnv>;

/// A rejection of `js/remote.js` or the replica engine (`js/replica.js`), the JSON text of
/// `{ code, message, details }`, as the coded error it names (anything else is NETWORK).
pub fn failure(e: &JsValue) -> Error {
    let v: Value = e.as_string().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    let thrown = || js_sys::Reflect::get(e, &"message".into()).ok().and_then(|m| m.as_string());
    let message = v["message"].as_str().map(str::to_string).or_else(thrown).unwrap_or_else(|| "the request failed".into());
    match v["code"].as_str() {
        Some("NETWORK") | None => Error::Network(message),
        Some(code) => Error::remote(code, message, v["details"].clone()),
    }
}

/// Time from the JS clock (`SystemTime` does not exist on wasm32-unknown-unknown).
pub struct WasmEnv;

impl Env for WasmEnv {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
    /// A stored row left out of a list: `console.warn`, so the app's developer hears of it.
    fn skipped_row(&self, row: &SkippedRow) {
        let msg = format!("workflow-templates: left a stored {} row out ({} {}): {}", row.table, row.id, row.code, row.message);
        let Ok(console) = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("console")) else { return };
        if let Ok(warn) = js_sys::Reflect::get(&console, &JsValue::from_str("warn")).and_then(|f| f.dyn_into::<js_sys::Function>()) {
            let _ = warn.call1(&console, &JsValue::from_str(&msg));
        }
    }
}

/// Every adapter the package can run on, dispatched statically.
pub enum Backend {
    /// Shared by `Rc` so tests can open a second handle ("another tab") on one store.
    Memory(Rc<MemoryStore>),
    IndexedDb(IndexedDbStore),
    Local(LocalStore),
    Js(JsStore),
}

/// The open adapter, plus the channel that tells other tabs of changes and hears theirs.
pub struct AnyStore {
    backend: Backend,
    db_name: String,
    channel: RefCell<Option<Channel>>,
}

/// The channel and the handler it calls (kept alive as long as the channel).
type Channel = (BroadcastChannel, Closure<dyn FnMut(MessageEvent)>);

impl AnyStore {
    pub fn new(backend: Backend, db_name: &str) -> Self {
        AnyStore { backend, db_name: db_name.to_string(), channel: RefCell::new(None) }
    }

    /// "memory", "indexeddb", "local" or "adapter".
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "memory",
            Backend::IndexedDb(_) => "indexeddb",
            Backend::Local(_) => "local",
            Backend::Js(_) => "adapter",
        }
    }

    /// For stores shared by every tab of the origin (IndexedDB, localStorage): report this
    /// catalog's changes on a BroadcastChannel named after the database, and deliver the changes
    /// other tabs report there to this catalog's subscribers.
    pub fn attach<E: Env + 'static>(&self, catalog: &Rc<Catalog<AnyStore, E>>) {
        if let Backend::IndexedDb(db) = &self.backend {
            let weak: Weak<Catalog<AnyStore, E>> = Rc::downgrade(catalog);
            *db.health().on_closed.borrow_mut() = Some(Box::new(move || {
                if let (Some(c), Some(ev)) = (weak.upgrade(), ChangeEvent::external("storage", "closed", None)) {
                    c.deliver(&ev);
                }
            }));
        }
        if !matches!(self.backend, Backend::IndexedDb(_) | Backend::Local(_)) {
            return;
        }
        let Ok(channel) = BroadcastChannel::new(&format!("workflow-templates:{}:{}", self.kind(), self.db_name)) else {
            return; // no BroadcastChannel here: changes stay local to this tab
        };
        let weak: Weak<Catalog<AnyStore, E>> = Rc::downgrade(catalog);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            let Some(c) = weak.upgrade() else { return };
            let Ok(v) = from_js(&m.data()) else { return };
            let text = |k: &str| v.get(k).and_then(Value::as_str);
            let id = text("id").map(str::to_string);
            if let Some(ev) = ChangeEvent::external(text("kind").unwrap_or(""), text("op").unwrap_or(""), id) {
                c.deliver(&ev);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let out = channel.clone();
        catalog.set_outbox(move |ev| {
            let _ = out.post_message(&to_js(ev));
        });
        *self.channel.borrow_mut() = Some((channel, on_message));
    }

    pub fn close(&self) {
        if let Some((channel, _)) = self.channel.borrow_mut().take() {
            channel.set_onmessage(None);
            channel.close();
        }
        if let Backend::IndexedDb(db) = &self.backend {
            db.close();
        }
    }
}

impl Drop for AnyStore {
    fn drop(&mut self) {
        self.close();
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match &$self.backend {
            Backend::Memory($s) => $e,
            Backend::IndexedDb($s) => $e,
            Backend::Local($s) => $e,
            Backend::Js($s) => $e,
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
    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<crate::store::UsageTotals>>> {
        dispatch!(self, s => s.get_usage_totals(id).await)
    }
    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<crate::store::TemplateLabel>>> {
        dispatch!(self, s => s.find_labels(owner_id, name_key).await)
    }
    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        dispatch!(self, s => s.commit(writes).await)
    }
    async fn get_template_chain(&self, id: &str, max: usize) -> Result<Vec<Stored<WorkflowTemplate>>> {
        dispatch!(self, s => s.get_template_chain(id, max).await)
    }
    async fn get_templates(&self, ids: &[String]) -> Result<Vec<Option<Stored<WorkflowTemplate>>>> {
        dispatch!(self, s => s.get_templates(ids).await)
    }
    async fn top_public(&self, sort: Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        dispatch!(self, s => s.top_public(sort, n).await)
    }
    async fn top_private(&self, owner: &str, sort: Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        dispatch!(self, s => s.top_private(owner, sort, n).await)
    }
    async fn browse_page(&self, owner: &str, sort: Sort, n: usize, builtins: bool) -> Result<Option<crate::store::BrowseRead>> {
        dispatch!(self, s => s.browse_page(owner, sort, n, builtins).await)
    }
    async fn query_page(&self, q: &crate::store::PageQuery) -> Result<Option<crate::store::PageRows>> {
        dispatch!(self, s => s.query_page(q).await)
    }
}

pub const STORAGE_HELP: &str = "storage must be \"indexeddb\", \"memory\", \"local\", \"remote\" or an adapter object";

/// Opens the adapter named by `storage` (`None`: the default, IndexedDB, falling back to
/// localStorage where IndexedDB is unavailable).
pub async fn open_backend(storage: Option<&str>, db_name: &str) -> Result<Backend> {
    match storage {
        None => match IndexedDbStore::open(db_name).await {
            // (Where neither exists, e.g. Node, the IndexedDB message says what to pass.)
            Ok(s) => Ok(Backend::IndexedDb(s)),
            // Only a missing or refused IndexedDB falls back; blocked, a newer schema or a
            // failed migration must reach the app, not silently land in another store.
            Err(Error::StorageUnavailable(m)) if m.starts_with(indexeddb::REFUSED) => LocalStore::open(db_name).map(Backend::Local).map_err(|_| {
                Error::StorageUnavailable(format!("{m}, nor localStorage; pass storage: \"memory\" or an adapter object"))
            }),
            Err(e) => Err(e),
        },
        Some("indexeddb") => IndexedDbStore::open(db_name).await.map(Backend::IndexedDb),
        Some("memory") => Ok(Backend::Memory(Rc::new(MemoryStore::new()))),
        Some("local") => LocalStore::open(db_name).map(Backend::Local),
        Some("remote") => Err(Error::invalid("storage \"remote\" is opened by TemplateCatalog.open with baseUrl")),
        Some(other) => Err(Error::invalid(format!("unknown storage {}; {STORAGE_HELP}", crate::validate::quoted(other)))),
    }
}

/// What the app passed as `storage`.
pub enum Storage {
    /// Absent (or null): IndexedDB, or localStorage where IndexedDB is unavailable.
    Default,
    /// "indexeddb", "memory", "local" (anything else is INVALID_ARGUMENT).
    Named(String),
    /// An adapter object with async `get`, `find` and `commit` (README "Storage contract").
    Adapter(JsValue),
}

/// Opens the adapter `storage` names over database `db_name`.
pub async fn open_store(storage: Storage, db_name: &str) -> Result<AnyStore> {
    let backend = match storage {
        Storage::Default => open_backend(None, db_name).await?,
        Storage::Named(kind) => open_backend(Some(&kind), db_name).await?,
        Storage::Adapter(adapter) => Backend::Js(JsStore::new(adapter)?),
    };
    Ok(AnyStore::new(backend, db_name))
}

/// Drops the IndexedDB database and the localStorage catalog of that name.
pub async fn destroy(name: String) -> Result<()> {
    // A window without localStorage access still has an IndexedDB database to drop.
    let _ = LocalStore::destroy(&name);
    indexeddb::destroy(&name).await
}
