//! The IndexedDB request layer (js/idb.js) on its own, in a real browser, with a schema of its
//! own (it knows none): what a mutate does when an expectation or a uniqueness check fails,
//! queries with a range, a limit and a direction, counts, get-many; and, through the adapter,
//! that quota and abort failures become coded errors and leave the stored data as it was.
#![cfg(target_arch = "wasm32")]

mod conformance;

use js_sys::Function;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use workflow_templates::store::indexeddb::{self, IndexedDbStore};
use workflow_templates::store::{Expect, Store, Write};

wasm_bindgen_test_configure!(run_in_browser);

// The raw bindings of js/idb.js, as the adapter holds them.
use workflow_templates::store::indexeddb::requests::{close as idb_close, idb_delete, idb_mutate_end as mutate_end, idb_mutate_started as mutate_started, idb_open, idb_read, mutate_begin, mutate_ops};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", js_sys::Date::now() as u64, (js_sys::Math::random() * 1e9) as u64)
}

/// A database with one store `t` (key `id`), an index `by_n` on `n` and one `by_group` on `g`.
async fn open(name: &str) -> JsValue {
    let steps = json!([{ "version": 1, "name": "001_t", "ops": [
        { "op": "createStore", "store": "t", "keyPath": "id" },
        { "op": "createIndex", "store": "t", "index": "by_n", "keyPath": "n" },
        { "op": "createIndex", "store": "t", "index": "by_group", "keyPath": "g" },
    ] }]);
    let on_closed = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(|| {});
    let db = JsFuture::from(idb_open(name, 1, &steps.to_string(), &on_closed)).await.unwrap();
    on_closed.forget();
    db
}

async fn drop_db(name: &str, db: &JsValue) {
    idb_close(db);
    JsFuture::from(idb_delete(name)).await.unwrap();
}

/// One mutate of `ops` with uniqueness checks `unique`: None when it committed.
async fn mutate(db: &JsValue, ops: Value, unique: Value) -> Option<Value> {
    let m = mutate_begin(db, &json!({ "stores": ["t"], "rev": "rev", "counters": [] }).to_string());
    mutate_ops(&m, &ops.to_string());
    let out = JsFuture::from(mutate_end(&m, &unique.to_string())).await.unwrap();
    out.as_string().map(|t| serde_json::from_str(&t).unwrap())
}

async fn read(db: &JsValue, ops: Value) -> Vec<Value> {
    let out = JsFuture::from(idb_read(db, &ops.to_string())).await.unwrap();
    js_sys::Array::from(&out).iter().map(|v| serde_json::from_str(&v.as_string().unwrap()).unwrap()).collect()
}

fn ns(rows: &Value) -> Vec<i64> {
    rows.as_array().unwrap().iter().map(|r| r["n"].as_i64().unwrap()).collect()
}

#[wasm_bindgen_test]
async fn a_mutate_whose_expectation_fails_writes_nothing() {
    let name = unique("wt-idb-expect");
    let db = open(&name).await;
    assert_eq!(mutate(&db, json!([{ "s": "t", "k": "a", "v": { "id": "a", "n": 1 }, "e": 0 }]), json!([])).await, None);
    // A create, an update of `a` at the right revision, then one at a stale revision.
    let why = mutate(
        &db,
        json!([
            { "s": "t", "k": "b", "v": { "id": "b", "n": 2 }, "e": 0 },
            { "s": "t", "k": "a", "v": { "id": "a", "n": 10 }, "e": 1 },
            { "s": "t", "k": "a", "v": { "id": "a", "n": 11 }, "e": 1 },
        ]),
        json!([]),
    )
    .await
    .expect("the stale write fails the batch");
    // The third op saw the second one's revision (2), not the stored one.
    assert_eq!(why, json!({ "op": 2, "conflict": true, "actual": 2 }));
    let got = read(&db, json!([{ "op": "get", "store": "t", "keys": ["a", "b"] }])).await;
    assert_eq!(got[0], json!([{ "id": "a", "n": 1, "rev": 1 }, null]), "nothing of the batch stayed");
    // Absent expected but present, and a revision expected of a missing row: both refused.
    let why = mutate(&db, json!([{ "s": "t", "k": "z", "e": 3 }]), json!([])).await.unwrap();
    assert_eq!(why, json!({ "op": 0, "conflict": true, "actual": null }));
    let why = mutate(&db, json!([{ "s": "t", "k": "a", "v": { "id": "a", "n": 5 }, "e": 0 }]), json!([])).await.unwrap();
    assert_eq!((why["op"].clone(), why["add"].clone(), why["name"].clone()), (json!(0), json!(true), json!("ConstraintError")));
    // Without an expectation a put numbers the row after the stored one; a delete removes it.
    assert_eq!(mutate(&db, json!([{ "s": "t", "k": "a", "v": { "id": "a", "n": 7 } }]), json!([])).await, None);
    let got = read(&db, json!([{ "op": "get", "store": "t", "keys": ["a"], "pick": ["rev", "n"] }])).await;
    assert_eq!(got[0], json!([{ "rev": 2, "n": 7 }]));
    assert_eq!(mutate(&db, json!([{ "s": "t", "k": "a", "e": 2 }]), json!([])).await, None);
    assert_eq!(read(&db, json!([{ "op": "count", "store": "t" }])).await[0], json!(0));
    drop_db(&name, &db).await;
}

