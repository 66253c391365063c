//! Logs: `tracing` events written to stderr by `tracing-subscriber`, filtered by `--log`
//! (a level such as `info`, or any `EnvFilter` directive such as `warn,wt::http=info`).
//! Every request is one event of target `wt::http` at INFO: method, path (without the query
//! string), status, duration in ms, and the authenticated user id (`-` when there is none).
//! Headers are never logged, so neither are tokens.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Sets up the global subscriber. `filter` is the `--log` value.
pub fn init(filter: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| format!("--log {filter:?}: {e}"))?;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).try_init().map_err(|e| e.to_string())
}

/// Where the `UserAuth` extractor leaves the request's user id for the request log.
#[derive(Clone, Default)]
pub struct LogUser(Arc<OnceLock<String>>);

impl LogUser {
    pub fn set(&self, user: &str) {
        let _ = self.0.set(user.to_string());
    }
}

pub(crate) async fn request_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let user = LogUser::default();
    req.extensions_mut().insert(user.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let user = user.0.get().map(String::as_str).unwrap_or("-");
    tracing::info!(
        target: "wt::http",
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        duration_ms = %format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        user = %user,
        "request"
    );
    resp
}
