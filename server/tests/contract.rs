//! Issue 13, "the contract tells the truth": what a client generated from openapi.yaml relies
//! on, against real server processes. Authentication before anything else of the request;
//! If-Match as RFC 9110 section 13.1.1 defines it; 304 for If-None-Match; Location on 201;
//! WWW-Authenticate on 401; Retry-After on 503; 409 for an edit of an older version; an
//! Idempotency-Key past its TTL forgotten at once; health that asks the database; request logs.

mod common;

use common::*;
use serde_json::{json, Value};

/// (method, path, headers, body) of a request.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Option<Vec<u8>>);
/// The If-Match to send given the current ETag, and the status the edit must get.
type TagCase = (Box<dyn Fn(&str) -> String>, u16);

fn body(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[test]
fn authentication_comes_before_headers_path_and_body() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let l = db.label;
        let id = srv.client(Some(&a.token)).post("/v1/templates", &draft("mine", false)).json()["id"].as_str().unwrap().to_string();
        for token in [None, Some("wt_not_a_token")] {
            let c = srv.client(token);
            let cases: Vec<Case> = vec![
                ("PATCH", format!("/v1/templates/{id}"), vec![("If-Match", "\"unterminated")], Some(body(&json!({})))),
                ("DELETE", format!("/v1/templates/{id}"), vec![("If-Match", "no, not this")], None),
                ("POST", format!("/v1/templates/{id}/versions"), vec![("If-Match", "W/")], Some(body(&json!({})))),
                ("POST", "/v1/templates".into(), vec![("Idempotency-Key", "")], Some(body(&draft("x", false)))),
                ("POST", "/v1/templates".into(), vec![], Some(b"{ not json".to_vec())),
                ("POST", "/v1/templates".into(), vec![("Content-Type", "text/plain")], Some(b"hello".to_vec())),
                ("GET", "/v1/templates/not-a-ulid".into(), vec![], None),
                ("GET", "/v1/templates?limit=0".into(), vec![], None),
                ("PATCH", "/v1/specs/not-a-ulid".into(), vec![("If-Match", "\"x")], Some(b"[".to_vec())),
            ];
            for (method, path, headers, b) in cases {
                let r = c.req(method, &path, &headers, b.as_deref());
                assert_eq!((r.status, r.code().as_str()), (401, "UNAUTHORIZED"), "{l}: {method} {path} {headers:?} with token {token:?}");
                let want = if token.is_some() { r#"Bearer realm="workflow-templates", error="invalid_token""# } else { r#"Bearer realm="workflow-templates""# };
                assert_eq!(r.header("www-authenticate"), Some(want), "{l}: {method} {path}");
            }
        }
        // With a valid token the same requests are refused for what they are.
        let c = srv.client(Some(&a.token));
        assert_eq!(c.req("PATCH", &format!("/v1/templates/{id}"), &[("If-Match", "\"unterminated")], Some(b"{}")).status, 400, "{l}");
        assert_eq!(c.req("POST", "/v1/templates", &[("Idempotency-Key", "")], Some(&body(&draft("x", false)))).status, 400, "{l}");
        assert_eq!(c.get("/v1/templates/not-a-ulid").status, 400, "{l}");
        assert_eq!(c.req("POST", "/v1/templates", &[], Some(b"{ not json")).status, 400, "{l}");
        assert_eq!(c.req("POST", "/v1/templates", &[("Content-Type", "text/plain")], Some(b"{}")).status, 415, "{l}");
    }
}

