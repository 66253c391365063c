//! `TemplateCatalog` for JS: every method converts its arguments synchronously (so a value the
//! app mutates afterwards cannot change what is written), runs the core future, and converts
//! the result or the error. No rule lives here. A record (draft, patch, overrides, bundle) in
//! which the JS walk found problems still goes to the core, guarded so that it is refused
//! before anything is written, and the answer lists the problems with the rule violations
//! (`convert::record`, `convert::checked`).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{arg, checked, err, record, to_js};
use super::remote::Remote;
use super::store::{AnyStore, WasmEnv};
use crate::catalog::{ByName, Catalog, DiscoverOptions, UsageRun, WriteOptions};
use crate::error::{Error, Result};

type Core = Catalog<AnyStore, WasmEnv>;

/// A catalog of workflow templates acting for one user.
#[wasm_bindgen]
pub struct TemplateCatalog {
    api: Api,
    closed: Rc<Cell<bool>>,
}

/// Where the catalog's rules run: here, over a storage adapter, or on the reference server.
enum Api {
    Local(Rc<Core>),
    Remote(Rc<Remote>),
}

/// Runs the local or the remote form of a method as a Promise.
macro_rules! route {
    ($self:ident, $promise:ident, $c:ident => $local:expr, $r:ident => $remote:expr) => {
        match &$self.api {
            Api::Local($c) => {
                let $c = $c.clone();
                $promise(&$self.closed, async move { $local })
            }
            Api::Remote($r) => {
                let $r = $r.clone();
                $promise(&$self.closed, async move { $remote })
            }
        }
    };
}

fn promise<T, F>(closed: &Rc<Cell<bool>>, f: F) -> Promise
where
    T: Serialize + 'static,
    F: Future<Output = Result<T>> + 'static,
{
    if closed.get() {
        return Promise::reject(&err(Error::StorageUnavailable("this catalog is closed".into())));
    }
    future_to_promise(async move { f.await.map(|v| to_js(&v)).map_err(err) })
}

/// For methods that resolve with nothing (`Promise<void>`): `undefined`, not `null`.
fn promise_void<F>(closed: &Rc<Cell<bool>>, f: F) -> Promise
where
    F: Future<Output = Result<()>> + 'static,
{
    if closed.get() {
        return Promise::reject(&err(Error::StorageUnavailable("this catalog is closed".into())));
    }
    future_to_promise(async move { f.await.map(|()| JsValue::UNDEFINED).map_err(err) })
}

fn reject(e: JsValue) -> Promise {
    Promise::reject(&e)
}

/// Reads an id argument: a ULID (built-in ids are ULIDs too; lowercase is accepted, as the core
/// normalises it), refusing anything else with INVALID_ARGUMENT before the core or a remote
/// request sees it, as the local catalog's own check does (`Env::parse_id`). On storage
/// "remote" an id is a URL path segment: "." or ".." would be removed or climb to another
/// route (WHATWG URL dot segments), so no other text may pass.
fn id_arg(v: &JsValue, what: &str) -> std::result::Result<String, JsValue> {
    let s = v.as_string().ok_or_else(|| err(Error::invalid(format!("{what} must be a string id"))))?;
    match crate::model::id::normalize_id(&s) {
        Some(_) => Ok(s),
        None => Err(err(Error::invalid(format!("{s:?} is not a ULID")))),
    }
}

fn write_options(v: &JsValue) -> std::result::Result<WriteOptions, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(WriteOptions::default());
    }
    let o = arg(v, "options")?;
    let Some(m) = o.as_object() else {
        return Err(err(Error::invalid("options must be an object")));
    };
    let mut w = WriteOptions::default();
    for (k, val) in m {
        match (k.as_str(), val) {
            ("ifMatch", Value::String(s)) => w.if_match = Some(s.clone()),
            ("ifMatch", Value::Null) => {}
            ("ifMatch", _) => return Err(err(Error::invalid("ifMatch must be the updated_at string of the copy being edited"))),
            (other, _) => return Err(err(Error::invalid(format!("unknown option {other:?}")))),
        }
    }
    Ok(w)
}

/// A label name, checked here too so that no other text reaches a remote URL path (a `..` would
/// be a dot segment the URL parser removes).
fn label_arg(v: &JsValue) -> std::result::Result<String, JsValue> {
    match v.as_string() {
        Some(l) if crate::catalog::label_name_problem(&l).is_none() => Ok(l),
        _ => Err(err(Error::invalid("label must be a string matching ^[a-z0-9][a-z0-9_.-]{0,63}$"))),
    }
}

