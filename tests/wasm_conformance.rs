//! The storage conformance suite (tests/conformance) in a real browser window, against every
//! adapter the package ships: memory, IndexedDB, localStorage, and a JS adapter object (the
//! example adapter of the docs, examples/map-adapter.js). scripts/test.sh runs it in headless
//! Chromium, Firefox and WebKit; tests/wasm_worker.rs runs it in a dedicated worker.
#![cfg(target_arch = "wasm32")]

mod conformance;

use conformance::browser::{Browser, Kind};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod memory {
    use super::*;
    conformance_tests!(wasm, Browser::new(Kind::Memory));
}

mod indexeddb {
    use super::*;
    conformance_tests!(wasm, Browser::new(Kind::IndexedDb));
}

mod local {
    use super::*;
    conformance_tests!(wasm, Browser::new(Kind::Local));
}

mod adapter {
    use super::*;
    conformance_tests!(wasm, Browser::new(Kind::Adapter));
}
