//! The HTTP API (see `openapi.yaml`). Every request that touches templates builds a core
//! `Catalog` for the authenticated user over a `SqlStore` on one pooled connection, and calls
//! the catalog operation on a blocking thread: the server runs the package's own rules and never
//! trusts the client.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};
use workflow_templates::catalog::{Catalog, Env, SkippedRow, SystemEnv, UsageRun};
use workflow_templates::model::time::parse_ms;
use workflow_templates::Error;

pub use crate::auth::{BearerToken, UserAuth};
use crate::db::Pool;
use crate::extract::{discover_options, object_body, only_keys, query_pairs, IdempotencyKey, Id, IfMatch, JsonBody};
use crate::idempotency::{self, idem_of, Idem, Replay};
pub use crate::reply::status_of;
use crate::reply::{json_errors, not_modified, ApiError, ApiResult, Reply};
use crate::store::{IdemClaim, SqlStore};

pub type Cat = Catalog<SqlStore, ServerEnv>;

/// The catalog's environment on the server: the system clock, and a log line (stderr) for
/// every stored row a list left out because it fails verification (issue 10 item 1): the
/// response only counts it (`skipped`), the log says which row and why.
pub struct ServerEnv {
    user: String,
}

impl Env for ServerEnv {
    fn now_ms(&self) -> i64 {
        SystemEnv.now_ms()
    }
    fn skipped_row(&self, row: &SkippedRow) {
        tracing::warn!("left out stored {} row {} ({}: {}) from a list for user {}", row.table, row.id, row.code, row.message, self.user);
    }
    /// The catalog runs on a blocking thread (`run`), so the back-off sleeps it.
    fn after_lost_race(&self, lost: usize) {
        std::thread::sleep(backoff(lost, self.random()));
    }
}

/// How long a write waits after losing `lost` races in a row before it runs again: a random
/// time below `min(2^lost, 32)` ms ("full jitter"), so writers that collided on one row (every
/// use of a popular template writes its statistics: 100 at once through two processes in
/// tests/multiprocess.rs) do not collide again in lockstep, and one of them cannot lose all 64
/// attempts of `STATS_ATTEMPTS` in a burst. At most ~2 s over 64 attempts.
pub fn backoff(lost: usize, random: u128) -> Duration {
    let cap_us = 1000u64 << lost.clamp(1, 5);
    Duration::from_micros((random % u128::from(cap_us)) as u64)
}

pub const OPENAPI: &str = include_str!("../openapi.yaml");

#[derive(Debug, Clone)]
pub struct Config {
    pub cors_origins: Vec<String>,
    pub max_body: usize,
    pub max_import_body: usize,
    /// Longest accepted query string (bytes) and discovery `text` (characters).
    pub max_query: usize,
    pub max_text: usize,
    /// A request head must arrive within this (also the keep-alive idle limit); see `serve.rs`.
    pub header_read_timeout: Duration,
    /// No body frame received, or no response byte accepted, for this long closes the connection.
    pub idle_timeout: Duration,
    /// An Idempotency-Key older than this is forgotten (`--idempotency-ttl-hours`).
    pub idempotency_ttl: Duration,
    /// A change stream more than this many visible changes behind gets `resync` (`--feed-backlog`).
    pub feed_backlog: i64,
    /// Interval of the `: keep-alive` comments on an idle change stream (`--feed-keep-alive`).
    pub feed_keep_alive: Duration,
    /// Open change streams per user and per process (`--feed-user-streams`, `--feed-max-streams`).
    pub feed_user_streams: usize,
    pub feed_max_streams: usize,
    /// A change stream ends after this long (`--feed-stream-lifetime`); the client reconnects.
    pub feed_stream_lifetime: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cors_origins: vec!["http://127.0.0.1:8080".into()],
            max_body: 1 << 20,
            max_import_body: 64 << 20,
            max_query: 8192,
            max_text: 1000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            feed_backlog: crate::feed::MAX_LIMIT,
            feed_keep_alive: crate::feed::KEEP_ALIVE,
            feed_user_streams: crate::feed::USER_STREAMS,
            feed_max_streams: crate::feed::MAX_STREAMS,
            feed_stream_lifetime: crate::feed::STREAM_LIFETIME,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub pool: Arc<Pool>,
    pub cfg: Arc<Config>,
    /// The change feed's per-process poller and stream bookkeeping (`feed.rs`).
    pub feed: Arc<crate::feed::Hub>,
}

