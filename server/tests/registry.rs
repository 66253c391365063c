//! The registry endpoints of issue 14 end to end (SQLite, and PostgreSQL when
//! WT_TEST_POSTGRES_URL is set): labels with If-Match, the access rules between users, delete
//! protection, fetch by name, rollback with If-Match and Idempotency-Key, labels in
//! export/import.

mod common;

use common::*;
use serde_json::json;

fn ok_json(r: &Resp, what: &str) -> serde_json::Value {
    assert!(r.status == 200 || r.status == 201, "{what}: {} {}", r.status, String::from_utf8_lossy(&r.raw));
    r.json()
}

#[test]
fn labels_fetch_by_name_and_rollback_over_http() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let t1 = ok_json(&ca.post("/v1/templates", &json!({ "name": "Support bot", "workflow_type": "plain", "is_public": true, "default_params": { "v": 1 } })), "create");
        let id1 = t1["id"].as_str().unwrap().to_string();
        let t2 = ok_json(&ca.post(&format!("/v1/templates/{id1}/versions"), &json!({ "patch": { "default_params": { "v": 2 } } })), "version");
        let id2 = t2["id"].as_str().unwrap().to_string();

        // Set, with the label's updated_at as ETag; move with If-Match; a stale one is 412.
        let put = ca.put(&format!("/v1/templates/{id1}/labels/production"), &json!(null));
        let first = ok_json(&put, "set");
        assert_eq!((first["label"].as_str(), first["template_id"].as_str(), first["version"].as_u64()), (Some("production"), Some(id1.as_str()), Some(1)), "{l}");
        let etag = put.header("etag").unwrap().to_string();
        assert_eq!(etag, format!("\"{}\"", first["updated_at"].as_str().unwrap()), "{l}");
        let moved = ca.req("PUT", &format!("/v1/templates/{id2}/labels/production"), &[("If-Match", &etag)], None);
        assert_eq!(moved.status, 200, "{l}: {}", String::from_utf8_lossy(&moved.raw));
        let stale = ca.req("PUT", &format!("/v1/templates/{id1}/labels/production"), &[("If-Match", &etag)], None);
        assert_eq!((stale.status, stale.code().as_str()), (412, "CONFLICT"), "{l}");
        let bad = ca.put(&format!("/v1/templates/{id1}/labels/Not%20Valid"), &json!(null));
        assert_eq!((bad.status, bad.code().as_str()), (400, "INVALID_ARGUMENT"), "{l}");
        let reserved = ca.put(&format!("/v1/templates/{id1}/labels/latest"), &json!(null));
        assert_eq!(reserved.code(), "INVALID_ARGUMENT", "{l}");

        // Others see the labels of a public lineage and cannot move them.
        let listed = ok_json(&cb.get(&format!("/v1/templates/{id1}/labels")), "labels");
        assert_eq!(listed.as_array().unwrap().len(), 1, "{l}");
        assert_eq!(listed[0]["template_id"], id2.as_str());
        assert_eq!(cb.put(&format!("/v1/templates/{id1}/labels/mine"), &json!(null)).code(), "FORBIDDEN", "{l}");
        assert_eq!(cb.delete(&format!("/v1/templates/{id1}/labels/production")).code(), "FORBIDDEN", "{l}");
        let private = ok_json(&ca.post("/v1/templates", &json!({ "name": "Private bot", "workflow_type": "plain" })), "private");
        let pid = private["id"].as_str().unwrap();
        assert_eq!(cb.get(&format!("/v1/templates/{pid}/labels")).status, 404, "{l}");
        assert_eq!(cb.put(&format!("/v1/templates/{pid}/labels/x"), &json!(null)).status, 404, "{l}");

        // A labelled version cannot be deleted (409 HAS_LABELS naming the labels).
        let del = ca.delete(&format!("/v1/templates/{id2}"));
        assert_eq!((del.status, del.code().as_str()), (409, "HAS_LABELS"), "{l}");
        assert_eq!(del.json()["error"]["details"]["labels"], json!(["production"]), "{l}");

        // Versions with their labels.
        let lv = ok_json(&cb.get(&format!("/v1/templates/{id1}/versions/labelled")), "labelled versions");
        assert_eq!(lv[0]["record"]["id"], id2.as_str(), "{l}");
        assert_eq!(lv[0]["labels"], json!(["production"]));
        assert_eq!(lv[1]["labels"], json!([]));

        // Fetch by name, as another user: the single public lineage, by label or version.
        let got = ok_json(&cb.get(&format!("/v1/by-name?name={}&label=production", enc("support BOT"))), "by name");
        assert_eq!(got["id"], id2.as_str(), "{l}");
        assert_eq!(ok_json(&cb.get(&format!("/v1/by-name?name={}&version=1&owner={}", enc("Support bot"), a.id)), "by version")["id"], id1.as_str());
        let res = ok_json(&cb.get(&format!("/v1/by-name/resolve?name={}&label=production", enc("Support bot"))), "resolve by name");
        assert_eq!(res["effective"]["default_params"], json!({ "v": 2 }), "{l}");
        assert_eq!(cb.get(&format!("/v1/by-name?name={}", enc("Private bot"))).status, 404, "{l}");
        assert_eq!(cb.get("/v1/by-name?name=x&version=0").status, 400, "{l}");
        assert_eq!(cb.get("/v1/by-name?name=x&colour=red").status, 400, "{l}");
        assert_eq!(cb.get("/v1/by-name").status, 400, "{l}");
        ok_json(&cb.post("/v1/templates", &json!({ "name": "Support bot", "workflow_type": "plain", "is_public": true })), "b's twin");
        let c3 = create_user(&db);
        let amb = srv.client(Some(&c3.token)).get(&format!("/v1/by-name?name={}", enc("Support bot")));
        assert_eq!((amb.status, amb.code().as_str()), (409, "AMBIGUOUS_BASE"), "{l}");

        // Rollback: If-Match is the latest's updated_at; an Idempotency-Key replays.
        let stale = ca.req("POST", &format!("/v1/templates/{id1}/restore"), &[("If-Match", &format!("\"{}\"", t1["updated_at"].as_str().unwrap()))], Some(b"{}"));
        assert_eq!((stale.status, stale.code().as_str()), (412, "CONFLICT"), "{l}");
        let latest_etag = format!("\"{}\"", t2["updated_at"].as_str().unwrap());
        let headers = [("If-Match", latest_etag.as_str()), ("Idempotency-Key", "restore-1")];
        let r = ca.req("POST", &format!("/v1/templates/{id1}/restore"), &headers, Some(b"{\"changelog\":\"back to 1\"}"));
        let restored = ok_json(&r, "restore");
        assert_eq!(r.status, 201);
        assert_eq!((restored["version"].as_u64(), restored["config_hash"].as_str(), restored["changelog"].as_str()), (Some(3), t1["config_hash"].as_str(), Some("back to 1")), "{l}");
        let again = ca.req("POST", &format!("/v1/templates/{id1}/restore"), &headers, Some(b"{\"changelog\":\"back to 1\"}"));
        assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")), "{l}");
        assert_eq!(again.json()["id"], restored["id"], "{l}");
        assert_eq!(ca.get(&format!("/v1/templates/{id1}/versions")).json().as_array().unwrap().len(), 3, "{l}: one restore, not two");
        assert_eq!(cb.post(&format!("/v1/templates/{id1}/restore"), &json!({})).code(), "FORBIDDEN", "{l}");
        assert_eq!(ca.post(&format!("/v1/templates/{id1}/restore"), &json!({ "changelog": 5 })).status, 400, "{l}");

        // Export carries the labels; removal with If-Match; then the version can go.
        let bundle = ok_json(&ca.get("/v1/export"), "export");
        assert_eq!(bundle["template_labels"].as_array().unwrap().len(), 1, "{l}");
        let imported = ok_json(&ca.post("/v1/import", &bundle), "import");
        assert_eq!(imported["labels"], 1, "{l}");
        let cur = ok_json(&ca.get(&format!("/v1/templates/{id1}/labels")), "labels")[0]["updated_at"].as_str().unwrap().to_string();
        let gone = ca.req("DELETE", &format!("/v1/templates/{id2}/labels/production"), &[("If-Match", &format!("\"{cur}\""))], None);
        assert_eq!(gone.status, 204, "{l}: {}", String::from_utf8_lossy(&gone.raw));
        assert_eq!(ca.delete(&format!("/v1/templates/{id2}/labels/production")).status, 404, "{l}");
        assert_eq!(ca.delete(&format!("/v1/templates/{id2}")).status, 204, "{l}");
    }
}
