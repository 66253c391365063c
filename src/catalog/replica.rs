//! `apply_remote` (issue 15, docs/replica.md): an offline replica stores what its server
//! answered, as the server answered it. The server already applied the acting-user rules, so
//! none are applied here (a template may belong to anyone: other users' public templates are
//! kept with their owner); what is checked is that every record is one this catalog could have
//! written: the schema, canonical ids, and `config_hash` recomputed. One bad record refuses the
//! whole batch (VALIDATION_FAILED, paths like `templates[2].config_hash`) and nothing is
//! written; otherwise everything is one commit that replaces what is stored under those keys.
//! What changed is told to subscribers (and to other tabs, through the outbox) as external
//! events; what is already stored exactly so is neither written nor told, so applying the same
//! batch twice changes nothing.

use crate::keyed::{StrMap, StrSet};

use serde_json::Value;

mod batch;

pub use batch::{LabelRef, RemoteBatch, RemoteDeleted};
use batch::RemoteLabel;
use super::bundle::{prefixed, row, MAX_IMPORT_RECORDS};
use super::labels::{verify_label, LATEST};
use super::{integrity, violations, Catalog, ChangeEvent, Env};
use crate::builtin;
use crate::error::{Error, Result, Violation};
use crate::model::id::normalize_id;
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::{name_key, BuiltinStats, Expect, Rating, Store, TemplateFilter, TemplateLabel, Write};
use crate::validate::{self, Options};

impl RemoteBatch {
    fn len(&self) -> usize {
        let n = |l: &Option<Vec<Value>>| l.as_ref().map_or(0, Vec::len);
        let d = self.deleted.as_ref().map_or(0, |d| {
            d.templates.as_ref().map_or(0, Vec::len) + d.specs.as_ref().map_or(0, Vec::len) + d.ratings.as_ref().map_or(0, Vec::len) + d.labels.as_ref().map_or(0, Vec::len)
        });
        n(&self.templates) + n(&self.specs) + n(&self.ratings) + n(&self.labels) + n(&self.builtin_stats) + d
    }
}

fn items(l: &Option<Vec<Value>>) -> &[Value] {
    l.as_deref().unwrap_or(&[])
}

/// What a checked batch holds.
#[derive(Default)]
struct Checked {
    templates: Vec<WorkflowTemplate>,
    specs: Vec<TemplateSpec>,
    ratings: Vec<Rating>,
    labels: Vec<RemoteLabel>,
    stats: Vec<BuiltinStats>,
    del_templates: Vec<String>,
    del_specs: Vec<String>,
    del_ratings: Vec<String>,
    del_labels: Vec<LabelRef>,
}

/// What `displace` asks of the whole batch for each of its templates, built once (a scan of
/// the batch per template made a page of n templates cost n^2).
struct BatchIndex {
    /// The batch's template ids.
    ids: StrSet,
    /// The ids the batch's templates derive from.
    bases: StrSet,
    /// The highest version in the batch per owner and name key.
    newest: StrMap<StrMap<u64>>,
}

impl BatchIndex {
    fn of(templates: &[WorkflowTemplate]) -> BatchIndex {
        let mut idx = BatchIndex { ids: StrSet::new(), bases: StrSet::new(), newest: StrMap::new() };
        for t in templates {
            idx.ids.insert(t.id.as_str());
            if let Some(b) = &t.base_template_id {
                idx.bases.insert(b.as_str());
            }
            let v = idx.newest.entry_or_default(&t.owner_id).get_or_insert_with(&name_key(&t.name), || t.version);
            *v = (*v).max(t.version);
        }
        idx
    }
}

fn template_of(raw: &Value, at: &str, v: &mut Vec<Violation>) -> Option<WorkflowTemplate> {
    let errs = validate::validate_template(raw, Options { complete: true, allow_builtin: false });
    if !errs.is_empty() {
        v.extend(prefixed(at, errs));
        return None;
    }
    let mut t: WorkflowTemplate = row(raw, at, v)?;
    // Canonical ids (they are storage keys); timestamps respelled to the canonical form.
    if let Err(e) = integrity::verify_template(&mut t) {
        v.push(Violation::new(at, validate::INVALID_ID, e.to_string()));
        return None;
    }
    Some(t)
}

