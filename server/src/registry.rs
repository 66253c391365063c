//! The registry endpoints of issue 14 (SPEC section 6): labels, fetch by name, rollback. Each
//! is one core call for the authenticated user, with the same access rules as everything else
//! (the core enforces them); writes that can race take `If-Match` (see openapi.yaml).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use workflow_templates::catalog::ByName;

use crate::extract::{if_match, object_body, only_keys, query_pairs, Id, JsonBody};
use crate::http::{block_on, idem_of, run, App, Replay};
use crate::reply::{ApiError, ApiResult, Reply};

/// `{id}` and `{label}` path segments.
fn id_label(p: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>) -> ApiResult<(String, String)> {
    match p {
        Ok(Path(v)) => Ok(v),
        Err(e) => Err(ApiError::bad(format!("bad path: {}", e.body_text()))),
    }
}

/// GET /v1/templates/{id}/labels
pub async fn labels(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.labels(&id))?)).await
}

/// PUT /v1/templates/{id}/labels/{label}: points the label at version `id`. `If-Match` is the
/// label's `updated_at` (its ETag).
pub async fn set_label(State(app): State<App>, headers: HeaderMap, path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>) -> Response {
    let prep = id_label(path).and_then(|p| Ok((p, if_match(&headers)?)));
    let ((id, label), opts) = match prep {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| {
        let l = block_on(cat.set_label(&id, &label, opts))?;
        let etag = l.updated_at.clone();
        let mut r = Reply::ok(l)?;
        r.etag = Some(etag);
        Ok(r)
    })
    .await
}

/// DELETE /v1/templates/{id}/labels/{label}
pub async fn remove_label(State(app): State<App>, headers: HeaderMap, path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>) -> Response {
    let prep = id_label(path).and_then(|p| Ok((p, if_match(&headers)?)));
    let ((id, label), opts) = match prep {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| {
        block_on(cat.remove_label(&id, &label, opts))?;
        Reply::no_content()
    })
    .await
}

/// GET /v1/templates/{id}/versions/labelled: `versions` with each version's labels.
pub async fn labelled_versions(State(app): State<App>, headers: HeaderMap, Id(id): Id) -> Response {
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.versions_with_labels(&id))?)).await
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
pub async fn get_by_name(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let (name, o) = match by_name(&app, &q) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.get_by_name(&name, &o))?)).await
}

/// GET /v1/by-name/resolve?name=&version=&label=&owner=
pub async fn resolve_by_name(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let (name, o) = match by_name(&app, &q) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, None, move |cat| Reply::ok(block_on(cat.resolve_by_name(&name, &o))?)).await
}

/// POST /v1/templates/{id}/restore `{ changelog? }`: a new latest version with version `id`'s
/// configuration. `If-Match` is the current latest version's `updated_at`; an Idempotency-Key
/// makes a retry answer the version the first attempt made.
pub async fn restore(State(app): State<App>, headers: HeaderMap, Id(id): Id, body: JsonBody) -> Response {
    let prep = (|| -> ApiResult<_> {
        let opts = if_match(&headers)?;
        let mut m = object_body(body.value.clone(), &["changelog"], "a restore request")?;
        let changelog = match m.remove("changelog") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(ApiError::bad("changelog must be a string")),
        };
        let idem = idem_of(&headers, &Method::POST, &format!("/v1/templates/{id}/restore"), &body.raw, Replay::Template(StatusCode::CREATED))?;
        Ok((opts, changelog, idem))
    })();
    let (opts, changelog, idem) = match prep {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    run(&app, &headers, idem, move |cat| Reply::created(block_on(cat.restore_version(&id, changelog, opts))?)).await
}
