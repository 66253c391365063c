//! Issue 13: a read by id (and the other read-only GETs that take `BearerToken`) looks its token
//! up on the connection the operation uses: one pool checkout (one blocking-pool hop) per
//! request, with the rules unchanged: 401 before anything else (an unknown token is 401 even on
//! a malformed path or query), visibility, ETag / If-None-Match. The server runs in-process
//! here so the test can read the pool's checkout counter.

mod common;

use std::sync::Arc;

use common::{backends, draft, Client, TestDb};
use workflow_templates_server::db::{Conn, DbUrl, Pool};
use workflow_templates_server::http::{App, Config};
use workflow_templates_server::store::sync_builtins;
use workflow_templates_server::{auth, migrations};

struct InProcess {
    pool: Arc<Pool>,
    port: u16,
    _rt: tokio::runtime::Runtime,
    a: String,
    b: String,
}

fn start(db: &TestDb) -> InProcess {
    let url = DbUrl::parse(&db.url).unwrap();
    let mut c = Conn::open(&url).unwrap();
    migrations::up(&mut c).unwrap();
    sync_builtins(&mut c).unwrap();
    let (_, a) = auth::create_user(&mut c, "a").unwrap();
    let (_, b) = auth::create_user(&mut c, "b").unwrap();
    drop(c);
    let pool = Pool::new(url, 4);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(workflow_templates_server::serve::serve(listener, App::new(pool.clone(), Config::default()), std::future::pending()));
    InProcess { pool, port, _rt: rt, a, b }
}

impl InProcess {
    fn client(&self, token: Option<&str>) -> Client {
        Client { port: self.port, token: token.map(str::to_string) }
    }

    /// The response and how many connections the pool handed out while serving it.
    fn counted(&self, c: &Client, path: &str, headers: &[(&str, &str)]) -> (common::Resp, u64) {
        let before = self.pool.checkouts();
        let r = c.req("GET", path, headers, None);
        (r, self.pool.checkouts() - before)
    }
}

#[test]
fn reads_check_out_one_connection() {
    for db in backends() {
        let s = start(&db);
        let a = s.client(Some(&s.a));
        let id = a.post("/v1/templates", &draft("one hop", false)).json()["id"].as_str().unwrap().to_string();
        let spec = a.post("/v1/specs", &serde_json::json!({ "name": "one hop spec", "workflow_type": "plain" })).json()["id"].as_str().unwrap().to_string();
        let paths = [
            format!("/v1/specs/{spec}"),
            format!("/v1/templates/{id}"),
            format!("/v1/templates/{id}/versions"),
            format!("/v1/templates/{id}/chain"),
            format!("/v1/templates/{id}/resolve"),
            format!("/v1/templates/{id}/derived"),
            format!("/v1/templates/{id}/rating"),
            "/v1/templates?limit=5".to_string(),
        ];
        for p in &paths {
            let (r, n) = s.counted(&a, p, &[]);
            // No rating by the caller yet: the rating read is a 404 answered the same way.
            let want = if p.ends_with("/rating") { 404 } else { 200 };
            assert_eq!(r.status, want, "{} {p}: {:?}", db.label, r.json());
            assert_eq!(n, 1, "{} GET {p}: token and operation on one checkout", db.label);
        }
        // A conditional read answered 304 costs the same single checkout.
        let etag = a.get(&format!("/v1/templates/{id}")).header("etag").unwrap().to_string();
        let (r, n) = s.counted(&a, &format!("/v1/templates/{id}"), &[("If-None-Match", &etag)]);
        assert_eq!((r.status, n), (304, 1), "{}", db.label);
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{}", db.label);
    }
}

