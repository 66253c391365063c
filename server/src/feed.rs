//! The change feed (issue 15): `GET /v1/changes` (pages) and `GET /v1/changes/stream`
//! (Server-Sent Events) over `wt_changes`, which migration 008's triggers append to in every
//! writing transaction.
//!
//! - **Cursor**: the `seq` of a change row, as a decimal string (opaque to clients). A reader
//!   never passes a row that commits later: on SQLite writers are serialised by the file's write
//!   lock; on PostgreSQL every writing transaction takes [`LOCK_KEY`] (a transaction-level
//!   advisory lock) before its first row lock, so change rows are numbered and committed one
//!   transaction at a time and every `seq` at or below the highest committed one is final.
//! - **Access**: a row is sent to its owner, and to others only when its record was public
//!   before or after the change (`public_before` / `public_after`, stored by the trigger). For
//!   others a change that leaves the record unreadable (made private, label moved to a private
//!   version) is sent as `op: "delete"`: to them the record is gone.
//! - **Streams** hold no connection while idle: one poller per process reads the feed's head
//!   (`MAX(seq)`) every [`POLL`] while someone listens and wakes the streams, each of which then
//!   reads its own page. Writes by any process on the same database are seen the same way.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{watch, Notify};

use crate::db::{int, text, Conn, DbResult, Dialect, Pool};
use crate::extract::{only_keys, query_pairs};
use crate::http::{App, UserAuth};
use crate::reply::{ApiError, ApiResult, Reply};

/// The advisory lock key that orders change rows on PostgreSQL (7774001 is the schema lock).
pub const LOCK_KEY: i64 = 7774002;
/// How often a process reads the feed's head while it has subscribers.
pub const POLL: Duration = Duration::from_millis(250);
/// `: keep-alive` comments on an idle stream (proxies drop streams silent for ~60 s).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Page size of `GET /v1/changes`: default and maximum.
pub const DEFAULT_LIMIT: i64 = 500;
pub const MAX_LIMIT: i64 = 1000;

/// Taken first thing by every writing transaction of the server (store.rs `commit`), before any
/// row lock, so waiting for it can never be part of a deadlock; held until commit or rollback.
pub fn lock_for_write(c: &mut Conn) -> DbResult<()> {
    match c.dialect() {
        Dialect::Sqlite => Ok(()),
        Dialect::Postgres => c.execute("SELECT pg_advisory_xact_lock({i1})", &[int(LOCK_KEY)]).map(drop),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub cursor: String,
    pub kind: String,
    pub op: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct Page {
    pub changes: Vec<Change>,
    pub cursor: String,
    pub more: bool,
}

/// Where a reader starts: a position in the feed, or its current head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    Seq(i64),
    Now,
}

/// Parses a cursor: `now`, or a decimal `seq` this server handed out (no sign, no spaces, at
/// most 18 digits so it fits a BIGINT). Anything else is 400 `INVALID_ARGUMENT`.
pub fn parse_since(s: &str) -> ApiResult<Since> {
    if s == "now" {
        return Ok(Since::Now);
    }
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad(format!("malformed cursor {:?}: use a cursor from this feed, or \"now\"", s.chars().take(64).collect::<String>())));
    }
    Ok(Since::Seq(s.parse().map_err(|_| ApiError::bad("malformed cursor"))?))
}

/// The highest committed `seq` (0 for an empty feed). Every row at or below it is committed.
pub fn head(c: &mut Conn) -> DbResult<i64> {
    let rows = c.query("SELECT COALESCE(MAX(seq), 0) FROM wt_changes", &[])?;
    Ok(rows.first().and_then(|r| r[0].int()).unwrap_or(0))
}

/// Checks a start position against the head: a cursor past it was not handed out by this
/// database (another database, or one rebuilt since): 400, so the client starts over.
fn start(c: &mut Conn, since: Since) -> ApiResult<i64> {
    let h = head(c)?;
    match since {
        Since::Now => Ok(h),
        Since::Seq(n) if n > h => Err(ApiError { details: json!({ "reason": "CURSOR_AHEAD", "head": h.to_string() }), ..ApiError::bad(format!("cursor {n} is ahead of this feed (head {h}): start again from a snapshot")) }),
        Since::Seq(n) => Ok(n),
    }
}

