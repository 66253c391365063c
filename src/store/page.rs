//! The discovery page query of the storage contract (SPEC section 11, issue 13): the stored
//! templates a discovery request matches, in the sort's order, one slice of them and how many
//! there are. An adapter MAY answer it natively (the reference server does, in SQL); the default
//! answer is "not answered" and the catalog then filters and sorts candidates in memory.
//!
//! Built-ins are not stored rows: the catalog merges them into the page itself, by [`SortKey`].

use std::cmp::Ordering;

use super::Stored;
use crate::model::{TemplateCategory, WorkflowTemplate, WorkflowType};

/// The discovery sorts (SPEC section 11). Each is a total order that ends on the id (see
/// [`SortKey::compare`] and `catalog::discover::order`, which agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Popular,
    Rating,
    Recent,
    Name,
}

/// What a page of discovery asks of the stored templates. Every field is already normalised by
/// the catalog: `text` is trimmed, lowercased (Rust's Unicode `to_lowercase`) and non-empty;
/// each tag is trimmed and lowercased.
#[derive(Debug, Clone, PartialEq)]
pub struct PageQuery {
    /// The acting user: a row is visible when it is public or theirs.
    pub viewer: String,
    /// `name.to_lowercase()` or `description.to_lowercase()` contains it (a substring of
    /// Unicode scalar values, no other folding).
    pub text: Option<String>,
    pub category: Option<TemplateCategory>,
    pub workflow_type: Option<WorkflowType>,
    /// Every one must equal the `to_lowercase()` of one of the row's tags.
    pub tags: Vec<String>,
    /// Only rows of this owner (never the built-in owner: the catalog answers that itself).
    pub owner: Option<String>,
    /// Only `is_latest` rows.
    pub latest_only: bool,
    pub sort: Sort,
    pub offset: u64,
    pub limit: usize,
}

impl PageQuery {
    /// The query's filter over one stored record: what a full scan keeps.
    pub fn matches(&self, t: &WorkflowTemplate) -> bool {
        !t.is_builtin
            && (t.is_public || t.owner_id == self.viewer)
            && self.owner.as_ref().is_none_or(|o| *o == t.owner_id)
            && (!self.latest_only || t.is_latest)
            && self.category.is_none_or(|c| c == t.category)
            && self.workflow_type.is_none_or(|w| w == t.workflow_type)
            && self.text.as_ref().is_none_or(|q| text_matches(q, t))
            && self.tags.iter().all(|want| t.tags.iter().flatten().any(|have| have.to_lowercase() == *want))
    }
}

/// SPEC section 11's `text`: a case-insensitive substring of the name or the description.
pub fn text_matches(q: &str, t: &WorkflowTemplate) -> bool {
    t.name.to_lowercase().contains(q) || t.description.to_lowercase().contains(q)
}

/// The values a row sorts by. For a stored row an adapter gives them as it sorted by them
/// (its stored columns), so a row the core cannot verify keeps the place the adapter gave it
/// and paging never loses or repeats an intact row; for an intact row they equal
/// [`SortKey::of`] its record.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub usage_count: i64,
    pub rating: Option<f64>,
    pub rating_count: i64,
    /// `name.to_lowercase()` (untrimmed), compared bytewise (= by code point).
    pub name_lc: String,
    pub name: String,
    /// `updated_at` in milliseconds since the epoch; `i64::MIN` when it cannot be read.
    pub updated_ms: i64,
    pub id: String,
}

impl SortKey {
    pub fn of(t: &WorkflowTemplate) -> Self {
        SortKey {
            usage_count: i64::try_from(t.usage_count).unwrap_or(i64::MAX),
            rating: t.rating,
            rating_count: i64::try_from(t.rating_count).unwrap_or(i64::MAX),
            name_lc: t.name.to_lowercase(),
            name: t.name.clone(),
            updated_ms: updated_ms(&t.updated_at),
            id: t.id.clone(),
        }
    }

    /// The sort's total order (usage desc, rating desc with nulls last, then name, then id for
    /// `popular`; see SPEC section 11).
    pub fn compare(sort: Sort, a: &SortKey, b: &SortKey) -> Ordering {
        let rating_desc = || match (a.rating, b.rating) {
            (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let by_name = || a.name_lc.cmp(&b.name_lc).then_with(|| a.name.cmp(&b.name));
        match sort {
            Sort::Popular => b.usage_count.cmp(&a.usage_count).then_with(rating_desc).then_with(by_name),
            Sort::Rating => rating_desc().then_with(|| b.rating_count.cmp(&a.rating_count)).then_with(by_name),
            Sort::Recent => return b.updated_ms.cmp(&a.updated_ms).then_with(|| b.id.cmp(&a.id)),
            Sort::Name => by_name(),
        }
        .then_with(|| a.id.cmp(&b.id))
    }
}

/// `updated_at` as the sorts read it (by instant: imported timestamps may carry any offset).
pub fn updated_ms(updated_at: &str) -> i64 {
    crate::model::time::parse_ms(updated_at).unwrap_or(i64::MIN)
}

/// One stored row of a page with the key it was sorted by.
#[derive(Debug, Clone)]
pub struct PageRow {
    pub stored: Stored<WorkflowTemplate>,
    pub key: SortKey,
}

/// A natively answered page: the rows of `[offset, offset + limit)` of every match in order,
/// and `total`, the number of matches (rows that will fail verification included).
#[derive(Debug, Clone, Default)]
pub struct PageRows {
    pub rows: Vec<PageRow>,
    pub total: usize,
}

/// The page answered by a full scan: what an adapter with no better index can do, and the
/// reference the conformance suite compares native answers with.
pub fn scan_page(all: impl IntoIterator<Item = Stored<WorkflowTemplate>>, q: &PageQuery) -> PageRows {
    let mut rows: Vec<PageRow> = all.into_iter().filter(|s| q.matches(&s.record)).map(|s| PageRow { key: SortKey::of(&s.record), stored: s }).collect();
    crate::sort::sort_by(&mut rows, |a, b| SortKey::compare(q.sort, &a.key, &b.key));
    let total = rows.len();
    let rows = rows.into_iter().skip(usize::try_from(q.offset).unwrap_or(usize::MAX)).take(q.limit).collect();
    PageRows { rows, total }
}
