//! The change feed (issue 15): `GET /v1/changes` and `GET /v1/changes/stream` against real
//! server processes, on SQLite and (with WT_TEST_POSTGRES_URL) PostgreSQL: access rules (another
//! user's private change never appears, not even its id), resumable paging, bad input, and the
//! Server-Sent Events stream (live delivery, keep-alive, Last-Event-ID, resync, shutdown).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::sse::{open_stream, Sse};
use common::*;
use serde_json::{json, Value};

fn create(c: &Client, name: &str, public: bool) -> String {
    let r = c.post("/v1/templates", &draft(name, public));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

/// Every change `c` may see, walking the feed from the start with pages of `limit`.
fn walk(c: &Client, since: &str, limit: usize) -> (Vec<Value>, String) {
    let (mut all, mut cursor) = (Vec::new(), since.to_string());
    loop {
        let r = c.get(&format!("/v1/changes?since={cursor}&limit={limit}"));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.raw));
        let p = r.json();
        all.extend(p["changes"].as_array().unwrap().iter().cloned());
        cursor = p["cursor"].as_str().unwrap().to_string();
        if p["more"] != true {
            return (all, cursor);
        }
    }
}

fn has(changes: &[Value], kind: &str, op: &str, id: &str) -> bool {
    changes.iter().any(|c| c["kind"] == kind && c["op"] == op && c["id"] == id)
}

