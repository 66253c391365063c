//! Every catalog call of `TemplateCatalog` as one value, [`Op`], run by one non-generic path per
//! kind of catalog (issue 12, BENCHMARKS.md "Size: what each change bought"): the local core
//! ([`local`]: one state machine whose arms call the core methods), the server ([`Op::endpoint`]
//! and [`Op::args`] for `js/remote.js`), and the offline replica ([`replica`]: reads from the
//! replica or the server, writes queued once through `Replica::write`). Each method of
//! `src/wasm/catalog.rs` only converts its arguments into an `Op`. No rule lives here.

use std::rc::Rc;

use serde::Serialize;
use serde_json::{json, Map, Value};
use wasm_bindgen::JsValue;

use super::args::by_name_args;
use crate::browser::replica::{self, Replica};
use crate::browser::Core;
use crate::catalog::{ByName, DiscoverOptions, UsageRun, WriteOptions};
use crate::error::{Error, Result};
use crate::jsval::to_js;

/// One catalog call with its converted arguments. `raw` fields keep the JSON the server takes.
pub(super) enum Op {
    Create { draft: Value },
    Get { id: String },
    Update { id: String, patch: Value, opts: WriteOptions },
    NewVersion { id: String, patch: Value, changelog: Option<String>, opts: WriteOptions },
    Versions { id: String, with_labels: bool },
    SetLabel { id: String, label: String, opts: WriteOptions },
    RemoveLabel { id: String, label: String, opts: WriteOptions },
    Labels { id: String },
    GetByName { name: String, o: ByName, resolve: bool },
    RestoreVersion { id: String, changelog: Option<String>, opts: WriteOptions },
    Diff { a: String, b: String },
    Delete { id: String },
    Discover { raw: Value, o: DiscoverOptions },
    Popular { n: usize },
    Chain { id: String },
    Resolve { id: String },
    Preview { draft: Value, id: Option<String> },
    Derived { id: String },
    RecordUsage { id: String, raw: Value, run: UsageRun },
    Rate { id: String, stars: f64 },
    CreateSpec { draft: Value },
    GetSpec { id: String },
    UpdateSpec { id: String, patch: Value, opts: WriteOptions },
    DeleteSpec { id: String },
    ListSpecs,
    InstantiateSpec { id: String, overrides: Value },
    ExportAll,
    ImportAll { bundle: Value },
}

/// How a replica runs a call (README "Offline replica").
enum Class {
    /// From the replica.
    Local,
    /// From the replica; a template (or spec) it lacks is brought from the server first.
    Fetch(&'static str),
    /// From the server while it answers, unless the record is the acting user's own.
    ServerFirst,
    /// Queued for the server and run on the replica; `true`: create-like (a new id).
    Write(bool),
    /// Online only, then a sync.
    Import,
}

impl Op {
    /// The endpoint of js/remote.js.
    pub(super) fn endpoint(&self) -> &'static str {
        use Op::*;
        match self {
            Create { .. } => "create",
            Get { .. } => "get",
            Update { .. } => "update",
            NewVersion { .. } => "newVersion",
            Versions { with_labels: true, .. } => "versionsWithLabels",
            Versions { .. } => "versions",
            SetLabel { .. } => "setLabel",
            RemoveLabel { .. } => "removeLabel",
            Labels { .. } => "labels",
            GetByName { resolve: false, .. } => "getByName",
            GetByName { .. } => "resolveByName",
            RestoreVersion { .. } => "restoreVersion",
            Diff { .. } => "diff",
            Delete { .. } => "delete",
            Discover { .. } => "discover",
            Popular { .. } => "popularByCategory",
            Chain { .. } => "chain",
            Resolve { .. } => "resolve",
            Preview { .. } => "preview",
            Derived { .. } => "derived",
            RecordUsage { .. } => "recordUsage",
            Rate { .. } => "rate",
            CreateSpec { .. } => "createSpec",
            GetSpec { .. } => "getSpec",
            UpdateSpec { .. } => "updateSpec",
            DeleteSpec { .. } => "deleteSpec",
            ListSpecs => "listSpecs",
            InstantiateSpec { .. } => "instantiateSpec",
            ExportAll => "exportAll",
            ImportAll { .. } => "importAll",
        }
    }

