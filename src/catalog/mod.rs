//! The catalog: every operation of SPEC sections 5-11 for one acting user, over any `Store`.
//! It owns the rules (access control, versions, inheritance checks, statistics); the store only
//! keeps records and enforces revisions and name uniqueness atomically.

mod bundle;
pub mod discover;
mod inheritance;
mod integrity;
mod labels;
mod specs;
mod usage;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

pub use discover::{DiscoverOptions, Page, Sort};
pub use integrity::SkippedRow;
pub use labels::{label_name_problem, ByName, LabelInfo, LabelledVersion};
pub use usage::UsageRun;

use crate::builtin;
use crate::error::{Error, Result, Violation};
use crate::inherit::{self, MAX_DEPTH};
use crate::model::id::{normalize_id, random_bits, IdGenerator};
use crate::model::template::{TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE};
use crate::model::{time, WorkflowTemplate};
use crate::store::{name_key, BuiltinStats, Expect, Store, Stored, TemplateFilter, Write};
use crate::validate::{self, Options};

/// Where time and randomness come from, and where reports go: the browser facade, the native
/// system, a server, or a test.
pub trait Env {
    fn now_ms(&self) -> i64;
    fn random(&self) -> u128 {
        random_bits()
    }
    /// Told of every stored row a list left out because it failed verification (SPEC section
    /// 4), so that one bad row never turns a list into an error yet never goes unnoticed. A
    /// server logs it; the default does nothing.
    fn skipped_row(&self, _row: &SkippedRow) {}
}


/// The system clock (native targets only; the browser facade brings its own).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

#[cfg(not(target_arch = "wasm32"))]
impl Env for SystemEnv {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A change, for `subscribe`: made through this catalog, or (`external`) reported by the
/// storage adapter from elsewhere, e.g. another tab on the same database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// "template", "spec", "rating", "usage", "label" (id: the version the label points or
    /// pointed at), "import", or "storage" (the adapter's own news, e.g. op "closed" when
    /// another tab upgraded the database).
    pub kind: &'static str,
    /// "create", "update", "delete", "import" or "closed".
    pub op: &'static str,
    pub id: Option<String>,
    pub external: bool,
}

const EVENT_KINDS: [&str; 7] = ["template", "spec", "rating", "usage", "label", "import", "storage"];
const EVENT_OPS: [&str; 5] = ["create", "update", "delete", "import", "closed"];

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

/// `update` / `newVersion` options: `if_match` is the `updated_at` the edit started from.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub if_match: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainLink {
    pub id: String,
    pub name: String,
    pub base_template_id: Option<String>,
    pub level: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    pub id: String,
    pub chain: Vec<ChainLink>,
    pub effective: inherit::Effective,
    pub provenance: std::collections::BTreeMap<String, String>,
    pub resolved_hash: String,
}

type Listener = Rc<dyn Fn(&ChangeEvent)>;

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

/// A template as read: a built-in (with the statistics stored beside it) or a stored record.
/// Stored records read ahead by id (see `Catalog::prefetch`).
type Prefetched = HashMap<String, Stored<WorkflowTemplate>>;

#[derive(Debug, Clone)]
pub(crate) enum Loaded {
    Builtin { record: WorkflowTemplate, stats_rev: Option<u64> },
    Stored(Stored<WorkflowTemplate>),
}

impl Loaded {
    pub(crate) fn record(&self) -> &WorkflowTemplate {
        match self {
            Loaded::Builtin { record, .. } => record,
            Loaded::Stored(s) => &s.record,
        }
    }
    pub(crate) fn into_record(self) -> WorkflowTemplate {
        match self {
            Loaded::Builtin { record, .. } => record,
            Loaded::Stored(s) => s.record,
        }
    }
}

pub struct Catalog<S: Store, E: Env> {
    store: S,
    env: E,
    user: String,
    ids: RefCell<IdGenerator>,
    listeners: Listeners,
    /// Told of every change made here (not of external ones), e.g. to tell other tabs.
    outbox: RefCell<Option<Listener>>,
    /// A catalog many users share (the server): import never sets what other users see of
    /// statistics (`bundle.rs`).
    shared: bool,
}

