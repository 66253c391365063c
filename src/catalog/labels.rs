//! The registry surface of SPEC section 6 (issue 14): labels that pin a version of a lineage,
//! fetch by name, and rollback.
//!
//! A lineage is the templates with one `owner_id` and one case-insensitive name (versions
//! share their name). A label row (`template_labels`) is keyed by (owner, name key, label) and
//! points at one version by id. Rows are trusted only as far as they check out: a row is used
//! when it is well formed and the version it names exists, belongs to that lineage and has that
//! version number; any other row is left out of every answer and reported (`Env::skipped_row`).

use serde::Serialize;
use serde_json::{Map, Value};

use super::retry::{retry_on_conflict, EDIT_ATTEMPTS};
use super::{Catalog, Env, Loaded, WriteOptions};
use crate::builtin;
use crate::error::{Error, Result};
use crate::model::id::{is_canonical_id, normalize_id, BUILTIN_OWNER};
use crate::model::{canonical, time, WorkflowTemplate};
use crate::store::{name_key, Expect, Store, Stored, TemplateFilter, TemplateLabel, Write};

/// The name a label may have: `^[a-z0-9][a-z0-9_.-]{0,63}$` (SPEC section 6).
pub fn label_name_problem(label: &str) -> Option<&'static str> {
    let b = label.as_bytes();
    let ok_first = b.first().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = b.iter().skip(1).all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b'-'));
    if b.is_empty() || b.len() > 64 || !ok_first || !ok_rest {
        return Some("a label matches ^[a-z0-9][a-z0-9_.-]{0,63}$");
    }
    None
}

/// The label that always means the latest version (`is_latest`): readable, never stored.
pub const LATEST: &str = "latest";

fn check_label_arg(label: &str, allow_latest: bool) -> Result<()> {
    if let Some(p) = label_name_problem(label) {
        return Err(Error::invalid(format!("label {}: {p}", crate::validate::quoted(label))));
    }
    if label == LATEST && !allow_latest {
        return Err(Error::invalid("the label \"latest\" is reserved: it always names the latest version (is_latest)"));
    }
    Ok(())
}

/// One label as `labels()` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelInfo {
    pub label: String,
    pub template_id: String,
    pub version: u64,
    pub updated_at: String,
}

impl From<&TemplateLabel> for LabelInfo {
    fn from(l: &TemplateLabel) -> Self {
        LabelInfo { label: l.label.clone(), template_id: l.template_id.clone(), version: l.version, updated_at: l.updated_at.clone() }
    }
}

/// One entry of `versions(id, { withLabels: true })`: the record unchanged, and the labels
/// that point at it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledVersion {
    pub record: WorkflowTemplate,
    pub labels: Vec<String>,
}

/// `getByName` / `resolveByName` options.
#[derive(Debug, Clone, Default)]
pub struct ByName {
    pub version: Option<u64>,
    pub label: Option<String>,
    pub owner: Option<String>,
}

