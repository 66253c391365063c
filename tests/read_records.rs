//! The hand readers of stored records (`model::read`, `store::read`) against serde's derived
//! `Deserialize`, which they replace on every read path: on many records (good ones, every field
//! absent, `null` or of each wrong JSON type, unknown members, random mixes) both must give the
//! same record or both refuse. The derive is read both from the value and from its JSON text
//! (what IndexedDB rows went through). The two shapes the readers refuse on purpose are tested
//! apart (`refused_on_purpose`).
#![cfg(not(target_arch = "wasm32"))]

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use workflow_templates::model::read::{read, FromFields, FromJson};
use workflow_templates::model::UsageStats;
use workflow_templates::store::memory::Snapshot;
use workflow_templates::store::read::rows_from_text;
use workflow_templates::store::{BuiltinStats, Rating, Stored, TemplateLabel, UsageTotals};
use workflow_templates::error::Violation;
use workflow_templates::{TemplateSpec, WorkflowTemplate};

/// Values of every JSON type, including numbers at the edges of `u64` and `f64`.
fn pool() -> Vec<Value> {
    vec![
        json!(null), json!(true), json!(false), json!(0), json!(7), json!(-1), json!(1.5), json!(1.0), json!(1e300),
        json!(-0.0), json!(9007199254740993u64), json!(u64::MAX), json!(i64::MIN), json!(""), json!("x"), json!("plain"),
        json!("general"), json!("customer_support"), json!([]), json!(["a"]), json!([1]), json!([null]), json!([1.5, 2]),
        json!({}), json!({ "a": 1 }), json!({ "rev": 1, "record": {} }),
    ]
}

/// Both paths on one value: the same record, or both an error (and then the reader's message
/// is one line that names something).
fn same<T: FromJson + DeserializeOwned + PartialEq + Debug>(v: &Value) {
    let derived = serde_json::from_value::<T>(v.clone()).ok();
    let from_text = serde_json::from_str::<T>(&v.to_string()).ok();
    assert_eq!(derived, from_text, "the derive's two paths differ on {v}");
    let hand = read::<T>(v.clone());
    if let Err(e) = &hand {
        assert!(!e.is_empty() && !e.contains('\n'), "{e:?}");
    }
    assert_eq!(hand.ok(), derived, "{v}");
}

/// mulberry32: a seeded generator, so a failure names a reproducible case.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x6d2b79f5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        t ^ (t >> 14)
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}

/// Every one-member change of `good` (absent, each pool value), an unknown member, values that
/// are not objects, then `random` mixes where each member is kept, dropped or replaced.
fn compare<T: FromJson + DeserializeOwned + PartialEq + Debug>(good: Value, random: usize) -> usize {
    assert!(read::<T>(good.clone()).is_ok(), "the good record must read: {:?}", read::<T>(good.clone()));
    let cases = cases(good, random);
    for v in &cases {
        same::<T>(v);
    }
    cases.len()
}

/// [`compare`] for the IndexedDB path: each case as the record of a row in a read's JSON text.
fn compare_text<T: FromFields + DeserializeOwned + PartialEq + Debug>(good: Value, random: usize) {
    for v in cases(good, random) {
        same_text::<T>(&json!([{ "rev": 2, "record": v, "k_name": [1] }, null]).to_string());
    }
}

/// Both paths on a read's text: the same rows, or both an error.
fn same_text<T: FromFields + DeserializeOwned + PartialEq + Debug>(text: &str) {
    let derived = serde_json::from_str::<Vec<Option<Stored<T>>>>(text).ok();
    let hand = rows_from_text::<T>(text);
    if let Err(e) = &hand {
        assert!(!e.text().is_empty() && !e.text().contains('\n'), "{e:?}");
    }
    assert_eq!(hand.ok(), derived, "{text}");
}

