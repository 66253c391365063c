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

use super::args::{by_name_args, by_name_options, id_arg, label_arg, optional, optional_record, restore_options, with_labels, write_options};
use super::convert::{arg, checked, err, record, to_js};
use super::remote::Remote;
use super::replica::{self, Core, Replica};
use super::store::WasmEnv;
use crate::catalog::{Catalog, DiscoverOptions, UsageRun};
use crate::error::{Error, Result};

/// A catalog of workflow templates acting for one user.
#[wasm_bindgen]
pub struct TemplateCatalog {
    pub(super) api: Api,
    pub(super) closed: Rc<Cell<bool>>,
}

/// Where the catalog's rules run: here, over a storage adapter; on the reference server; or
/// both, on an offline replica of the server's catalog (src/wasm/replica.rs).
pub(super) enum Api {
    Local(Rc<Core>),
    Remote(Rc<Remote>),
    Replica(Rc<Replica>),
}

/// A read: the local core (a replica's too), or the server.
macro_rules! route {
    ($self:ident, $promise:ident, $c:ident => $local:expr, $r:ident => $remote:expr) => {
        match &$self.api {
            Api::Local($c) => {
                let $c = $c.clone();
                $promise(&$self.closed, async move { $local })
            }
            Api::Replica(rep) => {
                let $c = rep.core();
                $promise(&$self.closed, async move { $local })
            }
            Api::Remote($r) => {
                let $r = $r.clone();
                $promise(&$self.closed, async move { $remote })
            }
        }
    };
}

/// A read of template or spec `$id`, which a replica may not hold yet: on NOT_FOUND it is
/// brought from the server (when reachable) and read again; a held one answers at once and is
/// revalidated behind the answer (`Replica::revalidate`).
macro_rules! fetch_route {
    ($self:ident, $promise:ident, $kind:literal, $id:ident, $c:ident => $local:expr, $r:ident => $remote:expr) => {
        match &$self.api {
            Api::Replica(rep) => {
                let ($c, rep) = (rep.core(), rep.clone());
                $promise(&$self.closed, async move {
                    match $local {
                        Err(e) if replica::missing(&e) && rep.fetch_missing($kind, &$id).await => $local,
                        Ok(v) => {
                            rep.revalidate($kind, &$id);
                            Ok(v)
                        }
                        other => other,
                    }
                })
            }
            _ => route!($self, $promise, $c => $local, $r => $remote),
        }
    };
}

/// A read of a lineage (versions, labels, by-name) or a ranking (popular). `about`: the
/// template the read is about as held here. A replica answers from what it holds when it holds
/// that lineage whole (the acting user's own, or another user's kept after an earlier server
/// read: `Replica::holds_lineage`), revalidating another user's by the feed behind the answer;
/// else it asks the server (and keeps the lineage the answer names: `adopt`), answering from
/// what it holds only when the server is unreachable (NETWORK). `$t` (the `about` result) may
/// be used by `$local`; `reuse: true` computes it off a replica too.
macro_rules! server_first {
    ($self:ident, $promise:ident, $endpoint:literal, $args:expr, about: |$m:ident| $about:expr, reuse: $reuse:literal, adopt: |$v:ident| $adopt:expr, $c:ident, $t:ident => $local:expr) => {{
        let args: Value = $args;
        match &$self.api {
            Api::Replica(rep) => {
                let ($c, rep) = (rep.core(), rep.clone());
                $promise(&$self.closed, async move {
                    let $m = &$c;
                    let $t: Result<crate::model::WorkflowTemplate> = $about;
                    let held = match &$t {
                        Ok(t) => rep.holds_lineage(t).await,
                        Err(_) => false,
                    };
                    if held {
                        if $t.as_ref().is_ok_and(|t| t.owner_id != $c.user_id()) {
                            rep.revalidate_lineage();
                        }
                    } else if !rep.offline() {
                        match rep.call($endpoint, args).await {
                            Err(Error::Network(_)) => {}
                            Ok($v) => {
                                let adopt: Option<String> = $adopt;
                                if let Some(id) = adopt {
                                    rep.adopt(&id);
                                }
                                return Ok($v);
                            }
                            other => return other,
                        }
                    }
                    serde_json::to_value($local?).map_err(|e| Error::invalid(e.to_string()))
                })
            }
            Api::Local($c) => {
                let $c = $c.clone();
                $promise(&$self.closed, async move {
                    #[allow(unused_variables)]
                    let $m = &$c;
                    #[allow(unused_variables)]
                    let $t: Result<crate::model::WorkflowTemplate> = if $reuse { $about } else { Err(Error::NotFound { kind: "template", id: String::new() }) };
                    $local
                })
            }
            Api::Remote(r) => {
                let r = r.clone();
                $promise(&$self.closed, async move { r.call($endpoint, args).await })
            }
        }
    }};
}

