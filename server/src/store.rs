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
use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};
use workflow_templates::builtin;
use workflow_templates::catalog::Sort;
use workflow_templates::model::{TemplateSpec, UsageStats, WorkflowTemplate};
use workflow_templates::store::{name_key, BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, TemplateLabel, UsageTotals, Write};
use workflow_templates::{Error, Result};

use crate::db::{int, text, Conn, DbErrorKind, Dialect, Pooled, Row, P, V};

/// Column kinds, for turning a row into the JSON the core's record types deserialise from.
#[derive(Clone, Copy)]
enum K {
    Text,
    Int,
    Real,
    Bool,
    Json,
}

const TEMPLATE_COLS: &[(&str, K)] = &[
    ("id", K::Text),
    ("created_at", K::Text),
    ("updated_at", K::Text),
    ("owner_id", K::Text),
    ("name", K::Text),
    ("description", K::Text),
    ("workflow_type", K::Text),
    ("category", K::Text),
    ("default_params", K::Json),
    ("required_tools", K::Json),
    ("required_retrievers", K::Json),
    ("base_template_id", K::Text),
    ("is_builtin", K::Bool),
    ("version", K::Int),
    ("is_latest", K::Bool),
    ("changelog", K::Text),
    ("is_public", K::Bool),
    ("rating", K::Real),
    ("rating_count", K::Int),
    ("usage_count", K::Int),
    ("success_rate", K::Real),
    ("avg_response_time_ms", K::Int),
    ("last_used_at", K::Text),
    ("total_tokens_used", K::Int),
    ("total_cost", K::Real),
    ("avg_tokens_per_use", K::Real),
    ("tags", K::Json),
    ("extra_metadata", K::Json),
    ("config_hash", K::Text),
    ("estimated_complexity", K::Int),
];

const SPEC_COLS: &[(&str, K)] = &[
    ("id", K::Text),
    ("created_at", K::Text),
    ("updated_at", K::Text),
    ("owner_id", K::Text),
    ("name", K::Text),
    ("description", K::Text),
    ("workflow_type", K::Text),
    ("default_params", K::Json),
    ("required_tools", K::Json),
    ("required_retrievers", K::Json),
    ("base_template_name", K::Text),
    ("usage_count", K::Int),
    ("last_used_at", K::Text),
    ("tags", K::Json),
    ("extra_metadata", K::Json),
];

const STATS_COLS: &[(&str, K)] = &[
    ("id", K::Text),
    ("rating", K::Real),
    ("rating_count", K::Int),
    ("usage_count", K::Int),
    ("success_rate", K::Real),
    ("avg_response_time_ms", K::Int),
    ("last_used_at", K::Text),
    ("total_tokens_used", K::Int),
    ("total_cost", K::Real),
    ("avg_tokens_per_use", K::Real),
];

const TOTALS_COLS: &[(&str, K)] = &[("id", K::Text), ("usage_count", K::Int), ("successes", K::Int), ("response_time_ms", K::Int), ("cost_sum", K::Json)];
const LABEL_COLS: &[(&str, K)] =
    &[("owner_id", K::Text), ("name_key", K::Text), ("label", K::Text), ("template_id", K::Text), ("version", K::Int), ("updated_at", K::Text)];

const TIMESTAMPS: &[&str] = &["created_at", "updated_at", "last_used_at"];
const ENUMS: &[(&str, &str)] = &[("workflow_type", "workflowtype"), ("category", "templatecategory")];

/// The select list of a table: `rev` first, then the record's columns (converted to text where
/// PostgreSQL has richer types).
fn select_list(cols: &[(&str, K)]) -> String {
    let mut s = String::from("rev");
    for (name, kind) in cols {
        s.push_str(", ");
        if TIMESTAMPS.contains(name) {
            s.push_str(&format!("{{tso:{name}}}"));
        } else if ENUMS.iter().any(|(c, _)| c == name) {
            s.push_str(&format!("{{eo:{name}}}"));
        } else if matches!(kind, K::Json) {
            s.push_str(&format!("{{jo:{name}}}"));
        } else {
            s.push_str(name);
        }
    }
    s
}

