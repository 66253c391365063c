//! What IndexedDB does around the data: another tab upgrading the schema (this connection
//! closes and subscribers are told), a blocked open or delete (reported, not left hanging).
#![cfg(target_arch = "wasm32")]

mod conformance;

use std::cell::RefCell;
use std::rc::Rc;

use conformance::{TickEnv, U1};
use std::future::Future;

use js_sys::{Function, Promise};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use workflow_templates::catalog::{Catalog, ChangeEvent};
use workflow_templates::store::indexeddb::{self, IndexedDbStore};
use workflow_templates::browser::{open_backend, AnyStore};

wasm_bindgen_test_configure!(run_in_browser);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", js_sys::Date::now() as u64, (js_sys::Math::random() * 1e9) as u64)
}

async fn catalog(name: &str) -> Rc<Catalog<AnyStore, TickEnv>> {
    let backend = open_backend(Some("indexeddb"), name).await.unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    let c = Rc::new(Catalog::new(AnyStore::new(backend, name), TickEnv::new(), U1).unwrap());
    c.store().attach(&c);
    c
}

/// A connection as another app would hold it: open, with no `versionchange` handler.
async fn stubborn_connection(name: &str) -> JsValue {
    let f = Function::new_with_args(
        "name",
        "return new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); })",
    );
    JsFuture::from(f.call1(&JsValue::NULL, &name.into()).unwrap().unchecked_into::<Promise>()).await.unwrap()
}

fn close_connection(db: &JsValue) {
    let close: Function = js_sys::Reflect::get(db, &"close".into()).unwrap().unchecked_into();
    close.call0(db).unwrap();
}

/// `p`, or an error if it has not settled within `ms` (a hang is a failure, not a stuck run).
async fn within<T>(ms: i32, f: impl Future<Output = T>) -> T {
    let timer = Promise::new(&mut |_, reject| {
        let set_timeout: Function = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).unwrap().unchecked_into();
        set_timeout.call3(&JsValue::NULL, &reject, &ms.into(), &"timeout".into()).unwrap();
    });
    let mut f = std::pin::pin!(f);
    let mut timer = std::pin::pin!(JsFuture::from(timer));
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
            return std::task::Poll::Ready(v);
        }
        if timer.as_mut().poll(cx).is_ready() {
            panic!("did not settle within {ms} ms");
        }
        std::task::Poll::Pending
    })
    .await
}