impl App {
    pub fn new(pool: Arc<Pool>, cfg: Config) -> App {
        let feed = crate::feed::Hub::new(cfg.feed_backlog);
        App { pool, cfg: Arc::new(cfg), feed }
    }
}

// ---- running the catalog ------------------------------------------------------------------

/// Runs a future to completion on this (blocking) thread. The SQL store never returns
/// `Pending`, but a waker that unparks the thread keeps this correct for any future.
pub fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark()
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Who a request runs for: a user the `UserAuth` extractor already looked up, or a bearer
/// token `run` looks up on the very connection the operation then uses (`BearerToken`).
pub enum Caller {
    User(UserAuth),
    Token(BearerToken),
}

impl From<UserAuth> for Caller {
    fn from(u: UserAuth) -> Self {
        Caller::User(u)
    }
}

impl From<BearerToken> for Caller {
    fn from(t: BearerToken) -> Self {
        Caller::Token(t)
    }
}

/// Runs `op` against a catalog for the caller on a blocking thread (the core's futures are not
/// `Send`), with idempotency-key handling when `idem` is given. A `Caller::Token` is
/// authenticated first, in the same blocking task and on the same pooled connection: a request
/// with an unknown token is 401 before `op` (and whatever error it carries) runs.
pub async fn run<F>(app: &App, caller: impl Into<Caller>, idem: Option<Idem>, op: F) -> ApiResult<Reply>
where
    F: FnOnce(&Cat) -> ApiResult<Reply> + Send + 'static,
{
    let pool = app.pool.clone();
    let ttl = app.cfg.idempotency_ttl;
    let caller = caller.into();
    tokio::task::spawn_blocking(move || -> ApiResult<Reply> {
        let mut conn = pool.get()?;
        let user = match caller {
            Caller::User(u) => u.user_id,
            Caller::Token(t) => t.authenticate(&mut conn)?.user_id,
        };
        let claim = idem.as_ref().map(|i| IdemClaim { user_id: user.clone(), key: i.key.clone(), request_hash: i.request_hash.clone(), permanent: i.permanent });
        let cat = Catalog::new(SqlStore::for_request(conn, claim), ServerEnv { user: user.clone() }, &user)?.shared(true);
        let Some(i) = &idem else { return op(&cat) };
        // A row without a response is a twin between its commit and storing its answer
        // (wait briefly for it), or a server that stopped right there (rebuild it).
        if let Some(r) = idempotency::replay(&cat, &user, i, ttl, Duration::from_secs(2))? {
            return Ok(replayed(r));
        }
        let out = op(&cat);
        if cat.store().idem_taken.get() {
            // A concurrent twin of this request holds the key: answer what it answered.
            return match idempotency::replay(&cat, &user, i, ttl, Duration::from_secs(10))? {
                Some(r) => Ok(replayed(r)),
                None => Err(ApiError::new(StatusCode::PRECONDITION_FAILED, "CONFLICT", "a request with this Idempotency-Key is in progress; retry")),
            };
        }
        match &out {
            // The failure may be the twin's success seen from here (e.g. NAME_TAKEN by the very
            // template the twin created): when the key is now spent, answer what the twin did.
            Err(_) => {
                if let Some(r) = idempotency::replay(&cat, &user, i, ttl, Duration::from_secs(10))? {
                    return Ok(replayed(r));
                }
            }
            // The request's effect and the key were committed together; now keep its answer.
            Ok(reply) => idempotency::keep(&cat, &user, i, reply)?,
        }
        out
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", format!("the request failed: {e}")))?
}

/// Marks a reply as the stored answer of an earlier request with the same Idempotency-Key.
fn replayed(r: Reply) -> Reply {
    Reply { replayed: true, ..r }
}

/// An edit of a version that is not the latest is 409 (the request conflicts with the state of
/// the template, RFC 9110 section 15.5.10), code `INVALID_ARGUMENT` (the core's code for it, so
/// the JS remote adapter reports what the in-browser catalog does), details
/// `{ reason: "NOT_LATEST", id }`.
pub(crate) fn not_latest(cat: &Cat, id: &str, e: ApiError) -> ApiError {
    if e.code != "INVALID_ARGUMENT" {
        return e;
    }
    match block_on(cat.get(id)) {
        Ok(t) if !t.is_latest => ApiError { status: StatusCode::CONFLICT, details: json!({ "reason": "NOT_LATEST", "id": id }), ..e },
        _ => e,
    }
}

// ---- handlers -----------------------------------------------------------------------------
//
// The shape of a handler: `UserAuth` (or, for a read in one hop, `BearerToken`) first
// (authentication before anything else), then the
// state, path, header extractors (`IfMatch`, `IdempotencyKey`), the body last; it returns
// `ApiResult<Reply>` and the catalog call runs inside `run`, errors propagating with `?`.

/// Liveness and readiness: 200 when the database answers a query within 3 s, else 503
/// `STORAGE_UNAVAILABLE` with `Retry-After`.
async fn health(State(app): State<App>) -> ApiResult<Reply> {
    let pool = app.pool.clone();
    let probe = tokio::task::spawn_blocking(move || -> ApiResult<()> {
        // Idle sessions the database closed fail once each and are dropped (the pool does not
        // test on checkout): go on to the next one, so that health says what the database
        // says now, not what a dead session says.
        let deadline = std::time::Instant::now() + Duration::from_millis(2500);
        loop {
            let wait = deadline.saturating_duration_since(std::time::Instant::now()).max(Duration::from_millis(1));
            let mut conn = pool.get_timeout(wait)?;
            match conn.query("SELECT COUNT(*) FROM wt_schema_migrations", &[]) {
                Ok(_) => return Ok(()),
                Err(e) if !conn.is_open() && std::time::Instant::now() < deadline => drop(e),
                Err(e) => return Err(e.into()),
            }
        }
    });
    let down = |why: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "STORAGE_UNAVAILABLE", format!("the database does not answer: {why}"));
    match tokio::time::timeout(Duration::from_secs(3), probe).await {
        Ok(Ok(Ok(()))) => Reply::ok(json!({ "ok": true, "database": "up", "service": "workflow-templates-server", "version": env!("CARGO_PKG_VERSION") })),
        Ok(Ok(Err(e))) => Err(down(e.message)),
        Ok(Err(e)) => Err(down(e.to_string())),
        Err(_) => Err(down("no answer within 3 s".into())),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml; charset=utf-8")], OPENAPI).into_response()
}

async fn me(user: UserAuth) -> ApiResult<Reply> {
    Reply::ok(json!({ "user_id": user.user_id }))
}

// The reads below take `BearerToken` (the token is looked up inside `run`, one blocking hop) and
// take their fallible extractors as `Result`, raised only after authentication, so a request
// with an unknown token is still 401 whatever else is wrong with it.

async fn discover(token: BearerToken, State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Reply> {
    let opts = query_pairs(&app, &q).and_then(|p| discover_options(&app, p));
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.discover(&opts?))?)).await
}