/// The changes `user` may see after `since`, at most `limit`, in `seq` order. `cursor` is the
/// position after the last one returned when there are more; otherwise the head read at the
/// start (past changes the user may not see, so they are not scanned again).
pub fn page(c: &mut Conn, user: &str, since: i64, limit: i64) -> DbResult<Page> {
    let h = head(c)?;
    let rows = c.query(
        "SELECT seq, kind, CASE WHEN owner_id <> {t3} AND NOT public_after THEN 'delete' ELSE op END, record_id, label, {tso:at} \
         FROM wt_changes WHERE seq > {i1} AND seq <= {i2} AND (owner_id = {t3} OR public_before OR public_after) ORDER BY seq LIMIT {i4}",
        &[int(since), int(h), text(user), int(limit + 1)],
    )?;
    let more = rows.len() as i64 > limit;
    let changes: Vec<Change> = rows
        .iter()
        .take(limit as usize)
        .map(|r| Change {
            cursor: r[0].int().unwrap_or(0).to_string(),
            kind: r[1].text().unwrap_or_default().to_string(),
            op: r[2].text().unwrap_or_default().to_string(),
            id: r[3].text().unwrap_or_default().to_string(),
            label: r[4].text().map(str::to_string),
            at: r[5].text().unwrap_or_default().to_string(),
        })
        .collect();
    let cursor = match (more, changes.last()) {
        (true, Some(last)) => last.cursor.clone(),
        _ => h.max(since).to_string(),
    };
    Ok(Page { changes, cursor, more })
}

/// GET /v1/changes?since=&limit=
pub async fn changes(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Reply> {
    let pairs = query_pairs(&app, &q)?;
    only_keys(&pairs, &["since", "limit"])?;
    let get = |k: &str| pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    let since = get("since").map(|s| parse_since(&s)).transpose()?.unwrap_or(Since::Seq(0));
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| ApiError::bad(format!("limit must be an integer in 1..={MAX_LIMIT}")))?,
    };
    let pool = app.pool.clone();
    blocking(move || {
        let mut c = pool.get()?;
        let from = start(&mut c, since)?;
        if since == Since::Now {
            return Reply::ok(Page { changes: Vec::new(), cursor: from.to_string(), more: false });
        }
        Reply::ok(page(&mut c, &user.user_id, from, limit)?)
    })
    .await
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", format!("the request failed: {e}")))?
}

// ---- streams ------------------------------------------------------------------------------

/// One per process: the feed's head as last read, the number of open streams, and the
/// shutdown signal that ends them.
pub struct Hub {
    head: watch::Sender<i64>,
    closed: watch::Sender<bool>,
    listeners: AtomicUsize,
    wake: Notify,
    poller: Mutex<bool>,
    /// A stream whose reader is more than this many visible changes behind gets `resync`.
    pub backlog: i64,
}

impl Hub {
    pub fn new(backlog: i64) -> Arc<Hub> {
        Arc::new(Hub { head: watch::channel(0).0, closed: watch::channel(false).0, listeners: AtomicUsize::new(0), wake: Notify::new(), poller: Mutex::new(false), backlog })
    }

    /// Ends every open stream (graceful shutdown) and stops the poller.
    pub fn close(&self) {
        self.closed.send_replace(true);
        self.wake.notify_one();
    }

    /// Starts this process's poller on first use: it reads the head every `POLL` while at least
    /// one stream is open (a short query on a pooled connection), and sleeps otherwise.
    fn ensure_poller(self: &Arc<Self>, pool: Arc<Pool>) {
        let mut started = self.poller.lock().unwrap_or_else(|e| e.into_inner());
        if *started {
            return;
        }
        *started = true;
        let hub = self.clone();
        tokio::spawn(async move {
            let mut closed = hub.closed.subscribe();
            loop {
                if *closed.borrow() {
                    return;
                }
                if hub.listeners.load(Ordering::SeqCst) == 0 {
                    tokio::select! {
                        _ = hub.wake.notified() => {}
                        _ = closed.changed() => {}
                    }
                    continue;
                }
                let p = pool.clone();
                match tokio::task::spawn_blocking(move || p.get_timeout(Duration::from_secs(2)).and_then(|mut c| head(&mut c))).await {
                    Ok(Ok(h)) => {
                        hub.head.send_if_modified(|cur| std::mem::replace(cur, h) != h);
                    }
                    Ok(Err(e)) => tracing::warn!("change feed: reading the head: {e}"),
                    Err(e) => tracing::warn!("change feed: poller task: {e}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = closed.changed() => {}
                }
            }
        });
    }
}

/// Counts an open stream for as long as it lives.
struct Listening(Arc<Hub>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.listeners.fetch_sub(1, Ordering::SeqCst);
    }
}

