//! The five create-like POSTs (create, newVersion, restore, createSpec, instantiateSpec), each
//! with the optional query parameter `id=<ULID>`: the id the client chose for the new record
//! (issue 15, an offline replica replaying its outbox; the core's `_as` forms,
//! `src/catalog/create_id.rs`). Without it the server makes the id, as before.
//!
//! With it: the id must be a ULID outside the built-ins' time-0 range whose time part is at most
//! 5 minutes ahead of this server's clock (400 INVALID_ARGUMENT). When the caller already owns
//! a record of that kind under it, the request is a replay: 200 with the record as stored now,
//! nothing written, asked before any precondition (If-Match) or rule of the request, so a replay
//! days later, after the Idempotency-Key was forgotten, still answers what the first one made.
//! Any other record under it: 409 CONFLICT with details `{ id, expected: "absent", actual:
//! "in use" }`, the same whoever holds it (private or public, another user's or the caller's
//! record of the other kind).

use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use workflow_templates::catalog::is_id_in_use;
use workflow_templates::Error;

use crate::extract::{object_body, only_keys, query_pairs, IdempotencyKey, Id, IfMatch, JsonBody};
use crate::http::{block_on, not_latest, run, template_etag, App, Cat, UserAuth};
use crate::idempotency::{idem_of, Replay};
use crate::reply::{ApiError, ApiResult, Reply};

const TEMPLATES: &str = "/v1/templates";
const SPECS: &str = "/v1/specs";

/// The `id` query parameter (the only one these POSTs take).
fn chosen_id(app: &App, q: &Option<String>) -> ApiResult<Option<String>> {
    let pairs = query_pairs(app, q)?;
    only_keys(&pairs, &["id"])?;
    Ok(pairs.into_iter().next().map(|(_, v)| v))
}

/// The path an Idempotency-Key is bound to: with the chosen id, so one key cannot be replayed
/// for a request under another id.
fn keyed(path: &str, id: &Option<String>) -> String {
    match id {
        Some(id) => format!("{path}?id={id}"),
        None => path.to_string(),
    }
}

/// A core error as answered here: a taken chosen id is 409, not the 412 of a failed
/// precondition (RFC 9110 section 15.5.10: the request conflicts with the resource's state).
fn answer(e: Error) -> ApiError {
    let taken = is_id_in_use(&e);
    let mut a = ApiError::from(e);
    if taken {
        a.status = StatusCode::CONFLICT;
    }
    a
}

/// 200 with the caller's own template when the create under `id` is a replay.
fn template_replay(cat: &Cat, id: &Option<String>) -> ApiResult<Option<Reply>> {
    let Some(id) = id else { return Ok(None) };
    block_on(cat.template_replay(id)).map_err(answer)?.map(Reply::ok).transpose()
}

fn spec_replay(cat: &Cat, id: &Option<String>) -> ApiResult<Option<Reply>> {
    let Some(id) = id else { return Ok(None) };
    block_on(cat.spec_replay(id)).map_err(answer)?.map(Reply::ok).transpose()
}

/// 201 for what `op` created; 200 when it committed nothing (a twin under the same id got there
/// between the replay check and the commit: the core answered that twin's record).
fn made<T: Serialize>(cat: &Cat, collection: &str, op: impl FnOnce() -> ApiResult<T>) -> ApiResult<Reply> {
    let before = cat.store().commits.get();
    let record = op()?;
    match cat.store().commits.get() == before {
        true => Reply::ok(record),
        false => Reply::created(collection, record),
    }
}

/// `changelog` of a new-version or restore body.
fn changelog_of(v: Option<Value>) -> ApiResult<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad("changelog must be a string")),
    }
}

/// POST /v1/templates[?id=]
pub async fn create(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let id = chosen_id(&app, &q)?;
    let idem = idem_of(key, &Method::POST, &keyed(TEMPLATES, &id), &body.raw, Replay::Template(StatusCode::CREATED));
    run(&app, user, idem, move |cat| {
        if let Some(r) = template_replay(cat, &id)? {
            return Ok(r);
        }
        made(cat, TEMPLATES, || block_on(cat.create_as(id.as_deref(), body.value)).map_err(answer))
    })
    .await
}

