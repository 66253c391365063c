//! Concurrency and retries against real server processes: parallel recordUsage loses no
//! increment, two writers with one If-Match give exactly one 412, and an Idempotency-Key makes a
//! retried request apply once, even across a server crash and restart.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use serde_json::{json, Value};
use workflow_templates_server::db::{text, Conn, DbUrl};

fn usage_body(tokens: u64) -> Value {
    json!({ "success": tokens % 2 == 0, "responseTimeMs": 10 + tokens, "tokens": tokens, "cost": 0.5 })
}

#[test]
fn fifty_parallel_usage_records_lose_nothing() {
    for db in backends() {
        let a = create_user(&db);
        let b = create_user(&db);
        let srv = Server::start(&db);
        let ca = srv.client(Some(&a.token));
        let cb = srv.client(Some(&b.token));
        let l = db.label;
        let r = ca.post("/v1/templates", &draft("hot", true));
        let id = r.json()["id"].as_str().unwrap().to_string();
        for target in [id.clone(), BUILTIN.to_string()] {
            let barrier = Arc::new(Barrier::new(50));
            let handles: Vec<_> = (0..50u64)
                .map(|i| {
                    let c = if i % 2 == 0 { ca.clone() } else { cb.clone() };
                    let barrier = barrier.clone();
                    let path = format!("/v1/templates/{target}/usage");
                    std::thread::spawn(move || {
                        barrier.wait();
                        c.post(&path, &usage_body(i))
                    })
                })
                .collect();
            let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).map(|r| r.status).collect();
            assert!(statuses.iter().all(|s| *s == 200), "{l}: {target}: {statuses:?}");
            let t = ca.get(&format!("/v1/templates/{target}")).json();
            assert_eq!(t["usage_count"], 50, "{l}: {target}");
            assert_eq!(t["total_tokens_used"], (0..50).sum::<u64>(), "{l}: {target}");
            assert_eq!(t["success_rate"], 0.5, "{l}: {target}");
            assert_eq!(t["total_cost"], 25.0, "{l}: {target}");
        }
        // Statistics do not move updated_at, so an editor's If-Match survives them.
        let t = ca.get(&format!("/v1/templates/{id}"));
        assert_eq!(t.json()["updated_at"], r.json()["updated_at"], "{l}");
    }
}

#[test]
fn two_writers_with_one_if_match_exactly_one_wins() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let mut id = c.post("/v1/templates", &draft("contended", false)).json()["id"].as_str().unwrap().to_string();
        for round in 0..6 {
            let etag = c.get(&format!("/v1/templates/{id}")).header("etag").unwrap().to_string();
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|w| {
                    let (c, barrier, etag, id) = (c.clone(), barrier.clone(), etag.clone(), id.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        if round % 3 == 2 {
                            // newVersion races too; afterwards the latest version is edited.
                            c.req("POST", &format!("/v1/templates/{id}/versions"), &[("If-Match", &etag)], Some(json!({ "patch": { "description": format!("v by {w}") } }).to_string().as_bytes()))
                        } else {
                            c.req("PATCH", &format!("/v1/templates/{id}"), &[("If-Match", &etag)], Some(json!({ "description": format!("writer {w} round {round}") }).to_string().as_bytes()))
                        }
                    })
                })
                .collect();
            let mut rs: Vec<Resp> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            rs.sort_by_key(|r| r.status);
            let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
            assert!(statuses == vec![200, 412] || statuses == vec![201, 412], "{l}: round {round}: {statuses:?} {:?}", rs.iter().map(|r| r.json()).collect::<Vec<_>>());
            assert_eq!(rs[1].code(), "CONFLICT", "{l}");
            if round % 3 == 2 {
                let new_id = rs[0].json()["id"].as_str().unwrap().to_string();
                let vs = c.get(&format!("/v1/templates/{new_id}/versions")).json();
                assert_eq!(vs.as_array().unwrap().iter().filter(|v| v["is_latest"] == true).count(), 1, "{l}: one latest version");
                id = new_id;
            }
        }
        // A stale If-Match on delete is refused too, and deletes nothing.
        let latest = c.get("/v1/templates?includeBuiltin=false&limit=1").json()["items"][0].clone();
        let lid = latest["id"].as_str().unwrap();
        let r = c.req("DELETE", &format!("/v1/templates/{lid}"), &[("If-Match", "\"2000-01-01T00:00:00.000Z\"")], None);
        assert_eq!((r.status, r.code().as_str()), (412, "CONFLICT"), "{l}");
        let etag = c.get(&format!("/v1/templates/{lid}")).header("etag").unwrap().to_string();
        let r = c.req("DELETE", &format!("/v1/templates/{lid}"), &[("If-Match", &etag)], None);
        assert_eq!(r.status, 204, "{l}");
    }
}