/// A batch begun with `hold` (the adapter's large batches) places its writes from the
/// transaction's first answer (js/idb.js, for Firefox's sake): handed over in chunks, it commits
/// whole, each op sees the earlier ones, and one failing op leaves nothing of it.
#[wasm_bindgen_test]
async fn a_large_batch_in_chunks_commits_or_fails_whole() {
    let name = unique("wt-idb-large");
    let db = open(&name).await;
    let key = |i: i64| format!("k{i:03}");
    let creates: Vec<Value> = (0..300).map(|i| json!({ "s": "t", "k": key(i), "v": { "id": key(i), "n": i }, "e": 0 })).collect();
    let held = json!({ "stores": ["t"], "rev": "rev", "counters": [], "hold": true }).to_string();
    // As the IndexedDB adapter does: the chunks are built after the transaction's first answer
    // (a microtask later), while the transaction is still active.
    let m = mutate_begin(&db, &held);
    JsFuture::from(mutate_started(&m)).await.unwrap();
    mutate_ops(&m, &Value::Array(creates[..256].to_vec()).to_string());
    mutate_ops(&m, &Value::Array(creates[256..].to_vec()).to_string());
    let out = JsFuture::from(mutate_end(&m, "[]")).await.unwrap();
    assert!(out.is_null(), "the batch committed: {out:?}");
    assert_eq!(read(&db, json!([{ "op": "count", "store": "t" }])).await[0], json!(300));
    // 300 updates at revision 1, then one more of k005 expecting 1: the batch's own update made
    // it 2, so the whole batch fails at that op and nothing of it stays.
    let mut ops: Vec<Value> = (0..300).map(|i| json!({ "s": "t", "k": key(i), "v": { "id": key(i), "n": 1000 + i }, "e": 1 })).collect();
    ops.push(json!({ "s": "t", "k": "k005", "v": { "id": "k005", "n": -1 }, "e": 1 }));
    let m = mutate_begin(&db, &held);
    mutate_ops(&m, &Value::Array(ops).to_string());
    let why = JsFuture::from(mutate_end(&m, "[]")).await.unwrap().as_string().expect("the stale write fails the batch");
    assert_eq!(serde_json::from_str::<Value>(&why).unwrap(), json!({ "op": 300, "conflict": true, "actual": 2 }));
    let got = read(&db, json!([{ "op": "get", "store": "t", "keys": ["k000", "k299"], "pick": ["n", "rev"] }])).await;
    assert_eq!(got[0], json!([{ "n": 0, "rev": 1 }, { "n": 299, "rev": 1 }]), "nothing of the failed batch stayed");
    drop_db(&name, &db).await;
}