/// Alice and Bob write every kind of record; each sees exactly what they may read, before or
/// after each change. Breaks if the feed is not filtered (Bob would see Alice's private ids,
/// her private label, her rating rows) or a template made private is not a delete for others.
#[test]
fn each_user_sees_only_changes_to_what_they_may_read() {
    for db in backends() {
        let l = db.label;
        let s = Server::start(&db);
        let (ua, ub) = (create_user(&db), create_user(&db));
        let (a, b) = (s.client(Some(&ua.token)), s.client(Some(&ub.token)));

        let private_a = create(&a, "alice private", false);
        let public_a = create(&a, "alice public", true);
        let public_b = create(&b, "bob public", true);
        let private_b = create(&b, "bob private", false);
        // every write shape of alice's on her private template: update, new version, usage,
        // rating, label, restore; and a spec
        assert_eq!(a.patch(&format!("/v1/templates/{private_a}"), &json!({ "description": "secret" })).status, 200, "{l}");
        let v2 = a.post(&format!("/v1/templates/{private_a}/versions"), &json!({ "patch": { "description": "v2" } }));
        assert_eq!(v2.status, 201, "{l}");
        let private_a2 = v2.json()["id"].as_str().unwrap().to_string();
        assert_eq!(a.post(&format!("/v1/templates/{private_a2}/usage"), &json!({ "success": true, "responseTimeMs": 5 })).status, 200, "{l}");
        assert_eq!(a.put(&format!("/v1/templates/{private_a2}/rating"), &json!({ "stars": 5 })).status, 200, "{l}");
        assert_eq!(a.put(&format!("/v1/templates/{private_a}/labels/staging"), &json!(null)).status, 200, "{l}");
        assert_eq!(a.post(&format!("/v1/templates/{private_a}/restore"), &json!({})).status, 201, "{l}");
        let spec = a.post("/v1/specs", &json!({ "name": "alice spec", "workflow_type": "plain", "description": "s" }));
        assert_eq!(spec.status, 201, "{l} {}", String::from_utf8_lossy(&spec.raw));
        let spec_id = spec.json()["id"].as_str().unwrap().to_string();
        // alice rates bob's public template; bob rates alice's public one and a built-in
        assert_eq!(a.put(&format!("/v1/templates/{public_b}/rating"), &json!({ "stars": 2 })).status, 200, "{l}");
        assert_eq!(b.put(&format!("/v1/templates/{public_a}/rating"), &json!({ "stars": 4 })).status, 200, "{l}");
        assert_eq!(b.put(&format!("/v1/templates/{BUILTIN}/rating"), &json!({ "stars": 3 })).status, 200, "{l}");
        // a label on alice's public template, then she makes it private
        assert_eq!(a.put(&format!("/v1/templates/{public_a}/labels/production"), &json!(null)).status, 200, "{l}");
        let (_, before_private) = walk(&b, "0", 1000);
        assert_eq!(a.patch(&format!("/v1/templates/{public_a}"), &json!({ "is_public": false })).status, 200, "{l}");
        // import: alice deletes a template of hers and imports her export back
        let gone = create(&a, "alice imported", false);
        let export = a.get("/v1/export").json();
        assert_eq!(a.delete(&format!("/v1/templates/{gone}")).status, 204, "{l}");
        let imp = a.post("/v1/import", &export);
        assert_eq!(imp.status, 200, "{l} {}", String::from_utf8_lossy(&imp.raw));

        // Bob: his own records, alice's public template while it was public, then its delete
        let raw_b: String = {
            let r = b.get("/v1/changes?limit=1000");
            assert_eq!(r.status, 200, "{l}");
            String::from_utf8(r.raw).unwrap()
        };
        let (bob, _) = walk(&b, "0", 1000);
        for secret in [private_a.as_str(), &private_a2, &spec_id, &gone, "staging"] {
            assert!(!raw_b.contains(secret), "{l}: bob's feed names {secret}: {raw_b}");
        }
        assert!(has(&bob, "template", "put", &public_a) && has(&bob, "template", "put", &public_b) && has(&bob, "template", "put", &private_b), "{l}: {bob:?}");
        assert!(has(&bob, "label", "put", &public_a), "{l}: a label on a public version is public: {bob:?}");
        assert!(has(&bob, "rating", "put", &public_a) && has(&bob, "rating", "put", BUILTIN), "{l}: his own ratings: {bob:?}");
        assert!(!has(&bob, "rating", "put", &public_b), "{l}: alice's rating row is hers alone: {bob:?}");
        assert!(has(&bob, "builtin_stats", "put", BUILTIN), "{l}: built-in statistics are public: {bob:?}");
        let after: Vec<&Value> = bob.iter().filter(|c| c["cursor"].as_str().unwrap().parse::<i64>().unwrap() > before_private.parse::<i64>().unwrap()).collect();
        assert!(after.iter().any(|c| c["kind"] == "template" && c["op"] == "delete" && c["id"] == public_a.as_str()), "{l}: made private = a delete for others: {after:?}");
        assert!(!after.iter().any(|c| c["op"] == "put" && c["id"] == public_a.as_str()), "{l}: {after:?}");

        // Alice: all of her own (every write shape above), bob's public one, not bob's private
        let (alice, _) = walk(&a, "0", 1000);
        let raw_a = String::from_utf8(a.get("/v1/changes?limit=1000").raw).unwrap();
        assert!(!raw_a.contains(&private_b), "{l}: {raw_a}");
        for id in [&private_a, &private_a2, &public_a, &public_b] {
            assert!(has(&alice, "template", "put", id), "{l}: {id} in {alice:?}");
        }
        assert!(has(&alice, "label", "put", &private_a) && has(&alice, "rating", "put", &private_a2) && has(&alice, "rating", "put", &public_b), "{l}: {alice:?}");
        assert!(has(&alice, "spec", "put", &spec_id), "{l}: {alice:?}");
        assert!(!has(&alice, "rating", "put", &public_a), "{l}: bob's rating row is his: {alice:?}");
        assert!(has(&alice, "template", "put", &public_a) && !has(&alice, "template", "delete", &public_a), "{l}: the owner sees her private template as a put");
        let g: Vec<&str> = alice.iter().filter(|c| c["id"] == gone.as_str()).map(|c| c["op"].as_str().unwrap()).collect();
        assert_eq!(g.first(), Some(&"put"), "{l}");
        assert_eq!(g[g.len() - 2..], ["delete", "put"], "{l}: delete, then the import's put: {g:?}");
        for c in alice.iter().chain(&bob) {
            assert!(c["at"].as_str().unwrap().ends_with('Z') && c["at"].as_str().unwrap().len() == 24, "{l}: {c}");
        }
    }
}

