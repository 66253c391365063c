//! `Store::commit` as one mutate of the request layer: one readwrite transaction in which the
//! layer reads the stored revisions it needs (all at once), checks each write's expectation in
//! batch order, writes, keeps the public-latest counter, and counts the latest-name rule back
//! through `owner_name_latest` (reads in a transaction see its own writes); any failure aborts
//! it, so nothing partial stays. The writes are handed over as JSON a chunk of 256 at a time,
//! all in one go (for a large batch, in the microtasks of the transaction's first answer, while
//! the transaction is active): IndexedDB works on one chunk while the next is built.

use crate::keyed::{StrMap, StrSet};

use serde_json::{json, Value};
use wasm_bindgen::JsValue;

use super::requests;
use super::rows::{plain_row, rating_key, spec_row, template_row};
use super::schema::{ALL_STORES, BUILTIN_STATS, COUNTERS, PUBLIC_LATEST, RATINGS, SPECS, TEMPLATES, TEMPLATE_LABELS, USAGE_TOTALS};
use crate::error::{Error, Result};
use crate::store::{check_expect, dom_error, name_key, Expect, Write};

/// What a write is about, to explain its failure.
struct Planned {
    label: String,
    expect: Expect,
    /// (owner, name key, name) when this write leaves a latest template that must be unique.
    claims: Option<(String, String, String)>,
}

/// A write as a request-layer op `{ s, k, v?, e? }` (`e`: 0 for absent, else the revision).
fn op(store: &str, key: Value, row: Option<Value>, expect: Expect) -> Value {
    let mut op = json!({ "s": store, "k": key });
    if let Some(row) = row {
        op["v"] = row;
    }
    match expect {
        Expect::Absent => op["e"] = json!(0),
        Expect::Rev(r) => op["e"] = json!(r),
        Expect::Any => {}
    }
    op
}

fn plan(w: Write) -> (Planned, Value) {
    let simple = |label: &str, expect| Planned { label: label.to_string(), expect, claims: None };
    match w {
        Write::PutTemplate { record, expect } => {
            let claims = record.is_latest.then(|| (record.owner_id.clone(), name_key(&record.name), record.name.clone()));
            let o = op(TEMPLATES, json!(record.id), Some(template_row(&record)), expect);
            (Planned { label: record.id, expect, claims }, o)
        }
        Write::DeleteTemplate { id, expect } => (simple(&id, expect), op(TEMPLATES, json!(id), None, expect)),
        Write::PutSpec { record, expect } => (simple(&record.id, expect), op(SPECS, json!(record.id), Some(spec_row(&record)), expect)),
        Write::DeleteSpec { id, expect } => (simple(&id, expect), op(SPECS, json!(id), None, expect)),
        Write::PutRating { record, expect } => {
            let key = rating_key(&record.template_id, &record.user_id);
            (simple(&record.template_id, expect), op(RATINGS, key, Some(plain_row(&record)), expect))
        }
        Write::DeleteRating { template_id, user_id } => {
            (simple(&template_id, Expect::Any), op(RATINGS, rating_key(&template_id, &user_id), None, Expect::Any))
        }
        Write::PutBuiltinStats { record, expect } => (simple(&record.id, expect), op(BUILTIN_STATS, json!(record.id), Some(plain_row(&record)), expect)),
        Write::PutUsageTotals { record } => (simple(&record.id, Expect::Any), op(USAGE_TOTALS, json!(record.id), Some(plain_row(&record)), Expect::Any)),
        Write::DeleteUsageTotals { id } => (simple(&id, Expect::Any), op(USAGE_TOTALS, json!(id), None, Expect::Any)),
        Write::PutLabel { record, expect } => {
            let key = record.key();
            let row = json!({ "record": record, "key": key });
            (simple(&key, expect), op(TEMPLATE_LABELS, json!(key), Some(row), expect))
        }
        Write::DeleteLabel { key, expect } => (simple(&key, expect), op(TEMPLATE_LABELS, json!(key), None, expect)),
    }
}

