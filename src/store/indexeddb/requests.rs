//! The Rust side of `js/idb.js`, the one request layer every read and write of this adapter
//! goes through. JSON text in and out; the JS side owns every request and its handlers, so Rust
//! only ever awaits promises that settle (no request future, no closure a late event could
//! reach after it was freed).

use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};
use crate::store::dom_error;

// The raw bindings are public (hidden) for the request layer's own tests (tests/wasm_idb.rs):
// a test crate that imported js/idb.js itself would define the same glue symbols twice.
#[wasm_bindgen(module = "/js/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = idbOpen)]
    pub fn idb_open(name: &str, version: u32, steps: &str, on_closed: &Closure<dyn FnMut()>) -> js_sys::Promise;
    #[wasm_bindgen(js_name = idbClose)]
    pub fn close(db: &JsValue);
    #[wasm_bindgen(js_name = idbDelete)]
    pub fn idb_delete(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = idbRead)]
    pub fn idb_read(db: &JsValue, ops: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = idbMutateBegin)]
    pub fn mutate_begin(db: &JsValue, header: &str) -> JsValue;
    #[wasm_bindgen(js_name = idbMutateStarted)]
    pub fn idb_mutate_started(batch: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = idbMutateOps)]
    pub fn mutate_ops(batch: &JsValue, ops: &str);
    #[wasm_bindgen(js_name = idbMutateEnd)]
    pub fn idb_mutate_end(batch: &JsValue, unique: &str) -> js_sys::Promise;
}

/// Why a request failed, as `js/idb.js` reports it.
#[derive(Debug, Default)]
pub struct Failure {
    /// "blocked", "refused", "upgrade", "failed" (open and delete) or empty.
    pub kind: String,
    /// The DOMException's name (QuotaExceededError, AbortError, ...).
    pub name: String,
    pub message: String,
    /// The migration step that failed (kind "upgrade").
    pub step: String,
}

impl Failure {
    fn of(v: &JsValue) -> Failure {
        let text = |k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).ok().and_then(|x| x.as_string()).unwrap_or_default();
        if !v.is_object() {
            return Failure { name: "Error".into(), message: v.as_string().unwrap_or_default(), ..Failure::default() };
        }
        Failure { kind: text("kind"), name: text("name"), message: text("message"), step: text("step") }
    }

    /// STORAGE_QUOTA for quota failures, STORAGE_UNAVAILABLE for the rest (`store::dom_error`).
    pub fn to_error(&self, what: &str) -> Error {
        dom_error(what, &self.name, &self.message)
    }
}

pub async fn open(name: &str, version: u32, steps: &str, on_closed: &Closure<dyn FnMut()>) -> std::result::Result<JsValue, Failure> {
    JsFuture::from(idb_open(name, version, steps, on_closed)).await.map_err(|e| Failure::of(&e))
}

pub async fn delete(name: &str) -> std::result::Result<(), Failure> {
    JsFuture::from(idb_delete(name)).await.map(|_| ()).map_err(|e| Failure::of(&e))
}

/// Runs read `ops` (see `js/idb.js` `idbRead`) in one readonly transaction: one JSON text per op.
pub async fn read(db: &JsValue, ops: &[Value]) -> Result<Vec<String>> {
    let ops = Value::Array(ops.to_vec()).to_string();
    let out = JsFuture::from(idb_read(db, &ops)).await.map_err(|e| Failure::of(&e).to_error("reading"))?;
    let out: js_sys::Array = out.dyn_into().map_err(|_| Error::StorageUnavailable("reading: no answer from the request layer".into()))?;
    Ok(out.iter().map(|v| v.as_string().unwrap_or_default()).collect())
}

/// Waits until a mutate begun with `hold` has its transaction's first answer (or has ended;
/// `mutate_end` then says why). Never fails.
pub async fn mutate_started(batch: &JsValue) {
    let _ = JsFuture::from(idb_mutate_started(batch)).await;
}

/// Ends a mutate: `None` when the transaction committed, else why it did not (JSON, see
/// `js/idb.js`).
pub async fn mutate_end(batch: &JsValue, unique: &str) -> Result<Option<Value>> {
    let out = JsFuture::from(idb_mutate_end(batch, unique)).await.map_err(|e| Failure::of(&e).to_error("writing"))?;
    match out.as_string() {
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|_| Error::StorageUnavailable("writing: an unreadable answer from the request layer".into())),
        None => Ok(None),
    }
}

/// A JS exception (a DOMException from a storage API) as a contract error.
pub(crate) fn js_error(what: &str, v: &JsValue) -> Error {
    match v.dyn_ref::<js_sys::Error>() {
        Some(e) => {
            let name: String = e.name().into();
            let message: String = e.message().into();
            dom_error(what, &name, &message)
        }
        None => Error::StorageUnavailable(format!("{what}: {v:?}")),
    }
}