    /// The server call's arguments: `{ id?, label?, query?, body?, ifMatch? }` (js/remote.js).
    pub(super) fn args(&self) -> Value {
        use Op::*;
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        let (id, body, opts): (Option<&str>, Option<Value>, Option<&WriteOptions>) = match self {
            Create { draft } | CreateSpec { draft } => (None, Some(draft.clone()), None),
            Get { id } | Versions { id, .. } | Labels { id } | Delete { id } | Chain { id } | Resolve { id } | Derived { id } | GetSpec { id } | DeleteSpec { id } => (Some(id), None, None),
            Update { id, patch, opts } | UpdateSpec { id, patch, opts } => (Some(id), Some(patch.clone()), Some(opts)),
            NewVersion { id, patch, changelog, opts } => (Some(id), Some(json!({ "patch": patch, "changelog": changelog })), Some(opts)),
            SetLabel { id, label, opts } | RemoveLabel { id, label, opts } => {
                put("label", Value::String(label.clone()));
                (Some(id), None, Some(opts))
            }
            GetByName { name, o, .. } => return by_name_args(name, o),
            RestoreVersion { id, changelog, opts } => (Some(id), Some(json!({ "changelog": changelog })), Some(opts)),
            Diff { a, b } => {
                put("query", json!({ "a": a, "b": b }));
                (None, None, None)
            }
            Discover { raw, .. } => {
                put("query", raw.clone());
                (None, None, None)
            }
            Popular { n } => {
                put("query", json!({ "n": n }));
                (None, None, None)
            }
            Preview { draft, id } => (None, Some(json!({ "draft": draft, "id": id })), None),
            RecordUsage { id, raw, .. } => (Some(id), Some(raw.clone()), None),
            Rate { id, stars } => (Some(id), Some(json!({ "stars": stars })), None),
            InstantiateSpec { id, overrides } => (Some(id), Some(overrides.clone()), None),
            ImportAll { bundle } => (None, Some(bundle.clone()), None),
            ListSpecs | ExportAll => (None, None, None),
        };
        if let Some(id) = id {
            put("id", Value::String(id.to_string()));
        }
        if let Some(body) = body {
            put("body", body);
        }
        if let Some(o) = opts {
            put("ifMatch", o.if_match.clone().map(Value::String).unwrap_or(Value::Null));
        }
        Value::Object(m)
    }

    /// Whether the call resolves with nothing (`Promise<void>`: `undefined`).
    fn void(&self) -> bool {
        matches!(self, Op::Delete { .. } | Op::DeleteSpec { .. } | Op::RemoveLabel { .. })
    }

    fn class(&self) -> Class {
        use Op::*;
        match self {
            Create { .. } | NewVersion { .. } | RestoreVersion { .. } | CreateSpec { .. } | InstantiateSpec { .. } => Class::Write(true),
            Update { .. } | SetLabel { .. } | RemoveLabel { .. } | Delete { .. } | RecordUsage { .. } | Rate { .. } | UpdateSpec { .. } | DeleteSpec { .. } => Class::Write(false),
            Get { .. } | Chain { .. } | Resolve { .. } => Class::Fetch("template"),
            GetSpec { .. } => Class::Fetch("spec"),
            Versions { .. } | Labels { .. } | GetByName { .. } | Popular { .. } => Class::ServerFirst,
            ImportAll { .. } => Class::Import,
            Diff { .. } | Preview { .. } | Derived { .. } | ListSpecs | ExportAll | Discover { .. } => Class::Local,
        }
    }

