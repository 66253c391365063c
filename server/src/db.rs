//! One small synchronous database layer over SQLite (rusqlite) and PostgreSQL (postgres):
//! a connection enum, typed parameters, untyped result values, a tiny SQL template language that
//! renders the same statement for both dialects, and the connection pool (r2d2 over our `Conn`).
//!
//! Values always travel as bound parameters. The only SQL text built at run time is assembled
//! from constant fragments (placeholders and column lists), never from request data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use workflow_templates::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Where the database is: `sqlite://PATH` (or `sqlite:PATH`, or a bare path) and
/// `postgres://...` / `postgresql://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

impl DbUrl {
    pub fn parse(s: &str) -> Result<DbUrl, String> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(s.to_string()));
        }
        let path = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")).unwrap_or(s);
        if path.is_empty() || path == ":memory:" {
            return Err("an SQLite database needs a file path (sqlite://PATH); in-memory databases are not shared between connections".into());
        }
        if s.contains("://") && !s.starts_with("sqlite://") {
            return Err(format!("unsupported database URL {s:?}: use sqlite://PATH or postgres://..."));
        }
        Ok(DbUrl::Sqlite(path.to_string()))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            DbUrl::Sqlite(_) => Dialect::Sqlite,
            DbUrl::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// A bound parameter. Nulls are typed (PostgreSQL needs the type of every parameter).
#[derive(Debug, Clone, PartialEq)]
pub enum P {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(bool),
}

pub fn text(s: impl Into<String>) -> P {
    P::Text(Some(s.into()))
}

pub fn int(n: i64) -> P {
    P::Int(Some(n))
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
}

