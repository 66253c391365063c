//! Several server processes on one database (issue 13): two real processes, A and B, share one
//! PostgreSQL database (when WT_TEST_POSTGRES_URL is set; scripts/server-test.sh sets it) and
//! one SQLite file (always: WAL + `BEGIN IMMEDIATE` + busy timeout make that a supported local
//! set-up). Every guarantee must hold whichever process answers, which proves no state that
//! matters (chain caches, idempotency claims, counters, ETags) lives in a process's memory.
//! Each assertion says what would break it.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use serde_json::{json, Value};

/// Two processes on one database, one user (a load balancer sends a user anywhere).
struct Pair {
    a: Server,
    b: Server,
    token: String,
}

impl Pair {
    fn start(db: &TestDb) -> Pair {
        let u = create_user(db);
        Pair { a: Server::start(db), b: Server::start(db), token: u.token }
    }
    fn ca(&self) -> Client {
        self.a.client(Some(&self.token))
    }
    fn cb(&self) -> Client {
        self.b.client(Some(&self.token))
    }
    /// Client i of a race: even ones go to A, odd ones to B.
    fn pick(&self, i: usize) -> Client {
        if i % 2 == 0 { self.ca() } else { self.cb() }
    }
}

/// Runs `n` requests at once (a barrier releases them together), request i through `pick(i)`.
fn race(p: &Pair, n: usize, f: impl Fn(usize, Client) -> Resp + Send + Sync + 'static) -> Vec<Resp> {
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let (c, b, f) = (p.pick(i), barrier.clone(), f.clone());
            std::thread::spawn(move || {
                b.wait();
                f(i, c)
            })
        })
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).collect()
}

fn etag(r: &Resp) -> String {
    r.header("etag").expect("an ETag").to_string()
}

fn create(c: &Client, name: &str) -> Value {
    let r = c.post("/v1/templates", &draft(name, false));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.raw));
    r.json()
}

/// N processes may be started at once on a fresh database (a deployment starts them
/// together): migrations and the built-ins' rows are applied once, and every process comes up.
/// Breaks if the migration runner or `sync_builtins` are not serialised between processes (the
/// loser fails on an existing table / duplicate key and exits before printing `listening`).
#[test]
fn processes_started_together_on_a_fresh_database_all_come_up() {
    let mut dbs = vec![sqlite_db(), sqlite_db(), sqlite_db()];
    if let Ok(u) = std::env::var("WT_TEST_POSTGRES_URL") {
        if !u.is_empty() {
            dbs.extend([postgres_db(&u), postgres_db(&u), postgres_db(&u)]);
        }
    }
    for db in &dbs {
        let url = db.url.clone();
        let barrier = Arc::new(Barrier::new(3));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (b, url) = (barrier.clone(), url.clone());
                std::thread::spawn(move || {
                    b.wait();
                    std::process::Command::new(BIN).args(["migrate", "up", "--db", &url]).output().unwrap()
                })
            })
            .collect();
        for h in hs {
            let out = h.join().unwrap();
            assert!(out.status.success(), "{}: concurrent `migrate up` failed: {}", db.label, String::from_utf8_lossy(&out.stderr));
        }
        let status = common::cli(&["migrate", "status", "--db", &url]);
        assert!(!status.contains("pending"), "{}: {status}", db.label);
        // The built-ins exist once each (a race would duplicate nothing, but must not fail).
        let u = create_user(db);
        let s = Server::start(db);
        let r = s.client(Some(&u.token)).get(&format!("/v1/templates/{BUILTIN}"));
        assert_eq!(r.status, 200, "{}", db.label);
    }
}