    /// The write's `WriteOptions`, whose `ifMatch` a replica reads as its own.
    fn opts_mut(&mut self) -> Option<&mut WriteOptions> {
        match self {
            Op::Update { opts, .. } | Op::NewVersion { opts, .. } | Op::RestoreVersion { opts, .. } | Op::UpdateSpec { opts, .. } | Op::SetLabel { opts, .. } | Op::RemoveLabel { opts, .. } => Some(opts),
            _ => None,
        }
    }
}

fn js<T: Serialize>(r: Result<T>) -> Result<JsValue> {
    r.map(|v| to_js(&v))
}

fn done(r: Result<()>) -> Result<JsValue> {
    r.map(|()| JsValue::UNDEFINED)
}

/// Runs `op` on a local core (a replica's too); `new`: the id a replica chose for a create-like
/// write (`None`: the core makes one).
pub(super) async fn local(c: &Core, op: &Op, new: Option<&str>) -> Result<JsValue> {
    use Op::*;
    match op {
        Create { draft } => js(c.create_as(new, draft.clone()).await),
        Get { id } => js(c.get(id).await),
        Update { id, patch, opts } => js(c.update(id, patch.clone(), opts.clone()).await),
        NewVersion { id, patch, changelog, opts } => js(c.new_version_as(new, id, patch.clone(), changelog.clone(), opts.clone()).await),
        Versions { id, with_labels: true } => js(c.versions_with_labels(id).await),
        Versions { id, .. } => js(c.versions(id).await),
        SetLabel { id, label, opts } => js(c.set_label(id, label, opts.clone()).await),
        RemoveLabel { id, label, opts } => done(c.remove_label(id, label, opts.clone()).await),
        Labels { id } => js(c.labels(id).await),
        GetByName { name, o, resolve: false } => js(c.get_by_name(name, o).await),
        GetByName { name, o, .. } => js(c.resolve_by_name(name, o).await),
        RestoreVersion { id, changelog, opts } => js(c.restore_version_as(new, id, changelog.clone(), opts.clone()).await),
        Diff { a, b } => js(c.diff(a, b).await),
        Delete { id } => done(c.delete(id).await),
        Discover { o, .. } => js(c.discover(o).await),
        Popular { n } => js(c.popular_by_category(*n).await),
        Chain { id } => js(c.chain(id).await),
        Resolve { id } => js(c.resolve(id).await),
        Preview { draft, id } => js(c.preview(draft.clone(), id.as_deref()).await),
        Derived { id } => js(c.derived(id).await),
        RecordUsage { id, run, .. } => js(c.record_usage(id, run).await),
        Rate { id, stars } => js(c.rate(id, *stars).await),
        CreateSpec { draft } => js(c.create_spec_as(new, draft.clone()).await),
        GetSpec { id } => js(c.get_spec(id).await),
        UpdateSpec { id, patch, opts } => js(c.update_spec(id, patch.clone(), opts.clone()).await),
        DeleteSpec { id } => done(c.delete_spec(id).await),
        ListSpecs => js(c.list_specs().await),
        InstantiateSpec { id, overrides } => js(c.instantiate_spec_as(new, id, overrides.clone()).await),
        ExportAll => js(c.export_all().await),
        ImportAll { bundle } => js(c.import_all(bundle.clone()).await),
    }
}

/// The answer of a server call as the method's: its body, or `undefined` for a void method.
pub(super) fn answer(op: &Op, body: Result<Value>) -> Result<JsValue> {
    let body = body?;
    Ok(if op.void() { JsValue::UNDEFINED } else { to_js(&body) })
}

/// The template a lineage read (versions, labels, by-name) is about, as held here.
async fn about(c: &Core, op: &Op) -> Result<crate::model::WorkflowTemplate> {
    match op {
        Op::Versions { id, .. } | Op::Labels { id } => c.get(id).await,
        Op::GetByName { name, o, .. } => c.get_by_name(name, o).await,
        _ => Err(Error::NotFound { kind: "template", id: String::new() }),
    }
}

