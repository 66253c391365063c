//! The remote adapter: `TemplateCatalog.open({ userId, storage: "remote", baseUrl, token })`.
//!
//! Unlike the other adapters this is not a record store under the local catalog: the reference
//! server (server/) runs this same core and enforces every rule itself, so each catalog method
//! is one HTTP request to the matching endpoint (server/openapi.yaml), and the server's answer
//! (or its coded error) is passed on. Requests that are safe to repeat (GET, PUT, DELETE, and
//! POSTs carrying an `Idempotency-Key`) are retried on transport failures and 502/503/504 with
//! jittered exponential backoff; every attempt has a timeout.

use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::catalog::{ChangeEvent, Listeners};
use crate::error::{Error, Result};
use crate::model::id::{random_bits, IdGenerator};

#[wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = httpRequest)]
    fn http_request(url: &str, method: &str, headers: &JsValue, body: Option<String>, timeout_ms: u32) -> js_sys::Promise;
    fn sleep(ms: u32) -> js_sys::Promise;
}

/// Per-attempt timeout, and how many times a safe request is tried in all.
const TIMEOUT_MS: u32 = 15_000;
const ATTEMPTS: u32 = 4;
const BACKOFF_MS: f64 = 150.0;

pub struct Remote {
    base: String,
    token: Option<String>,
    user: String,
    listeners: Listeners,
}

/// How a request may be repeated.
#[derive(Clone, Copy, PartialEq)]
pub enum Retry {
    /// GET, PUT, DELETE: the same request twice has the effect of one.
    Safe,
    /// A POST the server deduplicates by its `Idempotency-Key`.
    Keyed,
    /// Not repeated (PATCH: a retry after a lost answer would report a spurious CONFLICT).
    Never,
}

pub struct Answer {
    pub body: Value,
}

fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

impl Remote {
    /// Checks the address and the token (GET /v1/me): the token must belong to `user_id`.
    pub async fn open(base_url: &str, token: Option<String>, user_id: &str) -> Result<Remote> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() > 2000 {
            return Err(Error::invalid("baseUrl must be an http:// or https:// URL"));
        }
        if token.as_ref().is_some_and(|t| t.is_empty() || t.len() > 256 || t.chars().any(|c| !c.is_ascii_graphic())) {
            return Err(Error::invalid("token must be 1..=256 visible ASCII characters"));
        }
        let r = Remote { base, token, user: user_id.to_string(), listeners: Listeners::default() };
        let me = r.call("GET", "/v1/me", None, None, Retry::Safe).await?;
        match me.body.get("user_id").and_then(Value::as_str) {
            Some(u) if u == user_id => Ok(r),
            Some(u) => Err(Error::Unauthorized(format!("the token belongs to user {u}, not to userId {user_id}"))),
            None => Err(Error::Network("the server's /v1/me answer has no user_id".into())),
        }
    }

    pub fn user_id(&self) -> &str {
        &self.user
    }

    /// One logical request: attempts with backoff, the answer's body or its coded error.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>, if_match: Option<&str>, retry: Retry) -> Result<Answer> {
        let mut headers = Map::new();
        headers.insert("Accept".into(), json!("application/json"));
        if let Some(t) = &self.token {
            headers.insert("Authorization".into(), json!(format!("Bearer {t}")));
        }
        if body.is_some() {
            headers.insert("Content-Type".into(), json!("application/json"));
        }
        if let Some(m) = if_match {
            if m.is_empty() || m.len() > 64 || !m.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid("ifMatch must be the updated_at string of the copy being edited"));
            }
            headers.insert("If-Match".into(), json!(format!("\"{m}\"")));
        }
        if retry == Retry::Keyed {
            let key = IdGenerator::new().next(js_sys::Date::now() as u64, random_bits());
            headers.insert("Idempotency-Key".into(), json!(key));
        }
        let headers = super::convert::to_js(&Value::Object(headers));
        let body = body.map(|b| b.to_string());
        let url = format!("{}{}", self.base, path);
        let attempts = if retry == Retry::Never { 1 } else { ATTEMPTS };
        let mut last = Error::Network(format!("{method} {path}: no attempt made"));
        for attempt in 0..attempts {
            if attempt > 0 {
                // Full jitter: a random wait up to the exponential cap.
                let cap = BACKOFF_MS * f64::from(1u32 << attempt);
                let _ = JsFuture::from(sleep((js_sys::Math::random() * cap) as u32)).await;
            }
            let outcome = JsFuture::from(http_request(&url, method, &headers, body.clone(), TIMEOUT_MS)).await;
            let reply = match outcome {
                Ok(r) => r,
                Err(e) => {
                    let why = js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
                    last = Error::Network(format!("{method} {path}: {why}"));
                    continue;
                }
            };
            let status = js_sys::Reflect::get(&reply, &"status".into()).ok().and_then(|s| s.as_f64()).unwrap_or(0.0) as u16;
            let text = js_sys::Reflect::get(&reply, &"text".into()).ok().and_then(|t| t.as_string()).unwrap_or_default();
            if matches!(status, 502..=504) {
                last = Error::Network(format!("{method} {path}: the server answered {status}"));
                continue;
            }
            return answer(method, path, status, &text);
        }
        Err(last)
    }

    // ---- events: this catalog's own writes (the server does not push other clients') -------

    pub fn subscribe(&self, f: impl Fn(&ChangeEvent) + 'static) -> u64 {
        self.listeners.subscribe(f)
    }

    pub fn unsubscribe(&self, handle: u64) -> bool {
        self.listeners.unsubscribe(handle)
    }

    fn emit(&self, kind: &str, op: &str, id: Option<&str>) {
        let Some(mut ev) = ChangeEvent::external(kind, op, id.map(str::to_string)) else { return };
        ev.external = false;
        self.listeners.deliver(&ev);
    }
}

