//! The registry endpoints of issue 14 (SPEC section 6): labels, fetch by name, rollback. Each
//! is one core call for the authenticated user, with the same access rules as everything else
//! (the core enforces them); writes that can race take `If-Match` (see openapi.yaml). The
//! rollback (`POST /v1/templates/{id}/restore`) is with the other create-like POSTs in
//! `creates.rs`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use workflow_templates::catalog::{ByName, LabelInfo};

use crate::extract::{only_keys, query_pairs, IdempotencyKey, Id, IfMatch};
use crate::http::{block_on, run, App, Cat, UserAuth};
use crate::idempotency::{idem_of, Replay};
use crate::reply::{ApiError, ApiResult, Reply};

type IdLabel = Result<Path<(String, String)>, axum::extract::rejection::PathRejection>;

/// `{id}` and `{label}` path segments.
fn id_label(p: IdLabel) -> ApiResult<(String, String)> {
    match p {
        Ok(Path(v)) => Ok(v),
        Err(e) => Err(ApiError::bad(format!("bad path: {}", e.body_text()))),
    }
}

/// The label's current `updated_at` (its ETag), `""` when the lineage has no such label (so no
/// tag matches: 412), for an `If-Match` list.
fn label_etag(cat: &Cat, id: &str, label: &str) -> ApiResult<String> {
    Ok(block_on(cat.labels(id))?.into_iter().find(|l| l.label == label).map(|l| l.updated_at).unwrap_or_default())
}

/// GET /v1/templates/{id}/labels
pub async fn labels(user: UserAuth, State(app): State<App>, Id(id): Id) -> ApiResult<Reply> {
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.labels(&id))?)).await
}

/// 200 with one label, its ETag its `updated_at`.
fn label_answer(l: LabelInfo) -> ApiResult<Reply> {
    let etag = l.updated_at.clone();
    let mut r = Reply::ok(l)?;
    r.etag = Some(etag);
    Ok(r)
}

/// The label as stored now (an applied `set_label` whose answer was never stored, see
/// `idempotency::replay`); 404 when it is gone since.
pub(crate) fn label_reply(cat: &Cat, id: &str, label: &str) -> ApiResult<Reply> {
    match block_on(cat.labels(id))?.into_iter().find(|l| l.label == label) {
        Some(l) => label_answer(l),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("label {label} not found"))),
    }
}

/// The path an Idempotency-Key of a label write is bound to (these writes have no body).
fn label_path(id: &str, label: &str) -> String {
    format!("/v1/templates/{id}/labels/{label}")
}

/// PUT /v1/templates/{id}/labels/{label}: points the label at version `id`. `If-Match` is the
/// label's `updated_at` (the ETag of this answer). `Idempotency-Key` as on the POSTs.
pub async fn set_label(user: UserAuth, State(app): State<App>, path: IdLabel, cond: IfMatch, IdempotencyKey(key): IdempotencyKey) -> ApiResult<Reply> {
    let (id, label) = id_label(path)?;
    let idem = idem_of(key, &Method::PUT, &label_path(&id, &label), b"", Replay::Label(id.clone(), label.clone()));
    run(&app, user, idem, move |cat| {
        let opts = cond.options(&id, || label_etag(cat, &id, &label))?;
        label_answer(block_on(cat.set_label(&id, &label, opts))?)
    })
    .await
}

/// DELETE /v1/templates/{id}/labels/{label}. `Idempotency-Key` as on the POSTs.
pub async fn remove_label(user: UserAuth, State(app): State<App>, path: IdLabel, cond: IfMatch, IdempotencyKey(key): IdempotencyKey) -> ApiResult<Reply> {
    let (id, label) = id_label(path)?;
    let idem = idem_of(key, &Method::DELETE, &label_path(&id, &label), b"", Replay::Empty);
    run(&app, user, idem, move |cat| {
        let opts = cond.options(&id, || label_etag(cat, &id, &label))?;
        block_on(cat.remove_label(&id, &label, opts))?;
        Reply::no_content()
    })
    .await
}

/// GET /v1/templates/{id}/versions/labelled: `versions` with each version's labels.
pub async fn labelled_versions(user: UserAuth, State(app): State<App>, Id(id): Id) -> ApiResult<Reply> {
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.versions_with_labels(&id))?)).await
}

/// `name`, `version`, `label`, `owner` query parameters.
fn by_name(app: &App, q: &Option<String>) -> ApiResult<(String, ByName)> {
    let pairs = query_pairs(app, q)?;
    only_keys(&pairs, &["name", "version", "label", "owner"])?;
    let get = |k: &str| pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    let name = get("name").ok_or_else(|| ApiError::bad("the query parameter name is required"))?;
    let version = match get("version") {
        None => None,
        Some(v) => Some(v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| ApiError::bad("version must be an integer >= 1"))?),
    };
    Ok((name, ByName { version, label: get("label"), owner: get("owner") }))
}

/// GET /v1/by-name?name=&version=&label=&owner=
pub async fn get_by_name(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Reply> {
    let (name, o) = by_name(&app, &q)?;
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.get_by_name(&name, &o))?)).await
}

/// GET /v1/by-name/resolve?name=&version=&label=&owner=
pub async fn resolve_by_name(user: UserAuth, State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Reply> {
    let (name, o) = by_name(&app, &q)?;
    run(&app, user, None, move |cat| Reply::ok(block_on(cat.resolve_by_name(&name, &o))?)).await
}
