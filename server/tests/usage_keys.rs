//! Issue 15: the Idempotency-Key of a `recordUsage` (POST /v1/templates/{id}/usage) is kept 90
//! days, not the TTL. An offline replica replays a queued use with its original key; when the
//! first try was applied but its answer lost, and the device stayed offline past the key TTL
//! (24 h), a forgotten key would count the use twice. Past 90 days it is forgotten (the rows
//! are bounded). Keys of the other endpoints still expire after the TTL. On
//! SQLite and PostgreSQL (WT_TEST_POSTGRES_URL).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use workflow_templates_server::db::{text, DbUrl, Pool};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `created_at` of one key `hours` hours back. Returns rows changed.
fn age_key_hours(db: &TestDb, key: &str, hours: i64) -> u64 {
    let old = workflow_templates::model::time::format_ms(now_ms() - hours * 3600 * 1000);
    db_conn(db).execute("UPDATE idempotency_keys SET created_at = {ts1} WHERE idem_key = {t2}", &[text(old), text(key)]).unwrap()
}

/// Ages one key past the default TTL (24 h): `created_at` 25 hours back.
fn age_key(db: &TestDb, key: &str) -> u64 {
    age_key_hours(db, key, 25)
}

fn key_rows(db: &TestDb, key: &str) -> usize {
    db_conn(db).query("SELECT idem_key FROM idempotency_keys WHERE idem_key = {t1}", &[text(key)]).unwrap().len()
}

/// The server's periodic sweep with the default TTL.
fn sweep(db: &TestDb) -> u64 {
    let pool = Pool::new(DbUrl::parse(&db.url).unwrap(), 1);
    workflow_templates_server::idempotency::expire(&pool, DAY).unwrap()
}

fn keyed(c: &Client, path: &str, key: &str, body: &Value) -> Resp {
    c.req("POST", path, &[("Idempotency-Key", key)], Some(body.to_string().as_bytes()))
}

#[test]
fn a_record_usage_key_outlives_the_ttl_and_its_replay_counts_once() {
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let id = c.post("/v1/templates", &draft("used offline", false)).json()["id"].as_str().unwrap().to_string();
        let path = format!("/v1/templates/{id}/usage");
        let use_body = json!({ "success": true, "responseTimeMs": 40, "tokens": 12, "cost": 0.25 });
        let first = keyed(&c, &path, "queued-use-1", &use_body);
        assert_eq!((first.status, first.header("idempotent-replayed")), (200, None), "{l}: {}", String::from_utf8_lossy(&first.raw));
        assert_eq!(first.json()["usage_count"], 1, "{l}");

        // Past the TTL, no sweep yet: the lookup's TTL check keeps it.
        assert_eq!(age_key(&db, "queued-use-1"), 1, "{l}");
        let late = keyed(&c, &path, "queued-use-1", &use_body);
        assert_eq!((late.status, late.header("idempotent-replayed")), (200, Some("true")), "{l}: {}", String::from_utf8_lossy(&late.raw));
        assert_eq!(late.json(), first.json(), "{l}: the stored first answer");

        // The sweep runs too: the key survives it.
        assert_eq!(age_key(&db, "queued-use-1"), 1, "{l}");
        sweep(&db);
        assert_eq!(key_rows(&db, "queued-use-1"), 1, "{l}: the sweep keeps a recordUsage key");
        let later = keyed(&c, &path, "queued-use-1", &use_body);
        assert_eq!((later.status, later.header("idempotent-replayed")), (200, Some("true")), "{l}");
        assert_eq!(later.json(), first.json(), "{l}: the stored first answer");
        assert_eq!(c.get(&format!("/v1/templates/{id}")).json()["usage_count"], 1, "{l}: counted once");

        // The key still belongs to its request: another use under it is refused, not counted.
        let other = keyed(&c, &path, "queued-use-1", &json!({ "success": false, "responseTimeMs": 1 }));
        assert_eq!((other.status, other.code().as_str()), (422, "INVALID_ARGUMENT"), "{l}");
        // A new key is a new use.
        assert_eq!(keyed(&c, &path, "queued-use-2", &use_body).json()["usage_count"], 2, "{l}");
    }
}