/// An option object of known keys only (absent, `undefined` or `null`: no options).
fn option_map(v: &JsValue, allowed: &[&str]) -> std::result::Result<serde_json::Map<String, Value>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(serde_json::Map::new());
    }
    let o = arg(v, "options")?;
    let Value::Object(m) = o else {
        return Err(err(Error::invalid("options must be an object")));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(err(Error::invalid(format!("unknown option {k:?}"))));
    }
    Ok(m)
}

fn with_labels(v: &JsValue) -> std::result::Result<bool, JsValue> {
    match option_map(v, &["withLabels"])?.get("withLabels") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(err(Error::invalid("withLabels must be a boolean"))),
    }
}

fn by_name_options(v: &JsValue) -> std::result::Result<ByName, JsValue> {
    let m = option_map(v, &["version", "label", "owner"])?;
    let text = |k: &str| -> std::result::Result<Option<String>, JsValue> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(err(Error::invalid(format!("{k} must be a string")))),
        }
    };
    let version = match m.get("version") {
        None | Some(Value::Null) => None,
        Some(x) => Some(x.as_u64().filter(|n| *n >= 1 && *n <= crate::model::MAX_SAFE_INTEGER).ok_or_else(|| err(Error::invalid("version must be an integer >= 1")))?),
    };
    Ok(ByName { version, label: text("label")?, owner: text("owner")? })
}

/// The query of GET /v1/by-name and /v1/by-name/resolve.
fn by_name_args(name: &str, o: &ByName) -> Value {
    json!({ "query": { "name": name, "version": o.version, "label": o.label, "owner": o.owner } })
}

fn restore_options(v: &JsValue) -> std::result::Result<(Option<String>, WriteOptions), JsValue> {
    let m = option_map(v, &["changelog", "ifMatch"])?;
    let changelog = match m.get("changelog") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err(Error::invalid("changelog must be a string"))),
    };
    let if_match = match m.get("ifMatch") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err(Error::invalid("ifMatch must be the updated_at string of the latest version"))),
    };
    Ok((changelog, WriteOptions { if_match }))
}

fn optional(v: &JsValue, what: &str) -> std::result::Result<Value, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(Value::Null)
    } else {
        arg(v, what)
    }
}

/// An optional record (a newVersion patch, instantiateSpec overrides): absent is `null`.
fn optional_record(v: &JsValue) -> (Value, Option<super::convert::Problems>) {
    if v.is_undefined() || v.is_null() {
        (Value::Null, None)
    } else {
        record(v)
    }
}

macro_rules! try_js {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return reject(e),
        }
    };
}

#[wasm_bindgen]
impl TemplateCatalog {
    /// `TemplateCatalog.open({ userId, storage, dbName })`.
    #[wasm_bindgen(unchecked_return_type = "Promise<TemplateCatalog>")]
    pub fn open(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
        future_to_promise(async move {
            let api = match super::store::open(&options).await? {
                super::store::Opened::Local(store, user) => {
                    let core = Rc::new(Catalog::new(store, WasmEnv, &user).map_err(err)?);
                    core.store().attach(&core);
                    Api::Local(core)
                }
                super::store::Opened::Remote { base_url, token, user } => Api::Remote(Rc::new(Remote::open(&base_url, token, &user).await.map_err(err)?)),
            };
            Ok(JsValue::from(TemplateCatalog { api, closed: Rc::new(Cell::new(false)) }))
        })
    }