/// Every way of writing If-Match on every conditional operation: templates (PATCH, new
/// version, DELETE) and specs (PATCH, DELETE).
#[test]
fn if_match_is_a_list_of_entity_tags_compared_strongly() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let mut n = 0;
        // (If-Match given the current ETag E, expected status of the edit)
        let cases: Vec<TagCase> = vec![
            (Box::new(|e: &str| e.to_string()), 200),
            (Box::new(|e: &str| e.trim_matches('"').to_string()), 200),
            (Box::new(|_: &str| "*".into()), 200),
            (Box::new(|e: &str| format!("\"elsewhere\", {e}")), 200),
            (Box::new(|e: &str| format!("W/\"1\" , \"2026-01-01T00:00:00.000Z\",{e}")), 200),
            (Box::new(|_: &str| "\"opaque-tag\"".into()), 412),
            (Box::new(|_: &str| "\"a\", \"b\"".into()), 412),
            (Box::new(|_: &str| "\"2026-01-01T00:00:00.000Z\"".into()), 412),
            (Box::new(|e: &str| format!("W/{e}")), 412),
            (Box::new(|e: &str| format!("W/{e}, W/\"x\"")), 412),
            (Box::new(|_: &str| "\"unterminated".into()), 400),
            (Box::new(|e: &str| format!("{e} junk")), 400),
            (Box::new(|_: &str| "a b".into()), 400),
        ];
        for (i, (tag, want)) in cases.iter().enumerate() {
            // PATCH a template
            let t = c.post("/v1/templates", &draft(&format!("t{i}"), false));
            let (id, etag) = (t.json()["id"].as_str().unwrap().to_string(), t.header("etag").unwrap().to_string());
            let h = tag(&etag);
            let r = c.req("PATCH", &format!("/v1/templates/{id}"), &[("If-Match", &h)], Some(&body(&json!({ "description": "edited" }))));
            assert_eq!(r.status, *want, "{l}: PATCH If-Match: {h}: {:?}", r.json());
            if *want == 412 {
                assert_eq!(r.code(), "CONFLICT", "{l}");
                assert_eq!(c.get(&format!("/v1/templates/{id}")).json()["description"], format!("about t{i}"), "{l}: nothing written");
            }
            // new version of it
            let etag = c.get(&format!("/v1/templates/{id}")).header("etag").unwrap().to_string();
            let h = tag(&etag);
            let r = c.req("POST", &format!("/v1/templates/{id}/versions"), &[("If-Match", &h)], Some(&body(&json!({ "patch": { "description": "v2" } }))));
            assert_eq!(r.status, if *want == 200 { 201 } else { *want }, "{l}: new version If-Match: {h}");
            // DELETE the latest
            let latest = if *want == 200 { r.json()["id"].as_str().unwrap().to_string() } else { id.clone() };
            let etag = c.get(&format!("/v1/templates/{latest}")).header("etag").unwrap().to_string();
            let h = tag(&etag);
            let r = c.req("DELETE", &format!("/v1/templates/{latest}"), &[("If-Match", &h)], None);
            assert_eq!(r.status, if *want == 200 { 204 } else { *want }, "{l}: DELETE If-Match: {h}");
            // a spec: PATCH, then DELETE
            let s = c.post("/v1/specs", &json!({ "name": format!("s{i}"), "workflow_type": "plain" }));
            let (sid, etag) = (s.json()["id"].as_str().unwrap().to_string(), s.header("etag").unwrap().to_string());
            let h = tag(&etag);
            let r = c.req("PATCH", &format!("/v1/specs/{sid}"), &[("If-Match", &h)], Some(&body(&json!({ "description": "edited" }))));
            assert_eq!(r.status, *want, "{l}: spec PATCH If-Match: {h}");
            let etag = c.get(&format!("/v1/specs/{sid}")).header("etag").unwrap().to_string();
            let h = tag(&etag);
            let r = c.req("DELETE", &format!("/v1/specs/{sid}"), &[("If-Match", &h)], None);
            assert_eq!(r.status, if *want == 200 { 204 } else { *want }, "{l}: spec DELETE If-Match: {h}");
            n += 1;
        }
        assert_eq!(n, cases.len());
        // A precondition never hides a refusal the request would get anyway (RFC 9110 13.2.1).
        let other = create_user(&db);
        let theirs = srv.client(Some(&other.token)).post("/v1/templates", &draft("theirs", true)).json()["id"].as_str().unwrap().to_string();
        for h in ["\"x\", \"y\"", "W/\"x\"", "\"opaque\""] {
            let r = c.req("PATCH", &format!("/v1/templates/{theirs}"), &[("If-Match", h)], Some(b"{}"));
            assert_eq!(r.status, 403, "{l}: another user's public template, If-Match {h}");
            let r = c.req("DELETE", &format!("/v1/templates/{BUILTIN}"), &[("If-Match", h)], None);
            assert_eq!(r.status, 403, "{l}: a built-in, If-Match {h}");
        }
    }
}

#[test]
fn if_none_match_on_a_get_with_an_etag_answers_304() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let t = c.post("/v1/templates", &draft("cached", false));
        let s = c.post("/v1/specs", &json!({ "name": "cached spec", "workflow_type": "plain" }));
        for (path, etag) in [
            (format!("/v1/templates/{}", t.json()["id"].as_str().unwrap()), t.header("etag").unwrap().to_string()),
            (format!("/v1/specs/{}", s.json()["id"].as_str().unwrap()), s.header("etag").unwrap().to_string()),
        ] {
            for (inm, want) in [(etag.clone(), 304), (format!("W/{etag}"), 304), (format!("\"x\", {etag}"), 304), ("*".to_string(), 304), ("\"x\"".to_string(), 200)] {
                let r = c.req("GET", &path, &[("If-None-Match", &inm)], None);
                assert_eq!(r.status, want, "{l}: GET {path} If-None-Match: {inm}");
                assert_eq!(r.header("etag"), Some(etag.as_str()), "{l}");
                if want == 304 {
                    assert!(r.raw.is_empty(), "{l}: 304 has no body");
                }
            }
            // Authentication and visibility first.
            assert_eq!(srv.client(None).req("GET", &path, &[("If-None-Match", "*")], None).status, 401, "{l}");
            let b = create_user(&db);
            assert_eq!(srv.client(Some(&b.token)).req("GET", &path, &[("If-None-Match", "*")], None).status, 404, "{l}");
        }
        // An edit changes the ETag: the old one no longer answers 304.
        let id = t.json()["id"].as_str().unwrap().to_string();
        c.patch(&format!("/v1/templates/{id}"), &json!({ "description": "changed" }));
        assert_eq!(c.req("GET", &format!("/v1/templates/{id}"), &[("If-None-Match", t.header("etag").unwrap())], None).status, 200, "{l}");
    }
}

