//! Export and import (SPEC section 11): a portable bundle of what the acting user owns, and an
//! import that checks every record (hash, references, cycles, names) before writing any, then
//! writes them all in one commit.

use crate::keyed::{StrMap, StrSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::{violations, Catalog, Env, LabelInfo, Loaded};
use crate::builtin;
use crate::error::{Error, Result, Violation};
use crate::model::id::normalize_id;
use crate::model::read::{Fields, FromJson, ReadError};
use crate::model::{time, TemplateSpec, UsageStats, WorkflowTemplate};
use crate::store::{name_key, BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, TemplateLabel, Write};
use crate::validate::{self, Options};

pub const FORMAT_VERSION: u64 = 1;
/// Most records one import takes (a bundle is checked whole, in memory, before writing).
pub const MAX_IMPORT_RECORDS: usize = 100_000;

/// Why an import may not restore a record under an id whose record was deleted.
const RETIRED: &str = "id is taken; an import may only replace or restore your own records";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub templates: usize,
    pub specs: usize,
    pub ratings: usize,
    pub builtin_stats: usize,
    /// Built-in statistics rows not applied: a shared catalog never takes them, a private one
    /// only seeds built-ins that have none.
    pub builtin_stats_ignored: usize,
    /// Label rows written (`template_labels`).
    pub labels: usize,
}

fn list<'a>(m: &'a serde_json::Map<String, Value>, key: &str, out: &mut Vec<Violation>) -> &'a [Value] {
    match m.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            out.push(Violation::new(key, validate::TYPE, format!("{key} must be an array")));
            &[]
        }
    }
}

/// The entry bound on timestamps (`model::time`): a valid timestamp after `limit` is
/// OUT_OF_RANGE at `{at}.{field}` (one the next edit could not move forward must not enter).
/// Invalid ones are left to validation.
fn late_timestamps_at(at: &str, raw: &Value, fields: &[&str], limit: i64, out: &mut Vec<Violation>) {
    for f in fields {
        if let Some(ms) = raw.get(*f).and_then(Value::as_str).and_then(time::parse_ms) {
            if ms > limit {
                let field = if at.is_empty() { f.to_string() } else { format!("{at}.{f}") };
                out.push(Violation::new(field, validate::OUT_OF_RANGE, format!("{f} must not be after {}", time::format_ms(limit))));
            }
        }
    }
}

fn late_timestamps(at: &str, raw: &Value, fields: &[&str], out: &mut Vec<Violation>) {
    late_timestamps_at(at, raw, fields, time::LATEST_ACCEPTED_MS, out)
}

/// How far ahead of the clock an imported timestamp may be on a shared catalog (clock skew
/// between the machine that exported and this one).
const SHARED_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

const RECORD_TIMES: &[&str] = &["created_at", "updated_at", "last_used_at"];

pub(super) fn prefixed(prefix: &str, v: Vec<Violation>) -> impl Iterator<Item = Violation> + '_ {
    // Paths as src/validate/mod.rs writes them: `p.key`, but `p["odd key"]` and `p[0]`.
    v.into_iter().map(move |x| Violation { field: if x.field.is_empty() || x.field.starts_with('[') { format!("{prefix}{}", x.field) } else { format!("{prefix}.{}", x.field) }, ..x })
}

