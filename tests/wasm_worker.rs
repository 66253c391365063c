//! The package inside a dedicated Web Worker (no `window`): the IndexedDB adapter comes from
//! the worker's global scope and passes the whole conformance suite there; localStorage, which
//! workers do not have, is refused with STORAGE_UNAVAILABLE instead of trapping.
#![cfg(target_arch = "wasm32")]

mod conformance;

use conformance::browser::{Browser, Kind};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use workflow_templates::browser::open_backend;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn runs_in_a_worker_without_window() {
    assert!(js_sys::global().dyn_ref::<web_sys::Window>().is_none());
    assert!(js_sys::Reflect::has(&js_sys::global(), &"indexedDB".into()).unwrap());
}

#[wasm_bindgen_test]
async fn local_storage_is_refused_with_a_code() {
    let e = open_backend(Some("local"), "wt-worker-local").await.err().expect("no localStorage in a worker");
    assert_eq!(e.code(), "STORAGE_UNAVAILABLE");
    // The default still opens: IndexedDB is there.
    let b = open_backend(None, "wt-worker-default").await.unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    assert!(matches!(b, workflow_templates::browser::Backend::IndexedDb(_)));
}

mod indexeddb {
    use super::*;
    conformance_tests!(wasm, Browser::new(Kind::IndexedDb));
}

mod adapter {
    use super::*;
    conformance_tests!(wasm, Browser::new(Kind::Adapter));
}