const CHUNK: usize = 256;

pub async fn commit(db: &JsValue, writes: Vec<Write>) -> Result<()> {
    let templates = writes.iter().any(|w| matches!(w, Write::PutTemplate { .. } | Write::DeleteTemplate { .. }));
    // The number of public latest templates moves with the batch (a database without the
    // counter row keeps counting on reads).
    let counters = if templates {
        json!([{ "store": TEMPLATES, "where": { "is_public": 1, "is_latest": 1 }, "into": COUNTERS, "key": PUBLIC_LATEST, "field": "value" }])
    } else {
        json!([])
    };
    // A batch of a chunk or more waits for its transaction's first answer before building its
    // chunks (js/idb.js `hold`): Firefox is slower with thousands of requests placed before the
    // transaction has started, and after it each chunk is written while the next is built.
    // Nothing may be awaited between that answer and `mutate_end` (the transaction would no
    // longer be active; js/idb.js then reports the batch as failed). Small batches do not wait:
    // they have no chunks to overlap, and the probe is one more request.
    let hold = writes.len() >= CHUNK;
    let batch = requests::mutate_begin(db, &json!({ "stores": ALL_STORES, "rev": "rev", "counters": counters, "hold": hold }).to_string());
    if hold {
        requests::mutate_started(&batch).await;
    }
    let mut planned = Vec::with_capacity(writes.len());
    let mut chunk = String::with_capacity(CHUNK.min(writes.len()) * 2048);
    let mut in_chunk = 0;
    for w in writes {
        let (p, o) = plan(w);
        planned.push(p);
        chunk.push(if in_chunk == 0 { '[' } else { ',' });
        chunk.push_str(&o.to_string());
        in_chunk += 1;
        if in_chunk == CHUNK {
            chunk.push(']');
            requests::mutate_ops(&batch, &chunk);
            chunk.clear();
            in_chunk = 0;
        }
    }
    if in_chunk > 0 {
        chunk.push(']');
        requests::mutate_ops(&batch, &chunk);
    }
    // The latest-name rule: each (owner, name) left latest by the batch is held once.
    let mut seen: StrMap<StrSet> = StrMap::new();
    let mut claims: Vec<&(String, String, String)> = Vec::new();
    for c in planned.iter().filter_map(|p| p.claims.as_ref()) {
        if seen.entry_or_default(&c.0).insert(c.1.as_str()) {
            claims.push(c);
        }
    }
    let unique: Vec<Value> =
        claims.iter().map(|(o, k, _)| json!({ "store": TEMPLATES, "index": "owner_name_latest", "key": [o, k, 1], "max": 1 })).collect();
    let Some(why) = requests::mutate_end(&batch, &Value::Array(unique).to_string()).await? else { return Ok(()) };
    let at = |k: &str| why.get(k).and_then(Value::as_u64).map(|i| i as usize);
    let text = |k: &str| why.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(j) = at("unique") {
        return Err(Error::NameTaken { name: claims.get(j).map(|c| c.2.clone()).unwrap_or_default() });
    }
    let p = at("op").and_then(|i| planned.get(i));
    if why.get("conflict").is_some() {
        let actual = why.get("actual").and_then(Value::as_u64);
        let p = p.ok_or_else(|| Error::StorageUnavailable("writing: a conflict on an unknown write".into()))?;
        return Err(check_expect(p.expect, actual, &p.label).err().unwrap_or_else(|| Error::Conflict {
            id: p.label.clone(),
            expected: "the revision read".into(),
            actual: "another".into(),
        }));
    }
    Err(match (text("name").as_str(), p, why.get("add").and_then(Value::as_bool) == Some(true)) {
        // The create found the key taken (by another tab since this batch was planned).
        ("ConstraintError", Some(p), true) => Error::Conflict { id: p.label.clone(), expected: "absent".into(), actual: "present".into() },
        (name, _, _) => dom_error("writing", name, &text("message")),
    })
}
