//! The IndexedDB adapter: the embedded default in the browser (windows and workers alike: the
//! factory comes from the global scope).
//!
//! One I/O path: every read and write goes through the request layer of `js/idb.js`
//! (`requests`), which knows nothing of the schema. This module says what to read; `schema`
//! holds the stores, indexes, migrations, opening and `versionchange`; `rows` the row and key
//! shapes; `commit` the one readwrite transaction of a batch.
//!
//! Layout. One object store per table plus what ratings and built-in statistics need. A row is
//! `{ rev, record, name_key, is_public, is_latest, is_builtin, k_* }`: the record exactly as the
//! core models it, its revision, and derived keys for the indexes. Index names are the schema's
//! (13) plus compound ones for the lookups discovery and the uniqueness rule make.

mod commit;
#[doc(hidden)]
pub mod requests;
pub mod rows;
pub mod schema;

use std::cell::RefCell;
use crate::keyed::StrMap;
use std::rc::Rc;

use crate::model::read::FromFields;
use serde_json::{json, Value};

use self::rows::{count, eq, flag, get, half_open, parse_all, parse_some, prefix, query, rating_key, sort_slot};
use self::schema::{Connection, BUILTIN_STATS, COUNTERS, PRIVATE_SORT_INDEXES, PUBLIC_LATEST, PUBLIC_SORT_INDEXES, RATINGS, SPECS, TEMPLATES, TEMPLATE_LABELS, USAGE_TOTALS};
use super::{BuiltinStats, Rating, SpecFilter, Store, Stored, TemplateFilter, Write};
use crate::error::{Error, Result};
use crate::model::{TemplateSpec, WorkflowTemplate};

pub(crate) use self::requests::js_error;
pub use self::rows::sort_keys;
pub use self::schema::{destroy, Health, REFUSED, SCHEMA_VERSION};

pub struct IndexedDbStore {
    conn: Connection,
    name: String,
    /// Base pointers as last read (id -> base id), to predict a chain and request all of it at
    /// once. Only a hint: every row read is checked against the prediction.
    bases: RefCell<StrMap<Option<String>>>,
}

/// Entries the chain hint keeps before it starts over (bounded memory).
const BASE_HINTS: usize = 4096;

impl IndexedDbStore {
    /// Opens (creating or upgrading) the database `name` at this build's schema version.
    pub async fn open(name: &str) -> Result<IndexedDbStore> {
        Self::open_at(name, SCHEMA_VERSION).await
    }

    /// Opens `name` at `version`, running the migrations up to it (`schema::open`). (Public for
    /// tests that simulate an older or a newer release.)
    #[doc(hidden)]
    pub async fn open_at(name: &str, version: u32) -> Result<IndexedDbStore> {
        let conn = schema::open(name, version).await?;
        Ok(IndexedDbStore { conn, name: name.to_string(), bases: RefCell::new(StrMap::new()) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn health(&self) -> Rc<Health> {
        self.conn.health.clone()
    }

    pub fn close(&self) {
        requests::close(&self.conn.db);
    }

    fn check_open(&self) -> Result<()> {
        if self.conn.health.closed_by_other.get() {
            return Err(Error::StorageUnavailable(
                "the database was upgraded or deleted by another tab; this catalog is closed: reload the page".into(),
            ));
        }
        Ok(())
    }

    /// Runs read `ops` in one readonly transaction (every request issued at once).
    async fn read(&self, ops: &[Value]) -> Result<Vec<String>> {
        self.check_open()?;
        requests::read(&self.conn.db, ops).await
    }

    async fn get_one<T: FromFields>(&self, store: &str, key: Value) -> Result<Option<Stored<T>>> {
        let out = self.read(&[get(store, &[key])]).await?;
        Ok(parse_some(&out[0])?.pop().flatten())
    }

    /// Every row of `store` (or its `index`) in `range`, read with one `getAll`.
    async fn get_all<T: FromFields>(&self, store: &str, index: Option<&str>, range: Option<Value>) -> Result<Vec<Stored<T>>> {
        let out = self.read(&[query(store, index, range, None)]).await?;
        parse_all(&out[0])
    }

    /// Remembers the base pointers of rows just read (the chain prediction's hint).
    fn learn(&self, chain: Vec<Stored<WorkflowTemplate>>) -> Vec<Stored<WorkflowTemplate>> {
        let mut bases = self.bases.borrow_mut();
        if bases.len() + chain.len() > BASE_HINTS {
            bases.clear();
        }
        for s in &chain {
            bases.insert(s.record.id.clone(), s.record.base_template_id.clone());
        }
        chain
    }
}

/// A store dropped without `close` must not leave its `versionchange` handler (about to be
/// freed) on a connection that stays open.
impl Drop for IndexedDbStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl Store for IndexedDbStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        self.get_one(TEMPLATES, json!(id)).await
    }

    /// One readonly transaction; every `get` is issued before any is answered, so the reads are
    /// pipelined instead of paying a round trip each (import checks thousands of ids).
    async fn get_templates(&self, ids: &[String]) -> Result<Vec<Option<Stored<WorkflowTemplate>>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Value> = ids.iter().map(|id| json!(id)).collect();
        let out = self.read(&[get(TEMPLATES, &keys)]).await?;
        parse_some(&out[0])
    }