/// A bundle row read as `T`; when it is not one, a TYPE violation at `at` and `None`.
pub(super) fn row<T: FromJson>(raw: &Value, at: &str, v: &mut Vec<Violation>) -> Option<T> {
    match crate::model::read::read(raw.clone()) {
        Ok(r) => Some(r),
        Err(e) => {
            v.push(Violation::new(at, validate::TYPE, e));
            None
        }
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    pub async fn export_all(&self) -> Result<Value> {
        // What fails verification is left out and listed under `skipped` with what storage
        // holds (the acting user's own rows: the owner can repair and re-import them).
        let mut skipped = Vec::new();
        let rows = self.store.find_templates(&TemplateFilter { owner_id: Some(self.user.clone()), ..Default::default() }).await?;
        let mut templates = self.export_verified(rows.into_iter().map(|s| s.record), "workflow_templates", &mut skipped);
        crate::sort::sort_by(&mut templates, |a, b| a.id.cmp(&b.id));
        let rows = self.store.find_specs(&SpecFilter { owner_id: Some(self.user.clone()), ..Default::default() }).await?;
        let mut specs: Vec<TemplateSpec> = self.export_verified(rows.into_iter().map(|s| s.record), "template_specs", &mut skipped);
        crate::sort::sort_by(&mut specs, |a, b| a.id.cmp(&b.id));
        let rows = self.store.find_ratings(Some(&self.user), None).await?;
        let ratings: Vec<Rating> = self.export_verified(rows.into_iter().map(|s| s.record), "template_ratings", &mut skipped);
        let rows = self.store.all_builtin_stats().await?;
        let stats: Vec<BuiltinStats> = self.export_verified(rows.into_iter().map(|s| s.record), "builtin_stats", &mut skipped);
        let labels = self.export_labels(&templates, &mut skipped).await?;
        let mut bundle = json!({
            "format_version": FORMAT_VERSION,
            "exported_at": self.now(),
            "owner_id": self.user,
            "workflow_templates": templates,
            "template_specs": specs,
            "ratings": ratings,
            "builtin_stats": stats,
            "template_labels": labels,
        });
        if !skipped.is_empty() {
            bundle["skipped"] = Value::Array(skipped);
        }
        Ok(bundle)
    }

    pub async fn import_all(&self, bundle: Value) -> Result<ImportReport> {
        let Value::Object(mut m) = bundle else {
            return Err(violations(vec![Violation::new("", validate::TYPE, "a bundle must be an object")]));
        };
        // SPEC section 2: what is stored is canonical, whatever spelling the bundle uses.
        let respelled_base = crate::model::canonical::respell_bundle(&mut m);
        let mut v = Vec::new();
        match m.get("format_version").and_then(Value::as_u64) {
            Some(FORMAT_VERSION) => {}
            _ => v.push(Violation::new("format_version", validate::OUT_OF_RANGE, format!("format_version must be {FORMAT_VERSION}"))),
        }
        for k in m.keys() {
            // `skipped` is export's report of rows left out; an import ignores it.
            if !["format_version", "exported_at", "owner_id", "workflow_templates", "template_specs", "ratings", "builtin_stats", "template_labels", "skipped"].contains(&k.as_str()) {
                v.push(Violation::new(validate::key_path("", k), validate::UNKNOWN_FIELD, format!("unknown bundle field {}", crate::validate::quoted(k))));
            }
        }
        match m.get("exported_at") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if time::parse_ms(s).is_some() => late_timestamps("", &Value::Object(m.clone()), &["exported_at"], &mut v),
            Some(_) => v.push(Violation::new("exported_at", validate::INVALID_TIMESTAMP, "exported_at must be an RFC 3339 timestamp")),
        }
        let t_in = list(&m, "workflow_templates", &mut v);
        let s_in = list(&m, "template_specs", &mut v);
        let r_in = list(&m, "ratings", &mut v);
        let b_in = list(&m, "builtin_stats", &mut v);
        let l_in = list(&m, "template_labels", &mut v);
        if t_in.len() + s_in.len() + r_in.len() + b_in.len() + l_in.len() > MAX_IMPORT_RECORDS {
            return Err(Error::invalid(format!("a bundle holds at most {MAX_IMPORT_RECORDS} records")));
        }
        let opts = Options { complete: true, allow_builtin: false };
        let mut writes = Vec::new();

        // Templates: each whole and hash-true, owned by the acting user, ids unique; then what
        // storage already holds under those ids, read in one go.
        let mut templates: StrMap<WorkflowTemplate> = StrMap::new();
        let mut accepted: Vec<(String, WorkflowTemplate)> = Vec::new();
        for (i, raw) in t_in.iter().enumerate() {
            let at = format!("workflow_templates[{i}]");
            let mut errs = validate::validate_template(raw, opts);
            late_timestamps("", raw, RECORD_TIMES, &mut errs);
            if self.shared && errs.is_empty() {
                // A public record dated in the future would head "recent" for everyone.
                late_timestamps_at("", raw, &["created_at", "updated_at"], self.now_ms().saturating_add(SHARED_CLOCK_SKEW_MS), &mut errs);
            }
            if respelled_base.contains(&i) {
                crate::model::canonical::explain_base_hash(&mut errs);
            }
            if !errs.is_empty() {
                v.extend(prefixed(&at, errs));
                continue;
            }
            let Some(t) = row::<WorkflowTemplate>(raw, &at, &mut v) else { continue };
            if t.owner_id != self.user {
                v.push(Violation::new(format!("{at}.owner_id"), "FORBIDDEN", "records are imported by their owner only"));
                continue;
            }
            if builtin::is_builtin_id(&t.id) || templates.contains_key(&t.id) {
                v.push(Violation::new(format!("{at}.id"), validate::DUPLICATE, format!("id {} appears twice or is a built-in's", t.id)));
                continue;
            }
            templates.insert(t.id.clone(), t.clone());
            accepted.push((at, t));
        }
        let ids: Vec<String> = accepted.iter().map(|(_, t)| t.id.clone()).collect();
        let existing = self.store.get_templates(&ids).await?;
        let mut template_writes: Vec<(WorkflowTemplate, Expect)> = Vec::new();
        for ((at, t), existing) in accepted.into_iter().zip(existing) {
            match existing {
                Some(existing) if existing.record.owner_id != self.user => {
                    // Whose it is is not the caller's to know (issue 10, item 5).
                    v.push(Violation::new(format!("{at}.id"), validate::DUPLICATE, format!("id {} is taken; an import may only replace your own records", t.id)));
                    templates.remove(&t.id);
                }
                // Import restores: a record already here is replaced, guarded by its revision.
                // On a shared catalog its statistics stay what this catalog counted (zero for
                // a new id): an import never sets what other users see, now or after a
                // later publish.
                Some(existing) => {
                    let mut t = t;
                    if self.shared {
                        t.set_stats(existing.record.stats());
                    }
                    // A label belongs to its lineage: a replacement that moves a labelled
                    // version to another name would leave the label pointing nowhere.
                    let old_key = name_key(&existing.record.name);
                    if old_key != name_key(&t.name) {
                        let held: Vec<String> = self.store.find_labels(&self.user, Some(&old_key)).await?.into_iter().filter(|l| l.record.template_id == t.id).map(|l| l.record.label).collect();
                        if !held.is_empty() {
                            v.push(Violation::new(format!("{at}.name"), "HAS_LABELS", format!("the stored version is labelled {} under its stored name; remove or move those labels before renaming it", held.join(", "))));
                            templates.remove(&t.id);
                            continue;
                        }
                    }
                    template_writes.push((t, Expect::Rev(existing.rev)));
                }
                // An id whose record was deleted is never used by anyone else (`create_id.rs`;
                // only a store that keeps tombstones knows it: the server's). Its owner may
                // restore it from a backup: references to it then find its owner's record again.
                None if self.store.retired_id(&t.id).await?.is_some_and(|o| o != self.user) => {
                    v.push(Violation::new(format!("{at}.id"), validate::DUPLICATE, RETIRED));
                    templates.remove(&t.id);
                }
                None => {
                    let mut t = t;
                    if self.shared {
                        t.set_stats(UsageStats::default());
                    }
                    template_writes.push((t, Expect::Absent));
                }
            }
        }
        // Versions: within the bundle, one latest per name and distinct version numbers.
        let mut lineages: StrMap<Vec<&WorkflowTemplate>> = StrMap::new();
        for t in templates.values() {
            lineages.entry_or_default(&name_key(&t.name)).push(t);
        }
        for (name, ts) in lineages.iter() {
            let latest = ts.iter().filter(|t| t.is_latest).count();
            let mut versions: Vec<u64> = ts.iter().map(|t| t.version).collect();
            crate::sort::sort_by(&mut versions, |a, b| a.cmp(b));
            versions.dedup();
            if latest != 1 || versions.len() != ts.len() {
                v.push(Violation::new("workflow_templates", "INCONSISTENT", format!("versions of {} must have distinct numbers and one latest", crate::validate::quoted(name))));
            }
        }
        // References: every base resolves (bundle, storage or built-in), no cycle, not too deep,
        // and the effective configuration is type-consistent.
        {
            let mut ids: Vec<&String> = templates.keys().collect();
            crate::sort::sort_by(&mut ids, |a, b| a.cmp(b));
            // A record that replaces a stored one is an edit of it: what derives from it in
            // storage (other users' templates too) is checked as for an update.
            let replaced: StrSet = template_writes.iter().filter(|(_, e)| matches!(e, Expect::Rev(_))).map(|(t, _)| t.id.as_str()).collect();
            for id in ids {
                let Some(t) = templates.get(id) else { continue };
                if let Err(e) = self.check_inheritance_import(t, &templates, replaced.contains(id)).await {
                    match e {
                        Error::ValidationFailed(list) => v.extend(prefixed(&format!("workflow_templates[{id}]"), list)),
                        Error::BaseNotFound { .. } | Error::InheritanceCycle { .. } | Error::InheritanceTooDeep { .. } | Error::HasDerived { .. } => {
                            v.push(Violation::new(format!("workflow_templates[{id}].base_template_id"), e.code(), e.to_string()))
                        }
                        other => return Err(other),
                    }
                }
            }
        }

        let mut specs = 0;
        for (i, raw) in s_in.iter().enumerate() {
            let at = format!("template_specs[{i}]");
            let mut errs = validate::validate_spec(raw, opts);
            late_timestamps("", raw, RECORD_TIMES, &mut errs);
            if !errs.is_empty() {
                v.extend(prefixed(&at, errs));
                continue;
            }
            let Some(s) = row::<TemplateSpec>(raw, &at, &mut v) else { continue };
            if s.owner_id != self.user {
                v.push(Violation::new(format!("{at}.owner_id"), "FORBIDDEN", "records are imported by their owner only"));
                continue;
            }
            let expect = match self.store.get_spec(&s.id).await? {
                Some(e) if e.record.owner_id != self.user => {
                    v.push(Violation::new(format!("{at}.id"), validate::DUPLICATE, "id is taken; an import may only replace your own records"));
                    continue;
                }
                Some(e) => Expect::Rev(e.rev),
                None if self.store.retired_id(&s.id).await?.is_some_and(|o| o != self.user) => {
                    v.push(Violation::new(format!("{at}.id"), validate::DUPLICATE, RETIRED));
                    continue;
                }
                None => Expect::Absent,
            };
            specs += 1;
            writes.push(Write::PutSpec { record: s, expect });
        }

        // Ratings: the importer's own, of templates it can see (or that the bundle brings);
        // each bundle row is validated, then every aggregate it touches is recomputed below.
        let mut rating_rows: Vec<Rating> = Vec::new();
        // Each row's place in `rating_rows` by template id: one lookup per row, not a scan.
        let mut rated: StrMap<usize> = StrMap::new();
        let mut unchanged_ratings = 0;
        for (i, raw) in r_in.iter().enumerate() {
            let at = format!("ratings[{i}]");
            let Some(mut r) = row::<Rating>(raw, &at, &mut v) else { continue };
            let mut bad = Vec::new();
            match normalize_id(&r.template_id) {
                Some(id) => r.template_id = id,
                None => bad.push(Violation::new(format!("{at}.template_id"), validate::INVALID_ID, "template_id must be a ULID")),
            }
            if normalize_id(&r.user_id).as_deref() != Some(self.user.as_str()) {
                v.push(Violation::new(format!("{at}.user_id"), "FORBIDDEN", "ratings are imported by the user who gave them"));
                continue;
            }
            r.user_id = self.user.clone();
            if !super::usage::counts(r.stars) {
                bad.push(Violation::new(format!("{at}.stars"), validate::OUT_OF_RANGE, "stars must be a number in 0..=5"));
            }
            if time::parse_ms(&r.updated_at).is_none() {
                bad.push(Violation::new(format!("{at}.updated_at"), validate::INVALID_TIMESTAMP, "updated_at must be an RFC 3339 timestamp"));
            }
            late_timestamps(&at, raw, &["updated_at"], &mut bad);
            if !bad.is_empty() {
                v.extend(bad);
                continue;
            }
            if rated.contains_key(&r.template_id) {
                v.push(Violation::new(format!("{at}.template_id"), validate::DUPLICATE, "one rating per user and template"));
                continue;
            }
            let known = templates.contains_key(&r.template_id) || builtin::is_builtin_id(&r.template_id) || self.load_visible(&r.template_id).await.is_ok();
            if !known {
                // The user's own rating, brought back exactly as stored (their export, after the
                // template's owner made it private): nothing to write, and nothing the user did
                // not know; refusing it would make their own export impossible to restore.
                let stored = self.store.get_rating(&r.template_id, &self.user).await?;
                if stored.is_some_and(|s| s.record.stars == r.stars && s.record.updated_at == r.updated_at) {
                    unchanged_ratings += 1;
                    continue;
                }
                v.push(Violation::new(format!("{at}.template_id"), "NOT_FOUND", "rated template not found"));
                continue;
            }
            rated.insert(r.template_id.clone(), rating_rows.len());
            rating_rows.push(r);
        }

        // Built-in statistics are shared by every user of the store. A private catalog seeds
        // them where none exist (a restore never overwrites what others recorded); a shared
        // one ignores them: only recorded usage and ratings count there.
        let mut builtin_new: StrMap<(UsageStats, Expect)> = StrMap::new();
        let mut builtin_ignored = 0;
        for (i, raw) in b_in.iter().enumerate() {
            let at = format!("builtin_stats[{i}]");
            let Some(b) = row::<BuiltinStats>(raw, &at, &mut v) else { continue };
            // Check the statistics with the template rules by applying them to the built-in.
            let Some(base) = builtin::get(&b.id) else {
                v.push(Violation::new(format!("{at}.id"), "NOT_FOUND", "not a built-in template id"));
                continue;
            };
            let mut probe = base.clone();
            probe.set_stats(b.stats.clone());
            let mut errs = validate::validate_template(&probe.to_value(), Options { complete: true, allow_builtin: true });
            late_timestamps("", raw, &["last_used_at"], &mut errs);
            if !errs.is_empty() {
                v.extend(prefixed(&at, errs));
                continue;
            }
            if self.shared || builtin_new.contains_key(&b.id) {
                builtin_ignored += 1;
            } else if self.store.get_builtin_stats(&b.id).await?.is_none() {
                builtin_new.insert(b.id.clone(), (b.stats, Expect::Absent));
            }
        }

        let label_writes = self.import_labels(l_in, &templates, &mut v).await?;

        if !v.is_empty() {
            return Err(violations(v));
        }

        // Every rating aggregate the import touches is what the stored ratings will say:
        // the rows stored now (this user's replaced by the bundle's) plus the bundle's.
        let mut touched: Vec<String> = template_writes.iter().map(|(t, _)| t.id.clone()).chain(rating_rows.iter().map(|r| r.template_id.clone())).collect();
        crate::sort::sort_by(&mut touched, |a, b| a.cmp(b));
        touched.dedup();
        // Rated templates outside the bundle are read before their rows: a rating that lands
        // in between moves their revision, so this commit fails instead of missing it.
        let mut outside: Vec<Loaded> = Vec::new();
        for id in touched.iter().filter(|id| !templates.contains_key(id)) {
            outside.push(self.load_raw(id).await?.map(Self::check_loaded).transpose()?.ok_or_else(|| Error::not_found("template", id.clone()))?);
        }
        let stored_rows = self.ratings_of(&touched).await?;
        let mut aggregates: StrMap<(Option<f64>, u64)> = StrMap::new();
        for id in &touched {
            let mine = rated.get(id).and_then(|&i| rating_rows.get(i));
            let rows = stored_rows.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let stars: Vec<f64> =
                rows.iter().filter(|r| mine.is_none() || r.record.user_id != self.user).map(|r| r.record.stars).chain(mine.map(|r| r.stars)).collect();
            aggregates.insert(id.clone(), super::usage::rating_aggregate(&stars)?);
        }
        // Templates first (a rating row refers to its template), then specs, ratings and the
        // aggregates of templates outside the bundle.
        let specs_writes = std::mem::take(&mut writes);
        for (mut t, expect) in template_writes {
            if let Some((rating, count)) = aggregates.remove(&t.id) {
                (t.rating, t.rating_count) = (rating, count);
            }
            // A restore replaces the statistics: sums kept for the old ones go (the next use
            // derives them from the restored record). A shared catalog kept its own.
            let id = t.id.clone();
            writes.push(Write::PutTemplate { record: t, expect });
            if !self.shared {
                writes.push(Write::DeleteUsageTotals { id });
            }
        }
        writes.extend(specs_writes);
        let ratings = rating_rows.len() + unchanged_ratings;
        for r in rating_rows {
            let expect = stored_rows.get(&r.template_id).and_then(|rows| rows.iter().find(|x| x.record.user_id == self.user)).map(|e| Expect::Rev(e.rev)).unwrap_or(Expect::Absent);
            writes.push(Write::PutRating { record: r, expect });
        }
        // Rated templates outside the bundle (built-ins, stored ones) get their aggregate
        // written under their revision, in the same commit.
        for loaded in outside {
            let id = loaded.record().id.clone();
            let Some((rating, count)) = aggregates.remove(&id) else { continue };
            match loaded {
                Loaded::Builtin { record, stats_rev } => {
                    let entry = builtin_new.get_or_insert_with(&id, || (record.stats(), stats_rev.map(Expect::Rev).unwrap_or(Expect::Absent)));
                    (entry.0.rating, entry.0.rating_count) = (rating, count);
                }
                Loaded::Stored(s) => {
                    let mut t = s.record;
                    (t.rating, t.rating_count) = (rating, count);
                    writes.push(Write::PutTemplate { record: t, expect: Expect::Rev(s.rev) });
                }
            }
        }
        let builtin_stats = builtin_new.len();
        // In id order, sorted here: a map's iteration order is no promise (src/keyed.rs).
        let mut seeded = builtin_new.into_entries();
        crate::sort::sort_by(&mut seeded, |a, b| a.0.cmp(&b.0));
        for (id, (stats, expect)) in seeded {
            writes.push(Write::PutBuiltinStats { record: BuiltinStats { id, stats }, expect });
        }

        let labels = label_writes.len();
        writes.extend(label_writes);
        let report = ImportReport { templates: templates.len(), specs, ratings, builtin_stats, builtin_stats_ignored: builtin_ignored, labels };
        self.store.commit(writes).await?;
        self.emit("import", "import", None);
        Ok(report)
    }

    /// The stored ratings of each of `ids`: one read of every rating when there are many ids.
    async fn ratings_of(&self, ids: &[String]) -> Result<StrMap<Vec<Stored<Rating>>>> {
        let mut out: StrMap<Vec<Stored<Rating>>> = StrMap::new();
        if ids.len() > 32 {
            let wanted: StrSet = ids.iter().map(String::as_str).collect();
            for r in self.store.find_ratings(None, None).await? {
                if wanted.contains(&r.record.template_id) {
                    out.entry_or_default(&r.record.template_id).push(r);
                }
            }
        } else {
            for id in ids {
                out.insert(id.clone(), self.store.find_ratings(None, Some(id)).await?);
            }
        }
        Ok(out)
    }

    /// The acting user's labels whose rows check out, as `{ label, template_id, version,
    /// updated_at }`; rows that do not are listed under `skipped` (table `template_labels`).
    async fn export_labels(&self, templates: &[WorkflowTemplate], skipped: &mut Vec<Value>) -> Result<Vec<LabelInfo>> {
        let mut out = Vec::new();
        for mut row in self.store.find_labels(&self.user, None).await? {
            let l = &mut row.record;
            let fits = super::labels::verify_label(l).and_then(|_| {
                match templates.iter().any(|t| t.id == l.template_id && t.version == l.version && name_key(&t.name) == l.name_key) {
                    true => Ok(()),
                    false => Err(Error::Integrity { id: l.key(), message: format!("points at {} version {}, which is not a version of this lineage", l.template_id, l.version) }),
                }
            });
            match fits {
                Ok(()) => out.push(LabelInfo::from(&row.record)),
                Err(e) => {
                    let key = row.record.key();
                    self.skip("template_labels", &key, &e);
                    let message = match &e {
                        Error::Integrity { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    skipped.push(json!({ "table": "template_labels", "id": key, "code": e.code(), "message": message, "record": row.record }));
                }
            }
        }
        crate::sort::sort_by(&mut out, |a, b| a.template_id.cmp(&b.template_id).then_with(|| a.label.cmp(&b.label)));
        Ok(out)
    }

    /// Checks the bundle's labels: each `{ label, template_id, version, updated_at }` names a
    /// valid label (not `latest`) and a version the bundle brings or the acting user owns, with
    /// that version number; one row per lineage and label. A row replaces the stored one.
    async fn import_labels(&self, rows: &[Value], bundle: &StrMap<WorkflowTemplate>, v: &mut Vec<Violation>) -> Result<Vec<Write>> {
        struct Row {
            label: String,
            template_id: String,
            version: u64,
            updated_at: String,
        }
        impl FromJson for Row {
            fn from_json(v: Value) -> std::result::Result<Self, ReadError> {
                let mut f = Fields::new(v)?;
                let r = Row { label: f.req("label")?, template_id: f.req("template_id")?, version: f.req("version")?, updated_at: f.req("updated_at")? };
                f.end()?;
                Ok(r)
            }
        }
        let mut seen: StrMap<StrSet> = StrMap::new();
        let mut writes = Vec::new();
        for (i, raw) in rows.iter().enumerate() {
            let at = format!("template_labels[{i}]");
            let Some(mut r) = row::<Row>(raw, &at, v) else { continue };
            let mut bad = Vec::new();
            if let Some(p) = super::labels::label_name_problem(&r.label) {
                bad.push(Violation::new(format!("{at}.label"), validate::PATTERN, p));
            } else if r.label == super::labels::LATEST {
                bad.push(Violation::new(format!("{at}.label"), validate::PATTERN, "the label \"latest\" is reserved: it always names the latest version"));
            }
            crate::model::canonical::respell_time(&mut r.updated_at);
            if time::parse_ms(&r.updated_at).is_none() {
                bad.push(Violation::new(format!("{at}.updated_at"), validate::INVALID_TIMESTAMP, "updated_at must be an RFC 3339 timestamp"));
            }
            late_timestamps(&at, &json!({ "updated_at": r.updated_at }), &["updated_at"], &mut bad);
            let target = match normalize_id(&r.template_id) {
                Some(id) => {
                    r.template_id = id.clone();
                    match bundle.get(&id) {
                        Some(t) => Some(t.clone()),
                        None => match self.load_owned(&id).await {
                            Ok(s) => Some(s.record),
                            Err(_) => None,
                        },
                    }
                }
                None => {
                    bad.push(Violation::new(format!("{at}.template_id"), validate::INVALID_ID, "template_id must be a ULID"));
                    None
                }
            };
            if !bad.is_empty() {
                v.extend(bad);
                continue;
            }
            let Some(t) = target else {
                v.push(Violation::new(format!("{at}.template_id"), "NOT_FOUND", "a label points at a template the bundle brings or you own"));
                continue;
            };
            if t.version != r.version {
                v.push(Violation::new(format!("{at}.version"), "INCONSISTENT", format!("{} is version {}, not {}", t.id, t.version, r.version)));
                continue;
            }
            let key = name_key(&t.name);
            if !seen.entry_or_default(&key).insert(r.label.as_str()) {
                v.push(Violation::new(format!("{at}.label"), validate::DUPLICATE, format!("label {} appears twice for {}", crate::validate::quoted(&r.label), crate::validate::quoted(&t.name))));
                continue;
            }
            let record = TemplateLabel { owner_id: self.user.clone(), name_key: key.clone(), label: r.label, template_id: t.id.clone(), version: t.version, updated_at: r.updated_at };
            let expect = self.store.find_labels(&self.user, Some(&key)).await?.into_iter().find(|x| x.record.label == record.label).map(|x| Expect::Rev(x.rev)).unwrap_or(Expect::Absent);
            writes.push(Write::PutLabel { record, expect });
        }
        Ok(writes)
    }

    /// The inheritance checks of an imported record: its own chain when it has a base, and the
    /// templates derived from it when it replaces a stored record (an import must not unpublish
    /// or break a base others derive from any more than `update` may).
    async fn check_inheritance_import(&self, t: &WorkflowTemplate, bundle: &StrMap<WorkflowTemplate>, replaces: bool) -> Result<()> {
        if t.base_template_id.is_none() && !replaces {
            return Ok(());
        }
        self.check_inheritance(t, Some(bundle)).await
    }
}
