//! Whether the browser may evict this origin's storage, and asking it not to (issue 15): the
//! IndexedDB and localStorage catalogs hold the only copy of the user's templates, and browsers
//! evict storage that is not persistent (Safari after 7 days without interaction). Wraps
//! `navigator.storage.persisted()` / `persist()` (WHATWG Storage Standard, section 4).

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::TemplateCatalog;

/// Calls `navigator.storage[method]()`: `true` only when it resolves with `true`. Where the API
/// is missing (Node, old engines, some insecure contexts) or fails, `false`: nothing is promised.
async fn ask(method: &str) -> bool {
    let global = js_sys::global();
    let Some(storage) = Reflect::get(&global, &"navigator".into())
        .ok()
        .filter(JsValue::is_object)
        .and_then(|n| Reflect::get(&n, &"storage".into()).ok())
        .filter(JsValue::is_object)
    else {
        return false;
    };
    let Some(f) = Reflect::get(&storage, &method.into()).ok().and_then(|f| f.dyn_into::<Function>().ok()) else {
        return false;
    };
    match f.call0(&storage) {
        Ok(p) => JsFuture::from(Promise::resolve(&p)).await.map(|v| v.as_bool() == Some(true)).unwrap_or(false),
        Err(_) => false,
    }
}

#[wasm_bindgen]
impl TemplateCatalog {
    /// Resolves `true` when the browser has made this origin's storage persistent (it will not
    /// evict it under storage pressure), else `false`, also where the API is missing. Never rejects.
    #[wasm_bindgen(js_name = storagePersisted, unchecked_return_type = "Promise<boolean>")]
    pub fn storage_persisted() -> Promise {
        future_to_promise(async { Ok(JsValue::from_bool(ask("persisted").await)) })
    }

    /// Asks the browser to make this origin's storage persistent (`navigator.storage.persist()`;
    /// the browser may ask the user or decide by itself); resolves with the answer, `false` where
    /// the API is missing. Never rejects.
    #[wasm_bindgen(js_name = requestPersistentStorage, unchecked_return_type = "Promise<boolean>")]
    pub fn request_persistent_storage() -> Promise {
        future_to_promise(async { Ok(JsValue::from_bool(ask("persist").await)) })
    }
}