#[test]
fn reads_keep_their_rules_with_one_hop() {
    for db in backends() {
        let s = start(&db);
        let (a, b) = (s.client(Some(&s.a)), s.client(Some(&s.b)));
        let private = a.post("/v1/templates", &draft("mine", false)).json()["id"].as_str().unwrap().to_string();
        let public = a.post("/v1/templates", &draft("shared", true)).json()["id"].as_str().unwrap().to_string();
        let spec = a.post("/v1/specs", &serde_json::json!({ "name": "private spec", "workflow_type": "plain" })).json()["id"].as_str().unwrap().to_string();
        let unknown = s.client(Some("wt_not_a_token"));
        let none = s.client(None);
        // 401 before anything else: an unknown token on a malformed path or query is still 401
        // (invalid_token), and no token at all is 401 without touching the database.
        for p in [format!("/v1/templates/{private}"), "/v1/templates/%FF".to_string(), "/v1/specs/%FF".to_string(), "/v1/templates/%FF/chain".to_string(), "/v1/templates?limit=zz&sort=nope".to_string()] {
            let r = unknown.get(&p);
            assert_eq!((r.status, r.code().as_str()), (401, "UNAUTHORIZED"), "{} {p}", db.label);
            assert!(r.header("www-authenticate").unwrap().contains("invalid_token"), "{} {p}", db.label);
            let (r, n) = s.counted(&none, &p, &[]);
            assert_eq!((r.status, n), (401, 0), "{} {p}", db.label);
            assert!(!r.header("www-authenticate").unwrap().contains("invalid_token"), "{} {p}", db.label);
        }
        // With a valid token the path and query errors come back as before.
        let r = a.get("/v1/templates/%FF");
        assert_eq!((r.status, r.code().as_str()), (400, "INVALID_ARGUMENT"), "{}", db.label);
        let r = a.get("/v1/templates?limit=zz");
        assert_eq!((r.status, r.code().as_str()), (400, "INVALID_ARGUMENT"), "{}", db.label);
        // Visibility: another user's private template is not found, a public one is read.
        for p in [format!("/v1/templates/{private}"), format!("/v1/templates/{private}/versions"), format!("/v1/templates/{private}/chain"), format!("/v1/specs/{spec}")] {
            let r = b.get(&p);
            assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"), "{} {p}", db.label);
        }
        let r = b.get(&format!("/v1/templates/{public}"));
        assert_eq!(r.status, 200, "{}", db.label);
        assert_eq!(r.json()["id"], public.as_str());
        // If-None-Match: a stale tag reads the body again, the current one is 304.
        let etag = r.header("etag").unwrap().to_string();
        let r = b.req("GET", &format!("/v1/templates/{public}"), &[("If-None-Match", "\"1999-01-01T00:00:00.000Z.x\"")], None);
        assert_eq!(r.status, 200, "{}", db.label);
        let r = b.req("GET", &format!("/v1/templates/{public}"), &[("If-None-Match", &etag)], None);
        assert_eq!(r.status, 304, "{}", db.label);
        // A not-found read by an unknown token is 401, not 404 (no existence leak).
        let r = unknown.get("/v1/templates/01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(r.status, 401, "{}", db.label);
        // Two Authorization fields (each one a valid token): 401 whatever their order, on
        // one-hop reads, UserAuth reads and writes alike; a proxy that reads the last one
        // must never see another user than the server does.
        let (ta, tb) = (format!("Bearer {}", s.a), format!("Bearer {}", s.b));
        for (first, second) in [(&ta, &tb), (&tb, &ta), (&ta, &ta)] {
            let two = [("Authorization", first.as_str()), ("Authorization", second.as_str())];
            for (method, p, body) in [("GET", format!("/v1/templates/{public}"), None), ("GET", "/v1/me".to_string(), None), ("POST", "/v1/templates".to_string(), Some(draft("two tokens", true)))] {
                let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
                let r = none.req(method, &p, &two, bytes.as_deref());
                assert_eq!((r.status, r.code().as_str()), (401, "UNAUTHORIZED"), "{} {method} {p}", db.label);
            }
        }
    }
}