    /// Drops a catalog database: the downgrade to base.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn destroy(#[wasm_bindgen(js_name = dbName, unchecked_optional_param_type = "string")] db_name: JsValue) -> Promise {
        future_to_promise(async move {
            let name = super::store::db_name(&db_name).map_err(err)?;
            super::store::destroy(name).await.map_err(err)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> String {
        match &self.api {
            Api::Local(c) => c.user_id().to_string(),
            Api::Remote(r) => r.user_id().to_string(),
        }
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn create(&self, #[wasm_bindgen(unchecked_param_type = "TemplateDraft")] draft: JsValue) -> Promise {
        let (draft, p) = record(&draft);
        route!(self, promise, c => checked(p, c.create(draft).await), r => checked(p, r.call("create", json!({ "body": draft })).await))
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise, c => c.get(&id).await, r => r.call("get", json!({ "id": id })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "TemplatePatch")] patch: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WriteOptions")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let (patch, p) = record(&patch);
        let opts = try_js!(write_options(&options));
        route!(self, promise, c => checked(p, c.update(&id, patch, opts).await), r => checked(p, r.call("update", json!({ "id": id, "body": patch, "ifMatch": opts.if_match })).await))
    }

    #[wasm_bindgen(js_name = newVersion, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn new_version(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TemplatePatch")] patch: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] changelog: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WriteOptions")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let (patch, p) = optional_record(&patch);
        let changelog = if changelog.is_undefined() || changelog.is_null() {
            None
        } else {
            Some(try_js!(changelog.as_string().ok_or_else(|| err(Error::invalid("changelog must be a string")))))
        };
        let opts = try_js!(write_options(&options));
        route!(self, promise, c => checked(p, c.new_version(&id, patch, changelog, opts).await), r => checked(p, r.call("newVersion", json!({ "id": id, "body": { "patch": patch, "changelog": changelog }, "ifMatch": opts.if_match })).await))
    }

    /// `versions(id)`, or with `{ withLabels: true }` each version as `{ record, labels }`.
    /// (The typed overloads are in types.d.ts, merged into this class: TypeScript tries a
    /// class's own signature first, so this one takes `never` and is never chosen.)
    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate[] | LabelledVersion[]>")]
    pub fn versions(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "never")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        if try_js!(with_labels(&options)) {
            return route!(self, promise, c => c.versions_with_labels(&id).await, r => r.call("versionsWithLabels", json!({ "id": id })).await);
        }
        route!(self, promise, c => c.versions(&id).await, r => r.call("versions", json!({ "id": id })).await)
    }