    /// IndexedDB answers each request after a round trip to the browser's storage backend, so a
    /// chain read one link at a time costs 16 round trips for 16 levels. The chain is predicted
    /// from the base pointers this handle read before and every predicted row is requested at
    /// once, in one transaction; the rows are then followed link by link, and from the first row
    /// that breaks the prediction on, the rest is read one by one.
    async fn get_template_chain(&self, id: &str, max: usize) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let stop = |id: &str, out: &[Stored<WorkflowTemplate>]| {
            out.len() >= max || crate::builtin::get(id).is_some() || out.iter().any(|s| s.record.id == id)
        };
        let mut predicted: Vec<String> = vec![id.to_string()];
        {
            let bases = self.bases.borrow();
            while let Some(Some(b)) = predicted.last().and_then(|x| bases.get(x)) {
                if predicted.len() >= max || predicted.contains(b) || crate::builtin::get(b).is_some() {
                    break;
                }
                predicted.push(b.clone());
            }
        }
        let keys: Vec<Value> = predicted.iter().map(|id| json!(id)).collect();
        let out = self.read(&[get(TEMPLATES, &keys)]).await?;
        // Anything unreadable ends the read ahead; the catalog reads that id itself and reports
        // it properly.
        let rows: Vec<Option<Stored<WorkflowTemplate>>> = parse_some(&out[0]).unwrap_or_default();
        let mut out: Vec<Stored<WorkflowTemplate>> = Vec::new();
        let mut next = Some(id.to_string());
        // Follow the rows read ahead while they agree with the links.
        for (want, row) in predicted.iter().zip(rows) {
            let Some(id) = next.take() else { break };
            if *want != id || stop(&id, &out) {
                next = Some(id);
                break;
            }
            let Some(s) = row else { return Ok(self.learn(out)) };
            next = s.record.base_template_id.clone();
            out.push(s);
        }
        // The rest, one link at a time.
        while let Some(id) = next.take() {
            if stop(&id, &out) {
                break;
            }
            let Ok(Some(s)) = self.get_one::<WorkflowTemplate>(TEMPLATES, json!(id)).await else { break };
            next = s.record.base_template_id.clone();
            out.push(s);
        }
        Ok(self.learn(out))
    }

    async fn find_templates(&self, f: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        // The most selective index the filter allows; the rest of the filter is applied after.
        let (index, range) = match f {
            TemplateFilter { owner_id: Some(o), name_key: Some(n), is_latest: Some(l), .. } => ("owner_name_latest", eq(json!([o, n, flag(*l)]))),
            TemplateFilter { owner_id: Some(o), name_key: Some(n), .. } => ("owner_name_latest", prefix(&[json!(o), json!(n)])),
            TemplateFilter { owner_id: Some(o), is_latest: Some(l), .. } => ("owner_latest", eq(json!([o, flag(*l)]))),
            TemplateFilter { owner_id: Some(o), .. } => ("idx_workflow_templates_owner_id", eq(json!(o))),
            TemplateFilter { base_template_id: Some(b), .. } => ("idx_workflow_templates_base_template_id", eq(json!(b))),
            TemplateFilter { config_hash: Some(h), .. } => ("idx_workflow_templates_config_hash", eq(json!(h))),
            TemplateFilter { is_public: Some(p), is_latest: Some(l), category: Some(c), .. } => {
                ("public_latest_category", eq(json!([flag(*p), flag(*l), c.as_str()])))
            }
            TemplateFilter { is_public: Some(p), is_latest: Some(l), workflow_type: Some(w), .. } => {
                ("public_latest_type", eq(json!([flag(*p), flag(*l), w.as_str()])))
            }
            TemplateFilter { is_public: Some(p), is_latest: Some(l), .. } => (PUBLIC_LATEST, eq(json!([flag(*p), flag(*l)]))),
            TemplateFilter { category: Some(c), .. } => ("idx_workflow_templates_category", eq(json!(c.as_str()))),
            TemplateFilter { workflow_type: Some(w), .. } => ("idx_workflow_templates_workflow_type", eq(json!(w.as_str()))),
            TemplateFilter { is_public: Some(p), .. } => ("idx_workflow_templates_is_public", eq(json!(flag(*p)))),
            TemplateFilter { is_latest: Some(l), .. } => ("idx_workflow_templates_is_latest", eq(json!(flag(*l)))),
            _ => {
                let all: Vec<Stored<WorkflowTemplate>> = self.get_all(TEMPLATES, None, None).await?;
                return Ok(all.into_iter().filter(|s| f.matches(&s.record)).collect());
            }
        };
        let rows: Vec<Stored<WorkflowTemplate>> = self.get_all(TEMPLATES, Some(index), Some(range)).await?;
        Ok(rows.into_iter().filter(|s| f.matches(&s.record)).collect())
    }

    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        self.get_one(SPECS, json!(id)).await
    }

    async fn find_specs(&self, f: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        let (index, range) = match f {
            SpecFilter { owner_id: Some(o), name_key: Some(n), .. } => ("owner_name", eq(json!([o, n]))),
            SpecFilter { owner_id: Some(o), .. } => ("idx_template_specs_owner_id", eq(json!(o))),
            SpecFilter { base_template_name: Some(b), .. } => ("idx_template_specs_base_template_name", eq(json!(b))),
            SpecFilter { workflow_type: Some(w), .. } => ("idx_template_specs_workflow_type", eq(json!(w.as_str()))),
            _ => {
                let all: Vec<Stored<TemplateSpec>> = self.get_all(SPECS, None, None).await?;
                return Ok(all.into_iter().filter(|s| f.matches(&s.record)).collect());
            }
        };
        let rows: Vec<Stored<TemplateSpec>> = self.get_all(SPECS, Some(index), Some(range)).await?;
        Ok(rows.into_iter().filter(|s| f.matches(&s.record)).collect())
    }

    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        self.get_one(RATINGS, rating_key(template_id, user_id)).await
    }

    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        let rows: Vec<Stored<Rating>> = match (user_id, template_id) {
            (Some(u), _) => self.get_all(RATINGS, Some("ratings_by_user"), Some(eq(json!(u)))).await?,
            (None, Some(t)) => self.get_all(RATINGS, Some("ratings_by_template"), Some(eq(json!(t)))).await?,
            (None, None) => self.get_all(RATINGS, None, None).await?,
        };
        Ok(rows
            .into_iter()
            .filter(|r| user_id.is_none_or(|u| u == r.record.user_id) && template_id.is_none_or(|t| t == r.record.template_id))
            .collect())
    }

    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        self.get_one(BUILTIN_STATS, json!(id)).await
    }

    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        self.get_all(BUILTIN_STATS, None, None).await
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<super::UsageTotals>>> {
        self.get_one(USAGE_TOTALS, json!(id)).await
    }

    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<super::TemplateLabel>>> {
        let rows: Vec<Stored<super::TemplateLabel>> = match name_key {
            Some(n) => self.get_all(TEMPLATE_LABELS, Some("labels_by_lineage"), Some(eq(json!([owner_id, n])))).await?,
            None => self.get_all(TEMPLATE_LABELS, Some("labels_by_owner"), Some(eq(json!(owner_id)))).await?,
        };
        Ok(rows.into_iter().filter(|l| l.record.owner_id == owner_id && name_key.is_none_or(|n| n == l.record.name_key)).collect())
    }

    /// The browse page's reads in one readonly transaction, every request issued before any is
    /// answered: the public page and its counter, the viewer's private page and its count, the
    /// built-ins' statistics. One round trip to the storage backend instead of three.
    async fn browse_page(&self, owner: &str, sort: crate::store::Sort, n: usize, builtins: bool) -> Result<Option<crate::store::BrowseRead>> {
        // A database from before the counter: no ordered page (the catalog sorts in memory).
        if self.conn.version < schema::COUNTERS_SINCE {
            return Ok(None);
        }
        let slot = sort_slot(sort);
        let has_private = self.conn.version >= schema::PRIVATE_SORT_SINCE;
        let mut ops = vec![
            query(TEMPLATES, Some(PUBLIC_SORT_INDEXES[slot]), Some(half_open(json!([1, 1]), json!([1, 2]))), Some(n)),
            json!({ "op": "get", "store": COUNTERS, "keys": [PUBLIC_LATEST] }),
        ];
        if has_private {
            let private = half_open(json!([owner, 0, 1]), json!([owner, 0, 2]));
            ops.push(query(TEMPLATES, Some(PRIVATE_SORT_INDEXES[slot].0), Some(private.clone()), Some(n)));
            ops.push(count(TEMPLATES, PRIVATE_SORT_INDEXES[slot].0, private));
        }
        if builtins {
            ops.push(query(BUILTIN_STATS, None, None, None));
        }
        let out = self.read(&ops).await?;
        let counter: Value = serde_json::from_str(&out[1]).unwrap_or(Value::Null);
        let Some(public_total) = counter[0]["value"].as_f64() else { return Ok(None) };
        let public = (parse_all(&out[0])?, public_total as usize);
        let private = match has_private {
            true => Some((parse_all(&out[2])?, out[3].parse::<f64>().unwrap_or(0.0) as usize)),
            false => None,
        };
        let builtin_stats = match builtins {
            true => parse_all(out.last().map(String::as_str).unwrap_or("[]"))?,
            false => Vec::new(),
        };
        Ok(Some(crate::store::BrowseRead { public, private, builtin_stats }))
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        self.check_open()?;
        commit::commit(&self.conn.db, writes).await
    }
}
