//! The offline replica of a remote catalog (`storage: "remote", replica: true`, issue 15,
//! README "Offline replica"), the runtime side: the same core `Catalog` as storage "indexeddb",
//! over a database of its own per server and user, plus the sync engine of `js/replica.js`
//! (outbox, leader tab, push, pull, conflicts). `Replica::write` names each write's server call,
//! lets the engine queue it and runs the local rule-checked write; the engine gets three hooks
//! (apply server records to the replica; read the replica's copy; that copy's entity tag). The
//! facade's `src/wasm/replica.rs` checks the `replica` option and converts the sync methods.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::{failure, AnyStore, Backend, Core, WasmEnv};
use crate::catalog::{Catalog, Env, RemoteBatch, WriteOptions};
use crate::error::{Error, Result};
use crate::jsval::error_to_js;
use crate::model::id::{random_bits, IdGenerator};
use crate::store::indexeddb::IndexedDbStore;
use crate::store::Store;

thread_local! {
    // Ids an offline replica makes from the server-corrected clock: a generator of their own,
    // so a device clock that runs fast never drags them ahead (ids are monotonic per generator).
    static SERVER_IDS: RefCell<IdGenerator> = RefCell::new(IdGenerator::new());
}

/// A new ULID whose time part is `ms` (an offline replica's server-corrected clock).
fn new_id_at(ms: f64) -> String {
    let ms = if ms.is_finite() && ms > 0.0 { ms as u64 } else { WasmEnv.now_ms().max(0) as u64 };
    SERVER_IDS.with(|g| g.borrow_mut().next(ms, random_bits()))
}

