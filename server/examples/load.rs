//! A bounded load run on loopback: seeds N templates (owned by 100 users, one of them the
//! measuring user; 1 in 20 private) through the store's `commit`, the code an import runs
//! (batches of 1,000 records, one transaction each), starts the server in-process on 127.0.0.1,
//! and measures requests/s and latency percentiles of `get` by id and of every discovery shape
//! (each sort; category; type; tags; owner; text; combinations), each at page 1 and at offset
//! 1,000, with C keep-alive clients. Every response carries `total`. Every scenario stops after
//! R requests or 60 s.
//!
//!     cargo run -p workflow-templates-server --release --example load -- \
//!         [--db URL] [--templates 100000] [--requests 2000] [--concurrency 4] [--seeded] [--only TEXT]
//!
//! Without --db it uses a fresh SQLite file in the temp directory. `--seeded` reuses a database
//! a previous run seeded (its users and templates; the measuring user gets a new token).
//! `--only TEXT` runs the scenarios whose name contains TEXT. Prints a Markdown table.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Map;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{Expect, Store, Write as W};
use workflow_templates::{TemplateCategory, WorkflowTemplate, WorkflowType};
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

    /// GET path; returns the status and the body.
    fn get(&mut self, path: &str, token: &str) -> (u16, Vec<u8>) {
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
        (status, body)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

const WORDS: [&str; 10] = ["summarize", "translate", "classify", "extract", "review", "plan", "answer", "draft", "search", "vision"];

/// The i-th seeded template (deterministic, so a `--seeded` rerun knows the data).
fn seeded(i: usize, owners: &[String]) -> WorkflowTemplate {
    let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 1);
    let mut t = WorkflowTemplate::with_defaults(id, owners[i % owners.len()].clone(), format_ms(1_800_000_000_000 + i as i64));
    t.name = format!("bench template {i}");
    t.description = format!("load test record number {i}: {}", WORDS[i % WORDS.len()]);
    t.is_public = i % 20 != 0;
    t.category = TemplateCategory::ALL[i % TemplateCategory::ALL.len()];
    if i % 3 == 0 {
        t.workflow_type = WorkflowType::Tools;
        t.required_tools = Some(vec!["web_search".into()]);
    }
    t.usage_count = (i * 7919 % 1000) as u64;
    if i % 10 < 7 {
        t.rating = Some((i * 37 % 41) as f64 / 10.0 + 1.0);
        t.rating_count = (i % 13) as u64 + 1;
    }
    t.tags = Some(vec![format!("t{}", i % 50), format!("g{}", i % 7)]);
    let mut p = Map::new();
    p.insert("temperature".into(), serde_json::json!((i % 10) as f64 / 10.0));
    t.default_params = p;
    t.config_hash = config_hash(&t.config());
    t
}

