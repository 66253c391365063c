//! Issue 15: the `ETag` of one template or spec names its whole representation (content
//! version and statistics), so `If-None-Match` never answers 304 over changed `usage_count`,
//! `rating` or `rating_count` (RFC 9110 section 8.8.1), while `If-Match` stays about the content:
//! the bare `"<updated_at>"` and a full tag whose content part is current pass whatever the
//! statistics did since; an old content part is 412. On SQLite and PostgreSQL
//! (WT_TEST_POSTGRES_URL).

mod common;

use common::*;
use serde_json::{json, Value};

fn body(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn inm(c: &Client, path: &str, tag: &str) -> Resp {
    c.req("GET", path, &[("If-None-Match", tag)], None)
}

#[test]
fn a_statistics_change_moves_the_etag_and_if_none_match_answers_200() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let t = ca.post("/v1/templates", &draft("shared", true));
        let id = t.json()["id"].as_str().unwrap().to_string();
        let path = format!("/v1/templates/{id}");
        let e0 = ca.get(&path).header("etag").unwrap().to_string();
        assert_eq!(t.header("etag"), Some(e0.as_str()), "{l}: the create's answer has the same representation");
        assert_eq!(inm(&cb, &path, &e0).status, 304, "{l}: unchanged -> 304");

        // Another user's use: usage_count moves, updated_at does not.
        let used = cb.post(&format!("{path}/usage"), &json!({ "success": true, "responseTimeMs": 10 }));
        assert_eq!(used.status, 200, "{l}: {}", String::from_utf8_lossy(&used.raw));
        let r = inm(&cb, &path, &e0);
        assert_eq!(r.status, 200, "{l}: a use changed the representation");
        assert_eq!((r.json()["usage_count"].clone(), r.json()["updated_at"].clone()), (json!(1), t.json()["updated_at"].clone()), "{l}");
        let e1 = r.header("etag").unwrap().to_string();
        assert_ne!(e1, e0, "{l}");
        assert_eq!(used.header("etag"), Some(e1.as_str()), "{l}: the usage answer carries the new tag");
        assert_eq!(inm(&cb, &path, &e1).status, 304, "{l}");
        assert_eq!(inm(&cb, &path, &format!("W/{e1}")).status, 304, "{l}: weak comparison");

        // A rating, then a changed rating (rating moves, rating_count does not).
        assert_eq!(cb.put(&format!("{path}/rating"), &json!({ "stars": 4 })).status, 200, "{l}");
        let r = inm(&ca, &path, &e1);
        assert_eq!((r.status, r.json()["rating_count"].clone(), r.json()["rating"].clone()), (200, json!(1), json!(4.0)), "{l}");
        let e2 = r.header("etag").unwrap().to_string();
        assert_eq!(cb.put(&format!("{path}/rating"), &json!({ "stars": 2 })).status, 200, "{l}");
        let r = inm(&ca, &path, &e2);
        assert_eq!((r.status, r.json()["rating_count"].clone(), r.json()["rating"].clone()), (200, json!(1), json!(2.0)), "{l}: same count, new value");
        assert_eq!(inm(&ca, &path, &r.header("etag").unwrap().to_string()).status, 304, "{l}");

        // A spec's use (instantiate) moves its tag too.
        let s = ca.post("/v1/specs", &json!({ "name": "Spec", "workflow_type": "plain" }));
        let spath = format!("/v1/specs/{}", s.json()["id"].as_str().unwrap());
        let se0 = s.header("etag").unwrap().to_string();
        assert_eq!(inm(&ca, &spath, &se0).status, 304, "{l}");
        assert_eq!(ca.post(&format!("{spath}/instantiate"), &json!({ "name": "From spec" })).status, 201, "{l}");
        let r = inm(&ca, &spath, &se0);
        assert_eq!((r.status, r.json()["usage_count"].clone()), (200, json!(1)), "{l}: a spec's use changed its representation");
        assert_eq!(inm(&ca, &spath, r.header("etag").unwrap()).status, 304, "{l}");
    }
}

