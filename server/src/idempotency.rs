//! `Idempotency-Key`: a retried request is applied once. The key is inserted in the same
//! transaction as the request's effect (`SqlStore::commit`), its response stored beside it
//! right after; a retry with the same key and request is answered with the stored response.
//! Keys are forgotten once older than the TTL: checked on every read (an expired key is deleted
//! and the request runs as new), and swept periodically (`expire`). Long-lived keys (those of
//! recordUsage, see `Idem::permanent`) are kept `USAGE_KEY_TTL` (90 days) whatever the TTL.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use workflow_templates::model::time::{format_ms, parse_ms};

use crate::auth;
use crate::db::{text, Pool};
use crate::http::{block_on, Cat};
use crate::reply::{ApiError, ApiResult, Reply};

/// How a lost response of an idempotent request is rebuilt from the record it wrote, and which
/// ETag a stored answer carries.
#[derive(Clone, PartialEq)]
pub enum Replay {
    /// The template the request wrote, answered with this status.
    Template(StatusCode),
    Spec(StatusCode),
    /// A label write (`{template id, label}`): its answer's ETag is the label's `updated_at`.
    Label(String, String),
    /// A DELETE: 204 without a body.
    Empty,
    Nothing,
}

/// How long a recordUsage key (`Idem::permanent`) is kept: an offline replica's queued use
/// replayed within this age of its first try is answered, never counted twice; a replay later
/// than that counts again (server/README.md "Idempotency-Key"). An age, not a count per user,
/// so a device's safety does not depend on how many uses the user's other clients record.
pub const USAGE_KEY_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

pub struct Idem {
    pub(crate) key: String,
    pub(crate) request_hash: String,
    pub(crate) replay: Replay,
    /// Kept `USAGE_KEY_TTL`, not the TTL (`idempotency_keys.permanent`, migration 013).
    pub(crate) permanent: bool,
}

impl Idem {
    /// A key kept `USAGE_KEY_TTL` (90 days): for a write whose replay cannot be recognised from
    /// its data (recordUsage increments counters), so an offline replica replaying it days
    /// later still gets the first answer instead of a second count (issue 15). Rows are small
    /// and per user (removed with the user), and bounded by that age.
    pub fn permanent(self) -> Idem {
        Idem { permanent: true, ..self }
    }
}

/// The claim of a request that carries a key: the key and a hash of method, path and body.
pub fn idem_of(key: Option<String>, method: &Method, path: &str, body: &[u8], replay: Replay) -> Option<Idem> {
    let key = key?;
    let mut h = Vec::with_capacity(body.len() + path.len() + 16);
    h.extend_from_slice(method.as_str().as_bytes());
    h.push(b' ');
    h.extend_from_slice(path.as_bytes());
    h.push(b'\n');
    h.extend_from_slice(body);
    Some(Idem { key, request_hash: auth::sha256_hex(&h), replay, permanent: false })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn cutoff(ttl: Duration) -> i64 {
    now_ms().saturating_sub(ttl.as_millis().min(i64::MAX as u128) as i64)
}

fn stored_reply(status: i64, body: &str, replay: &Replay) -> ApiResult<Reply> {
    let body: Option<Value> = if body.is_empty() { None } else { Some(serde_json::from_str(body).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTEGRITY", e.to_string()))?) };
    let etag = match replay {
        // A label answer's ETag is its `updated_at` (registry.rs `set_label`), not a record's tag.
        Replay::Label(..) => body.as_ref().and_then(|b| b.get("updated_at")).and_then(Value::as_str).map(str::to_string),
        _ => body.as_ref().and_then(workflow_templates::model::etag::representation_etag),
    };
    let r = Reply { status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK), body, etag, replayed: false, location: None };
    Ok(located(r, replay))
}

fn located(r: Reply, replay: &Replay) -> Reply {
    match replay {
        Replay::Template(_) => r.located("/v1/templates"),
        Replay::Spec(_) => r.located("/v1/specs"),
        Replay::Label(..) | Replay::Empty | Replay::Nothing => r,
    }
}

/// Looks up an idempotency key. `Some` when the request was already applied: its reply.
/// Waits (bounded) while a concurrent twin is between its commit and storing its response.
/// A key older than `ttl` (a recordUsage key: `USAGE_KEY_TTL`) is forgotten here and now
/// (deleted; the request is new).
pub fn replay(cat: &Cat, user: &str, idem: &Idem, ttl: Duration, wait: Duration) -> ApiResult<Option<Reply>> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let rows = cat.store().conn().query(
            "SELECT request_hash, status, response, resource_id, {tso:created_at}, permanent FROM idempotency_keys WHERE user_id = {t1} AND idem_key = {t2}",
            &[text(user), text(&idem.key)],
        )?;
        let Some(r) = rows.first() else { return Ok(None) };
        let permanent = r[5].bool().unwrap_or(false);
        let limit = cutoff(if permanent { USAGE_KEY_TTL.max(ttl) } else { ttl });
        if r[4].text().and_then(parse_ms).is_none_or(|at| at < limit) {
            cat.store().conn().execute(
                "DELETE FROM idempotency_keys WHERE user_id = {t1} AND idem_key = {t2} AND created_at < {ts3}",
                &[text(user), text(&idem.key), text(format_ms(limit))],
            )?;
            return Ok(None);
        }
        if r[0].text() != Some(idem.request_hash.as_str()) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_ARGUMENT", "this Idempotency-Key was used for a different request"));
        }
        if let (Some(status), Some(body)) = (r[1].int(), r[2].text()) {
            return stored_reply(status, body, &idem.replay).map(Some);
        }
        if std::time::Instant::now() >= deadline {
            // Applied, but the response was never stored (the server stopped in between):
            // rebuild it from the record the request wrote.
            let id = r[3].text().unwrap_or_default().to_string();
            let r = match &idem.replay {
                Replay::Template(status) => Reply::with(*status, block_on(cat.get(&id))?)?,
                Replay::Spec(status) => Reply::with(*status, block_on(cat.get_spec(&id))?)?,
                Replay::Label(template, label) => crate::registry::label_reply(cat, template, label)?,
                Replay::Empty => Reply::no_content()?,
                Replay::Nothing => Reply::ok(json!({ "replayed": true }))?,
            };
            return Ok(Some(located(r, &idem.replay)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stores the answer of the request that spent the key (its effect is already committed).
pub fn keep(cat: &Cat, user: &str, idem: &Idem, reply: &Reply) -> ApiResult<()> {
    let body = reply.body.as_ref().map(Value::to_string).unwrap_or_default();
    cat.store().conn().execute(
        "UPDATE idempotency_keys SET status = {i1}, response = {t2} WHERE user_id = {t3} AND idem_key = {t4}",
        &[crate::db::int(reply.status.as_u16() as i64), text(body), text(user), text(&idem.key)],
    )?;
    Ok(())
}

/// Forgets idempotency keys older than `ttl`, and recordUsage keys older than `USAGE_KEY_TTL`
/// (the periodic sweep; reads check the ages too).
pub fn expire(pool: &Arc<Pool>, ttl: Duration) -> Result<u64, crate::db::DbError> {
    pool.get()?.execute(
        "DELETE FROM idempotency_keys WHERE (created_at < {ts1} AND NOT permanent) OR created_at < {ts2}",
        &[text(format_ms(cutoff(ttl))), text(format_ms(cutoff(USAGE_KEY_TTL.max(ttl))))],
    )
}