/// A stored label row checked on its own (shape only; the lineage check needs the template).
pub(crate) fn verify_label(l: &mut TemplateLabel) -> Result<()> {
    canonical::respell_time(&mut l.updated_at);
    let ok = is_canonical_id(&l.owner_id)
        && is_canonical_id(&l.template_id)
        && label_name_problem(&l.label).is_none()
        && l.label != LATEST
        && l.version >= 1
        && time::parse_ms(&l.updated_at).is_some();
    match ok {
        true => Ok(()),
        false => Err(Error::Integrity { id: l.key(), message: "a stored label needs canonical ULIDs, a valid label name, a version >= 1 and an RFC 3339 updated_at".into() }),
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// The label rows of `t`'s lineage that check out (module docs), by label name; the others
    /// are reported and left out.
    pub(crate) async fn lineage_labels(&self, t: &WorkflowTemplate) -> Result<Vec<Stored<TemplateLabel>>> {
        let key = name_key(&t.name);
        let rows = self.store.find_labels(&t.owner_id, Some(&key)).await?;
        if rows.is_empty() {
            return Ok(rows);
        }
        let versions = self.lineage(t).await?;
        let mut out = Vec::new();
        for mut row in rows {
            let checked = verify_label(&mut row.record).and_then(|_| {
                let l = &row.record;
                let found = versions.iter().any(|v| v.record.id == l.template_id && v.record.version == l.version);
                match l.owner_id == t.owner_id && l.name_key == key && found {
                    true => Ok(()),
                    false => Err(Error::Integrity { id: l.key(), message: format!("points at {} version {}, which is not a version of this lineage", l.template_id, l.version) }),
                }
            });
            match checked {
                Ok(()) => out.push(row),
                Err(e) => self.skip("template_labels", &row.record.key(), &e),
            }
        }
        crate::sort::sort_by(&mut out, |a, b| a.record.label.cmp(&b.record.label));
        Ok(out)
    }

    /// The labels of `id`'s lineage (SPEC section 6), by label name. Whoever may see `id` sees
    /// them; a label on a version the caller may not see (another user's private version) is
    /// left out. A built-in has none.
    pub async fn labels(&self, id: &str) -> Result<Vec<LabelInfo>> {
        let t = match self.load_visible(id).await? {
            Loaded::Builtin { .. } => return Ok(Vec::new()),
            Loaded::Stored(s) => s.record,
        };
        let rows = self.lineage_labels(&t).await?;
        let mut out = Vec::new();
        for r in rows {
            if t.owner_id == self.user || self.label_target_visible(&r.record).await? {
                out.push(LabelInfo::from(&r.record));
            }
        }
        Ok(out)
    }

    async fn label_target_visible(&self, l: &TemplateLabel) -> Result<bool> {
        Ok(match self.store.get_template(&l.template_id).await? {
            Some(s) => Self::visible_to(&s.record, &self.user),
            None => false,
        })
    }

    /// Points `label` at version `id` (owner only), creating or moving it in one conditional
    /// write. `if_match` is the label's `updated_at` as last read: CONFLICT when it moved since
    /// (or, for a label that does not exist, always). The commit also rewrites the version
    /// unchanged under its revision, so a concurrent delete of that version and this write
    /// cannot both succeed (the loser retries and sees the other).
    pub async fn set_label(&self, id: &str, label: &str, opts: WriteOptions) -> Result<LabelInfo> {
        check_label_arg(label, false)?;
        retry_on_conflict(&self.env, EDIT_ATTEMPTS, id, || self.set_label_once(id, label, &opts)).await
    }

    async fn set_label_once(&self, id: &str, label: &str, opts: &WriteOptions) -> Result<LabelInfo> {
        let current = self.load_owned(id).await?;
        let t = &current.record;
        let existing = self.lineage_labels(t).await?.into_iter().find(|r| r.record.label == label);
        // A stored row that did not check out is replaced, under its revision.
        let raw = match &existing {
            Some(_) => None,
            None => self.store.find_labels(&t.owner_id, Some(&name_key(&t.name))).await?.into_iter().find(|r| r.record.label == label),
        };
        if let Some(want) = &opts.if_match {
            let have = existing.as_ref().map(|e| e.record.updated_at.clone());
            if !same_instant(want, have.as_deref())? {
                return Err(Error::Conflict { id: format!("label {label}"), expected: want.clone(), actual: have.unwrap_or_else(|| "absent".into()) });
            }
        }
        let updated_at = match &existing {
            Some(e) => self.after(&e.record.updated_at)?,
            None => self.now(),
        };
        let record = TemplateLabel { owner_id: t.owner_id.clone(), name_key: name_key(&t.name), label: label.to_string(), template_id: t.id.clone(), version: t.version, updated_at };
        let expect = existing.as_ref().or(raw.as_ref()).map(|e| Expect::Rev(e.rev)).unwrap_or(Expect::Absent);
        self.store
            .commit(vec![Write::PutTemplate { record: t.clone(), expect: Expect::Rev(current.rev) }, Write::PutLabel { record: record.clone(), expect }])
            .await?;
        self.emit("label", if existing.is_some() { "update" } else { "create" }, Some(&t.id));
        Ok(LabelInfo::from(&record))
    }

    /// Removes `label` from `id`'s lineage (owner only); NOT_FOUND when there is no such label.
    /// `if_match` as for [`Self::set_label`].
    pub async fn remove_label(&self, id: &str, label: &str, opts: WriteOptions) -> Result<()> {
        check_label_arg(label, false)?;
        let current = self.load_owned_raw(id).await?;
        let t = &current.record;
        let rows = self.store.find_labels(&t.owner_id, Some(&name_key(&t.name))).await?;
        let Some(row) = rows.into_iter().find(|r| r.record.label == label) else {
            return Err(Error::not_found("label", label));
        };
        if let Some(want) = &opts.if_match {
            let mut have = row.record.updated_at.clone();
            canonical::respell_time(&mut have);
            if !same_instant(want, Some(&have))? {
                return Err(Error::Conflict { id: format!("label {label}"), expected: want.clone(), actual: have });
            }
        }
        let target = row.record.template_id.clone();
        self.store.commit(vec![Write::DeleteLabel { key: row.record.key(), expect: Expect::Rev(row.rev) }]).await?;
        self.emit("label", "delete", Some(&target));
        Ok(())
    }

    /// `versions(id)` with, for each version, the labels that point at it.
    pub async fn versions_with_labels(&self, id: &str) -> Result<Vec<LabelledVersion>> {
        let versions = self.versions(id).await?;
        let labels = match versions.first() {
            Some(t) if !t.is_builtin => self.labels(&t.id).await?,
            _ => Vec::new(),
        };
        Ok(versions
            .into_iter()
            .map(|record| {
                let labels = labels.iter().filter(|l| l.template_id == record.id).map(|l| l.label.clone()).collect();
                LabelledVersion { record, labels }
            })
            .collect())
    }

    /// A template by name (SPEC section 6). Without `owner` the name resolves as a spec's
    /// `base_template_name` does (section 10): the acting user's own lineage, else a built-in,
    /// else the single public lineage of that name (AMBIGUOUS_BASE when there are several).
    /// `version` or `label` (`latest` is the latest) pick inside the lineage; NOT_FOUND when
    /// the pick does not exist or the caller may not see it.
    pub async fn get_by_name(&self, name: &str, o: &ByName) -> Result<WorkflowTemplate> {
        if o.version.is_some() && o.label.is_some() {
            return Err(Error::invalid("give version or label, not both"));
        }
        if let Some(l) = &o.label {
            check_label_arg(l, true)?;
        }
        let key = name_key(name);
        let not_found = || Error::not_found("template", name.to_string());
        if key.is_empty() {
            return Err(Error::invalid("a name must not be empty"));
        }
        let owner = match &o.owner {
            Some(owner) => Some(normalize_id(owner).ok_or_else(|| Error::invalid(format!("owner {} is not a ULID", crate::validate::quoted(owner))))?),
            None => None,
        };
        let builtin_pick = |b: &WorkflowTemplate| -> Result<String> {
            let fits = o.version.is_none_or(|v| v == b.version) && o.label.as_deref().is_none_or(|l| l == LATEST);
            if fits { Ok(b.id.clone()) } else { Err(not_found()) }
        };
        let owner = match owner {
            Some(o) if o == BUILTIN_OWNER => {
                let b = builtin::by_name(name).ok_or_else(not_found)?;
                return self.get(&builtin_pick(b)?).await;
            }
            Some(o) => o,
            None => {
                let own = self
                    .store
                    .find_templates(&TemplateFilter { owner_id: Some(self.user.clone()), name_key: Some(key.clone()), is_latest: Some(true), ..Default::default() })
                    .await?;
                if !own.is_empty() {
                    self.user.clone()
                } else if let Some(b) = builtin::by_name(name) {
                    return self.get(&builtin_pick(b)?).await;
                } else {
                    let public = self
                        .store
                        .find_templates(&TemplateFilter { name_key: Some(key.clone()), is_public: Some(true), is_latest: Some(true), ..Default::default() })
                        .await?;
                    let public = self.keep_verified(public.into_iter().map(|s| s.record));
                    match public.len() {
                        0 => return Err(not_found()),
                        1 => public[0].owner_id.clone(),
                        _ => return Err(Error::AmbiguousBase { name: name.to_string(), candidates: public.iter().map(|t| t.id.clone()).collect() }),
                    }
                }
            }
        };
        let versions = self.store.find_templates(&TemplateFilter { owner_id: Some(owner.clone()), name_key: Some(key.clone()), ..Default::default() }).await?;
        let pick = match (&o.version, o.label.as_deref()) {
            (Some(v), _) => versions.iter().find(|s| s.record.version == *v),
            (None, Some(l)) if l != LATEST => {
                let Some(latest) = versions.iter().find(|s| s.record.is_latest).or(versions.first()) else { return Err(not_found()) };
                let rows = self.lineage_labels(&latest.record).await?;
                let Some(row) = rows.iter().find(|r| r.record.label == l) else { return Err(not_found()) };
                versions.iter().find(|s| s.record.id == row.record.template_id)
            }
            _ => versions.iter().find(|s| s.record.is_latest),
        };
        match pick {
            Some(s) if Self::visible_to(&s.record, &self.user) => self.get(&s.record.id).await,
            _ => Err(not_found()),
        }
    }

    /// `resolve` of what [`Self::get_by_name`] picks.
    pub async fn resolve_by_name(&self, name: &str, o: &ByName) -> Result<super::Resolved> {
        let t = self.get_by_name(name, o).await?;
        self.resolve(&t.id).await
    }

    /// Rollback (SPEC section 6): a new latest version whose configuration and descriptive
    /// fields (workflow_type, category, description, default_params, tools, retrievers,
    /// base_template_id, tags, extra_metadata) equal version `id`'s. Name and `is_public` stay
    /// the lineage's current ones; history is never rewritten and labels stay where they are.
    /// `if_match` is the `updated_at` of the current latest version (the record the new version
    /// supersedes). The default changelog says which version was restored.
    pub async fn restore_version(&self, id: &str, changelog: Option<String>, opts: WriteOptions) -> Result<WorkflowTemplate> {
        self.restore_version_as(None, id, changelog, opts).await
    }

    /// `restore_version` whose new version gets the chosen id `new_id` (`create_id.rs`); a
    /// replay answers the stored version.
    pub async fn restore_version_as(&self, new_id: Option<&str>, id: &str, changelog: Option<String>, opts: WriteOptions) -> Result<WorkflowTemplate> {
        if new_id.is_some() {
            if let super::create_id::Chosen::Replay(r) = self.template_id_for(new_id, super::create_id::Made::VersionOf(id)).await? {
                return Ok(r);
            }
        }
        let source = self.load_owned(id).await?.record;
        let latest = self
            .lineage(&source)
            .await?
            .into_iter()
            .find(|s| s.record.is_latest)
            .ok_or_else(|| Error::invalid(format!("the lineage of {} has no latest version", source.id)))?;
        let v = source.to_value();
        let mut patch = Map::new();
        for f in ["workflow_type", "category", "description", "default_params", "required_tools", "required_retrievers", "base_template_id", "tags", "extra_metadata"] {
            patch.insert(f.into(), v.get(f).cloned().unwrap_or(Value::Null));
        }
        let changelog = changelog.unwrap_or_else(|| format!("Restored version {} ({})", source.version, source.id));
        self.new_version_as(new_id, &latest.record.id, Value::Object(patch), Some(changelog), opts).await
    }
}

/// Whether `want` (an `ifMatch`) names the instant `have` (a stored `updated_at`, `None` when
/// absent); `want` that is no timestamp is INVALID_ARGUMENT.
fn same_instant(want: &str, have: Option<&str>) -> Result<bool> {
    let w = time::parse_ms(want).ok_or_else(|| Error::invalid(format!("ifMatch {} is not an RFC 3339 timestamp", crate::validate::quoted(want))))?;
    Ok(have.and_then(time::parse_ms) == Some(w))
}