#[wasm_bindgen_test]
async fn a_batch_handed_over_too_late_is_reported_not_committed() {
    let name = unique("wt-idb-late");
    let db = open(&name).await;
    // Ops handed over a task after the transaction's first answer: the transaction has
    // committed with only its probe by then. The batch must say so, not report success.
    let held = json!({ "stores": ["t"], "rev": "rev", "counters": [], "hold": true }).to_string();
    let m = mutate_begin(&db, &held);
    JsFuture::from(mutate_started(&m)).await.unwrap();
    conformance::browser::pause(20).await;
    mutate_ops(&m, &json!([{ "s": "t", "k": "late", "v": { "id": "late", "n": 1 }, "e": 0 }]).to_string());
    let why = JsFuture::from(mutate_end(&m, "[]")).await.unwrap().as_string().expect("a failure, not a commit");
    assert_eq!(serde_json::from_str::<Value>(&why).unwrap()["name"], json!("TransactionInactiveError"));
    assert_eq!(read(&db, json!([{ "op": "count", "store": "t" }])).await[0], json!(0));
    // A held batch on a closed connection: its start still settles, its end says why.
    idb_close(&db);
    let m = mutate_begin(&db, &held);
    JsFuture::from(mutate_started(&m)).await.unwrap();
    mutate_ops(&m, &json!([{ "s": "t", "k": "a", "v": { "id": "a", "n": 1 }, "e": 0 }]).to_string());
    let why = JsFuture::from(mutate_end(&m, "[]")).await.unwrap().as_string().expect("a failure on a closed connection");
    assert_eq!(serde_json::from_str::<Value>(&why).unwrap()["name"], json!("InvalidStateError"));
    JsFuture::from(idb_delete(&name)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_uniqueness_check_that_fails_writes_nothing() {
    let name = unique("wt-idb-unique");
    let db = open(&name).await;
    let rows = json!([{ "s": "t", "k": "a", "v": { "id": "a", "n": 1, "g": "x" }, "e": 0 }]);
    assert_eq!(mutate(&db, rows, json!([{ "store": "t", "index": "by_group", "key": "x", "max": 1 }])).await, None);
    let second = json!([
        { "s": "t", "k": "c", "v": { "id": "c", "n": 3, "g": "y" }, "e": 0 },
        { "s": "t", "k": "b", "v": { "id": "b", "n": 2, "g": "x" }, "e": 0 },
    ]);
    let checks = json!([{ "store": "t", "index": "by_group", "key": "y", "max": 1 }, { "store": "t", "index": "by_group", "key": "x", "max": 1 }]);
    assert_eq!(mutate(&db, second, checks).await, Some(json!({ "unique": 1, "count": 2 })));
    assert_eq!(read(&db, json!([{ "op": "count", "store": "t" }])).await[0], json!(1), "neither c nor b stayed");
    drop_db(&name, &db).await;
}

#[wasm_bindgen_test]
async fn a_query_takes_a_range_a_limit_and_a_direction() {
    let name = unique("wt-idb-query");
    let db = open(&name).await;
    // Ten rows over two chunks, as a large batch arrives.
    let m = mutate_begin(&db, &json!({ "stores": ["t"], "rev": "rev", "counters": [] }).to_string());
    for half in [0..5, 5..10] {
        let ops: Vec<Value> = half.map(|n| json!({ "s": "t", "k": format!("k{n}"), "v": { "id": format!("k{n}"), "n": 9 - n }, "e": 0 })).collect();
        mutate_ops(&m, &Value::Array(ops).to_string());
    }
    assert!(JsFuture::from(mutate_end(&m, "[]")).await.unwrap().is_null());
    let range = json!({ "lower": 2, "upper": 7, "upperOpen": true });
    let got = read(
        &db,
        json!([
            { "op": "query", "store": "t", "index": "by_n", "range": range },
            { "op": "query", "store": "t", "index": "by_n", "range": range, "limit": 3 },
            { "op": "query", "store": "t", "index": "by_n", "range": range, "limit": 2, "dir": "prev" },
            { "op": "query", "store": "t", "index": "by_n", "range": { "lower": 7, "lowerOpen": true } },
            { "op": "query", "store": "t", "index": "by_n", "range": { "eq": 4 }, "pick": ["n"] },
            { "op": "count", "store": "t", "index": "by_n", "range": range },
            { "op": "get", "store": "t", "keys": ["k0", "nope", "k9"], "pick": ["n"] },
            { "op": "query", "store": "t", "limit": 1 },
        ]),
    )
    .await;
    assert_eq!(ns(&got[0]), [2, 3, 4, 5, 6]);
    assert_eq!(ns(&got[1]), [2, 3, 4]);
    assert_eq!(ns(&got[2]), [6, 5]);
    assert_eq!(ns(&got[3]), [8, 9]);
    assert_eq!(got[4], json!([{ "n": 4 }]));
    assert_eq!(got[5], json!(5));
    assert_eq!(got[6], json!([{ "n": 9 }, null, { "n": 0 }]));
    assert_eq!(got[7].as_array().unwrap().len(), 1);
    // A read of an index that does not exist rejects (no half answer, no hang).
    let bad = JsFuture::from(idb_read(&db, &json!([{ "op": "count", "store": "t", "index": "nope" }]).to_string())).await.unwrap_err();
    assert_eq!(js_sys::Reflect::get(&bad, &"name".into()).unwrap().as_string().as_deref(), Some("NotFoundError"));
    drop_db(&name, &db).await;
}

/// Makes `IDBObjectStore.prototype.put` fail the way `how` says until the returned function
/// is called: "throw" throws a QuotaExceededError at once; "abort-quota" lets the put through
/// and aborts the transaction with a QuotaExceededError (a quota failure at commit time);
/// "abort" aborts it with no error.
fn break_put(how: &str) -> Function {
    let f = Function::new_with_args(
        "how",
        "const proto = IDBObjectStore.prototype, put = proto.put;
         proto.put = function (v) {
           if (how === 'throw') throw new DOMException('the quota is full', 'QuotaExceededError');
           const r = put.call(this, v), tx = this.transaction;
           if (how === 'abort-quota') Object.defineProperty(tx, 'error', { value: new DOMException('the quota is full', 'QuotaExceededError') });
           tx.abort();
           return r;
         };
         return () => { proto.put = put; };",
    );
    f.call1(&JsValue::NULL, &how.into()).unwrap().unchecked_into()
}

#[wasm_bindgen_test]
async fn quota_and_abort_failures_are_coded_and_leave_data_intact() {
    let name = unique("wt-idb-quota");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let kept = conformance::template(1, conformance::U1, "Kept");
    store.commit(vec![Write::PutTemplate { record: kept.clone(), expect: Expect::Absent }]).await.unwrap();
    for (how, code) in [("throw", "STORAGE_QUOTA"), ("abort-quota", "STORAGE_QUOTA"), ("abort", "STORAGE_UNAVAILABLE")] {
        let mut changed = kept.clone();
        changed.description = format!("changed by {how}");
        let writes = vec![
            Write::PutTemplate { record: conformance::template(2, conformance::U1, "New"), expect: Expect::Absent },
            Write::PutTemplate { record: changed, expect: Expect::Rev(1) },
        ];
        let restore = break_put(how);
        let outcome = store.commit(writes).await;
        restore.call0(&JsValue::NULL).unwrap();
        let e = outcome.expect_err(how);
        assert_eq!(e.code(), code, "{how}: {e}");
        let got = store.get_template(&kept.id).await.unwrap().unwrap();
        assert_eq!((got.rev, got.record), (1, kept.clone()), "{how}: the stored row is unchanged");
        assert!(store.get_template(&conformance::template(2, conformance::U1, "New").id).await.unwrap().is_none(), "{how}");
    }
    // The store still works afterwards.
    let mut changed = kept.clone();
    changed.description = "changed".into();
    store.commit(vec![Write::PutTemplate { record: changed, expect: Expect::Rev(1) }]).await.unwrap();
    assert_eq!(store.get_template(&kept.id).await.unwrap().unwrap().rev, 2);
    store.close();
    indexeddb::destroy(&name).await.unwrap();
}

/// The layout of database `name` (every store's key path and indexes) as JSON text.
async fn layout(name: &str) -> Value {
    let f = Function::new_with_args(
        "name",
        "return new Promise((res, rej) => { const r = indexedDB.open(name); r.onerror = () => rej(r.error); r.onsuccess = () => {
           const db = r.result, out = { version: db.version, stores: {} };
           const names = [...db.objectStoreNames];
           if (names.length) { const tx = db.transaction(names, 'readonly');
             for (const s of names) { const os = tx.objectStore(s), ix = {};
               for (const i of os.indexNames) { const x = os.index(i); ix[i] = [x.keyPath, x.unique, x.multiEntry]; }
               out.stores[s] = { keyPath: os.keyPath, indexes: ix }; } }
           db.close(); res(JSON.stringify(out)); }; })",
    );
    let text = JsFuture::from(f.call1(&JsValue::NULL, &name.into()).unwrap().unchecked_into::<js_sys::Promise>()).await.unwrap();
    serde_json::from_str(&text.as_string().unwrap()).unwrap()
}

