//! Template writes (SPEC sections 5 and 6): create, update, newVersion, delete, and the reads
//! that go with them (get, versions, diff). Every edit is a read-modify-write commit guarded by
//! the stored revision, retried with `retry_on_conflict`.


use serde_json::{Map, Value};

use super::create_id::{absent_spec, Chosen, Made};
use super::retry::{retry_on_conflict, EDIT_ATTEMPTS};
use super::{as_object, normalize_input, overlay, violations, Catalog, Env, Loaded};
use crate::error::{Error, Result, Violation};
use crate::inherit;
use crate::model::template::{TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE};
use crate::model::{time, WorkflowTemplate};
use crate::store::{name_key, BuiltinStats, Expect, Store, Stored, TemplateFilter, Write};
use crate::validate::{self, Options};

/// `update` / `newVersion` options: `if_match` is the `updated_at` the edit started from.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub if_match: Option<String>,
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// Builds a record from a payload over `base` (the defaults or the current record),
    /// validates it and computes its hash. Every violation is reported at once.
    fn build_record(&self, base: &WorkflowTemplate, patch: Map<String, Value>, extra: Vec<Violation>) -> Result<WorkflowTemplate> {
        let mut v = extra;
        let mut obj = overlay(base.to_value(), patch, TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE, &mut v);
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
            crate::model::read::read(Value::Object(obj)).map_err(|e| violations(vec![Violation::new("", validate::TYPE, e)]))?;
        record.config_hash = crate::hash::config_hash(&record.config());
        Ok(record)
    }

    pub(super) fn blank(&self) -> WorkflowTemplate {
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

    /// Prepares a new template under `id` from a draft (shared by create and instantiateSpec).
    pub(super) async fn prepare_create(&self, id: String, draft: Value) -> Result<WorkflowTemplate> {
        let mut m = as_object(draft, "a template draft")?;
        normalize_input(&mut m, &["base_template_id"]);
        let mut missing = Vec::new();
        for f in ["name", "workflow_type"] {
            if !m.contains_key(f) {
                missing.push(Violation::new(f, validate::REQUIRED, format!("{f} is required")));
            }
        }
        let mut blank = self.blank();
        blank.id = id;
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
            self.check_inheritance(&record, None).await?;
        }
        self.check_name_free(&record.name).await?;
        Ok(record)
    }

    pub async fn create(&self, draft: Value) -> Result<WorkflowTemplate> {
        self.create_as(None, draft).await
    }

    /// `create` under a chosen id (`create_id.rs`): a replay answers the stored record.
    pub async fn create_as(&self, id: Option<&str>, draft: Value) -> Result<WorkflowTemplate> {
        let fresh = match self.template_id_for(id, Made::First).await? {
            Chosen::Replay(r) => return Ok(r),
            Chosen::Free(n) => n,
        };
        let made = async {
            let record = self.prepare_create(fresh, draft).await?;
            self.store.commit(vec![Write::PutTemplate { record: record.clone(), expect: Expect::Absent }, absent_spec(&record.id)]).await?;
            Ok(record)
        };
        let record = match made.await {
            Ok(r) => r,
            Err(e) => return self.settle_template(id, Made::First, e).await,
        };
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
                None => return Err(Error::invalid(format!("ifMatch {} is not an RFC 3339 timestamp", crate::validate::quoted(want)))),
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
    pub(super) async fn lineage(&self, t: &WorkflowTemplate) -> Result<Vec<Stored<WorkflowTemplate>>> {
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
        retry_on_conflict(&self.env, EDIT_ATTEMPTS, id, || self.update_once(id, patch.clone(), opts.clone())).await
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
        self.check_inheritance(&record, None).await?;
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
        self.new_version_as(None, id, patch, changelog, opts).await
    }

    /// `new_version` whose new version gets the chosen id `new_id` (`create_id.rs`). A replay
    /// answers the stored version, whatever has happened to its lineage since.
    pub async fn new_version_as(&self, new_id: Option<&str>, id: &str, patch: Value, changelog: Option<String>, opts: WriteOptions) -> Result<WorkflowTemplate> {
        if new_id.is_some() {
            if let Chosen::Replay(r) = self.template_id_for(new_id, Made::VersionOf(id)).await? {
                return Ok(r);
            }
        }
        let made = async {
            let opts = self.pin(id, opts).await?;
            retry_on_conflict(&self.env, EDIT_ATTEMPTS, id, || async {
                let fresh = match self.template_id_for(new_id, Made::VersionOf(id)).await? {
                    Chosen::Replay(r) => return Ok(r),
                    Chosen::Free(n) => n,
                };
                self.new_version_once(fresh, id, patch.clone(), changelog.clone(), opts.clone()).await
            })
            .await
        };
        match made.await {
            Ok(r) => Ok(r),
            Err(e) => self.settle_template(new_id, Made::VersionOf(id), e).await,
        }
    }

    async fn new_version_once(&self, new_id: String, id: &str, patch: Value, changelog: Option<String>, opts: WriteOptions) -> Result<WorkflowTemplate> {
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
        base.id = new_id;
        base.version = current.record.version + 1;
        base.is_latest = true;
        base.created_at = now.clone();
        base.updated_at = now.clone();
        base.set_stats(Default::default());
        let record = self.build_record(&base, m, extra)?;
        self.check_inheritance(&record, None).await?;
        let mut previous = current.record.clone();
        previous.is_latest = false;
        previous.updated_at = now;
        self.store
            .commit(vec![
                Write::PutTemplate { record: previous, expect: Expect::Rev(current.rev) },
                Write::PutTemplate { record: record.clone(), expect: Expect::Absent },
                absent_spec(&record.id),
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
        retry_on_conflict(&self.env, EDIT_ATTEMPTS, id, || self.delete_once(id, &opts)).await
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