#[test]
fn entity_tag_lists_split_over_several_header_lines_are_one_list() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let t = c.post("/v1/templates", &draft("split lists", false));
        let path = format!("/v1/templates/{}", t.json()["id"].as_str().unwrap());
        let etag = t.header("etag").unwrap().to_string();
        // RFC 9110 section 5.3: field lines of a list-based field are one list.
        let r = c.req("GET", &path, &[("If-None-Match", "\"x\""), ("If-None-Match", &etag)], None);
        assert_eq!(r.status, 304, "{l}: If-None-Match over two lines");
        let r = c.req("PATCH", &path, &[("If-Match", "\"x\""), ("If-Match", &etag)], Some(br#"{"description":"split"}"#));
        assert_eq!(r.status, 200, "{l}: If-Match over two lines: {}", String::from_utf8_lossy(&r.raw));
        let r = c.req("PATCH", &path, &[("If-Match", "\"x\""), ("If-Match", &etag)], Some(br#"{"description":"again"}"#));
        assert_eq!(r.status, 412, "{l}: the old ETag in a later line no longer matches");
        let r = c.req("PATCH", &path, &[("If-Match", "\"x\""), ("If-Match", "*")], Some(br#"{"description":"again"}"#));
        assert_eq!(r.status, 400, "{l}: * inside a list is not an entity tag list");
    }
}

#[test]
fn created_records_say_where_they_are() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let check = |r: &Resp, collection: &str, what: &str| {
            assert_eq!(r.status, 201, "{l}: {what}");
            let id = r.json()["id"].as_str().unwrap().to_string();
            let loc = format!("{collection}/{id}");
            assert_eq!(r.header("location"), Some(loc.as_str()), "{l}: {what}");
            assert_eq!(c.get(&loc).json()["id"], id.as_str(), "{l}: {what}: the Location reads the record");
            id
        };
        let t = c.req("POST", "/v1/templates", &[("Idempotency-Key", "loc-1")], Some(&body(&draft("located", false))));
        let id = check(&t, "/v1/templates", "create");
        let again = c.req("POST", "/v1/templates", &[("Idempotency-Key", "loc-1")], Some(&body(&draft("located", false))));
        assert_eq!(again.header("idempotent-replayed"), Some("true"), "{l}");
        check(&again, "/v1/templates", "create, replayed");
        check(&c.post(&format!("/v1/templates/{id}/versions"), &json!({ "patch": { "description": "2" } })), "/v1/templates", "new version");
        let sid = check(&c.post("/v1/specs", &json!({ "name": "located spec", "workflow_type": "plain" })), "/v1/specs", "create spec");
        check(&c.post(&format!("/v1/specs/{sid}/instantiate"), &json!({ "name": "from spec" })), "/v1/templates", "instantiate");
    }
}

#[test]
fn editing_an_older_version_is_409() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let v1 = c.post("/v1/templates", &draft("versioned", false)).json()["id"].as_str().unwrap().to_string();
        let v2 = c.post(&format!("/v1/templates/{v1}/versions"), &json!({ "patch": { "description": "2" } }));
        assert_eq!(v2.status, 201, "{l}");
        for (method, path, b) in [
            ("PATCH", format!("/v1/templates/{v1}"), json!({ "description": "edit of v1" })),
            ("POST", format!("/v1/templates/{v1}/versions"), json!({ "patch": { "description": "from v1" } })),
        ] {
            let r = c.req(method, &path, &[], Some(&body(&b)));
            assert_eq!((r.status, r.code().as_str()), (409, "INVALID_ARGUMENT"), "{l}: {method} {path}: {:?}", r.json());
            assert_eq!(r.json()["error"]["details"], json!({ "reason": "NOT_LATEST", "id": v1 }), "{l}");
        }
        // Other bad edits of the latest stay 400 / 422.
        let latest = v2.json()["id"].as_str().unwrap().to_string();
        let r = c.patch(&format!("/v1/templates/{latest}"), &json!("not an object"));
        assert!(matches!(r.status, 400 | 422), "{l}: {}", r.status);
        let r = c.patch(&format!("/v1/templates/{latest}"), &json!({ "name": "" }));
        assert_eq!(r.status, 422, "{l}");
    }
}

