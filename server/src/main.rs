//! `workflow-templates-server`: the reference HTTP server of the workflow-templates package.
//!
//!     workflow-templates-server serve   [--db URL] [--port N] [--host ADDR] [--cors-origin ORIGIN]...
//!                                       [--max-body BYTES] [--max-import-body BYTES] [--pool N] [--no-migrate]
//!                                       [--header-read-timeout SECS] [--idle-timeout SECS] [--log LEVEL] [--feed-backlog N] [--feed-keep-alive SECS] [--feed-user-streams N] [--feed-max-streams N] [--feed-stream-lifetime SECS]
//!     workflow-templates-server migrate up [--to ID]|down|status [--db URL]
//!     workflow-templates-server user create [--db URL] [--name NAME]
//!     workflow-templates-server token create --user ID [--db URL] [--label TEXT]
//!
//! URL: `sqlite://PATH` (default `sqlite://workflow-templates.db`, or env `WT_DB`) or
//! `postgres://user@host:port/db`.


use workflow_templates_server::db::{Conn, DbUrl, Pool};
use workflow_templates_server::http::{App, Config};
use workflow_templates_server::{auth, migrations, store};

const USAGE: &str = "usage:
  workflow-templates-server serve [--db URL] [--port N] [--host ADDR] [--cors-origin ORIGIN]...
                                  [--max-body BYTES] [--max-import-body BYTES] [--pool N] [--no-migrate]
                                  [--idempotency-ttl-hours N] [--header-read-timeout SECS] [--idle-timeout SECS]
                                  [--log LEVEL] [--feed-backlog N] [--feed-keep-alive SECS] [--feed-user-streams N] [--feed-max-streams N] [--feed-stream-lifetime SECS]
  workflow-templates-server migrate up [--to ID]|down|status [--db URL]
  workflow-templates-server user create [--db URL] [--name NAME]
  workflow-templates-server token create --user ID [--db URL] [--label TEXT]

URL is sqlite://PATH (default: $WT_DB or sqlite://workflow-templates.db) or postgres://USER@HOST:PORT/DB.
The server binds 127.0.0.1:8787 unless told otherwise; --port 0 picks a free port.
--log is error, warn, info (default: one line per request), debug, trace, or a tracing EnvFilter
directive such as warn,wt::http=info.";

struct Args {
    words: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

fn parse_args() -> Result<Args, String> {
    let mut words = Vec::new();
    let mut flags = Vec::new();
    let mut it = std::env::args().skip(1).peekable();
    while let Some(a) = it.next() {
        if a == "-h" || a == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if let Some(name) = a.strip_prefix("--") {
            if let Some((k, v)) = name.split_once('=') {
                flags.push((k.to_string(), Some(v.to_string())));
            } else if ["no-migrate"].contains(&name) {
                flags.push((name.to_string(), None));
            } else {
                let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                flags.push((name.to_string(), Some(v)));
            }
        } else {
            words.push(a);
        }
    }
    Ok(Args { words, flags })
}

impl Args {
    fn one(&self, name: &str) -> Option<String> {
        self.flags.iter().rev().find(|(k, _)| k == name).and_then(|(_, v)| v.clone())
    }
    fn all(&self, name: &str) -> Vec<String> {
        self.flags.iter().filter(|(k, _)| k == name).filter_map(|(_, v)| v.clone()).collect()
    }
    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == name)
    }
    fn check(&self, allowed: &[&str]) -> Result<(), String> {
        for (k, _) in &self.flags {
            if !allowed.contains(&k.as_str()) {
                return Err(format!("unknown option --{k}"));
            }
        }
        Ok(())
    }
    fn db(&self) -> Result<DbUrl, String> {
        let url = self.one("db").or_else(|| std::env::var("WT_DB").ok()).unwrap_or_else(|| "sqlite://workflow-templates.db".into());
        DbUrl::parse(&url)
    }
    fn num(&self, name: &str, default: usize) -> Result<usize, String> {
        match self.one(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name} must be a number, not {v:?}")),
        }
    }
    /// A whole number in `range`; anything else is refused at start.
    fn bounded(&self, name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
        match self.one(name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| format!("--{name} must be a whole number in {}..={}, not {v:?}", range.start(), range.end())),
        }
    }
    /// A timeout in whole seconds, 1..=30 (issue 10: no connection is held longer than 30 s
    /// by a client that sends or reads nothing).
    fn secs(&self, name: &str, default: std::time::Duration) -> Result<std::time::Duration, String> {
        match self.one(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n @ 1..=30) => Ok(std::time::Duration::from_secs(n)),
                _ => Err(format!("--{name} must be a whole number of seconds in 1..=30, not {v:?}")),
            },
        }
    }
}