fn spec_of(raw: &Value, at: &str, v: &mut Vec<Violation>) -> Option<TemplateSpec> {
    let errs = validate::validate_spec(raw, Options { complete: true, allow_builtin: false });
    if !errs.is_empty() {
        v.extend(prefixed(at, errs));
        return None;
    }
    let mut s: TemplateSpec = row(raw, at, v)?;
    if let Err(e) = integrity::verify_spec(&mut s) {
        v.push(Violation::new(at, validate::INVALID_ID, e.to_string()));
        return None;
    }
    Some(s)
}

/// A built-in's statistics: `{ id, ...statistics }`, or the whole built-in record as the server
/// answers it (its configuration must be the built-in's).
fn stats_of(raw: &Value, at: &str, v: &mut Vec<Violation>) -> Option<BuiltinStats> {
    let mut s = if raw.get("config_hash").is_some() {
        let errs = validate::validate_template(raw, Options { complete: true, allow_builtin: true });
        if !errs.is_empty() {
            v.extend(prefixed(at, errs));
            return None;
        }
        let t: WorkflowTemplate = row(raw, at, v)?;
        match builtin::get(&t.id) {
            Some(b) if b.config_hash == t.config_hash && t.is_builtin => BuiltinStats { id: t.id.clone(), stats: t.stats() },
            _ => {
                v.push(Violation::new(format!("{at}.id"), validate::INCONSISTENT, format!("{} is not a built-in with this configuration", t.id)));
                return None;
            }
        }
    } else {
        row::<BuiltinStats>(raw, at, v)?
    };
    if let Err(e) = integrity::Verifiable::check(&mut s) {
        v.push(Violation::new(at, validate::INCONSISTENT, e.to_string()));
        return None;
    }
    Some(s)
}

fn rating_of(raw: &Value, at: &str, v: &mut Vec<Violation>) -> Option<Rating> {
    let mut r: Rating = row(raw, at, v)?;
    if let Err(e) = integrity::Verifiable::check(&mut r) {
        v.push(Violation::new(at, validate::OUT_OF_RANGE, e.to_string()));
        return None;
    }
    Some(r)
}

fn label_of(raw: &Value, at: &str, v: &mut Vec<Violation>) -> Option<RemoteLabel> {
    let mut l: RemoteLabel = row(raw, at, v)?;
    if let Some(k) = &l.name_key {
        if k.is_empty() || *k != name_key(k) {
            v.push(Violation::new(format!("{at}.name_key"), validate::PATTERN, "a name key is a trimmed, lowercased name"));
            return None;
        }
    }
    // The row's own fields checked as a stored row's are (the owner, when absent, is taken
    // from the template later: its id stands in for the check).
    let mut probe = TemplateLabel {
        owner_id: l.owner_id.clone().unwrap_or_else(|| l.template_id.clone()),
        name_key: String::new(),
        label: l.label.clone(),
        template_id: l.template_id.clone(),
        version: l.version.unwrap_or(1),
        updated_at: l.updated_at.clone(),
    };
    if let Err(e) = verify_label(&mut probe) {
        v.push(Violation::new(at, validate::PATTERN, e.to_string()));
        return None;
    }
    l.updated_at = probe.updated_at;
    Some(l)
}

/// A deleted key: a ULID (lowercase accepted), normalised.
fn key_of(raw: &str, at: String, v: &mut Vec<Violation>) -> Option<String> {
    let id = normalize_id(raw);
    if id.is_none() {
        v.push(Violation::new(at, validate::INVALID_ID, format!("{} is not a ULID", crate::validate::quoted(raw))));
    }
    id
}

