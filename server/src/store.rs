//! `SqlStore`: the core's storage contract (`workflow_templates::store::Store`) over SQLite or
//! PostgreSQL, mirroring the in-memory reference adapter exactly:
//! - reads by key and by index-backed filters (parameterised SQL over the schema's indexes);
//! - `commit` is one SQL transaction: every write checks the stored `rev` (row locked with
//!   `FOR UPDATE` on PostgreSQL; SQLite holds the database write lock from `BEGIN IMMEDIATE`),
//!   a failed expectation or a broken name-uniqueness rule rolls back everything.
//!
//! Built-in templates have shadow rows (`is_builtin = true`, see `sync_builtins`) only so that the
//! schema's foreign keys hold; every read here skips them, so the store behaves as if they were
//! absent, like every other adapter.
//!
//! The `Store` futures never wait: each method runs its SQL synchronously on the connection the
//! store owns for one request (the server calls the catalog on a blocking thread).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use workflow_templates::builtin;
use workflow_templates::model::{TemplateSpec, WorkflowTemplate};
use workflow_templates::store::{name_key, BuiltinStats, Expect, PageQuery, PageRows, Rating, SpecFilter, Store, Stored, TemplateFilter, TemplateLabel, UsageTotals, Write};
use workflow_templates::{Error, Result};

use crate::db::{int, text, Conn, DbErrorKind, Dialect, Pooled, Row, P};
use crate::{bulk, derived, discover};
use crate::rows::{decode, decode_stats, decode_template, json_param, param_for, params_of, select_list, u, K, LABEL_COLS, QUARANTINED, SPEC_COLS, STATS_COLS, TEMPLATE_COLS, TOTALS_COLS};

/// A claim on an idempotency key, inserted in the same transaction as the first successful
/// commit of the request, so the request's effect and the key stand or fall together.
#[derive(Debug, Clone)]
pub struct IdemClaim {
    pub user_id: String,
    pub key: String,
    pub request_hash: String,
    /// Never forgotten (recordUsage; `idempotency::Idem::permanent`).
    pub permanent: bool,
}

pub struct SqlStore {
    conn: RefCell<Pooled>,
    idem: RefCell<Option<IdemClaim>>,
    /// Set when the claim's key was already taken (by a concurrent twin of this request).
    pub idem_taken: Cell<bool>,
    /// The first record id the claimed commit wrote (a replay of a lost response reads it).
    pub idem_resource: RefCell<Option<String>>,
    /// Successful commits through this store: a create-like request under a chosen id that
    /// committed nothing was a replay (`create_id.rs`, 200 instead of 201).
    pub commits: Cell<u64>,
    /// Ancestors fetched by the recursive chain query of `get_template`, so that walking an
    /// inheritance chain costs one query. Only for a store that lives for one request (the
    /// server's): reads then see the database as of the request, and every commit (successful
    /// or not) clears it, so a retried read-modify-write always reads fresh rows. A long-lived
    /// handle (`SqlStore::new`) has none and reads every row fresh, as the contract wants.
    chain_cache: Option<RefCell<HashMap<String, Stored<WorkflowTemplate>>>>,
}

impl SqlStore {
    /// A long-lived handle: every read goes to the database.
    pub fn new(conn: Pooled) -> Self {
        SqlStore { conn: RefCell::new(conn), idem: RefCell::new(None), idem_taken: Cell::new(false), idem_resource: RefCell::new(None), commits: Cell::new(0), chain_cache: None }
    }

    /// A store for one request: caches inheritance chains between commits, and inserts the
    /// idempotency claim (if any) with its first successful commit.
    pub fn for_request(conn: Pooled, idem: Option<IdemClaim>) -> Self {
        SqlStore { idem: RefCell::new(idem), chain_cache: Some(RefCell::new(HashMap::new())), ..Self::new(conn) }
    }