#[wasm_bindgen_test]
async fn an_upgrade_in_another_tab_closes_this_connection_and_tells_subscribers() {
    let name = unique("wt-upgrade");
    let c = catalog(&name).await;
    let heard: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let h = heard.clone();
    c.subscribe(move |e| h.borrow_mut().push(e.clone()));
    let t = c.create(json!({ "name": "Before the upgrade", "workflow_type": "plain" })).await.unwrap();
    // "Another tab" runs a newer release: schema version 2. It is not blocked by us.
    let newer = within(15_000, IndexedDbStore::open_at(&name, indexeddb::SCHEMA_VERSION + 1)).await.unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    let got: Vec<(&str, &str, bool)> = heard.borrow().iter().map(|e| (e.kind, e.op, e.external)).collect();
    assert_eq!(got.last(), Some(&("storage", "closed", true)), "subscribers are told: {got:?}");
    let e = c.get(&t.id).await.unwrap_err();
    assert_eq!(e.code(), "STORAGE_UNAVAILABLE");
    // The data is still there for the newer connection.
    use workflow_templates::store::Store;
    assert!(newer.get_template(&t.id).await.unwrap().is_some());
    newer.close();
    within(15_000, indexeddb::destroy(&name)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_blocked_upgrade_is_reported_not_left_hanging() {
    let name = unique("wt-blocked-open");
    IndexedDbStore::open(&name).await.unwrap().close();
    let other = stubborn_connection(&name).await;
    let e = within(15_000, IndexedDbStore::open_at(&name, indexeddb::SCHEMA_VERSION + 1)).await.err().expect("the upgrade is blocked");
    assert_eq!(e.code(), "STORAGE_UNAVAILABLE");
    assert!(e.to_string().contains("blocked"), "{e}");
    // Once the other connection closes, the abandoned upgrade goes through and its connection
    // is closed at once: a later open at that version is not blocked by it.
    close_connection(&other);
    within(15_000, IndexedDbStore::open_at(&name, indexeddb::SCHEMA_VERSION + 1)).await.unwrap_or_else(|e| panic!("{}: {e}", e.code())).close();
    within(15_000, indexeddb::destroy(&name)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_blocked_delete_is_reported_not_left_hanging() {
    let name = unique("wt-blocked-delete");
    IndexedDbStore::open(&name).await.unwrap().close();
    let other = stubborn_connection(&name).await;
    let e = within(15_000, indexeddb::destroy(&name)).await.unwrap_err();
    assert_eq!(e.code(), "STORAGE_UNAVAILABLE");
    assert!(e.to_string().contains("blocked"), "{e}");
    close_connection(&other);
}

#[wasm_bindgen_test]
async fn the_counter_migration_counts_what_an_older_schema_holds() {
    use workflow_templates::store::{Expect, Store, Write};
    let name = unique("wt-migrate-002");
    // A database at schema 1 (before the counters store) with templates in it.
    let v1 = IndexedDbStore::open_at(&name, 1).await.unwrap();
    let mut writes = Vec::new();
    for i in 0..5u32 {
        let mut t = conformance::template(900 + i, U1, &format!("Old {i}"));
        t.is_public = i != 0;
        writes.push(Write::PutTemplate { record: t, expect: Expect::Any });
    }
    // (Schema 1 has no counters store: commit through it fails, so write with a raw put.)
    let put = Function::new_with_args(
        "name, rows",
        "return new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => { const db = r.result; const tx = db.transaction('workflow_templates', 'readwrite'); for (const row of rows) tx.objectStore('workflow_templates').put(row); tx.oncomplete = () => { db.close(); res(); }; tx.onabort = () => rej(tx.error); }; })",
    );
    let rows: js_sys::Array = writes
        .iter()
        .map(|w| match w {
            Write::PutTemplate { record, .. } => {
                let mut row = json!({ "rev": 1, "record": record, "name_key": record.name.to_lowercase(), "is_public": u8::from(record.is_public), "is_latest": 1, "is_builtin": 0 });
                for (k, v) in ["k_popular", "k_rating", "k_recent", "k_name"].iter().zip(indexeddb::sort_keys(record)) {
                    row[*k] = v;
                }
                js_sys::JSON::parse(&row.to_string()).unwrap()
            }
            _ => unreachable!(),
        })
        .collect();
    v1.close();
    JsFuture::from(put.call2(&JsValue::NULL, &name.clone().into(), &rows).unwrap().unchecked_into::<Promise>()).await.unwrap();
    // Opening at the current schema runs 002, which counts the 4 public latest templates.
    let now = IndexedDbStore::open(&name).await.unwrap();
    let page = now.browse_page("01J00000000000000000000001", workflow_templates::catalog::Sort::Name, 20, false).await.unwrap().expect("ordered indexes");
    assert_eq!(page.public.1, 4);
    assert_eq!(page.public.0.len(), 4);
    now.close();
    within(15_000, indexeddb::destroy(&name)).await.unwrap();
}

/// Migration 005 (issue 14): a database made at schema 4 (today's main before labels) opens at
/// the current schema with its data intact and takes labels, which outlive the connection.
#[wasm_bindgen_test]
async fn a_schema_4_database_upgrades_in_place_and_takes_labels() {
    use workflow_templates::catalog::WriteOptions;
    let name = unique("wt-migrate-005");
    IndexedDbStore::open_at(&name, 4).await.unwrap().close();
    let mut t = conformance::template(950, U1, "Labelled later");
    t.config_hash = workflow_templates::hash::config_hash(&t.config());
    let mut row = json!({ "rev": 1, "record": t, "name_key": "labelled later", "is_public": 0, "is_latest": 1, "is_builtin": 0 });
    for (k, v) in ["k_popular", "k_rating", "k_recent", "k_name"].iter().zip(indexeddb::sort_keys(&t)) {
        row[*k] = v;
    }
    let put = Function::new_with_args(
        "name, row",
        "return new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => { const db = r.result; if (db.version !== 4 || db.objectStoreNames.contains('template_labels')) { db.close(); rej(new Error('not a schema 4 database')); return; } const tx = db.transaction('workflow_templates', 'readwrite'); tx.objectStore('workflow_templates').put(row); tx.oncomplete = () => { db.close(); res(); }; tx.onabort = () => rej(tx.error); }; })",
    );
    let row = js_sys::JSON::parse(&row.to_string()).unwrap();
    JsFuture::from(put.call2(&JsValue::NULL, &name.clone().into(), &row).unwrap().unchecked_into::<Promise>()).await.unwrap();
    let c = catalog(&name).await;
    assert_eq!(c.get(&t.id).await.unwrap_or_else(|e| panic!("{}: {e}", e.code())).name, "Labelled later");
    c.set_label(&t.id, "production", WriteOptions::default()).await.unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    assert_eq!(c.delete(&t.id).await.unwrap_err().code(), "HAS_LABELS");
    c.store().close();
    let again = catalog(&name).await;
    let labels = again.labels(&t.id).await.unwrap();
    assert_eq!((labels.len(), labels[0].label.as_str()), (1, "production"));
    again.store().close();
    within(15_000, indexeddb::destroy(&name)).await.unwrap();
}