/// The placeholder for column `name` bound as parameter `n`.
fn param_for(name: &str, kind: K, n: usize) -> String {
    if TIMESTAMPS.contains(&name) {
        return format!("{{ts{n}}}");
    }
    if let Some((_, ty)) = ENUMS.iter().find(|(c, _)| *c == name) {
        return format!("{{e:{ty}:{n}}}");
    }
    match kind {
        K::Text => format!("{{t{n}}}"),
        K::Int => format!("{{i{n}}}"),
        K::Real => format!("{{f{n}}}"),
        K::Bool => format!("{{b{n}}}"),
        K::Json => format!("{{j{n}}}"),
    }
}

fn integrity(table: &str, msg: impl std::fmt::Display) -> Error {
    Error::Integrity { id: String::new(), message: format!("a {table} row could not be read: {msg}") }
}

/// A row (rev first) into `(rev, JSON object of the record)`.
fn row_value(table: &str, cols: &[(&str, K)], row: &Row) -> Result<(u64, Value)> {
    let rev = row.first().and_then(V::int).ok_or_else(|| integrity(table, "rev is missing"))? as u64;
    let mut m = Map::new();
    for (i, (name, kind)) in cols.iter().enumerate() {
        let v = &row[i + 1];
        let j = match (v, kind) {
            (V::Null, _) => Value::Null,
            (_, K::Text) => Value::String(v.text().ok_or_else(|| integrity(table, format!("{name} is not text")))?.to_string()),
            (_, K::Int) => {
                let n = v.int().ok_or_else(|| integrity(table, format!("{name} is not an integer")))?;
                if n < 0 {
                    Value::from(n)
                } else {
                    Value::from(n as u64)
                }
            }
            (_, K::Real) => {
                let f = v.real().ok_or_else(|| integrity(table, format!("{name} is not a number")))?;
                serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(|| integrity(table, format!("{name} is not finite")))?
            }
            (_, K::Bool) => Value::Bool(v.bool().ok_or_else(|| integrity(table, format!("{name} is not a boolean")))?),
            (_, K::Json) => {
                let t = v.text().ok_or_else(|| integrity(table, format!("{name} is not JSON text")))?;
                serde_json::from_str(t).map_err(|e| integrity(table, format!("{name}: {e}")))?
            }
        };
        m.insert(name.to_string(), j);
    }
    Ok((rev, Value::Object(m)))
}

fn decode<T: serde::de::DeserializeOwned>(table: &str, cols: &[(&str, K)], row: &Row) -> Result<Stored<T>> {
    let (rev, v) = row_value(table, cols, row)?;
    let id = v.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let record = serde_json::from_value(v).map_err(|e| Error::Integrity { id, message: format!("stored {table} row: {e}") })?;
    Ok(Stored { rev, record })
}

/// A template row (rev first, then TEMPLATE_COLS) into the record. A row that cannot be read
/// as a record (a negative counter, a broken JSON column, an unknown enum label: written behind
/// the server's back) is not an error for the whole read, which would turn every list holding
/// it into a 500 for everyone (issue 10 item 1): it becomes a quarantined record that the core's
/// verification refuses, so lists leave it out and count it, a direct read is INTEGRITY, and its
/// owner can still delete it (or replace it by import: its revision is kept when readable).
fn decode_template(r: &Row) -> Result<Stored<WorkflowTemplate>> {
    decode_template_strict(r).or_else(|e| quarantined(r, &e))
}

/// The `config_hash` of a quarantined record: the placeholder stands for a row that could not be
/// read, so it is never written back (that would replace what is stored with defaults).
const QUARANTINED: &str = "unreadable row";