async fn get_one(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.get(&id?.0))?)).await
}

/// The `updated_at` of the caller's own template as read now (for an `If-Match` list). A
/// template the caller may not edit answers as the edit would (403 / 404), before any
/// precondition (RFC 9110 section 13.2.1).
pub(crate) fn template_etag(cat: &Cat, id: &str) -> ApiResult<String> {
    let t = block_on(cat.get(id))?;
    if t.is_builtin {
        return Err(Error::BuiltinReadOnly { id: t.id }.into());
    }
    if t.owner_id != cat.user_id() {
        return Err(Error::Forbidden(format!("template {} belongs to another user", t.id)).into());
    }
    Ok(t.updated_at)
}

// The writes below take an optional `Idempotency-Key` as the POSTs do (issue 15: an offline
// replica replays them): the key is looked up in `run` before `op`, so before the If-Match, and
// a replay of an applied conditional write answers its first answer, not 412.

async fn update(user: UserAuth, State(app): State<App>, Id(id): Id, cond: IfMatch, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let idem = idem_of(key, &Method::PATCH, &format!("/v1/templates/{id}"), &body.raw, Replay::Template(StatusCode::OK));
    run(&app, user, idem, move |cat| {
        let opts = cond.options(&id, || template_etag(cat, &id))?;
        Reply::ok(block_on(cat.update(&id, body.value, opts)).map_err(|e| not_latest(cat, &id, e.into()))?)
    })
    .await
}