fn answer(method: &str, path: &str, status: u16, text: &str) -> Result<Answer> {
    if (200..300).contains(&status) {
        if status == 204 || text.is_empty() {
            return Ok(Answer { body: Value::Null });
        }
        return serde_json::from_str(text)
            .map(|body| Answer { body })
            .map_err(|e| Error::Network(format!("{method} {path}: the answer is not JSON: {e}")));
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let err = &body["error"];
    let message = err["message"].as_str().map(str::to_string).unwrap_or_else(|| format!("{method} {path}: HTTP {status}"));
    match (status, err["code"].as_str()) {
        (401, _) => Err(Error::remote("UNAUTHORIZED", message, err["details"].clone())),
        (412, _) => Err(Error::remote("CONFLICT", message, err["details"].clone())),
        (_, Some(code)) => Err(Error::remote(code, message, err["details"].clone())),
        (_, None) => Err(Error::Network(format!("{method} {path}: HTTP {status} without an error body"))),
    }
}

fn id_of(v: &Value) -> Option<&str> {
    v.get("id").and_then(Value::as_str)
}

/// The catalog methods over HTTP (server/README.md has the mapping).
impl Remote {
    pub async fn create(&self, draft: Value) -> Result<Value> {
        let a = self.call("POST", "/v1/templates", Some(&draft), None, Retry::Keyed).await?;
        self.emit("template", "create", id_of(&a.body));
        Ok(a.body)
    }
    pub async fn get(&self, id: &str) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/templates/{}", enc(id)), None, None, Retry::Safe).await?.body)
    }
    pub async fn update(&self, id: &str, patch: Value, if_match: Option<String>) -> Result<Value> {
        let a = self.call("PATCH", &format!("/v1/templates/{}", enc(id)), Some(&patch), if_match.as_deref(), Retry::Never).await?;
        self.emit("template", "update", Some(id));
        Ok(a.body)
    }
    pub async fn new_version(&self, id: &str, patch: Value, changelog: Option<String>, if_match: Option<String>) -> Result<Value> {
        let body = json!({ "patch": patch, "changelog": changelog });
        let a = self.call("POST", &format!("/v1/templates/{}/versions", enc(id)), Some(&body), if_match.as_deref(), Retry::Keyed).await?;
        self.emit("template", "create", id_of(&a.body));
        self.emit("template", "update", Some(id));
        Ok(a.body)
    }
    pub async fn versions(&self, id: &str) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/templates/{}/versions", enc(id)), None, None, Retry::Safe).await?.body)
    }
    pub async fn diff(&self, a: &str, b: &str) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/diff?a={}&b={}", enc(a), enc(b)), None, None, Retry::Safe).await?.body)
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.call("DELETE", &format!("/v1/templates/{}", enc(id)), None, None, Retry::Safe).await?;
        self.emit("template", "delete", Some(id));
        Ok(())
    }
    /// `options` is the JS option object, already checked by `DiscoverOptions::from_value`.
    pub async fn discover(&self, options: &Value) -> Result<Value> {
        let mut q = Vec::new();
        if let Value::Object(m) = options {
            for (k, v) in m {
                match v {
                    Value::Array(items) => q.extend(items.iter().filter_map(Value::as_str).map(|s| format!("{}={}", enc(k), enc(s)))),
                    Value::String(s) => q.push(format!("{}={}", enc(k), enc(s))),
                    Value::Null => {}
                    other => q.push(format!("{}={}", enc(k), enc(&other.to_string()))),
                }
            }
        }
        let path = if q.is_empty() { "/v1/templates".to_string() } else { format!("/v1/templates?{}", q.join("&")) };
        Ok(self.call("GET", &path, None, None, Retry::Safe).await?.body)
    }
    pub async fn popular_by_category(&self, n: usize) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/popular-by-category?n={n}"), None, None, Retry::Safe).await?.body)
    }
    pub async fn relation(&self, id: &str, what: &str) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/templates/{}/{what}", enc(id)), None, None, Retry::Safe).await?.body)
    }
    pub async fn preview(&self, draft: Value, id: Option<String>) -> Result<Value> {
        let body = json!({ "draft": draft, "id": id });
        Ok(self.call("POST", "/v1/preview", Some(&body), None, Retry::Safe).await?.body)
    }
    pub async fn record_usage(&self, id: &str, run: &Value) -> Result<Value> {
        let a = self.call("POST", &format!("/v1/templates/{}/usage", enc(id)), Some(run), None, Retry::Keyed).await?;
        self.emit("usage", "update", Some(id));
        Ok(a.body)
    }
    pub async fn rate(&self, id: &str, stars: f64) -> Result<Value> {
        let a = self.call("PUT", &format!("/v1/templates/{}/rating", enc(id)), Some(&json!({ "stars": stars })), None, Retry::Safe).await?;
        self.emit("rating", "update", Some(id));
        Ok(a.body)
    }
    pub async fn create_spec(&self, draft: Value) -> Result<Value> {
        let a = self.call("POST", "/v1/specs", Some(&draft), None, Retry::Keyed).await?;
        self.emit("spec", "create", id_of(&a.body));
        Ok(a.body)
    }
    pub async fn get_spec(&self, id: &str) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/specs/{}", enc(id)), None, None, Retry::Safe).await?.body)
    }
    pub async fn update_spec(&self, id: &str, patch: Value, if_match: Option<String>) -> Result<Value> {
        let a = self.call("PATCH", &format!("/v1/specs/{}", enc(id)), Some(&patch), if_match.as_deref(), Retry::Never).await?;
        self.emit("spec", "update", Some(id));
        Ok(a.body)
    }
    pub async fn delete_spec(&self, id: &str) -> Result<()> {
        self.call("DELETE", &format!("/v1/specs/{}", enc(id)), None, None, Retry::Safe).await?;
        self.emit("spec", "delete", Some(id));
        Ok(())
    }
    pub async fn list_specs(&self) -> Result<Value> {
        Ok(self.call("GET", "/v1/specs", None, None, Retry::Safe).await?.body)
    }
    pub async fn instantiate_spec(&self, id: &str, overrides: Value) -> Result<Value> {
        let a = self.call("POST", &format!("/v1/specs/{}/instantiate", enc(id)), Some(&overrides), None, Retry::Keyed).await?;
        self.emit("template", "create", id_of(&a.body));
        self.emit("spec", "update", Some(id));
        Ok(a.body)
    }
    pub async fn export_all(&self) -> Result<Value> {
        Ok(self.call("GET", "/v1/export", None, None, Retry::Safe).await?.body)
    }
    pub async fn import_all(&self, bundle: Value) -> Result<Value> {
        let a = self.call("POST", "/v1/import", Some(&bundle), None, Retry::Keyed).await?;
        self.emit("import", "import", None);
        Ok(a.body)
    }
}

