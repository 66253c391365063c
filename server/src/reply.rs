//! Errors and replies: the JSON error body every failure has (also the router's and the
//! extractors' rejections, through `json_errors`), the status of each code, and what an
//! operation answers.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use workflow_templates::Error;

// ---- errors -------------------------------------------------------------------------------

#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) details: Value,
    /// A 401 for a token that was presented but is unknown (RFC 6750 `error="invalid_token"`).
    pub(crate) invalid_token: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: Value::Null, invalid_token: false }
    }
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
    pub(crate) fn invalid_token(self) -> Self {
        ApiError { invalid_token: true, ..self }
    }
    pub(crate) fn with_details(self, details: Value) -> Self {
        ApiError { details, ..self }
    }
}

/// The HTTP status of each error code (documented in openapi.yaml and README.md).
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "VALIDATION_FAILED" | "INHERITANCE_CYCLE" | "INHERITANCE_TOO_DEEP" | "BASE_NOT_FOUND" => StatusCode::UNPROCESSABLE_ENTITY,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "FORBIDDEN" | "BUILTIN_READ_ONLY" => StatusCode::FORBIDDEN,
        "NAME_TAKEN" | "HAS_DERIVED" | "HAS_LABELS" | "AMBIGUOUS_BASE" => StatusCode::CONFLICT,
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
        ApiError { status: status_of(code), code, message: e.to_string(), details: e.details(), invalid_token: false }
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
            tracing::error!(status = self.status.as_u16(), code = self.code, "{}", self.message);
        }
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body never came: this connection cannot carry another request.
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110 section 11.6.1 / RFC 6750 section 3: say which scheme is wanted.
            let v = if self.invalid_token { r#"Bearer realm="workflow-templates", error="invalid_token""# } else { r#"Bearer realm="workflow-templates""# };
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // RFC 9110 section 10.2.3: the database was down or locked; worth a retry soon.
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        r
    }
}

/// The code of an error response made below the handlers (axum's rejections, hyper's limits),
/// by status.
pub(crate) fn code_for_status(status: StatusCode) -> &'static str {
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
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
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

pub type ApiResult<T> = Result<T, ApiError>;

/// `Retry-After` of every 503 (seconds).
pub const RETRY_AFTER_SECS: &str = "2";

// ---- replies ------------------------------------------------------------------------------

/// What an operation answers: a status and a JSON body (none for 204), plus an ETag.
pub struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) etag: Option<String>,
    pub(crate) replayed: bool,
    /// `Location` of a 201: where the created record is read (RFC 9110 section 10.2.2).
    pub(crate) location: Option<String>,
}

impl Reply {
    pub(crate) fn ok(v: impl serde::Serialize) -> ApiResult<Reply> {
        Self::with(StatusCode::OK, v)
    }
    /// 201 for a new record read at `{collection}/{id}` (`/v1/templates`, `/v1/specs`).
    pub(crate) fn created(collection: &str, v: impl serde::Serialize) -> ApiResult<Reply> {
        Self::with(StatusCode::CREATED, v).map(|r| r.located(collection))
    }
    pub(crate) fn located(self, collection: &str) -> Reply {
        let id = self.body.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str).map(|id| format!("{collection}/{id}"));
        Reply { location: id, ..self }
    }
    pub(crate) fn with(status: StatusCode, v: impl serde::Serialize) -> ApiResult<Reply> {
        let body = serde_json::to_value(v).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", e.to_string()))?;
        // A single record's ETag names its whole representation, statistics included
        // (`<updated_at>.<stats part>`, src/model/etag.rs); If-Match compares its content part.
        let etag = workflow_templates::model::etag::representation_etag(&body);
        Ok(Reply { status, body: Some(body), etag, replayed: false, location: None })
    }
    pub(crate) fn no_content() -> ApiResult<Reply> {
        Ok(Reply { status: StatusCode::NO_CONTENT, body: None, etag: None, replayed: false, location: None })
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
        if let Some(l) = self.location.filter(|_| self.status == StatusCode::CREATED).and_then(|l| HeaderValue::from_str(&l).ok()) {
            r.headers_mut().insert(header::LOCATION, l);
        }
        if let Some(e) = self.etag {
            if let Ok(v) = HeaderValue::from_str(&format!("\"{e}\"")) {
                r.headers_mut().insert(header::ETAG, v);
            }
        }
        r
    }
}


// ---- conditional GET ------------------------------------------------------------------------

/// `If-None-Match` on a GET or HEAD whose 200 answer carries an `ETag` (one template, one spec): 304
/// Not Modified, without a body, when any listed tag matches by the weak comparison or the list
/// is `*` (RFC 9110 sections 13.1.2 and 15.4.5). Runs after the handler, so authentication and
/// visibility are checked as for any GET.
pub(crate) async fn not_modified(req: Request, next: Next) -> Response {
    // Several field lines are one list (RFC 9110 section 5.3).
    // Writes ignore it (server/README.md "If-Match / ETag": their precondition is If-Match).
    let read = req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD;
    let inm = read.then(|| crate::extract::header_list(req.headers(), header::IF_NONE_MATCH)).flatten();
    let resp = next.run(req).await;
    let Some(inm) = inm else { return resp };
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let Some(etag) = resp.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string) else { return resp };
    let list = inm.unwrap_or_default();
    let matches = list.trim() == "*" || crate::extract::entity_tags(&list).is_ok_and(|tags| tags.iter().any(|t| t.opaque == opaque(&etag)));
    if !matches {
        return resp;
    }
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
        if let Some(v) = resp.headers().get(&name) {
            r.headers_mut().insert(name, v.clone());
        }
    }
    r
}

/// The opaque-tag of an entity tag (`W/"x"` or `"x"` -> `x`).
fn opaque(tag: &str) -> &str {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(t)
}
