//! Request extractors and parameter parsing: path ids, JSON bodies (content type, size, idle
//! timeout), If-Match, query strings. Every rejection is an `ApiError` (the JSON error body).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value};
use workflow_templates::catalog::{DiscoverOptions, WriteOptions};

use crate::http::App;
use crate::reply::{ApiError, ApiResult};

// ---- extractors ---------------------------------------------------------------------------

/// The `{id}` path segment. Its rejection (a segment that is not UTF-8 once percent-decoded)
/// is the JSON error body like every other error.
pub struct Id(pub(crate) String);

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
pub(crate) fn is_json_type(v: &HeaderValue) -> bool {
    let Ok(v) = v.to_str() else { return false };
    let essence = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub(crate) fn unsupported_type() -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_ARGUMENT", "request bodies are JSON: send Content-Type: application/json")
}

/// Whether a body read failed because the client stopped sending (the idle timeout).
pub(crate) fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
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
    pub(crate) value: Value,
    pub(crate) raw: Bytes,
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

pub(crate) fn if_match(headers: &HeaderMap) -> ApiResult<WriteOptions> {
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
pub(crate) fn query_pairs(app: &App, q: &Option<String>) -> ApiResult<Vec<(String, String)>> {
    let q = q.as_deref().unwrap_or("");
    if q.len() > app.cfg.max_query {
        return Err(ApiError::bad(format!("query string longer than {} bytes", app.cfg.max_query)));
    }
    // form_urlencoded decodes lossily (bytes that are not UTF-8 become U+FFFD, which would then
    // be searched for): refuse them as a path segment's are (issue 10, item 6).
    for piece in q.split('&') {
        for part in piece.splitn(2, '=') {
            if std::str::from_utf8(&percent_decoded(part.as_bytes())).is_err() {
                return Err(ApiError::bad("a query parameter is not UTF-8 once percent-decoded"));
            }
        }
    }
    Ok(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
}

/// `%XX` escapes decoded to bytes; a `%` not followed by two hex digits stays as it is (as in
/// form_urlencoded).
fn percent_decoded(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (s[i], s.get(i + 1).copied().and_then(hex), s.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

pub(crate) fn only_keys(pairs: &[(String, String)], allowed: &[&str]) -> ApiResult<()> {
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
pub(crate) fn discover_options(app: &App, pairs: Vec<(String, String)>) -> ApiResult<DiscoverOptions> {
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

pub(crate) fn object_body(v: Value, allowed: &[&str], what: &str) -> ApiResult<Map<String, Value>> {
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