async fn delete(user: UserAuth, State(app): State<App>, Id(id): Id, cond: IfMatch, IdempotencyKey(key): IdempotencyKey) -> ApiResult<Reply> {
    let idem = idem_of(key, &Method::DELETE, &format!("/v1/templates/{id}"), b"", Replay::Empty);
    run(&app, user, idem, move |cat| {
        let opts = cond.options(&id, || template_etag(cat, &id))?;
        block_on(cat.delete_with(&id, opts))?;
        Reply::no_content()
    })
    .await
}

async fn versions(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.versions(&id?.0))?)).await
}

async fn chain(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.chain(&id?.0))?)).await
}

/// `preview(draft, id?)`: resolve of an unsaved draft; writes nothing.
async fn preview(user: UserAuth, State(app): State<App>, body: JsonBody) -> ApiResult<Reply> {
    let mut m = object_body(body.value, &["draft", "id"], "a preview request")?;
    let draft = m.remove("draft").unwrap_or(Value::Null);
    let id = match m.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(ApiError::bad("id must be a string")),
    };
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.preview(draft, id.as_deref()))?)).await
}

async fn resolve(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.resolve(&id?.0))?)).await
}

async fn derived(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.derived(&id?.0))?)).await
}

async fn diff(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Reply> {
    let pairs = query_pairs(&app, &q)?;
    only_keys(&pairs, &["a", "b"])?;
    let get = |k: &str| pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    let (Some(a), Some(b)) = (get("a"), get("b")) else {
        return Err(ApiError::bad("diff needs query parameters a and b (template ids)"));
    };
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.diff(&a, &b))?)).await
}

async fn usage(user: UserAuth, State(app): State<App>, Id(id): Id, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let usage_run = UsageRun::from_value(&body.value)?;
    // Kept 90 days, not the TTL: a late replay of a use must not count it twice (issue 15).
    let idem = idem_of(key, &Method::POST, &format!("/v1/templates/{id}/usage"), &body.raw, Replay::Template(StatusCode::OK)).map(Idem::permanent);
    run(&app, user, idem, move |cat| Reply::ok(block_on(cat.record_usage(&id, &usage_run))?)).await
}

async fn rate(user: UserAuth, State(app): State<App>, Id(id): Id, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let idem = idem_of(key, &Method::PUT, &format!("/v1/templates/{id}/rating"), &body.raw, Replay::Template(StatusCode::OK));
    let m = object_body(body.value, &["stars"], "a rating")?;
    let stars = m.get("stars").and_then(Value::as_f64).ok_or_else(|| ApiError::bad("stars must be a number in 0..=5"))?;
    run(&app, user, idem, move |cat| Reply::ok(block_on(cat.rate(&id, stars))?)).await
}

/// GET /v1/templates/{id}/rating: the caller's own rating row (404 when they have none).
async fn my_rating(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.my_rating(&id?.0))?)).await
}

async fn popular(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Reply> {
    let p = query_pairs(&app, &q)?;
    only_keys(&p, &["n"])?;
    let n = match p.first() {
        None => 10,
        Some((_, v)) => v.parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| ApiError::bad("n must be an integer in 1..=100"))?,
    };
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.popular_by_category(n))?)).await
}

async fn list_specs(user: UserAuth, State(app): State<App>) -> ApiResult<Reply> {
    run(&app, user, None, |cat| Reply::ok(block_on(cat.list_specs())?)).await
}

async fn get_spec(token: BearerToken, State(app): State<App>, id: Result<Id, ApiError>) -> ApiResult<Reply> {
    run(&app, token, None, move |cat| Reply::ok(block_on(cat.get_spec(&id?.0))?)).await
}

fn spec_etag(cat: &Cat, id: &str) -> ApiResult<String> {
    Ok(block_on(cat.get_spec(id))?.updated_at)
}

async fn update_spec(user: UserAuth, State(app): State<App>, Id(id): Id, cond: IfMatch, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let idem = idem_of(key, &Method::PATCH, &format!("/v1/specs/{id}"), &body.raw, Replay::Spec(StatusCode::OK));
    run(&app, user, idem, move |cat| {
        let opts = cond.options(&id, || spec_etag(cat, &id))?;
        Reply::ok(block_on(cat.update_spec(&id, body.value, opts))?)
    })
    .await
}