fn check(batch: &RemoteBatch) -> Result<Checked> {
    let mut v = Vec::new();
    let mut c = Checked::default();
    for (i, raw) in items(&batch.templates).iter().enumerate() {
        let at = format!("templates[{i}]");
        // A built-in's record (what GET answers for one): only its statistics are stored.
        if raw.get("id").and_then(Value::as_str).and_then(normalize_id).is_some_and(|id| builtin::is_builtin_id(&id)) {
            c.stats.extend(stats_of(raw, &at, &mut v));
        } else {
            c.templates.extend(template_of(raw, &at, &mut v));
        }
    }
    for (i, raw) in items(&batch.builtin_stats).iter().enumerate() {
        c.stats.extend(stats_of(raw, &format!("builtin_stats[{i}]"), &mut v));
    }
    for (i, raw) in items(&batch.specs).iter().enumerate() {
        c.specs.extend(spec_of(raw, &format!("specs[{i}]"), &mut v));
    }
    for (i, raw) in items(&batch.ratings).iter().enumerate() {
        c.ratings.extend(rating_of(raw, &format!("ratings[{i}]"), &mut v));
    }
    for (i, raw) in items(&batch.labels).iter().enumerate() {
        c.labels.extend(label_of(raw, &format!("labels[{i}]"), &mut v));
    }
    if let Some(d) = &batch.deleted {
        for (i, id) in d.templates.iter().flatten().enumerate() {
            let at = format!("deleted.templates[{i}]");
            if let Some(id) = key_of(id, at.clone(), &mut v) {
                match builtin::is_builtin_id(&id) {
                    true => v.push(Violation::new(at, validate::BUILTIN_CLAIM, "a built-in is never deleted")),
                    false => c.del_templates.push(id),
                }
            }
        }
        for (i, id) in d.specs.iter().flatten().enumerate() {
            c.del_specs.extend(key_of(id, format!("deleted.specs[{i}]"), &mut v));
        }
        for (i, id) in d.ratings.iter().flatten().enumerate() {
            c.del_ratings.extend(key_of(id, format!("deleted.ratings[{i}]"), &mut v));
        }
        for (i, l) in d.labels.iter().flatten().enumerate() {
            if let Some(id) = key_of(&l.template_id, format!("deleted.labels[{i}].template_id"), &mut v) {
                c.del_labels.push(LabelRef { template_id: id, label: l.label.clone() });
            }
        }
    }
    // One record per key, and never both written and deleted.
    let mut seen = StrSet::new();
    for (kind, id) in c.templates.iter().map(|t| ("templates", &t.id)).chain(c.specs.iter().map(|s| ("specs", &s.id))).chain(c.stats.iter().map(|s| ("builtin_stats", &s.id))) {
        if !seen.insert(id.clone()) {
            v.push(Violation::new(kind, validate::DUPLICATE, format!("{id} appears twice in the batch")));
        }
    }
    for id in c.del_templates.iter().chain(&c.del_specs) {
        if seen.contains(id) {
            v.push(Violation::new("deleted", validate::INCONSISTENT, format!("{id} is both written and deleted")));
        }
    }
    let mut rated: StrMap<StrSet> = StrMap::new();
    for r in &c.ratings {
        if !rated.entry_or_default(&r.template_id).insert(r.user_id.as_str()) {
            v.push(Violation::new("ratings", validate::DUPLICATE, format!("the rating of {} by {} appears twice", r.template_id, r.user_id)));
        }
    }
    if !v.is_empty() {
        return Err(violations(v));
    }
    Ok(c)
}

type Events = Vec<(&'static str, &'static str, String)>;

