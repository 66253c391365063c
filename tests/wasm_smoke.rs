//! Proves that the browser test pipeline really runs: these tests execute inside headless
//! Chromium (scripts/test.sh: wasm-bindgen-test-runner + chromedriver), not in Node, and a failed
//! assertion fails the run. Every `tests/wasm_*.rs` file needs the `cfg` line below so that the
//! native `cargo test` compiles it to nothing.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen_test]
fn runs_inside_a_browser_page() {
    let global = js_sys::global();
    assert!(get(&global, "document").is_object(), "no `document`: not running in a browser page");
    assert!(get(&global, "process").is_undefined(), "`process` exists: this is Node, not a browser");
    let agent = get(&get(&global, "navigator"), "userAgent").as_string().unwrap_or_default();
    // scripts/test.sh compiles with WASM_TEST_BROWSER=chrome and runs chromedriver.
    if option_env!("WASM_TEST_BROWSER") == Some("chrome") {
        assert!(agent.contains("HeadlessChrome/"), "expected headless Chromium, got user agent {agent:?}");
    }
    assert!(
        get(&global, "indexedDB").is_object(),
        "no IndexedDB in this browser (the catalog's default storage needs it)"
    );
}

#[wasm_bindgen_test]
fn new_id_is_a_26_character_ulid_and_increases() {
    const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let first = workflow_templates::wasm::new_id();
    assert_eq!(first.len(), 26, "{first}");
    assert!(first.chars().all(|c| CROCKFORD.contains(c)), "{first} is not uppercase Crockford base32");
    let second = workflow_templates::wasm::new_id();
    assert!(second > first, "{second} does not sort after {first}");
}