/// 2 x 50 concurrent `recordUsage`, half through each process. Breaks if a process kept a
/// counter (or a cached copy of the statistics) in memory and wrote it back: increments would be
/// lost (usage_count < 100) and the means / exact cost sum would drift.
#[test]
fn usage_recorded_through_both_processes_loses_no_increment() {
    for db in backends() {
        let p = Pair::start(&db);
        let l = db.label;
        let id = create(&p.ca(), "hot")["id"].as_str().unwrap().to_string();
        for target in [id.clone(), BUILTIN.to_string()] {
            let path = format!("/v1/templates/{target}/usage");
            let rs = race(&p, 100, move |i, c| {
                // success on even i; responseTimeMs 10+i; tokens i; cost 0.1 (a naive running
                // float sum of 100 x 0.1 is 9.99999999999998, the correctly rounded sum 10).
                c.post(&path, &json!({ "success": i % 2 == 0, "responseTimeMs": 10 + i, "tokens": i, "cost": 0.1 }))
            });
            let bad: Vec<_> = rs.iter().filter(|r| r.status != 200).map(|r| (r.status, String::from_utf8_lossy(&r.raw).to_string())).collect();
            assert!(bad.is_empty(), "{l}: {target}: {bad:?}");
            for c in [p.ca(), p.cb()] {
                let t = c.get(&format!("/v1/templates/{target}")).json();
                assert_eq!(t["usage_count"], 100, "{l}: {target}");
                assert_eq!(t["total_tokens_used"], (0..100).sum::<u64>(), "{l}: {target}");
                assert_eq!(t["success_rate"], 0.5, "{l}: {target}");
                // (sum of 10+i for i < 100) / 100 = 59.5, rounded half up.
                assert_eq!(t["avg_response_time_ms"], 60, "{l}: {target}");
                assert_eq!(t["total_cost"], 10.0, "{l}: {target}");
            }
        }
    }
}

/// An edit through A, then an edit through B with the ETag read before A's edit: 412. Breaks
/// if B compared If-Match against a copy it cached (it would accept the stale tag and overwrite
/// A's edit).
#[test]
fn a_stale_if_match_is_refused_by_the_other_process() {
    for db in backends() {
        let p = Pair::start(&db);
        let l = db.label;
        let id = create(&p.ca(), "edited")["id"].as_str().unwrap().to_string();
        let path = format!("/v1/templates/{id}");
        // B reads first, so a per-process cache (if any) holds the old record.
        let old = etag(&p.cb().get(&path));
        std::thread::sleep(std::time::Duration::from_millis(5)); // updated_at moves (ms resolution)
        let ra = p.ca().req("PATCH", &path, &[("If-Match", &old)], Some(json!({ "description": "by A" }).to_string().as_bytes()));
        assert_eq!(ra.status, 200, "{l}: {}", String::from_utf8_lossy(&ra.raw));
        let rb = p.cb().req("PATCH", &path, &[("If-Match", &old)], Some(json!({ "description": "by B" }).to_string().as_bytes()));
        assert_eq!(rb.status, 412, "{l}: {}", String::from_utf8_lossy(&rb.raw));
        assert_eq!(rb.code(), "CONFLICT", "{l}");
        // B serves A's edit and A's ETag; B's stale write changed nothing.
        let now = p.cb().get(&path);
        assert_eq!(now.json()["description"], "by A", "{l}");
        assert_eq!(etag(&now), etag(&ra), "{l}");
        // With the fresh tag B may edit.
        let rb2 = p.cb().req("PATCH", &path, &[("If-Match", &etag(&ra))], Some(json!({ "description": "by B" }).to_string().as_bytes()));
        assert_eq!(rb2.status, 200, "{l}: {}", String::from_utf8_lossy(&rb2.raw));
    }
}