impl V {
    pub fn text(&self) -> Option<&str> {
        match self {
            V::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self) -> Option<i64> {
        match self {
            V::Int(n) => Some(*n),
            V::Real(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }
    pub fn real(&self) -> Option<f64> {
        match self {
            V::Real(f) => Some(*f),
            V::Int(n) => Some(*n as f64),
            _ => None,
        }
    }
    pub fn bool(&self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(*b),
            V::Int(n) => Some(*n != 0),
            _ => None,
        }
    }
}

pub type Row = Vec<V>;

/// What went wrong in the database, classified for the store's error mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A unique or primary-key violation.
    Unique,
    /// A lock could not be had in time (SQLite busy, PostgreSQL lock timeout).
    Busy,
    /// PostgreSQL serialization failure or deadlock: the transaction may simply be retried.
    Retry,
    /// A value out of the column's range.
    Range,
    Other,
}

#[derive(Debug, Clone)]
pub struct DbError {
    pub kind: DbErrorKind,
    pub message: String,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let kind = match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => {
                let msg = e.to_string();
                if msg.contains("UNIQUE") || msg.contains("PRIMARY KEY") {
                    DbErrorKind::Unique
                } else {
                    DbErrorKind::Other
                }
            }
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => DbErrorKind::Busy,
            _ => DbErrorKind::Other,
        };
        DbError { kind, message: format!("sqlite: {e}") }
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        let kind = match e.code().map(|c| c.code()) {
            Some("23505") => DbErrorKind::Unique,
            Some("55P03") | Some("57014") => DbErrorKind::Busy,
            Some("40001") | Some("40P01") => DbErrorKind::Retry,
            Some("22003") => DbErrorKind::Range,
            _ => DbErrorKind::Other,
        };
        let message = match e.as_db_error() {
            Some(d) => format!("postgres: {} ({})", d.message(), d.code().code()),
            None => format!("postgres: {e}"),
        };
        DbError { kind, message }
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e.kind {
            DbErrorKind::Range => Error::InvalidArgument(format!("a value is out of the database's range: {}", e.message)),
            DbErrorKind::Retry => Error::Conflict { id: String::new(), expected: "rev (transaction retry)".into(), actual: e.message },
            _ => Error::StorageUnavailable(e.message),
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

fn other(msg: impl Into<String>) -> DbError {
    DbError { kind: DbErrorKind::Other, message: msg.into() }
}

/// Renders a statement template for a dialect. Placeholders:
/// `{tN}` text, `{iN}` integer, `{fN}` float, `{bN}` boolean, `{tsN}` timestamp (RFC 3339 text),
/// `{jN}` JSON (text), `{e:TYPE:N}` enum value (text); and for result columns `{tso:COL}`
/// (timestamp as RFC 3339 text), `{jo:COL}` (JSON as text), `{eo:COL}` (enum as text).
pub fn render(d: Dialect, sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("unclosed placeholder in a SQL template");
        let tag = &rest[start + 1..end];
        out.push_str(&placeholder(d, tag));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn placeholder(d: Dialect, tag: &str) -> String {
    if let Some(col) = tag.strip_prefix("tso:") {
        return match d {
            Dialect::Sqlite => col.to_string(),
            Dialect::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"),
        };
    }
    if let Some(col) = tag.strip_prefix("jo:") {
        return match d {
            Dialect::Sqlite => col.to_string(),
            Dialect::Postgres => format!("{col}::text"),
        };
    }
    if let Some(col) = tag.strip_prefix("eo:") {
        return match d {
            Dialect::Sqlite => col.to_string(),
            Dialect::Postgres => format!("{col}::text"),
        };
    }
    if let Some(rest) = tag.strip_prefix("e:") {
        let (ty, n) = rest.split_once(':').expect("enum placeholder is {e:TYPE:N}");
        return match d {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("CAST(${n}::text AS {ty})"),
        };
    }
    let split = tag.find(|c: char| c.is_ascii_digit()).expect("placeholder needs a number");
    let (kind, n) = tag.split_at(split);
    match d {
        Dialect::Sqlite => format!("?{n}"),
        Dialect::Postgres => match kind {
            "t" => format!("${n}::text"),
            "i" => format!("${n}::bigint"),
            "f" => format!("${n}::float8"),
            "b" => format!("${n}::boolean"),
            "ts" => format!("CAST(${n}::text AS timestamptz)"),
            "j" => format!("CAST(${n}::text AS json)"),
            other => panic!("unknown placeholder kind {other:?}"),
        },
    }
}

pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PgConn>),
}

/// A PostgreSQL connection with its prepared statements (one round trip per query instead of
/// a prepare and an execute).
pub struct PgConn {
    /// Always `Some` until the connection is dropped (then moved to a closing thread).
    client: Option<postgres::Client>,
    statements: std::collections::HashMap<String, postgres::Statement>,
    /// Values derived from the database that may be a little old (`Conn::memo`).
    memo: std::collections::HashMap<&'static str, (std::time::Instant, std::sync::Arc<dyn std::any::Any + Send + Sync>)>,
}

impl PgConn {
    fn client(&mut self) -> DbResult<&mut postgres::Client> {
        self.client.as_mut().ok_or_else(|| other("the connection is closed"))
    }

    fn statement(&mut self, sql: &str) -> DbResult<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client()?.prepare(sql)?;
        if self.statements.len() >= 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl rusqlite::ToSql for P {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        Ok(match self {
            P::Text(Some(s)) => ToSqlOutput::from(s.as_str()),
            P::Int(Some(n)) => ToSqlOutput::from(*n),
            P::Real(Some(f)) => ToSqlOutput::from(*f),
            P::Bool(b) => ToSqlOutput::from(*b),
            P::Text(None) | P::Int(None) | P::Real(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

fn pg_params(params: &[P]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn postgres::types::ToSql + Sync) {
            match p {
                P::Text(s) => s,
                P::Int(n) => n,
                P::Real(f) => f,
                P::Bool(b) => b,
            }
        })
        .collect()
}

fn pg_row(r: &postgres::Row) -> DbResult<Row> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let t = c.type_();
        let v = if *t == Type::TEXT || *t == Type::VARCHAR || *t == Type::BPCHAR || *t == Type::NAME {
            r.try_get::<_, Option<String>>(i)?.map(V::Text)
        } else if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(V::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|n| V::Int(n as i64))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?.map(|n| V::Int(n as i64))
        } else if *t == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)?.map(V::Real)
        } else if *t == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)?.map(|f| V::Real(f as f64))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(V::Bool)
        } else {
            return Err(other(format!("column {} has type {t}, which this layer does not read (cast it to text)", c.name())));
        };
        out.push(v.unwrap_or(V::Null));
    }
    Ok(out)
}

