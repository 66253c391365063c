//! The storage contract's records read by hand from JSON (`crate::model::read`, which says
//! why and what is accepted): what IndexedDB, localStorage and a JS adapter hand back.

use serde_json::Value;

use super::memory::Snapshot;
use super::{BuiltinStats, Rating, Stored, TemplateLabel, UsageTotals};
use crate::model::read::{Fields, FromJson, ReadError};
use crate::model::UsageStats;

/// `{ rev, record }`; other members (an IndexedDB row's index keys) are ignored.
impl<T: FromJson> FromJson for Stored<T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        Ok(Stored { rev: f.req("rev")?, record: f.req("record")? })
    }
}

impl FromJson for Rating {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let r = Rating { template_id: f.req("template_id")?, user_id: f.req("user_id")?, stars: f.req("stars")?, updated_at: f.req("updated_at")? };
        f.end()?;
        Ok(r)
    }
}

/// `{ id, ...statistics }` (the derive's `#[serde(flatten)]`: other members ignored).
impl FromJson for BuiltinStats {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        Ok(BuiltinStats { id: f.req("id")?, stats: UsageStats::take(&mut f)? })
    }
}

impl FromJson for UsageTotals {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let t = UsageTotals {
            id: f.req("id")?,
            usage_count: f.req("usage_count")?,
            successes: f.req("successes")?,
            response_time_ms: f.req("response_time_ms")?,
            cost_sum: f.opt("cost_sum")?,
        };
        f.end()?;
        Ok(t)
    }
}

impl FromJson for TemplateLabel {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let l = TemplateLabel {
            owner_id: f.req("owner_id")?,
            name_key: f.req("name_key")?,
            label: f.req("label")?,
            template_id: f.req("template_id")?,
            version: f.req("version")?,
            updated_at: f.req("updated_at")?,
        };
        f.end()?;
        Ok(l)
    }
}

/// What the localStorage adapter persists; the two later tables may be absent.
impl FromJson for Snapshot {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        Ok(Snapshot {
            templates: f.req("templates")?,
            specs: f.req("specs")?,
            ratings: f.req("ratings")?,
            builtin_stats: f.req("builtin_stats")?,
            usage_totals: f.or_default("usage_totals")?,
            template_labels: f.or_default("template_labels")?,
        })
    }
}
