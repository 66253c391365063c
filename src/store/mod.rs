//! The storage contract every adapter implements (memory, IndexedDB, localStorage, remote,
//! a JS object). It is deliberately small and record-level:
//! - reads by key and by index-backed filters (`TemplateFilter`, `SpecFilter`);
//! - one atomic `commit` of a batch of writes, each guarded by an expectation on the stored
//!   revision (`Expect`): that is what makes `CONFLICT`, no-lost-increment counters and
//!   all-or-nothing multi-record writes possible on every backend;
//! - a uniqueness rule: at most one latest template per (owner_id, lowercase name).
//!
//! Revisions (`rev`) are adapter metadata kept beside a record, never part of it: the store
//! sets rev = previous rev + 1 on every put (1 for a new record).

pub mod memory;
pub mod page;
pub mod read;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod local;

use serde::{Deserialize, Serialize};

use crate::error::Result;
pub use page::{PageQuery, PageRow, PageRows, Sort, SortKey};
use crate::model::{TemplateCategory, TemplateSpec, UsageStats, WorkflowTemplate, WorkflowType};

/// A record with its revision: what adapters keep and what they hand back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored<T> {
    pub rev: u64,
    pub record: T,
}

/// One user's rating of one template (built-in or custom).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub template_id: String,
    pub user_id: String,
    pub stars: f64,
    pub updated_at: String,
}

/// Usage statistics of a built-in template, stored beside the in-memory record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltinStats {
    pub id: String,
    #[serde(flatten)]
    pub stats: UsageStats,
}

/// The exact sums behind a template's usage means (built-in or stored), kept in their own
/// table `usage_totals` beside the record and written in the same commit as its statistics.
/// The schema has no column for them; the means (`success_rate`, `avg_response_time_ms`) are
/// computed from these sums, never from an earlier, rounded mean. `usage_count` says which
/// record state the sums belong to: sums whose count (or means) disagree with the record are
/// stale (a row from before this table existed, a restore) and the catalog derives them from the
/// record again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageTotals {
    pub id: String,
    pub usage_count: u64,
    /// Uses recorded with `success: true`.
    pub successes: u64,
    /// The sum of every recorded `responseTimeMs`.
    pub response_time_ms: u64,
    /// The exact sum of every recorded `cost`, as non-overlapping finite doubles in increasing
    /// magnitude (Shewchuk's partials, see `catalog::usage::ExactSum`); `total_cost` is their
    /// correctly rounded sum. Absent in rows written before it was kept: derived from the
    /// record's `total_cost`, as the other stale sums are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_sum: Option<Vec<f64>>,
}

/// A label (SPEC section 6): a name such as `production` pointing at one version of a lineage
/// (the templates with the same `owner_id` and case-insensitive name). Kept in its own table,
/// `template_labels`, keyed by [`TemplateLabel::key`]: one row per (owner, name key, label), so
/// moving a label is one conditional write of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateLabel {
    pub owner_id: String,
    /// The lineage's `name_key` (trimmed, lowercased name).
    pub name_key: String,
    pub label: String,
    pub template_id: String,
    /// The version number of `template_id` (versions never change their number).
    pub version: u64,
    pub updated_at: String,
}

impl TemplateLabel {
    /// The storage key: owner and label cannot hold `:` (a ULID, the label pattern), so the
    /// name key, which can, goes last and the key is never ambiguous.
    pub fn key(&self) -> String {
        label_key(&self.owner_id, &self.name_key, &self.label)
    }
}

pub fn label_key(owner_id: &str, name_key: &str, label: &str) -> String {
    format!("{owner_id}:{label}:{name_key}")
}

