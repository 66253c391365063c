//! Change events (`subscribe`): the event type, the subscriber list the catalog and the remote
//! adapter share, and how the catalog emits its own changes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Serialize;

use super::{Catalog, Env};
use crate::model::id::normalize_id;
use crate::store::Store;

/// A change, for `subscribe`: made through this catalog, or (`external`) reported by the
/// storage adapter from elsewhere, e.g. another tab on the same database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// "template", "spec", "rating", "usage", "label" (id: the version the label points or
    /// pointed at), "import", or "storage" (the adapter's own news: op "closed" when another
    /// tab upgraded the database; on storage "remote", "resync" when the server's change feed
    /// lost our place and "error" when it refused the feed, README "Live updates on remote").
    pub kind: &'static str,
    /// "create", "update", "delete", "import", "closed", "resync" or "error".
    pub op: &'static str,
    pub id: Option<String>,
    pub external: bool,
}

const EVENT_KINDS: [&str; 7] = ["template", "spec", "rating", "usage", "label", "import", "storage"];
const EVENT_OPS: [&str; 7] = ["create", "update", "delete", "import", "closed", "resync", "error"];

impl ChangeEvent {
    /// An event reported from elsewhere; `None` when kind or op is not one this catalog emits
    /// (a message from a newer or hostile page is dropped, not passed on).
    pub fn external(kind: &str, op: &str, id: Option<String>) -> Option<Self> {
        let kind = EVENT_KINDS.iter().find(|k| **k == kind)?;
        let op = EVENT_OPS.iter().find(|o| **o == op)?;
        let id = match id {
            Some(i) => Some(normalize_id(&i)?),
            None => None,
        };
        Some(ChangeEvent { kind, op, id, external: true })
    }
}

pub(super) type Listener = Rc<dyn Fn(&ChangeEvent)>;

/// Subscribers of change events, by handle (shared by the catalog and the remote adapter).
#[derive(Default)]
pub struct Listeners {
    list: RefCell<Vec<(u64, Listener)>>,
    next: Cell<u64>,
}

impl Listeners {
    pub fn subscribe(&self, f: impl Fn(&ChangeEvent) + 'static) -> u64 {
        let id = self.next.get() + 1;
        self.next.set(id);
        self.list.borrow_mut().push((id, Rc::new(f)));
        id
    }

    pub fn unsubscribe(&self, handle: u64) -> bool {
        let mut ls = self.list.borrow_mut();
        let before = ls.len();
        ls.retain(|(id, _)| *id != handle);
        ls.len() != before
    }

    pub fn deliver(&self, ev: &ChangeEvent) {
        // Clone the list first: a listener may subscribe or unsubscribe while being called.
        let ls: Vec<Listener> = self.list.borrow().iter().map(|(_, l)| l.clone()).collect();
        for l in ls {
            l(ev);
        }
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    pub(super) fn emit(&self, kind: &'static str, op: &'static str, id: Option<&str>) {
        let ev = ChangeEvent { kind, op, id: id.map(str::to_string), external: false };
        let outbox = self.outbox.borrow().clone();
        if let Some(o) = outbox {
            o(&ev);
        }
        self.deliver(&ev);
    }

    /// An external change this catalog stored (`apply_remote`): told to the outbox (other tabs)
    /// and to subscribers.
    pub(super) fn emit_external(&self, ev: ChangeEvent) {
        let outbox = self.outbox.borrow().clone();
        if let Some(o) = outbox {
            o(&ev);
        }
        self.deliver(&ev);
    }

    /// Passes an event to the subscribers only (adapters call it for changes made elsewhere).
    pub fn deliver(&self, ev: &ChangeEvent) {
        self.listeners.deliver(ev);
    }

    /// Calls `f` for every change made through this catalog; returns a handle for
    /// `unsubscribe`. (Adapters add changes made elsewhere, e.g. other tabs.)
    pub fn subscribe(&self, f: impl Fn(&ChangeEvent) + 'static) -> u64 {
        self.listeners.subscribe(f)
    }

    /// Sets where changes made through this catalog are reported besides subscribers.
    pub fn set_outbox(&self, f: impl Fn(&ChangeEvent) + 'static) {
        *self.outbox.borrow_mut() = Some(Rc::new(f));
    }

    pub fn unsubscribe(&self, handle: u64) -> bool {
        self.listeners.unsubscribe(handle)
    }
}