async fn delete_spec(user: UserAuth, State(app): State<App>, Id(id): Id, cond: IfMatch, IdempotencyKey(key): IdempotencyKey) -> ApiResult<Reply> {
    let idem = idem_of(key, &Method::DELETE, &format!("/v1/specs/{id}"), b"", Replay::Empty);
    run(&app, user, idem, move |cat| {
        let opts = cond.options(&id, || spec_etag(cat, &id))?;
        // Specs have no conditional delete in the core: compare first, then delete (a spec
        // changes only through its owner, so the window is the owner's own concurrency).
        if let Some(want) = &opts.if_match {
            let cur = block_on(cat.get_spec(&id))?;
            if parse_ms(want).is_none_or(|w| Some(w) != parse_ms(&cur.updated_at)) {
                return Err(Error::Conflict { id: cur.id, expected: want.clone(), actual: cur.updated_at }.into());
            }
        }
        block_on(cat.delete_spec(&id))?;
        Reply::no_content()
    })
    .await
}

async fn export(user: UserAuth, State(app): State<App>) -> ApiResult<Reply> {
    run(&app, user, None, |cat| Reply::ok(block_on(cat.export_all())?)).await
}

async fn import(user: UserAuth, State(app): State<App>, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let idem = idem_of(key, &Method::POST, "/v1/import", &body.raw, Replay::Nothing);
    run(&app, user, idem, move |cat| Reply::ok(block_on(cat.import_all(body.value))?)).await
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint (see /v1/openapi.yaml)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "INVALID_ARGUMENT", "method not allowed on this endpoint (see /v1/openapi.yaml)")
}

// ---- CORS and common headers ----------------------------------------------------------------

// If-None-Match: an offline replica revalidates a record it holds with a conditional GET.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Last-Event-ID";
// Date: offline replicas make their ids from a clock corrected by it (README "Offline replica").
// Retry-After (every 503): a replica holds a write that long (docs/replica.md); without it a
// page of another origin cannot read the header (Fetch: not CORS-safelisted).
const EXPOSE_HEADERS: &str = "ETag, Date, Retry-After";
const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

async fn cors(State(app): State<App>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_string);
    let allowed = origin.as_ref().filter(|o| app.cfg.cors_origins.iter().any(|a| a == "*" || a == *o)).cloned();
    let mut resp = if req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        if allowed.is_none() {
            ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "origin not allowed").into_response()
        } else {
            let mut r = StatusCode::NO_CONTENT.into_response();
            let h = r.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            r
        }
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    if let Some(o) = allowed.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    }
    resp
}

