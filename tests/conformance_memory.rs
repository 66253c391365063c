//! The storage conformance suite (tests/conformance) against the in-memory adapter, natively.
//! The browser adapters run it in tests/wasm_conformance.rs.
#![cfg(not(target_arch = "wasm32"))]

mod conformance;

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use conformance::{Harness, TickEnv};
use workflow_templates::store::memory::MemoryStore;

/// The memory store never waits, so every future completes on its first poll.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the in-memory store should never wait"),
    }
}

struct Memory {
    current: RefCell<Rc<MemoryStore>>,
    env: TickEnv,
}

impl Memory {
    fn new() -> Self {
        Memory { current: RefCell::new(Rc::new(MemoryStore::new())), env: TickEnv::new() }
    }
}

impl Harness for Memory {
    type S = Rc<MemoryStore>;
    type E = TickEnv;
    async fn fresh(&self) -> Rc<MemoryStore> {
        let s = Rc::new(MemoryStore::new());
        *self.current.borrow_mut() = s.clone();
        s
    }
    async fn again(&self) -> Rc<MemoryStore> {
        self.current.borrow().clone()
    }
    fn env(&self) -> TickEnv {
        self.env.clone()
    }
    fn persistent(&self) -> bool {
        false
    }
}

conformance_tests!(native, Memory::new());
