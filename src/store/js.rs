//! The adapter over a JS object an app passes in (`storage: adapter`). Its contract is the
//! storage contract in JSON: `get(table, key)`, `find(table, where)`, `commit(writes)`, all
//! async (see `StorageAdapter` in the .d.ts and examples/map-adapter.js).
//!
//! The adapter is app code: whatever it returns is checked (shape, revision, that `find` rows
//! really match, since the catalog filters again) and whatever it throws becomes a coded error.
//! Nothing it does can trap the wasm instance.

use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, Write};
use crate::error::{Error, Result};
use crate::model::read::FromJson;
use crate::model::{TemplateSpec, WorkflowTemplate};

#[wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = callAdapter)]
    fn call_adapter(adapter: &JsValue, method: &str, args: &js_sys::Array) -> js_sys::Promise;
    #[wasm_bindgen(js_name = describeRejection)]
    fn describe_rejection(e: &JsValue) -> String;
}

pub const TEMPLATES: &str = "workflow_templates";
pub const SPECS: &str = "template_specs";
pub const RATINGS: &str = "template_ratings";
pub const BUILTIN_STATS: &str = "builtin_stats";
/// The exact usage sums (`super::UsageTotals`), keyed by template id.
pub const USAGE_TOTALS: &str = "usage_totals";
/// Labels (`super::TemplateLabel`), keyed by `TemplateLabel::key`.
pub const TEMPLATE_LABELS: &str = "template_labels";

pub struct JsStore {
    adapter: JsValue,
}

fn rating_key(template_id: &str, user_id: &str) -> String {
    format!("{template_id}:{user_id}")
}

/// The adapter's rejection as a contract error: its own `code` when it is one a store may
/// report, STORAGE_UNAVAILABLE otherwise.
fn rejection(method: &str, e: &JsValue) -> Error {
    let d: Value = serde_json::from_str(&describe_rejection(e)).unwrap_or(Value::Null);
    let code = d["code"].as_str().unwrap_or("");
    let message = d["message"].as_str().unwrap_or("the storage adapter failed").to_string();
    let detail = |k: &str| d["details"][k].as_str().map(str::to_string);
    match code {
        "CONFLICT" => Error::Conflict {
            id: detail("id").unwrap_or_default(),
            expected: detail("expected").unwrap_or_else(|| "the revision read".into()),
            actual: detail("actual").unwrap_or_else(|| "a newer revision".into()),
        },
        "NAME_TAKEN" => Error::NameTaken { name: detail("name").unwrap_or(message) },
        "STORAGE_QUOTA" => Error::StorageQuota(message),
        "NETWORK" => Error::Network(message),
        "UNAUTHORIZED" => Error::Unauthorized(message),
        _ => Error::StorageUnavailable(format!("the storage adapter's {method}() failed: {message}")),
    }
}

impl JsStore {
    /// Checks that the object has the three methods before any catalog call uses it.
    pub fn new(adapter: JsValue) -> Result<JsStore> {
        for m in ["get", "find", "commit"] {
            let f = js_sys::Reflect::get(&adapter, &JsValue::from_str(m)).unwrap_or(JsValue::UNDEFINED);
            if !f.is_function() {
                return Err(Error::invalid(format!("the storage adapter must have async get, find and commit methods; {m} is missing")));
            }
        }
        Ok(JsStore { adapter })
    }

    async fn call(&self, method: &str, args: &[JsValue]) -> Result<Value> {
        let args: js_sys::Array = args.iter().collect();
        let v = JsFuture::from(call_adapter(&self.adapter, method, &args)).await.map_err(|e| rejection(method, &e))?;
        if v.is_undefined() {
            return Ok(Value::Null);
        }
        crate::jsval::from_js(&v).map_err(|problems| {
            let first = problems.first().map(|p| format!("{}: {}", p.field, p.message)).unwrap_or_default();
            Error::corrupt(format!("the storage adapter's {method}() returned a value that is not JSON ({first})"))
        })
    }

    async fn get_row<T: FromJson>(&self, table: &str, key: &str) -> Result<Option<Stored<T>>> {
        let v = self.call("get", &[table.into(), key.into()]).await?;
        if v.is_null() {
            return Ok(None);
        }
        row(table, v).map(Some)
    }

    async fn find_rows<T: FromJson>(&self, table: &str, filter: Map<String, Value>) -> Result<Vec<Stored<T>>> {
        let where_ = crate::jsval::to_js(&Value::Object(filter));
        match self.call("find", &[table.into(), where_]).await? {
            Value::Array(rows) => rows.into_iter().map(|r| row(table, r)).collect(),
            other => Err(Error::corrupt(format!("the storage adapter's find() must resolve with an array, got {}", crate::validate::type_name(&other)))),
        }
    }
}

fn row<T: FromJson>(table: &str, v: Value) -> Result<Stored<T>> {
    let bad = |why: String| Error::corrupt(format!("the storage adapter returned a {table} row that {why}"));
    let Value::Object(mut m) = v else { return Err(bad("is not an object".into())) };
    let rev = m.get("rev").and_then(Value::as_u64).filter(|r| *r >= 1).ok_or_else(|| bad("has no positive integer rev".into()))?;
    let record = m.remove("record").ok_or_else(|| bad("has no record".into()))?;
    let record = crate::model::read::read(record).map_err(|e| bad(format!("does not match the schema: {e}")))?;
    Ok(Stored { rev, record })
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.into(), v);
    }
}