/// SQLite's "database is locked" / "database table is locked".
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

impl Conn {
    /// `f`'s value, kept by this PostgreSQL connection for `ttl` under `key` (read again when
    /// older): for values derived from the database that may be a little old, such as its
    /// statistics, so a request does not pay a round trip for them. SQLite: `f` every time.
    pub fn memo<T: Clone + Send + Sync + 'static>(&mut self, key: &'static str, ttl: Duration, f: impl FnOnce(&mut Conn) -> DbResult<T>) -> DbResult<T> {
        if let Conn::Postgres(pg) = self {
            if let Some(v) = pg.memo.get(key).filter(|(at, _)| at.elapsed() < ttl).and_then(|(_, v)| v.downcast_ref::<T>()) {
                return Ok(v.clone());
            }
        }
        let v = f(self)?;
        if let Conn::Postgres(pg) = self {
            pg.memo.insert(key, (std::time::Instant::now(), std::sync::Arc::new(v.clone())));
        }
        Ok(v)
    }

    pub fn open(url: &DbUrl) -> DbResult<Conn> {
        match url {
            DbUrl::Sqlite(path) => {
                let c = rusqlite::Connection::open(path)?;
                // First, so that every statement from here on waits for a lock instead of failing.
                c.busy_timeout(Duration::from_secs(15))?;
                c.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
                // Reads through a memory map of the file (the OS's page cache, shared by every
                // connection) instead of a read() per page into each connection's own 2 MiB
                // cache: a discovery page that visits thousands of rows spent most of its time
                // in those system calls (issue 13, server/README.md "SQLite and locks").
                c.execute_batch("PRAGMA mmap_size = 1073741824;")?;
                // WAL is a property of the file: switched once, when a connection finds another
                // mode. Opening a connection must never need the write lock (nor run `PRAGMA
                // optimize`, whose ANALYZE writes; see `optimize`): while another process holds
                // that lock, readers on new connections are still served.
                // The switch needs the file to itself and SQLite may answer SQLITE_BUSY at once,
                // without the busy handler (processes opening a fresh file together): wait for
                // whoever holds it, then look again — it has usually switched the file already.
                let started = std::time::Instant::now();
                loop {
                    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                    if mode.eq_ignore_ascii_case("wal") {
                        break;
                    }
                    match c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                        Ok(_) => {}
                        Err(e) if is_busy(&e) && started.elapsed() < Duration::from_secs(15) => {
                            std::thread::sleep(Duration::from_millis(25));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(Conn::Sqlite(c))
            }
            DbUrl::Postgres(u) => {
                let mut c = postgres::Client::connect(u, postgres::NoTls)?;
                c.batch_execute("SET lock_timeout = '15s'; SET statement_timeout = '60s'; SET TIME ZONE 'UTC';")?;
                Ok(Conn::Postgres(Box::new(PgConn { client: Some(c), statements: Default::default(), memo: Default::default() })))
            }
        }
    }

    /// Refreshes SQLite's planner statistics where they are missing or stale
    /// (`PRAGMA optimize = 0x10002`; it may write, so it runs at start-up and from the periodic
    /// sweeper, never when a connection opens). Nothing to do on PostgreSQL (autovacuum).
    pub fn optimize(&mut self) -> DbResult<()> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch("PRAGMA optimize = 0x10002;")?),
            Conn::Postgres(_) => Ok(()),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement template (see `render`) and returns its rows.
    pub fn query(&mut self, sql: &str, params: &[P]) -> DbResult<Vec<Row>> {
        let sql = render(self.dialect(), sql);
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(&sql)?;
                let n = st.column_count();
                let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut row = Vec::with_capacity(n);
                    for i in 0..n {
                        use rusqlite::types::ValueRef;
                        row.push(match r.get_ref(i)? {
                            ValueRef::Null => V::Null,
                            ValueRef::Integer(x) => V::Int(x),
                            ValueRef::Real(x) => V::Real(x),
                            ValueRef::Text(t) => V::Text(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(_) => return Err(other("unexpected blob column")),
                        });
                    }
                    out.push(row);
                }
                Ok(out)
            }
            Conn::Postgres(c) => {
                let st = c.statement(&sql)?;
                let rows = c.client()?.query(&st, &pg_params(params))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// Runs a statement template; returns the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[P]) -> DbResult<u64> {
        let sql = render(self.dialect(), sql);
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(&sql)?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Conn::Postgres(c) => {
                let st = c.statement(&sql)?;
                Ok(c.client()?.execute(&st, &pg_params(params))?)
            }
        }
    }

    /// Runs literal SQL (several statements, no parameters): migrations and transaction control.
    pub fn batch(&mut self, sql: &str) -> DbResult<()> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(c) => {
                // DDL (migrations) may change what a prepared statement refers to.
                let t = sql.trim();
                if !(t.starts_with("BEGIN") || t == "COMMIT" || t == "ROLLBACK") {
                    c.statements.clear();
                }
                Ok(c.client()?.batch_execute(sql)?)
            }
        }
    }

    /// Starts a write transaction. SQLite takes the write lock at once (BEGIN IMMEDIATE), so a
    /// transaction never fails half-way for want of an upgrade.
    pub fn begin(&mut self) -> DbResult<()> {
        match self {
            Conn::Sqlite(_) => self.batch("BEGIN IMMEDIATE"),
            Conn::Postgres(_) => self.batch("BEGIN ISOLATION LEVEL READ COMMITTED"),
        }
    }

    pub fn commit(&mut self) -> DbResult<()> {
        self.batch("COMMIT")
    }

    pub fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK");
    }

    /// Runs `f` in a transaction: committed when it returns Ok, rolled back otherwise.
    pub fn transaction<T, E: From<DbError>>(&mut self, f: impl FnOnce(&mut Conn) -> Result<T, E>) -> Result<T, E> {
        self.begin()?;
        match f(self) {
            Ok(v) => match self.commit() {
                Ok(()) => Ok(v),
                Err(e) => {
                    self.rollback();
                    Err(e.into())
                }
            },
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// False once a PostgreSQL session is closed (e.g. the server terminated it).
    pub fn is_open(&self) -> bool {
        match self {
            Conn::Sqlite(_) => true,
            Conn::Postgres(c) => c.client.as_ref().is_some_and(|c| !c.is_closed()),
        }
    }

    fn healthy(&self) -> bool {
        match self {
            Conn::Sqlite(c) => c.is_autocommit(),
            Conn::Postgres(c) => c.client.as_ref().is_some_and(|c| !c.is_closed()),
        }
    }
}

/// The sync `postgres::Client` blocks on its own runtime when dropped, which panics on a thread
/// that is driving a tokio runtime (e.g. when the server shuts down and drops its pool):
/// PostgreSQL connections are therefore closed on a thread of their own.
impl Drop for PgConn {
    fn drop(&mut self) {
        let (client, statements) = (self.client.take(), std::mem::take(&mut self.statements));
        let _ = std::thread::Builder::new().name("wt-pg-close".into()).spawn(move || drop((statements, client)));
    }
}

/// Opens and checks our `Conn` for r2d2 (the same set-up as `Conn::open`: busy timeout, WAL,
/// foreign keys on SQLite; lock and statement timeouts on PostgreSQL). One manager for both
/// dialects keeps one connection type (and PostgreSQL's prepared-statement cache per connection).
#[derive(Debug)]
pub struct Manager(DbUrl);

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = DbError;

    fn connect(&self) -> DbResult<Conn> {
        Conn::open(&self.0)
    }

    fn is_valid(&self, conn: &mut Conn) -> DbResult<()> {
        conn.batch("SELECT 1")
    }

    /// A connection given back inside a transaction (a request that failed half-way) is rolled
    /// back; one that cannot be (or a closed PostgreSQL session) is dropped.
    fn has_broken(&self, conn: &mut Conn) -> bool {
        if !conn.healthy() {
            conn.rollback();
        }
        !conn.healthy()
    }
}

