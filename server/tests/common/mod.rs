//! Test harness: real server processes on 127.0.0.1 (random port) over a fresh database, a
//! minimal HTTP/1.1 client on std's TcpStream, and the list of backends to run against:
//! SQLite always, PostgreSQL when `WT_TEST_POSTGRES_URL` is set (each test gets its own
//! database, dropped afterwards).
#![allow(dead_code)]

pub mod sse;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_workflow-templates-server");

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}_{}", std::process::id(), n, t % 1_000_000_000)
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    cleanup: Option<(String, String)>, // (admin url, db name) for PostgreSQL
    dir: Option<std::path::PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.cleanup.take() {
            if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub fn sqlite_db() -> TestDb {
    let dir = std::env::temp_dir().join(unique("wt_server_test"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("test.db").display());
    TestDb { url, label: "sqlite", cleanup: None, dir: Some(dir) }
}

pub fn postgres_db(admin: &str) -> TestDb {
    let name = unique("wt").to_lowercase();
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap_or_else(|e| panic!("WT_TEST_POSTGRES_URL {admin}: cannot connect: {e}"));
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    TestDb { url: format!("{base}/{name}"), label: "postgres", cleanup: Some((admin.to_string(), name)), dir: None }
}

/// One fresh database per backend under test.
pub fn backends() -> Vec<TestDb> {
    let mut v = vec![sqlite_db()];
    match std::env::var("WT_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => v.push(postgres_db(&u)),
        _ => {}
    }
    v
}

/// Runs the CLI; panics unless it succeeds. Returns stdout.
pub fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run the server binary");
    assert!(out.status.success(), "{args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub struct User {
    pub id: String,
    pub token: String,
}

pub fn create_user(db: &TestDb) -> User {
    let out = cli(&["user", "create", "--db", &db.url, "--name", "tester"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    User { id: v["user_id"].as_str().unwrap().to_string(), token: v["token"].as_str().unwrap().to_string() }
}

pub struct Server {
    child: Child,
    pub port: u16,
    db: String,
    extra: Vec<String>,
    /// Where the server's stderr goes when started with `start_logged`.
    pub log: Option<std::path::PathBuf>,
}

impl Server {
    pub fn start(db: &TestDb) -> Server {
        Self::start_with(db, &[])
    }

    pub fn start_with(db: &TestDb, extra: &[&str]) -> Server {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, port) = spawn(&db.url, &extra, None);
        Server { child, port, db: db.url.clone(), extra, log: None }
    }

    /// Starts a server whose stderr (its log) is written to a file, read with `log_text`.
    pub fn start_logged(db: &TestDb, extra: &[&str]) -> Server {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let path = std::env::temp_dir().join(unique("wt_server_log"));
        let (child, port) = spawn(&db.url, &extra, Some(&path));
        Server { child, port, db: db.url.clone(), extra, log: Some(path) }
    }

    /// What the server wrote to stderr so far (`start_logged` only).
    pub fn log_text(&self) -> String {
        self.log.as_ref().map(|p| std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }

    /// Kills the process (SIGKILL: no graceful shutdown, like a crash) and starts a new one on
    /// the same database.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, port) = spawn(&self.db, &self.extra, self.log.as_deref());
        self.child = child;
        self.port = port;
    }

    /// SIGTERM, then waits for the process: its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        for _ in 0..200 {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 10 s of SIGTERM");
    }

    pub fn client(&self, token: Option<&str>) -> Client {
        Client { port: self.port, token: token.map(str::to_string) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(p) = self.log.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn spawn(db: &str, extra: &[String], log: Option<&std::path::Path>) -> (Child, u16) {
    let stderr = match log {
        Some(p) => Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(p).expect("open the server log")),
        None => Stdio::inherit(),
    };
    // One log line per request is the default; tests keep only warnings unless they ask.
    let quiet: &[&str] = if extra.iter().any(|a| a == "--log" || a.starts_with("--log=")) { &[] } else { &["--log", "warn"] };
    let mut child = Command::new(BIN)
        .args(["serve", "--db", db, "--port", "0"])
        .args(quiet)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
        .parse()
        .unwrap();
    (child, port)
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        if self.raw.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.raw).unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", String::from_utf8_lossy(&self.raw)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_string()
    }
}

#[derive(Clone)]
pub struct Client {
    pub port: u16,
    pub token: Option<String>,
}

impl Client {
    pub fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.req("POST", path, &[], Some(body.to_string().as_bytes()))
    }
    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.req("PATCH", path, &[], Some(body.to_string().as_bytes()))
    }
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.req("PUT", path, &[], Some(body.to_string().as_bytes()))
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.req("DELETE", path, &[], None)
    }

    /// One request on a fresh connection (`Connection: close`), read to the end.
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the server");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n", self.port);
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                head.push_str("Content-Type: application/json\r\n");
            }
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        if let Some(b) = body {
            // The server may answer (413) and close before reading a huge body: ignore EPIPE.
            let _ = s.write_all(b);
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        parse_response(&buf)
    }
}

fn parse_response(buf: &[u8]) -> Resp {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string())).collect();
    let mut body = buf[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[nl + 2 + size + 2..];
        }
        body = out;
    }
    Resp { status, headers, raw: body }
}

/// URL-encodes a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub const BUILTIN: &str = "00000000000000000000000001";

/// A minimal valid draft.
pub fn draft(name: &str, public: bool) -> Value {
    serde_json::json!({ "name": name, "workflow_type": "plain", "description": format!("about {name}"), "is_public": public })
}

/// A direct connection to a test database (to plant rows behind the server's back).
pub fn db_conn(db: &TestDb) -> workflow_templates_server::db::Conn {
    workflow_templates_server::db::Conn::open(&workflow_templates_server::db::DbUrl::parse(&db.url).unwrap()).unwrap()
}