impl<S: Store, E: Env> Catalog<S, E> {
    /// Stores a batch of what the server answered (module docs), in one commit; nothing on any
    /// error. VALIDATION_FAILED for a bad record (a label row whose owner, name key or version
    /// contradicts its template's included); CONFLICT (`id_in_use`) for a template under the id
    /// of a spec held here or the reverse; NAME_TAKEN when a latest template of this batch has
    /// the version number of the acting user's own latest version of that lineage under
    /// another id that the batch does not replace (a version made here that the server has not
    /// accepted: its push is refused, after which the pull goes through). A lower latest
    /// version held here is displaced (`displace`): kept as not latest when it is the acting
    /// user's or something held here derives from it, else dropped; a higher one held here
    /// makes the batch's copy a stale one, stored as not latest. Ratings and label rows of a
    /// template the batch removes are not stored.
    pub async fn apply_remote(&self, batch: RemoteBatch) -> Result<()> {
        if batch.len() > MAX_IMPORT_RECORDS {
            return Err(Error::invalid(format!("a remote batch holds at most {MAX_IMPORT_RECORDS} records")));
        }
        let c = check(&batch)?;
        let mut writes = Vec::new();
        let mut events: Events = Vec::new();
        let idx = BatchIndex::of(&c.templates);
        let by_id: StrMap<&WorkflowTemplate> = c.templates.iter().map(|t| (t.id.clone(), t)).collect();

        // Deleted templates, with what hangs on them here (ratings, sums, labels).
        let evicted = batch.deleted.as_ref().and_then(|d| d.evicted) == Some(true);
        for id in &c.del_templates {
            let Some(old) = self.store.get_template(id).await? else { continue };
            self.drop_template(&old.record, &mut writes).await?;
            if !evicted {
                events.push(("template", "delete", id.clone()));
            }
        }
        // Written templates, and the latest versions they displace (module docs).
        let mut gone: StrSet = c.del_templates.iter().cloned().collect();
        let mut displaced = StrSet::new();
        let existing = self.store.get_templates(&c.templates.iter().map(|t| t.id.clone()).collect::<Vec<_>>()).await?;
        for (t, old) in c.templates.iter().zip(existing) {
            let mut t = t.clone();
            // Never both kinds under one id (`create_id.rs`): a spec held here keeps its id.
            if old.is_none() && self.store.get_spec(&t.id).await?.is_some() {
                return Err(super::id_in_use(&t.id));
            }
            if t.is_latest {
                self.displace(&mut t, &idx, &mut gone, &mut displaced, &mut writes, &mut events).await?;
            }
            if old.as_ref().is_some_and(|o| o.record == t) {
                continue;
            }
            if old.is_none() {
                writes.push(super::create_id::absent_spec(&t.id));
            }
            writes.push(Write::PutTemplate { record: t.clone(), expect: Expect::Any });
            // The server's statistics replace ours: sums kept for the old ones go.
            writes.push(Write::DeleteUsageTotals { id: t.id.clone() });
            events.push(("template", if old.is_some() { "update" } else { "create" }, t.id.clone()));
        }
        for id in &c.del_specs {
            if self.store.get_spec(id).await?.is_some() {
                writes.push(Write::DeleteSpec { id: id.clone(), expect: Expect::Any });
                if !evicted {
                    events.push(("spec", "delete", id.clone()));
                }
            }
        }
        for s in &c.specs {
            let old = self.store.get_spec(&s.id).await?;
            if old.as_ref().is_some_and(|o| o.record == *s) {
                continue;
            }
            if old.is_none() {
                if self.store.get_template(&s.id).await?.is_some() {
                    return Err(super::id_in_use(&s.id));
                }
                writes.push(super::create_id::absent_template(&s.id));
            }
            writes.push(Write::PutSpec { record: s.clone(), expect: Expect::Any });
            events.push(("spec", if old.is_some() { "update" } else { "create" }, s.id.clone()));
        }
        for id in &c.del_ratings {
            if self.store.get_rating(id, &self.user).await?.is_some() && !gone.contains(id) {
                writes.push(Write::DeleteRating { template_id: id.clone(), user_id: self.user.clone() });
                events.push(("rating", "delete", id.clone()));
            }
        }
        for r in &c.ratings {
            // A rating of a template gone from here hangs on nothing (delete takes them along).
            if gone.contains(&r.template_id) {
                continue;
            }
            let old = self.store.get_rating(&r.template_id, &r.user_id).await?;
            if old.as_ref().is_some_and(|o| o.record == *r) {
                continue;
            }
            writes.push(Write::PutRating { record: r.clone(), expect: Expect::Any });
            events.push(("rating", if old.is_some() { "update" } else { "create" }, r.template_id.clone()));
        }
        self.labels_from_remote(&c, &by_id, &gone, &mut writes, &mut events).await?;
        for s in &c.stats {
            let old = self.store.get_builtin_stats(&s.id).await?;
            if old.as_ref().is_some_and(|o| o.record == *s) {
                continue;
            }
            writes.push(Write::PutBuiltinStats { record: s.clone(), expect: Expect::Any });
            writes.push(Write::DeleteUsageTotals { id: s.id.clone() });
            events.push(("usage", "update", s.id.clone()));
        }
        if writes.is_empty() {
            return Ok(());
        }
        self.store.commit(writes).await?;
        for (kind, op, id) in events {
            self.emit_external(ChangeEvent { kind, op, id: Some(id), external: true });
        }
        Ok(())
    }

