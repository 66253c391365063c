//! Discovery (SPEC section 11): visibility first, then filters, a total order, and a page.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Catalog, Env};
use crate::builtin;
use crate::keyed::StrMap;
use crate::error::{Error, Result};
use crate::model::id::{normalize_id, BUILTIN_OWNER};
use crate::model::{TemplateCategory, WorkflowTemplate, WorkflowType};
use crate::store::{PageQuery, PageRows, SortKey, Store, TemplateFilter};

/// The sorts live in the storage contract (an adapter may answer a page natively); this path
/// (`catalog::Sort`, `catalog::discover::Sort`) keeps working.
pub use crate::store::Sort;

#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverOptions {
    pub text: Option<String>,
    pub category: Option<TemplateCategory>,
    pub workflow_type: Option<WorkflowType>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub include_builtin: bool,
    pub latest_only: bool,
    pub sort: Sort,
    pub limit: usize,
    /// u64, not usize: usize is 32 bits on wasm32 and the caller's offset is echoed back.
    pub offset: u64,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions { text: None, category: None, workflow_type: None, tags: Vec::new(), owner: None, include_builtin: true, latest_only: true, sort: Sort::Popular, limit: 20, offset: 0 }
    }
}

impl DiscoverOptions {
    /// Reads the JS option object (camelCase keys), refusing unknown keys and bad values.
    pub fn from_value(v: &Value) -> Result<Self> {
        let mut o = DiscoverOptions::default();
        let m = match v {
            Value::Null => return Ok(o),
            Value::Object(m) => m,
            _ => return Err(Error::invalid("discover options must be an object")),
        };
        for (k, val) in m {
            if val.is_null() {
                continue;
            }
            let s = || val.as_str().ok_or_else(|| Error::invalid(format!("discover option {k} must be a string")));
            match k.as_str() {
                "text" => o.text = Some(s()?.to_string()),
                "category" => o.category = Some(TemplateCategory::parse(s()?).ok_or_else(|| Error::invalid(format!("unknown category {val}")))?),
                "workflowType" => o.workflow_type = Some(WorkflowType::parse(s()?).ok_or_else(|| Error::invalid(format!("unknown workflow type {val}")))?),
                "tags" => {
                    let arr = val.as_array().ok_or_else(|| Error::invalid("discover option tags must be an array of strings"))?;
                    o.tags = arr
                        .iter()
                        .map(|t| t.as_str().map(|x| x.trim().to_lowercase()).ok_or_else(|| Error::invalid("discover option tags must be an array of strings")))
                        .collect::<Result<_>>()?;
                }
                "owner" => o.owner = Some(normalize_id(s()?).ok_or_else(|| Error::invalid(format!("owner {val} is not a ULID")))?),
                "includeBuiltin" => o.include_builtin = val.as_bool().ok_or_else(|| Error::invalid("includeBuiltin must be a boolean"))?,
                "latestOnly" => o.latest_only = val.as_bool().ok_or_else(|| Error::invalid("latestOnly must be a boolean"))?,
                "sort" => {
                    o.sort = match s()? {
                        "popular" => Sort::Popular,
                        "rating" => Sort::Rating,
                        "recent" => Sort::Recent,
                        "name" => Sort::Name,
                        other => return Err(Error::invalid(format!("sort must be popular, rating, recent or name, not {}", crate::validate::quoted(other)))),
                    }
                }
                "limit" => o.limit = int_in(val, 1, 100, "limit")? as usize,
                "offset" => o.offset = int_in(val, 0, 1 << 53, "offset")? as u64,
                other => return Err(Error::invalid(format!("unknown discover option {}", crate::validate::quoted(other)))),
            }
        }
        Ok(o)
    }
}

fn int_in(v: &Value, lo: u64, hi: u64, what: &str) -> Result<u64> {
    let n = v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64));
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(Error::invalid(format!("{what} must be an integer in {lo}..={hi}, got {v}"))),
    }
}