fn open(url: &DbUrl) -> Result<Conn, String> {
    Conn::open(url).map_err(|e| format!("cannot open the database: {e}"))
}

fn migrate_up(c: &mut Conn) -> Result<Vec<&'static str>, String> {
    let done = migrations::up(c).map_err(|e| e.to_string())?;
    store::sync_builtins(c).map_err(|e| e.to_string())?;
    Ok(done)
}

fn real_main() -> Result<(), String> {
    let args = parse_args()?;
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["serve"] | [] => {
            args.check(&["db", "port", "host", "cors-origin", "max-body", "max-import-body", "pool", "no-migrate", "idempotency-ttl-hours", "header-read-timeout", "idle-timeout", "log", "feed-backlog", "feed-keep-alive", "feed-user-streams", "feed-max-streams", "feed-stream-lifetime"])?;
            serve(&args)
        }
        ["migrate", action] => {
            args.check(&["db", "to"])?;
            let mut c = open(&args.db()?)?;
            match *action {
                "up" => {
                    let done = match args.one("to") {
                        Some(t) => migrations::up_to(&mut c, Some(&t)).map_err(|e| e.to_string())?,
                        None => migrate_up(&mut c)?,
                    };
                    println!("applied: {}", if done.is_empty() { "nothing (already at head)".to_string() } else { done.join(", ") });
                }
                "down" => {
                    let done = migrations::down(&mut c).map_err(|e| e.to_string())?;
                    println!("reverted: {}", if done.is_empty() { "nothing (already at base)".to_string() } else { done.join(", ") });
                }
                "status" => {
                    let have = migrations::applied(&mut c).map_err(|e| e.to_string())?;
                    for m in migrations::MIGRATIONS {
                        println!("{} {}", if have.iter().any(|h| h == m.id) { "applied" } else { "pending" }, m.id);
                    }
                }
                other => return Err(format!("unknown migrate action {other:?}\n{USAGE}")),
            }
            Ok(())
        }
        ["user", "create"] => {
            args.check(&["db", "name"])?;
            let mut c = open(&args.db()?)?;
            migrate_up(&mut c)?;
            let name = args.one("name").unwrap_or_default();
            let (id, token) = auth::create_user(&mut c, &name).map_err(|e| e.to_string())?;
            println!("{}", serde_json::json!({ "user_id": id, "token": token }));
            Ok(())
        }
        ["token", "create"] => {
            args.check(&["db", "user", "label"])?;
            let user = args.one("user").ok_or("--user ID is required")?;
            let mut c = open(&args.db()?)?;
            match auth::create_token(&mut c, &user, &args.one("label").unwrap_or_default()).map_err(|e| e.to_string())? {
                Some(token) => println!("{}", serde_json::json!({ "user_id": user, "token": token })),
                None => return Err(format!("no user {user}")),
            }
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

fn serve(args: &Args) -> Result<(), String> {
    workflow_templates_server::logging::init(&args.one("log").unwrap_or_else(|| "info".into()))?;
    let url = args.db()?;
    let port = args.num("port", 8787)?;
    let host = args.one("host").unwrap_or_else(|| "127.0.0.1".into());
    let defaults = Config::default();
    let ttl = std::time::Duration::from_secs((args.num("idempotency-ttl-hours", 24)? as u64).saturating_mul(3600));
    let origins = args.all("cors-origin");
    let cfg = Config {
        cors_origins: if origins.is_empty() { defaults.cors_origins.clone() } else { origins },
        max_body: args.num("max-body", defaults.max_body)?,
        max_import_body: args.num("max-import-body", defaults.max_import_body)?,
        header_read_timeout: args.secs("header-read-timeout", defaults.header_read_timeout)?,
        idle_timeout: args.secs("idle-timeout", defaults.idle_timeout)?,
        idempotency_ttl: ttl,
        feed_backlog: args.num("feed-backlog", defaults.feed_backlog as usize)?.clamp(1, workflow_templates_server::feed::MAX_LIMIT as usize) as i64,
        // 1..=30 s: below the client's 45 s silence timeout (secs()).
        feed_keep_alive: args.secs("feed-keep-alive", defaults.feed_keep_alive)?,
        feed_user_streams: args.bounded("feed-user-streams", defaults.feed_user_streams as u64, 1..=10_000)? as usize,
        feed_max_streams: args.bounded("feed-max-streams", defaults.feed_max_streams as u64, 1..=1_000_000)? as usize,
        feed_stream_lifetime: std::time::Duration::from_secs(args.bounded("feed-stream-lifetime", defaults.feed_stream_lifetime.as_secs(), 1..=86_400)?),
        ..defaults
    };
    {
        let mut c = open(&url)?;
        if args.has("no-migrate") {
            if !migrations::is_current(&mut c).map_err(|e| e.to_string())? {
                return Err("the database schema is not current: run `migrate up` (or serve without --no-migrate)".into());
            }
            store::sync_builtins(&mut c).map_err(|e| e.to_string())?;
        } else {
            migrate_up(&mut c)?;
        }
        if let Err(e) = c.optimize() {
            tracing::warn!("refreshing the planner's statistics: {e}");
        }
        warn_if_stat4(&mut c);
    }
    let pool_size = args.num("pool", 16)?;
    let app = App::new(Pool::new(url, pool_size), cfg);
    let sweeper_pool = app.pool.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port as u16)).await.map_err(|e| format!("cannot bind {host}:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // Idempotency keys are kept for the TTL (recordUsage's forever), then forgotten, and
        // SQLite's planner statistics are refreshed (checked every 10 minutes).
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                let p = sweeper_pool.clone();
                let done = tokio::task::spawn_blocking(move || {
                    workflow_templates_server::idempotency::expire(&p, ttl)?;
                    p.get()?.optimize()
                });
                if let Ok(Err(e)) = done.await {
                    tracing::warn!("periodic upkeep: {e}");
                }
            }
        });
        println!("listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        };
        workflow_templates_server::serve::serve(listener, app, shutdown).await;
        Ok(())
    })
}

/// This repository builds the bundled SQLite without STAT4 (`.cargo/config.toml`); a build made
/// elsewhere, or with `LIBSQLITE3_FLAGS` set by hand, may bring it back, and with it every
/// cached statement is compiled again on each execution (BENCHMARKS.md, issue 13 round 4).
fn warn_if_stat4(c: &mut Conn) {
    if c.dialect() != workflow_templates_server::db::Dialect::Sqlite {
        return;
    }
    let options = c.query("PRAGMA compile_options", &[]).unwrap_or_default();
    if options.iter().any(|r| r[0].text().is_some_and(|o| o.starts_with("ENABLE_STAT4"))) {
        tracing::warn!("this SQLite is built with SQLITE_ENABLE_STAT4: statements are recompiled on every execution; build with LIBSQLITE3_FLAGS=-USQLITE_ENABLE_STAT4 (see .cargo/config.toml)");
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("workflow-templates-server: {e}");
        std::process::exit(2);
    }
}