#[test]
fn if_match_is_about_the_content_whatever_the_statistics_did() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let id = ca.post("/v1/templates", &draft("edited", true)).json()["id"].as_str().unwrap().to_string();
        let path = format!("/v1/templates/{id}");
        let patch = |tag: &str, d: &str| ca.req("PATCH", &path, &[("If-Match", tag)], Some(&body(&json!({ "description": d }))));

        // The full tag held before someone's use: its content part is current -> passes.
        let old_stats = ca.get(&path);
        let full = old_stats.header("etag").unwrap().to_string();
        assert_eq!(cb.post(&format!("{path}/usage"), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
        assert_ne!(ca.get(&path).header("etag").unwrap(), full, "{l}: the use moved the tag");
        let r = patch(&full, "one");
        assert_eq!(r.status, 200, "{l}: full tag with old statistics: {}", String::from_utf8_lossy(&r.raw));

        // The bare content tag (what SPEC's ifMatch sends), after another use.
        assert_eq!(cb.post(&format!("{path}/usage"), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
        let bare = format!("\"{}\"", r.json()["updated_at"].as_str().unwrap());
        let r2 = patch(&bare, "two");
        assert_eq!(r2.status, 200, "{l}: bare content tag: {}", String::from_utf8_lossy(&r2.raw));
        // ... and sent unquoted, as earlier clients did.
        let r3 = patch(r2.json()["updated_at"].as_str().unwrap(), "three");
        assert_eq!(r3.status, 200, "{l}: unquoted content tag");

        // An old content part is 412, bare or full, with or without current statistics.
        let current = ca.get(&path).header("etag").unwrap().to_string();
        for stale in [full.clone(), bare.clone(), r.header("etag").unwrap().to_string()] {
            let x = patch(&stale, "lost update");
            assert_eq!((x.status, x.code().as_str()), (412, "CONFLICT"), "{l}: If-Match {stale}");
        }
        // A weak tag never matches (strong comparison), and a stats part this server never
        // writes (not 16 lowercase hex digits) makes an opaque value that matches nothing.
        let content = current.trim_matches('"').rsplit_once('.').unwrap().0.to_string();
        for odd in [format!("W/{current}"), format!("\"{content}.zz\""), format!("\"{content}.\"")] {
            assert_eq!(patch(&odd, "odd").status, 412, "{l}: If-Match {odd}");
        }

        // New version, delete, spec update and delete take the same tags.
        let nv = ca.req("POST", &format!("{path}/versions"), &[("If-Match", &current)], Some(&body(&json!({ "patch": { "description": "v2" } }))));
        assert_eq!(nv.status, 201, "{l}: {}", String::from_utf8_lossy(&nv.raw));
        let v2 = nv.json()["id"].as_str().unwrap().to_string();
        let v2tag = nv.header("etag").unwrap().to_string();
        assert_eq!(cb.post(&format!("/v1/templates/{v2}/usage"), &json!({ "success": false, "responseTimeMs": 1 })).status, 200, "{l}");
        assert_eq!(ca.req("DELETE", &format!("/v1/templates/{v2}"), &[("If-Match", &v2tag)], None).status, 204, "{l}: delete with old statistics");

        let s = ca.post("/v1/specs", &json!({ "name": "Spec", "workflow_type": "plain" }));
        let spath = format!("/v1/specs/{}", s.json()["id"].as_str().unwrap());
        let stag = s.header("etag").unwrap().to_string();
        assert_eq!(ca.post(&format!("{spath}/instantiate"), &json!({ "name": "From spec" })).status, 201, "{l}");
        let su = ca.req("PATCH", &spath, &[("If-Match", &stag)], Some(&body(&json!({ "description": "d" }))));
        assert_eq!(su.status, 200, "{l}: spec update with old statistics: {}", String::from_utf8_lossy(&su.raw));
        assert_eq!(ca.req("DELETE", &spath, &[("If-Match", &stag)], None).status, 412, "{l}: old content tag");
        let sut = su.header("etag").unwrap().to_string();
        assert_eq!(ca.post(&format!("{spath}/instantiate"), &json!({ "name": "From spec 2" })).status, 201, "{l}");
        assert_eq!(ca.req("DELETE", &spath, &[("If-Match", &sut)], None).status, 204, "{l}: spec delete with old statistics");
    }
}

#[test]
fn head_with_a_matching_if_none_match_answers_304() {
    // RFC 9110 section 13.1.2: If-None-Match applies to GET and HEAD alike.
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let t = c.post("/v1/templates", &draft("head", false));
        let path = format!("/v1/templates/{}", t.json()["id"].as_str().unwrap());
        let tag = t.header("etag").unwrap().to_string();
        let r = c.req("HEAD", &path, &[("If-None-Match", &tag)], None);
        assert_eq!((r.status, r.header("etag")), (304, Some(tag.as_str())), "{l}");
        assert_eq!(c.req("HEAD", &path, &[("If-None-Match", "\"other\"")], None).status, 200, "{l}: no match -> 200");
    }
}