/// The same Idempotency-Key sent to A and B at the same moment: one template, two identical
/// answers, exactly one marked replayed. Breaks if the claim on a key lived in one process (both
/// would create: two templates, or the second NAME_TAKEN), or if the loser answered anything
/// but the winner's stored response.
#[test]
fn one_idempotency_key_sent_to_both_processes_has_one_effect() {
    for db in backends() {
        let p = Pair::start(&db);
        let l = db.label;
        for round in 0..5 {
            let name = format!("twin{round}");
            let key = format!("key-{round}");
            let body = draft(&name, false).to_string();
            let rs = race(&p, 2, move |_, c| c.req("POST", "/v1/templates", &[("Idempotency-Key", &key)], Some(body.as_bytes())));
            for r in &rs {
                assert_eq!(r.status, 201, "{l}: {}", String::from_utf8_lossy(&r.raw));
            }
            assert_eq!(rs[0].json(), rs[1].json(), "{l}: the two answers differ");
            assert_eq!(rs[0].header("etag"), rs[1].header("etag"), "{l}");
            assert_eq!(rs[0].header("location"), rs[1].header("location"), "{l}");
            let replayed = rs.iter().filter(|r| r.header("idempotent-replayed") == Some("true")).count();
            assert_eq!(replayed, 1, "{l}: round {round}: exactly one answer is the replay");
            let found = p.cb().get(&format!("/v1/templates?text={name}&includeBuiltin=false")).json();
            assert_eq!(found["total"], 1, "{l}: round {round}: one effect: {found}");
        }
    }
}

/// Four `newVersion` of the same latest at once, two through each process, several rounds:
/// exactly one wins each round, the others get a coded 409 (NOT_LATEST) or 412 (CONFLICT), never
/// a 500; the lineage ends with versions 1..=n, each once, and exactly one latest. Breaks if the
/// latest version were decided from a process's memory (two winners, a duplicate version, two
/// latest) or if a lost race surfaced as a unique-constraint 500.
#[test]
fn a_new_version_race_across_processes_leaves_one_latest() {
    for db in backends() {
        let p = Pair::start(&db);
        let l = db.label;
        let first = create(&p.ca(), "raced");
        let mut latest = first["id"].as_str().unwrap().to_string();
        let mut tag = format!("\"{}\"", first["updated_at"].as_str().unwrap());
        let rounds = 4;
        for round in 0..rounds {
            let (id, t) = (latest.clone(), tag.clone());
            // Racers 0 and 1 send If-Match, 2 and 3 none (a lost race is then NOT_LATEST).
            let rs = race(&p, 4, move |i, c| {
                let body = json!({ "patch": { "description": format!("round {round} by {i}") }, "changelog": format!("r{round}") }).to_string();
                let h: Vec<(&str, &str)> = if i < 2 { vec![("If-Match", t.as_str())] } else { vec![] };
                c.req("POST", &format!("/v1/templates/{id}/versions"), &h, Some(body.as_bytes()))
            });
            let wins: Vec<_> = rs.iter().filter(|r| r.status == 201).collect();
            assert_eq!(wins.len(), 1, "{l}: round {round}: {:?}", rs.iter().map(|r| (r.status, r.code())).collect::<Vec<_>>());
            for r in rs.iter().filter(|r| r.status != 201) {
                let ok = (r.status == 409 && r.code() == "INVALID_ARGUMENT" && r.json()["error"]["details"]["reason"] == "NOT_LATEST") || (r.status == 412 && r.code() == "CONFLICT");
                assert!(ok, "{l}: round {round}: the loser's answer: {} {}", r.status, String::from_utf8_lossy(&r.raw));
            }
            latest = wins[0].json()["id"].as_str().unwrap().to_string();
            tag = etag(wins[0]);
            assert_eq!(wins[0].json()["version"], round + 2, "{l}");
        }
        for c in [p.ca(), p.cb()] {
            let vs = c.get(&format!("/v1/templates/{latest}/versions")).json();
            let mut versions: Vec<u64> = vs.as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect();
            versions.sort();
            assert_eq!(versions, (1..=rounds + 1).collect::<Vec<_>>(), "{l}: consecutive, each once");
            let latest_ones: Vec<_> = vs.as_array().unwrap().iter().filter(|v| v["is_latest"] == true).collect();
            assert_eq!(latest_ones.len(), 1, "{l}: one latest");
            assert_eq!(latest_ones[0]["id"], latest.as_str(), "{l}");
        }
    }
}