fn cases(good: Value, random: usize) -> Vec<Value> {
    let good_obj = good.as_object().unwrap().clone();
    let mut cases = vec![good.clone()];
    cases.extend(pool().into_iter().filter(|p| !p.is_object()));
    for k in good_obj.keys() {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(k);
        cases.push(v);
        for p in pool() {
            let mut v = good.clone();
            v[k] = p;
            cases.push(v);
        }
    }
    let mut unknown = good.clone();
    unknown["zz_unknown"] = json!(1);
    cases.push(unknown);
    let mut rng = Rng(0x5eed ^ good_obj.len() as u32);
    let pool = pool();
    for _ in 0..random {
        let mut v = serde_json::Map::new();
        for (k, g) in &good_obj {
            match rng.below(6) {
                0 => {}
                1 => {
                    v.insert(k.clone(), pool[rng.below(pool.len())].clone());
                }
                _ => {
                    v.insert(k.clone(), g.clone());
                }
            }
        }
        if rng.below(8) == 0 {
            v.insert("extra".into(), json!("x"));
        }
        cases.push(Value::Object(v));
    }
    cases
}

fn template() -> Value {
    json!({
        "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-02T00:00:00.000Z", "owner_id": "01BX5ZZKBKACTAV9WEVGEMMVRZ",
        "name": "Support Bot", "description": "d", "workflow_type": "full", "category": "general",
        "default_params": { "model": { "temperature": 0.2, "deep": [[{ "x": 0.1 }]] } }, "required_tools": ["a"],
        "required_retrievers": null, "base_template_id": "01BX5ZZKBKACTAV9WEVGEMMVS0", "is_builtin": false, "version": 2,
        "is_latest": true, "changelog": null, "is_public": true, "rating": 4.5, "rating_count": 2,
        "usage_count": 10, "success_rate": 0.9, "avg_response_time_ms": 1200, "last_used_at": null,
        "total_tokens_used": 12345, "total_cost": 1.25, "avg_tokens_per_use": 0.1,
        "tags": ["x", "y"], "extra_metadata": { "k": [1, "v"] }, "config_hash": "ab", "estimated_complexity": 3
    })
}

fn spec() -> Value {
    json!({
        "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00Z",
        "owner_id": "01BX5ZZKBKACTAV9WEVGEMMVRZ", "name": "s", "description": "", "workflow_type": "rag",
        "default_params": {}, "required_tools": null, "required_retrievers": ["docs"], "base_template_name": "base",
        "usage_count": 0, "last_used_at": "2026-01-03T00:00:00Z", "tags": [], "extra_metadata": null
    })
}

fn stats() -> Value {
    json!({ "rating": 3.25, "rating_count": 4, "usage_count": 9, "success_rate": null, "avg_response_time_ms": 12,
            "last_used_at": "2026-01-03T00:00:00Z", "total_tokens_used": 100, "total_cost": 0.5, "avg_tokens_per_use": 11.1 })
}

#[test]
fn template_reader_matches_the_derive() {
    assert!(compare::<WorkflowTemplate>(template(), 3000) > 3000);
}

#[test]
fn spec_reader_matches_the_derive() {
    compare::<TemplateSpec>(spec(), 2000);
}

#[test]
fn usage_stats_reader_matches_the_derive() {
    compare::<UsageStats>(stats(), 1000);
}

#[test]
fn rating_reader_matches_the_derive() {
    compare::<Rating>(json!({ "template_id": "t", "user_id": "u", "stars": 4, "updated_at": "2026-01-01T00:00:00Z" }), 500);
}

#[test]
fn builtin_stats_reader_matches_the_derive() {
    let mut v = stats();
    v["id"] = json!("builtin-1");
    compare::<BuiltinStats>(v, 1000);
    // A whole built-in record is a valid statistics row (its statistics are kept).
    let mut whole = template();
    whole["id"] = json!("builtin-2");
    compare::<BuiltinStats>(whole, 500);
}

#[test]
fn usage_totals_reader_matches_the_derive() {
    compare::<UsageTotals>(json!({ "id": "t", "usage_count": 3, "successes": 2, "response_time_ms": 40, "cost_sum": [1e-20, 0.5] }), 500);
    compare::<UsageTotals>(json!({ "id": "t", "usage_count": 3, "successes": 2, "response_time_ms": 40 }), 200);
}

#[test]
fn label_reader_matches_the_derive() {
    compare::<TemplateLabel>(
        json!({ "owner_id": "o", "name_key": "support bot", "label": "production", "template_id": "t", "version": 3, "updated_at": "2026-01-01T00:00:00Z" }),
        500,
    );
}