fn idem_post(c: &Client, path: &str, key: &str, body: &Value) -> Resp {
    c.req("POST", path, &[("Idempotency-Key", key)], Some(body.to_string().as_bytes()))
}

#[test]
fn idempotent_retries_apply_once_even_across_a_restart() {
    for db in backends() {
        let a = create_user(&db);
        let b = create_user(&db);
        let mut srv = Server::start(&db);
        let l = db.label;

        // create: first try, then the server dies, then the retry
        let body = draft("made once", true);
        let first = idem_post(&srv.client(Some(&a.token)), "/v1/templates", "create-1", &body);
        assert_eq!(first.status, 201, "{l}");
        assert_eq!(first.header("idempotent-replayed"), None);
        srv.restart();
        let c = srv.client(Some(&a.token));
        let retry = idem_post(&c, "/v1/templates", "create-1", &body);
        assert_eq!(retry.status, 201, "{l}");
        assert_eq!(retry.header("idempotent-replayed"), Some("true"), "{l}");
        assert_eq!(retry.json(), first.json(), "{l}: the retry answers what the first request answered");
        let page = c.get(&format!("/v1/templates?includeBuiltin=false&text={}", enc("made once"))).json();
        assert_eq!(page["total"], 1, "{l}: applied once");
        let id = first.json()["id"].as_str().unwrap().to_string();

        // usage: same, and the count proves it
        let path = format!("/v1/templates/{id}/usage");
        let u1 = idem_post(&c, &path, "use-1", &usage_body(7));
        assert_eq!(u1.json()["usage_count"], 1, "{l}");
        srv.restart();
        let c = srv.client(Some(&a.token));
        let u2 = idem_post(&c, &path, "use-1", &usage_body(7));
        assert_eq!((u2.status, u2.json()["usage_count"].as_u64()), (200, Some(1)), "{l}");
        assert_eq!(c.get(&format!("/v1/templates/{id}")).json()["usage_count"], 1, "{l}");
        // A new key is a new use; the same key from another user is that user's own.
        assert_eq!(idem_post(&c, &path, "use-2", &usage_body(7)).json()["usage_count"], 2);
        assert_eq!(idem_post(&srv.client(Some(&b.token)), &path, "use-1", &usage_body(7)).json()["usage_count"], 3, "{l}");
        // The same key for a different request is refused.
        let r = idem_post(&c, &path, "use-1", &usage_body(8));
        assert_eq!((r.status, r.code().as_str()), (422, "INVALID_ARGUMENT"), "{l}");
        // A failed request does not spend its key.
        let bad = idem_post(&c, "/v1/templates", "create-2", &json!({ "name": "made once", "workflow_type": "plain" }));
        assert_eq!(bad.code(), "NAME_TAKEN");
        let ok = idem_post(&c, "/v1/templates", "create-2", &json!({ "name": "made twice", "workflow_type": "plain" }));
        assert_eq!(ok.status, 201, "{l}: a different body under a key whose request failed is a new request");

        // Twenty identical requests at once: one applies, all answer alike.
        let barrier = Arc::new(Barrier::new(20));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (c, barrier, path) = (c.clone(), barrier.clone(), path.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    idem_post(&c, &path, "burst", &usage_body(1))
                })
            })
            .collect();
        let rs: Vec<Resp> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for r in &rs {
            assert_eq!((r.status, r.json()["usage_count"].as_u64()), (200, Some(4)), "{l}: {}", String::from_utf8_lossy(&r.raw));
        }
        assert_eq!(c.get(&format!("/v1/templates/{id}")).json()["usage_count"], 4, "{l}");

        // Ten identical creates at once: one template, ten identical answers.
        let barrier = Arc::new(Barrier::new(10));
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let (c, barrier) = (c.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    idem_post(&c, "/v1/templates", "create-burst", &draft("burst", true))
                })
            })
            .collect();
        let rs: Vec<Resp> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for r in &rs {
            assert_eq!(r.status, 201, "{l}: {}", String::from_utf8_lossy(&r.raw));
            assert_eq!(r.json()["id"], rs[0].json()["id"], "{l}");
        }
        assert_eq!(c.get("/v1/templates?includeBuiltin=false&text=burst").json()["total"], 1, "{l}");

        // The server stopped after the commit but before storing the response: the retry is
        // answered from the record the request wrote, and nothing is applied again.
        let r = idem_post(&c, "/v1/templates", "create-3", &draft("crash window", false));
        assert_eq!(r.status, 201);
        let mut conn = Conn::open(&DbUrl::parse(&db.url).unwrap()).unwrap();
        let n = conn.execute("UPDATE idempotency_keys SET status = NULL, response = NULL WHERE idem_key = {t1}", &[text("create-3")]).unwrap();
        assert_eq!(n, 1);
        drop(conn);
        srv.restart();
        let c = srv.client(Some(&a.token));
        let again = idem_post(&c, "/v1/templates", "create-3", &draft("crash window", false));
        assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")), "{l}");
        assert_eq!(again.json()["id"], r.json()["id"], "{l}");
        assert_eq!(c.get(&format!("/v1/templates?includeBuiltin=false&text={}", enc("crash window"))).json()["total"], 1, "{l}");

        // Specs and instantiation take keys too.
        let s1 = idem_post(&c, "/v1/specs", "spec-1", &json!({ "name": "s", "workflow_type": "plain" }));
        let s2 = idem_post(&c, "/v1/specs", "spec-1", &json!({ "name": "s", "workflow_type": "plain" }));
        assert_eq!(s1.json(), s2.json(), "{l}");
        assert_eq!(c.get("/v1/specs").json().as_array().unwrap().len(), 1);
        let sid = s1.json()["id"].as_str().unwrap().to_string();
        let i1 = idem_post(&c, &format!("/v1/specs/{sid}/instantiate"), "inst-1", &json!({ "name": "from s" }));
        let i2 = idem_post(&c, &format!("/v1/specs/{sid}/instantiate"), "inst-1", &json!({ "name": "from s" }));
        assert_eq!((i1.status, i2.status), (201, 201), "{l}");
        assert_eq!(i1.json()["id"], i2.json()["id"]);
        assert_eq!(c.get(&format!("/v1/specs/{sid}")).json()["usage_count"], 1, "{l}");

        // Keys expire after their TTL, except recordUsage's (kept forever, issue 15): a retry
        // of a create after that is a new request, a retry of a use still its stored answer.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let pool = workflow_templates_server::db::Pool::new(DbUrl::parse(&db.url).unwrap(), 1);
        let gone = workflow_templates_server::idempotency::expire(&pool, std::time::Duration::ZERO).unwrap();
        assert!(gone >= 6, "{l}: {gone}");
        let mut conn = Conn::open(&DbUrl::parse(&db.url).unwrap()).unwrap();
        let mut kept: Vec<String> = conn.query("SELECT idem_key FROM idempotency_keys", &[]).unwrap().iter().map(|r| r[0].text().unwrap().to_string()).collect();
        kept.sort();
        assert_eq!(kept, ["burst", "use-1", "use-1", "use-2"], "{l}: only recordUsage keys survive the sweep");
        let r = idem_post(&c, &path, "use-1", &usage_body(7));
        assert_eq!((r.header("idempotent-replayed"), r.json()["usage_count"].as_u64()), (Some("true"), Some(1)), "{l}");
        assert_eq!(c.get(&format!("/v1/templates/{id}")).json()["usage_count"], 4, "{l}: nothing counted again");
        let again = idem_post(&c, "/v1/templates", "create-1", &body);
        assert_eq!((again.status, again.header("idempotent-replayed"), again.code().as_str()), (409, None, "NAME_TAKEN"), "{l}: a create's key was forgotten");
    }
}