fn quarantined(r: &Row, why: &Error) -> Result<Stored<WorkflowTemplate>> {
    use workflow_templates::{TemplateCategory, WorkflowType};
    let col = |name: &str| TEMPLATE_COLS.iter().position(|(c, _)| *c == name).and_then(|i| r.get(i + 1));
    let txt = |name: &str| col(name).and_then(V::text).map(str::to_string);
    let flag = |name: &str| col(name).and_then(V::bool).unwrap_or(false);
    let Some(id) = txt("id") else { return Err(why.clone()) };
    eprintln!("stored workflow_templates row {id} cannot be read as a record ({why}): it is left out of lists");
    let mut t = WorkflowTemplate::with_defaults(id, txt("owner_id").unwrap_or_default(), txt("updated_at").unwrap_or_default());
    t.name = txt("name").unwrap_or_default();
    t.description = txt("description").unwrap_or_default();
    t.is_public = flag("is_public");
    t.is_latest = flag("is_latest");
    t.base_template_id = txt("base_template_id");
    t.version = col("version").and_then(V::int).filter(|n| *n > 0).unwrap_or(1) as u64;
    t.category = txt("category").and_then(|c| TemplateCategory::parse(&c)).unwrap_or_default();
    t.workflow_type = txt("workflow_type").and_then(|w| WorkflowType::parse(&w)).unwrap_or(WorkflowType::Plain);
    // Never a valid SHA-256: the core's verification refuses the record.
    t.config_hash = QUARANTINED.into();
    let rev = r.first().and_then(V::int).filter(|n| *n >= 0).unwrap_or(0) as u64;
    Ok(Stored { rev, record: t })
}

fn decode_template_strict(r: &Row) -> Result<Stored<WorkflowTemplate>> {
    use workflow_templates::{TemplateCategory, WorkflowType};
    let id = r.get(1).and_then(V::text).unwrap_or_default().to_string();
    let bad = |col: &str| Error::Integrity { id: id.clone(), message: format!("stored workflow_templates row: {col} is malformed") };
    if r.len() != TEMPLATE_COLS.len() + 1 {
        return Err(bad("the row"));
    }
    // Columns are read in TEMPLATE_COLS order (the struct literal below lists them in it).
    let pos = std::cell::Cell::new(0usize);
    let at = |name: &str| -> &V {
        let i = pos.get() + 1;
        pos.set(i);
        assert_eq!(TEMPLATE_COLS[i - 1].0, name, "decode_template reads columns in order");
        &r[i]
    };
    let text = |name: &str| -> Result<String> { at(name).text().map(str::to_string).ok_or_else(|| bad(name)) };
    let opt_text = |name: &str| -> Result<Option<String>> {
        match at(name) {
            V::Null => Ok(None),
            v => v.text().map(|s| Some(s.to_string())).ok_or_else(|| bad(name)),
        }
    };
    let uint = |name: &str| -> Result<u64> { at(name).int().filter(|n| *n >= 0).map(|n| n as u64).ok_or_else(|| bad(name)) };
    let opt_uint = |name: &str| -> Result<Option<u64>> {
        match at(name) {
            V::Null => Ok(None),
            v => v.int().filter(|n| *n >= 0).map(|n| Some(n as u64)).ok_or_else(|| bad(name)),
        }
    };
    let real = |name: &str| -> Result<f64> { at(name).real().ok_or_else(|| bad(name)) };
    let opt_real = |name: &str| -> Result<Option<f64>> {
        match at(name) {
            V::Null => Ok(None),
            v => v.real().map(Some).ok_or_else(|| bad(name)),
        }
    };
    let boolean = |name: &str| -> Result<bool> { at(name).bool().ok_or_else(|| bad(name)) };
    fn json<T: serde::de::DeserializeOwned>(v: &V) -> Option<Option<T>> {
        match v {
            V::Null => Some(None),
            V::Text(t) => serde_json::from_str::<Option<T>>(t).ok(),
            _ => None,
        }
    }
    let rev = r[0].int().filter(|n| *n >= 0).ok_or_else(|| bad("rev"))? as u64;
    let record = WorkflowTemplate {
        id: text("id")?,
        created_at: text("created_at")?,
        updated_at: text("updated_at")?,
        owner_id: text("owner_id")?,
        name: text("name")?,
        description: text("description")?,
        workflow_type: WorkflowType::parse(&text("workflow_type")?).ok_or_else(|| bad("workflow_type"))?,
        category: TemplateCategory::parse(&text("category")?).ok_or_else(|| bad("category"))?,
        default_params: json::<Map<String, Value>>(at("default_params")).flatten().ok_or_else(|| bad("default_params"))?,
        required_tools: json(at("required_tools")).ok_or_else(|| bad("required_tools"))?,
        required_retrievers: json(at("required_retrievers")).ok_or_else(|| bad("required_retrievers"))?,
        base_template_id: opt_text("base_template_id")?,
        is_builtin: boolean("is_builtin")?,
        version: uint("version")?,
        is_latest: boolean("is_latest")?,
        changelog: opt_text("changelog")?,
        is_public: boolean("is_public")?,
        rating: opt_real("rating")?,
        rating_count: uint("rating_count")?,
        usage_count: uint("usage_count")?,
        success_rate: opt_real("success_rate")?,
        avg_response_time_ms: opt_uint("avg_response_time_ms")?,
        last_used_at: opt_text("last_used_at")?,
        total_tokens_used: uint("total_tokens_used")?,
        total_cost: real("total_cost")?,
        avg_tokens_per_use: opt_real("avg_tokens_per_use")?,
        tags: json(at("tags")).ok_or_else(|| bad("tags"))?,
        extra_metadata: json(at("extra_metadata")).ok_or_else(|| bad("extra_metadata"))?,
        config_hash: text("config_hash")?,
        estimated_complexity: opt_uint("estimated_complexity")?,
    };
    Ok(Stored { rev, record })
}