#[test]
fn stored_row_reader_matches_the_derive() {
    compare::<Stored<WorkflowTemplate>>(json!({ "rev": 3, "record": template(), "name_key": "support bot", "is_public": 1 }), 300);
    compare::<Stored<Rating>>(json!({ "rev": 1, "record": { "template_id": "t", "user_id": "u", "stars": 5, "updated_at": "x" } }), 200);
    // Rows whose record is each one-member change of a template.
    let good = template();
    for k in good.as_object().unwrap().keys() {
        for p in pool() {
            let mut r = good.clone();
            r[k] = p;
            same::<Stored<WorkflowTemplate>>(&json!({ "rev": 1, "record": r }));
        }
    }
}

#[test]
fn snapshot_reader_matches_the_derive() {
    let full = json!({
        "templates": [{ "rev": 2, "record": template() }], "specs": [{ "rev": 1, "record": spec() }],
        "ratings": [], "builtin_stats": [{ "rev": 1, "record": { "id": "b", "rating_count": 0, "usage_count": 0, "total_tokens_used": 0, "total_cost": 0 } }],
        "usage_totals": [{ "rev": 1, "record": { "id": "t", "usage_count": 0, "successes": 0, "response_time_ms": 0 } }],
        "template_labels": []
    });
    compare::<Snapshot>(full, 500);
    // What a version before usage totals and labels persisted.
    compare::<Snapshot>(json!({ "templates": [], "specs": [], "ratings": [], "builtin_stats": [] }), 100);
}

/// The two shapes the derive took and the readers refuse (module header of `model::read`): a
/// record as an array of its fields, an enum as a one-key object. Neither is a stored form.
#[test]
fn refused_on_purpose() {
    let t = template();
    let positional = Value::Array(t.as_object().unwrap().values().cloned().collect());
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    let rating = json!(["t", "u", 4, "2026-01-01T00:00:00Z"]);
    assert!(serde_json::from_value::<Rating>(rating.clone()).is_ok(), "the derive takes the positional form");
    assert_eq!(read::<Rating>(rating), Err("expected an object, got an array".to_string()));
    assert!(read::<WorkflowTemplate>(positional).is_err(), "{keys:?}");
    let mut one_key = t.clone();
    one_key["workflow_type"] = json!({ "full": null });
    assert!(serde_json::from_value::<WorkflowTemplate>(one_key.clone()).is_ok(), "the derive takes the one-key enum");
    assert_eq!(read::<WorkflowTemplate>(one_key), Err("workflow_type: expected one of plain, tools, rag, full, got an object".to_string()));
}

/// Messages name the path of the member, at any depth, and never quote a value.
#[test]
fn messages_name_the_path() {
    let mut t = template();
    t["tags"] = json!(["a", 7]);
    assert_eq!(read::<WorkflowTemplate>(t), Err("tags[1]: expected a string, got a number".to_string()));
    let mut t = template();
    t.as_object_mut().unwrap().remove("owner_id");
    assert_eq!(read::<WorkflowTemplate>(t), Err("missing field `owner_id`".to_string()));
    let mut t = template();
    t["secret"] = json!("do not echo");
    assert_eq!(read::<WorkflowTemplate>(t), Err("unknown field `secret`".to_string()));
    let s = json!({ "templates": [{ "rev": 1, "record": { "id": 5 } }], "specs": [], "ratings": [], "builtin_stats": [] });
    assert_eq!(read::<Snapshot>(s), Err("templates[0].record.id: expected a string, got a number".to_string()));
    let mut t = template();
    t["version"] = json!(1.0);
    assert_eq!(read::<WorkflowTemplate>(t), Err("version: expected a non-negative integer, got a number".to_string()));
}