#[wasm_bindgen(module = "/js/replica.js")]
extern "C" {
    /// See js/replica.js: the outbox, the leader tab, push and pull. Promises reject with the
    /// JSON text of `{ code, message, details }`.
    type ReplicaEngine;
    #[wasm_bindgen(constructor)]
    fn new(options: &JsValue) -> ReplicaEngine;
    #[wasm_bindgen(method)]
    fn open(this: &ReplicaEngine) -> Promise;
    #[wasm_bindgen(method)]
    fn enqueue(this: &ReplicaEngine, endpoint: &str, args: &str, id: Option<String>, key: &str, target: Option<String>) -> Promise;
    #[wasm_bindgen(method)]
    fn discard(this: &ReplicaEngine, seq: f64) -> Promise;
    #[wasm_bindgen(method)]
    fn written(this: &ReplicaEngine, seq: f64) -> Promise;
    #[wasm_bindgen(method)]
    fn pending(this: &ReplicaEngine) -> Promise;
    #[wasm_bindgen(method)]
    fn sync(this: &ReplicaEngine) -> Promise;
    #[wasm_bindgen(method, js_name = resolveConflict)]
    fn resolve_conflict(this: &ReplicaEngine, id: &str, choice: &str, kind: Option<String>) -> Promise;
    #[wasm_bindgen(method, js_name = discardPending)]
    fn discard_pending(this: &ReplicaEngine, seq: f64) -> Promise;
    #[wasm_bindgen(method, js_name = syncState)]
    fn sync_state(this: &ReplicaEngine) -> JsValue;
    #[wasm_bindgen(method)]
    fn subscribe(this: &ReplicaEngine, f: &Function) -> Function;
    #[wasm_bindgen(method, js_name = fetchMissing)]
    fn fetch_missing(this: &ReplicaEngine, kind: &str, id: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn call(this: &ReplicaEngine, name: &str, args: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn close(this: &ReplicaEngine);
    #[wasm_bindgen(method)]
    fn lock(this: &ReplicaEngine) -> Promise;
    #[wasm_bindgen(method, js_name = serverNow)]
    fn server_now(this: &ReplicaEngine) -> f64;
    #[wasm_bindgen(method)]
    fn revalidate(this: &ReplicaEngine, kind: &str, id: &str);
    #[wasm_bindgen(method, js_name = adoptLineage)]
    fn adopt_lineage(this: &ReplicaEngine, id: &str);
    #[wasm_bindgen(method, js_name = holdsLineage)]
    fn holds_lineage(this: &ReplicaEngine, ids: &str) -> Promise;
    #[wasm_bindgen(method, js_name = revalidateFeed)]
    fn revalidate_feed(this: &ReplicaEngine);
    #[wasm_bindgen(method, js_name = localIfMatch)]
    fn local_if_match(this: &ReplicaEngine, kind: &str, id: &str, if_match: &str, label: Option<String>) -> Promise;
}

// js/replica.js imports js/outbox.js, js/pull.js, js/push.js and js/hold.js: naming them here makes
// wasm-bindgen ship them beside it.
#[wasm_bindgen(module = "/js/outbox.js")]
extern "C" {
    #[wasm_bindgen(js_name = idsOf)]
    fn outbox_ids_of(entry: &JsValue) -> JsValue;
}
#[wasm_bindgen(module = "/js/pull.js")]
extern "C" {
    #[wasm_bindgen(js_name = pull)]
    fn pull_snippet(engine: &JsValue) -> Promise;
}
#[wasm_bindgen(module = "/js/push.js")]
extern "C" {
    #[wasm_bindgen(js_name = push)]
    fn push_snippet(engine: &JsValue, result: &JsValue) -> Promise;
}
#[wasm_bindgen(module = "/js/hold.js")]
extern "C" {
    #[wasm_bindgen(js_name = unhold)]
    fn hold_snippet(engine: &JsValue) -> Promise;
}

/// `http://host:port` of a checked base URL (scheme and authority, lowercased).
pub fn origin_of(base: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase())
}

/// An open replica: the core over its own IndexedDB database, the sync engine, and the hooks
/// the engine calls (kept alive as long as the replica).
pub struct Replica {
    core: Rc<Core>,
    engine: ReplicaEngine,
    _apply: Closure<dyn Fn(String) -> Promise>,
    _local: Closure<dyn Fn(String, String) -> Promise>,
    _etag: Closure<dyn Fn(String) -> JsValue>,
}

/// Server records into the replica (`Catalog::apply_remote`): the JSON text of the batch.
async fn apply_batch(c: &Core, text: &str) -> Result<()> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::invalid(format!("the server's records are not JSON: {e}")))?;
    c.apply_remote(RemoteBatch::from_value(v)?).await
}

/// Whether a local read failed because the replica does not hold the record or a base of its
/// chain (another user's public template it derives from).
pub fn missing(e: &Error) -> bool {
    matches!(e, Error::NotFound { .. } | Error::BaseNotFound { .. })
}