/// POST /v1/templates/{id}/versions[?id=]
pub async fn new_version(user: UserAuth, State(app): State<App>, Id(src): Id, RawQuery(q): RawQuery, cond: IfMatch, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let id = chosen_id(&app, &q)?;
    let mut m = object_body(body.value.clone(), &["patch", "changelog"], "a new-version request")?;
    let patch = m.remove("patch").unwrap_or(Value::Null);
    let changelog = changelog_of(m.remove("changelog"))?;
    let idem = idem_of(key, &Method::POST, &keyed(&format!("/v1/templates/{src}/versions"), &id), &body.raw, Replay::Template(StatusCode::CREATED));
    run(&app, user, idem, move |cat| {
        if let Some(r) = template_replay(cat, &id)? {
            return Ok(r);
        }
        let opts = cond.options(&src, || template_etag(cat, &src))?;
        made(cat, TEMPLATES, || block_on(cat.new_version_as(id.as_deref(), &src, patch, changelog, opts)).map_err(|e| not_latest(cat, &src, answer(e))))
    })
    .await
}

/// The `updated_at` of the latest version of `id`'s lineage (the record a restore supersedes).
fn latest_etag(cat: &Cat, id: &str) -> ApiResult<String> {
    block_on(cat.versions(id))?.into_iter().find(|t| t.is_latest).map(|t| t.updated_at).ok_or_else(|| ApiError::from(Error::not_found("template", id)))
}

/// POST /v1/templates/{id}/restore[?id=] `{ changelog? }`: a new latest version with version
/// `{id}`'s configuration. `If-Match` is the current latest version's `updated_at`.
pub async fn restore(user: UserAuth, State(app): State<App>, Id(src): Id, RawQuery(q): RawQuery, cond: IfMatch, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let id = chosen_id(&app, &q)?;
    let mut m = object_body(body.value.clone(), &["changelog"], "a restore request")?;
    let changelog = changelog_of(m.remove("changelog"))?;
    let idem = idem_of(key, &Method::POST, &keyed(&format!("/v1/templates/{src}/restore"), &id), &body.raw, Replay::Template(StatusCode::CREATED));
    run(&app, user, idem, move |cat| {
        if let Some(r) = template_replay(cat, &id)? {
            return Ok(r);
        }
        let opts = cond.options(&src, || latest_etag(cat, &src))?;
        made(cat, TEMPLATES, || block_on(cat.restore_version_as(id.as_deref(), &src, changelog, opts)).map_err(answer))
    })
    .await
}

/// POST /v1/specs[?id=]
pub async fn create_spec(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let id = chosen_id(&app, &q)?;
    let idem = idem_of(key, &Method::POST, &keyed(SPECS, &id), &body.raw, Replay::Spec(StatusCode::CREATED));
    run(&app, user, idem, move |cat| {
        if let Some(r) = spec_replay(cat, &id)? {
            return Ok(r);
        }
        made(cat, SPECS, || block_on(cat.create_spec_as(id.as_deref(), body.value)).map_err(answer))
    })
    .await
}

/// POST /v1/specs/{id}/instantiate[?id=]
pub async fn instantiate(user: UserAuth, State(app): State<App>, Id(spec): Id, RawQuery(q): RawQuery, IdempotencyKey(key): IdempotencyKey, body: JsonBody) -> ApiResult<Reply> {
    let id = chosen_id(&app, &q)?;
    let idem = idem_of(key, &Method::POST, &keyed(&format!("/v1/specs/{spec}/instantiate"), &id), &body.raw, Replay::Template(StatusCode::CREATED));
    run(&app, user, idem, move |cat| {
        if let Some(r) = template_replay(cat, &id)? {
            return Ok(r);
        }
        made(cat, TEMPLATES, || block_on(cat.instantiate_spec_as(id.as_deref(), &spec, body.value)).map_err(answer))
    })
    .await
}