    /// Points `label` at version `id` (owner only); `ifMatch` is the label's `updated_at`.
    #[wasm_bindgen(js_name = setLabel, unchecked_return_type = "Promise<Label>")]
    pub fn set_label(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] label: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WriteOptions")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let label = try_js!(label_arg(&label));
        let opts = try_js!(write_options(&options));
        route!(self, promise, c => c.set_label(&id, &label, opts).await, r => r.call("setLabel", json!({ "id": id, "label": label, "ifMatch": opts.if_match })).await)
    }

    #[wasm_bindgen(js_name = removeLabel, unchecked_return_type = "Promise<void>")]
    pub fn remove_label(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] label: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WriteOptions")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let label = try_js!(label_arg(&label));
        let opts = try_js!(write_options(&options));
        route!(self, promise_void, c => c.remove_label(&id, &label, opts).await, r => r.call("removeLabel", json!({ "id": id, "label": label, "ifMatch": opts.if_match })).await.map(drop))
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Label[]>")]
    pub fn labels(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise, c => c.labels(&id).await, r => r.call("labels", json!({ "id": id })).await)
    }

    #[wasm_bindgen(js_name = getByName, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn get_by_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ByNameOptions")] options: JsValue,
    ) -> Promise {
        let name = try_js!(name.as_string().ok_or_else(|| err(Error::invalid("name must be a string"))));
        let o = try_js!(by_name_options(&options));
        route!(self, promise, c => c.get_by_name(&name, &o).await, r => r.call("getByName", by_name_args(&name, &o)).await)
    }

    #[wasm_bindgen(js_name = resolveByName, unchecked_return_type = "Promise<Resolution>")]
    pub fn resolve_by_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ByNameOptions")] options: JsValue,
    ) -> Promise {
        let name = try_js!(name.as_string().ok_or_else(|| err(Error::invalid("name must be a string"))));
        let o = try_js!(by_name_options(&options));
        route!(self, promise, c => c.resolve_by_name(&name, &o).await, r => r.call("resolveByName", by_name_args(&name, &o)).await)
    }

    /// Rollback: a new latest version with version `id`'s configuration; `ifMatch` is the
    /// current latest version's `updated_at`.
    #[wasm_bindgen(js_name = restoreVersion, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn restore_version(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RestoreOptions")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let (changelog, opts) = try_js!(restore_options(&options));
        route!(self, promise, c => c.restore_version(&id, changelog, opts).await, r => r.call("restoreVersion", json!({ "id": id, "body": { "changelog": changelog }, "ifMatch": opts.if_match })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Change[]>")]
    pub fn diff(
        &self,
        #[wasm_bindgen(js_name = idA, unchecked_param_type = "string")] a: JsValue,
        #[wasm_bindgen(js_name = idB, unchecked_param_type = "string")] b: JsValue,
    ) -> Promise {
        let a = try_js!(id_arg(&a, "idA"));
        let b = try_js!(id_arg(&b, "idB"));
        route!(self, promise, c => c.diff(&a, &b).await, r => r.call("diff", json!({ "query": { "a": a, "b": b } })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise_void, c => c.delete(&id).await, r => r.call("delete", json!({ "id": id })).await.map(drop))
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Page<WorkflowTemplate>>")]
    pub fn discover(&self, #[wasm_bindgen(unchecked_optional_param_type = "DiscoverOptions")] options: JsValue) -> Promise {
        let raw = try_js!(optional(&options, "options"));
        let o = try_js!(DiscoverOptions::from_value(&raw).map_err(err));
        route!(self, promise, c => c.discover(&o).await, r => r.call("discover", json!({ "query": raw })).await)
    }

    #[wasm_bindgen(js_name = popularByCategory, unchecked_return_type = "Promise<Record<TemplateCategory, WorkflowTemplate[]>>")]
    pub fn popular_by_category(&self, #[wasm_bindgen(unchecked_optional_param_type = "number")] n: JsValue) -> Promise {
        let n = if n.is_undefined() { Some(10.0) } else { n.as_f64() };
        let n = try_js!(match n {
            Some(x) if x.fract() == 0.0 && (1.0..=100.0).contains(&x) => Ok(x as usize),
            _ => Err(err(Error::invalid("n must be an integer in 1..=100"))),
        });
        route!(self, promise, c => c.popular_by_category(n).await, r => r.call("popularByCategory", json!({ "query": { "n": n } })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<ChainLink[]>")]
    pub fn chain(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise, c => c.chain(&id).await, r => r.call("chain", json!({ "id": id })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Resolution>")]
    pub fn resolve(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise, c => c.resolve(&id).await, r => r.call("resolve", json!({ "id": id })).await)
    }

    /// `resolve` of an unsaved draft (live previews in editors); writes nothing. With `id`, the
    /// draft edits that owned template.
    #[wasm_bindgen(unchecked_return_type = "Promise<Resolution>")]
    pub fn preview(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TemplateDraft | TemplatePatch")] draft: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] id: JsValue,
    ) -> Promise {
        let (draft, p) = record(&draft);
        let id = if id.is_undefined() || id.is_null() { None } else { Some(try_js!(id_arg(&id, "id"))) };
        route!(self, promise, c => checked(p, c.preview(draft, id.as_deref()).await), r => checked(p, r.call("preview", json!({ "body": { "draft": draft, "id": id } })).await))
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate[]>")]
    pub fn derived(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise, c => c.derived(&id).await, r => r.call("derived", json!({ "id": id })).await)
    }

    #[wasm_bindgen(js_name = recordUsage, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn record_usage(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "UsageRun")] run: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let raw = try_js!(arg(&run, "run"));
        let run = try_js!(UsageRun::from_value(&raw).map_err(err));
        route!(self, promise, c => c.record_usage(&id, &run).await, r => r.call("recordUsage", json!({ "id": id, "body": raw })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn rate(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue, #[wasm_bindgen(unchecked_param_type = "number")] stars: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let stars = try_js!(stars.as_f64().ok_or_else(|| err(Error::invalid("stars must be a number in 0..=5"))));
        route!(self, promise, c => c.rate(&id, stars).await, r => r.call("rate", json!({ "id": id, "body": { "stars": stars } })).await)
    }

    #[wasm_bindgen(js_name = createSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn create_spec(&self, #[wasm_bindgen(unchecked_param_type = "SpecDraft")] draft: JsValue) -> Promise {
        let (draft, p) = record(&draft);
        route!(self, promise, c => checked(p, c.create_spec(draft).await), r => checked(p, r.call("createSpec", json!({ "body": draft })).await))
    }

    #[wasm_bindgen(js_name = getSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn get_spec(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise, c => c.get_spec(&id).await, r => r.call("getSpec", json!({ "id": id })).await)
    }

    #[wasm_bindgen(js_name = updateSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn update_spec(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SpecPatch")] patch: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WriteOptions")] options: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let (patch, p) = record(&patch);
        let opts = try_js!(write_options(&options));
        route!(self, promise, c => checked(p, c.update_spec(&id, patch, opts).await), r => checked(p, r.call("updateSpec", json!({ "id": id, "body": patch, "ifMatch": opts.if_match })).await))
    }

    #[wasm_bindgen(js_name = deleteSpec, unchecked_return_type = "Promise<void>")]
    pub fn delete_spec(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        route!(self, promise_void, c => c.delete_spec(&id).await, r => r.call("deleteSpec", json!({ "id": id })).await.map(drop))
    }

    #[wasm_bindgen(js_name = listSpecs, unchecked_return_type = "Promise<TemplateSpec[]>")]
    pub fn list_specs(&self) -> Promise {
        route!(self, promise, c => c.list_specs().await, r => r.call("listSpecs", json!({})).await)
    }

    #[wasm_bindgen(js_name = instantiateSpec, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn instantiate_spec(
        &self,
        #[wasm_bindgen(js_name = specId, unchecked_param_type = "string")] spec_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TemplatePatch")] overrides: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&spec_id, "specId"));
        let (overrides, p) = optional_record(&overrides);
        route!(self, promise, c => checked(p, c.instantiate_spec(&id, overrides).await), r => checked(p, r.call("instantiateSpec", json!({ "id": id, "body": overrides })).await))
    }

    #[wasm_bindgen(js_name = exportAll, unchecked_return_type = "Promise<ExportBundle>")]
    pub fn export_all(&self) -> Promise {
        route!(self, promise, c => c.export_all().await, r => r.call("exportAll", json!({})).await)
    }

    #[wasm_bindgen(js_name = importAll, unchecked_return_type = "Promise<ImportReport>")]
    pub fn import_all(&self, #[wasm_bindgen(unchecked_param_type = "ExportBundle")] bundle: JsValue) -> Promise {
        let (bundle, p) = record(&bundle);
        route!(self, promise, c => checked(p, c.import_all(bundle).await), r => checked(p, r.call("importAll", json!({ "body": bundle })).await))
    }

    /// Calls `callback({ kind, op, id })` after every change; returns a function that
    /// unsubscribes. A callback that throws does not disturb the catalog or other callbacks.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(&self, #[wasm_bindgen(unchecked_param_type = "(event: ChangeEvent) => void")] callback: JsValue) -> std::result::Result<JsValue, JsValue> {
        let f: Function = callback.dyn_into().map_err(|_| err(Error::invalid("subscribe takes a function")))?;
        let call = move |ev: &crate::catalog::ChangeEvent| {
            let _ = f.call1(&JsValue::NULL, &to_js(ev));
        };
        // A Fn closure (not once): calling the handle twice is harmless.
        let unsubscribe = match &self.api {
            Api::Local(c) => {
                let handle = c.subscribe(call);
                let weak = Rc::downgrade(c);
                Closure::<dyn Fn()>::new(move || {
                    if let Some(c) = weak.upgrade() {
                        c.unsubscribe(handle);
                    }
                })
            }
            Api::Remote(r) => {
                let handle = r.subscribe(call);
                let weak = Rc::downgrade(r);
                Closure::<dyn Fn()>::new(move || {
                    if let Some(r) = weak.upgrade() {
                        r.unsubscribe(handle);
                    }
                })
            }
        };
        Ok(unsubscribe.into_js_value())
    }

    /// Which adapter this catalog runs on: "indexeddb", "local", "memory", "remote" or
    /// "adapter" (the default is IndexedDB, or localStorage where IndexedDB is unavailable).
    #[wasm_bindgen(getter)]
    pub fn storage(&self) -> String {
        match &self.api {
            Api::Local(c) => c.store().kind().to_string(),
            Api::Remote(_) => "remote".to_string(),
        }
    }

    /// Closes the catalog: later calls reject with STORAGE_UNAVAILABLE.
    pub fn close(&self) {
        self.closed.set(true);
        match &self.api {
            Api::Local(c) => c.store().close(),
            Api::Remote(r) => r.close(),
        }
    }
}

/// Reads `options[key]` without converting the whole object (it may hold an adapter object
/// with functions, which are not JSON).
pub(crate) fn get_opt(options: &JsValue, key: &str) -> JsValue {
    if !options.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}