    pub fn conn(&self) -> std::cell::RefMut<'_, Pooled> {
        self.conn.borrow_mut()
    }

    fn query(&self, sql: &str, params: &[P]) -> Result<Vec<Row>> {
        Ok(self.conn.borrow_mut().query(sql, params)?)
    }

    fn templates_where(&self, wh: &str, params: &[P]) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let sql = format!("SELECT {} FROM workflow_templates WHERE is_builtin = {{b{}}}{} ORDER BY id", select_list(TEMPLATE_COLS), params.len() + 1, wh);
        let mut p = params.to_vec();
        p.push(P::Bool(false));
        self.query(&sql, &p)?.iter().map(decode_template).collect()
    }
}

// ---- commit -------------------------------------------------------------------------------

fn expect_label(e: Expect) -> String {
    match e {
        Expect::Absent => "absent".into(),
        Expect::Rev(r) => format!("rev {r}"),
        Expect::Any => "any".into(),
    }
}

/// The contract's one revision check (shared with every adapter of the core).
use workflow_templates::store::check_expect as check;

fn lock_suffix(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    }
}

/// The stored revision of a row, locked for the rest of the transaction.
fn current_rev(c: &mut Conn, table: &str, key_sql: &str, key: &[P]) -> Result<Option<u64>> {
    let sql = format!("SELECT rev FROM {table} WHERE {key_sql}{}", lock_suffix(c.dialect()));
    let rows = c.query(&sql, key)?;
    Ok(rows.first().and_then(|r| r[0].int()).map(|n| n as u64))
}

/// A unique violation inside a commit means a concurrent writer created the same key first:
/// that is a failed `Absent` expectation.
pub(crate) fn unique_as_conflict(e: crate::db::DbError, id: &str, expect: Expect) -> Error {
    if e.kind == DbErrorKind::Unique {
        Error::Conflict { id: id.to_string(), expected: expect_label(expect), actual: "created concurrently".into() }
    } else {
        e.into()
    }
}

fn upsert(c: &mut Conn, table: &str, cols: &[(&str, K)], extra: &[(&str, K)], values: Vec<P>, key_cols: &[&str], exists: bool) -> std::result::Result<(), crate::db::DbError> {
    let all: Vec<(&str, K)> = cols.iter().chain(extra.iter()).copied().collect();
    let sql = if exists {
        let sets: Vec<String> = all.iter().enumerate().filter(|(_, (n, _))| !key_cols.contains(n)).map(|(i, (n, k))| format!("{n} = {}", param_for(n, *k, i + 1))).collect();
        let wh: Vec<String> = all.iter().enumerate().filter(|(_, (n, _))| key_cols.contains(n)).map(|(i, (n, k))| format!("{n} = {}", param_for(n, *k, i + 1))).collect();
        format!("UPDATE {table} SET {} WHERE {}", sets.join(", "), wh.join(" AND "))
    } else {
        let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
        let ps: Vec<String> = all.iter().enumerate().map(|(i, (n, k))| param_for(n, *k, i + 1)).collect();
        format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), ps.join(", "))
    };
    c.execute(&sql, &values)?;
    Ok(())
}

/// What a commit knows of the template rows it writes: their stored states, read at its start
/// for the whole batch (`derived::stored_states`) and kept current as it writes, and the counter
/// moves it owes `discover_counts`, and the new template rows waiting for a multi-row INSERT
/// (`crate::bulk`). An import of thousands of records then costs a few statements per 256
/// records instead of two per record.
struct Batch {
    templates: HashMap<String, Option<derived::StoredState>>,
    counts: derived::CountMoves,
    new: bulk::NewTemplates,
}

impl Batch {
    fn template(&mut self, c: &mut Conn, id: &str) -> Result<Option<derived::StoredState>> {
        if let Some(s) = self.templates.get(id) {
            return Ok(s.clone());
        }
        let s = derived::stored_states(c, &BTreeSet::from([id]))?.remove(id);
        self.templates.insert(id.to_string(), s.clone());
        Ok(s)
    }
}