impl std::error::Error for DbError {}

pub type Pooled = r2d2::PooledConnection<Manager>;

/// The connection pool (r2d2): at most `max` connections, opened when needed; a caller waits up
/// to 30 s for a free one (then `STORAGE_UNAVAILABLE`).
pub struct Pool {
    url: DbUrl,
    inner: r2d2::Pool<Manager>,
    /// Connections handed out so far (`checkouts`): what a request costs in pool round trips.
    checkouts: AtomicU64,
}

impl Pool {
    pub fn new(url: DbUrl, max: usize) -> Arc<Pool> {
        let inner = r2d2::Pool::builder()
            .max_size(max.clamp(1, u32::MAX as usize) as u32)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager(url.clone()));
        Arc::new(Pool { url, inner, checkouts: AtomicU64::new(0) })
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub fn dialect(&self) -> Dialect {
        self.url.dialect()
    }

    /// A connection, waiting up to 30 s for one to be free.
    pub fn get(&self) -> DbResult<Pooled> {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        self.inner.get().map_err(pool_error)
    }

    /// A connection within `wait` (the health check's short wait).
    pub fn get_timeout(&self, wait: Duration) -> DbResult<Pooled> {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        self.inner.get_timeout(wait).map_err(pool_error)
    }

    /// How many times a connection was asked for (`get`, `get_timeout`) since the pool was made.
    pub fn checkouts(&self) -> u64 {
        self.checkouts.load(Ordering::Relaxed)
    }
}