struct StreamState {
    app: App,
    user: String,
    cursor: i64,
    queue: std::collections::VecDeque<Change>,
    head: watch::Receiver<i64>,
    closed: watch::Receiver<bool>,
    ended: bool,
    _listening: Listening,
}

/// GET /v1/changes/stream?since= (`Last-Event-ID` wins over `since`).
pub async fn stream(user: UserAuth, State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<([(HeaderName, &'static str); 1], Sse<impl Stream<Item = Result<Event, Infallible>>>)> {
    let pairs = query_pairs(&app, &q)?;
    only_keys(&pairs, &["since"])?;
    let since = match headers.get("last-event-id") {
        Some(v) => parse_since(v.to_str().map_err(|_| ApiError::bad("Last-Event-ID is not visible ASCII"))?.trim())?,
        None => pairs.iter().find(|(k, _)| k == "since").map(|(_, v)| parse_since(v)).transpose()?.unwrap_or(Since::Seq(0)),
    };
    let pool = app.pool.clone();
    let from = blocking(move || start(&mut *pool.get()?, since)).await?;
    let hub = app.feed.clone();
    let keep_alive = app.cfg.feed_keep_alive;
    hub.listeners.fetch_add(1, Ordering::SeqCst);
    let listening = Listening(hub.clone());
    hub.ensure_poller(app.pool.clone());
    hub.wake.notify_one();
    let mut head = hub.head.subscribe();
    // Read the first page at once, whatever the poller last saw.
    head.mark_changed();
    let st = StreamState { user: user.user_id, cursor: from, queue: Default::default(), head, closed: hub.closed.subscribe(), ended: false, _listening: listening, app };
    let events = futures_util::stream::unfold(st, |mut st| async move {
        let ev = next_event(&mut st).await?;
        Some((Ok(ev), st))
    });
    // nginx buffers proxied responses unless told not to (other proxies: see server/README.md).
    let no_buffering = [(HeaderName::from_static("x-accel-buffering"), "no")];
    Ok((no_buffering, Sse::new(events).keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive"))))
}

/// The stream's next event: a queued change, else waits for the head to move (or shutdown),
/// reads the next page, and answers `resync` when the reader is too far behind.
async fn next_event(st: &mut StreamState) -> Option<Event> {
    loop {
        if st.ended || *st.closed.borrow() {
            return None;
        }
        if let Some(c) = st.queue.pop_front() {
            st.cursor = c.cursor.parse().unwrap_or(st.cursor);
            let data = serde_json::to_string(&c).unwrap_or_default();
            return Some(Event::default().id(c.cursor).event("change").data(data));
        }
        tokio::select! {
            changed = st.head.changed() => if changed.is_err() { return None },
            _ = st.closed.changed() => return None,
        }
        let (pool, user, cursor, backlog) = (st.app.pool.clone(), st.user.clone(), st.cursor, st.app.feed.backlog);
        let read = tokio::task::spawn_blocking(move || -> DbResult<Page> { page(&mut *pool.get()?, &user, cursor, backlog) }).await;
        match read {
            Ok(Ok(p)) if p.more => {
                // Too far behind to catch up here: the client pages GET /v1/changes instead.
                st.ended = true;
                return Some(Event::default().event("resync").data(json!({ "cursor": st.cursor.to_string() }).to_string()));
            }
            Ok(Ok(p)) => {
                st.queue.extend(p.changes);
                if st.queue.is_empty() {
                    // Only changes this user may not see: move past them.
                    st.cursor = p.cursor.parse().unwrap_or(st.cursor);
                }
            }
            // The database is away: try again a little later.
            Ok(Err(e)) => retry_later(st, format!("reading a page: {e}")).await,
            Err(e) => retry_later(st, format!("page task: {e}")).await,
        }
    }
}

async fn retry_later(st: &mut StreamState, why: String) {
    tracing::warn!("change feed: {why}");
    tokio::select! {
        _ = tokio::time::sleep(POLL * 4) => st.head.mark_changed(),
        _ = st.closed.changed() => {}
    }
}