fn apply(c: &mut Conn, w: &Write, batch: &mut Batch) -> Result<()> {
    if !matches!(w, Write::PutTemplate { .. }) {
        // The queued new rows go first: this write may read or refer to them.
        batch.new.flush(c)?;
    }
    match w {
        Write::PutTemplate { record, expect } => {
            let expect = *expect;
            if record.config_hash == QUARANTINED {
                // An edit that rewrites a whole lineage (rename) or promotes the next version
                // met a row that cannot be read: refuse rather than lose it (its owner deletes
                // it, or replaces it by import, first).
                return Err(Error::Integrity { id: record.id.clone(), message: "a stored row that cannot be read is never rewritten; delete it or replace it by import first".into() });
            }
            let state = batch.template(c, &record.id)?;
            let cur = state.as_ref().map(|s| s.0);
            if cur.is_none() && builtin::is_builtin_id(&record.id) {
                return Err(Error::BuiltinReadOnly { id: record.id.clone() });
            }
            let rev = check(expect, cur, &record.id)?;
            let counted = state.and_then(|s| s.1);
            let mut values = params_of(TEMPLATE_COLS, &record.to_value());
            values.push(u(rev));
            values.push(text(name_key(&record.name)));
            values.extend(derived::derived_values(record));
            if cur.is_none() {
                batch.new.add(c, bulk::NewRow { id: record.id.clone(), expect, values, tags: derived::tag_keys(record) })?;
            } else {
                batch.new.flush(c)?;
                let cols = bulk::template_columns();
                upsert(c, "workflow_templates", &cols, &[], values, &["id"], true).map_err(|e| unique_as_conflict(e, &record.id, expect))?;
                derived::write_tags(c, record)?;
            }
            let bucket = derived::bucket_of(record);
            batch.counts.moved(counted, bucket.clone());
            batch.templates.insert(record.id.clone(), Some((rev, bucket)));
        }
        Write::DeleteTemplate { id, expect } => {
            let state = batch.template(c, id)?;
            check(*expect, state.as_ref().map(|s| s.0), id)?;
            if let Some((_, counted)) = state {
                batch.counts.moved(counted, None);
                derived::delete_tags(c, id)?;
                c.execute("DELETE FROM workflow_templates WHERE id = {t1} AND is_builtin = {b2}", &[text(id), P::Bool(false)])?;
                batch.templates.insert(id.clone(), None);
            }
        }
        Write::PutSpec { record, expect } => {
            let cur = current_rev(c, "template_specs", "id = {t1}", &[text(&record.id)])?;
            let rev = check(*expect, cur, &record.id)?;
            let mut values = params_of(SPEC_COLS, &record.to_value());
            values.push(u(rev));
            upsert(c, "template_specs", SPEC_COLS, &[("rev", K::Int)], values, &["id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.id, *expect))?;
        }
        Write::DeleteSpec { id, expect } => {
            let cur = current_rev(c, "template_specs", "id = {t1}", &[text(id)])?;
            check(*expect, cur, id)?;
            if cur.is_some() {
                c.execute("DELETE FROM template_specs WHERE id = {t1}", &[text(id)])?;
            }
        }
        Write::PutRating { record, expect } => {
            let key = [text(&record.template_id), text(&record.user_id)];
            let cur = current_rev(c, "template_ratings", "template_id = {t1} AND user_id = {t2}", &key)?;
            let rev = check(*expect, cur, &record.template_id)?;
            let cols: &[(&str, K)] = &[("template_id", K::Text), ("user_id", K::Text), ("stars", K::Real), ("updated_at", K::Text), ("rev", K::Int)];
            let values = vec![text(&record.template_id), text(&record.user_id), P::Real(Some(record.stars)), text(&record.updated_at), u(rev)];
            upsert(c, "template_ratings", cols, &[], values, &["template_id", "user_id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.template_id, *expect))?;
        }
        Write::DeleteRating { template_id, user_id } => {
            c.execute("DELETE FROM template_ratings WHERE template_id = {t1} AND user_id = {t2}", &[text(template_id), text(user_id)])?;
        }
        Write::PutBuiltinStats { record, expect } => {
            if !builtin::is_builtin_id(&record.id) {
                return Err(Error::invalid(format!("{} is not a built-in template", record.id)));
            }
            let cur = current_rev(c, "builtin_template_stats", "id = {t1}", &[text(&record.id)])?;
            let rev = check(*expect, cur, &record.id)?;
            let mut v = serde_json::to_value(&record.stats).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("id".into(), Value::String(record.id.clone()));
            }
            let mut values = params_of(STATS_COLS, &v);
            values.push(u(rev));
            upsert(c, "builtin_template_stats", STATS_COLS, &[("rev", K::Int)], values, &["id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.id, *expect))?;
        }
        Write::PutUsageTotals { record } => {
            let cur = current_rev(c, "usage_totals", "id = {t1}", &[text(&record.id)])?;
            let rev = check(Expect::Any, cur, &record.id)?;
            let values = vec![text(&record.id), u(record.usage_count), u(record.successes), u(record.response_time_ms), json_param(&record.cost_sum), u(rev)];
            upsert(c, "usage_totals", TOTALS_COLS, &[("rev", K::Int)], values, &["id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.id, Expect::Any))?;
        }
        Write::DeleteUsageTotals { id } => {
            c.execute("DELETE FROM usage_totals WHERE id = {t1}", &[text(id)])?;
        }
        Write::PutLabel { record, expect } => {
            let key = record.key();
            let pk = [text(&record.owner_id), text(&record.name_key), text(&record.label)];
            let cur = current_rev(c, "template_labels", "owner_id = {t1} AND name_key = {t2} AND label = {t3}", &pk)?;
            let rev = check(*expect, cur, &key)?;
            let values = vec![text(&record.owner_id), text(&record.name_key), text(&record.label), text(&record.template_id), u(record.version), text(&record.updated_at), u(rev)];
            upsert(c, "template_labels", LABEL_COLS, &[("rev", K::Int)], values, &["owner_id", "name_key", "label"], cur.is_some()).map_err(|e| unique_as_conflict(e, &key, *expect))?;
        }
        Write::DeleteLabel { key, expect } => {
            // The key is `{owner}:{label}:{name_key}` (TemplateLabel::key): owner and label hold no ':'.
            let mut parts = key.splitn(3, ':');
            let (Some(owner), Some(label), Some(nk)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(Error::invalid(format!("{key:?} is not a label key")));
            };
            let pk = [text(owner), text(nk), text(label)];
            let cur = current_rev(c, "template_labels", "owner_id = {t1} AND name_key = {t2} AND label = {t3}", &pk)?;
            check(*expect, cur, key)?;
            if cur.is_some() {
                c.execute("DELETE FROM template_labels WHERE owner_id = {t1} AND name_key = {t2} AND label = {t3}", &pk)?;
            }
        }
    }
    Ok(())
}

/// At most one latest template per (owner, name key) among the pairs a batch wrote (only a
/// written record can add a latest row to a pair: a rename moves a record to the pair it is
/// written under, and the pair it left only loses one). On PostgreSQL the owners' user rows are
/// locked first (in id order), so two transactions that could break the rule for one owner
/// check it one after the other, each seeing the other's committed rows. Only the written name
/// keys are read, so a batch's check costs what it wrote, not what its owners hold (an import of
/// thousands of records, issue 13's seeding).
fn check_unique(c: &mut Conn, keys: &BTreeMap<String, BTreeSet<String>>) -> Result<()> {
    for owner in keys.keys() {
        if c.dialect() == Dialect::Postgres {
            c.query("SELECT id FROM users WHERE id = {t1} FOR NO KEY UPDATE", &[text(owner)])?;
        }
    }
    for (owner, names) in keys {
        let names: Vec<&String> = names.iter().collect();
        for chunk in names.chunks(500) {
            let mut p = vec![text(owner), P::Bool(true), P::Bool(false)];
            let mut list = Vec::with_capacity(chunk.len());
            for k in chunk {
                p.push(text(k.as_str()));
                list.push(format!("{{t{}}}", p.len()));
            }
            let sql = format!(
                "SELECT name_key, MIN(name) FROM workflow_templates WHERE owner_id = {{t1}} AND is_latest = {{b2}} AND is_builtin = {{b3}} AND name_key IN ({}) GROUP BY name_key HAVING COUNT(*) > 1",
                list.join(", ")
            );
            if let Some(r) = c.query(&sql, &p)?.first() {
                return Err(Error::NameTaken { name: r[1].text().unwrap_or_default().to_string() });
            }
        }
    }
    Ok(())
}

fn first_id(w: &Write) -> Option<String> {
    match w {
        Write::PutTemplate { record, .. } => Some(record.id.clone()),
        Write::PutSpec { record, .. } => Some(record.id.clone()),
        Write::PutRating { record, .. } => Some(record.template_id.clone()),
        Write::PutBuiltinStats { record, .. } => Some(record.id.clone()),
        Write::DeleteTemplate { id, .. } | Write::DeleteSpec { id, .. } => Some(id.clone()),
        Write::DeleteRating { template_id, .. } => Some(template_id.clone()),
        Write::PutUsageTotals { .. } | Write::DeleteUsageTotals { .. } | Write::PutLabel { .. } | Write::DeleteLabel { .. } => None,
    }
}

impl Store for SqlStore {
    /// `wt_record_ids` (migration 010) keeps every id a record held; one no record holds now
    /// was deleted. Its insert triggers refuse the id in any later commit.
    async fn retired_id(&self, id: &str) -> Result<Option<String>> {
        let rows = self.query(
            "SELECT owner_id FROM wt_record_ids r WHERE r.id = {t1} \
             AND NOT EXISTS (SELECT 1 FROM workflow_templates w WHERE w.id = r.id) AND NOT EXISTS (SELECT 1 FROM template_specs s WHERE s.id = r.id)",
            &[text(id)],
        )?;
        Ok(rows.first().and_then(|r| r[0].text()).map(str::to_string))
    }
    /// The seed's recursive inheritance query: the template and its stored ancestors (built-ins
    /// end the walk; they live in memory), at most 17 levels (the core refuses deeper chains).
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        let Some(cache) = &self.chain_cache else {
            return Ok(self.templates_where(" AND id = {t1}", &[text(id)])?.into_iter().next());
        };
        if let Some(s) = cache.borrow().get(id) {
            return Ok(Some(s.clone()));
        }
        let sql = format!(
            "WITH RECURSIVE template_chain AS ( \
               SELECT w.*, 0 AS level FROM workflow_templates w WHERE w.id = {{t1}} AND w.is_builtin = {{b2}} \
               UNION ALL \
               SELECT w.*, tc.level + 1 FROM workflow_templates w JOIN template_chain tc ON w.id = tc.base_template_id \
               WHERE w.is_builtin = {{b2}} AND tc.level < {} \
             ) SELECT {} FROM template_chain ORDER BY level",
            workflow_templates::inherit::MAX_DEPTH,
            select_list(TEMPLATE_COLS)
        );
        let rows = self.query(&sql, &[text(id), P::Bool(false)])?;
        let mut first = None;
        for r in &rows {
            let s = decode_template(r)?;
            if first.is_none() {
                first = Some(s.clone());
            }
            cache.borrow_mut().insert(s.record.id.clone(), s);
        }
        Ok(first)
    }

    async fn find_templates(&self, f: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let mut wh = String::new();
        let mut p: Vec<P> = Vec::new();
        let mut add = |col: &str, value: P, ph: &str| {
            p.push(value);
            let n = p.len();
            wh.push_str(&format!(" AND {col} = {}", ph.replace('N', &n.to_string())));
        };
        if let Some(o) = &f.owner_id {
            add("owner_id", text(o), "{tN}");
        }
        if let Some(k) = &f.name_key {
            add("name_key", text(k), "{tN}");
        }
        if let Some(b) = &f.base_template_id {
            add("base_template_id", text(b), "{tN}");
        }
        if let Some(x) = f.is_public {
            add("is_public", P::Bool(x), "{bN}");
        }
        if let Some(x) = f.is_latest {
            add("is_latest", P::Bool(x), "{bN}");
        }
        if let Some(c) = f.category {
            add("category", text(c.as_str()), "{e:templatecategory:N}");
        }
        if let Some(w) = f.workflow_type {
            add("workflow_type", text(w.as_str()), "{e:workflowtype:N}");
        }
        if let Some(h) = &f.config_hash {
            add("config_hash", text(h), "{tN}");
        }
        let out = self.templates_where(&wh, &p)?;
        // The SQL is the filter; this re-check costs nothing and keeps the contract exact.
        Ok(out.into_iter().filter(|s| f.matches(&s.record)).collect())
    }

    /// A discovery page in SQL (`crate::discover`): only the page's rows are read and decoded.
    async fn query_page(&self, q: &PageQuery) -> Result<Option<PageRows>> {
        Ok(Some(discover::query_page(&mut self.conn.borrow_mut(), q)?))
    }

    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        let sql = format!("SELECT {} FROM template_specs WHERE id = {{t1}}", select_list(SPEC_COLS));
        self.query(&sql, &[text(id)])?.first().map(|r| decode("template_specs", SPEC_COLS, r)).transpose()
    }

    async fn find_specs(&self, f: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        let mut wh = String::from(" WHERE 1 = 1");
        let mut p: Vec<P> = Vec::new();
        if let Some(o) = &f.owner_id {
            p.push(text(o));
            wh.push_str(&format!(" AND owner_id = {{t{}}}", p.len()));
        }
        if let Some(b) = &f.base_template_name {
            p.push(text(b));
            wh.push_str(&format!(" AND base_template_name = {{t{}}}", p.len()));
        }
        if let Some(w) = f.workflow_type {
            p.push(text(w.as_str()));
            wh.push_str(&format!(" AND workflow_type = {{e:workflowtype:{}}}", p.len()));
        }
        let sql = format!("SELECT {} FROM template_specs{wh} ORDER BY id", select_list(SPEC_COLS));
        let rows = self.query(&sql, &p)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let s: Stored<TemplateSpec> = decode("template_specs", SPEC_COLS, r)?;
            if f.matches(&s.record) {
                out.push(s);
            }
        }
        Ok(out)
    }

    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        Ok(self.find_ratings(Some(user_id), Some(template_id)).await?.into_iter().next())
    }

    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        let mut wh = String::from(" WHERE 1 = 1");
        let mut p: Vec<P> = Vec::new();
        if let Some(u) = user_id {
            p.push(text(u));
            wh.push_str(&format!(" AND user_id = {{t{}}}", p.len()));
        }
        if let Some(t) = template_id {
            p.push(text(t));
            wh.push_str(&format!(" AND template_id = {{t{}}}", p.len()));
        }
        let sql = format!("SELECT rev, template_id, user_id, stars, {{tso:updated_at}} FROM template_ratings{wh} ORDER BY template_id, user_id");
        let cols: &[(&str, K)] = &[("template_id", K::Text), ("user_id", K::Text), ("stars", K::Real), ("updated_at", K::Text)];
        self.query(&sql, &p)?.iter().map(|r| decode("template_ratings", cols, r)).collect()
    }

    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        let sql = format!("SELECT {} FROM builtin_template_stats WHERE id = {{t1}}", select_list(STATS_COLS));
        self.query(&sql, &[text(id)])?.first().map(decode_stats).transpose()
    }

    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        let sql = format!("SELECT {} FROM builtin_template_stats ORDER BY id", select_list(STATS_COLS));
        self.query(&sql, &[])?.iter().map(decode_stats).collect()
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>> {
        let sql = format!("SELECT {} FROM usage_totals WHERE id = {{t1}}", select_list(TOTALS_COLS));
        self.query(&sql, &[text(id)])?.first().map(|r| decode("usage_totals", TOTALS_COLS, r)).transpose()
    }

    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<TemplateLabel>>> {
        let (sql, params) = match name_key {
            Some(n) => (format!("SELECT {} FROM template_labels WHERE owner_id = {{t1}} AND name_key = {{t2}} ORDER BY label", select_list(LABEL_COLS)), vec![text(owner_id), text(n)]),
            None => (format!("SELECT {} FROM template_labels WHERE owner_id = {{t1}} ORDER BY name_key, label", select_list(LABEL_COLS)), vec![text(owner_id)]),
        };
        self.query(&sql, &params)?.iter().map(|r| decode("template_labels", LABEL_COLS, r)).collect()
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        if let Some(c) = &self.chain_cache {
            c.borrow_mut().clear();
        }
        let mut conn = self.conn.borrow_mut();
        let c: &mut Conn = &mut conn;
        let claim = self.idem.borrow().clone();
        let resource = writes.first().and_then(first_id);
        let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for w in &writes {
            if let Write::PutTemplate { record, .. } = w {
                owners.entry(record.owner_id.clone()).or_default().insert(name_key(&record.name));
            }
        }
        let taken = Cell::new(false);
        // New template rows go many per statement; a unique violation there names no row, so
        // the commit then runs once more with one row per statement (crate::bulk).
        let mut many = true;
        let result = loop {
            let unique_in_batch = Cell::new(false);
            let result = c.transaction(|c| -> Result<()> {
            let ids: BTreeSet<&str> = writes
                .iter()
                .filter_map(|w| match w {
                    Write::PutTemplate { record, .. } => Some(record.id.as_str()),
                    Write::DeleteTemplate { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            let templates = derived::stored_states(c, &ids)?.into_iter().map(|(id, s)| (id, Some(s))).collect::<HashMap<_, _>>();
            let mut batch = Batch { templates, counts: Default::default(), new: bulk::NewTemplates::new(many) };
            for id in ids {
                batch.templates.entry(id.to_string()).or_insert(None);
            }
            let applied = writes.iter().try_for_each(|w| apply(c, w, &mut batch)).and_then(|()| batch.new.flush(c));
            unique_in_batch.set(batch.new.unique_in_batch);
            applied?;
            batch.counts.apply(c)?;
            check_unique(c, &owners)?;
            if let Some(claim) = &claim {
                let ins = c.execute(
                    "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, resource_id, permanent) VALUES ({t1}, {t2}, {t3}, {t4}, {b5})",
                    &[text(&claim.user_id), text(&claim.key), text(&claim.request_hash), P::Text(resource.clone()), P::Bool(claim.permanent)],
                );
                if let Err(e) = ins {
                    if e.kind == DbErrorKind::Unique {
                        taken.set(true);
                        return Err(Error::StorageUnavailable("this Idempotency-Key is being used by a concurrent request".into()));
                    }
                    return Err(e.into());
                }
            }
            // Last, right before COMMIT: number the change rows in commit order (feed.rs).
            crate::feed::finish_write(c)?;
            Ok(())
            });
            if unique_in_batch.get() && many {
                many = false;
                continue;
            }
            break result;
        };
        if result.is_ok() && claim.is_some() {
            // The key is spent: later commits of this request (none in practice) are plain.
            *self.idem.borrow_mut() = None;
            *self.idem_resource.borrow_mut() = resource;
        }
        if taken.get() {
            self.idem_taken.set(true);
        }
        if result.is_ok() {
            self.commits.set(self.commits.get() + 1);
        }
        result
    }
}

/// Writes (or refreshes) the shadow row of every built-in template, so that foreign keys to
/// built-ins (a derived template's base, a rating, built-in statistics) hold. Reads skip them.
pub fn sync_builtins(c: &mut Conn) -> Result<()> {
    c.transaction(|c| -> Result<()> {
        // Processes starting together read "absent" at once and would both insert.
        crate::migrations::schema_lock(c)?;
        for b in builtin::all() {
            let cur = c.query("SELECT rev FROM workflow_templates WHERE id = {t1}", &[text(&b.id)])?;
            let mut values = params_of(TEMPLATE_COLS, &b.to_value());
            values.push(int(1));
            values.push(text(name_key(&b.name)));
            upsert(c, "workflow_templates", TEMPLATE_COLS, &[("rev", K::Int), ("name_key", K::Text)], values, &["id"], !cur.is_empty())?;
        }
        Ok(())
    })
}