/// One page of discovery. The page is the slice `[offset, offset + limit)` of every matching
/// row in the sort's order; a stored row in that slice that fails verification (SPEC section 4)
/// is left out of `items` and counted in `skipped` (absent when 0), so `items.len() + skipped`
/// is `min(limit, total - offset)` and paging never repeats or loses an intact row. `total`
/// counts every matching row, the skipped ones included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub limit: usize,
    pub offset: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn rating_desc(a: &WorkflowTemplate, b: &WorkflowTemplate) -> Ordering {
    match (a.rating, b.rating) {
        (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn by_name(a: &WorkflowTemplate, b: &WorkflowTemplate) -> Ordering {
    a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.name.cmp(&b.name))
}

fn updated_ms(t: &WorkflowTemplate) -> i64 {
    crate::model::time::parse_ms(&t.updated_at).unwrap_or(i64::MIN)
}

/// A total order for each sort (ties end on id), so pages never overlap or skip.
pub fn order(sort: Sort, a: &WorkflowTemplate, b: &WorkflowTemplate) -> Ordering {
    match sort {
        Sort::Popular => b.usage_count.cmp(&a.usage_count).then_with(|| rating_desc(a, b)).then_with(|| by_name(a, b)),
        Sort::Rating => rating_desc(a, b).then_with(|| b.rating_count.cmp(&a.rating_count)).then_with(|| by_name(a, b)),
        // Newest first, ties broken by id descending (ids grow with creation time).
        // (By instant, not by text: imported timestamps may carry any RFC 3339 offset.)
        Sort::Recent => return updated_ms(b).cmp(&updated_ms(a)).then_with(|| b.id.cmp(&a.id)),
        Sort::Name => by_name(a, b),
    }
    .then_with(|| a.id.cmp(&b.id))
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// Built-ins with their stored statistics applied.
    async fn builtins_with_stats(&self) -> Result<Vec<WorkflowTemplate>> {
        Ok(self.with_stats(self.store.all_builtin_stats().await?))
    }

    /// The built-ins with their stored statistics (a row that fails its check is left out).
    fn with_stats(&self, stats: Vec<crate::store::Stored<crate::store::BuiltinStats>>) -> Vec<WorkflowTemplate> {
        // A `StrMap`, not a collected `BTreeMap`: its `collect` sorts with a standard-sort
        // instance of its own (BENCHMARKS.md "Size", lever C). A later row of an id wins.
        let mut by_id = StrMap::new();
        for s in stats {
            let id = s.record.id.clone();
            if let Some(checked) = self.builtin_stats_checked(s.record) {
                by_id.insert(id, checked);
            }
        }
        let stats = by_id;
        builtin::all()
            .iter()
            .map(|b| {
                let mut t = b.clone();
                if let Some(s) = stats.get(&t.id) {
                    t.set_stats(s.clone());
                }
                t
            })
            .collect()
    }

    /// Deep pages are cheaper to sort in memory than to read through an index.
    const INDEXED_PAGE_LIMIT: u64 = 2_000;

    /// The common browse request (every visible latest template, no text, tag, owner, category
    /// or type filter) from an ordered index: the first `offset + limit` public templates in
    /// order, merged with the user's own private ones and the built-ins. `None` when the adapter
    /// has no ordered index or the request is not of that shape.
    async fn discover_indexed(&self, o: &DiscoverOptions) -> Result<Option<Page<WorkflowTemplate>>> {
        let plain = o.text.as_ref().is_none_or(|t| t.trim().is_empty())
            && o.tags.is_empty()
            && o.owner.is_none()
            && o.latest_only
            && o.category.is_none()
            && o.workflow_type.is_none()
            && o.offset <= Self::INDEXED_PAGE_LIMIT;
        if !plain {
            return Ok(None);
        }
        let need = o.offset as usize + o.limit;
        let Some(read) = self.store.browse_page(&self.user, o.sort, need, o.include_builtin).await? else { return Ok(None) };
        let (top, public_total) = read.public;
        let public: Vec<WorkflowTemplate> = top.into_iter().map(|s| s.record).collect();
        // The viewer's own private ones: the first `need` from an ordered index where the adapter
        // has one, else all of them (then sorted here).
        let (own, own_total) = match read.private {
            Some((rows, total)) => (rows.into_iter().map(|s| s.record).collect::<Vec<_>>(), Some(total)),
            None => {
                let f = TemplateFilter { owner_id: Some(self.user.clone()), is_latest: Some(true), is_public: Some(false), ..Default::default() };
                let mut all: Vec<WorkflowTemplate> = self.store.find_templates(&f).await?.into_iter().map(|s| s.record).collect();
                crate::sort::sort_by(&mut all, |a, b| order(o.sort, a, b));
                (all, None)
            }
        };
        // The two reads are separate: a template unpublished in between would come twice.
        let before = own.len();
        let own: Vec<WorkflowTemplate> = own.into_iter().filter(|t| !public.iter().any(|p| p.id == t.id)).collect();
        let mut total = public_total + own_total.unwrap_or(before) - (before - own.len());
        let mut builtins = Vec::new();
        if o.include_builtin {
            builtins = self.with_stats(read.builtin_stats);
            total += builtins.len();
            crate::sort::sort_by(&mut builtins, |a, b| order(o.sort, a, b));
        }
        let merged = self.merge_in_order([public, own, builtins], o.sort, need);
        let mut items = Vec::with_capacity(o.limit);
        let mut skipped = 0;
        for (t, checked) in merged.into_iter().skip(o.offset as usize) {
            match checked {
                Ok(()) => items.push(t),
                Err(e) => {
                    self.skip("workflow_templates", &t.id, &e);
                    skipped += 1;
                }
            }
        }
        Ok(Some(Page { items, total, limit: o.limit, offset: o.offset, skipped }))
    }

    /// The first `need` rows of lists that are each in the sort's order (the ordered indexes'
    /// pages, the built-ins), merged, each stored row verified as it comes up. A row that fails
    /// verification keeps the place its list gave it (its stored sort key, which the record the
    /// core reads may not show: a quarantined row, an unreadable timestamp) and is never compared:
    /// so the slice `[offset, offset + limit)` is the same whatever `need` was read, and paging
    /// never loses or repeats an intact row (issue 10, item 1).
    fn merge_in_order<const N: usize>(&self, lists: [Vec<WorkflowTemplate>; N], sort: Sort, need: usize) -> Vec<(WorkflowTemplate, Result<()>)> {
        let mut lists = lists.map(|l| l.into_iter());
        let mut heads: [Option<(WorkflowTemplate, Result<()>)>; N] = std::array::from_fn(|_| None);
        let mut out = Vec::with_capacity(need);
        while out.len() < need {
            for (head, list) in heads.iter_mut().zip(lists.iter_mut()) {
                if head.is_none() {
                    *head = list.next().map(|mut t| {
                        let checked = if t.is_builtin { Ok(()) } else { Self::verify(&mut t) };
                        (t, checked)
                    });
                }
            }
            let next = match heads.iter().position(|h| matches!(h, Some((_, Err(_))))) {
                Some(bad) => Some(bad),
                None => heads
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| h.as_ref().map(|(t, _)| (i, t)))
                    .min_by(|a, b| order(sort, a.1, b.1).then(a.0.cmp(&b.0)))
                    .map(|(i, _)| i),
            };
            match next.and_then(|i| heads[i].take()) {
                Some(row) => out.push(row),
                None => break,
            }
        }
        out
    }

    /// The requested slice of candidates already in order, each stored record verified: one
    /// that fails is left out, counted in `skipped` and reported (never an error for the page).
    fn page(&self, sorted: Vec<WorkflowTemplate>, total: usize, o: &DiscoverOptions) -> Page<WorkflowTemplate> {
        let slice: Vec<WorkflowTemplate> = sorted.into_iter().skip(usize::try_from(o.offset).unwrap_or(usize::MAX)).take(o.limit).collect();
        let mut items = Vec::with_capacity(slice.len());
        let mut skipped = 0;
        for t in slice {
            match t.is_builtin {
                true => items.push(t),
                false => match self.verified(t) {
                    Some(t) => items.push(t),
                    None => skipped += 1,
                },
            }
        }
        Page { items, total, limit: o.limit, offset: o.offset, skipped }
    }

    /// A page the store answers natively (`Store::query_page`), the built-ins merged in by their
    /// sort keys; `None` when the store does not answer (or `owner` is the built-in owner, whose
    /// templates are all in memory). Only the page's stored rows are verified.
    ///
    /// The store is asked for the slice `[offset - m, offset + limit)` of the stored matches,
    /// where `m` bounds how many built-ins can come first (all of them): a stored row's place is
    /// its index plus the built-ins that sort before it; a built-in's is its index among the
    /// built-ins plus the stored rows before it, which the slice tells exactly unless the
    /// built-in sorts before the slice (then its place is before `offset`) or after a full slice
    /// (then at or past `offset + limit`).
    async fn discover_native(&self, o: &DiscoverOptions) -> Result<Option<Page<WorkflowTemplate>>> {
        if o.owner.as_deref() == Some(BUILTIN_OWNER) {
            return Ok(None);
        }
        let with_builtins = o.include_builtin && o.owner.is_none();
        let m = if with_builtins { builtin::all().len() as u64 } else { 0 };
        let s0 = o.offset.saturating_sub(m);
        let q = PageQuery {
            viewer: self.user.clone(),
            text: o.text.as_ref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()),
            category: o.category,
            workflow_type: o.workflow_type,
            tags: o.tags.clone(),
            owner: o.owner.clone(),
            latest_only: o.latest_only,
            sort: o.sort,
            offset: s0,
            limit: (o.offset - s0) as usize + o.limit,
        };
        let Some(PageRows { mut rows, total }) = self.store.query_page(&q).await? else { return Ok(None) };
        rows.truncate(q.limit);
        let mut builtins: Vec<(SortKey, WorkflowTemplate)> = Vec::new();
        if with_builtins {
            for t in self.builtins_with_stats().await? {
                let keep = o.category.is_none_or(|c| c == t.category)
                    && o.workflow_type.is_none_or(|w| w == t.workflow_type)
                    && q.text.as_ref().is_none_or(|x| crate::store::page::text_matches(x, &t))
                    && o.tags.iter().all(|want| t.tags.iter().flatten().any(|have| have.to_lowercase() == *want));
                if keep {
                    builtins.push((SortKey::of(&t), t));
                }
            }
            crate::sort::sort_by(&mut builtins, |a, b| SortKey::compare(o.sort, &a.0, &b.0));
        }
        let before = |a: &SortKey, b: &SortKey| SortKey::compare(o.sort, a, b) == Ordering::Less;
        let full = s0.saturating_add(rows.len() as u64) < total as u64;
        let (first, last) = (rows.first().map(|r| r.key.clone()), rows.last().map(|r| r.key.clone()));
        let mut placed: Vec<(u64, WorkflowTemplate)> = Vec::new();
        let end = o.offset.saturating_add(o.limit as u64);
        for (j, (k, b)) in builtins.iter().enumerate() {
            if s0 > 0 && first.as_ref().is_none_or(|f| before(k, f)) {
                continue;
            }
            if full && last.as_ref().is_none_or(|l| before(l, k)) {
                continue;
            }
            let pos = j as u64 + s0 + rows.iter().filter(|r| before(&r.key, k)).count() as u64;
            if (o.offset..end).contains(&pos) {
                placed.push((pos, b.clone()));
            }
        }
        for (i, r) in rows.into_iter().enumerate() {
            let pos = s0 + i as u64 + builtins.iter().filter(|(k, _)| before(k, &r.key)).count() as u64;
            if (o.offset..end).contains(&pos) {
                placed.push((pos, r.stored.record));
            }
        }
        crate::sort::sort_by(&mut placed, |a, b| a.0.cmp(&b.0));
        let mut items = Vec::with_capacity(placed.len());
        let mut skipped = 0;
        for (_, t) in placed {
            match t.is_builtin {
                true => items.push(t),
                false => match self.verified(t) {
                    Some(t) => items.push(t),
                    None => skipped += 1,
                },
            }
        }
        Ok(Some(Page { items, total: total + builtins.len(), limit: o.limit, offset: o.offset, skipped }))
    }

    pub async fn discover(&self, o: &DiscoverOptions) -> Result<Page<WorkflowTemplate>> {
        if let Some(page) = self.discover_native(o).await? {
            return Ok(page);
        }
        if let Some(page) = self.discover_indexed(o).await? {
            return Ok(page);
        }
        let latest = if o.latest_only { Some(true) } else { None };
        let mut candidates: Vec<WorkflowTemplate> = Vec::new();
        let mut seen = crate::keyed::StrSet::new();
        let mut push = |t: WorkflowTemplate, out: &mut Vec<WorkflowTemplate>| {
            if seen.insert(t.id.clone()) {
                out.push(t);
            }
        };
        let filter = |f: TemplateFilter| TemplateFilter { is_latest: latest, category: o.category, workflow_type: o.workflow_type, ..f };
        match &o.owner {
            Some(owner) if owner == BUILTIN_OWNER => {}
            Some(owner) => {
                let public = if *owner == self.user { None } else { Some(true) };
                for s in self.store.find_templates(&filter(TemplateFilter { owner_id: Some(owner.clone()), is_public: public, ..Default::default() })).await? {
                    push(s.record, &mut candidates);
                }
            }
            None => {
                for s in self.store.find_templates(&filter(TemplateFilter { is_public: Some(true), ..Default::default() })).await? {
                    push(s.record, &mut candidates);
                }
                for s in self.store.find_templates(&filter(TemplateFilter { owner_id: Some(self.user.clone()), ..Default::default() })).await? {
                    push(s.record, &mut candidates);
                }
            }
        }
        if o.include_builtin && o.owner.as_deref().is_none_or(|x| x == BUILTIN_OWNER) {
            for t in self.builtins_with_stats().await? {
                if o.category.is_none_or(|c| c == t.category) && o.workflow_type.is_none_or(|w| w == t.workflow_type) {
                    push(t, &mut candidates);
                }
            }
        }
        let text = o.text.as_ref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
        candidates.retain(|t| {
            (t.is_builtin || t.is_public || t.owner_id == self.user)
                && text.as_ref().is_none_or(|q| t.name.to_lowercase().contains(q) || t.description.to_lowercase().contains(q))
                && o.tags.iter().all(|want| t.tags.iter().flatten().any(|have| have.to_lowercase() == *want))
        });
        crate::sort::sort_by(&mut candidates, |a, b| order(o.sort, a, b));
        let total = candidates.len();
        Ok(self.page(candidates, total, o))
    }

    /// The top `n` public templates (built-ins included) of every category, most used first.
    /// A stored row that fails verification is left out and reported, and the next one in
    /// order takes its place.
    pub async fn popular_by_category(&self, n: usize) -> Result<BTreeMap<&'static str, Vec<WorkflowTemplate>>> {
        if n == 0 || n > 100 {
            return Err(Error::invalid(format!("n must be in 1..=100, got {n}")));
        }
        let mut out = BTreeMap::new();
        let builtins = self.builtins_with_stats().await?;
        for c in TemplateCategory::ALL {
            let mut items: Vec<WorkflowTemplate> = self
                .store
                .find_templates(&TemplateFilter { is_public: Some(true), is_latest: Some(true), category: Some(c), ..Default::default() })
                .await?
                .into_iter()
                .map(|s| s.record)
                .collect();
            items.extend(builtins.iter().filter(|b| b.category == c).cloned());
            crate::sort::sort_by(&mut items, |a, b| order(Sort::Popular, a, b));
            let top: Vec<WorkflowTemplate> =
                items.into_iter().filter_map(|t| if t.is_builtin { Some(t) } else { self.verified(t) }).take(n).collect();
            out.insert(c.as_str(), top);
        }
        Ok(out)
    }
}
