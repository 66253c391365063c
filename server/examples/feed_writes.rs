//! Write throughput with the change feed (issue 15): C keep-alive clients, one user each, write
//! through the in-process server as fast as they can: `create` (POST /v1/templates) and
//! `recordUsage` on the client's own template. On PostgreSQL every writing transaction takes the
//! feed's commit-order lock (`feed::lock_for_write`), so this shows what serialising the
//! commits costs against the same run with the lock or the triggers taken out.
//!
//!     cargo run -p workflow-templates-server --release --example feed_writes -- \
//!         [--db URL] [--writes 400] [--concurrency 8]
//!
//! Without --db it uses a fresh SQLite file in the temp directory. Prints a Markdown table.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use workflow_templates_server::db::{Conn, DbUrl, Pool};
use workflow_templates_server::http::{App, Config};
use workflow_templates_server::{auth, migrations, store};

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter().position(|x| x == name).and_then(|i| a.get(i + 1).cloned())
}

/// One keep-alive connection; `send` returns the status and the body.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
    token: String,
}

impl Client {
    fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        write!(self.w, "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", self.token, body.len()).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            line.clear();
            self.r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut b = vec![0; len];
        self.r.read_exact(&mut b).unwrap();
        (status, String::from_utf8(b).unwrap())
    }
}

fn main() {
    let writes: usize = arg("--writes").map(|v| v.parse().unwrap()).unwrap_or(400);
    let conc: usize = arg("--concurrency").map(|v| v.parse().unwrap()).unwrap_or(8);
    let tmp = std::env::temp_dir().join(format!("wt_feed_bench_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let url = DbUrl::parse(&arg("--db").unwrap_or_else(|| format!("sqlite://{}", tmp.join("bench.db").display()))).unwrap();
    let tokens: Vec<String> = {
        let mut c = Conn::open(&url).unwrap();
        migrations::up(&mut c).unwrap();
        store::sync_builtins(&mut c).unwrap();
        (0..conc).map(|i| auth::create_user(&mut c, &format!("writer {i}")).unwrap().1).collect()
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let app = App::new(Pool::new(url.clone(), 16), Config::default());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(workflow_templates_server::serve::serve(listener, app, std::future::pending()));
    let backend = if matches!(url, DbUrl::Sqlite(_)) { "SQLite" } else { "PostgreSQL" };
    println!("| backend | scenario | writes | writes/s | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for scenario in ["create", "recordUsage"] {
        let per = writes.div_ceil(conc);
        let started = Instant::now();
        let hs: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(w, token)| {
                let token = token.clone();
                std::thread::spawn(move || {
                    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut c = Client { r: BufReader::new(s.try_clone().unwrap()), w: s, token };
                    let (st, body) = c.send("POST", "/v1/templates", &format!(r#"{{"name":"{scenario} target {w}","workflow_type":"plain","description":"d"}}"#));
                    assert_eq!(st, 201, "{body}");
                    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
                    let mut lat = Vec::with_capacity(per);
                    for k in 0..per {
                        let t = Instant::now();
                        let (st, body) = match scenario {
                            "create" => c.send("POST", "/v1/templates", &format!(r#"{{"name":"w{w} n{k}","workflow_type":"plain","description":"d"}}"#)),
                            _ => c.send("POST", &format!("/v1/templates/{id}/usage"), r#"{"success":true,"responseTimeMs":5}"#),
                        };
                        assert!(st == 200 || st == 201, "{st} {body}");
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let took = started.elapsed().as_secs_f64();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
        println!("| {backend} | {scenario}, {conc} clients | {} | {:.0} | {:.1} | {:.1} |", lat.len(), lat.len() as f64 / took, pct(0.5), pct(0.99));
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