/// The registry methods (issue 14) over HTTP.
impl Remote {
    pub async fn versions_with_labels(&self, id: &str) -> Result<Value> {
        Ok(self.call("GET", &format!("/v1/templates/{}/versions/labelled", enc(id)), None, None, Retry::Safe).await?.body)
    }
    /// A retry after a lost answer would be a spurious CONFLICT with `ifMatch`: not repeated then.
    pub async fn set_label(&self, id: &str, label: &str, if_match: Option<String>) -> Result<Value> {
        let retry = if if_match.is_some() { Retry::Never } else { Retry::Safe };
        let a = self.call("PUT", &format!("/v1/templates/{}/labels/{}", enc(id), enc(label)), None, if_match.as_deref(), retry).await?;
        self.emit("label", "update", a.body.get("template_id").and_then(Value::as_str).or(Some(id)));
        Ok(a.body)
    }
    /// Never repeated: a retry after a lost answer would be a spurious NOT_FOUND.
    pub async fn remove_label(&self, id: &str, label: &str, if_match: Option<String>) -> Result<()> {
        self.call("DELETE", &format!("/v1/templates/{}/labels/{}", enc(id), enc(label)), None, if_match.as_deref(), Retry::Never).await?;
        self.emit("label", "delete", Some(id));
        Ok(())
    }
    pub async fn by_name(&self, name: &str, o: &crate::catalog::ByName, resolve: bool) -> Result<Value> {
        let mut q = vec![format!("name={}", enc(name))];
        if let Some(v) = o.version {
            q.push(format!("version={v}"));
        }
        if let Some(l) = &o.label {
            q.push(format!("label={}", enc(l)));
        }
        if let Some(w) = &o.owner {
            q.push(format!("owner={}", enc(w)));
        }
        let path = if resolve { "/v1/by-name/resolve" } else { "/v1/by-name" };
        Ok(self.call("GET", &format!("{path}?{}", q.join("&")), None, None, Retry::Safe).await?.body)
    }
    pub async fn restore_version(&self, id: &str, changelog: Option<String>, if_match: Option<String>) -> Result<Value> {
        let body = json!({ "changelog": changelog });
        let a = self.call("POST", &format!("/v1/templates/{}/restore", enc(id)), Some(&body), if_match.as_deref(), Retry::Keyed).await?;
        self.emit("template", "create", id_of(&a.body));
        Ok(a.body)
    }
}
