//! The remote adapter: `TemplateCatalog.open({ userId, storage: "remote", baseUrl, token })`.
//!
//! Unlike the other adapters this is not a record store under the local catalog: the reference
//! server (server/) runs this same core and enforces every rule itself, so each catalog method
//! is one HTTP request to the matching endpoint (server/openapi.yaml), and the server's answer
//! (or its coded error) is passed on. The endpoints are described once, as data, in
//! `js/remote.js` (method, path template, retry class, events), with one generic call that does
//! the HTTP work (timeouts, retries with backoff, Idempotency-Key, If-Match) outside the wasm;
//! this side checks what it sends, names the endpoint and converts the answer.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::browser::failure;
use crate::catalog::{ChangeEvent, Listeners};
use crate::error::{Error, Result};

#[wasm_bindgen(module = "/js/remote.js")]
extern "C" {
    /// See js/remote.js: one server and token; `call` resolves with `[answer JSON text,
    /// [[kind, op, id]...]]` and rejects with the JSON text of `{ code, message, details }`.
    type RemoteClient;
    #[wasm_bindgen(constructor)]
    fn new(base: &str, token: Option<String>) -> RemoteClient;
    #[wasm_bindgen(method)]
    fn call(this: &RemoteClient, name: &str, args: &str) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = startFeed)]
    fn start_feed(this: &RemoteClient, deliver: &js_sys::Function);
    #[wasm_bindgen(method, js_name = stopFeed)]
    fn stop_feed(this: &RemoteClient);
}

pub struct Remote {
    client: RemoteClient,
    user: String,
    listeners: Rc<Listeners>,
    /// Subscribers now: the feed is connected while there is at least one.
    subscribers: Cell<usize>,
    closed: Cell<bool>,
    /// Hands the feed's changes to the listeners as `external: true` events.
    deliver: Closure<dyn Fn(String, String, Option<String>)>,
}

impl Remote {
    /// Checks the address and the token (GET /v1/me): the token must belong to `user_id`.
    pub async fn open(base_url: &str, token: Option<String>, user_id: &str) -> Result<Remote> {
        let base = check_address(base_url, token.as_deref())?;
        let listeners = Rc::new(Listeners::default());
        let to = listeners.clone();
        let deliver = Closure::<dyn Fn(String, String, Option<String>)>::new(move |kind: String, op: String, id: Option<String>| {
            if let Some(e) = ChangeEvent::external(&kind, &op, id) {
                to.deliver(&e);
            }
        });
        let client = RemoteClient::new(&base, token);
        let r = Remote { client, user: user_id.to_string(), listeners, subscribers: Cell::new(0), closed: Cell::new(false), deliver };
        let me = r.call("me", json!({})).await?;
        match me.get("user_id").and_then(Value::as_str) {
            Some(u) if u == user_id => Ok(r),
            Some(u) => Err(Error::Unauthorized(format!("the token belongs to user {u}, not to userId {user_id}"))),
            None => Err(Error::Network("the server's /v1/me answer has no user_id".into())),
        }
    }

    pub fn user_id(&self) -> &str {
        &self.user
    }

    /// Endpoint `name` of js/remote.js with `args` (`{ id?, label?, query?, body?, ifMatch? }`):
    /// the answer's body, or its coded error. A success emits the endpoint's events.
    pub async fn call(&self, name: &str, args: Value) -> Result<Value> {
        if let Some(m) = args.get("ifMatch").and_then(Value::as_str) {
            if m.is_empty() || m.len() > 64 || !m.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid("ifMatch must be the updated_at string of the copy being edited"));
            }
        }
        let reply = JsFuture::from(self.client.call(name, &args.to_string())).await;
        let reply = match reply {
            Ok(r) => js_sys::Array::from(&r),
            Err(e) => return Err(failure(&e)),
        };
        let text = reply.get(0).as_string().unwrap_or_default();
        let body = serde_json::from_str(&text).map_err(|e| Error::Network(format!("{name}: the answer is not JSON: {e}")))?;
        for ev in js_sys::Array::from(&reply.get(1)).iter() {
            let ev = js_sys::Array::from(&ev);
            if let (Some(kind), Some(op)) = (ev.get(0).as_string(), ev.get(1).as_string()) {
                if let Some(mut e) = ChangeEvent::external(&kind, &op, ev.get(2).as_string()) {
                    e.external = false;
                    self.listeners.deliver(&e);
                }
            }
        }
        Ok(body)
    }

    // ---- events: this catalog's own writes, and other clients' from the change feed ---------

    /// The first subscriber connects the feed (GET /v1/changes/stream); a later one reconnects
    /// it after the server refused it (`storage` / `error`; startFeed is a no-op while running).
    pub fn subscribe(&self, f: impl Fn(&ChangeEvent) + 'static) -> u64 {
        let handle = self.listeners.subscribe(f);
        self.subscribers.set(self.subscribers.get() + 1);
        if !self.closed.get() {
            self.client.start_feed(self.deliver.as_ref().unchecked_ref());
        }
        handle
    }

    /// The last one to leave closes it.
    pub fn unsubscribe(&self, handle: u64) -> bool {
        let gone = self.listeners.unsubscribe(handle);
        if gone {
            self.subscribers.set(self.subscribers.get() - 1);
            if self.subscribers.get() == 0 {
                self.client.stop_feed();
            }
        }
        gone
    }

    /// `close()`: no more feed (listeners stay, as for the other adapters, but hear nothing).
    pub fn close(&self) {
        self.closed.set(true);
        self.client.stop_feed();
    }
}

/// The server's address without trailing slashes, after checking it and the token.
pub fn check_address(base_url: &str, token: Option<&str>) -> Result<String> {
    let base = base_url.trim_end_matches('/').to_string();
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() > 2000 {
        return Err(Error::invalid("baseUrl must be an http:// or https:// URL"));
    }
    if token.is_some_and(|t| t.is_empty() || t.len() > 256 || t.chars().any(|c| !c.is_ascii_graphic())) {
        return Err(Error::invalid("token must be 1..=256 visible ASCII characters"));
    }
    Ok(base)
}
