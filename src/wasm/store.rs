//! Choosing and opening a storage adapter from the JS options, cross-tab change events, and the
//! browser `Env`.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::Value;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::catalog::get_opt;
use super::convert::{err, from_js, to_js};
use crate::catalog::{Catalog, ChangeEvent, Env};
use crate::error::{Error, Result};
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::indexeddb::{self, IndexedDbStore};
use crate::store::js::JsStore;
use crate::store::local::LocalStore;
use crate::store::memory::MemoryStore;
use crate::store::{BuiltinStats, Rating, SpecFilter, Store, Stored, TemplateFilter, Write};

pub const DEFAULT_DB: &str = "workflow-templates";

/// Time from the JS clock (`SystemTime` does not exist on wasm32-unknown-unknown).
pub struct WasmEnv;

impl Env for WasmEnv {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
    /// A stored row left out of a list: `console.warn`, so the app's developer hears of it.
    fn skipped_row(&self, row: &crate::catalog::SkippedRow) {
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
    async fn top_public(&self, sort: crate::catalog::Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        dispatch!(self, s => s.top_public(sort, n).await)
    }
    async fn top_private(&self, owner: &str, sort: crate::catalog::Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        dispatch!(self, s => s.top_private(owner, sort, n).await)
    }
    async fn browse_page(&self, owner: &str, sort: crate::catalog::Sort, n: usize, builtins: bool) -> Result<Option<crate::store::BrowseRead>> {
        dispatch!(self, s => s.browse_page(owner, sort, n, builtins).await)
    }
    async fn query_page(&self, q: &crate::store::PageQuery) -> Result<Option<crate::store::PageRows>> {
        dispatch!(self, s => s.query_page(q).await)
    }
}

const STORAGE_HELP: &str = "storage must be \"indexeddb\", \"memory\", \"local\", \"remote\" or an adapter object";

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
        Some(other) => Err(Error::invalid(format!("unknown storage {other:?}; {STORAGE_HELP}"))),
    }
}

/// What `open` found: a store for the local catalog, or the address of a server.
pub enum Opened {
    Local(AnyStore, String),
    Remote { base_url: String, token: Option<String>, user: String, replica: Option<super::replica::ReplicaOptions> },
}

/// Reads `{ userId, storage, dbName, baseUrl, token }` and opens the chosen adapter.
pub async fn open(options: &JsValue) -> std::result::Result<Opened, JsValue> {
    if !options.is_object() {
        return Err(err(Error::invalid("TemplateCatalog.open takes an options object { userId, storage?, dbName? }")));
    }
    // Reflect.ownKeys is a catching import: a Proxy whose trap throws becomes an error here.
    let keys = js_sys::Reflect::own_keys(options).map_err(|_| err(Error::invalid("the open options could not be read")))?;
    for k in keys.iter() {
        let k = k.as_string().unwrap_or_default();
        if !["userId", "storage", "dbName", "baseUrl", "token", "replica"].contains(&k.as_str()) {
            return Err(err(Error::invalid(format!("unknown open option {k:?}"))));
        }
    }
    let user = get_opt(options, "userId").as_string().ok_or_else(|| err(Error::invalid("userId must be a string (a ULID)")))?;
    // Refuse a bad user before touching any storage.
    if crate::model::id::normalize_id(&user).is_none() {
        return Err(err(Error::invalid(format!("userId {user:?} is not a ULID"))));
    }
    let user = crate::model::id::normalize_id(&user).unwrap_or(user);
    let db_name = db_name(&get_opt(options, "dbName")).map_err(err)?;
    let storage = get_opt(options, "storage");
    let (base_url, token) = (get_opt(options, "baseUrl"), get_opt(options, "token"));
    if storage.as_string().as_deref() == Some("remote") {
        let base_url = base_url.as_string().ok_or_else(|| err(Error::invalid("storage \"remote\" needs baseUrl, the server's address")))?;
        let token = match token.as_string() {
            Some(t) => Some(t),
            None if token.is_undefined() || token.is_null() => None,
            None => return Err(err(Error::invalid("token must be a string"))),
        };
        let replica = super::replica::ReplicaOptions::read(&get_opt(options, "replica")).map_err(err)?;
        return Ok(Opened::Remote { base_url, token, user, replica });
    }
    if !(base_url.is_undefined() && token.is_undefined()) {
        return Err(err(Error::invalid("baseUrl and token are options of storage \"remote\" only")));
    }
    if !get_opt(options, "replica").is_undefined() {
        return Err(err(Error::invalid("replica is an option of storage \"remote\" only")));
    }
    let backend = if storage.is_undefined() || storage.is_null() {
        open_backend(None, &db_name).await
    } else if let Some(kind) = storage.as_string() {
        open_backend(Some(&kind), &db_name).await
    } else if storage.is_object() {
        JsStore::new(storage).map(Backend::Js)
    } else {
        Err(Error::invalid(STORAGE_HELP))
    }
    .map_err(err)?;
    Ok(Opened::Local(AnyStore::new(backend, &db_name), user))
}

/// `dbName`: a non-empty string of at most 200 characters; default "workflow-templates".
pub fn db_name(v: &JsValue) -> Result<String> {
    if v.is_undefined() || v.is_null() {
        return Ok(DEFAULT_DB.to_string());
    }
    match v.as_string() {
        Some(s) if !s.is_empty() && s.chars().count() <= 200 => Ok(s),
        _ => Err(Error::invalid("dbName must be a non-empty string of at most 200 characters")),
    }
}

/// Drops the IndexedDB database and the localStorage catalog of that name.
pub async fn destroy(name: String) -> Result<()> {
    // A window without localStorage access still has an IndexedDB database to drop.
    let _ = LocalStore::destroy(&name);
    indexeddb::destroy(&name).await
}
