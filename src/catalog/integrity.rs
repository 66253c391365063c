//! Rows that fail verification (SPEC section 4) in lists: one bad row never turns a list, a
//! page or another user's request into an error. It is left out, counted where the result has
//! a place for it (`Page::skipped`, the `skipped` list of an export), and reported through
//! `Env::skipped_row`; a direct read of it is still INTEGRITY.

use serde::Serialize;
use serde_json::{json, Value};

use super::{Catalog, Env};
use crate::builtin;
use crate::error::{Error, Result};
use crate::model::{canonical, id::is_canonical_id, time, TemplateSpec, WorkflowTemplate};
use crate::store::{BuiltinStats, Rating, Store};
use crate::validate::{self, Options};

/// A stored row left out of a list (discover, popularByCategory, versions, derived, listSpecs,
/// exportAll, the descendants an edit checks, the candidates of a base name) because it failed
/// verification. `id` is the row's key; this goes to `Env::skipped_row` (logs), never to other
/// users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedRow {
    /// "workflow_templates", "template_specs", "template_ratings" or "builtin_stats".
    pub table: &'static str,
    pub id: String,
    /// The error a direct read of the row gives (INTEGRITY).
    pub code: &'static str,
    pub message: String,
}

/// A record read from storage that can be checked as a whole.
pub(crate) trait Verifiable: Serialize {
    fn key(&self) -> String;
    fn check(&mut self) -> Result<()>;
}

impl Verifiable for WorkflowTemplate {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn check(&mut self) -> Result<()> {
        verify_template(self)
    }
}

impl Verifiable for TemplateSpec {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn check(&mut self) -> Result<()> {
        verify_spec(self)
    }
}

impl Verifiable for Rating {
    fn key(&self) -> String {
        format!("{}:{}", self.template_id, self.user_id)
    }
    fn check(&mut self) -> Result<()> {
        canonical::respell_time(&mut self.updated_at);
        let ok = is_canonical_id(&self.template_id)
            && is_canonical_id(&self.user_id)
            && self.stars.is_finite()
            && (0.0..=5.0).contains(&self.stars)
            && time::parse_ms(&self.updated_at).is_some();
        match ok {
            true => Ok(()),
            false => Err(Error::Integrity { id: self.key(), message: "a stored rating needs canonical ULIDs, stars in 0..=5 and an RFC 3339 updated_at".into() }),
        }
    }
}

impl Verifiable for BuiltinStats {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn check(&mut self) -> Result<()> {
        // The statistics follow the template rules: check them applied to the built-in.
        if let Some(s) = &mut self.stats.last_used_at {
            canonical::respell_time(s);
        }
        let Some(b) = builtin::get(&self.id) else {
            return Err(Error::Integrity { id: self.id.clone(), message: "statistics of an id that is not a built-in's".into() });
        };
        let mut probe = b.clone();
        probe.set_stats(self.stats.clone());
        let v = validate::validate_template(&probe.to_value(), Options { complete: true, allow_builtin: true });
        match v.first() {
            Some(x) => Err(Error::Integrity { id: self.id.clone(), message: format!("{}: {}", x.field, x.message) }),
            None => Ok(()),
        }
    }
}

