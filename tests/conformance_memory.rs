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

/// The memory adapter answering discovery pages natively (`Store::query_page` by a full scan,
/// `store::page::scan_page`): the catalog's merge of built-ins into a native page, at every
/// offset, checked without a database.
mod paged {
    use super::*;
    use workflow_templates::model::{TemplateSpec, WorkflowTemplate};
    use workflow_templates::store::page::scan_page;
    use workflow_templates::store::{
        BuiltinStats, PageQuery, PageRows, Rating, SpecFilter, Store, Stored, TemplateFilter, TemplateLabel, UsageTotals, Write,
    };
    use workflow_templates::Result;

    pub struct Paged(Rc<MemoryStore>);

    impl Store for Paged {
        async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
            self.0.get_template(id).await
        }
        async fn find_templates(&self, f: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
            self.0.find_templates(f).await
        }
        async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
            self.0.get_spec(id).await
        }
        async fn find_specs(&self, f: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
            self.0.find_specs(f).await
        }
        async fn get_rating(&self, t: &str, u: &str) -> Result<Option<Stored<Rating>>> {
            self.0.get_rating(t, u).await
        }
        async fn find_ratings(&self, u: Option<&str>, t: Option<&str>) -> Result<Vec<Stored<Rating>>> {
            self.0.find_ratings(u, t).await
        }
        async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
            self.0.get_builtin_stats(id).await
        }
        async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
            self.0.all_builtin_stats().await
        }
        async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>> {
            self.0.get_usage_totals(id).await
        }
        async fn find_labels(&self, o: &str, n: Option<&str>) -> Result<Vec<Stored<TemplateLabel>>> {
            self.0.find_labels(o, n).await
        }
        async fn commit(&self, writes: Vec<Write>) -> Result<()> {
            self.0.commit(writes).await
        }
        async fn query_page(&self, q: &PageQuery) -> Result<Option<PageRows>> {
            Ok(Some(scan_page(self.0.find_templates(&TemplateFilter::default()).await?, q)))
        }
    }

    struct PagedHarness(Memory);

    impl Harness for PagedHarness {
        type S = Paged;
        type E = TickEnv;
        async fn fresh(&self) -> Paged {
            Paged(self.0.fresh().await)
        }
        async fn again(&self) -> Paged {
            Paged(self.0.again().await)
        }
        fn env(&self) -> TickEnv {
            self.0.env()
        }
        fn persistent(&self) -> bool {
            false
        }
    }

    conformance_tests!(native, PagedHarness(Memory::new()));
}
