//! Issue 10, item 6: what happens below the catalog. Every rejection (path, query, body,
//! content type, size, method, route) is the JSON error body with a code; slow or stalled
//! clients lose their connection after the configured header-read and idle timeouts; reads are
//! served while another process holds the SQLite write lock.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn assert_json_error(r: &Resp, status: u16, code: &str, what: &str) {
    let body = String::from_utf8_lossy(&r.raw).into_owned();
    assert_eq!(r.status, status, "{what}: {body}");
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{what}: content-type {:?}: {body}", r.header("content-type"));
    let v: serde_json::Value = serde_json::from_slice(&r.raw).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
    assert_eq!(v["error"]["code"], code, "{what}: {body}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
}

/// Sends raw bytes on a fresh connection, then reads until the server closes it.
fn raw(port: u16, bytes: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string())).collect();
    let mut body = buf[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        // One chunk is all an error body needs here.
        let text = String::from_utf8_lossy(&body).to_string();
        let (size, rest) = text.split_once("\r\n").unwrap();
        body = rest.as_bytes()[..usize::from_str_radix(size.trim(), 16).unwrap()].to_vec();
    }
    Resp { status, headers, raw: body }
}

#[test]
fn every_rejection_is_a_json_error() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start_with(&db, &["--max-body", "1024"]);
    let c = srv.client(Some(&a.token));
    let mine = c.post("/v1/templates", &draft("mine", false)).json()["id"].as_str().unwrap().to_string();
    let spec = c.post("/v1/specs", &json!({ "name": "s", "workflow_type": "plain" })).json()["id"].as_str().unwrap().to_string();

    // Path segments that are not UTF-8 once percent-decoded, on every route with a path parameter.
    for path in [
        "/v1/templates/%FF",
        "/v1/templates/%C3%28/versions",
        "/v1/templates/%FF/chain",
        "/v1/templates/%FF/resolve",
        "/v1/templates/%FF/derived",
        "/v1/specs/%FF",
    ] {
        assert_json_error(&c.get(path), 400, "INVALID_ARGUMENT", &format!("GET {path}"));
    }
    assert_json_error(&c.patch("/v1/templates/%FF", &json!({})), 400, "INVALID_ARGUMENT", "PATCH %FF");
    assert_json_error(&c.delete("/v1/templates/%FF"), 400, "INVALID_ARGUMENT", "DELETE %FF");
    assert_json_error(&c.post("/v1/templates/%FF/usage", &json!({ "success": true, "responseTimeMs": 1 })), 400, "INVALID_ARGUMENT", "usage %FF");
    assert_json_error(&c.put("/v1/templates/%FF/rating", &json!({ "stars": 1 })), 400, "INVALID_ARGUMENT", "rating %FF");
    assert_json_error(&c.post("/v1/templates/%FF/versions", &json!({})), 400, "INVALID_ARGUMENT", "versions %FF");
    assert_json_error(&c.post("/v1/specs/%FF/instantiate", &json!({})), 400, "INVALID_ARGUMENT", "instantiate %FF");
    assert_json_error(&c.delete("/v1/specs/%FF"), 400, "INVALID_ARGUMENT", "DELETE spec %FF");
    // The same without a token: still JSON (401 or 400, never text/plain).
    let r = srv.client(None).get("/v1/templates/%FF");
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}", r.headers);

    // Query strings.
    assert_json_error(&c.get("/v1/templates?limit=%FF"), 400, "INVALID_ARGUMENT", "limit=%FF");
    assert_json_error(&c.get("/v1/templates?nope=1"), 400, "INVALID_ARGUMENT", "unknown parameter");
    assert_json_error(&c.get("/v1/popular-by-category?n=%FF"), 400, "INVALID_ARGUMENT", "n=%FF");
    assert_json_error(&c.get("/v1/diff?a=%FF"), 400, "INVALID_ARGUMENT", "diff without b");

    // Bodies: malformed, wrong content type, too large (with a length and chunked), broken chunking.
    let t = format!("/v1/templates/{mine}");
    assert_json_error(&c.req("POST", "/v1/templates", &[], Some(b"{not json")), 400, "INVALID_ARGUMENT", "malformed JSON");
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"] {
        let r = c.req("POST", "/v1/templates", &[("Content-Type", ct)], Some(json!({ "name": "ct", "workflow_type": "plain" }).to_string().as_bytes()));
        assert_json_error(&r, 415, "INVALID_ARGUMENT", &format!("Content-Type {ct}"));
        let r = c.req("PATCH", &t, &[("Content-Type", ct)], Some(b"{}"));
        assert_json_error(&r, 415, "INVALID_ARGUMENT", &format!("PATCH with Content-Type {ct}"));
    }
    for ct in ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"] {
        let r = c.req("PATCH", &t, &[("Content-Type", ct)], Some(b"{}"));
        assert_eq!(r.status, 200, "Content-Type {ct}: {}", String::from_utf8_lossy(&r.raw));
    }
    let big = json!({ "name": "big", "workflow_type": "plain", "description": "x".repeat(4000) }).to_string();
    assert_json_error(&c.req("POST", "/v1/templates", &[], Some(big.as_bytes())), 413, "INVALID_ARGUMENT", "too large");
    let head = format!("POST /v1/templates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", a.token);
    let chunked = format!("{head}{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    assert_json_error(&raw(srv.port, chunked.as_bytes()), 413, "INVALID_ARGUMENT", "too large, chunked");
    let broken = format!("{head}zz\r\n{{}}\r\n0\r\n\r\n");
    assert_json_error(&raw(srv.port, broken.as_bytes()), 400, "INVALID_ARGUMENT", "broken chunked encoding");
    assert_json_error(&c.req("POST", &format!("/v1/specs/{spec}/instantiate"), &[("Content-Type", "text/plain")], Some(b"{}")), 415, "INVALID_ARGUMENT", "instantiate text/plain");

    // Routes and methods.
    assert_json_error(&c.get("/v1/nope"), 404, "NOT_FOUND", "unknown route");
    assert_json_error(&c.get("/"), 404, "NOT_FOUND", "root");
    assert_json_error(&c.req("PUT", "/v1/templates", &[], Some(b"{}")), 405, "INVALID_ARGUMENT", "method");
    assert_json_error(&c.req("DELETE", "/v1/health", &[], None), 405, "INVALID_ARGUMENT", "method on health");
    // The server is fine and wrote nothing.
    assert_eq!(c.get("/v1/templates?includeBuiltin=false").json()["total"], 1);
}

