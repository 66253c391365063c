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
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};
use workflow_templates::catalog::{Catalog, Env, SkippedRow, SystemEnv, UsageRun};
use workflow_templates::Error;

use crate::auth;
use crate::extract::{discover_options, if_match, object_body, only_keys, query_pairs, Id, JsonBody};
use crate::reply::{json_errors, ApiError, ApiResult, Reply};
pub use crate::reply::status_of;
use crate::db::{int, text, Pool};
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
        eprintln!("left out stored {} row {} ({}: {}) from a list for user {}", row.table, row.id, row.code, row.message, self.user);
    }
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
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub pool: Arc<Pool>,
    pub cfg: Arc<Config>,
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

fn bearer(headers: &HeaderMap) -> ApiResult<String> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized("missing Authorization: Bearer <token>"));
    };
    let v = v.to_str().map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) = v.split_once(' ').ok_or_else(|| ApiError::unauthorized("Authorization must be Bearer <token>"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 256 {
        return Err(ApiError::unauthorized("Authorization must be Bearer <token>"));
    }
    Ok(token.to_string())
}

/// How a lost response of an idempotent request is rebuilt from the record it wrote.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Replay {
    /// The template the request wrote, answered with this status.
    Template(StatusCode),
    Spec(StatusCode),
    Nothing,
}

pub(crate) struct Idem {
    key: String,
    request_hash: String,
    replay: Replay,
}

pub(crate) fn idem_of(headers: &HeaderMap, method: &Method, path: &str, body: &[u8], replay: Replay) -> ApiResult<Option<Idem>> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().map_err(|_| ApiError::bad("Idempotency-Key must be visible ASCII"))?.trim().to_string();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ApiError::bad("Idempotency-Key must be 1..=255 visible ASCII characters"));
    }
    let mut h = Vec::with_capacity(body.len() + path.len() + 16);
    h.extend_from_slice(method.as_str().as_bytes());
    h.push(b' ');
    h.extend_from_slice(path.as_bytes());
    h.push(b'\n');
    h.extend_from_slice(body);
    Ok(Some(Idem { key, request_hash: auth::sha256_hex(&h), replay }))
}

fn stored_reply(status: i64, body: &str) -> ApiResult<Reply> {
    let body: Option<Value> = if body.is_empty() { None } else { Some(serde_json::from_str(body).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", e.to_string()))?) };
    let etag = body.as_ref().and_then(|b| b.get("updated_at")).and_then(Value::as_str).map(str::to_string);
    Ok(Reply { status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK), body, etag, replayed: false })
}

/// Looks up an idempotency key. `Some` when the request was already applied: its reply.
/// Waits (bounded) while a concurrent twin is between its commit and storing its response.
fn replay(cat: &Cat, user: &str, idem: &Idem, wait: Duration) -> ApiResult<Option<Reply>> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let rows = cat
            .store()
            .conn()
            .query("SELECT request_hash, status, response, resource_id FROM idempotency_keys WHERE user_id = {t1} AND idem_key = {t2}", &[text(user), text(&idem.key)])?;
        let Some(r) = rows.first() else { return Ok(None) };
        if r[0].text() != Some(idem.request_hash.as_str()) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_ARGUMENT", "this Idempotency-Key was used for a different request"));
        }
        if let (Some(status), Some(body)) = (r[1].int(), r[2].text()) {
            return stored_reply(status, body).map(Some);
        }
        if std::time::Instant::now() >= deadline {
            // Applied, but the response was never stored (the server stopped in between):
            // rebuild it from the record the request wrote.
            let id = r[3].text().unwrap_or_default().to_string();
            return match idem.replay {
                Replay::Template(status) => Reply::with(status, block_on(cat.get(&id))?).map(Some),
                Replay::Spec(status) => Reply::with(status, block_on(cat.get_spec(&id))?).map(Some),
                Replay::Nothing => Reply::ok(json!({ "replayed": true })).map(Some),
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Forgets idempotency keys older than `ttl` (a retry after that is a new request).
pub fn expire_idempotency_keys(pool: &Arc<Pool>, ttl: std::time::Duration) -> Result<u64, crate::db::DbError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let cutoff = workflow_templates::model::time::format_ms(now - ttl.as_millis() as i64);
    pool.get()?.execute("DELETE FROM idempotency_keys WHERE created_at < {ts1}", &[text(cutoff)])
}

/// Authenticates, then runs `op` against a catalog for the user on a blocking thread, with
/// idempotency-key handling when `idem` is given.
pub(crate) async fn run<F>(app: &App, headers: &HeaderMap, idem: Option<Idem>, op: F) -> Response
where
    F: FnOnce(&Cat) -> ApiResult<Reply> + Send + 'static,
{
    let token = match bearer(headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let pool = app.pool.clone();
    let res = tokio::task::spawn_blocking(move || -> ApiResult<Reply> {
        let mut conn = pool.get()?;
        let user = auth::user_for_token(&mut conn, &token)?.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        let claim = idem.as_ref().map(|i| IdemClaim { user_id: user.clone(), key: i.key.clone(), request_hash: i.request_hash.clone() });
        let cat = Catalog::new(SqlStore::for_request(conn, claim), ServerEnv { user: user.clone() }, &user)?.shared(true);
        if let Some(i) = &idem {
            // A row without a response is a twin between its commit and storing its answer
            // (wait briefly for it), or a server that stopped right there (rebuild it).
            if let Some(r) = replay(&cat, &user, i, Duration::from_secs(2))? {
                return Ok(replayed(r));
            }
        }
        let out = op(&cat);
        let Some(i) = &idem else { return out };
        if cat.store().idem_taken.get() {
            // A concurrent twin of this request holds the key: answer what it answered.
            return match replay(&cat, &user, i, Duration::from_secs(10))? {
                Some(r) => Ok(replayed(r)),
                None => Err(ApiError::new(StatusCode::PRECONDITION_FAILED, "CONFLICT", "a request with this Idempotency-Key is in progress; retry")),
            };
        }
        if out.is_err() {
            // The failure may be the twin's success seen from here (e.g. NAME_TAKEN by the very
            // template the twin created): when the key is now spent, answer what the twin did.
            if let Some(r) = replay(&cat, &user, i, Duration::from_secs(10))? {
                return Ok(replayed(r));
            }
        }
        if let Ok(reply) = &out {
            // The request's effect and the key were committed together; now keep its answer.
            let body = reply.body.as_ref().map(Value::to_string).unwrap_or_default();
            cat.store().conn().execute(
                "UPDATE idempotency_keys SET status = {i1}, response = {t2} WHERE user_id = {t3} AND idem_key = {t4}",
                &[int(reply.status.as_u16() as i64), text(body), text(&user), text(&i.key)],
            )?;
        }
        out
    })
    .await;
    match res {
        Ok(Ok(r)) => r.into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", format!("the request failed: {e}")).into_response(),
    }
}

/// Marks a reply as the stored answer of an earlier request with the same Idempotency-Key.
fn replayed(r: Reply) -> Reply {
    Reply { replayed: true, ..r }
}

// ---- handlers -----------------------------------------------------------------------------

async fn health() -> Response {
    axum::Json(json!({ "ok": true, "service": "workflow-templates-server", "version": env!("CARGO_PKG_VERSION") })).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml; charset=utf-8")], OPENAPI).into_response()
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Response {
    run(&app, &headers, None, |cat| Reply::ok(json!({ "user_id": cat.user_id() }))).await
}

async fn discover(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let opts = match query_pairs(&app, &q).and_then(|p| discover_options(&app, p)) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.discover(&opts))?)).await
}