fn main() {
    let n: usize = arg("--templates").map(|v| v.parse().unwrap()).unwrap_or(100_000);
    let requests: usize = arg("--requests").map(|v| v.parse().unwrap()).unwrap_or(2000);
    let conc: usize = arg("--concurrency").map(|v| v.parse().unwrap()).unwrap_or(4);
    let reuse = std::env::args().any(|a| a == "--seeded");
    let tmp = std::env::temp_dir().join(format!("wt-load-{}", std::process::id()));
    let url = arg("--db").unwrap_or_else(|| {
        std::fs::create_dir_all(&tmp).unwrap();
        format!("sqlite://{}", tmp.join("load.db").display())
    });
    let url = DbUrl::parse(&url).unwrap();
    let mut c = Conn::open(&url).unwrap();
    migrations::up(&mut c).unwrap();
    sync_builtins(&mut c).unwrap();
    // Templates belong to 100 users; the measuring user (the first) owns one in a hundred.
    let owners: Vec<String> = if reuse {
        c.query("SELECT id FROM users WHERE name LIKE 'owner %' ORDER BY name", &[]).unwrap().iter().map(|r| r[0].text().unwrap().to_string()).collect()
    } else {
        (0..100).map(|i| auth::create_user(&mut c, &format!("owner {i:02}")).unwrap().0).collect()
    };
    assert_eq!(owners.len(), 100, "--seeded needs a database seeded by this example");
    let user = owners[0].clone();
    let token = auth::create_token(&mut c, &user, "load").unwrap().expect("the measuring user exists");
    drop(c);
    let pool = Pool::new(url.clone(), 16);

    let t0 = Instant::now();
    if !reuse {
        let store = SqlStore::new(pool.get().unwrap());
        let mut batch = Vec::new();
        for i in 0..n {
            batch.push(W::PutTemplate { record: seeded(i, &owners), expect: Expect::Absent });
            if batch.len() == 1000 || i == n - 1 {
                block_on(store.commit(std::mem::take(&mut batch))).unwrap();
            }
            if (i + 1) % 100_000 == 0 {
                eprintln!("seeded {} in {:.0} s", i + 1, t0.elapsed().as_secs_f64());
            }
        }
        drop(store);
        // Statistics for the planner (and PostgreSQL's visibility map for index-only counts), as
        // autovacuum or a periodic optimize would have.
        let mut c = Conn::open(&url).unwrap();
        match url {
            DbUrl::Sqlite(_) => c.batch("ANALYZE").unwrap(),
            DbUrl::Postgres(_) => c.batch("VACUUM ANALYZE").unwrap(),
        }
    }
    let seeded_in = t0.elapsed();

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
    if reuse {
        println!("{backend}: {n} templates (seeded before); {requests} requests per scenario, {conc} keep-alive clients\n");
    } else {
        println!("{backend}: {n} templates seeded in {:.1} s ({:.0} templates/s); {requests} requests per scenario, {conc} keep-alive clients\n", seeded_in.as_secs_f64(), n as f64 / seeded_in.as_secs_f64());
    }
    println!("| backend | scenario | requests | req/s | p50 ms | p99 ms | max ms | total |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    type PathFn = Box<dyn Fn(usize) -> String + Send + Sync>;
    let other = owners[37].clone();
    let shapes: Vec<(&str, PathFn)> = vec![
        ("popular", Box::new(|_| "sort=popular".into())),
        ("rating", Box::new(|_| "sort=rating".into())),
        ("recent", Box::new(|_| "sort=recent".into())),
        ("name", Box::new(|_| "sort=name".into())),
        ("category", Box::new(|i| format!("category={}", TemplateCategory::ALL[i % 9].as_str()))),
        ("type", Box::new(|_| "workflowType=tools".into())),
        ("tag", Box::new(|i| format!("tags=t{}", i % 50))),
        ("owner (own, with private)", Box::new(move |_| format!("owner={user}"))),
        ("owner (another's public)", Box::new(move |_| format!("owner={other}"))),
        ("text, rare", Box::new(|i| format!("text=record%20number%20{}", 100 + i % 900))),
        ("text, common word", Box::new(|i| format!("text={}", WORDS[i % WORDS.len()]))),
        ("category + tag", Box::new(|i| format!("category=programming&tags=t{}", i % 50))),
        ("two tags, rating", Box::new(|i| format!("tags=t{}&tags=g{}&sort=rating", i % 50, i % 7))),
        ("category + type, recent", Box::new(|_| "category=research&workflowType=tools&sort=recent".into())),
        ("text + category, name", Box::new(|i| format!("text=number%20{}&category=general&sort=name", 10 + i % 90))),
    ];
    let ids: Arc<Vec<String>> = Arc::new((0..n.min(100_000)).map(|i| seeded(i * (n / n.min(100_000)), &owners)).filter(|t| t.is_public).map(|t| t.id).collect());
    let mut scenarios: Vec<(String, PathFn)> = vec![("get by id".into(), Box::new(move |i| format!("/v1/templates/{}", ids[(i * 7_368_787) % ids.len()])))];
    for (name, q) in shapes {
        let q = Arc::new(q);
        for offset in [0, 1000] {
            let q = q.clone();
            scenarios.push((format!("discover {name}, offset {offset}"), Box::new(move |i| format!("/v1/templates?{}&limit=20&offset={offset}", q(i)))));
        }
    }
    let only = arg("--only");
    for (name, path) in scenarios {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
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
                    let mut total = None;
                    for k in 0..per {
                        if Instant::now() > deadline {
                            break;
                        }
                        let t = Instant::now();
                        let (s, body) = c.get(&path(w * per + k), &token);
                        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
                        lat.push(t.elapsed());
                        if total.is_none() {
                            total = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| v["total"].as_u64());
                        }
                    }
                    (lat, total)
                })
            })
            .collect();
        let mut lat: Vec<Duration> = Vec::new();
        let mut total = None;
        for h in handles {
            let (l, t) = h.join().unwrap();
            lat.extend(l);
            total = total.or(t);
        }
        let took = started.elapsed().as_secs_f64();
        lat.sort();
        println!(
            "| {backend} | {name} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            lat.len(),
            lat.len() as f64 / took,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().unwrap().as_secs_f64() * 1000.0,
            total.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