    /// `t` (written as the latest of its lineage) against the latest versions of its lineage
    /// held here that the batch neither writes nor deletes: a higher version held here means
    /// `t` is a stale copy (written as not latest); the acting user's own version with the same
    /// number is a create made here that the server has not accepted (NAME_TAKEN); a lower
    /// version (or another user's with the same number) is displaced: kept as not latest when
    /// it is the acting user's or a template held here derives from it, else dropped with what
    /// hangs on it (another user's old version is no longer this replica's business).
    #[allow(clippy::too_many_arguments)]
    async fn displace(&self, t: &mut WorkflowTemplate, idx: &BatchIndex, gone: &mut StrSet, displaced: &mut StrSet, writes: &mut Vec<Write>, events: &mut Events) -> Result<()> {
        let key = name_key(&t.name);
        // A newer version of the lineage in this batch: `t` is not the latest.
        if idx.newest.get(&t.owner_id).and_then(|m| m.get(&key)).is_some_and(|&v| v > t.version) {
            t.is_latest = false;
            return Ok(());
        }
        let same_name = TemplateFilter { owner_id: Some(t.owner_id.clone()), name_key: Some(key), is_latest: Some(true), ..Default::default() };
        let others: Vec<_> = self.store.find_templates(&same_name).await?.into_iter().filter(|o| o.record.id != t.id && !idx.ids.contains(o.record.id.as_str()) && !gone.contains(&o.record.id)).collect();
        if others.iter().any(|o| o.record.version > t.version) {
            t.is_latest = false;
            return Ok(());
        }
        for other in others {
            let o = other.record;
            if !displaced.insert(o.id.clone()) {
                continue;
            }
            if o.owner_id == self.user && o.version == t.version {
                return Err(Error::NameTaken { name: t.name.clone() });
            }
            if o.owner_id == self.user || self.derived_here(&o.id, idx, gone).await? {
                let mut kept = o;
                kept.is_latest = false;
                events.push(("template", "update", kept.id.clone()));
                writes.push(Write::PutTemplate { record: kept, expect: Expect::Rev(other.rev) });
            } else {
                self.drop_template(&o, writes).await?;
                events.push(("template", "delete", o.id.clone()));
                gone.insert(o.id);
            }
        }
        Ok(())
    }

    /// Whether a template held here after this batch derives from `id`.
    async fn derived_here(&self, id: &str, idx: &BatchIndex, gone: &StrSet) -> Result<bool> {
        if idx.bases.contains(id) {
            return Ok(true);
        }
        let children = TemplateFilter { base_template_id: Some(id.to_string()), ..Default::default() };
        Ok(self.store.find_templates(&children).await?.iter().any(|s| !idx.ids.contains(s.record.id.as_str()) && !gone.contains(&s.record.id)))
    }

    /// The writes that remove a stored template and what hangs on it here.
    async fn drop_template(&self, t: &WorkflowTemplate, writes: &mut Vec<Write>) -> Result<()> {
        writes.push(Write::DeleteTemplate { id: t.id.clone(), expect: Expect::Any });
        for r in self.store.find_ratings(None, Some(&t.id)).await? {
            writes.push(Write::DeleteRating { template_id: r.record.template_id, user_id: r.record.user_id });
        }
        writes.push(Write::DeleteUsageTotals { id: t.id.clone() });
        for l in self.store.find_labels(&t.owner_id, Some(&name_key(&t.name))).await? {
            if l.record.template_id == t.id {
                writes.push(Write::DeleteLabel { key: l.record.key(), expect: Expect::Any });
            }
        }
        Ok(())
    }