/// setLabel on both processes at once. A move with the label's ETag: one 200, the other 412,
/// and the label points at the winner's version. A first set without If-Match (unconditional):
/// both answers coded (200, last write wins), never a 500 from the primary key, one label row.
/// Breaks if the label's revision were checked against memory (two 200 with one ETag) or a
/// duplicate-key race leaked as a 500.
#[test]
fn a_label_move_race_across_processes_has_one_winner() {
    for db in backends() {
        let p = Pair::start(&db);
        let l = db.label;
        let v1 = create(&p.ca(), "labelled");
        let mut ids = vec![v1["id"].as_str().unwrap().to_string()];
        for k in 0..2 {
            let last = ids.last().unwrap().clone();
            let r = p.ca().post(&format!("/v1/templates/{last}/versions"), &json!({ "patch": { "description": format!("v{}", k + 2) }, "changelog": "next" }));
            assert_eq!(r.status, 201, "{l}: {}", String::from_utf8_lossy(&r.raw));
            ids.push(r.json()["id"].as_str().unwrap().to_string());
        }
        // First set, unconditional, on both processes at once.
        let ids2 = ids.clone();
        let rs = race(&p, 2, move |i, c| c.req("PUT", &format!("/v1/templates/{}/labels/prod", ids2[i]), &[], None));
        for r in &rs {
            assert_eq!(r.status, 200, "{l}: {}", String::from_utf8_lossy(&r.raw));
        }
        let labels = p.cb().get(&format!("/v1/templates/{}/labels", ids[0])).json();
        assert_eq!(labels.as_array().unwrap().iter().filter(|x| x["label"] == "prod").count(), 1, "{l}: {labels}");
        // The move race: both hold the current ETag, A moves to v2, B to v3.
        let cur = p.ca().get(&format!("/v1/templates/{}/labels", ids[0])).json();
        let cur = cur.as_array().unwrap().iter().find(|x| x["label"] == "prod").unwrap().clone();
        let t = format!("\"{}\"", cur["updated_at"].as_str().unwrap());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let (ids3, t2) = (ids.clone(), t.clone());
        let rs = race(&p, 2, move |i, c| c.req("PUT", &format!("/v1/templates/{}/labels/prod", ids3[1 + i]), &[("If-Match", t2.as_str())], None));
        let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
        let win = rs.iter().position(|r| r.status == 200).unwrap_or_else(|| panic!("{l}: no winner: {statuses:?}"));
        let lose = 1 - win;
        assert_eq!(rs[lose].status, 412, "{l}: {statuses:?} {}", String::from_utf8_lossy(&rs[lose].raw));
        assert_eq!(rs[lose].code(), "CONFLICT", "{l}");
        let after = p.cb().get(&format!("/v1/templates/{}/labels", ids[0])).json();
        let prod: Vec<_> = after.as_array().unwrap().iter().filter(|x| x["label"] == "prod").collect();
        assert_eq!(prod.len(), 1, "{l}");
        assert_eq!(prod[0]["template_id"], ids[1 + win].as_str(), "{l}: the label points at the winner's version");
    }
}

