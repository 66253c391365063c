//! The HTTP API (see `openapi.yaml`). Every request that touches templates builds a core
//! `Catalog` for the authenticated user over a `SqlStore` on one pooled connection, and calls
//! the catalog operation on a blocking thread: the server runs the package's own rules and never
//! trusts the client.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value};
use workflow_templates::catalog::{Catalog, DiscoverOptions, Env, SkippedRow, SystemEnv, UsageRun, WriteOptions};
use workflow_templates::Error;

use crate::auth;
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

// ---- errors -------------------------------------------------------------------------------

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: Value::Null }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }
    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
}

/// The HTTP status of each error code (documented in openapi.yaml and README.md).
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "VALIDATION_FAILED" | "INHERITANCE_CYCLE" | "INHERITANCE_TOO_DEEP" | "BASE_NOT_FOUND" => StatusCode::UNPROCESSABLE_ENTITY,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "FORBIDDEN" | "BUILTIN_READ_ONLY" => StatusCode::FORBIDDEN,
        "NAME_TAKEN" | "HAS_DERIVED" | "AMBIGUOUS_BASE" => StatusCode::CONFLICT,
        "CONFLICT" => StatusCode::PRECONDITION_FAILED,
        "UNAUTHORIZED" => StatusCode::UNAUTHORIZED,
        "INVALID_ARGUMENT" => StatusCode::BAD_REQUEST,
        "STORAGE_QUOTA" => StatusCode::INSUFFICIENT_STORAGE,
        "STORAGE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "NETWORK" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR, // INTEGRITY
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = e.code();
        ApiError { status: status_of(code), code, message: e.to_string(), details: e.details() }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            eprintln!("error {} {}: {}", self.status.as_u16(), self.code, self.message);
        }
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body never came: this connection cannot carry another request.
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        r
    }
}

/// The code of an error response made below the handlers (axum's rejections, hyper's limits),
/// by status.
fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::SERVICE_UNAVAILABLE => "STORAGE_UNAVAILABLE",
        s if s.is_client_error() => "INVALID_ARGUMENT",
        _ => "INTEGRITY",
    }
}

/// The safety net under every route: an error response that is not already the JSON error body
/// (an extractor's plain-text rejection, or any other) becomes one, with the code of its status.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = if text.trim().is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text.trim().to_string() };
    ApiError::new(status, code_for_status(status), message).into_response()
}

type ApiResult<T> = Result<T, ApiError>;

// ---- replies ------------------------------------------------------------------------------

/// What an operation answers: a status and a JSON body (none for 204), plus an ETag.
pub struct Reply {
    status: StatusCode,
    body: Option<Value>,
    etag: Option<String>,
    replayed: bool,
}

impl Reply {
    fn ok(v: impl serde::Serialize) -> ApiResult<Reply> {
        Self::with(StatusCode::OK, v)
    }
    fn created(v: impl serde::Serialize) -> ApiResult<Reply> {
        Self::with(StatusCode::CREATED, v)
    }
    fn with(status: StatusCode, v: impl serde::Serialize) -> ApiResult<Reply> {
        let body = serde_json::to_value(v).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", e.to_string()))?;
        // A single record carries its updated_at as ETag: the If-Match token of its next edit.
        let etag = body.get("updated_at").and_then(Value::as_str).filter(|_| body.get("id").is_some()).map(str::to_string);
        Ok(Reply { status, body: Some(body), etag, replayed: false })
    }
    fn no_content() -> ApiResult<Reply> {
        Ok(Reply { status: StatusCode::NO_CONTENT, body: None, etag: None, replayed: false })
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut r = match self.body {
            Some(b) => (self.status, axum::Json(b)).into_response(),
            None => self.status.into_response(),
        };
        if self.replayed {
            r.headers_mut().insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
        }
        if let Some(e) = self.etag {
            if let Ok(v) = HeaderValue::from_str(&format!("\"{e}\"")) {
                r.headers_mut().insert(header::ETAG, v);
            }
        }
        r
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
enum Replay {
    /// The template the request wrote, answered with this status.
    Template(StatusCode),
    Spec(StatusCode),
    Nothing,
}

struct Idem {
    key: String,
    request_hash: String,
    replay: Replay,
}

fn idem_of(headers: &HeaderMap, method: &Method, path: &str, body: &[u8], replay: Replay) -> ApiResult<Option<Idem>> {
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
async fn run<F>(app: &App, headers: &HeaderMap, idem: Option<Idem>, op: F) -> Response
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

// ---- extractors ---------------------------------------------------------------------------

/// The `{id}` path segment. Its rejection (a segment that is not UTF-8 once percent-decoded)
/// is the JSON error body like every other error.
pub struct Id(String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Id(id)),
            Err(e) => Err(ApiError::bad(format!("bad path: {}", e.body_text()))),
        }
    }
}

