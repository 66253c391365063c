//! Accounts and bearer tokens. A token is 256 random bits (hex, prefixed `wt_`); only its
//! SHA-256 is stored, so a copy of the database does not hand out working tokens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use workflow_templates::model::id::{random_bits, IdGenerator};
use workflow_templates::model::time::format_ms;

use crate::db::{text, Conn, DbResult};
use crate::http::App;
use crate::reply::{ApiError, ApiResult};

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn new_token() -> String {
    let mut s = String::from("wt_");
    for _ in 0..2 {
        s.push_str(&format!("{:032x}", random_bits()));
    }
    s
}

/// Creates a user (ULID id) with one token; returns `(user_id, token)`.
pub fn create_user(c: &mut Conn, name: &str) -> DbResult<(String, String)> {
    let id = IdGenerator::new().next(now_ms().max(0) as u64, random_bits());
    let token = new_token();
    c.transaction(|c| -> DbResult<()> {
        c.execute("INSERT INTO users (id, name, created_at) VALUES ({t1}, {t2}, {ts3})", &[text(&id), text(name), text(format_ms(now_ms()))])?;
        add_token_in(c, &id, &token, "created with the user")?;
        Ok(())
    })?;
    Ok((id, token))
}

/// A new token for an existing user.
pub fn create_token(c: &mut Conn, user_id: &str, label: &str) -> DbResult<Option<String>> {
    let token = new_token();
    let ok = c.transaction(|c| -> DbResult<bool> {
        if c.query("SELECT id FROM users WHERE id = {t1}", &[text(user_id)])?.is_empty() {
            return Ok(false);
        }
        add_token_in(c, user_id, &token, label)?;
        Ok(true)
    })?;
    Ok(ok.then_some(token))
}

fn add_token_in(c: &mut Conn, user_id: &str, token: &str, label: &str) -> DbResult<()> {
    c.execute(
        "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES ({t1}, {t2}, {t3}, {ts4})",
        &[text(sha256_hex(token.as_bytes())), text(user_id), text(label), text(format_ms(now_ms()))],
    )?;
    Ok(())
}

/// The user a token belongs to.
pub fn user_for_token(c: &mut Conn, token: &str) -> DbResult<Option<String>> {
    let rows = c.query("SELECT user_id FROM api_tokens WHERE token_hash = {t1}", &[text(sha256_hex(token.as_bytes()))])?;
    Ok(rows.first().and_then(|r| r[0].text().map(str::to_string)))
}

// ---- the extractor ------------------------------------------------------------------------

/// The authenticated user of a request: `Authorization: Bearer <token>`, looked up by the
/// token's SHA-256. A handler that takes `UserAuth` as its first argument authenticates before
/// anything else of the request is read (headers, path, body), so a request without a valid
/// token is 401 whatever else is wrong with it.
#[derive(Debug, Clone)]
pub struct UserAuth {
    pub user_id: String,
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1). More than
/// one `Authorization` field is 401: `Authorization` is not a list (RFC 9110 section 11.6.2),
/// and a proxy that reads another of them than this server would see another user.
pub fn bearer(headers: &HeaderMap) -> ApiResult<String> {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let Some(v) = all.next() else {
        return Err(ApiError::unauthorized("missing Authorization: Bearer <token>"));
    };
    if all.next().is_some() {
        return Err(ApiError::unauthorized("more than one Authorization header"));
    }
    let v = v.to_str().map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) = v.split_once(' ').ok_or_else(|| ApiError::unauthorized("Authorization must be Bearer <token>"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 256 {
        return Err(ApiError::unauthorized("Authorization must be Bearer <token>"));
    }
    Ok(token.to_string())
}

impl FromRequestParts<App> for UserAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let token = BearerToken::from_request_parts(parts, app).await?;
        let pool = app.pool.clone();
        tokio::task::spawn_blocking(move || -> ApiResult<UserAuth> { token.authenticate(&mut *pool.get()?) })
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", format!("the request failed: {e}")))?
    }
}

/// A well-formed `Authorization: Bearer <token>` not looked up yet: a request without one is
/// 401 here, before anything else is read. A read-only handler whose other extractors cannot
/// fail before it (or are taken as `Result`) takes this instead of `UserAuth` and lets
/// `http::run` look the token up on the connection the operation then uses: one blocking-pool
/// hop and one pool checkout per request instead of two (issue 13).
#[must_use = "a BearerToken authenticates nothing until `http::run` (or `authenticate`) looks it up"]
pub struct BearerToken {
    token: String,
    log: Option<crate::logging::LogUser>,
}

impl BearerToken {
    /// The user of the token on `c`: 401 `invalid_token` when it is unknown or revoked.
    pub fn authenticate(self, c: &mut Conn) -> ApiResult<UserAuth> {
        let user = user_for_token(c, &self.token)?.ok_or_else(|| ApiError::unauthorized("unknown or revoked token").invalid_token())?;
        // The request log names the user (never the token).
        if let Some(slot) = &self.log {
            slot.set(&user);
        }
        Ok(UserAuth { user_id: user })
    }
}

impl FromRequestParts<App> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        Ok(BearerToken { token, log: parts.extensions.get::<crate::logging::LogUser>().cloned() })
    }
}