#[test]
fn other_endpoints_keys_are_still_forgotten_after_the_ttl() {
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let v1 = c.post("/v1/templates", &draft("edited offline", false)).json()["id"].as_str().unwrap().to_string();
        let versions = format!("/v1/templates/{v1}/versions");
        let edit = json!({ "patch": { "description": "second" } });
        let first = keyed(&c, &versions, "queued-edit-1", &edit);
        assert_eq!(first.status, 201, "{l}: {}", String::from_utf8_lossy(&first.raw));
        let retry = keyed(&c, &versions, "queued-edit-1", &edit);
        assert_eq!((retry.status, retry.header("idempotent-replayed")), (201, Some("true")), "{l}");

        // Aged and swept: the key is gone, a replay is a new request (v1 is no longer latest).
        assert_eq!(age_key(&db, "queued-edit-1"), 1, "{l}");
        assert!(sweep(&db) >= 1, "{l}");
        assert_eq!(key_rows(&db, "queued-edit-1"), 0, "{l}: the sweep forgets an update's key");
        let late = keyed(&c, &versions, "queued-edit-1", &edit);
        assert_eq!((late.status, late.header("idempotent-replayed"), late.code().as_str()), (409, None, "INVALID_ARGUMENT"), "{l}: {}", String::from_utf8_lossy(&late.raw));

        // Aged, no sweep: the lookup forgets it at once.
        let v2 = first.json()["id"].as_str().unwrap().to_string();
        let next = format!("/v1/templates/{v2}/versions");
        assert_eq!(keyed(&c, &next, "queued-edit-2", &edit).status, 201, "{l}");
        assert_eq!(age_key(&db, "queued-edit-2"), 1, "{l}");
        let late = keyed(&c, &next, "queued-edit-2", &edit);
        assert_eq!((late.status, late.header("idempotent-replayed")), (409, None), "{l}: a new request");
    }
}

/// `created_at` of one key `days` days back.
fn age_key_days(db: &TestDb, key: &str, days: i64) -> u64 {
    age_key_hours(db, key, days * 24)
}

#[test]
fn a_record_usage_key_is_kept_90_days_then_forgotten_by_the_sweep_and_the_lookup() {
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let id = c.post("/v1/templates", &draft("used long ago", false)).json()["id"].as_str().unwrap().to_string();
        let path = format!("/v1/templates/{id}/usage");
        let use_body = json!({ "success": true, "responseTimeMs": 5 });
        for key in ["use-89", "use-91-swept", "use-91-read"] {
            assert_eq!(keyed(&c, &path, key, &use_body).status, 200, "{l}");
        }
        // 89 days: kept by the sweep and the lookup (the replay answers the first answer).
        assert_eq!(age_key_days(&db, "use-89", 89), 1, "{l}");
        assert_eq!(age_key_days(&db, "use-91-swept", 91), 1, "{l}");
        sweep(&db);
        assert_eq!((key_rows(&db, "use-89"), key_rows(&db, "use-91-swept")), (1, 0), "{l}: the sweep forgets a recordUsage key past 90 days only");
        let kept = keyed(&c, &path, "use-89", &use_body);
        assert_eq!((kept.status, kept.header("idempotent-replayed")), (200, Some("true")), "{l}");
        // Past 90 days, no sweep yet (the row is still there): the lookup forgets it, the use is new.
        assert_eq!(age_key_days(&db, "use-91-read", 91), 1, "{l}");
        let late = keyed(&c, &path, "use-91-read", &use_body);
        assert_eq!((late.status, late.header("idempotent-replayed")), (200, None), "{l}: a key past 90 days is forgotten");
        assert_eq!(late.json()["usage_count"], 4, "{l}: counted as a new use");
    }
}