async fn create(State(app): State<App>, headers: HeaderMap, body: JsonBody) -> Response {
    let idem = match idem_of(&headers, &Method::POST, "/v1/templates", &body.raw, Replay::Template(StatusCode::CREATED)) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::created(block_on(cat.create(body.value))?)).await
}

async fn get_one(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.get(&id))?)).await
}

async fn update(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let opts = match if_match(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.update(&id, body.value, opts))?)).await
}

async fn delete(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    let opts = match if_match(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| {
        block_on(cat.delete_with(&id, opts))?;
        Reply::no_content()
    })
    .await
}

async fn new_version(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let prep = (|| -> ApiResult<_> {
        let opts = if_match(&headers)?;
        let mut m = object_body(body.value.clone(), &["patch", "changelog"], "a new-version request")?;
        let patch = m.remove("patch").unwrap_or(Value::Null);
        let changelog = match m.remove("changelog") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(ApiError::bad("changelog must be a string")),
        };
        let idem = idem_of(&headers, &Method::POST, &format!("/v1/templates/{id}/versions"), &body.raw, Replay::Template(StatusCode::CREATED))?;
        Ok((opts, patch, changelog, idem))
    })();
    let (opts, patch, changelog, idem) = match prep {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::created(block_on(cat.new_version(&id, patch, changelog, opts))?)).await
}

async fn versions(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.versions(&id))?)).await
}

async fn chain(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.chain(&id))?)).await
}

/// `preview(draft, id?)`: resolve of an unsaved draft; writes nothing.
async fn preview(State(app): State<App>, headers: HeaderMap, body: JsonBody) -> Response {
    let prep = (|| -> ApiResult<_> {
        let mut m = object_body(body.value, &["draft", "id"], "a preview request")?;
        let draft = m.remove("draft").unwrap_or(Value::Null);
        let id = match m.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(ApiError::bad("id must be a string")),
        };
        Ok((draft, id))
    })();
    let (draft, id) = match prep {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.preview(draft, id.as_deref()))?)).await
}

async fn resolve(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.resolve(&id))?)).await
}

async fn derived(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.derived(&id))?)).await
}

async fn diff(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let pairs = match query_pairs(&app, &q).and_then(|p| only_keys(&p, &["a", "b"]).map(|()| p)) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let get = |k: &str| pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    let (Some(a), Some(b)) = (get("a"), get("b")) else {
        return ApiError::bad("diff needs query parameters a and b (template ids)").into_response();
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.diff(&a, &b))?)).await
}