/// The IndexedDB path (rows read straight from a read's JSON text, no map built for a record)
/// answers as the derive did on the same cases, for every record type IndexedDB stores.
#[test]
fn text_rows_match_the_derive() {
    compare_text::<WorkflowTemplate>(template(), 1500);
    compare_text::<TemplateSpec>(spec(), 500);
    compare_text::<Rating>(json!({ "template_id": "t", "user_id": "u", "stars": 4, "updated_at": "x" }), 200);
    let mut b = stats();
    b["id"] = json!("builtin-1");
    compare_text::<BuiltinStats>(b, 300);
    compare_text::<UsageTotals>(json!({ "id": "t", "usage_count": 3, "successes": 2, "response_time_ms": 40, "cost_sum": [0.5] }), 200);
    compare_text::<TemplateLabel>(json!({ "owner_id": "o", "name_key": "n", "label": "l", "template_id": "t", "version": 3, "updated_at": "u" }), 200);
    // Rows and reads of the wrong shape, and member order the writer did not use.
    let rec = template().to_string();
    for text in [
        "[]".to_string(), "null".into(), "{}".into(), "7".into(), "[7]".into(), "[[1]]".into(), "[\"x\"]".into(), "[true]".into(),
        "[{}]".into(), "[{\"rev\": 1}]".into(), format!("[{{\"record\": {rec}}}]"), format!("[{{\"rev\": 1.5, \"record\": {rec}}}]"),
        format!("[{{\"rev\": -1, \"record\": {rec}}}]"), format!("[{{\"rev\": \"1\", \"record\": {rec}}}]"),
        "[{\"rev\": 1, \"record\": null}]".into(), "[{\"rev\": 1, \"record\": 7}]".into(), "[{\"rev\": 1, \"record\": [1, 2]}]".into(),
        format!("[{{\"record\": {rec}, \"x\": {{\"a\": [1]}}, \"rev\": 3}}]"), format!("[null, {{\"rev\": 1, \"record\": {rec}}}, null]"),
        "[".into(), "[{\"rev\": 1,".into(), "".into(),
    ] {
        same_text::<WorkflowTemplate>(&text);
    }
    // Members in another order than the writer's (sorted) one.
    let mut members: Vec<(String, Value)> = template().as_object().unwrap().clone().into_iter().collect();
    members.reverse();
    let body: Vec<String> = members.iter().map(|(k, v)| format!("{}: {v}", Value::from(k.as_str()))).collect();
    same_text::<WorkflowTemplate>(&format!("[{{\"rev\": 1, \"record\": {{{}}}}}]", body.join(", ")));
}

/// A key given twice in a stored record's text is refused (the derive refused it too); a
/// duplicate `rev` or `record` of the row as well.
#[test]
fn text_rows_refuse_duplicate_keys() {
    let rec = template().to_string();
    let dup = format!("[{{\"rev\": 1, \"record\": {{\"name\": \"x\", {}}}]", &rec[1..]);
    assert!(serde_json::from_str::<Vec<Option<Stored<WorkflowTemplate>>>>(&dup).is_err());
    assert_eq!(rows_from_text::<WorkflowTemplate>(&dup).map_err(|e| e.text()), Err("[0].record: duplicate field `name`".to_string()));
    let dup_rev = format!("[{{\"rev\": 1, \"rev\": 2, \"record\": {rec}}}]");
    assert!(serde_json::from_str::<Vec<Option<Stored<WorkflowTemplate>>>>(&dup_rev).is_err());
    assert!(rows_from_text::<WorkflowTemplate>(&dup_rev).is_err());
}

/// A record of more than 64 members (the sort past the insertion sort, `crate::sort`) in
/// reverse order: a key given twice is still found, wherever the two copies are; without it the
/// unknown members are refused as the derive refuses them.
#[test]
fn text_rows_of_many_members_sort_them() {
    let mut members: Vec<(String, Value)> = template().as_object().unwrap().clone().into_iter().collect();
    members.extend((0..60).map(|i| (format!("extra_{i:02}"), Value::from(i))));
    members.reverse();
    let text = |members: &[(String, Value)]| {
        let body: Vec<String> = members.iter().map(|(k, v)| format!("{}: {v}", Value::from(k.as_str()))).collect();
        format!("[{{\"rev\": 1, \"record\": {{{}}}}}]", body.join(", "))
    };
    let unknown = rows_from_text::<WorkflowTemplate>(&text(&members)).map_err(|e| e.text());
    assert!(unknown.as_ref().is_err_and(|e| e.contains("unknown field `extra_")), "{unknown:?}");
    assert!(serde_json::from_str::<Vec<Option<Stored<WorkflowTemplate>>>>(&text(&members)).is_err());
    let mut dup = members.clone();
    dup.push(("extra_30".to_string(), Value::from(7)));
    assert_eq!(rows_from_text::<WorkflowTemplate>(&text(&dup)).map_err(|e| e.text()), Err("[0].record: duplicate field `extra_30`".to_string()));
}

/// A violation as the reference server lists it (read from a VALIDATION_FAILED answer).
#[test]
fn violation_reader_matches_the_derive() {
    compare::<Violation>(json!({ "field": "tags[0]", "code": "PATTERN", "message": "m" }), 300);
}
