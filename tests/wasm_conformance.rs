//! The storage conformance suite (tests/conformance) in a real browser, against every adapter
//! the package ships: memory, IndexedDB, localStorage, and a JS adapter object (the example
//! adapter of the docs, examples/map-adapter.js). scripts/test.sh runs it in headless
//! Chromium, Firefox and WebKit.
#![cfg(target_arch = "wasm32")]

mod conformance;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use conformance::{Harness, TickEnv};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use workflow_templates::store::js::JsStore;
use workflow_templates::store::memory::MemoryStore;
use workflow_templates::wasm::store::{open_backend, AnyStore, Backend};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/examples/map-adapter.js")]
extern "C" {
    type MapAdapter;
    #[wasm_bindgen(constructor)]
    fn new() -> MapAdapter;
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Memory,
    IndexedDb,
    Local,
    Adapter,
}

/// One adapter kind; `fresh` makes a uniquely named database (or a new object), `again` opens
/// a second handle on it, as another tab would.
struct Browser {
    kind: Kind,
    name: RefCell<String>,
    memory: RefCell<Rc<MemoryStore>>,
    adapter: RefCell<JsValue>,
    env: TickEnv,
}

thread_local!(static COUNTER: Cell<u32> = const { Cell::new(0) });

impl Browser {
    fn new(kind: Kind) -> Self {
        Browser { kind, name: RefCell::new(String::new()), memory: RefCell::default(), adapter: RefCell::new(JsValue::NULL), env: TickEnv::new() }
    }

    async fn open(&self) -> AnyStore {
        let name = self.name.borrow().clone();
        let backend = match self.kind {
            Kind::Memory => Backend::Memory(self.memory.borrow().clone()),
            Kind::IndexedDb => open_backend(Some("indexeddb"), &name).await.unwrap_or_else(|e| panic!("{}: {e}", e.code())),
            Kind::Local => open_backend(Some("local"), &name).await.unwrap_or_else(|e| panic!("{}: {e}", e.code())),
            Kind::Adapter => Backend::Js(JsStore::new(self.adapter.borrow().clone()).expect("the example adapter is valid")),
        };
        AnyStore::new(backend, &name)
    }
}

impl Harness for Browser {
    type S = AnyStore;
    type E = TickEnv;

    async fn fresh(&self) -> AnyStore {
        let n = COUNTER.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        *self.name.borrow_mut() = format!("wt-conformance-{}-{n}", js_sys::Date::now() as u64);
        *self.memory.borrow_mut() = Rc::new(MemoryStore::new());
        *self.adapter.borrow_mut() = MapAdapter::new().into();
        self.open().await
    }

    async fn again(&self) -> AnyStore {
        self.open().await
    }

    fn env(&self) -> TickEnv {
        self.env.clone()
    }

    fn attach(&self, catalog: &Rc<workflow_templates::catalog::Catalog<AnyStore, TickEnv>>) {
        catalog.store().attach(catalog);
    }

    fn cross_tab(&self) -> bool {
        matches!(self.kind, Kind::IndexedDb | Kind::Local)
    }

    fn persistent(&self) -> bool {
        self.kind != Kind::Memory
    }

    async fn pause(&self, ms: u32) {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            let set_timeout: js_sys::Function =
                js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).expect("setTimeout").unchecked_into();
            set_timeout.call2(&JsValue::NULL, &resolve, &ms.into()).expect("setTimeout runs");
        });
        JsFuture::from(p).await.expect("a timer resolves");
    }
}

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
