//! Request extractors and parameter parsing: path ids, JSON bodies (content type, size, idle
//! timeout), If-Match, query strings. Every rejection is an `ApiError` (the JSON error body).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value};
use workflow_templates::catalog::{DiscoverOptions, WriteOptions};
use workflow_templates::model::etag::content_part;
use workflow_templates::model::time::parse_ms;

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

/// A list-based header's field lines as one list (RFC 9110 section 5.3: a recipient may combine
/// them with commas): None when absent, Err when a line is not visible ASCII.
pub(crate) fn header_list(headers: &HeaderMap, name: HeaderName) -> Option<Result<String, ()>> {
    let mut parts = Vec::new();
    for v in headers.get_all(name) {
        match v.to_str() {
            Ok(s) => parts.push(s.trim()),
            Err(_) => return Some(Err(())),
        }
    }
    (!parts.is_empty()).then(|| Ok(parts.join(", ")))
}

/// One entity tag of an `If-Match` / `If-None-Match` list (RFC 9110 section 8.8.3).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityTag {
    pub weak: bool,
    pub opaque: String,
}

/// Parses `1#entity-tag` (`"a", W/"b"`), OWS and empty list elements allowed (RFC 9110
/// section 5.6.1). Also a bare value that starts with a digit and has no quote, comma or space
/// (this server's timestamp sent unquoted, as earlier clients did): one strong tag.
pub(crate) fn entity_tags(list: &str) -> Result<Vec<EntityTag>, &'static str> {
    let s = list.trim();
    if s.starts_with(|c: char| c.is_ascii_digit()) && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b',') {
        return Ok(vec![EntityTag { weak: false, opaque: s.to_string() }]);
    }
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(body) = rest.strip_prefix('"') else { return Err("an entity tag is a quoted string, optionally prefixed W/") };
        let Some(end) = body.find('"') else { return Err("an entity tag is missing its closing quote") };
        let opaque = &body[..end];
        // etagc = %x21 / %x23-7E / obs-text; HeaderValue::to_str has already refused obs-text.
        if !opaque.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)) {
            return Err("an entity tag holds visible characters other than the double quote");
        }
        out.push(EntityTag { weak, opaque: opaque.to_string() });
        rest = body[end + 1..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return Err("entity tags are separated by commas");
        }
    }
    if out.is_empty() {
        return Err("an empty list");
    }
    Ok(out)
}

/// The `If-Match` precondition of an edit or delete (RFC 9110 section 13.1.1): absent or `*`
/// (no condition), or a list of entity tags of which one must match the record's current `ETag`
/// by the strong comparison, so weak tags never match. A tag that is not one of this server's
/// ETags (an opaque value) simply does not match: 412. Only a header that is not an entity-tag
/// list at all is 400.
#[derive(Debug, Clone, Default)]
pub enum IfMatch {
    #[default]
    Any,
    /// The strong tags' opaque values (possibly none: a list of weak tags only).
    Strong(Vec<String>),
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(v) = header_list(&parts.headers, header::IF_MATCH) else { return Ok(IfMatch::Any) };
        let bad = |why: &str| ApiError::bad(format!("If-Match must be * or a list of entity tags (RFC 9110 section 13.1.1): {why}"));
        let v = v.map_err(|_| bad("not visible ASCII"))?;
        let s = v.trim();
        if s == "*" {
            return Ok(IfMatch::Any);
        }
        let tags = entity_tags(s).map_err(bad)?;
        Ok(IfMatch::Strong(tags.into_iter().filter(|t| !t.weak).map(|t| t.opaque).collect()))
    }
}

impl IfMatch {
    /// The core's single `ifMatch` for this precondition. The core compares it with the stored
    /// `updated_at` inside the write's own revision-guarded transaction. With several candidate
    /// tags, `current` (the record's id and `updated_at` as read now) picks the one that matches;
    /// the core then checks it again atomically. No matching tag: 412 `CONFLICT`.
    pub(crate) fn options(&self, id: &str, current: impl FnOnce() -> ApiResult<String>) -> ApiResult<WriteOptions> {
        let tags = match self {
            IfMatch::Any => return Ok(WriteOptions::default()),
            IfMatch::Strong(t) => t,
        };
        // A full tag (`<updated_at>.<stats part>`) counts by its content part: statistics are
        // server-maintained and no write overwrites them, so a tag whose statistics are old is
        // no lost update (server/README.md "If-Match / ETag").
        let mut cands: Vec<String> = Vec::new();
        for t in tags {
            let t = content_part(t).to_string();
            if !cands.contains(&t) {
                cands.push(t);
            }
        }
        if let [only] = cands.as_slice() {
            if parse_ms(only).is_some() {
                return Ok(WriteOptions { if_match: Some(only.clone()) });
            }
        }
        // Also with no candidate (weak tags only): a request refused anyway (403, 404) is
        // refused for that, not for its precondition (RFC 9110 section 13.2.1).
        let actual = match current() {
            Ok(a) => Some(a),
            // A stored row that fails verification (only its owner's delete reaches it): the
            // core compares the tag with what is stored, bad timestamp and all.
            Err(e) if e.code == "INTEGRITY" && !cands.is_empty() => return Ok(WriteOptions { if_match: Some(cands[0].clone()) }),
            Err(e) => return Err(e),
        };
        let hit = actual.as_ref().and_then(|a| cands.iter().find(|c| *c == a || parse_ms(c).is_some_and(|m| Some(m) == parse_ms(a))));
        match hit {
            Some(c) => Ok(WriteOptions { if_match: Some(c.clone()) }),
            None => Err(ApiError::new(StatusCode::PRECONDITION_FAILED, "CONFLICT", format!("If-Match matches no current entity tag of {id}"))
                .with_details(serde_json::json!({ "id": id, "expected": tags, "actual": actual }))),
        }
    }
}

/// The `Idempotency-Key` header: 1..=255 visible ASCII characters (see `idempotency.rs`).
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(v) = parts.headers.get("idempotency-key") else { return Ok(IdempotencyKey(None)) };
        let key = v.to_str().map_err(|_| ApiError::bad("Idempotency-Key must be visible ASCII"))?.trim().to_string();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(ApiError::bad("Idempotency-Key must be 1..=255 visible ASCII characters"));
        }
        Ok(IdempotencyKey(Some(key)))
    }
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
                Ok(n) if n <= workflow_templates::model::MAX_SAFE_INTEGER => Value::from(n),
                _ => return Err(ApiError::bad(format!("{k} must be an integer in 0..=2^53-1"))),
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

