//! Bounds on the change stream's work (issue 15 review): open streams per user and per
//! process, a stream's maximum lifetime, a token revoked while its stream is open, and the
//! feed flags' ranges. SQLite and (with WT_TEST_POSTGRES_URL) PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use common::sse::open_stream;
use common::*;

/// Waits until the stream's channel closes (the server ended it); false if it is still open at
/// `wait`. Events that arrive before the end are returned through `seen`.
fn ends_within(st: &common::sse::Stream, wait: Duration, seen: &mut Vec<common::sse::Sse>) -> bool {
    let end = Instant::now() + wait;
    loop {
        match st.rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(e) => seen.push(e),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return true,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return false,
        }
    }
}

/// A user may hold `--feed-user-streams` open streams; one more is 429 INVALID_ARGUMENT
/// (details.reason TOO_MANY_STREAMS) while others are unaffected, and closing one frees its
/// place. The process-wide `--feed-max-streams` refuses anyone beyond it with 503
/// STORAGE_UNAVAILABLE. Breaks if streams are unbounded.
#[test]
fn open_streams_are_bounded_per_user_and_per_process() {
    for db in backends() {
        let l = db.label;
        let s = Server::start_with(&db, &["--feed-user-streams", "3", "--feed-max-streams", "5"]);
        let (a, b) = (create_user(&db), create_user(&db));
        let ca = s.client(Some(&a.token));
        let mut open: Vec<_> = (0..3).map(|_| open_stream(s.port, &a.token, "?since=now", None)).collect();
        assert!(open.iter().all(|st| st.status == 200), "{l}");
        let r = ca.req("GET", "/v1/changes/stream?since=now", &[("Accept", "text/event-stream")], None);
        assert_eq!((r.status, r.code()), (429, "INVALID_ARGUMENT".to_string()), "{l}: {}", String::from_utf8_lossy(&r.raw));
        assert_eq!(r.json()["error"]["details"]["reason"], "TOO_MANY_STREAMS", "{l}");
        assert_eq!(r.json()["error"]["details"]["limit"], 3, "{l}");
        // another user is not held back by alice's streams
        let b1 = open_stream(s.port, &b.token, "?since=now", None);
        let b2 = open_stream(s.port, &b.token, "?since=now", None);
        assert_eq!((b1.status, b2.status), (200, 200), "{l}");
        // 5 open in the process: the next one is refused for everyone
        let r = s.client(Some(&b.token)).req("GET", "/v1/changes/stream?since=now", &[("Accept", "text/event-stream")], None);
        assert_eq!((r.status, r.code()), (503, "STORAGE_UNAVAILABLE".to_string()), "{l}: {}", String::from_utf8_lossy(&r.raw));
        assert_eq!(r.json()["error"]["details"]["reason"], "TOO_MANY_STREAMS", "{l}");
        // a closed stream frees its place (the server notices at its next write or keep-alive)
        drop(open.pop());
        drop(b2);
        let deadline = Instant::now() + Duration::from_secs(10);
        for i in 0.. {
            create(&ca, &format!("wake the streams {i}"));
            let st = open_stream(s.port, &a.token, "?since=now", None);
            if st.status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "{l}: a closed stream's place was never freed");
            std::thread::sleep(Duration::from_millis(200));
        }
        drop(b1);
    }
}

fn create(c: &Client, name: &str) -> String {
    let r = c.post("/v1/templates", &draft(name, false));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

/// A stream ends after `--feed-stream-lifetime` seconds even while changes keep coming (the
/// client reconnects with Last-Event-ID). Breaks if a stream lives forever.
#[test]
fn a_stream_ends_at_its_maximum_lifetime() {
    for db in backends() {
        let l = db.label;
        let s = Server::start_with(&db, &["--feed-stream-lifetime", "2", "--feed-keep-alive", "1"]);
        let u = create_user(&db);
        let st = open_stream(s.port, &u.token, "?since=now", None);
        assert_eq!(st.status, 200, "{l}");
        let t0 = Instant::now();
        let c = s.client(Some(&u.token));
        create(&c, "during");
        let mut seen = Vec::new();
        assert!(ends_within(&st, Duration::from_secs(6), &mut seen), "{l}: the stream outlived its lifetime");
        assert!(t0.elapsed() >= Duration::from_millis(1500), "{l}: ended too early ({:?})", t0.elapsed());
        assert!(seen.iter().any(|e| e.event.as_deref() == Some("change")), "{l}: {seen:?}");
    }
}

/// A token deleted while its stream is open ends the stream at the next page read, with no
/// more data (the change made after the revocation is not sent). Breaks if a stream keeps
/// serving a revoked token.
#[test]
fn a_revoked_token_ends_its_stream() {
    for db in backends() {
        let l = db.label;
        let s = Server::start(&db);
        let u = create_user(&db);
        let out = cli(&["token", "create", "--db", &db.url, "--user", &u.id, "--label", "stream"]);
        let token2 = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["token"].as_str().unwrap().to_string();
        let st = open_stream(s.port, &token2, "?since=now", None);
        assert_eq!(st.status, 200, "{l}");
        let c = s.client(Some(&u.token));
        let before = create(&c, "before revocation");
        assert_eq!(st.next_change(Duration::from_secs(5)).and_then(|e| e.data).map(|d| d.contains(&before)), Some(true), "{l}");
        let mut conn = db_conn(&db);
        let hash = workflow_templates_server::auth::sha256_hex(token2.as_bytes());
        conn.execute("DELETE FROM api_tokens WHERE token_hash = {t1}", &[workflow_templates_server::db::text(hash)]).unwrap();
        let after = create(&c, "after revocation");
        let mut seen = Vec::new();
        assert!(ends_within(&st, Duration::from_secs(5), &mut seen), "{l}: the stream outlived its token");
        assert!(!seen.iter().any(|e| e.data.as_deref().is_some_and(|d| d.contains(&after))), "{l}: {seen:?}");
    }
}

/// The feed's flags have bounded ranges, refused at start: the keep-alive must stay below the
/// client's 45 s silence timeout (1..=30).
#[test]
fn feed_flags_are_bounded() {
    let db = sqlite_db();
    for flags in [["--feed-keep-alive", "45"], ["--feed-keep-alive", "31"], ["--feed-keep-alive", "0"], ["--feed-user-streams", "0"], ["--feed-max-streams", "0"], ["--feed-stream-lifetime", "0"], ["--feed-stream-lifetime", "x"]] {
        let out = std::process::Command::new(BIN).args(["serve", "--db", &db.url, "--port", "0"]).args(flags).output().unwrap();
        assert!(!out.status.success(), "{flags:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flags[0]) && !err.contains("unknown option"), "{flags:?}: {err}");
    }
    let u = create_user(&db);
    let s = Server::start_with(&db, &["--feed-keep-alive", "30", "--feed-user-streams", "1", "--feed-max-streams", "1", "--feed-stream-lifetime", "86400"]);
    assert_eq!(s.client(Some(&u.token)).get("/v1/changes?since=now").status, 200);
}