#[test]
fn an_idempotency_key_past_its_ttl_is_forgotten_at_once() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        // (recordUsage keys are the exception, kept forever: tests/usage_keys.rs.)
        let make = || c.req("POST", "/v1/specs", &[("Idempotency-Key", "ttl-key")], Some(&body(&json!({ "name": "made", "workflow_type": "plain" }))));
        let specs = || c.get("/v1/specs").json().as_array().unwrap().len();
        let first = make();
        assert_eq!((first.status, specs()), (201, 1), "{l}");
        let retry = make();
        assert_eq!((retry.header("idempotent-replayed"), retry.json()["id"].clone(), specs()), (Some("true"), first.json()["id"].clone(), 1), "{l}");
        // The key is now 25 hours old (the default TTL is 24): no sweep has run, yet it is gone.
        let mut conn = db_conn(&db);
        let old = workflow_templates::model::time::format_ms(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 25 * 3600 * 1000);
        let n = conn.execute("UPDATE idempotency_keys SET created_at = {ts1} WHERE idem_key = {t2}", &[workflow_templates_server::db::text(old), workflow_templates_server::db::text("ttl-key")]).unwrap();
        assert_eq!(n, 1, "{l}");
        let late = make();
        assert_eq!((late.status, late.header("idempotent-replayed"), specs()), (201, None, 2), "{l}: a new request");
        let again = make();
        assert_eq!((again.header("idempotent-replayed"), again.json()["id"].clone(), specs()), (Some("true"), late.json()["id"].clone(), 2), "{l}: the key is spent again");
    }
}

#[test]
fn health_says_whether_the_database_answers() {
    for db in backends() {
        let srv = Server::start(&db);
        let c = srv.client(None);
        let l = db.label;
        let r = c.get("/v1/health");
        assert_eq!((r.status, r.json()["database"].as_str()), (200, Some("up")), "{l}");
        if db.label != "postgres" {
            continue;
        }
        // Cut the server off its database: close its sessions and refuse new ones.
        let name = db.url.rsplit('/').next().unwrap().to_string();
        let admin_url = std::env::var("WT_TEST_POSTGRES_URL").unwrap();
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
        admin.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).unwrap();
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&name]).unwrap();
        let started = std::time::Instant::now();
        let r = c.get("/v1/health");
        assert_eq!((r.status, r.code().as_str()), (503, "STORAGE_UNAVAILABLE"), "{l}: {:?}", String::from_utf8_lossy(&r.raw));
        assert_eq!(r.header("retry-after"), Some("2"), "{l}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{l}: health answers within its bound");
        admin.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).unwrap();
        let r = c.get("/v1/health");
        assert_eq!(r.status, 200, "{l}: back once the database answers");
    }
}

#[test]
fn requests_are_logged_without_tokens() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start_logged(&db, &["--log", "info"]);
    let c = srv.client(Some(&a.token));
    let id = c.post("/v1/templates", &draft("logged", false)).json()["id"].as_str().unwrap().to_string();
    c.get(&format!("/v1/templates/{id}?x=1"));
    srv.client(None).get("/v1/me");
    srv.client(Some("wt_secret_guess")).get("/v1/me");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = srv.log_text();
    let line = |needle: &str| log.lines().find(|x| x.contains(needle)).unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{log}")).to_string();
    let created = line("method=POST path=/v1/templates status=201");
    assert!(created.contains(&format!("user={}", a.id)) && created.contains("duration_ms="), "{created}");
    let read = line(&format!("method=GET path=/v1/templates/{id} status=200"));
    assert!(read.contains(&format!("user={}", a.id)), "{read}");
    let anon = line("method=GET path=/v1/me status=401");
    assert!(anon.contains("user=-"), "{anon}");
    assert!(!log.contains(&a.token) && !log.contains("wt_secret_guess") && !log.contains("x=1"), "tokens and query strings are never logged:\n{log}");
    // --log warn keeps request lines out; a bad level is refused at start.
    let quiet = Server::start_logged(&db, &["--log", "warn"]);
    quiet.client(Some(&a.token)).get("/v1/me");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!quiet.log_text().contains("path=/v1/me"), "{}", quiet.log_text());
    let out = std::process::Command::new(BIN).args(["serve", "--db", &db.url, "--port", "0", "--log", "loud[=x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log"), "{}", String::from_utf8_lossy(&out.stderr));
}