async fn usage(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let prep = (|| -> ApiResult<_> {
        let run = UsageRun::from_value(&body.value)?;
        let idem = idem_of(&headers, &Method::POST, &format!("/v1/templates/{id}/usage"), &body.raw, Replay::Template(StatusCode::OK))?;
        Ok((run, idem))
    })();
    let (usage_run, idem) = match prep {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::ok(block_on(cat.record_usage(&id, &usage_run))?)).await
}

async fn rate(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let stars = match object_body(body.value, &["stars"], "a rating").and_then(|m| m.get("stars").and_then(Value::as_f64).ok_or_else(|| ApiError::bad("stars must be a number in 0..=5"))) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.rate(&id, stars))?)).await
}

async fn popular(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let n = match query_pairs(&app, &q).and_then(|p| {
        only_keys(&p, &["n"])?;
        match p.first() {
            None => Ok(10),
            Some((_, v)) => v.parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| ApiError::bad("n must be an integer in 1..=100")),
        }
    }) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.popular_by_category(n))?)).await
}

async fn list_specs(State(app): State<App>, headers: HeaderMap) -> Response {
    run(&app, &headers, None, |cat| Reply::ok(block_on(cat.list_specs())?)).await
}

async fn create_spec(State(app): State<App>, headers: HeaderMap, body: JsonBody) -> Response {
    let idem = match idem_of(&headers, &Method::POST, "/v1/specs", &body.raw, Replay::Spec(StatusCode::CREATED)) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::created(block_on(cat.create_spec(body.value))?)).await
}

async fn get_spec(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.get_spec(&id))?)).await
}

async fn update_spec(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let opts = match if_match(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.update_spec(&id, body.value, opts))?)).await
}

async fn delete_spec(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    let opts = match if_match(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| {
        // Specs have no conditional delete in the core: compare first, then delete (a spec
        // changes only through its owner, so the window is the owner's own concurrency).
        if let Some(want) = &opts.if_match {
            let cur = block_on(cat.get_spec(&id))?;
            let same = workflow_templates::model::time::parse_ms(want).is_some_and(|w| Some(w) == workflow_templates::model::time::parse_ms(&cur.updated_at));
            if !same {
                return Err(Error::Conflict { id: cur.id, expected: want.clone(), actual: cur.updated_at }.into());
            }
        }
        block_on(cat.delete_spec(&id))?;
        Reply::no_content()
    })
    .await
}

async fn instantiate(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let idem = match idem_of(&headers, &Method::POST, &format!("/v1/specs/{id}/instantiate"), &body.raw, Replay::Template(StatusCode::CREATED)) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::created(block_on(cat.instantiate_spec(&id, body.value))?)).await
}

async fn export(State(app): State<App>, headers: HeaderMap) -> Response {
    run(&app, &headers, None, |cat| Reply::ok(block_on(cat.export_all())?)).await
}

async fn import(State(app): State<App>, headers: HeaderMap, body: JsonBody) -> Response {
    let idem = match idem_of(&headers, &Method::POST, "/v1/import", &body.raw, Replay::Nothing) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::ok(block_on(cat.import_all(body.value))?)).await
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint (see /v1/openapi.yaml)").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "INVALID_ARGUMENT", "method not allowed on this endpoint (see /v1/openapi.yaml)").into_response()
}

// ---- CORS and common headers ----------------------------------------------------------------

const ALLOW_HEADERS: &str = "Authorization, Content-Type, If-Match, Idempotency-Key";
const EXPOSE_HEADERS: &str = "ETag";
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
        .route("/v1/templates", get(discover).post(create))
        .route("/v1/templates/{id}", get(get_one).patch(update).delete(delete))
        .route("/v1/templates/{id}/versions", get(versions).post(new_version))
        .route("/v1/templates/{id}/versions/labelled", get(crate::registry::labelled_versions))
        .route("/v1/templates/{id}/labels", get(crate::registry::labels))
        .route("/v1/templates/{id}/labels/{label}", put(crate::registry::set_label).delete(crate::registry::remove_label))
        .route("/v1/templates/{id}/restore", post(crate::registry::restore))
        .route("/v1/by-name", get(crate::registry::get_by_name))
        .route("/v1/by-name/resolve", get(crate::registry::resolve_by_name))
        .route("/v1/templates/{id}/chain", get(chain))
        .route("/v1/templates/{id}/resolve", get(resolve))
        .route("/v1/templates/{id}/derived", get(derived))
        .route("/v1/templates/{id}/usage", post(usage))
        .route("/v1/templates/{id}/rating", put(rate))
        .route("/v1/diff", get(diff))
        .route("/v1/preview", post(preview))
        .route("/v1/popular-by-category", get(popular))
        .route("/v1/specs", get(list_specs).post(create_spec))
        .route("/v1/specs/{id}", get(get_spec).patch(update_spec).delete(delete_spec))
        .route("/v1/specs/{id}/instantiate", post(instantiate))
        .route("/v1/export", get(export))
        .route("/v1/import", post(import).layer(DefaultBodyLimit::max(import_limit)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.cfg.max_body))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(app.clone(), cors))
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
}