/// `application/json`, or any `application/...+json` (RFC 6839), parameters allowed.
fn is_json_type(v: &HeaderValue) -> bool {
    let Ok(v) = v.to_str() else { return false };
    let essence = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn unsupported_type() -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_ARGUMENT", "request bodies are JSON: send Content-Type: application/json")
}

/// Whether a body read failed because the client stopped sending (the idle timeout).
fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = cur {
        if x.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cur = x.source();
    }
    false
}

/// A JSON request body (within the route's size limit), with its raw bytes for idempotency.
pub struct JsonBody {
    value: Value,
    raw: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        if content_type.as_ref().is_some_and(|v| !is_json_type(v)) {
            return Err(unsupported_type());
        }
        let raw = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "INVALID_ARGUMENT", "request body too large")
            } else if is_body_timeout(&e) {
                ApiError::new(StatusCode::REQUEST_TIMEOUT, "INVALID_ARGUMENT", "the request body stopped arriving (idle timeout)")
            } else {
                ApiError::bad(format!("could not read the request body: {}", e.body_text()))
            }
        })?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody { value: Value::Null, raw });
        }
        if content_type.is_none() {
            return Err(unsupported_type());
        }
        let value = serde_json::from_slice(&raw).map_err(|e| ApiError::bad(format!("malformed JSON body: {e}")))?;
        Ok(JsonBody { value, raw })
    }
}

fn if_match(headers: &HeaderMap) -> ApiResult<WriteOptions> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(WriteOptions::default()) };
    let s = v.to_str().map_err(|_| ApiError::bad("If-Match must be the updated_at of the copy being edited"))?.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    let s = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(s);
    if s == "*" {
        return Ok(WriteOptions::default());
    }
    if s.is_empty() || s.len() > 64 {
        return Err(ApiError::bad("If-Match must be the updated_at of the copy being edited"));
    }
    Ok(WriteOptions { if_match: Some(s.to_string()) })
}

/// Query parameters as (key, value) pairs, bounded in size.
fn query_pairs(app: &App, q: &Option<String>) -> ApiResult<Vec<(String, String)>> {
    let q = q.as_deref().unwrap_or("");
    if q.len() > app.cfg.max_query {
        return Err(ApiError::bad(format!("query string longer than {} bytes", app.cfg.max_query)));
    }
    Ok(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
}

fn only_keys(pairs: &[(String, String)], allowed: &[&str]) -> ApiResult<()> {
    for (i, (k, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad(format!("unknown query parameter {k:?}")));
        }
        if pairs[..i].iter().any(|(p, _)| p == k) {
            return Err(ApiError::bad(format!("query parameter {k:?} given twice")));
        }
    }
    Ok(())
}

/// Discovery's query parameters into the JS option object the core parses (same names).
fn discover_options(app: &App, pairs: Vec<(String, String)>) -> ApiResult<DiscoverOptions> {
    let mut m = Map::new();
    let mut tags = Vec::new();
    for (k, v) in pairs {
        if k == "tags" {
            tags.push(Value::String(v));
            continue;
        }
        if m.contains_key(&k) {
            return Err(ApiError::bad(format!("query parameter {k:?} given twice")));
        }
        if k == "text" && v.chars().count() > app.cfg.max_text {
            return Err(ApiError::bad(format!("text is longer than {} characters", app.cfg.max_text)));
        }
        let val = match k.as_str() {
            "includeBuiltin" | "latestOnly" => match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(ApiError::bad(format!("{k} must be true or false"))),
            },
            "limit" | "offset" => match v.parse::<u64>() {
                Ok(n) => Value::from(n),
                Err(_) => return Err(ApiError::bad(format!("{k} must be a non-negative integer"))),
            },
            _ => Value::String(v),
        };
        m.insert(k, val);
    }
    if tags.len() > 32 {
        return Err(ApiError::bad("at most 32 tags"));
    }
    if !tags.is_empty() {
        m.insert("tags".into(), Value::Array(tags));
    }
    Ok(DiscoverOptions::from_value(&Value::Object(m))?)
}

fn object_body(v: Value, allowed: &[&str], what: &str) -> ApiResult<Map<String, Value>> {
    let m = match v {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err(ApiError::bad(format!("{what} must be a JSON object"))),
    };
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad(format!("unknown field {k:?} in {what}")));
        }
    }
    Ok(m)
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