/// What a write expects to find in storage; a mismatch fails the whole batch with `CONFLICT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The key must not exist (a create).
    Absent,
    /// The stored record must be at exactly this revision.
    Rev(u64),
    /// No expectation (used only where the catalog has checked nothing can race, e.g. import
    /// of records that were absent when read — still within one transaction).
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    PutTemplate { record: WorkflowTemplate, expect: Expect },
    DeleteTemplate { id: String, expect: Expect },
    PutSpec { record: TemplateSpec, expect: Expect },
    DeleteSpec { id: String, expect: Expect },
    PutRating { record: Rating, expect: Expect },
    DeleteRating { template_id: String, user_id: String },
    PutBuiltinStats { record: BuiltinStats, expect: Expect },
    /// Always unconditional: the statistics write of the same batch carries the expectation.
    PutUsageTotals { record: UsageTotals },
    DeleteUsageTotals { id: String },
    /// A label row (`template_labels`), guarded like a record: `Absent` to create one,
    /// `Rev(n)` to move or remove the row that was read.
    PutLabel { record: TemplateLabel, expect: Expect },
    /// `key` is [`TemplateLabel::key`].
    DeleteLabel { key: String, expect: Expect },
}

/// A conjunction of equalities on indexed template fields. Adapters answer it from their
/// indexes (the schema's, plus compound ones); `None` means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateFilter {
    pub owner_id: Option<String>,
    /// Lowercased, trimmed name (names are unique per owner case-insensitively).
    pub name_key: Option<String>,
    pub base_template_id: Option<String>,
    pub is_public: Option<bool>,
    pub is_latest: Option<bool>,
    pub category: Option<TemplateCategory>,
    pub workflow_type: Option<WorkflowType>,
    pub config_hash: Option<String>,
}