fn json_param(v: &impl serde::Serialize) -> P {
    match serde_json::to_value(v) {
        Ok(Value::Null) | Err(_) => P::Text(None),
        Ok(v) => P::Text(Some(v.to_string())),
    }
}

/// A record's JSON object as parameters in column order.
fn params_of(cols: &[(&str, K)], v: &Value) -> Vec<P> {
    cols.iter()
        .map(|(name, kind)| {
            let x = v.get(*name).unwrap_or(&Value::Null);
            match kind {
                K::Text => P::Text(x.as_str().map(str::to_string)),
                K::Int => P::Int(x.as_u64().map(|n| n as i64).or_else(|| x.as_i64())),
                K::Real => P::Real(x.as_f64()),
                K::Bool => P::Bool(x.as_bool().unwrap_or(false)),
                K::Json => json_param(x),
            }
        })
        .collect()
}

fn u(n: u64) -> P {
    int(n as i64)
}

/// A claim on an idempotency key, inserted in the same transaction as the first successful
/// commit of the request, so the request's effect and the key stand or fall together.
#[derive(Debug, Clone)]
pub struct IdemClaim {
    pub user_id: String,
    pub key: String,
    pub request_hash: String,
}

pub struct SqlStore {
    conn: RefCell<Pooled>,
    idem: RefCell<Option<IdemClaim>>,
    /// Set when the claim's key was already taken (by a concurrent twin of this request).
    pub idem_taken: Cell<bool>,
    /// The first record id the claimed commit wrote (a replay of a lost response reads it).
    pub idem_resource: RefCell<Option<String>>,
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
        SqlStore { conn: RefCell::new(conn), idem: RefCell::new(None), idem_taken: Cell::new(false), idem_resource: RefCell::new(None), chain_cache: None }
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
fn unique_as_conflict(e: crate::db::DbError, id: &str, expect: Expect) -> Error {
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

fn apply(c: &mut Conn, w: Write) -> Result<()> {
    match w {
        Write::PutTemplate { record, expect } => {
            if record.config_hash == QUARANTINED {
                // An edit that rewrites a whole lineage (rename) or promotes the next version
                // met a row that cannot be read: refuse rather than lose it (its owner deletes
                // it, or replaces it by import, first).
                return Err(Error::Integrity { id: record.id, message: "a stored row that cannot be read is never rewritten; delete it or replace it by import first".into() });
            }
            let cur = current_rev(c, "workflow_templates", "id = {t1} AND is_builtin = {b2}", &[text(&record.id), P::Bool(false)])?;
            if cur.is_none() && builtin::is_builtin_id(&record.id) {
                return Err(Error::BuiltinReadOnly { id: record.id });
            }
            let rev = check(expect, cur, &record.id)?;
            let mut values = params_of(TEMPLATE_COLS, &record.to_value());
            values.push(u(rev));
            values.push(text(name_key(&record.name)));
            upsert(c, "workflow_templates", TEMPLATE_COLS, &[("rev", K::Int), ("name_key", K::Text)], values, &["id"], cur.is_some())
                .map_err(|e| unique_as_conflict(e, &record.id, expect))?;
        }
        Write::DeleteTemplate { id, expect } => {
            let cur = current_rev(c, "workflow_templates", "id = {t1} AND is_builtin = {b2}", &[text(&id), P::Bool(false)])?;
            check(expect, cur, &id)?;
            if cur.is_some() {
                c.execute("DELETE FROM workflow_templates WHERE id = {t1} AND is_builtin = {b2}", &[text(&id), P::Bool(false)])?;
            }
        }
        Write::PutSpec { record, expect } => {
            let cur = current_rev(c, "template_specs", "id = {t1}", &[text(&record.id)])?;
            let rev = check(expect, cur, &record.id)?;
            let mut values = params_of(SPEC_COLS, &record.to_value());
            values.push(u(rev));
            upsert(c, "template_specs", SPEC_COLS, &[("rev", K::Int)], values, &["id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.id, expect))?;
        }
        Write::DeleteSpec { id, expect } => {
            let cur = current_rev(c, "template_specs", "id = {t1}", &[text(&id)])?;
            check(expect, cur, &id)?;
            if cur.is_some() {
                c.execute("DELETE FROM template_specs WHERE id = {t1}", &[text(&id)])?;
            }
        }
        Write::PutRating { record, expect } => {
            let key = [text(&record.template_id), text(&record.user_id)];
            let cur = current_rev(c, "template_ratings", "template_id = {t1} AND user_id = {t2}", &key)?;
            let rev = check(expect, cur, &record.template_id)?;
            let cols: &[(&str, K)] = &[("template_id", K::Text), ("user_id", K::Text), ("stars", K::Real), ("updated_at", K::Text), ("rev", K::Int)];
            let values = vec![text(&record.template_id), text(&record.user_id), P::Real(Some(record.stars)), text(&record.updated_at), u(rev)];
            upsert(c, "template_ratings", cols, &[], values, &["template_id", "user_id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.template_id, expect))?;
        }
        Write::DeleteRating { template_id, user_id } => {
            c.execute("DELETE FROM template_ratings WHERE template_id = {t1} AND user_id = {t2}", &[text(&template_id), text(&user_id)])?;
        }
        Write::PutBuiltinStats { record, expect } => {
            if !builtin::is_builtin_id(&record.id) {
                return Err(Error::invalid(format!("{} is not a built-in template", record.id)));
            }
            let cur = current_rev(c, "builtin_template_stats", "id = {t1}", &[text(&record.id)])?;
            let rev = check(expect, cur, &record.id)?;
            let mut v = serde_json::to_value(&record.stats).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("id".into(), Value::String(record.id.clone()));
            }
            let mut values = params_of(STATS_COLS, &v);
            values.push(u(rev));
            upsert(c, "builtin_template_stats", STATS_COLS, &[("rev", K::Int)], values, &["id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.id, expect))?;
        }
        Write::PutUsageTotals { record } => {
            let cur = current_rev(c, "usage_totals", "id = {t1}", &[text(&record.id)])?;
            let rev = check(Expect::Any, cur, &record.id)?;
            let values = vec![text(&record.id), u(record.usage_count), u(record.successes), u(record.response_time_ms), json_param(&record.cost_sum), u(rev)];
            upsert(c, "usage_totals", TOTALS_COLS, &[("rev", K::Int)], values, &["id"], cur.is_some()).map_err(|e| unique_as_conflict(e, &record.id, Expect::Any))?;
        }
        Write::DeleteUsageTotals { id } => {
            c.execute("DELETE FROM usage_totals WHERE id = {t1}", &[text(&id)])?;
        }
        Write::PutLabel { record, expect } => {
            let key = record.key();
            let pk = [text(&record.owner_id), text(&record.name_key), text(&record.label)];
            let cur = current_rev(c, "template_labels", "owner_id = {t1} AND name_key = {t2} AND label = {t3}", &pk)?;
            let rev = check(expect, cur, &key)?;
            let values = vec![text(&record.owner_id), text(&record.name_key), text(&record.label), text(&record.template_id), u(record.version), text(&record.updated_at), u(rev)];
            upsert(c, "template_labels", LABEL_COLS, &[("rev", K::Int)], values, &["owner_id", "name_key", "label"], cur.is_some()).map_err(|e| unique_as_conflict(e, &key, expect))?;
        }
        Write::DeleteLabel { key, expect } => {
            // The key is `{owner}:{label}:{name_key}` (TemplateLabel::key): owner and label hold no ':'.
            let mut parts = key.splitn(3, ':');
            let (Some(owner), Some(label), Some(nk)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(Error::invalid(format!("{key:?} is not a label key")));
            };
            let pk = [text(owner), text(nk), text(label)];
            let cur = current_rev(c, "template_labels", "owner_id = {t1} AND name_key = {t2} AND label = {t3}", &pk)?;
            check(expect, cur, &key)?;
            if cur.is_some() {
                c.execute("DELETE FROM template_labels WHERE owner_id = {t1} AND name_key = {t2} AND label = {t3}", &pk)?;
            }
        }
    }
    Ok(())
}

/// At most one latest template per (owner, name key) among the owners a batch touched. On
/// PostgreSQL the owners' user rows are locked first (in id order), so two transactions that
/// could break the rule for one owner check it one after the other, each seeing the other's
/// committed rows.
fn check_unique(c: &mut Conn, owners: &BTreeSet<String>) -> Result<()> {
    for owner in owners {
        if c.dialect() == Dialect::Postgres {
            c.query("SELECT id FROM users WHERE id = {t1} FOR NO KEY UPDATE", &[text(owner)])?;
        }
    }
    for owner in owners {
        let rows = c.query(
            "SELECT name_key, MIN(name) FROM workflow_templates WHERE owner_id = {t1} AND is_latest = {b2} AND is_builtin = {b3} GROUP BY name_key HAVING COUNT(*) > 1",
            &[text(owner), P::Bool(true), P::Bool(false)],
        )?;
        if let Some(r) = rows.first() {
            return Err(Error::NameTaken { name: r[1].text().unwrap_or_default().to_string() });
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

    /// The first `n` public latest templates in the catalog's order, read through the ordered
    /// partial indexes of migration 003, and how many public latest templates there are.
    async fn top_public(&self, sort: Sort, n: usize) -> Result<Option<(Vec<Stored<WorkflowTemplate>>, usize)>> {
        let d = self.conn.borrow().dialect();
        let (wh, order) = match d {
            Dialect::Sqlite => (
                "is_public = 1 AND is_latest = 1 AND is_builtin = 0",
                match sort {
                    Sort::Popular => "usage_count DESC, rating DESC, name_key, name, id",
                    Sort::Rating => "rating DESC, rating_count DESC, name_key, name, id",
                    Sort::Recent => "updated_at DESC, id DESC",
                    Sort::Name => "name_key, name, id",
                },
            ),
            Dialect::Postgres => (
                "is_public AND is_latest AND NOT is_builtin",
                match sort {
                    Sort::Popular => "usage_count DESC, rating DESC NULLS LAST, name_key COLLATE \"C\", name COLLATE \"C\", id COLLATE \"C\"",
                    Sort::Rating => "rating DESC NULLS LAST, rating_count DESC, name_key COLLATE \"C\", name COLLATE \"C\", id COLLATE \"C\"",
                    Sort::Recent => "updated_at DESC, id COLLATE \"C\" DESC",
                    Sort::Name => "name_key COLLATE \"C\", name COLLATE \"C\", id COLLATE \"C\"",
                },
            ),
        };
        // SQLite's planner, without statistics, may prefer another index and sort: name the
        // ordered one (PostgreSQL picks it by itself for ORDER BY ... LIMIT).
        let from = match (d, sort) {
            (Dialect::Postgres, _) => "workflow_templates",
            (Dialect::Sqlite, Sort::Popular) => "workflow_templates INDEXED BY idx_workflow_templates_top_popular",
            (Dialect::Sqlite, Sort::Rating) => "workflow_templates INDEXED BY idx_workflow_templates_top_rating",
            (Dialect::Sqlite, Sort::Recent) => "workflow_templates INDEXED BY idx_workflow_templates_top_recent",
            (Dialect::Sqlite, Sort::Name) => "workflow_templates INDEXED BY idx_workflow_templates_top_name",
        };
        let sql = format!("SELECT {} FROM {from} WHERE {wh} ORDER BY {order} LIMIT {{i1}}", select_list(TEMPLATE_COLS));
        let rows = self.query(&sql, &[int(n.min(1 << 20) as i64)])?;
        let items = rows.iter().map(decode_template).collect::<Result<Vec<_>>>()?;
        let count = self.query(&format!("SELECT COUNT(*) FROM workflow_templates WHERE {wh}"), &[])?;
        let total = count.first().and_then(|r| r[0].int()).unwrap_or(0) as usize;
        Ok(Some((items, total)))
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
        let mut owners = BTreeSet::new();
        for w in &writes {
            if let Write::PutTemplate { record, .. } = w {
                owners.insert(record.owner_id.clone());
            }
        }
        let taken = Cell::new(false);
        let result = c.transaction(|c| -> Result<()> {
            // Before any row lock: the change feed's commit-order lock (feed.rs).
            crate::feed::lock_for_write(c)?;
            for w in writes {
                apply(c, w)?;
            }
            check_unique(c, &owners)?;
            if let Some(claim) = &claim {
                let ins = c.execute(
                    "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, resource_id) VALUES ({t1}, {t2}, {t3}, {t4})",
                    &[text(&claim.user_id), text(&claim.key), text(&claim.request_hash), P::Text(resource.clone())],
                );
                if let Err(e) = ins {
                    if e.kind == DbErrorKind::Unique {
                        taken.set(true);
                        return Err(Error::StorageUnavailable("this Idempotency-Key is being used by a concurrent request".into()));
                    }
                    return Err(e.into());
                }
            }
            Ok(())
        });
        if result.is_ok() && claim.is_some() {
            // The key is spent: later commits of this request (none in practice) are plain.
            *self.idem.borrow_mut() = None;
            *self.idem_resource.borrow_mut() = resource;
        }
        if taken.get() {
            self.idem_taken.set(true);
        }
        result
    }
}

fn decode_stats(r: &Row) -> Result<Stored<BuiltinStats>> {
    let (rev, v) = row_value("builtin_template_stats", STATS_COLS, r)?;
    let id = v.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let stats: UsageStats = serde_json::from_value(v).map_err(|e| Error::Integrity { id: id.clone(), message: format!("stored built-in statistics: {e}") })?;
    Ok(Stored { rev, record: BuiltinStats { id, stats } })
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