/// Paging with any page size and resuming from any cursor gives the same changes, in order,
/// each once; `since=now` starts at the head. Breaks if a page boundary drops or repeats.
#[test]
fn resuming_from_a_cursor_misses_nothing_and_repeats_nothing() {
    for db in backends() {
        let l = db.label;
        let s = Server::start(&db);
        let u = create_user(&db);
        let c = s.client(Some(&u.token));
        for i in 0..9 {
            create(&c, &format!("t{i}"), i % 2 == 0);
        }
        let (full, head) = walk(&c, "0", 1000);
        assert_eq!(full.len(), 9, "{l}: {full:?}");
        let seqs: Vec<i64> = full.iter().map(|c| c["cursor"].as_str().unwrap().parse().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{l}: {seqs:?}");
        for limit in [1, 2, 4] {
            assert_eq!(walk(&c, "0", limit).0, full, "{l}: limit {limit}");
        }
        // resume from the middle
        let mid = full[3]["cursor"].as_str().unwrap();
        assert_eq!(walk(&c, mid, 2).0, full[4..].to_vec(), "{l}");
        // now: no changes, the head; a later write is the next change
        let now = c.get("/v1/changes?since=now").json();
        assert_eq!(now, json!({ "changes": [], "cursor": head, "more": false }), "{l}");
        let id = create(&c, "later", false);
        let (next, _) = walk(&c, &head, 1000);
        assert_eq!(next.len(), 1, "{l}: {next:?}");
        assert_eq!(next[0]["id"], id.as_str());
        // the answer at the head is empty and keeps the cursor
        let (_, h2) = walk(&c, &head, 1000);
        assert_eq!(c.get(&format!("/v1/changes?since={h2}")).json(), json!({ "changes": [], "cursor": h2, "more": false }), "{l}");
    }
}

/// Malformed cursors and parameters are 400 INVALID_ARGUMENT; no token is 401 (both
/// endpoints). Breaks if a bad cursor is read as 0 (a silent full replay) or a panic.
#[test]
fn bad_cursors_and_parameters_are_refused() {
    for db in backends() {
        let l = db.label;
        let s = Server::start(&db);
        let u = create_user(&db);
        let c = s.client(Some(&u.token));
        create(&c, "x", false);
        for bad in ["abc", "-1", "1.5", "", "%20", "0x10", "1e3", "9999999999999999999", "%F0%9F%92%A5", "now%20"] {
            for path in ["/v1/changes", "/v1/changes/stream"] {
                let r = c.get(&format!("{path}?since={bad}"));
                assert_eq!((r.status, r.code()), (400, "INVALID_ARGUMENT".into()), "{l}: {path} since={bad:?}");
            }
        }
        let ahead = c.get("/v1/changes?since=999999");
        assert_eq!((ahead.status, ahead.code()), (400, "INVALID_ARGUMENT".into()), "{l}: a cursor this feed never handed out");
        assert_eq!(ahead.json()["error"]["details"]["reason"], "CURSOR_AHEAD", "{l}");
        for bad in ["limit=0", "limit=1001", "limit=x", "limit=-5", "foo=1", "since=1&since=2"] {
            assert_eq!(c.get(&format!("/v1/changes?{bad}")).status, 400, "{l}: {bad}");
        }
        let r = c.req("GET", "/v1/changes/stream", &[("Last-Event-ID", "nope")], None);
        assert_eq!((r.status, r.code()), (400, "INVALID_ARGUMENT".into()), "{l}");
        for path in ["/v1/changes", "/v1/changes/stream", "/v1/changes?since=abc"] {
            let r = s.client(None).get(path);
            assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED".into()), "{l}: {path}");
            assert_eq!(s.client(Some("wt_unknown")).get(path).status, 401, "{l}: {path}");
        }
    }
}

// ---- Server-Sent Events ---------------------------------------------------------------------

fn data(e: &Sse) -> Value {
    serde_json::from_str(e.data.as_deref().unwrap()).unwrap()
}

/// A change written while a stream is open arrives within 2 s with its cursor as the event id;
/// keep-alive comments appear while idle; reconnecting with Last-Event-ID continues right
/// after it. Breaks without the poller (nothing arrives), without keep-alive, or if
/// Last-Event-ID is ignored (the first change would come again).
#[test]
fn the_stream_delivers_live_keeps_alive_and_resumes() {
    for db in backends() {
        let l = db.label;
        let s = Server::start_with(&db, &["--feed-keep-alive", "1"]);
        let (u, other) = (create_user(&db), create_user(&db));
        let c = s.client(Some(&u.token));
        let st = open_stream(s.port, &u.token, "?since=now", None);
        assert_eq!(st.status, 200, "{l}");
        assert!(st.content_type.starts_with("text/event-stream"), "{l}: {}", st.content_type);
        assert!(st.head.to_lowercase().contains("x-accel-buffering: no"), "{l}: {}", st.head);
        let t0 = Instant::now();
        let id1 = create(&c, "live one", false);
        let e1 = st.next_change(Duration::from_secs(5)).expect("a change within 5 s");
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(2), "{l}: took {took:?}");
        assert_eq!((e1.event.as_deref(), data(&e1)["id"].as_str()), (Some("change"), Some(id1.as_str())), "{l}");
        assert_eq!(e1.id.as_deref(), data(&e1)["cursor"].as_str(), "{l}");
        // another user's private write is not sent; a keep-alive comment comes within ~1 s
        create(&s.client(Some(&other.token)), "not yours", false);
        let ka = st.rx.recv_timeout(Duration::from_secs(3)).expect("a keep-alive");
        assert_eq!(ka.comment.as_deref(), Some("keep-alive"), "{l}: {ka:?}");
        assert!(st.next_change(Duration::from_millis(1500)).is_none(), "{l}: another user's private change was streamed");
        drop(st);
        // written while disconnected, then resumed from the last event id (wins over since)
        let id2 = create(&c, "while away", false);
        let st2 = open_stream(s.port, &u.token, "?since=now", e1.id.as_deref());
        let e2 = st2.next_change(Duration::from_secs(5)).expect("the change made while away");
        assert_eq!(data(&e2)["id"], id2.as_str(), "{l}");
        let id3 = create(&c, "after resume", true);
        assert_eq!(data(&st2.next_change(Duration::from_secs(5)).unwrap())["id"], id3.as_str(), "{l}");
    }
}