/// The change feed across processes (issue 15): 3 x 50 concurrent writes (creates, uses, specs)
/// spread over both processes while a reader pages `GET /v1/changes` through both, small pages,
/// as fast as it can. The reader must end with every change row exactly once, in cursor order,
/// the same list a walk after the writes gives. Breaks on PostgreSQL without the commit-order
/// lock (`feed::lock_for_write`): a row numbered before another but committed after it is
/// passed by a reader that already moved its cursor beyond, and never read.
#[test]
fn a_feed_reader_during_concurrent_writes_on_two_processes_sees_every_change_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    for db in backends() {
        let l = db.label;
        let p = Pair::start(&db);
        let ids: Vec<String> = (0..4).map(|i| create(&p.ca(), &format!("feed {i}"))["id"].as_str().unwrap().to_string()).collect();
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (a, b, done) = (p.ca(), p.cb(), done.clone());
            std::thread::spawn(move || {
                let (mut seen, mut cursor, mut n) = (Vec::<Value>::new(), "0".to_string(), 0usize);
                loop {
                    // Only a read that starts after the writers finished may be the last one.
                    let finished = done.load(Ordering::SeqCst);
                    let c = if n % 2 == 0 { &a } else { &b };
                    n += 1;
                    let r = c.get(&format!("/v1/changes?since={cursor}&limit=3"));
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.raw));
                    let page = r.json();
                    seen.extend(page["changes"].as_array().unwrap().iter().cloned());
                    cursor = page["cursor"].as_str().unwrap().to_string();
                    if finished && page["more"] == false {
                        return (seen, n);
                    }
                }
            })
        };
        let ids2 = ids.clone();
        let rs = race(&p, 150, move |i, c| match i % 3 {
            0 => c.post("/v1/templates", &json!({ "name": format!("w{i}"), "workflow_type": "plain", "description": "d", "is_public": i % 2 == 0 })),
            1 => c.post(&format!("/v1/templates/{}/usage", ids2[i % 4]), &json!({ "success": true, "responseTimeMs": 1 })),
            _ => c.post("/v1/specs", &json!({ "name": format!("s{i}"), "workflow_type": "plain", "description": "d" })),
        });
        let bad: Vec<_> = rs.iter().filter(|r| r.status >= 300).map(|r| (r.status, String::from_utf8_lossy(&r.raw).to_string())).collect();
        assert!(bad.is_empty(), "{l}: {bad:?}");
        done.store(true, Ordering::SeqCst);
        let (seen, reads) = reader.join().unwrap();
        let cursors: Vec<i64> = seen.iter().map(|c| c["cursor"].as_str().unwrap().parse().unwrap()).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{l}: out of order or repeated: {cursors:?}");
        // every stored change row, once (this user wrote all of them)
        let mut conn = db_conn(&db);
        let stored: Vec<i64> = conn.query("SELECT seq FROM wt_changes ORDER BY seq", &[]).unwrap().iter().map(|r| r[0].int().unwrap()).collect();
        assert_eq!(cursors, stored, "{l}: the reader ({reads} reads) missed or invented changes");
        assert_eq!(stored.len(), 4 + 150, "{l}: one change per write");
        // and a walk afterwards through the other process gives the same list
        let (mut again, mut cursor) = (Vec::new(), "0".to_string());
        loop {
            let page = p.cb().get(&format!("/v1/changes?since={cursor}&limit=1000")).json();
            again.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = page["cursor"].as_str().unwrap().to_string();
            if page["more"] == false {
                break;
            }
        }
        assert_eq!(again, seen, "{l}");
    }
}

/// A stream opened on process B delivers a change written through process A within 2 s
/// (B's poller reads the shared database). Breaks if streams only heard their own process.
#[test]
fn a_stream_on_one_process_hears_writes_made_through_the_other() {
    for db in backends() {
        let l = db.label;
        let p = Pair::start(&db);
        let st = common::sse::open_stream(p.b.port, &p.token, "?since=now", None);
        assert_eq!(st.status, 200, "{l}");
        let t0 = std::time::Instant::now();
        let id = create(&p.ca(), "from A")["id"].as_str().unwrap().to_string();
        let e = st.next_change(std::time::Duration::from_secs(5)).expect("the change made through A");
        assert!(t0.elapsed() < std::time::Duration::from_secs(2), "{l}: took {:?}", t0.elapsed());
        let v: Value = serde_json::from_str(e.data.as_deref().unwrap()).unwrap();
        assert_eq!(v["id"], id.as_str(), "{l}");
    }
}