/// The id an answer names (a template's `id`, a resolution's `id`), to keep its lineage.
fn named(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

/// A write, its server call named once: endpoint `$endpoint` of js/remote.js with `$args`. The
/// local core runs `$local` with `$new` = None; the server takes the call; a replica queues the
/// call and runs `$local` on the replica, with `$new` = a fresh ULID for a create-like write
/// (`creates`), which the queued call carries as `?id=`. `$p`: the record's boundary problems.
/// `@opts`: the write's `WriteOptions`, whose `ifMatch` a replica reads as its own
/// (`Replica::local_if_match`).
macro_rules! write {
    ($self:ident, $promise:ident, $p:ident, $endpoint:literal, $args:expr, creates: $creates:literal, $(@ $o:ident,)? $finish:ident, $c:ident, $new:ident => $local:expr) => {{
        let args: Value = $args;
        match &$self.api {
            Api::Local($c) => {
                let $c = $c.clone();
                $promise(&$self.closed, async move {
                    #[allow(unused_variables)]
                    let $new: Option<&str> = None;
                    checked($p, $finish($local))
                })
            }
            Api::Remote(r) => {
                let r = r.clone();
                $promise(&$self.closed, async move { checked($p, $finish(r.call($endpoint, args).await)) })
            }
            Api::Replica(rep) => {
                let ($c, rep) = (rep.core(), rep.clone());
                $promise(&$self.closed, async move {
                    // The app's ifMatch may be the server's updated_at (a copy read online).
                    $( let $o = rep.local_if_match($endpoint, &args, $o).await; )?
                    let created = if $creates { Some(rep.new_id()) } else { None };
                    #[allow(unused_variables)]
                    let $new = created.as_deref();
                    let guarded = $p.is_some();
                    let answer = rep.write($endpoint, args, created.clone(), guarded, async { $local }).await;
                    checked($p, $finish(answer))
                })
            }
        }
    }};
}

/// `$finish` of a write answered with its record, and of one answered with nothing.
fn same<T>(r: Result<T>) -> Result<T> {
    r
}

fn void<T>(r: Result<T>) -> Result<()> {
    r.map(drop)
}

pub(super) fn promise<T, F>(closed: &Rc<Cell<bool>>, f: F) -> Promise
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
pub(super) fn promise_void<F>(closed: &Rc<Cell<bool>>, f: F) -> Promise
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
                super::store::Opened::Remote { base_url, token, user, replica: None } => Api::Remote(Rc::new(Remote::open(&base_url, token, &user).await.map_err(err)?)),
                super::store::Opened::Remote { base_url, token, user, replica: Some(o) } => {
                    let base = super::remote::check_address(&base_url, token.as_deref()).map_err(err)?;
                    Api::Replica(Rc::new(Replica::open(&base, token, &user, o).await.map_err(err)?))
                }
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
            Api::Replica(r) => r.user_id().to_string(),
        }
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn create(&self, #[wasm_bindgen(unchecked_param_type = "TemplateDraft")] draft: JsValue) -> Promise {
        let (draft, p) = record(&draft);
        write!(self, promise, p, "create", json!({ "body": draft.clone() }), creates: true, same, c, new => c.create_as(new, draft).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        fetch_route!(self, promise, "template", id, c => c.get(&id).await, r => r.call("get", json!({ "id": id })).await)
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
        write!(self, promise, p, "update", json!({ "id": id, "body": patch.clone(), "ifMatch": opts.if_match }), creates: false, @opts, same, c, new => c.update(&id, patch, opts).await)
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
        write!(self, promise, p, "newVersion", json!({ "id": id, "body": { "patch": patch.clone(), "changelog": changelog.clone() }, "ifMatch": opts.if_match }), creates: true, @opts, same, c, new => c.new_version_as(new, &id, patch, changelog, opts).await)
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
            return server_first!(self, promise, "versionsWithLabels", json!({ "id": id }), about: |m| m.get(&id).await, reuse: false, adopt: |_v| Some(id.clone()), c, _t => c.versions_with_labels(&id).await);
        }
        server_first!(self, promise, "versions", json!({ "id": id }), about: |m| m.get(&id).await, reuse: false, adopt: |_v| Some(id.clone()), c, _t => c.versions(&id).await)
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
        let p = None;
        write!(self, promise, p, "setLabel", json!({ "id": id, "label": label, "ifMatch": opts.if_match }), creates: false, @opts, same, c, new => c.set_label(&id, &label, opts).await)
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
        let p = None;
        write!(self, promise_void, p, "removeLabel", json!({ "id": id, "label": label, "ifMatch": opts.if_match }), creates: false, @opts, void, c, new => c.remove_label(&id, &label, opts).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Label[]>")]
    pub fn labels(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        server_first!(self, promise, "labels", json!({ "id": id }), about: |m| m.get(&id).await, reuse: false, adopt: |_v| Some(id.clone()), c, _t => c.labels(&id).await)
    }

    #[wasm_bindgen(js_name = getByName, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn get_by_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ByNameOptions")] options: JsValue,
    ) -> Promise {
        let name = try_js!(name.as_string().ok_or_else(|| err(Error::invalid("name must be a string"))));
        let o = try_js!(by_name_options(&options));
        server_first!(self, promise, "getByName", by_name_args(&name, &o), about: |m| m.get_by_name(&name, &o).await, reuse: true, adopt: |v| named(&v), c, t => t)
    }

    #[wasm_bindgen(js_name = resolveByName, unchecked_return_type = "Promise<Resolution>")]
    pub fn resolve_by_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ByNameOptions")] options: JsValue,
    ) -> Promise {
        let name = try_js!(name.as_string().ok_or_else(|| err(Error::invalid("name must be a string"))));
        let o = try_js!(by_name_options(&options));
        server_first!(self, promise, "resolveByName", by_name_args(&name, &o), about: |m| m.get_by_name(&name, &o).await, reuse: true, adopt: |v| named(&v), c, t => match t {
            Ok(t) => c.resolve(&t.id).await,
            Err(e) => Err(e),
        })
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
        let p = None;
        write!(self, promise, p, "restoreVersion", json!({ "id": id, "body": { "changelog": changelog.clone() }, "ifMatch": opts.if_match }), creates: true, @opts, same, c, new => c.restore_version_as(new, &id, changelog, opts).await)
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
        let p = None;
        write!(self, promise_void, p, "delete", json!({ "id": id }), creates: false, void, c, new => c.delete(&id).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Page<WorkflowTemplate>>")]
    pub fn discover(&self, #[wasm_bindgen(unchecked_optional_param_type = "DiscoverOptions")] options: JsValue) -> Promise {
        let raw = try_js!(optional(&options, "options"));
        let o = try_js!(DiscoverOptions::from_value(&raw).map_err(err));
        if let Api::Replica(rep) = &self.api {
            // Online: the server's page (the whole catalog); unreachable: the replica's, marked.
            let (c, rep) = (rep.core(), rep.clone());
            return promise(&self.closed, async move {
                if !rep.offline() {
                    match rep.call("discover", json!({ "query": raw })).await {
                        Err(Error::Network(_)) => {}
                        other => return other,
                    }
                }
                replica::offline_page(c.discover(&o).await?)
            });
        }
        route!(self, promise, c => c.discover(&o).await, r => r.call("discover", json!({ "query": raw })).await)
    }

    #[wasm_bindgen(js_name = popularByCategory, unchecked_return_type = "Promise<Record<TemplateCategory, WorkflowTemplate[]>>")]
    pub fn popular_by_category(&self, #[wasm_bindgen(unchecked_optional_param_type = "number")] n: JsValue) -> Promise {
        let n = if n.is_undefined() { Some(10.0) } else { n.as_f64() };
        let n = try_js!(match n {
            Some(x) if x.fract() == 0.0 && (1.0..=100.0).contains(&x) => Ok(x as usize),
            _ => Err(err(Error::invalid("n must be an integer in 1..=100"))),
        });
        server_first!(self, promise, "popularByCategory", json!({ "query": { "n": n } }), about: |_m| Err(Error::NotFound { kind: "template", id: String::new() }), reuse: false, adopt: |_v| None, c, _t => c.popular_by_category(n).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<ChainLink[]>")]
    pub fn chain(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        fetch_route!(self, promise, "template", id, c => c.chain(&id).await, r => r.call("chain", json!({ "id": id })).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Resolution>")]
    pub fn resolve(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        fetch_route!(self, promise, "template", id, c => c.resolve(&id).await, r => r.call("resolve", json!({ "id": id })).await)
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
        let p = None;
        write!(self, promise, p, "recordUsage", json!({ "id": id, "body": raw }), creates: false, same, c, new => c.record_usage(&id, &run).await)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn rate(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue, #[wasm_bindgen(unchecked_param_type = "number")] stars: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let stars = try_js!(stars.as_f64().ok_or_else(|| err(Error::invalid("stars must be a number in 0..=5"))));
        let p = None;
        write!(self, promise, p, "rate", json!({ "id": id, "body": { "stars": stars } }), creates: false, same, c, new => c.rate(&id, stars).await)
    }

    #[wasm_bindgen(js_name = createSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn create_spec(&self, #[wasm_bindgen(unchecked_param_type = "SpecDraft")] draft: JsValue) -> Promise {
        let (draft, p) = record(&draft);
        write!(self, promise, p, "createSpec", json!({ "body": draft.clone() }), creates: true, same, c, new => c.create_spec_as(new, draft).await)
    }

    #[wasm_bindgen(js_name = getSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn get_spec(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        fetch_route!(self, promise, "spec", id, c => c.get_spec(&id).await, r => r.call("getSpec", json!({ "id": id })).await)
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
        write!(self, promise, p, "updateSpec", json!({ "id": id, "body": patch.clone(), "ifMatch": opts.if_match }), creates: false, @opts, same, c, new => c.update_spec(&id, patch, opts).await)
    }

    #[wasm_bindgen(js_name = deleteSpec, unchecked_return_type = "Promise<void>")]
    pub fn delete_spec(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let p = None;
        write!(self, promise_void, p, "deleteSpec", json!({ "id": id }), creates: false, void, c, new => c.delete_spec(&id).await)
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
        write!(self, promise, p, "instantiateSpec", json!({ "id": id, "body": overrides.clone() }), creates: true, same, c, new => c.instantiate_spec_as(new, &id, overrides).await)
    }

    #[wasm_bindgen(js_name = exportAll, unchecked_return_type = "Promise<ExportBundle>")]
    pub fn export_all(&self) -> Promise {
        route!(self, promise, c => c.export_all().await, r => r.call("exportAll", json!({})).await)
    }

    #[wasm_bindgen(js_name = importAll, unchecked_return_type = "Promise<ImportReport>")]
    pub fn import_all(&self, #[wasm_bindgen(unchecked_param_type = "ExportBundle")] bundle: JsValue) -> Promise {
        let (bundle, p) = record(&bundle);
        if let Api::Replica(rep) = &self.api {
            // Online only: the server imports, and the pull brings the records into the replica.
            let rep = rep.clone();
            return promise(&self.closed, async move {
                let report = checked(p, rep.call("importAll", json!({ "body": bundle })).await)?;
                let _ = rep.sync().await;
                Ok(report)
            });
        }
        route!(self, promise, c => checked(p, c.import_all(bundle).await), r => checked(p, r.call("importAll", json!({ "body": bundle })).await))
    }

    /// Calls `callback({ kind, op, id })` after every change; returns a function that
    /// unsubscribes. A callback that throws does not disturb the catalog or other callbacks.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(&self, #[wasm_bindgen(unchecked_param_type = "(event: ChangeEvent) => void")] callback: JsValue) -> std::result::Result<JsValue, JsValue> {
        let f: Function = callback.dyn_into().map_err(|_| err(Error::invalid("subscribe takes a function")))?;
        let engine_f = f.clone();
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
            // The replica's own changes and the server's (applied by the pull, external: true),
            // plus the engine's `conflict`, `sync` and `rejected` events.
            Api::Replica(rep) => {
                let core = rep.core();
                let handle = core.subscribe(call);
                let off = rep.subscribe_engine(&engine_f);
                let weak = Rc::downgrade(&core);
                Closure::<dyn Fn()>::new(move || {
                    if let Some(c) = weak.upgrade() {
                        c.unsubscribe(handle);
                    }
                    let _ = off.call0(&JsValue::NULL);
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
            Api::Remote(_) | Api::Replica(_) => "remote".to_string(),
        }
    }

    /// Closes the catalog: later calls reject with STORAGE_UNAVAILABLE.
    pub fn close(&self) {
        self.closed.set(true);
        match &self.api {
            Api::Local(c) => c.store().close(),
            Api::Remote(r) => r.close(),
            Api::Replica(r) => r.close(),
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