/// A burst within the backlog is streamed whole, once and in order; a reader further behind
/// than `--feed-backlog` gets `event: resync` with the last delivered cursor and the stream
/// ends, and paging from that cursor gives the rest. Breaks if the burst loses or repeats a
/// change, or a lagging stream never ends.
#[test]
fn a_burst_is_streamed_whole_or_answered_with_resync() {
    for db in backends() {
        let l = db.label;
        let s = Server::start_with(&db, &["--feed-backlog", "25"]);
        let u = create_user(&db);
        let c = s.client(Some(&u.token));
        let st = open_stream(s.port, &u.token, "?since=now", None);
        let ids: Vec<String> = (0..20).map(|i| create(&c, &format!("burst {i}"), false)).collect();
        let got: Vec<String> = (0..20).map(|_| data(&st.next_change(Duration::from_secs(5)).expect("every change of the burst"))["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, ids, "{l}");
        assert!(st.next_change(Duration::from_millis(800)).is_none(), "{l}: a change came twice");
        drop(st);
        // 30 changes made while disconnected: reconnecting from before them is more than the
        // backlog behind
        let (_, head) = walk(&c, "0", 1000);
        for i in 0..30 {
            create(&c, &format!("while away {i}"), false);
        }
        let st = open_stream(s.port, &u.token, &format!("?since={head}"), None);
        let r = st.next_change(Duration::from_secs(5)).expect("resync");
        assert_eq!(r.event.as_deref(), Some("resync"), "{l}: {r:?}");
        assert_eq!(data(&r)["cursor"], head.as_str(), "{l}");
        assert!(st.rx.recv_timeout(Duration::from_secs(3)).is_err(), "{l}: the stream ends after resync");
        let (rest, _) = walk(&c, &head, 7);
        assert_eq!(rest.len(), 30, "{l}");
    }
}

/// SIGTERM ends open streams, and the process exits promptly (graceful shutdown does not wait
/// for them). Breaks if streams ignore shutdown (the process would hang for the drain timeout).
#[test]
fn streams_end_on_shutdown() {
    for db in backends() {
        let l = db.label;
        let mut s = Server::start(&db);
        let u = create_user(&db);
        let st = open_stream(s.port, &u.token, "?since=now", None);
        let st2 = open_stream(s.port, &u.token, "", None);
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        assert!(s.terminate().success(), "{l}");
        assert!(t0.elapsed() < Duration::from_secs(5), "{l}: shutdown took {:?}", t0.elapsed());
        for x in [st, st2] {
            let end = Instant::now() + Duration::from_secs(2);
            while x.rx.recv_timeout(end.saturating_duration_since(Instant::now())).is_ok() {}
            assert!(Instant::now() < end, "{l}: the stream did not end");
        }
    }
}

/// Cursors are strictly increasing and unique across everything one user sees.
#[test]
fn cursors_are_unique_and_increasing() {
    for db in backends() {
        let s = Server::start(&db);
        let u = create_user(&db);
        let c = s.client(Some(&u.token));
        let id = create(&c, "a", true);
        for i in 0..5 {
            assert_eq!(c.post(&format!("/v1/templates/{id}/usage"), &json!({ "success": i % 2 == 0, "responseTimeMs": 3 })).status, 200);
        }
        let (all, _) = walk(&c, "0", 2);
        let cur: Vec<i64> = all.iter().map(|c| c["cursor"].as_str().unwrap().parse().unwrap()).collect();
        assert_eq!(cur.iter().collect::<HashSet<_>>().len(), cur.len(), "{}", db.label);
        assert!(cur.windows(2).all(|w| w[0] < w[1]), "{}", db.label);
        assert_eq!(all.len(), 6, "{}: a create and five uses: {all:?}", db.label);
    }
}

/// A change numbered before another but committed after it is not skipped: a transaction
/// (opened here, behind the server's back, doing what the server's commit does) writes a
/// template and numbers its change (`feed::finish_write`), then stays open while the server
/// commits another write and a reader pages the feed; then it commits. Paging on from the
/// reader's cursor must return both, the held one first. Breaks on PostgreSQL without the
/// commit-order lock in `finish_write`: the server's write would take a number of its own and
/// commit first (with a sequence: the reader's cursor passes the held change, never read; with
/// `MAX(seq) + 1`: the same number twice, and the second commit fails).
#[test]
fn a_change_committed_late_is_not_skipped() {
    for db in backends() {
        let l = db.label;
        let s = Server::start(&db);
        let u = create_user(&db);
        let c = s.client(Some(&u.token));
        let held = create(&c, "held", false);
        let (_, c0) = walk(&c, "0", 1000);
        let mut conn = db_conn(&db);
        conn.begin().unwrap();
        conn.execute("UPDATE workflow_templates SET description = {t1} WHERE id = {t2}", &[workflow_templates_server::db::text("late"), workflow_templates_server::db::text(held.as_str())]).unwrap();
        workflow_templates_server::feed::finish_write(&mut conn).unwrap();
        let writer = {
            let c = c.clone();
            std::thread::spawn(move || create(&c, "meanwhile", false))
        };
        std::thread::sleep(Duration::from_millis(700));
        let (mid, c1) = walk(&c, &c0, 1000);
        conn.commit().unwrap();
        let other = writer.join().unwrap();
        let (rest, _) = walk(&c, &c1, 1000);
        let got: Vec<&str> = mid.iter().chain(&rest).map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(got, [held.as_str(), other.as_str()], "{l}: read before the commit {mid:?}, after {rest:?}");
    }
}

/// Idle streams hold no database connection: with a pool of 2, four open streams leave the
/// pool free for requests, and all four still get the next change. Breaks if a stream kept a
/// pooled connection while waiting (requests would wait 30 s for one, then 503).
#[test]
fn idle_streams_hold_no_database_connection() {
    for db in backends() {
        let l = db.label;
        let s = Server::start_with(&db, &["--pool", "2"]);
        let u = create_user(&db);
        let c = s.client(Some(&u.token));
        let streams: Vec<_> = (0..4).map(|_| open_stream(s.port, &u.token, "?since=now", None)).collect();
        std::thread::sleep(Duration::from_millis(600));
        let t0 = Instant::now();
        let id = create(&c, "with four streams open", false);
        assert_eq!(c.get("/v1/changes?since=now").status, 200, "{l}");
        assert!(t0.elapsed() < Duration::from_secs(5), "{l}: requests waited {:?} for a connection", t0.elapsed());
        for st in &streams {
            assert_eq!(data(&st.next_change(Duration::from_secs(5)).expect("the change"))["id"], id.as_str(), "{l}");
        }
    }
}

/// A label moved between versions of one lineage whose visibility differs: another user only
/// ever gets an id they could read before or after. Public -> private: a label delete naming
/// the old (public) version, never the private one; private -> public: a put with the public
/// id only. Breaks if the moved label's row carries the new id to readers of the old one.
#[test]
fn a_label_moved_across_visibility_names_only_readable_versions() {
    for db in backends() {
        let l = db.label;
        let s = Server::start(&db);
        let (ua, ub) = (create_user(&db), create_user(&db));
        let (a, b) = (s.client(Some(&ua.token)), s.client(Some(&ub.token)));
        let v1 = create(&a, "moving label", true);
        let r = a.post(&format!("/v1/templates/{v1}/versions"), &json!({ "patch": { "is_public": false } }));
        assert_eq!(r.status, 201, "{l} {}", String::from_utf8_lossy(&r.raw));
        let v2 = r.json()["id"].as_str().unwrap().to_string();
        assert_eq!(a.get(&format!("/v1/templates/{v2}")).json()["is_public"], false, "{l}");
        assert_eq!(b.get(&format!("/v1/templates/{v2}")).status, 404, "{l}: v2 is private");
        let (_, start) = walk(&b, "0", 1000);

        // public -> private (an UPDATE of the label row), then back private -> public
        assert_eq!(a.put(&format!("/v1/templates/{v1}/labels/prod"), &json!(null)).status, 200, "{l}");
        assert_eq!(a.put(&format!("/v1/templates/{v2}/labels/prod"), &json!(null)).status, 200, "{l}");
        let (mid_a, _) = walk(&a, &start, 1000);
        let (mid_b, mid) = walk(&b, &start, 1000);
        assert_eq!(a.put(&format!("/v1/templates/{v1}/labels/prod"), &json!(null)).status, 200, "{l}");
        let (back_b, _) = walk(&b, &mid, 1000);

        let raw_b = String::from_utf8(b.get(&format!("/v1/changes?since={start}&limit=1000")).raw).unwrap();
        assert!(!raw_b.contains(&v2), "{l}: bob's feed names the private version {v2}: {raw_b}");
        let ids = |cs: &[Value]| cs.iter().filter(|c| c["kind"] == "label").map(|c| (c["kind"].as_str().unwrap().to_string(), c["op"].as_str().unwrap().to_string(), c["id"].as_str().unwrap().to_string())).collect::<Vec<_>>();
        let lab = |op: &str, id: &str| ("label".to_string(), op.to_string(), id.to_string());
        assert_eq!(ids(&mid_b), vec![lab("put", &v1), lab("delete", &v1)], "{l}: the label was public, then gone for bob");
        assert_eq!(ids(&back_b), vec![lab("put", &v1)], "{l}: private -> public is a put of the public id");
        assert_eq!(mid_a.last().map(|c| (c["op"].as_str().unwrap(), c["id"].as_str().unwrap())), Some(("put", v2.as_str())), "{l}: the owner learns where the label is now: {mid_a:?}");
        // the owner reads her label where it now points
        assert!(has(&mid_a, "label", "put", &v2), "{l}: {mid_a:?}");
    }
}
