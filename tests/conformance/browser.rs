//! The browser harness of the conformance suite: every adapter the package ships, opened the
//! way the facade opens them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use workflow_templates::store::js::JsStore;
use workflow_templates::store::memory::MemoryStore;
use workflow_templates::browser::{open_backend, AnyStore, Backend};

use super::{Harness, TickEnv};

#[wasm_bindgen(module = "/examples/map-adapter.js")]
extern "C" {
    pub type MapAdapter;
    #[wasm_bindgen(constructor)]
    pub fn new() -> MapAdapter;
}

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Memory,
    IndexedDb,
    Local,
    Adapter,
}

/// One adapter kind; `fresh` makes a uniquely named database (or a new object), `again` opens
/// a second handle on it, as another tab would.
pub struct Browser {
    kind: Kind,
    name: RefCell<String>,
    memory: RefCell<Rc<MemoryStore>>,
    adapter: RefCell<JsValue>,
    env: TickEnv,
}

thread_local!(static COUNTER: Cell<u32> = const { Cell::new(0) });

impl Browser {
    pub fn new(kind: Kind) -> Self {
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
        pause(ms).await
    }
}

/// Resolves after `ms` milliseconds, in a later task (a transaction of an earlier task is no
/// longer active by then).
pub async fn pause(ms: u32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout: js_sys::Function =
            js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).expect("setTimeout").unchecked_into();
        set_timeout.call2(&JsValue::NULL, &resolve, &ms.into()).expect("setTimeout runs");
    });
    JsFuture::from(p).await.expect("a timer resolves");
}