/// Every schema this package ever created upgrades in place to exactly the layout a new
/// database gets, one named step after another, and the upgraded database takes writes.
#[wasm_bindgen_test]
async fn every_earlier_schema_upgrades_to_the_layout_of_a_new_database() {
    let fresh = unique("wt-idb-fresh");
    IndexedDbStore::open(&fresh).await.unwrap().close();
    let want = layout(&fresh).await;
    assert_eq!(want["version"], json!(indexeddb::SCHEMA_VERSION));
    assert_eq!(want["stores"].as_object().unwrap().len(), 9, "{want}");
    indexeddb::destroy(&fresh).await.unwrap();
    for from in 1..indexeddb::SCHEMA_VERSION {
        let name = unique(&format!("wt-idb-from-{from}"));
        IndexedDbStore::open_at(&name, from).await.unwrap().close();
        assert_eq!(layout(&name).await["version"], json!(from));
        let store = IndexedDbStore::open(&name).await.unwrap_or_else(|e| panic!("from {from}: {}: {e}", e.code()));
        let t = conformance::template(3, conformance::U1, "After the upgrade");
        store.commit(vec![Write::PutTemplate { record: t.clone(), expect: Expect::Absent }]).await.unwrap_or_else(|e| panic!("from {from}: {e}"));
        assert_eq!(store.get_template(&t.id).await.unwrap().map(|s| s.rev), Some(1), "from {from}");
        store.close();
        assert_eq!(layout(&name).await, want, "from schema {from}");
        indexeddb::destroy(&name).await.unwrap();
    }
}