fn pool_error(e: r2d2::Error) -> DbError {
    DbError { kind: DbErrorKind::Busy, message: format!("no database connection: {e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_dialects() {
        let t = "SELECT {tso:created_at}, {jo:p} FROM x WHERE id = {t1} AND n = {i2} AND k = {e:workflowtype:3} AND at = {ts4}";
        assert_eq!(render(Dialect::Sqlite, t), "SELECT created_at, p FROM x WHERE id = ?1 AND n = ?2 AND k = ?3 AND at = ?4");
        let pg = render(Dialect::Postgres, t);
        assert!(pg.contains("id = $1::text AND n = $2::bigint AND k = CAST($3::text AS workflowtype) AND at = CAST($4::text AS timestamptz)"), "{pg}");
        assert!(pg.contains("to_char(created_at AT TIME ZONE 'UTC'"), "{pg}");
    }

    #[test]
    fn parses_urls() {
        assert_eq!(DbUrl::parse("sqlite:///tmp/a.db").unwrap(), DbUrl::Sqlite("/tmp/a.db".into()));
        assert_eq!(DbUrl::parse("sqlite://a.db").unwrap(), DbUrl::Sqlite("a.db".into()));
        assert_eq!(DbUrl::parse("data/x.db").unwrap(), DbUrl::Sqlite("data/x.db".into()));
        assert!(matches!(DbUrl::parse("postgresql://u@127.0.0.1:5/db").unwrap(), DbUrl::Postgres(_)));
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("sqlite::memory:").is_err());
    }
}