impl Replica {
    /// Opens the replica database and the engine (GET /v1/me, or offline with the kept identity).
    /// `db_name`: the app's `replica: { dbName }`, else one per server origin and user.
    pub async fn open(base: &str, token: Option<String>, user: &str, db_name: Option<String>) -> Result<Replica> {
        let db = db_name.unwrap_or_else(|| format!("wt-replica:{}:{}", origin_of(base), user));
        let store = AnyStore::new(Backend::IndexedDb(IndexedDbStore::open(&db).await?), &db);
        let core = Rc::new(Catalog::new(store, WasmEnv, user)?);
        core.store().attach(&core);
        let c = core.clone();
        let apply = Closure::<dyn Fn(String) -> Promise>::new(move |text: String| {
            let c = c.clone();
            future_to_promise(async move {
                apply_batch(&c, &text).await.map(|()| JsValue::UNDEFINED).map_err(|e| error_to_js(&e))
            })
        });
        let c = core.clone();
        let me = user.to_string();
        let local = Closure::<dyn Fn(String, String) -> Promise>::new(move |kind: String, id: String| {
            let c = c.clone();
            let me = me.clone();
            future_to_promise(async move {
                let text = match kind.as_str() {
                    "spec" => c.get_spec(&id).await.ok().and_then(|r| serde_json::to_string(&r).ok()),
                    "labels" => c.labels(&id).await.ok().and_then(|r| serde_json::to_string(&r).ok()),
                    // The ids of the templates the acting user's rating rows name (`id` unused):
                    // the bound of kept copies never drops one (js/pull.js boundKept).
                    "rated" => c.store().find_ratings(Some(&me), None).await.ok().and_then(|rows| serde_json::to_string(&rows.into_iter().map(|r| r.record.template_id).collect::<Vec<_>>()).ok()),
                    _ => c.get(&id).await.ok().and_then(|r| serde_json::to_string(&r).ok()),
                };
                Ok(text.map(JsValue::from).unwrap_or(JsValue::NULL))
            })
        });
        // The entity tag of a held copy from the JSON text `local` gave (src/model/etag.rs),
        // derived exactly as the server derives its ETag: a revalidation of an unchanged record
        // is one 304, and the copy is not read a second time to tag it.
        let etag = Closure::<dyn Fn(String) -> JsValue>::new(|text: String| {
            let v = serde_json::from_str::<serde_json::Value>(&text).ok();
            v.as_ref().and_then(crate::model::etag::representation_etag).map(JsValue::from).unwrap_or(JsValue::NULL)
        });
        let options = Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = Reflect::set(&options, &k.into(), v);
        };
        set("dbName", &db.as_str().into());
        set("baseUrl", &base.into());
        set("token", &token.as_deref().map(JsValue::from).unwrap_or(JsValue::NULL));
        set("userId", &user.into());
        set("tokenHash", &crate::hash::sha256_hex(token.as_deref().unwrap_or("").as_bytes()).into());
        set("apply", apply.as_ref());
        set("local", local.as_ref());
        set("etag", etag.as_ref());
        let engine = ReplicaEngine::new(&options);
        let r = Replica { core, engine, _apply: apply, _local: local, _etag: etag };
        JsFuture::from(r.engine.open()).await.map_err(|e| failure(&e))?;
        Ok(r)
    }

    /// A new ULID from the server's clock as this client estimates it (a `?id=` whose time part
    /// is more than 5 minutes ahead of the server's clock is refused).
    pub fn new_id(&self) -> String {
        new_id_at(self.engine.server_now())
    }

    pub fn core(&self) -> Rc<Core> {
        self.core.clone()
    }

    pub fn user_id(&self) -> &str {
        self.core.user_id()
    }

    /// A write: queue server call `endpoint` with `args` (creates carry their new id as `?id=`),
    /// then run `local`, the same write on the replica; a local refusal takes the entry back out
    /// and is the answer. A write whose record the JS walk already refused (`guarded`) is not
    /// queued: the core refuses it.
    pub async fn write<T>(&self, endpoint: &str, mut args: Value, created: Option<String>, guarded: bool, local: impl Future<Output = Result<T>>) -> Result<T> {
        if guarded {
            return local.await;
        }
        if let Some(id) = &created {
            args["query"] = serde_json::json!({ "id": id });
        }
        self.ensure_held(endpoint, &args).await;
        let target = self.target(endpoint, &args, created.as_deref()).await;
        let key = self.new_id();
        let seq = JsFuture::from(self.engine.enqueue(endpoint, &args.to_string(), created, &key, target)).await.map_err(|e| failure(&e))?;
        let seq = seq.as_f64().ok_or_else(|| Error::StorageUnavailable("the outbox gave no sequence number".into()))?;
        // No server copy is applied in this tab while the local write reads and commits.
        let release: Option<Function> = JsFuture::from(self.engine.lock()).await.ok().and_then(|f| f.dyn_into().ok());
        let answer = local.await;
        if let Some(r) = release {
            let _ = r.call0(&JsValue::NULL);
        }
        match answer {
            Ok(v) => {
                // The local write is committed and its entry queued: the write has happened and
                // will be pushed, so the app hears success whatever marking the entry met
                // (the engine's `written` keeps it pushable: js/replica.js).
                let _ = JsFuture::from(self.engine.written(seq)).await;
                Ok(v)
            }
            Err(e) => {
                let _ = JsFuture::from(self.engine.discard(seq)).await;
                Err(e)
            }
        }
    }

    /// A write on a record the replica does not hold yet (rating another user's public
    /// template found by an online `discover`) first brings it from the server, when reachable,
    /// so the local rules can run on it.
    async fn ensure_held(&self, endpoint: &str, args: &Value) {
        // The base a create, update or new version derives from (found by an online
        // discover): its chain must be here for the local rules (visibility, cycles, depth).
        let body = args.get("body");
        let base = body.and_then(|b| b.get("base_template_id").or_else(|| b.get("patch").and_then(|p| p.get("base_template_id")))).and_then(Value::as_str);
        if let Some(base) = base {
            if matches!(self.core.chain(base).await, Err(ref e) if missing(e)) {
                self.fetch_missing("template", base).await;
            }
        }
        let Some(id) = args.get("id").and_then(Value::as_str) else { return };
        let spec = matches!(endpoint, "updateSpec" | "deleteSpec" | "instantiateSpec");
        let held = if spec { self.core.get_spec(id).await.map(drop) } else { self.core.chain(id).await.map(drop) };
        if matches!(held, Err(ref e) if missing(e)) {
            self.fetch_missing(if spec { "spec" } else { "template" }, id).await;
        }
    }

    /// The app's `ifMatch` as the replica's own (the one rule for every write with an
    /// If-Match: js/push.js `localIfMatch`): the replica holds server copies, so the
    /// `updated_at` an app got from its own write before that write was pushed has since been
    /// replaced by the server's (kept as an alias). Taken as the replica's current one when no
    /// write of the record (for a label: of that label) is queued and it is that alias or, for a
    /// template or spec, the server value this client knows; anything else is checked as given.
    /// The push sends a label write's local value as the server's (the same alias).
    pub async fn local_if_match(&self, endpoint: &str, args: &Value, mut opts: WriteOptions) -> WriteOptions {
        let Some(m) = opts.if_match.clone() else { return opts };
        let Some(target) = self.target(endpoint, args, None).await else { return opts };
        let label = args.get("label").and_then(Value::as_str).map(str::to_string);
        let kind = match endpoint {
            "updateSpec" => "spec",
            "setLabel" | "removeLabel" => "labels",
            _ => "template",
        };
        if let Ok(v) = JsFuture::from(self.engine.local_if_match(kind, &target, &m, label)).await {
            if let Some(local) = v.as_string() {
                opts.if_match = Some(local);
            }
        }
        opts
    }

    /// The record whose server `updated_at` is the push's If-Match (or whose id a create
    /// claims): the created record, a restore's current latest version, else the `id` argument.
    async fn target(&self, endpoint: &str, args: &Value, created: Option<&str>) -> Option<String> {
        let id = args.get("id").and_then(Value::as_str);
        match endpoint {
            "restoreVersion" => {
                let versions = self.core.versions(id?).await.ok()?;
                versions.into_iter().find(|v| v.is_latest).map(|v| v.id)
            }
            "create" | "createSpec" | "instantiateSpec" => created.map(str::to_string),
            _ => id.map(str::to_string),
        }
    }

    /// Brings template or spec `id` from the server when the replica lacks it; true when it did.
    pub async fn fetch_missing(&self, kind: &str, id: &str) -> bool {
        JsFuture::from(self.engine.fetch_missing(kind, id)).await.map(|v| v.as_bool() == Some(true)).unwrap_or(false)
    }

    /// Stale-while-revalidate (issue 15 "Reads"): after a read answered from the replica, a
    /// conditional GET of `id` (and of its chain's links another user owns) runs in the
    /// background; a changed copy is applied and heard by `subscribe` as `external: true`.
    pub fn revalidate(&self, kind: &str, id: &str) {
        self.engine.revalidate(kind, id);
    }

    /// Whether the replica holds template `t`'s whole lineage: the acting user's own, or another
    /// user's once a server read of it was kept (`adopt`).
    pub async fn holds_lineage(&self, t: &crate::model::WorkflowTemplate) -> bool {
        if t.owner_id == self.core.user_id() || t.is_builtin {
            return true;
        }
        let Ok(versions) = self.core.versions(&t.id).await else { return false };
        let ids: Vec<&str> = versions.iter().map(|v| v.id.as_str()).collect();
        let ids = serde_json::to_string(&ids).unwrap_or_default();
        JsFuture::from(self.engine.holds_lineage(&ids)).await.map(|v| v.as_bool() == Some(true)).unwrap_or(false)
    }

    /// A lineage read answered from the replica: the pull from the kept feed cursor revalidates it.
    pub fn revalidate_lineage(&self) {
        self.engine.revalidate_feed();
    }

    /// Keeps the lineage of template `id` (another user's, read from the server) in the replica.
    pub fn adopt(&self, id: &str) {
        self.engine.adopt_lineage(id);
    }

    pub fn offline(&self) -> bool {
        Reflect::get(&self.engine.sync_state(), &"state".into()).ok().and_then(|s| s.as_string()).as_deref() == Some("offline")
    }

    /// An online-only server call (discover, importAll): the answer's body, or its coded error.
    pub async fn call(&self, name: &str, args: Value) -> Result<Value> {
        let reply = JsFuture::from(self.engine.call(name, &args.to_string())).await.map_err(|e| failure(&e))?;
        let text = js_sys::Array::from(&reply).get(0).as_string().unwrap_or_default();
        serde_json::from_str(&text).map_err(|e| Error::Network(format!("{name}: the answer is not JSON: {e}")))
    }

    /// A JSON-text answer of the engine (`pending`, `sync`) as a value.
    async fn json(p: Promise) -> Result<Value> {
        let v = JsFuture::from(p).await.map_err(|e| failure(&e))?;
        serde_json::from_str(&v.as_string().unwrap_or_default()).map_err(|e| Error::StorageUnavailable(format!("the sync engine answered no JSON: {e}")))
    }

    pub async fn pending(&self) -> Result<Value> {
        Self::json(self.engine.pending()).await
    }

    pub async fn sync(&self) -> Result<Value> {
        Self::json(self.engine.sync()).await
    }

    pub async fn resolve_conflict(&self, id: &str, choice: &str, kind: Option<String>) -> Result<()> {
        JsFuture::from(self.engine.resolve_conflict(id, choice, kind)).await.map(drop).map_err(|e| failure(&e))
    }

    /// Drops queued write `seq` and the later writes built on it: the seqs dropped. The engine's
    /// promise, converted as it settles (no future of its own: size).
    pub fn discard_pending(&self, seq: f64) -> impl Future<Output = Result<Value>> {
        Self::json(self.engine.discard_pending(seq))
    }

    pub fn sync_state(&self) -> JsValue {
        self.engine.sync_state()
    }

    /// The engine's own events (`conflict`, `sync`, `rejected`) for `f`; returns its unsubscribe.
    pub fn subscribe_engine(&self, f: &Function) -> Function {
        self.engine.subscribe(f)
    }

    pub fn close(&self) {
        self.engine.close();
        self.core.store().close();
    }
}

/// `{ ..., offline: true }`: a page answered from the replica while the server is unreachable.
pub fn offline_page<T: serde::Serialize>(page: T) -> Result<Value> {
    let mut v = serde_json::to_value(page).map_err(|e| Error::invalid(e.to_string()))?;
    v["offline"] = Value::Bool(true);
    Ok(v)
}

#[allow(dead_code)]
fn keep_snippets(entry: &JsValue) -> (JsValue, Promise, Promise, Promise) {
    (outbox_ids_of(entry), pull_snippet(entry), push_snippet(entry, entry), hold_snippet(entry))
}
