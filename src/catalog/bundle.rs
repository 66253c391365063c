//! Export and import (SPEC section 11): a portable bundle of what the acting user owns, and an
//! import that checks every record (hash, references, cycles, names) before writing any, then
//! writes them all in one commit.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{json, Value};

use super::{violations, Catalog, Env};
use crate::builtin;
use crate::error::{Error, Result, Violation};
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::{name_key, BuiltinStats, Expect, Rating, SpecFilter, Store, TemplateFilter, Write};
use crate::validate::{self, Options};

pub const FORMAT_VERSION: u64 = 1;
/// Most records one import takes (a bundle is checked whole, in memory, before writing).
pub const MAX_IMPORT_RECORDS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub templates: usize,
    pub specs: usize,
    pub ratings: usize,
    pub builtin_stats: usize,
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

fn prefixed(prefix: &str, v: Vec<Violation>) -> impl Iterator<Item = Violation> + '_ {
    v.into_iter().map(move |x| Violation { field: if x.field.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", x.field) }, ..x })
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
        let mut bundle = json!({
            "format_version": FORMAT_VERSION,
            "exported_at": self.now(),
            "owner_id": self.user,
            "workflow_templates": templates,
            "template_specs": specs,
            "ratings": ratings,
            "builtin_stats": stats,
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
            if !["format_version", "exported_at", "owner_id", "workflow_templates", "template_specs", "ratings", "builtin_stats", "skipped"].contains(&k.as_str()) {
                v.push(Violation::new(k.clone(), validate::UNKNOWN_FIELD, format!("unknown bundle field {k:?}")));
            }
        }
        let t_in = list(&m, "workflow_templates", &mut v);
        let s_in = list(&m, "template_specs", &mut v);
        let r_in = list(&m, "ratings", &mut v);
        let b_in = list(&m, "builtin_stats", &mut v);
        if t_in.len() + s_in.len() + r_in.len() + b_in.len() > MAX_IMPORT_RECORDS {
            return Err(Error::invalid(format!("a bundle holds at most {MAX_IMPORT_RECORDS} records")));
        }
        let opts = Options { complete: true, allow_builtin: false };
        let mut writes = Vec::new();

        // Templates: each whole and hash-true, owned by the acting user, ids unique; then what
        // storage already holds under those ids, read in one go.
        let mut templates: HashMap<String, WorkflowTemplate> = HashMap::new();
        let mut accepted: Vec<(String, WorkflowTemplate)> = Vec::new();
        for (i, raw) in t_in.iter().enumerate() {
            let at = format!("workflow_templates[{i}]");
            let mut errs = validate::validate_template(raw, opts);
            if respelled_base.contains(&i) {
                crate::model::canonical::explain_base_hash(&mut errs);
            }
            if !errs.is_empty() {
                v.extend(prefixed(&at, errs));
                continue;
            }
            let t: WorkflowTemplate = match serde_json::from_value(raw.clone()) {
                Ok(t) => t,
                Err(e) => {
                    v.push(Violation::new(at, validate::TYPE, e.to_string()));
                    continue;
                }
            };
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
        for ((at, t), existing) in accepted.into_iter().zip(existing) {
            match existing {
                Some(existing) if existing.record.owner_id != self.user => {
                    // Whose it is is not the caller's to know (issue 10, item 5).
                    v.push(Violation::new(format!("{at}.id"), validate::DUPLICATE, format!("id {} is taken; an import may only replace your own records", t.id)));
                    templates.remove(&t.id);
                }
                // Import restores: a record already here is replaced, guarded by its revision.
                Some(existing) => writes.push(Write::PutTemplate { record: t, expect: Expect::Rev(existing.rev) }),
                None => writes.push(Write::PutTemplate { record: t, expect: Expect::Absent }),
            }
        }
        // Versions: within the bundle, one latest per name and distinct version numbers.
        let mut lineages: HashMap<String, Vec<&WorkflowTemplate>> = HashMap::new();
        for t in templates.values() {
            lineages.entry(name_key(&t.name)).or_default().push(t);
        }
        for (name, ts) in &lineages {
            let latest = ts.iter().filter(|t| t.is_latest).count();
            let versions: BTreeSet<u64> = ts.iter().map(|t| t.version).collect();
            if latest != 1 || versions.len() != ts.len() {
                v.push(Violation::new("workflow_templates", "INCONSISTENT", format!("versions of {name:?} must have distinct numbers and one latest")));
            }
        }
        // References: every base resolves (bundle, storage or built-in), no cycle, not too deep,
        // and the effective configuration is type-consistent.
        {
            let mut ids: Vec<&String> = templates.keys().collect();
            crate::sort::sort_by(&mut ids, |a, b| a.cmp(b));
            for id in ids {
                let t = &templates[id];
                if let Err(e) = self.check_inheritance_import(t, &templates).await {
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
            let errs = validate::validate_spec(raw, opts);
            if !errs.is_empty() {
                v.extend(prefixed(&at, errs));
                continue;
            }
            let Ok(s) = serde_json::from_value::<TemplateSpec>(raw.clone()) else { continue };
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
                None => Expect::Absent,
            };
            specs += 1;
            writes.push(Write::PutSpec { record: s, expect });
        }

        let mut ratings = 0;
        for (i, raw) in r_in.iter().enumerate() {
            let at = format!("ratings[{i}]");
            let r: Rating = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    v.push(Violation::new(at, validate::TYPE, e.to_string()));
                    continue;
                }
            };
            if r.user_id != self.user {
                v.push(Violation::new(format!("{at}.user_id"), "FORBIDDEN", "ratings are imported by the user who gave them"));
                continue;
            }
            if !r.stars.is_finite() || !(0.0..=5.0).contains(&r.stars) || crate::model::time::normalize(&r.updated_at).is_none() {
                v.push(Violation::new(at, validate::OUT_OF_RANGE, "stars must be in 0..=5 and updated_at a timestamp"));
                continue;
            }
            let known = templates.contains_key(&r.template_id) || builtin::is_builtin_id(&r.template_id) || self.load_visible(&r.template_id).await.is_ok();
            if !known {
                v.push(Violation::new(format!("{at}.template_id"), "NOT_FOUND", "rated template not found"));
                continue;
            }
            let expect = self.store.get_rating(&r.template_id, &r.user_id).await?.map(|e| Expect::Rev(e.rev)).unwrap_or(Expect::Absent);
            ratings += 1;
            writes.push(Write::PutRating { record: r, expect });
        }

        let mut builtin_stats = 0;
        for (i, raw) in b_in.iter().enumerate() {
            let at = format!("builtin_stats[{i}]");
            let b: BuiltinStats = match serde_json::from_value(raw.clone()) {
                Ok(b) => b,
                Err(e) => {
                    v.push(Violation::new(at, validate::TYPE, e.to_string()));
                    continue;
                }
            };
            // Check the statistics with the template rules by applying them to the built-in.
            let Some(base) = builtin::get(&b.id) else {
                v.push(Violation::new(format!("{at}.id"), "NOT_FOUND", "not a built-in template id"));
                continue;
            };
            let mut probe = base.clone();
            probe.set_stats(b.stats.clone());
            let errs = validate::validate_template(&probe.to_value(), Options { complete: true, allow_builtin: true });
            if !errs.is_empty() {
                v.extend(prefixed(&at, errs));
                continue;
            }
            // Built-in statistics are shared by every user of the store: an import only seeds
            // them where none exist, never overwrites what others recorded.
            if self.store.get_builtin_stats(&b.id).await?.is_none() {
                builtin_stats += 1;
                writes.push(Write::PutBuiltinStats { record: b, expect: Expect::Absent });
            }
        }

        if !v.is_empty() {
            return Err(violations(v));
        }
        let report = ImportReport { templates: templates.len(), specs, ratings, builtin_stats };
        self.store.commit(writes).await?;
        self.emit("import", "import", None);
        Ok(report)
    }

    async fn check_inheritance_import(&self, t: &WorkflowTemplate, bundle: &HashMap<String, WorkflowTemplate>) -> Result<()> {
        if t.base_template_id.is_none() {
            return Ok(());
        }
        self.check_inheritance(t, bundle).await
    }
}