/// How often an edit is retried when only statistics moved under it.
const EDIT_RETRIES: usize = 16;

/// A commit refused because a stored revision moved (as opposed to an `ifMatch` mismatch).
pub(crate) fn is_revision_conflict(e: &Error) -> bool {
    matches!(e, Error::Conflict { expected, .. } if expected.starts_with("rev ") || expected == "absent")
}

pub(crate) fn busy(id: &str) -> Error {
    Error::Conflict { id: id.to_string(), expected: "a quiet moment".into(), actual: "too many concurrent writers".into() }
}

pub(crate) fn violations(list: Vec<Violation>) -> Error {
    Error::ValidationFailed(list)
}

fn as_object(v: Value, what: &str) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(violations(vec![Violation::new(
            "",
            validate::TYPE,
            format!("{what} must be an object, got {}", validate::type_name(&other)),
        )])),
    }
}

/// Trims as validation defines it: Unicode White_Space and U+FEFF (what JS `trim` removes).
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Trims names and tags and upper-cases ids in a create/update payload, so that what people
/// type (`"My template "`, a lowercase id) is stored in canonical form.
fn normalize_input(m: &mut Map<String, Value>, id_fields: &[&str]) {
    if let Some(Value::String(s)) = m.get_mut("name") {
        *s = trim(s).to_string();
    }
    if let Some(Value::Array(tags)) = m.get_mut("tags") {
        for t in tags.iter_mut() {
            if let Value::String(s) = t {
                *s = trim(s).to_string();
            }
        }
    }
    for f in id_fields {
        if let Some(Value::String(s)) = m.get_mut(*f) {
            if let Some(n) = normalize_id(s) {
                *s = n;
            }
        }
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// A catalog acting for `user_id` (a ULID; lowercase accepted).
    pub fn new(store: S, env: E, user_id: &str) -> Result<Self> {
        let user = normalize_id(user_id).ok_or_else(|| Error::invalid(format!("userId {user_id:?} is not a ULID")))?;
        Ok(Catalog { store, env, user, ids: RefCell::new(IdGenerator::new()), listeners: Listeners::default(), outbox: RefCell::new(None), shared: false })
    }

    /// Marks the catalog as shared by many users (the reference server sets it): imported
    /// statistics are then ignored (README, "Import on a shared catalog").
    pub fn shared(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }

    pub fn user_id(&self) -> &str {
        &self.user
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    // ---- small helpers -------------------------------------------------------------------

    /// The clock, brought into the range a timestamp may enter storage in (`time` module docs).
    fn now_ms(&self) -> i64 {
        time::clamp_clock(self.env.now_ms())
    }

    fn now(&self) -> String {
        time::format_ms(self.now_ms())
    }

    /// A timestamp strictly after `prev` (updated_at strictly increases on every write, even
    /// twice in one millisecond or with a clock that stepped back). Checked: an edit that would
    /// move it past 9999-12-31T23:59:59.999Z is INVALID_ARGUMENT, nothing is written.
    fn after(&self, prev: &str) -> Result<String> {
        time::later(prev, self.now_ms()).ok_or_else(|| {
            Error::invalid(format!("updated_at {prev} cannot move forward: it is at the last representable instant ({})", time::format_ms(time::MAX_MS)))
        })
    }

    /// [`Self::after`] for records that are not the one being edited (other versions renamed
    /// or promoted with it): at the last instant they keep their timestamp instead of failing.
    fn after_or_same(&self, prev: &str) -> String {
        self.after(prev).unwrap_or_else(|_| prev.to_string())
    }

    fn new_id(&self) -> String {
        self.ids.borrow_mut().next(self.now_ms().max(0) as u64, self.env.random())
    }

    pub(crate) fn parse_id(&self, id: &str) -> Result<String> {
        normalize_id(id).ok_or_else(|| Error::invalid(format!("{id:?} is not a ULID")))
    }

    fn emit(&self, kind: &'static str, op: &'static str, id: Option<&str>) {
        let ev = ChangeEvent { kind, op, id: id.map(str::to_string), external: false };
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

    fn visible_to(t: &WorkflowTemplate, user: &str) -> bool {
        t.is_builtin || t.is_public || t.owner_id == user
    }

    /// Checks a record read from storage (see [`integrity::verify_template`]).
    pub(crate) fn verify(t: &mut WorkflowTemplate) -> Result<()> {
        integrity::verify_template(t)
    }

    /// A stored record is checked with [`Self::verify`]; built-ins are compiled in.
    fn check_loaded(l: Loaded) -> Result<Loaded> {
        match l {
            Loaded::Stored(mut s) => {
                Self::verify(&mut s.record)?;
                Ok(Loaded::Stored(s))
            }
            b => Ok(b),
        }
    }

    /// Any template by id as stored, not yet verified: access is decided first, so a user who
    /// may not see a corrupt row is told NOT_FOUND, not INTEGRITY.
    async fn load_raw(&self, id: &str) -> Result<Option<Loaded>> {
        if let Some(b) = builtin::get(id) {
            let mut record = b.clone();
            let stats = self.store.get_builtin_stats(id).await?;
            let stats_rev = stats.as_ref().map(|s| s.rev);
            if let Some(s) = stats.and_then(|s| self.builtin_stats_checked(s.record)) {
                record.set_stats(s);
            }
            return Ok(Some(Loaded::Builtin { record, stats_rev }));
        }
        match self.store.get_template(id).await? {
            Some(s) => self.stored_as(id, s),
            None => Ok(None),
        }
    }

    /// A stored record read under `id`: it must say it is `id` (INTEGRITY for whoever may see
    /// what it says; nothing at all for others).
    fn stored_as(&self, id: &str, s: Stored<WorkflowTemplate>) -> Result<Option<Loaded>> {
        if s.record.id == id {
            return Ok(Some(Loaded::Stored(s)));
        }
        match Self::visible_to(&s.record, &self.user) {
            true => Err(Error::Integrity { id: id.into(), message: format!("stored under {id} but says {}", s.record.id) }),
            false => Ok(None),
        }
    }

    /// [`Self::load_raw`], taking the record from `pre` when it was read ahead.
    async fn load_raw_in(&self, id: &str, pre: &mut Prefetched) -> Result<Option<Loaded>> {
        match pre.remove(id) {
            Some(s) => self.stored_as(id, s),
            None => self.load_raw(id).await,
        }
    }

    /// Reads ahead the stored records of the chain that starts at `id`, in one go where the
    /// store can (`Store::get_template_chain`). Records are still checked one by one when the
    /// walk takes them; a failed read ahead only means they are read one by one.
    async fn prefetch(&self, id: Option<&str>) -> Prefetched {
        let Some(id) = id else { return Prefetched::new() };
        match self.store.get_template_chain(id, MAX_DEPTH + 1).await {
            Ok(list) => list.into_iter().map(|s| (s.record.id.clone(), s)).collect(),
            Err(_) => Prefetched::new(),
        }
    }

    /// A template the acting user may see; others' private templates are NOT_FOUND.
    pub(crate) async fn load_visible(&self, id: &str) -> Result<Loaded> {
        self.load_visible_in(id, &mut Prefetched::new()).await
    }

    async fn load_visible_in(&self, id: &str, pre: &mut Prefetched) -> Result<Loaded> {
        let id = self.parse_id(id)?;
        match self.load_raw_in(&id, pre).await? {
            Some(l) if Self::visible_to(l.record(), &self.user) => Self::check_loaded(l),
            _ => Err(Error::not_found("template", id)),
        }
    }

    /// The leaf `id` (visible to the acting user) with its chain's records read ahead.
    async fn load_chain_leaf(&self, id: &str) -> Result<(WorkflowTemplate, Prefetched)> {
        let id = self.parse_id(id)?;
        let mut pre = self.prefetch(Some(&id)).await;
        let leaf = self.load_visible_in(&id, &mut pre).await?.into_record();
        Ok((leaf, pre))
    }

    /// A stored template the acting user owns (for update, newVersion, delete).
    async fn load_owned(&self, id: &str) -> Result<Stored<WorkflowTemplate>> {
        let s = self.load_owned_raw(id).await?;
        Self::check_loaded(Loaded::Stored(s)).map(|l| match l {
            Loaded::Stored(s) => s,
            Loaded::Builtin { .. } => unreachable!("load_owned_raw never returns a built-in"),
        })
    }

    /// [`Self::load_owned`] without verifying the record: delete takes it, so that an owner is
    /// never stuck with a corrupt template of their own.
    async fn load_owned_raw(&self, id: &str) -> Result<Stored<WorkflowTemplate>> {
        let given = id;
        let id = self.parse_id(id)?;
        let mut found = self.load_raw(&id).await?;
        if found.is_none() && given != id {
            // A row stored under an id in another spelling (written before ids were made
            // canonical on every way in) is refused by every read; its owner deletes it by the
            // key it is stored under, as exportAll's `skipped` lists it.
            found = self.store.get_template(given).await?.and_then(|s| (s.record.id == given).then_some(Loaded::Stored(s)));
        }
        match found {
            Some(Loaded::Builtin { record, .. }) => Err(Error::BuiltinReadOnly { id: record.id }),
            Some(Loaded::Stored(s)) if s.record.owner_id == self.user => Ok(s),
            Some(Loaded::Stored(s)) if Self::visible_to(&s.record, &self.user) => {
                Err(Error::Forbidden(format!("template {} belongs to another user", s.record.id)))
            }
            _ => Err(Error::not_found("template", id)),
        }
    }

    // ---- templates -------------------------------------------------------------------------

    /// Builds a record from a payload over `base` (the defaults or the current record),
    /// validates it and computes its hash. Every violation is reported at once.
    fn build_record(&self, base: &WorkflowTemplate, patch: Map<String, Value>, extra: Vec<Violation>) -> Result<WorkflowTemplate> {
        let mut v = extra;
        validate::check_writable(&patch, TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE, &mut v);
        let mut obj = match base.to_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for (k, val) in patch {
            if TEMPLATE_WRITABLE.contains(&k.as_str()) {
                obj.insert(k, val);
            }
        }
        obj.remove("config_hash");
        let value = Value::Object(obj);
        v.extend(validate::validate_template(&value, Options { complete: false, allow_builtin: false }));
        if !v.is_empty() {
            return Err(violations(v));
        }
        let mut obj = match value {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        obj.insert("config_hash".into(), Value::String(String::new()));
        let mut record: WorkflowTemplate =
            serde_json::from_value(Value::Object(obj)).map_err(|e| violations(vec![Violation::new("", validate::TYPE, e.to_string())]))?;
        record.config_hash = crate::hash::config_hash(&record.config());
        Ok(record)
    }

    fn blank(&self) -> WorkflowTemplate {
        WorkflowTemplate::with_defaults(String::new(), self.user.clone(), self.now())
    }

    async fn check_name_free(&self, name: &str) -> Result<()> {
        let taken = self
            .store
            .find_templates(&TemplateFilter { owner_id: Some(self.user.clone()), name_key: Some(name_key(name)), is_latest: Some(true), ..Default::default() })
            .await?;
        if !taken.is_empty() {
            return Err(Error::NameTaken { name: name.to_string() });
        }
        Ok(())
    }

    /// Prepares a new template from a draft (shared by create and instantiateSpec).
    async fn prepare_create(&self, draft: Value) -> Result<WorkflowTemplate> {
        let mut m = as_object(draft, "a template draft")?;
        normalize_input(&mut m, &["base_template_id"]);
        let mut missing = Vec::new();
        for f in ["name", "workflow_type"] {
            if !m.contains_key(f) {
                missing.push(Violation::new(f, validate::REQUIRED, format!("{f} is required")));
            }
        }
        let mut blank = self.blank();
        blank.id = self.new_id();
        if !missing.is_empty() {
            // Validate the rest too, so every violation is reported at once.
            let mut v = missing;
            let mut probe = m.clone();
            probe.entry("name").or_insert(Value::String("x".into()));
            probe.entry("workflow_type").or_insert(Value::String("plain".into()));
            if let Err(Error::ValidationFailed(more)) = self.build_record(&blank, probe, Vec::new()) {
                v.extend(more.into_iter().filter(|x| x.code != validate::WORKFLOW_TYPE_MISMATCH));
            }
            return Err(violations(v));
        }
        let record = self.build_record(&blank, m, Vec::new())?;
        if record.base_template_id.is_some() {
            self.check_inheritance(&record, &HashMap::new()).await?;
        }
        self.check_name_free(&record.name).await?;
        Ok(record)
    }

    pub async fn create(&self, draft: Value) -> Result<WorkflowTemplate> {
        let record = self.prepare_create(draft).await?;
        self.store.commit(vec![Write::PutTemplate { record: record.clone(), expect: Expect::Absent }]).await?;
        self.emit("template", "create", Some(&record.id));
        Ok(record)
    }

    /// Any template the acting user may see, with usage statistics.
    pub async fn get(&self, id: &str) -> Result<WorkflowTemplate> {
        Ok(self.load_visible(id).await?.into_record())
    }

    /// Edits are read-modify-write commits guarded by the stored revision. Statistics move the
    /// revision but not `updated_at`, so an edit whose commit lost a race is retried, pinned to
    /// the `updated_at` it started from: it goes through when only statistics moved, and fails
    /// with CONFLICT when someone edited the record.
    async fn pin(&self, id: &str, opts: WriteOptions) -> Result<WriteOptions> {
        if opts.if_match.is_some() {
            return Ok(opts);
        }
        let current = self.load_owned(id).await?;
        Ok(WriteOptions { if_match: Some(current.record.updated_at) })
    }

    fn check_if_match(current: &WorkflowTemplate, opts: &WriteOptions) -> Result<()> {
        if let Some(want) = &opts.if_match {
            let want_ms = match time::parse_ms(want) {
                Some(ms) => ms,
                None if *want == current.updated_at => i64::MIN,
                None => return Err(Error::invalid(format!("ifMatch {want:?} is not an RFC 3339 timestamp"))),
            };
            // A corrupt stored timestamp (which only its owner's delete reads) matches itself.
            let same = match time::parse_ms(&current.updated_at) {
                Some(have) => have == want_ms,
                None => *want == current.updated_at,
            };
            if !same {
                return Err(Error::Conflict { id: current.id.clone(), expected: want.clone(), actual: current.updated_at.clone() });
            }
        }
        Ok(())
    }

    /// All versions of the lineage of `t` (same owner, same name), newest first.
    async fn lineage(&self, t: &WorkflowTemplate) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let mut all = self
            .store
            .find_templates(&TemplateFilter { owner_id: Some(t.owner_id.clone()), name_key: Some(name_key(&t.name)), ..Default::default() })
            .await?;
        crate::sort::sort_by(&mut all, |a, b| b.record.version.cmp(&a.record.version).then(b.record.id.cmp(&a.record.id)));
        Ok(all)
    }

    /// Edits the latest version in place. A new name renames every version of the template
    /// (versions share their name), atomically.
    pub async fn update(&self, id: &str, patch: Value, opts: WriteOptions) -> Result<WorkflowTemplate> {
        let opts = self.pin(id, opts).await?;
        for _ in 0..EDIT_RETRIES {
            match self.update_once(id, patch.clone(), opts.clone()).await {
                Err(e) if is_revision_conflict(&e) => continue,
                other => return other,
            }
        }
        Err(busy(id))
    }

    async fn update_once(&self, id: &str, patch: Value, opts: WriteOptions) -> Result<WorkflowTemplate> {
        let current = self.load_owned(id).await?;
        Self::check_if_match(&current.record, &opts)?;
        if !current.record.is_latest {
            return Err(Error::invalid(format!("{} is not the latest version; update edits the latest version (use newVersion for a new one)", current.record.id)));
        }
        let mut m = as_object(patch, "a template patch")?;
        normalize_input(&mut m, &["base_template_id"]);
        let mut record = self.build_record(&current.record, m, Vec::new())?;
        record.updated_at = self.after(&current.record.updated_at)?;
        self.check_inheritance(&record, &HashMap::new()).await?;
        let mut writes = vec![Write::PutTemplate { record: record.clone(), expect: Expect::Rev(current.rev) }];
        if record.name != current.record.name {
            if name_key(&record.name) != name_key(&current.record.name) {
                self.check_name_free(&record.name).await?;
                // Labels belong to the lineage: they move to its new name in the same commit.
                for l in self.store.find_labels(&current.record.owner_id, Some(&name_key(&current.record.name))).await? {
                    let mut moved = l.record.clone();
                    moved.name_key = name_key(&record.name);
                    writes.push(Write::DeleteLabel { key: l.record.key(), expect: Expect::Rev(l.rev) });
                    writes.push(Write::PutLabel { record: moved, expect: Expect::Any });
                }
            }
            // Versions share their name: rename the whole lineage in the same commit.
            for old in self.lineage(&current.record).await? {
                if old.record.id != record.id {
                    let mut o = old.record.clone();
                    o.name = record.name.clone();
                    o.updated_at = self.after_or_same(&o.updated_at);
                    writes.push(Write::PutTemplate { record: o, expect: Expect::Rev(old.rev) });
                }
            }
        }
        self.store.commit(writes).await?;
        self.emit("template", "update", Some(&record.id));
        Ok(record)
    }

    /// Writes version + 1 (new id, same owner and name) and clears is_latest on the previous
    /// latest, in one atomic commit.
    pub async fn new_version(&self, id: &str, patch: Value, changelog: Option<String>, opts: WriteOptions) -> Result<WorkflowTemplate> {
        let opts = self.pin(id, opts).await?;
        for _ in 0..EDIT_RETRIES {
            match self.new_version_once(id, patch.clone(), changelog.clone(), opts.clone()).await {
                Err(e) if is_revision_conflict(&e) => continue,
                other => return other,
            }
        }
        Err(busy(id))
    }

    async fn new_version_once(&self, id: &str, patch: Value, changelog: Option<String>, opts: WriteOptions) -> Result<WorkflowTemplate> {
        let current = self.load_owned(id).await?;
        Self::check_if_match(&current.record, &opts)?;
        if !current.record.is_latest {
            return Err(Error::invalid(format!("{} is not the latest version; new versions are made from the latest", current.record.id)));
        }
        let mut m = match patch {
            Value::Null => Map::new(),
            other => as_object(other, "a template patch")?,
        };
        normalize_input(&mut m, &["base_template_id"]);
        let mut extra = Vec::new();
        if m.get("name").and_then(Value::as_str).is_some_and(|n| n != current.record.name) {
            extra.push(Violation::new("name", validate::READ_ONLY, "a new version keeps the name; rename with update"));
        }
        m.remove("name");
        m.insert("changelog".into(), changelog.map(Value::String).unwrap_or(Value::Null));
        let mut base = current.record.clone();
        let now = self.after(&current.record.updated_at)?;
        base.id = self.new_id();
        base.version = current.record.version + 1;
        base.is_latest = true;
        base.created_at = now.clone();
        base.updated_at = now.clone();
        base.set_stats(Default::default());
        let record = self.build_record(&base, m, extra)?;
        self.check_inheritance(&record, &HashMap::new()).await?;
        let mut previous = current.record.clone();
        previous.is_latest = false;
        previous.updated_at = now;
        self.store
            .commit(vec![
                Write::PutTemplate { record: previous, expect: Expect::Rev(current.rev) },
                Write::PutTemplate { record: record.clone(), expect: Expect::Absent },
            ])
            .await?;
        self.emit("template", "create", Some(&record.id));
        self.emit("template", "update", Some(&current.record.id));
        Ok(record)
    }

    /// Every version the acting user may see, newest first.
    pub async fn versions(&self, id: &str) -> Result<Vec<WorkflowTemplate>> {
        let t = self.load_visible(id).await?;
        if let Loaded::Builtin { record, .. } = t {
            return Ok(vec![record]);
        }
        let t = t.into_record();
        let mut out = Vec::new();
        for s in self.lineage(&t).await? {
            if Self::visible_to(&s.record, &self.user) {
                out.extend(self.verified(s.record));
            }
        }
        Ok(out)
    }

    /// Changed fields between two templates, with JSON-pointer paths into JSON columns.
    pub async fn diff(&self, a: &str, b: &str) -> Result<Vec<inherit::Change>> {
        let a = self.load_visible(a).await?.into_record();
        let b = self.load_visible(b).await?.into_record();
        Ok(inherit::diff(&a.to_value(), &b.to_value()))
    }

    /// Deletes one version. Refused while templates derive from it (HAS_DERIVED). When it was
    /// the latest, the highest remaining version becomes latest in the same commit.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.delete_with(id, WriteOptions::default()).await
    }

    /// `delete` guarded by `if_match` (the `updated_at` the caller saw): CONFLICT when the
    /// template was edited since (used by the HTTP server's `If-Match`).
    pub async fn delete_with(&self, id: &str, opts: WriteOptions) -> Result<()> {
        let opts = match opts.if_match {
            Some(_) => opts,
            None => WriteOptions { if_match: Some(self.load_owned_raw(id).await?.record.updated_at) },
        };
        for _ in 0..EDIT_RETRIES {
            match self.delete_once(id, &opts).await {
                Err(e) if is_revision_conflict(&e) => continue,
                other => return other,
            }
        }
        Err(busy(id))
    }

    async fn delete_once(&self, id: &str, opts: &WriteOptions) -> Result<()> {
        // Not verified: the owner may delete a template that fails verification.
        let current = self.load_owned_raw(id).await?;
        Self::check_if_match(&current.record, opts)?;
        let children = self.store.find_templates(&TemplateFilter { base_template_id: Some(current.record.id.clone()), ..Default::default() }).await?;
        if !children.is_empty() {
            let derived: Vec<String> = children.iter().filter(|c| Self::visible_to(&c.record, &self.user)).map(|c| c.record.id.clone()).collect();
            let hidden = children.len() - derived.len();
            return Err(Error::HasDerived { id: current.record.id.clone(), derived, hidden });
        }
        // A label never dangles (SPEC section 6). Rows that do not check out do not hold a
        // delete up; they are reported by `lineage_labels`.
        let held: Vec<String> =
            self.lineage_labels(&current.record).await?.into_iter().filter(|l| l.record.template_id == current.record.id).map(|l| l.record.label).collect();
        if !held.is_empty() {
            return Err(Error::HasLabels { id: current.record.id.clone(), labels: held });
        }
        let mut writes = vec![Write::DeleteTemplate { id: current.record.id.clone(), expect: Expect::Rev(current.rev) }];
        let mut promoted = None;
        if current.record.is_latest {
            if let Some(next) = self.lineage(&current.record).await?.into_iter().find(|s| s.record.id != current.record.id) {
                let mut r = next.record.clone();
                r.is_latest = true;
                r.updated_at = self.after_or_same(&r.updated_at);
                promoted = Some(r.id.clone());
                writes.push(Write::PutTemplate { record: r, expect: Expect::Rev(next.rev) });
            }
        }
        for r in self.store.find_ratings(None, Some(&current.record.id)).await? {
            writes.push(Write::DeleteRating { template_id: r.record.template_id, user_id: r.record.user_id });
        }
        writes.push(Write::DeleteUsageTotals { id: current.record.id.clone() });
        self.store.commit(writes).await?;
        self.emit("template", "delete", Some(&current.record.id));
        if let Some(p) = promoted {
            self.emit("template", "update", Some(&p));
        }
        Ok(())
    }

    pub(crate) fn builtin_stats_write(record: &WorkflowTemplate, stats_rev: Option<u64>) -> Write {
        Write::PutBuiltinStats {
            record: BuiltinStats { id: record.id.clone(), stats: record.stats() },
            expect: stats_rev.map(Expect::Rev).unwrap_or(Expect::Absent),
        }
    }
}

/// Moved to `crate::hash` (the storage-free core needs it); kept here for existing callers.
pub use crate::hash::config_hash_of_value;