pub fn router(app: App) -> Router {
    let import_limit = app.cfg.max_import_body;
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.yaml", get(openapi))
        .route("/v1/me", get(me))
        .route("/v1/templates", get(discover).post(crate::creates::create))
        .route("/v1/templates/{id}", get(get_one).patch(update).delete(delete))
        .route("/v1/templates/{id}/versions", get(versions).post(crate::creates::new_version))
        .route("/v1/templates/{id}/versions/labelled", get(crate::registry::labelled_versions))
        .route("/v1/templates/{id}/labels", get(crate::registry::labels))
        .route("/v1/templates/{id}/labels/{label}", put(crate::registry::set_label).delete(crate::registry::remove_label))
        .route("/v1/templates/{id}/restore", post(crate::creates::restore))
        .route("/v1/by-name", get(crate::registry::get_by_name))
        .route("/v1/by-name/resolve", get(crate::registry::resolve_by_name))
        .route("/v1/templates/{id}/chain", get(chain))
        .route("/v1/templates/{id}/resolve", get(resolve))
        .route("/v1/templates/{id}/derived", get(derived))
        .route("/v1/templates/{id}/usage", post(usage))
        .route("/v1/templates/{id}/rating", put(rate).get(my_rating))
        .route("/v1/diff", get(diff))
        .route("/v1/preview", post(preview))
        .route("/v1/popular-by-category", get(popular))
        .route("/v1/specs", get(list_specs).post(crate::creates::create_spec))
        .route("/v1/specs/{id}", get(get_spec).patch(update_spec).delete(delete_spec))
        .route("/v1/specs/{id}/instantiate", post(crate::creates::instantiate))
        .route("/v1/changes", get(crate::feed::changes))
        .route("/v1/changes/stream", get(crate::feed::stream))
        .route("/v1/export", get(export))
        .route("/v1/import", post(import).layer(DefaultBodyLimit::max(import_limit)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.cfg.max_body))
        .layer(middleware::from_fn(not_modified))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(app.clone(), cors))
        .layer(middleware::from_fn(crate::logging::request_log))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route of the router is documented in openapi.yaml, and nothing else is.
    #[test]
    fn openapi_documents_every_route() {
        let src = include_str!("http.rs");
        let routes: Vec<&str> = src.lines().filter_map(|l| l.trim().strip_prefix(".route(\"")).map(|l| &l[..l.find('"').unwrap()]).collect();
        assert!(routes.len() >= 15, "{routes:?}");
        for r in &routes {
            assert!(OPENAPI.contains(&format!("\n  {r}:\n")), "{r} is not in openapi.yaml");
        }
        let documented = OPENAPI.lines().filter(|l| l.starts_with("  /v1/")).count();
        assert_eq!(documented, routes.len(), "openapi.yaml documents a path the router does not serve");
    }

    /// Issue 13: every operation that needs a token documents 400, 401 and 503; every one with a
    /// body 408, 413, 415 and 422; with If-Match 412; with `{id}` 404 (what Schemathesis's
    /// status_code_conformance would otherwise find one request at a time).
    #[test]
    fn openapi_documents_the_statuses_every_operation_can_answer() {
        let lines: Vec<&str> = OPENAPI.lines().collect();
        let mut ops = Vec::new();
        let mut path = "";
        for (i, l) in lines.iter().enumerate() {
            if let Some(p) = l.strip_prefix("  /v1/") {
                path = p.trim_end_matches(':');
            } else if l.starts_with("components:") {
                break;
            } else if ["    get:", "    post:", "    put:", "    patch:", "    delete:"].contains(l) {
                let end = lines[i + 1..].iter().position(|x| !x.is_empty() && !x.starts_with("     ")).map_or(lines.len(), |n| i + 1 + n);
                ops.push((path, l.trim().trim_end_matches(':'), lines[i + 1..end].join("\n")));
            }
        }
        assert!(ops.len() >= 24, "{}", ops.len());
        for (path, method, block) in ops {
            if block.contains("security: []") {
                continue;
            }
            let mut want = vec!["400", "401", "503"];
            if block.contains("requestBody:") {
                want.extend(["408", "413", "415", "422"]);
            }
            if block.contains("parameters/IfMatch") {
                want.push("412");
            }
            if path.contains("{id}") {
                want.push("404");
            }
            for code in want {
                assert!(block.contains(&format!("\"{code}\":")), "{method} /v1/{path} does not document {code}");
            }
            assert!(block.contains("responses/Unauthorized") && block.contains("responses/Unavailable"), "{method} /v1/{path}: 401 and 503 use the responses with their headers");
            if block.contains("\"201\":") {
                assert!(block.contains("Created\" }"), "{method} /v1/{path}: a 201 documents Location");
            }
        }
    }

    #[test]
    fn every_error_code_has_a_status() {
        for code in workflow_templates::error::ERROR_CODES {
            let s = status_of(code);
            assert!(s.is_client_error() || s.is_server_error(), "{code}");
            assert!(OPENAPI.contains(code), "{code} is not documented");
        }
        assert_eq!(status_of("CONFLICT"), StatusCode::PRECONDITION_FAILED);
        assert_eq!(status_of("NAME_TAKEN"), StatusCode::CONFLICT);
    }

    /// The back-off after a lost race: below its cap (2 ms after the first, doubling, 32 ms from
    /// the fifth on), spread over the whole range by the random bits, never the same for all.
    #[test]
    fn backoff_is_jittered_below_a_cap_that_doubles_up_to_32_ms() {
        for (lost, cap_ms) in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 32), (63, 32)] {
            let cap = Duration::from_millis(cap_ms);
            let waits: Vec<Duration> = (0..2000u128).map(|i| backoff(lost, i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))).collect();
            assert!(waits.iter().all(|w| *w < cap), "lost {lost}: a wait at or above {cap_ms} ms");
            assert!(waits.iter().any(|w| *w < cap / 8) && waits.iter().any(|w| *w > cap * 7 / 8), "lost {lost}: not spread over 0..{cap_ms} ms");
        }
        assert_eq!(backoff(3, 0), Duration::ZERO);
        assert_eq!(backoff(3, 7_999), Duration::from_micros(7_999));
    }
}