    /// The owner and lineage of `template_id`: from this batch, else as stored.
    async fn lineage_of(&self, template_id: &str, by_id: &StrMap<&WorkflowTemplate>) -> Result<Option<(String, String, u64)>> {
        if let Some(t) = by_id.get(template_id) {
            return Ok(Some((t.owner_id.clone(), name_key(&t.name), t.version)));
        }
        Ok(self.store.get_template(template_id).await?.map(|s| (s.record.owner_id.clone(), name_key(&s.record.name), s.record.version)))
    }

    /// Label rows: placed in the lineage of the template they point at (from this batch, else
    /// as stored), whose owner, name key and version a row that says them must repeat
    /// (VALIDATION_FAILED otherwise); a row of a template this batch removes is not stored.
    async fn labels_from_remote(&self, c: &Checked, by_id: &StrMap<&WorkflowTemplate>, gone: &StrSet, writes: &mut Vec<Write>, events: &mut Events) -> Result<()> {
        let mut put_keys = StrSet::new();
        let mut rows = Vec::new();
        let mut v = Vec::new();
        for (i, l) in c.labels.iter().enumerate() {
            if gone.contains(&l.template_id) {
                continue;
            }
            let place = match self.lineage_of(&l.template_id, by_id).await? {
                Some((o, k, n)) => {
                    let at = format!("labels[{i}]");
                    for (field, differs) in [("owner_id", l.owner_id.as_ref().is_some_and(|x| *x != o)), ("name_key", l.name_key.as_ref().is_some_and(|x| *x != k)), ("version", l.version.is_some_and(|x| x != n))] {
                        if differs {
                            v.push(Violation::new(format!("{at}.{field}"), validate::INCONSISTENT, format!("{} of {} says otherwise", field, l.template_id)));
                        }
                    }
                    Some((o, k, n))
                }
                None => match (&l.owner_id, &l.name_key, l.version) {
                    (Some(o), Some(k), Some(n)) => Some((o.clone(), k.clone(), n)),
                    _ => None,
                },
            };
            let Some((owner_id, key, version)) = place else { continue };
            let row = TemplateLabel { owner_id, name_key: key, label: l.label.clone(), template_id: l.template_id.clone(), version, updated_at: l.updated_at.clone() };
            if !put_keys.insert(row.key()) {
                v.push(Violation::new("labels", validate::DUPLICATE, format!("label {} of {} appears twice", l.label, l.template_id)));
            }
            rows.push(row);
        }
        if !v.is_empty() {
            return Err(violations(v));
        }
        // Rows a deleted template already takes with it are not deleted twice.
        let mut dropped: StrSet = writes.iter().filter_map(|w| if let Write::DeleteLabel { key, .. } = w { Some(key.clone()) } else { None }).collect();
        for d in &c.del_labels {
            if d.label == LATEST {
                continue;
            }
            let Some((owner, key, _)) = self.lineage_of(&d.template_id, by_id).await? else { continue };
            for row in self.store.find_labels(&owner, None).await? {
                let r = &row.record;
                let hit = r.label == d.label && (r.template_id == d.template_id || r.name_key == key);
                if hit && !put_keys.contains(&r.key()) && dropped.insert(r.key()) {
                    writes.push(Write::DeleteLabel { key: r.key(), expect: Expect::Any });
                    events.push(("label", "delete", r.template_id.clone()));
                }
            }
        }
        for row in rows {
            let old = self.store.find_labels(&row.owner_id, Some(&row.name_key)).await?.into_iter().find(|s| s.record.label == row.label);
            if old.as_ref().is_some_and(|o| o.record == row) {
                continue;
            }
            events.push(("label", if old.is_some() { "update" } else { "create" }, row.template_id.clone()));
            writes.push(Write::PutLabel { record: row, expect: Expect::Any });
        }
        Ok(())
    }
}