impl TemplateFilter {
    pub fn matches(&self, t: &WorkflowTemplate) -> bool {
        self.owner_id.as_ref().is_none_or(|o| *o == t.owner_id)
            && self.name_key.as_ref().is_none_or(|n| *n == name_key(&t.name))
            && self.base_template_id.as_ref().is_none_or(|b| Some(b) == t.base_template_id.as_ref())
            && self.is_public.is_none_or(|p| p == t.is_public)
            && self.is_latest.is_none_or(|l| l == t.is_latest)
            && self.category.is_none_or(|c| c == t.category)
            && self.workflow_type.is_none_or(|w| w == t.workflow_type)
            && self.config_hash.as_ref().is_none_or(|h| *h == t.config_hash)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecFilter {
    pub owner_id: Option<String>,
    pub name_key: Option<String>,
    pub base_template_name: Option<String>,
    pub workflow_type: Option<WorkflowType>,
}

impl SpecFilter {
    pub fn matches(&self, s: &TemplateSpec) -> bool {
        self.owner_id.as_ref().is_none_or(|o| *o == s.owner_id)
            && self.name_key.as_ref().is_none_or(|n| *n == name_key(&s.name))
            && self.base_template_name.as_ref().is_none_or(|b| Some(b) == s.base_template_name.as_ref())
            && self.workflow_type.is_none_or(|w| w == s.workflow_type)
    }
}

/// Checks a write's expectation against the stored revision (`None`: absent) and returns the
/// revision the write gets; a mismatch is `CONFLICT` naming both sides.
fn next_rev(rev: u64, id: &str) -> Result<u64> {
    rev.checked_add(1).ok_or_else(|| crate::Error::Integrity { id: id.to_string(), message: "the stored revision is at its maximum".into() })
}

pub fn check_expect(expect: Expect, current: Option<u64>, id: &str) -> Result<u64> {
    match (expect, current) {
        (Expect::Absent | Expect::Any, None) => Ok(1),
        // A stored revision at u64::MAX (a tampered snapshot) cannot be written over: INTEGRITY,
        // never an overflow.
        (Expect::Any, Some(rev)) => next_rev(rev, id),
        (Expect::Rev(want), Some(rev)) if want == rev => next_rev(rev, id),
        (e, cur) => Err(crate::Error::Conflict {
            id: id.to_string(),
            expected: match e {
                Expect::Absent => "absent".into(),
                Expect::Rev(r) => format!("rev {r}"),
                Expect::Any => "any".into(),
            },
            actual: cur.map(|r| format!("rev {r}")).unwrap_or_else(|| "absent".into()),
        }),
    }
}

/// Maps a browser storage failure (a DOMException's name and message) to the contract's codes:
/// quota to STORAGE_QUOTA (Chrome reports some quota failures as an AbortError that says
/// "quota"), everything else to STORAGE_UNAVAILABLE.
pub fn dom_error(what: &str, name: &str, message: &str) -> crate::Error {
    let quota = name == "QuotaExceededError"
        || name == "NS_ERROR_DOM_QUOTA_REACHED"
        || (name == "AbortError" && message.to_ascii_lowercase().contains("quota"));
    if quota {
        crate::Error::StorageQuota(format!("{what}: the browser's storage quota is full ({name}: {message}); nothing of this write was stored"))
    } else {
        crate::Error::StorageUnavailable(format!("{what}: {name}: {message}"))
    }
}

/// The case-insensitive form of a name used for uniqueness and lookups.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// What the plain browse page reads (see `Store::browse_page`).
#[derive(Debug, Clone, Default)]
pub struct BrowseRead {
    /// The first public latest templates in the sort's order, and how many there are.
    pub public: (Vec<Stored<WorkflowTemplate>>, usize),
    /// The same of the viewer's private latest templates; `None` when the adapter has no
    /// ordered index for them (the catalog then reads them all).
    pub private: Option<(Vec<Stored<WorkflowTemplate>>, usize)>,
    /// Every built-in's statistics (empty unless asked for).
    pub builtin_stats: Vec<Stored<BuiltinStats>>,
}

/// The async storage contract. Futures need not be `Send`: in the browser they hold JS values.
#[allow(async_fn_in_trait)]
pub trait Store {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>>;
    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>>;
    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>>;
    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>>;
    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>>;
    /// Ratings by user (`Some(user)`, for export) or by template (`template_id`, for delete).
    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>>;
    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>>;
    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>>;
    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>>;
    /// The label rows of `owner_id`, of one lineage when `name_key` is given (an index on
    /// `(owner_id, name_key)`), else all of them (export).
    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<TemplateLabel>>>;
    /// Applies every write or none. Fails with `CONFLICT` when an expectation does not hold and
    /// with `NAME_TAKEN` when the result would hold two latest templates with the same owner
    /// and name key.
    async fn commit(&self, writes: Vec<Write>) -> Result<()>;
    /// Several templates by id, in the order asked (`None` where absent). The default reads one
    /// at a time; IndexedDB issues every read of one transaction at once.
    async fn get_templates(&self, ids: &[String]) -> Result<Vec<Option<Stored<WorkflowTemplate>>>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get_template(id).await?);
        }
        Ok(out)
    }
    /// The stored templates along a base chain: `id`'s record, then its base's, and so on.
    /// It stops (without an error) at an id that is not stored or is a built-in, at an id seen
    /// before, at a row that cannot be read, or after `max` records: the catalog walks the chain
    /// with its own rules and reads anything missing here one by one, so this is only a faster
    /// path. The default reads one record at a time; IndexedDB reads them in one transaction.
    async fn get_template_chain(&self, id: &str, max: usize) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let mut out: Vec<Stored<WorkflowTemplate>> = Vec::new();
        let mut next = Some(id.to_string());
        while let Some(id) = next.take() {
            if out.len() >= max || crate::builtin::get(&id).is_some() || out.iter().any(|s| s.record.id == id) {
                break;
            }
            match self.get_template(&id).await {
                Ok(Some(s)) => {
                    next = s.record.base_template_id.clone();
                    out.push(s);
                }
                _ => break,
            }
        }
        Ok(out)
    }
    /// The first `n` public latest templates in `sort` order (`catalog::discover::order`) and
    /// how many public latest templates there are, read from an ordered index; `None` when the
    /// adapter has no such index (the catalog then sorts every candidate itself).
    async fn top_public(&self, _sort: Sort, _n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        Ok(None)
    }
    /// The first `n` private latest templates of `owner` in `sort` order and how many there
    /// are, from an ordered index; `None` when the adapter has none.
    async fn top_private(&self, _owner: &str, _sort: Sort, _n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        Ok(None)
    }
    /// `top_public`, `top_private` of `owner` and (with `builtins`) `all_builtin_stats`, as
    /// one read: `None` when there is no ordered public index. The default makes the three
    /// calls; IndexedDB issues them in one transaction at once (one round trip, not three).
    async fn browse_page(&self, owner: &str, sort: Sort, n: usize, builtins: bool) -> Result<Option<BrowseRead>> {
        let Some(public) = self.top_public(sort, n).await? else { return Ok(None) };
        let private = self.top_private(owner, sort, n).await?;
        let builtin_stats = if builtins { self.all_builtin_stats().await? } else { Vec::new() };
        Ok(Some(BrowseRead { public, private, builtin_stats }))
    }
    /// One page of discovery over the stored templates (`page::PageQuery`: filters, visibility
    /// for the viewer, the sort with its tie-breakers, offset, limit) and how many match,
    /// answered natively (indexes, SQL); `None`, the default, means "not answered" and the
    /// catalog filters and sorts candidates in memory. Only the page's rows are handed back.
    async fn query_page(&self, _q: &PageQuery) -> Result<Option<PageRows>> {
        Ok(None)
    }
    /// The owner of a template or spec that once held `id` and is gone (deleted), for an
    /// adapter that keeps such tombstones: the server's SQL store does, in the deleting
    /// transaction, and refuses in the commit itself any record under such an id. `None`: the
    /// id never held a record, or the adapter keeps no tombstones (the default: a browser store
    /// holds one user's records and what the server answered, so no other user's chosen id ever
    /// reaches it). A create under a chosen id never reuses a used id (`catalog::create_id`).
    async fn retired_id(&self, _id: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Several catalogs (users, or "tabs" in tests) can share one store.
impl<S: Store> Store for std::rc::Rc<S> {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        (**self).get_template(id).await
    }
    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        (**self).find_templates(filter).await
    }
    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        (**self).get_spec(id).await
    }
    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        (**self).find_specs(filter).await
    }
    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        (**self).get_rating(template_id, user_id).await
    }
    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        (**self).find_ratings(user_id, template_id).await
    }
    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        (**self).get_builtin_stats(id).await
    }
    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        (**self).all_builtin_stats().await
    }
    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>> {
        (**self).get_usage_totals(id).await
    }
    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<TemplateLabel>>> {
        (**self).find_labels(owner_id, name_key).await
    }
    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        (**self).commit(writes).await
    }
    async fn get_template_chain(&self, id: &str, max: usize) -> Result<Vec<Stored<WorkflowTemplate>>> {
        (**self).get_template_chain(id, max).await
    }
    async fn get_templates(&self, ids: &[String]) -> Result<Vec<Option<Stored<WorkflowTemplate>>>> {
        (**self).get_templates(ids).await
    }
    async fn top_public(&self, sort: Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        (**self).top_public(sort, n).await
    }
    async fn top_private(&self, owner: &str, sort: Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        (**self).top_private(owner, sort, n).await
    }
    async fn browse_page(&self, owner: &str, sort: Sort, n: usize, builtins: bool) -> Result<Option<BrowseRead>> {
        (**self).browse_page(owner, sort, n, builtins).await
    }
    async fn query_page(&self, q: &PageQuery) -> Result<Option<PageRows>> {
        (**self).query_page(q).await
    }
    async fn retired_id(&self, id: &str) -> Result<Option<String>> {
        (**self).retired_id(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::dom_error;

    #[test]
    fn browser_failures_map_to_codes() {
        assert_eq!(dom_error("w", "QuotaExceededError", "").code(), "STORAGE_QUOTA");
        assert_eq!(dom_error("w", "NS_ERROR_DOM_QUOTA_REACHED", "").code(), "STORAGE_QUOTA");
        assert_eq!(dom_error("w", "AbortError", "Transaction aborted: Quota exceeded").code(), "STORAGE_QUOTA");
        assert_eq!(dom_error("w", "AbortError", "The transaction was aborted").code(), "STORAGE_UNAVAILABLE");
        assert_eq!(dom_error("w", "InvalidStateError", "database closing").code(), "STORAGE_UNAVAILABLE");
        assert_eq!(dom_error("w", "SecurityError", "denied").code(), "STORAGE_UNAVAILABLE");
    }
}
