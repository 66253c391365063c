//! Rows as IndexedDB holds them, keys, ranges and read operations, all as JSON for the request
//! layer. A row is `{ rev, record, ...derived keys }`: the record exactly as the core models it,
//! its revision (set by the request layer when it writes), and keys for the indexes. Booleans
//! are stored as 0/1 because IndexedDB cannot index `true`/`false`.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::read::FromFields;
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::{name_key, Stored};

/// A read's rows, read straight from the request layer's JSON text
/// (`crate::store::read::rows_from_text`).
fn parse<T: FromFields>(text: &str) -> Result<Vec<Option<Stored<T>>>> {
    crate::store::read::rows_from_text(text).map_err(|e| Error::corrupt(["a stored row does not match the schema: ", &e.text()].concat()))
}

/// The rows of one `get` or `query` read (`None` where a key had no row).
pub fn parse_some<T: FromFields>(text: &str) -> Result<Vec<Option<Stored<T>>>> {
    parse(text)
}

/// The rows of a `query` read (never `null`).
pub fn parse_all<T: FromFields>(text: &str) -> Result<Vec<Stored<T>>> {
    parse(text)?.into_iter().map(|r| r.ok_or_else(|| Error::corrupt("a stored row is null"))).collect()
}

/// The fields of a row a read hands back (the derived keys stay in IndexedDB).
const PICK: [&str; 2] = ["rev", "record"];

pub fn get(store: &str, keys: &[Value]) -> Value {
    json!({ "op": "get", "store": store, "keys": keys, "pick": PICK })
}

/// Every row of `store` (or of its `index`) in `range` (None: all), at most `limit`.
pub fn query(store: &str, index: Option<&str>, range: Option<Value>, limit: Option<usize>) -> Value {
    json!({ "op": "query", "store": store, "index": index, "range": range, "limit": limit, "pick": PICK })
}

pub fn count(store: &str, index: &str, range: Value) -> Value {
    json!({ "op": "count", "store": store, "index": index, "range": range })
}

/// The range of exactly `key`.
pub fn eq(key: Value) -> Value {
    json!({ "eq": key })
}

/// The range of every compound key that starts with `prefix` (arrays sort after every other
/// key type, so `[...prefix, []]` is above all of them).
pub fn prefix(prefix: &[Value]) -> Value {
    let mut upper = prefix.to_vec();
    upper.push(json!([]));
    json!({ "lower": prefix, "upper": upper })
}

/// `[lower, upper)`.
pub fn half_open(lower: Value, upper: Value) -> Value {
    json!({ "lower": lower, "upper": upper, "upperOpen": true })
}

pub fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// A template's row (its revision is set when it is written).
pub fn template_row(t: &WorkflowTemplate) -> Value {
    let k = sort_keys(t);
    json!({ "record": t, "name_key": name_key(&t.name),
            "is_public": flag(t.is_public), "is_latest": flag(t.is_latest), "is_builtin": flag(t.is_builtin),
            "k_popular": k[0], "k_rating": k[1], "k_recent": k[2], "k_name": k[3] })
}

/// Index keys whose ascending order is exactly `catalog::discover::order` for each sort
/// (popular, rating, recent, name). Names are arrays of code points: IndexedDB compares
/// strings by UTF-16 code units, which differs from Rust's order for characters above U+FFFF.
/// Descending parts are negated; a missing rating sorts last.
pub fn sort_keys(t: &WorkflowTemplate) -> [Value; 4] {
    let cps = |s: &str| Value::Array(s.chars().map(|c| Value::from(c as u32)).collect());
    let (lower, name) = (cps(&t.name.to_lowercase()), cps(&t.name));
    let rating = t.rating.map(|r| -r).unwrap_or(1e9);
    let id_desc = Value::Array(t.id.chars().map(|c| Value::from(-(c as i64))).collect());
    let updated = crate::model::time::parse_ms(&t.updated_at).unwrap_or(0);
    [
        json!([-(t.usage_count as f64), rating, lower, name, t.id]),
        json!([rating, -(t.rating_count as f64), lower, name, t.id]),
        json!([-(updated as f64), id_desc]),
        json!([lower, name, t.id]),
    ]
}

pub fn spec_row(s: &TemplateSpec) -> Value {
    json!({ "record": s, "name_key": name_key(&s.name) })
}

pub fn plain_row<T: serde::Serialize>(r: &T) -> Value {
    json!({ "record": r })
}

/// The key of a rating row.
pub fn rating_key(template_id: &str, user_id: &str) -> Value {
    json!([template_id, user_id])
}

/// The position of a discovery sort in the ordered-index lists.
pub fn sort_slot(sort: crate::store::Sort) -> usize {
    use crate::store::Sort;
    match sort {
        Sort::Popular => 0,
        Sort::Rating => 1,
        Sort::Recent => 2,
        Sort::Name => 3,
    }
}