/// Checks a record read from storage: well-formed and its config_hash matches. The rules
/// run on its JSON form; the two large JSON columns are moved into that form and back
/// rather than copied (the record is unchanged afterwards).
/// Timestamps in another spelling are respelled in place (the same instants, SPEC section
/// 2); ids in another spelling are refused (they are storage keys and index values).
pub(crate) fn verify_template(t: &mut WorkflowTemplate) -> Result<()> {
    canonical::respell_template_times(t);
    let ids = [("id", Some(t.id.as_str())), ("owner_id", Some(t.owner_id.as_str())), ("base_template_id", t.base_template_id.as_deref())];
    if let Some((f, v)) = canonical::first_noncanonical_id(&ids) {
        return Err(Error::Integrity { id: t.id.clone(), message: format!("{f} {} is not a canonical (uppercase) ULID", crate::validate::quoted(v)) });
    }
    let params = std::mem::take(&mut t.default_params);
    let metadata = t.extra_metadata.take();
    let mut v = t.to_value();
    if let Value::Object(m) = &mut v {
        m.insert("default_params".into(), Value::Object(params));
        m.insert("extra_metadata".into(), metadata.map(Value::Object).unwrap_or(Value::Null));
    }
    let found = validate::validate_template(&v, Options { complete: true, allow_builtin: false });
    if let Value::Object(mut m) = v {
        if let Some(Value::Object(p)) = m.remove("default_params") {
            t.default_params = p;
        }
        if let Some(Value::Object(x)) = m.remove("extra_metadata") {
            t.extra_metadata = Some(x);
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let msg: Vec<String> = found.iter().take(3).map(|x| format!("{}: {}", x.field, x.message)).collect();
    Err(Error::Integrity { id: t.id.clone(), message: msg.join("; ") })
}

/// A spec read from storage must pass validation as a whole record, with canonical ids;
/// its timestamps are respelled in place (SPEC section 2).
pub(crate) fn verify_spec(s: &mut TemplateSpec) -> Result<()> {
    canonical::respell_spec_times(s);
    let ids = [("id", Some(s.id.as_str())), ("owner_id", Some(s.owner_id.as_str()))];
    if let Some((f, v)) = canonical::first_noncanonical_id(&ids) {
        return Err(Error::Integrity { id: s.id.clone(), message: format!("{f} {} is not a canonical (uppercase) ULID", crate::validate::quoted(v)) });
    }
    let v = validate::validate_spec(&s.to_value(), Options { complete: true, allow_builtin: false });
    match v.first() {
        Some(x) => Err(Error::Integrity { id: s.id.clone(), message: format!("{}: {}", x.field, x.message) }),
        None => Ok(()),
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// Reports a row left out of a list (see [`SkippedRow`]).
    pub(crate) fn skip(&self, table: &'static str, id: &str, e: &Error) {
        let message = match e {
            Error::Integrity { message, .. } => message.clone(),
            other => other.to_string(),
        };
        self.env.skipped_row(&SkippedRow { table, id: id.to_string(), code: e.code(), message });
    }

    /// The records of `rows` that pass [`Self::verify`]; the others are reported and left out.
    pub(crate) fn keep_verified(&self, rows: impl IntoIterator<Item = WorkflowTemplate>) -> Vec<WorkflowTemplate> {
        rows.into_iter().filter_map(|t| self.verified(t)).collect()
    }

    /// `t` when it passes [`Self::verify`]; otherwise reported and `None`.
    pub(crate) fn verified(&self, mut t: WorkflowTemplate) -> Option<WorkflowTemplate> {
        match Self::verify(&mut t) {
            Ok(()) => Some(t),
            Err(e) => {
                self.skip("workflow_templates", &t.id, &e);
                None
            }
        }
    }

    /// The statistics of a built-in's stored row when they pass their check; otherwise the row
    /// is reported and the built-in is shown without statistics (one bad shared row must not
    /// break every list that shows built-ins; the next recorded use replaces it).
    pub(crate) fn builtin_stats_checked(&self, mut s: BuiltinStats) -> Option<crate::model::UsageStats> {
        match s.check() {
            Ok(()) => Some(s.stats),
            Err(e) => {
                self.skip("builtin_stats", &s.id, &e);
                None
            }
        }
    }

    /// For export: the rows that pass their check; each other one is reported and appended to
    /// `skipped` as `{ table, id, code, message, record }` (the record as stored).
    pub(crate) fn export_verified<T: Verifiable>(&self, rows: impl IntoIterator<Item = T>, table: &'static str, skipped: &mut Vec<Value>) -> Vec<T> {
        let mut out = Vec::new();
        for mut r in rows {
            match r.check() {
                Ok(()) => out.push(r),
                Err(e) => {
                    let id = r.key();
                    self.skip(table, &id, &e);
                    let message = match &e {
                        Error::Integrity { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    let record = serde_json::to_value(&r).unwrap_or(Value::Null);
                    skipped.push(json!({ "table": table, "id": id, "code": e.code(), "message": message, "record": record }));
                }
            }
        }
        out
    }
}