/// Reads from `s` until the server closes the connection; how long that took.
fn time_to_close(mut s: TcpStream) -> Duration {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("the server kept a stalled connection open for {:?}", start.elapsed())
            }
            Err(_) => return start.elapsed(), // reset
        }
    }
}

#[test]
fn stalled_clients_lose_their_connection() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start_with(&db, &["--header-read-timeout", "1", "--idle-timeout", "1"]);
    let connect = || TcpStream::connect(("127.0.0.1", srv.port)).unwrap();

    // Half a request line; half the headers; nothing at all.
    for partial in ["GET /v1/hea", "GET /v1/health HTTP/1.1\r\nHost: x\r\nAccept: */", ""] {
        let mut s = connect();
        s.write_all(partial.as_bytes()).unwrap();
        let t = time_to_close(s);
        assert!(t < Duration::from_secs(5), "{partial:?}: closed after {t:?}");
    }
    // A client that trickles a header byte by byte past the timeout is cut off too.
    let mut s = connect();
    let start = Instant::now();
    let mut cut = false;
    for b in "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ".bytes().chain(std::iter::repeat(b'a').take(40)) {
        if s.write_all(&[b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !cut {
        let t = time_to_close(s);
        assert!(start.elapsed() < Duration::from_secs(8), "trickled headers kept the connection for {t:?}");
    }
    // An idle keep-alive connection after a complete exchange.
    let mut s = connect();
    s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let t = time_to_close(s);
    assert!(t < Duration::from_secs(5), "idle keep-alive connection closed after {t:?}");
    // A body that stalls half-way.
    let mut s = connect();
    let head = format!("POST /v1/templates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\"", a.token);
    s.write_all(head.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(start.elapsed() < Duration::from_secs(5), "stalled body: closed after {:?}", start.elapsed());
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("\"code\":\"INVALID_ARGUMENT\""), "stalled body: {answer}");
    // Prompt clients are served as before.
    assert_eq!(srv.client(Some(&a.token)).get("/v1/me").status, 200);
}

#[test]
fn timeouts_are_bounded_flags() {
    let db = sqlite_db();
    for flags in [["--header-read-timeout", "31"], ["--idle-timeout", "0"], ["--idle-timeout", "x"], ["--header-read-timeout", "0"]] {
        let out = std::process::Command::new(BIN).args(["serve", "--db", &db.url, "--port", "0"]).args(flags).output().unwrap();
        assert!(!out.status.success(), "{flags:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flags[0]) && !err.contains("unknown option"), "{flags:?}: {err}");
    }
    // The largest values are accepted.
    let a = create_user(&db);
    let srv = Server::start_with(&db, &["--header-read-timeout", "30", "--idle-timeout", "30"]);
    assert_eq!(srv.client(Some(&a.token)).get("/v1/me").status, 200);
}

/// Another process holds the SQLite write lock: every read that needs a new pooled connection
/// is still served (at once, not after the busy timeout).
#[test]
fn reads_are_served_while_another_process_holds_the_write_lock() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start(&db);
    let c = srv.client(Some(&a.token));
    let id = c.post("/v1/templates", &draft("readable", true)).json()["id"].as_str().unwrap().to_string();
    // The pool holds one connection now; the concurrent reads below need new ones.
    let mut locker = db_conn(&db);
    locker.batch("BEGIN IMMEDIATE").unwrap();
    locker.execute("UPDATE users SET name = {t1} WHERE id = {t2}", &[workflow_templates_server::db::text("locked"), workflow_templates_server::db::text(&a.id)]).unwrap();
    let start = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            let id = id.clone();
            std::thread::spawn(move || match i % 4 {
                0 => c.get(&format!("/v1/templates/{id}")),
                1 => c.get("/v1/templates"),
                2 => c.get("/v1/popular-by-category"),
                _ => c.get("/v1/me"),
            })
        })
        .collect();
    for h in handles {
        let r = h.join().unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.raw));
    }
    assert!(start.elapsed() < Duration::from_secs(5), "reads waited {:?} for the write lock", start.elapsed());
    locker.rollback();
    assert_eq!(c.post("/v1/templates", &draft("after the lock", false)).status, 201);
}

/// A client that stops reading a large response loses the connection after the idle timeout
/// (the server does not hold the response, its connection and task for ever).
#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start_with(&db, &["--idle-timeout", "1"]);
    let c = srv.client(Some(&a.token));
    // About 24 MB of export: more than loopback socket buffers hold.
    let params: serde_json::Map<String, serde_json::Value> = (0..120).map(|i| (format!("k{i}"), json!("v".repeat(2000)))).collect();
    for i in 0..100 {
        let r = c.post("/v1/templates", &json!({ "name": format!("big {i}"), "workflow_type": "plain", "default_params": params }));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.raw));
    }
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.write_all(format!("GET /v1/export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", a.token).as_bytes()).unwrap();
    // Wait for the response to start (building it takes a while), then stop reading.
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut first = [0u8; 16];
    s.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = first.to_vec();
    let _ = s.read_to_end(&mut got);
    let full = c.get("/v1/export").raw.len();
    assert!(full > 20_000_000, "{full}");
    assert!(got.len() < full, "the whole response ({} bytes) waited for a client that did not read", got.len());
    // The server is fine.
    assert_eq!(c.get("/v1/me").status, 200);
}
