//! Rows of the server's tables and the core's records: the column lists, the select lists and
//! placeholders of both dialects, and decoding (a template row that cannot be read becomes a
//! quarantined record the core's verification refuses; see `decode_template`).

use serde_json::{Map, Value};
use workflow_templates::model::{UsageStats, WorkflowTemplate};
use workflow_templates::store::{BuiltinStats, Stored};
use workflow_templates::{Error, Result};

use crate::db::{int, Row, P, V};

/// Column kinds, for turning a row into the JSON the core's record types deserialise from.
#[derive(Clone, Copy)]
pub(crate) enum K {
    Text,
    Int,
    Real,
    Bool,
    Json,
}

pub(crate) const TEMPLATE_COLS: &[(&str, K)] = &[
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

pub(crate) const SPEC_COLS: &[(&str, K)] = &[
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

pub(crate) const STATS_COLS: &[(&str, K)] = &[
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

pub(crate) const TOTALS_COLS: &[(&str, K)] = &[("id", K::Text), ("usage_count", K::Int), ("successes", K::Int), ("response_time_ms", K::Int), ("cost_sum", K::Json)];
pub(crate) const LABEL_COLS: &[(&str, K)] =
    &[("owner_id", K::Text), ("name_key", K::Text), ("label", K::Text), ("template_id", K::Text), ("version", K::Int), ("updated_at", K::Text)];

pub(crate) const TIMESTAMPS: &[&str] = &["created_at", "updated_at", "last_used_at"];
pub(crate) const ENUMS: &[(&str, &str)] = &[("workflow_type", "workflowtype"), ("category", "templatecategory")];

/// The select list of a table: `rev` first, then the record's columns (converted to text where
/// PostgreSQL has richer types).
pub(crate) fn select_list(cols: &[(&str, K)]) -> String {
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
pub(crate) fn param_for(name: &str, kind: K, n: usize) -> String {
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

pub(crate) fn integrity(table: &str, msg: impl std::fmt::Display) -> Error {
    Error::Integrity { id: String::new(), message: format!("a {table} row could not be read: {msg}") }
}

/// A row (rev first) into `(rev, JSON object of the record)`.
pub(crate) fn row_value(table: &str, cols: &[(&str, K)], row: &Row) -> Result<(u64, Value)> {
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

pub(crate) fn decode<T: serde::de::DeserializeOwned>(table: &str, cols: &[(&str, K)], row: &Row) -> Result<Stored<T>> {
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
pub(crate) fn decode_template(r: &Row) -> Result<Stored<WorkflowTemplate>> {
    decode_template_strict(r).or_else(|e| quarantined(r, &e))
}

/// The `config_hash` of a quarantined record: the placeholder stands for a row that could not be
/// read, so it is never written back (that would replace what is stored with defaults).
pub(crate) const QUARANTINED: &str = "unreadable row";

pub(crate) fn quarantined(r: &Row, why: &Error) -> Result<Stored<WorkflowTemplate>> {
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

pub(crate) fn decode_template_strict(r: &Row) -> Result<Stored<WorkflowTemplate>> {
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

pub(crate) fn json_param(v: &impl serde::Serialize) -> P {
    match serde_json::to_value(v) {
        Ok(Value::Null) | Err(_) => P::Text(None),
        Ok(v) => P::Text(Some(v.to_string())),
    }
}

/// A record's JSON object as parameters in column order.
pub(crate) fn params_of(cols: &[(&str, K)], v: &Value) -> Vec<P> {
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

pub(crate) fn u(n: u64) -> P {
    int(n as i64)
}

pub(crate) fn decode_stats(r: &Row) -> Result<Stored<BuiltinStats>> {
    let (rev, v) = row_value("builtin_template_stats", STATS_COLS, r)?;
    let id = v.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let stats: UsageStats = serde_json::from_value(v).map_err(|e| Error::Integrity { id: id.clone(), message: format!("stored built-in statistics: {e}") })?;
    Ok(Stored { rev, record: BuiltinStats { id, stats } })
}

