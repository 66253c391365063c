//! Accepting connections. hyper's HTTP/1 server (what `axum::serve` runs, set up here so that
//! its timeouts can be set), with two bounds on clients that send or read nothing (issue 10):
//!
//! - header-read timeout (hyper's own, on tokio's timer): a request head must arrive complete
//!   within it from when the server starts waiting for one: after accepting the connection, and
//!   after each response on a keep-alive connection (so it is also the keep-alive idle limit);
//! - idle timeout: no request-body frame for that long (tower-http's `RequestBodyTimeout`,
//!   answered 408), or no response byte accepted by the client for that long (tokio-io-timeout's
//!   write timeout), and the connection is closed.
//!
//! SIGTERM / Ctrl-C stop accepting and let requests in flight finish (hyper-util's graceful
//! shutdown), at most `DRAIN`.

use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeout;

use crate::http::{router, App};

/// How long a graceful shutdown waits for the requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

pub async fn serve(listener: TcpListener, app: App, shutdown: impl Future<Output = ()>) {
    let (header_read, idle) = (app.cfg.header_read_timeout, app.cfg.idle_timeout);
    let feed = app.feed.clone();
    let router = router(app);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let mut stream = tokio_io_timeout::TimeoutStream::new(tcp);
        stream.set_write_timeout(Some(idle));
        let io = TokioIo::new(Box::pin(stream));
        let service = TowerToHyperService::new(RequestBodyTimeout::new(router.clone(), idle));
        let conn = http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(header_read).serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A timed-out, reset or malformed connection simply ends.
            let _ = conn.await;
        });
    }
    drop(listener);
    // Change streams never end by themselves: end them so their connections can drain.
    feed.close();
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("shutdown: requests still running after {DRAIN:?}; stopping anyway"),
    }
}
