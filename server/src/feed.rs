//! The change feed (issue 15): `GET /v1/changes` (pages) and `GET /v1/changes/stream`
//! (Server-Sent Events) over `wt_changes`, which migration 008's triggers append to in every
//! writing transaction.
//!
//! - **Cursor**: the `seq` of a change row, as a decimal string (opaque to clients). A reader
//!   never passes a row that commits later: on SQLite writers are serialised by the file's write
//!   lock; on PostgreSQL every writing transaction numbers its change rows as its last step
//!   before COMMIT, under [`LOCK_KEY`] (a transaction-level advisory lock; [`finish_write`]),
//!   so rows are numbered and committed one transaction at a time and every `seq` at or below
//!   the highest committed one is final.
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
/// Open streams per user (`--feed-user-streams`) and per process (`--feed-max-streams`), and a
/// stream's maximum lifetime (`--feed-stream-lifetime`): defaults.
pub const USER_STREAMS: usize = 8;
pub const MAX_STREAMS: usize = 1024;
pub const STREAM_LIFETIME: Duration = Duration::from_secs(3600);
/// Page size of `GET /v1/changes`: default and maximum.
pub const DEFAULT_LIMIT: i64 = 500;
pub const MAX_LIMIT: i64 = 1000;

/// The last step of every writing transaction of the server (store.rs `commit`), right before
/// COMMIT. On PostgreSQL it numbers the transaction's change rows (placeholders until now):
/// deferred constraints are checked first (`SET CONSTRAINTS ALL IMMEDIATE`, so COMMIT takes no
/// more locks), then [`LOCK_KEY`] is taken and the rows get the next numbers after the highest
/// committed one, in the order they were written. The lock is held until COMMIT, and nothing in
/// between waits for another lock, so it cannot be part of a deadlock and holds up other
/// writers only for this one statement and the commit itself. SQLite needs nothing: its writers
/// are serialised (`BEGIN IMMEDIATE`) and the trigger numbers rows with `AUTOINCREMENT`.
pub fn finish_write(c: &mut Conn) -> DbResult<()> {
    if c.dialect() == Dialect::Sqlite {
        return Ok(());
    }
    c.execute("SET CONSTRAINTS ALL IMMEDIATE", &[])?;
    c.execute("SELECT pg_advisory_xact_lock({i1})", &[int(LOCK_KEY)])?;
    // A fresh snapshot (READ COMMITTED), taken after the lock: the previous holder's rows are
    // committed and visible, so their highest number is the head.
    c.execute(
        "UPDATE wt_changes AS w SET seq = t.head + t.rn \
         FROM (SELECT p.seq AS pending, (SELECT COALESCE(MAX(seq), 0) FROM wt_changes WHERE seq > 0) AS head, row_number() OVER (ORDER BY p.seq DESC) AS rn \
               FROM wt_changes AS p WHERE p.seq < 0 AND p.xid = pg_current_xact_id()) AS t \
         WHERE w.seq = t.pending",
        &[],
    )
    .map(drop)
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
/// (Negative numbers are PostgreSQL placeholders: rows of a write made outside the server's
/// commit, which were never numbered; they are never delivered.)
pub fn head(c: &mut Conn) -> DbResult<i64> {
    let rows = c.query("SELECT COALESCE(MAX(seq), 0) FROM wt_changes WHERE seq > 0", &[])?;
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
    // Two index-ordered reads merged (the user's own rows by `(owner_id, seq)`, others' public
    // rows by the partial index on `seq`), so a user who sees little does not scan all history
    // between `since` and the head (migration 009; plan in server/README.md "Change feed").
    let rows = c.query(
        "SELECT seq, kind, op, record_id, label, at FROM ( \
           SELECT * FROM (SELECT seq, kind, op, record_id, label, {tso:at} AS at FROM wt_changes \
             WHERE owner_id = {t3} AND seq > {i1} AND seq <= {i2} ORDER BY seq LIMIT {i4}) AS own \
           UNION ALL \
           SELECT * FROM (SELECT seq, kind, CASE WHEN public_after THEN op ELSE 'delete' END AS op, record_id, label, {tso:at} AS at FROM wt_changes \
             WHERE (public_before OR public_after) AND owner_id <> {t3} AND seq > {i1} AND seq <= {i2} ORDER BY seq LIMIT {i4}) AS pub \
         ) AS x ORDER BY seq LIMIT {i4}",
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
    /// Open streams per user id (admission under this lock; see [`Hub::admit`]).
    per_user: Mutex<std::collections::HashMap<String, usize>>,
    wake: Notify,
    poller: Mutex<bool>,
    /// A stream whose reader is more than this many visible changes behind gets `resync`.
    pub backlog: i64,
}

impl Hub {
    pub fn new(backlog: i64) -> Arc<Hub> {
        Arc::new(Hub { head: watch::channel(0).0, closed: watch::channel(false).0, listeners: AtomicUsize::new(0), per_user: Mutex::default(), wake: Notify::new(), poller: Mutex::new(false), backlog })
    }

    /// Counts a new stream of `user`, or refuses it: beyond `per_user` open streams of this user
    /// 429 INVALID_ARGUMENT, beyond `max` in this process 503 STORAGE_UNAVAILABLE (both with
    /// details `{ reason: "TOO_MANY_STREAMS", limit }`). The count lives as long as the guard.
    fn admit(self: &Arc<Self>, user: &str, per_user: usize, max: usize) -> ApiResult<Listening> {
        let mut users = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        let too_many = |status, code, limit: usize, msg: String| ApiError { details: json!({ "reason": "TOO_MANY_STREAMS", "limit": limit }), ..ApiError::new(status, code, msg) };
        if self.listeners.load(Ordering::SeqCst) >= max {
            return Err(too_many(axum::http::StatusCode::SERVICE_UNAVAILABLE, "STORAGE_UNAVAILABLE", max, format!("this server has {max} open change streams: try again later")));
        }
        let n = users.entry(user.to_string()).or_insert(0);
        if *n >= per_user {
            return Err(too_many(axum::http::StatusCode::TOO_MANY_REQUESTS, "INVALID_ARGUMENT", per_user, format!("at most {per_user} open change streams per user: close one first")));
        }
        *n += 1;
        self.listeners.fetch_add(1, Ordering::SeqCst);
        Ok(Listening(self.clone(), user.to_string()))
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

/// Counts an open stream (in the process and for its user) for as long as it lives.
struct Listening(Arc<Hub>, String);

impl Drop for Listening {
    fn drop(&mut self) {
        let mut users = self.0.per_user.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = users.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                users.remove(&self.1);
            }
        }
        self.0.listeners.fetch_sub(1, Ordering::SeqCst);
    }
}

struct StreamState {
    app: App,
    user: String,
    /// The request's bearer token, checked again at every page read: a deleted token ends the
    /// stream with no more data.
    token: String,
    /// The stream ends here (`--feed-stream-lifetime`); the client reconnects with Last-Event-ID.
    deadline: tokio::time::Instant,
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
    let token = crate::auth::bearer(&headers)?;
    let pool = app.pool.clone();
    let from = blocking(move || start(&mut *pool.get()?, since)).await?;
    let hub = app.feed.clone();
    let keep_alive = app.cfg.feed_keep_alive;
    let listening = hub.admit(&user.user_id, app.cfg.feed_user_streams, app.cfg.feed_max_streams)?;
    let deadline = tokio::time::Instant::now() + app.cfg.feed_stream_lifetime;
    hub.ensure_poller(app.pool.clone());
    hub.wake.notify_one();
    let mut head = hub.head.subscribe();
    // Read the first page at once, whatever the poller last saw.
    head.mark_changed();
    let st = StreamState { user: user.user_id, token, deadline, cursor: from, queue: Default::default(), head, closed: hub.closed.subscribe(), ended: false, _listening: listening, app };
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
        if st.ended || *st.closed.borrow() || tokio::time::Instant::now() >= st.deadline {
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
            _ = tokio::time::sleep_until(st.deadline) => return None,
        }
        let (pool, user, token, cursor, backlog) = (st.app.pool.clone(), st.user.clone(), st.token.clone(), st.cursor, st.app.feed.backlog);
        let read = tokio::task::spawn_blocking(move || -> DbResult<Option<Page>> {
            let mut c = pool.get()?;
            if crate::auth::user_for_token(&mut c, &token)?.as_deref() != Some(user.as_str()) {
                return Ok(None);
            }
            page(&mut c, &user, cursor, backlog).map(Some)
        })
        .await;
        match read {
            // The token was deleted (or moved to another user): no more data.
            Ok(Ok(None)) => return None,
            Ok(Ok(Some(p))) if p.more => {
                // Too far behind to catch up here: the client pages GET /v1/changes instead.
                st.ended = true;
                return Some(Event::default().event("resync").data(json!({ "cursor": st.cursor.to_string() }).to_string()));
            }
            Ok(Ok(Some(p))) => {
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
