//! A bounded load run on loopback: seeds N public templates (owned by 100 users, one of them
//! the measuring user) straight through the store, starts
//! the server in-process on 127.0.0.1, and measures requests/s and latency percentiles of `get`
//! and discovery with C keep-alive clients. Every scenario stops after R requests or 60 s.
//!
//!     cargo run -p workflow-templates-server --release --example load -- \
//!         [--db URL] [--templates 100000] [--requests 2000] [--concurrency 8]
//!
//! Without --db it uses a fresh SQLite file in the temp directory. Prints a Markdown table.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Map;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{Expect, Store, Write as W};
use workflow_templates::{TemplateCategory, WorkflowTemplate};
use workflow_templates_server::db::{Conn, DbUrl, Pool};
use workflow_templates_server::http::{block_on, App, Config};
use workflow_templates_server::store::{sync_builtins, SqlStore};
use workflow_templates_server::{auth, migrations};

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter().position(|x| x == name).and_then(|i| a.get(i + 1).cloned())
}

struct KeepAlive {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl KeepAlive {
    fn new(port: u16) -> Self {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        KeepAlive { r: BufReader::new(s.try_clone().unwrap()), w: s }
    }

    /// GET path; returns the status.
    fn get(&mut self, path: &str, token: &str) -> u16 {
        write!(self.w, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0usize;
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
        let mut body = vec![0; len];
        self.r.read_exact(&mut body).unwrap();
        status
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = arg("--templates").map(|v| v.parse().unwrap()).unwrap_or(100_000);
    let requests: usize = arg("--requests").map(|v| v.parse().unwrap()).unwrap_or(2000);
    let conc: usize = arg("--concurrency").map(|v| v.parse().unwrap()).unwrap_or(8);
    let tmp = std::env::temp_dir().join(format!("wt-load-{}", std::process::id()));
    let url = arg("--db").unwrap_or_else(|| {
        std::fs::create_dir_all(&tmp).unwrap();
        format!("sqlite://{}", tmp.join("load.db").display())
    });
    let url = DbUrl::parse(&url).unwrap();
    let mut c = Conn::open(&url).unwrap();
    migrations::up(&mut c).unwrap();
    sync_builtins(&mut c).unwrap();
    let (user, token) = auth::create_user(&mut c, "load").unwrap();
    // Templates belong to 100 users; the measuring user owns one in a hundred of them.
    let owners: Vec<String> = std::iter::once(user.clone()).chain((1..100).map(|i| auth::create_user(&mut c, &format!("owner {i}")).unwrap().0)).collect();
    drop(c);
    let pool = Pool::new(url.clone(), 16);

    // Seed through the store (one transaction per 1000 records).
    let t0 = Instant::now();
    let store = SqlStore::new(pool.get().unwrap());
    let mut ids = Vec::with_capacity(n);
    let mut batch = Vec::new();
    for i in 0..n {
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 1);
        let mut t = WorkflowTemplate::with_defaults(id.clone(), owners[i % owners.len()].clone(), format_ms(1_800_000_000_000 + i as i64));
        t.name = format!("bench template {i}");
        t.description = format!("load test record number {i}");
        t.is_public = true;
        t.category = TemplateCategory::ALL[i % TemplateCategory::ALL.len()];
        t.usage_count = (i * 7919 % 1000) as u64;
        t.tags = Some(vec![format!("t{}", i % 50)]);
        let mut p = Map::new();
        p.insert("temperature".into(), serde_json::json!((i % 10) as f64 / 10.0));
        t.default_params = p;
        t.config_hash = config_hash(&t.config());
        ids.push(id);
        batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
        if batch.len() == 1000 || i == n - 1 {
            block_on(store.commit(std::mem::take(&mut batch))).unwrap();
        }
    }
    drop(store);
    // Statistics for the planner, as a long-running server's periodic optimize would have.
    Conn::open(&url).unwrap().batch("ANALYZE").unwrap();
    let seeded = t0.elapsed();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let app = App::new(pool, Config::default());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    // The server binary's own accept loop (timeouts and all).
    rt.spawn(workflow_templates_server::serve::serve(listener, app, std::future::pending()));

    let backend = match url {
        DbUrl::Sqlite(_) => "SQLite",
        DbUrl::Postgres(_) => "PostgreSQL",
    };
    println!("{backend}: {n} templates seeded in {:.1} s; {requests} requests per scenario, {conc} keep-alive clients\n", seeded.as_secs_f64());
    println!("| backend | scenario | requests | req/s | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let ids = Arc::new(ids);
    type PathFn = Box<dyn Fn(usize) -> String + Send + Sync>;
    let scenarios: Vec<(&str, PathFn)> = vec![
        ("get by id", Box::new({ let ids = ids.clone(); move |i| format!("/v1/templates/{}", ids[(i * 7_368_787) % ids.len()]) })),
        ("discover popular, limit 20", Box::new(|_| "/v1/templates?limit=20".to_string())),
        ("discover category + tag, limit 20", Box::new(|i| format!("/v1/templates?category=programming&tags=t{}&limit=20", i % 50))),
        ("discover text, limit 20", Box::new(|i| format!("/v1/templates?text=record%20number%20{}&limit=20", i % 1000))),
    ];
    for (name, path) in scenarios {
        let path = Arc::new(path);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(60);
        let per = requests.div_ceil(conc);
        let handles: Vec<_> = (0..conc)
            .map(|w| {
                let (path, token) = (path.clone(), token.clone());
                std::thread::spawn(move || {
                    let mut c = KeepAlive::new(port);
                    let mut lat = Vec::with_capacity(per);
                    for k in 0..per {
                        if Instant::now() > deadline {
                            break;
                        }
                        let t = Instant::now();
                        let s = c.get(&path(w * per + k), &token);
                        assert_eq!(s, 200);
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let took = started.elapsed().as_secs_f64();
        lat.sort();
        println!(
            "| {backend} | {name} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
            lat.len(),
            lat.len() as f64 / took,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