/// The lineage a server answer to a lineage read names, to keep it (`Replica::adopt`): the
/// template asked about, or the one a by-name answer gives.
fn named(op: &Op, v: &Value) -> Option<String> {
    match op {
        Op::Versions { id, .. } | Op::Labels { id } => Some(id.clone()),
        Op::GetByName { .. } => v.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// A lineage read answered from the replica, `t` being [`about`]'s answer: a by-name read reuses
/// it (one local read); the others read their own.
async fn lineage_local(c: &Core, op: &Op, t: Result<crate::model::WorkflowTemplate>) -> Result<JsValue> {
    match op {
        Op::GetByName { resolve: false, .. } => js(t),
        Op::GetByName { .. } => js(c.resolve(&t?.id).await),
        _ => local(c, op, None).await,
    }
}

/// Runs `op` on an offline replica. `guarded`: the JS walk found problems in the call's record
/// (the core refuses it; nothing is queued).
pub(super) async fn replica(rep: &Rc<Replica>, mut op: Op, guarded: bool) -> Result<JsValue> {
    let c = rep.core();
    if let Op::Discover { o, .. } = &op {
        // Online: the server's page (the whole catalog); unreachable: the replica's, marked.
        if !rep.offline() {
            match rep.call("discover", op.args()).await {
                Err(Error::Network(_)) => {}
                other => return answer(&op, other),
            }
        }
        return Ok(to_js(&replica::offline_page(c.discover(o).await?)?));
    }
    match op.class() {
        Class::Local => local(&c, &op, None).await,
        // A held record answers at once and is revalidated behind the answer
        // (`Replica::revalidate`); one it lacks is brought from the server and read again.
        Class::Fetch(kind) => match local(&c, &op, None).await {
            Err(e) if replica::missing(&e) && rep.fetch_missing(kind, fetch_id(&op)).await => local(&c, &op, None).await,
            Ok(v) => {
                rep.revalidate(kind, fetch_id(&op));
                Ok(v)
            }
            other => other,
        },
        // A lineage held whole (the acting user's own, or another user's kept after a server
        // read: `Replica::holds_lineage`) answers from the replica, another user's revalidated
        // by the feed behind the answer; else the server answers (and its lineage is kept),
        // the replica only when the server is unreachable.
        Class::ServerFirst => {
            let t = about(&c, &op).await;
            let held = match &t {
                Ok(t) => rep.holds_lineage(t).await,
                Err(_) => false,
            };
            if held {
                if t.as_ref().is_ok_and(|t| t.owner_id != c.user_id()) {
                    rep.revalidate_lineage();
                }
            } else if !rep.offline() {
                match rep.call(op.endpoint(), op.args()).await {
                    Err(Error::Network(_)) => {}
                    Ok(v) => {
                        if let Some(id) = named(&op, &v) {
                            rep.adopt(&id);
                        }
                        return answer(&op, Ok(v));
                    }
                    other => return answer(&op, other),
                }
            }
            lineage_local(&c, &op, t).await
        }
        Class::Import => {
            // Online only: the server imports, and the pull brings the records into the replica.
            let report = rep.call("importAll", op.args()).await;
            if report.is_ok() && !guarded {
                let _ = rep.sync().await;
            }
            answer(&op, report)
        }
        Class::Write(creates) => {
            let (endpoint, args) = (op.endpoint(), op.args());
            // The app's ifMatch may be the server's updated_at (a copy read online).
            if let Some(opts) = op.opts_mut() {
                *opts = rep.local_if_match(endpoint, &args, std::mem::take(opts)).await;
            }
            let created = if creates { Some(rep.new_id()) } else { None };
            let new = created.clone();
            rep.write(endpoint, args, created, guarded, local(&c, &op, new.as_deref())).await
        }
    }
}

/// The id a `Fetch` read names.
fn fetch_id(op: &Op) -> &str {
    match op {
        Op::Get { id } | Op::Chain { id } | Op::Resolve { id } | Op::GetSpec { id } => id,
        _ => "",
    }
}
