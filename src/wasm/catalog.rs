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
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::args::{by_name_options, id_arg, label_arg, optional, optional_record, restore_options, with_labels, write_options};
use super::convert::{arg, checked, err, record};
use super::dispatch::{self, Op};
use super::remote::Remote;
use crate::browser::replica::Replica;
use crate::browser::{Core, WasmEnv};
use crate::catalog::{Catalog, DiscoverOptions, UsageRun};
use crate::error::{Error, Result};
use crate::jsval::{to_js, Problems};

/// A catalog of workflow templates acting for one user.
#[wasm_bindgen]
pub struct TemplateCatalog {
    pub(super) api: Api,
    pub(super) closed: Rc<Cell<bool>>,
}

/// Where the catalog's rules run: here, over a storage adapter; on the reference server; or
/// both, on an offline replica of the server's catalog (src/wasm/replica.rs).
#[derive(Clone)]
pub(super) enum Api {
    Local(Rc<Core>),
    Remote(Rc<Remote>),
    Replica(Rc<Replica>),
}

impl TemplateCatalog {
    /// Runs one catalog call on whichever catalog this is (src/wasm/dispatch.rs); `p`: the
    /// boundary problems of the call's record, merged into its answer (`convert::checked`).
    fn run(&self, op: Op, p: Option<Problems>) -> Promise {
        if self.closed.get() {
            return Promise::reject(&err(Error::StorageUnavailable("this catalog is closed".into())));
        }
        let api = self.api.clone();
        future_to_promise(async move {
            let answer = match &api {
                Api::Local(c) => dispatch::local(c, &op, None).await,
                Api::Remote(r) => {
                    let body = r.call(op.endpoint(), op.args()).await;
                    dispatch::answer(&op, body)
                }
                Api::Replica(rep) => dispatch::replica(rep, op, p.is_some()).await,
            };
            checked(p, answer).map_err(err)
        })
    }
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
                    Api::Replica(Rc::new(Replica::open(&base, token, &user, o.db_name).await.map_err(err)?))
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
            crate::browser::destroy(name).await.map_err(err)?;
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
        self.run(Op::Create { draft }, p)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::Get { id }, None)
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
        self.run(Op::Update { id, patch, opts }, p)
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
        self.run(Op::NewVersion { id, patch, changelog, opts }, p)
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
        let with_labels = try_js!(with_labels(&options));
        self.run(Op::Versions { id, with_labels }, None)
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
        self.run(Op::SetLabel { id, label, opts }, None)
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
        self.run(Op::RemoveLabel { id, label, opts }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Label[]>")]
    pub fn labels(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::Labels { id }, None)
    }

    #[wasm_bindgen(js_name = getByName, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn get_by_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ByNameOptions")] options: JsValue,
    ) -> Promise {
        let name = try_js!(name.as_string().ok_or_else(|| err(Error::invalid("name must be a string"))));
        let o = try_js!(by_name_options(&options));
        self.run(Op::GetByName { name, o, resolve: false }, None)
    }

    #[wasm_bindgen(js_name = resolveByName, unchecked_return_type = "Promise<Resolution>")]
    pub fn resolve_by_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ByNameOptions")] options: JsValue,
    ) -> Promise {
        let name = try_js!(name.as_string().ok_or_else(|| err(Error::invalid("name must be a string"))));
        let o = try_js!(by_name_options(&options));
        self.run(Op::GetByName { name, o, resolve: true }, None)
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
        self.run(Op::RestoreVersion { id, changelog, opts }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Change[]>")]
    pub fn diff(
        &self,
        #[wasm_bindgen(js_name = idA, unchecked_param_type = "string")] a: JsValue,
        #[wasm_bindgen(js_name = idB, unchecked_param_type = "string")] b: JsValue,
    ) -> Promise {
        let a = try_js!(id_arg(&a, "idA"));
        let b = try_js!(id_arg(&b, "idB"));
        self.run(Op::Diff { a, b }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::Delete { id }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Page<WorkflowTemplate>>")]
    pub fn discover(&self, #[wasm_bindgen(unchecked_optional_param_type = "DiscoverOptions")] options: JsValue) -> Promise {
        let raw = try_js!(optional(&options, "options"));
        let o = try_js!(DiscoverOptions::from_value(&raw).map_err(err));
        self.run(Op::Discover { raw, o }, None)
    }

    #[wasm_bindgen(js_name = popularByCategory, unchecked_return_type = "Promise<Record<TemplateCategory, WorkflowTemplate[]>>")]
    pub fn popular_by_category(&self, #[wasm_bindgen(unchecked_optional_param_type = "number")] n: JsValue) -> Promise {
        let n = if n.is_undefined() { Some(10.0) } else { n.as_f64() };
        let n = try_js!(match n {
            Some(x) if x.fract() == 0.0 && (1.0..=100.0).contains(&x) => Ok(x as usize),
            _ => Err(err(Error::invalid("n must be an integer in 1..=100"))),
        });
        self.run(Op::Popular { n }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<ChainLink[]>")]
    pub fn chain(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::Chain { id }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<Resolution>")]
    pub fn resolve(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::Resolve { id }, None)
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
        self.run(Op::Preview { draft, id }, p)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate[]>")]
    pub fn derived(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::Derived { id }, None)
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
        self.run(Op::RecordUsage { id, raw, run }, None)
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn rate(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue, #[wasm_bindgen(unchecked_param_type = "number")] stars: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        let stars = try_js!(stars.as_f64().ok_or_else(|| err(Error::invalid("stars must be a number in 0..=5"))));
        self.run(Op::Rate { id, stars }, None)
    }

    #[wasm_bindgen(js_name = createSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn create_spec(&self, #[wasm_bindgen(unchecked_param_type = "SpecDraft")] draft: JsValue) -> Promise {
        let (draft, p) = record(&draft);
        self.run(Op::CreateSpec { draft }, p)
    }

    #[wasm_bindgen(js_name = getSpec, unchecked_return_type = "Promise<TemplateSpec>")]
    pub fn get_spec(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::GetSpec { id }, None)
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
        self.run(Op::UpdateSpec { id, patch, opts }, p)
    }

    #[wasm_bindgen(js_name = deleteSpec, unchecked_return_type = "Promise<void>")]
    pub fn delete_spec(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = try_js!(id_arg(&id, "id"));
        self.run(Op::DeleteSpec { id }, None)
    }

    #[wasm_bindgen(js_name = listSpecs, unchecked_return_type = "Promise<TemplateSpec[]>")]
    pub fn list_specs(&self) -> Promise {
        self.run(Op::ListSpecs, None)
    }

    #[wasm_bindgen(js_name = instantiateSpec, unchecked_return_type = "Promise<WorkflowTemplate>")]
    pub fn instantiate_spec(
        &self,
        #[wasm_bindgen(js_name = specId, unchecked_param_type = "string")] spec_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TemplatePatch")] overrides: JsValue,
    ) -> Promise {
        let id = try_js!(id_arg(&spec_id, "specId"));
        let (overrides, p) = optional_record(&overrides);
        self.run(Op::InstantiateSpec { id, overrides }, p)
    }

    #[wasm_bindgen(js_name = exportAll, unchecked_return_type = "Promise<ExportBundle>")]
    pub fn export_all(&self) -> Promise {
        self.run(Op::ExportAll, None)
    }

    #[wasm_bindgen(js_name = importAll, unchecked_return_type = "Promise<ImportReport>")]
    pub fn import_all(&self, #[wasm_bindgen(unchecked_param_type = "ExportBundle")] bundle: JsValue) -> Promise {
        let (bundle, p) = record(&bundle);
        self.run(Op::ImportAll { bundle }, p)
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