fn expect_value(e: Expect) -> Value {
    match e {
        Expect::Absent => json!("absent"),
        Expect::Any => json!("any"),
        Expect::Rev(r) => json!(r),
    }
}

fn write_value(w: &Write) -> Result<Value> {
    let (table, key, expect, record) = match w {
        Write::PutTemplate { record, expect } => (TEMPLATES, record.id.clone(), *expect, Some(serde_json::to_value(record))),
        Write::DeleteTemplate { id, expect } => (TEMPLATES, id.clone(), *expect, None),
        Write::PutSpec { record, expect } => (SPECS, record.id.clone(), *expect, Some(serde_json::to_value(record))),
        Write::DeleteSpec { id, expect } => (SPECS, id.clone(), *expect, None),
        Write::PutRating { record, expect } => (RATINGS, rating_key(&record.template_id, &record.user_id), *expect, Some(serde_json::to_value(record))),
        Write::DeleteRating { template_id, user_id } => (RATINGS, rating_key(template_id, user_id), Expect::Any, None),
        Write::PutBuiltinStats { record, expect } => (BUILTIN_STATS, record.id.clone(), *expect, Some(serde_json::to_value(record))),
        Write::PutUsageTotals { record } => (USAGE_TOTALS, record.id.clone(), Expect::Any, Some(serde_json::to_value(record))),
        Write::DeleteUsageTotals { id } => (USAGE_TOTALS, id.clone(), Expect::Any, None),
        Write::PutLabel { record, expect } => (TEMPLATE_LABELS, record.key(), *expect, Some(serde_json::to_value(record))),
        Write::DeleteLabel { key, expect } => (TEMPLATE_LABELS, key.clone(), *expect, None),
    };
    let record = record.transpose().map_err(|e| Error::corrupt(e.to_string()))?.unwrap_or(Value::Null);
    Ok(json!({ "table": table, "key": key, "expect": expect_value(expect), "record": record }))
}

impl Store for JsStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        self.get_row(TEMPLATES, id).await
    }

    async fn find_templates(&self, f: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let mut m = Map::new();
        put(&mut m, "owner_id", f.owner_id.clone().map(Value::from));
        put(&mut m, "name_key", f.name_key.clone().map(Value::from));
        put(&mut m, "base_template_id", f.base_template_id.clone().map(Value::from));
        put(&mut m, "is_public", f.is_public.map(Value::from));
        put(&mut m, "is_latest", f.is_latest.map(Value::from));
        put(&mut m, "category", f.category.map(|c| Value::from(c.as_str())));
        put(&mut m, "workflow_type", f.workflow_type.map(|w| Value::from(w.as_str())));
        put(&mut m, "config_hash", f.config_hash.clone().map(Value::from));
        let rows: Vec<Stored<WorkflowTemplate>> = self.find_rows(TEMPLATES, m).await?;
        Ok(rows.into_iter().filter(|r| f.matches(&r.record)).collect())
    }

    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        self.get_row(SPECS, id).await
    }

    async fn find_specs(&self, f: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        let mut m = Map::new();
        put(&mut m, "owner_id", f.owner_id.clone().map(Value::from));
        put(&mut m, "name_key", f.name_key.clone().map(Value::from));
        put(&mut m, "base_template_name", f.base_template_name.clone().map(Value::from));
        put(&mut m, "workflow_type", f.workflow_type.map(|w| Value::from(w.as_str())));
        let rows: Vec<Stored<TemplateSpec>> = self.find_rows(SPECS, m).await?;
        Ok(rows.into_iter().filter(|r| f.matches(&r.record)).collect())
    }

    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        self.get_row(RATINGS, &rating_key(template_id, user_id)).await
    }

    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        let mut m = Map::new();
        put(&mut m, "user_id", user_id.map(Value::from));
        put(&mut m, "template_id", template_id.map(Value::from));
        let rows: Vec<Stored<Rating>> = self.find_rows(RATINGS, m).await?;
        Ok(rows
            .into_iter()
            .filter(|r| user_id.is_none_or(|u| u == r.record.user_id) && template_id.is_none_or(|t| t == r.record.template_id))
            .collect())
    }

    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        self.get_row(BUILTIN_STATS, id).await
    }

    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        self.find_rows(BUILTIN_STATS, Map::new()).await
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<super::UsageTotals>>> {
        self.get_row(USAGE_TOTALS, id).await
    }

    /// Asked by `{ owner_id }` only: the contract's `name_key` means `name.trim().toLowerCase()`
    /// of a template record, which a label record does not have; an owner's labels are few.
    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<super::TemplateLabel>>> {
        let mut m = Map::new();
        m.insert("owner_id".into(), Value::from(owner_id));
        let rows: Vec<Stored<super::TemplateLabel>> = self.find_rows(TEMPLATE_LABELS, m).await?;
        Ok(rows.into_iter().filter(|l| l.record.owner_id == owner_id && name_key.is_none_or(|n| n == l.record.name_key)).collect())
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let list = writes.iter().map(write_value).collect::<Result<Vec<_>>>()?;
        // Only the rejection matters: whatever `commit` resolves with is ignored (reading it as
        // JSON could report a failure after the write was applied).
        let args: js_sys::Array = [crate::jsval::to_js(&Value::Array(list))].iter().collect();
        JsFuture::from(call_adapter(&self.adapter, "commit", &args)).await.map(|_| ()).map_err(|e| rejection("commit", &e))
    }
}
