//! Issue 10, items 1-5: one user must never break or bend what others see. Every case is the
//! issue's reproduction with users A, B and C against a real server process, on SQLite and (when
//! WT_TEST_POSTGRES_URL is set) PostgreSQL, plus the rest of each fault's kind.

mod common;

use common::*;
use serde_json::{json, Value};
use workflow_templates_server::db::{int, text};

const MAX_SAFE: u64 = 9_007_199_254_740_991;
const FAR_FUTURE: &str = "9999-12-31T23:59:59.999Z";

fn id_of(r: &Resp) -> String {
    assert!(r.status == 200 || r.status == 201, "expected success, got {} {}", r.status, String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

fn body(r: &Resp) -> String {
    String::from_utf8_lossy(&r.raw).into_owned()
}

/// A refusal with a coded client error (4xx and a code from the package's list).
fn assert_coded_4xx(r: &Resp, what: &str) {
    assert!((400..500).contains(&r.status), "{what}: expected a coded 4xx, got {} {}", r.status, body(r));
    assert!(!r.code().is_empty() && r.code() != "INTEGRITY", "{what}: {}", body(r));
}

/// The caller's export with the template `id` changed by `f`.
fn bundle_with(c: &Client, id: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut bundle = c.get("/v1/export").json();
    let t = bundle["workflow_templates"].as_array_mut().unwrap().iter_mut().find(|t| t["id"] == id).expect("template in the export");
    f(t);
    bundle
}

/// Everything every user reads in lists answers 200 and leaves out `hidden`.
fn lists_are_served(clients: &[&Client], hidden: &[&str], l: &str) {
    for c in clients {
        for q in ["", "?sort=rating", "?sort=recent", "?sort=name", "?sort=popular", "?category=research", "?text=shared", "?includeBuiltin=false", "?latestOnly=false"] {
            let r = c.get(&format!("/v1/templates{q}"));
            assert_eq!(r.status, 200, "{l}: GET /v1/templates{q}: {}", body(&r));
            for h in hidden {
                assert!(!body(&r).contains(h), "{l}: {q} lists the bad row {h}: {}", body(&r));
            }
        }
        let r = c.get("/v1/popular-by-category");
        assert_eq!(r.status, 200, "{l}: popular-by-category: {}", body(&r));
        for h in hidden {
            assert!(!body(&r).contains(h), "{l}: popular-by-category lists the bad row {h}");
        }
    }
}

/// Item 1: a timestamp the next edit cannot move forward is refused where it enters, in every
/// timestamp an import carries; nothing afterwards answers 500 to anyone.
#[test]
fn far_future_timestamps_are_refused_at_import() {
    for db in backends() {
        let (a, b, cu) = (create_user(&db), create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb, cc) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)), srv.client(Some(&cu.token)));
        let l = db.label;
        let r_id = id_of(&cb.post("/v1/templates", &json!({ "name": "shared R", "workflow_type": "plain", "is_public": true, "category": "research" })));

        // The reproduction, then the same value in every other timestamp of a record.
        for field in ["updated_at", "created_at", "last_used_at"] {
            let bundle = bundle_with(&cb, &r_id, |t| {
                t[field] = json!(FAR_FUTURE);
                if field == "created_at" {
                    t["updated_at"] = json!(FAR_FUTURE);
                }
            });
            let r = cb.post("/v1/import", &bundle);
            assert_coded_4xx(&r, &format!("{l}: import with {field} {FAR_FUTURE}"));
        }
        // Not as far, but ahead of the server's clock: it would head `recent` for everyone.
        let bundle = bundle_with(&cb, &r_id, |t| t["updated_at"] = json!("2999-01-01T00:00:00.000Z"));
        assert_coded_4xx(&cb.post("/v1/import", &bundle), &format!("{l}: import dated in the future"));
        let mut bundle = cb.get("/v1/export").json();
        bundle["ratings"] = json!([{ "template_id": r_id, "user_id": b.id, "stars": 3, "updated_at": FAR_FUTURE }]);
        assert_coded_4xx(&cb.post("/v1/import", &bundle), &format!("{l}: a rating updated at {FAR_FUTURE}"));
        let mut bundle = cb.get("/v1/export").json();
        bundle["builtin_stats"] = json!([{ "id": BUILTIN, "rating": null, "rating_count": 0, "usage_count": 1, "success_rate": 1.0, "avg_response_time_ms": 5, "last_used_at": FAR_FUTURE, "total_tokens_used": 0, "total_cost": 0.0, "avg_tokens_per_use": null }]);
        assert_coded_4xx(&cb.post("/v1/import", &bundle), &format!("{l}: built-in statistics used at {FAR_FUTURE}"));

        // A record at the last instant (planted: no import brings it in): the next edit cannot
        // move updated_at forward and is refused with a code; everything else goes on.
        let last = id_of(&cb.post("/v1/templates", &json!({ "name": "shared last", "workflow_type": "plain", "is_public": true })));
        let mut conn = db_conn(&db);
        assert_eq!(conn.execute("UPDATE workflow_templates SET updated_at = {ts1} WHERE id = {t2}", &[text(FAR_FUTURE), text(&last)]).unwrap(), 1);
        assert_coded_4xx(&cb.patch(&format!("/v1/templates/{last}"), &json!({ "description": "once more" })), &format!("{l}: an edit past the last instant"));
        assert_coded_4xx(&cb.post(&format!("/v1/templates/{last}/versions"), &json!({ "patch": { "description": "v2" } })), &format!("{l}: a version past the last instant"));
        lists_are_served(&[&ca, &cb, &cc], &[], l);
        let tag = ca.get(&format!("/v1/templates/{last}")).header("etag").unwrap().trim_matches('"').to_string();
        assert_eq!(workflow_templates::model::etag::content_part(&tag), FAR_FUTURE, "{l}");
        assert_eq!(cb.delete(&format!("/v1/templates/{last}")).status, 204, "{l}");

        // The record is untouched: B edits it, everyone reads, B deletes it.
        let p = cb.patch(&format!("/v1/templates/{r_id}"), &json!({ "description": "edited" }));
        assert_eq!(p.status, 200, "{l}: {}", body(&p));
        assert!(p.header("etag").unwrap().starts_with("\"20"), "{l}: {:?}", p.header("etag"));
        lists_are_served(&[&ca, &cb, &cc], &[], l);
        for c in [&ca, &cb, &cc] {
            assert_eq!(c.get(&format!("/v1/templates/{r_id}")).status, 200, "{l}");
        }
        assert_eq!(cb.get("/v1/export").status, 200, "{l}");
        assert_eq!(cb.delete(&format!("/v1/templates/{r_id}")).status, 204, "{l}");
    }
}

/// Item 1, second half: rows that fail verification (planted with SQL behind the server's
/// back) are left out of every list and page, counted in `skipped`, logged; their owner can
/// still delete them and export the rest.
#[test]
fn rows_that_fail_verification_are_left_out_and_counted() {
    for db in backends() {
        let (a, b, cu) = (create_user(&db), create_user(&db), create_user(&db));
        let srv = Server::start_logged(&db, &[]);
        let (ca, cb, cc) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)), srv.client(Some(&cu.token)));
        let l = db.label;
        let mk = |c: &Client, name: &str, public: bool| id_of(&c.post("/v1/templates", &json!({ "name": name, "workflow_type": "plain", "is_public": public, "category": "research", "description": "a shared one" })));
        let tampered = mk(&cb, "shared tampered", true);
        let future = mk(&cb, "shared future", true);
        let overflow = mk(&cb, "shared overflow", true);
        let undecodable = mk(&cb, "shared undecodable", true);
        let private_bad = mk(&cb, "shared private bad", false);
        let good_a = mk(&ca, "shared good A", true);
        let good_b = mk(&cb, "shared good B", true);

        let mut conn = db_conn(&db);
        let mut plant = |sql: &str, params: &[workflow_templates_server::db::P]| assert_eq!(conn.execute(sql, params).unwrap(), 1, "{l}: {sql}");
        // The configuration changed behind the server's back: config_hash no longer matches.
        plant("UPDATE workflow_templates SET default_params = {j1} WHERE id = {t2}", &[text("{\"tampered\": true}"), text(&tampered)]);
        // A 5-digit year (what the PATCH wrote): no valid timestamp.
        let year_10000 = if l == "sqlite" { "+10000-01-01T00:00:00.000Z" } else { "10000-01-01T00:00:00.000Z" };
        plant("UPDATE workflow_templates SET updated_at = {ts1} WHERE id = {t2}", &[text(year_10000), text(&future)]);
        plant("UPDATE workflow_templates SET rating_count = {i1}, rating = 5.0 WHERE id = {t2}", &[int(MAX_SAFE as i64 + 1), text(&overflow)]);
        plant("UPDATE workflow_templates SET required_tools = {j1} WHERE id = {t2}", &[text("[\"tampered\"]"), text(&private_bad)]);
        // A row the store cannot even decode into a record (a negative counter).
        plant("UPDATE workflow_templates SET usage_count = -1 WHERE id = {t1}", &[text(&undecodable)]);
        drop(plant);

        let bad_public = [tampered.as_str(), future.as_str(), overflow.as_str(), undecodable.as_str()];
        lists_are_served(&[&ca, &cb, &cc], &[&tampered, &future, &overflow, &undecodable, &private_bad], l);
        // The count: others see the bad public rows skipped, the owner also its private one.
        let page = ca.get("/v1/templates?text=shared");
        assert_eq!(page.json()["skipped"], 4, "{l}: {}", body(&page));
        assert_eq!(page.json()["items"].as_array().unwrap().len(), 2, "{l}: the good ones are still there");
        let page = cb.get("/v1/templates?text=shared");
        assert_eq!(page.json()["skipped"], 5, "{l}: {}", body(&page));
        let page = ca.get("/v1/templates");
        assert!(page.json()["skipped"].as_u64().unwrap() >= 4, "{l}: the plain browse counts them too: {}", body(&page));
        assert_eq!(ca.get("/v1/templates?text=nothing-like-this").json()["skipped"], Value::Null, "{l}: absent when 0");
        // Other records read as before.
        assert_eq!(cc.get(&format!("/v1/templates/{good_a}")).status, 200, "{l}");
        assert_eq!(cc.get(&format!("/v1/templates/{good_b}")).status, 200, "{l}");
        // A bad row read on its own is an INTEGRITY error, not garbage.
        assert_eq!(ca.get(&format!("/v1/templates/{tampered}")).code(), "INTEGRITY", "{l}");
        // The server says which rows it left out.
        let log = srv.log_text();
        for id in bad_public {
            assert!(log.contains(id), "{l}: the log does not name {id}: {log}");
        }
        // The owner exports the rest and deletes the bad rows.
        let ex = cb.get("/v1/export");
        assert_eq!(ex.status, 200, "{l}: {}", body(&ex));
        assert!(body(&ex).contains(&good_b), "{l}");
        for id in bad_public.iter().copied().chain([private_bad.as_str()]) {
            let r = cb.delete(&format!("/v1/templates/{id}"));
            assert_eq!(r.status, 204, "{l}: the owner deletes the bad row {id}: {}", body(&r));
        }
        assert_eq!(cb.get("/v1/templates?text=shared").json()["skipped"], Value::Null, "{l}");
        assert_eq!(ca.get("/v1/templates?text=shared").json()["items"].as_array().unwrap().len(), 2, "{l}");
    }
}

/// Item 2: rating counts have the same bound as usage counters: one more rating past 2^53-1 is
/// a coded 4xx, and nothing that reads the template fails afterwards.
#[test]
fn counters_at_their_bound_refuse_one_more_and_reads_go_on() {
    for db in backends() {
        let (a, b, cu) = (create_user(&db), create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb, cc) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)), srv.client(Some(&cu.token)));
        let l = db.label;

        // The reproduction: B imports its public template at the bound; C rates it.
        let t = id_of(&cb.post("/v1/templates", &json!({ "name": "rated T", "workflow_type": "plain", "is_public": true })));
        let bundle = bundle_with(&cb, &t, |t| {
            t["rating"] = json!(5.0);
            t["rating_count"] = json!(MAX_SAFE);
        });
        let imp = cb.post("/v1/import", &bundle);
        assert!(imp.status == 200 || (400..500).contains(&imp.status), "{l}: {}", body(&imp));
        let r = cc.put(&format!("/v1/templates/{t}/rating"), &json!({ "stars": 4 }));
        assert!(r.status == 200 || (400..500).contains(&r.status) && !r.code().is_empty(), "{l}: {}", body(&r));
        if r.status == 200 {
            let n = r.json()["rating_count"].as_u64().unwrap();
            assert!(n <= MAX_SAFE, "{l}");
        }
        for c in [&ca, &cb, &cc] {
            assert_eq!(c.get(&format!("/v1/templates/{t}")).status, 200, "{l}");
        }
        lists_are_served(&[&ca, &cb, &cc], &[], l);

        // A public template whose stored count says 2^53-1 (planted; no rating rows behind it):
        // the aggregate follows the stored rating rows, so the next rating counts exactly the
        // rows (never 2^53), and reads go on.
        let p = id_of(&cb.post("/v1/templates", &json!({ "name": "at the bound", "workflow_type": "plain", "is_public": true })));
        let mut conn = db_conn(&db);
        assert_eq!(conn.execute("UPDATE workflow_templates SET rating_count = {i1}, rating = 5.0 WHERE id = {t2}", &[int(MAX_SAFE as i64), text(&p)]).unwrap(), 1);
        let r = cc.put(&format!("/v1/templates/{p}/rating"), &json!({ "stars": 4 }));
        assert_eq!(r.status, 200, "{l}: {}", body(&r));
        assert_eq!((r.json()["rating_count"].as_u64(), r.json()["rating"].as_f64()), (Some(1), Some(4.0)), "{l}");
        for c in [&ca, &cb, &cc] {
            assert_eq!(c.get(&format!("/v1/templates/{p}")).status, 200, "{l}");
            let r = c.get("/v1/templates?sort=rating");
            assert_eq!(r.status, 200, "{l}: {}", body(&r));
        }

        // The same for every other counter at its bound (planted), on the owner's private
        // template too: usage past 2^53-1 is a coded 4xx and moves nothing.
        let q = id_of(&cb.post("/v1/templates", &json!({ "name": "private at the bound", "workflow_type": "plain" })));
        assert_eq!(conn.execute("UPDATE workflow_templates SET usage_count = {i1}, total_tokens_used = 5 WHERE id = {t2}", &[int(MAX_SAFE as i64), text(&q)]).unwrap(), 1);
        assert_coded_4xx(&cb.post(&format!("/v1/templates/{q}/usage"), &json!({ "success": true, "responseTimeMs": 5 })), &format!("{l}: usage"));
        let got = cb.get(&format!("/v1/templates/{q}")).json();
        assert_eq!((got["usage_count"].as_u64(), got["total_tokens_used"].as_u64()), (Some(MAX_SAFE), Some(5)), "{l}: nothing moved");
        let tq = id_of(&cb.post("/v1/templates", &json!({ "name": "tokens at the bound", "workflow_type": "plain", "is_public": true })));
        assert_eq!(conn.execute("UPDATE workflow_templates SET total_tokens_used = {i1} WHERE id = {t2}", &[int(MAX_SAFE as i64 - 1), text(&tq)]).unwrap(), 1);
        assert_coded_4xx(&cc.post(&format!("/v1/templates/{tq}/usage"), &json!({ "success": true, "responseTimeMs": 5, "tokens": 2 })), &format!("{l}: tokens"));
        assert_eq!(ca.get(&format!("/v1/templates/{tq}")).status, 200, "{l}");
        // And an import cannot bring a count at the bound in (the server takes no statistics).
        let bundle = bundle_with(&cb, &t, |t| t["rating_count"] = json!(MAX_SAFE));
        assert_eq!(cb.post("/v1/import", &bundle).status, 200, "{l}");
        assert!(cb.get(&format!("/v1/templates/{t}")).json()["rating_count"].as_u64().unwrap() <= 1, "{l}");
    }
}

/// Item 3: what other users see of statistics comes only from their usage and ratings: an
/// import cannot forge a public template's statistics, nor the built-ins'.
#[test]
fn imported_statistics_never_reach_other_users() {
    let forged = |t: &mut Value| {
        t["usage_count"] = json!(1_000_000_000_u64);
        t["rating"] = json!(5.0);
        t["rating_count"] = json!(1000);
        t["success_rate"] = json!(1.0);
        t["avg_response_time_ms"] = json!(1);
        t["last_used_at"] = json!("2026-01-01T00:00:00.000Z");
        t["total_tokens_used"] = json!(1_000_000);
        t["total_cost"] = json!(12.5);
        t["avg_tokens_per_use"] = json!(0.001);
    };
    let zero = |v: &Value, what: &str| {
        assert_eq!(v["usage_count"], 0, "{what}: {v}");
        assert_eq!(v["rating_count"], 0, "{what}: {v}");
        assert_eq!(v["rating"], Value::Null, "{what}: {v}");
        assert_eq!(v["success_rate"], Value::Null, "{what}: {v}");
        assert_eq!(v["total_tokens_used"], 0, "{what}: {v}");
    };
    for db in backends() {
        let (a, b, cu) = (create_user(&db), create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb, cc) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)), srv.client(Some(&cu.token)));
        let l = db.label;
        let honest = id_of(&ca.post("/v1/templates", &json!({ "name": "honest", "workflow_type": "plain", "is_public": true })));
        assert_eq!(cc.post(&format!("/v1/templates/{honest}/usage"), &json!({ "success": true, "responseTimeMs": 10 })).status, 200);

        // A public template imported with forged statistics.
        let t = id_of(&cb.post("/v1/templates", &json!({ "name": "forged", "workflow_type": "plain", "is_public": true })));
        let imp = cb.post("/v1/import", &bundle_with(&cb, &t, forged));
        assert!(imp.status == 200 || (400..500).contains(&imp.status), "{l}: {}", body(&imp));
        // A private one imported with forged statistics, then published.
        let q = id_of(&cb.post("/v1/templates", &json!({ "name": "forged then published", "workflow_type": "plain" })));
        assert_eq!(cb.post("/v1/import", &bundle_with(&cb, &q, forged)).status, 200, "{l}");
        let p = cb.patch(&format!("/v1/templates/{q}"), &json!({ "is_public": true }));
        assert_eq!(p.status, 200, "{l}: {}", body(&p));
        // A new public version of a private template with forged statistics.
        let v = id_of(&cb.post("/v1/templates", &json!({ "name": "forged then versioned", "workflow_type": "plain" })));
        assert_eq!(cb.post("/v1/import", &bundle_with(&cb, &v, forged)).status, 200, "{l}");
        let v2 = id_of(&cb.post(&format!("/v1/templates/{v}/versions"), &json!({ "patch": { "is_public": true } })));

        for c in [&ca, &cc] {
            for id in [&t, &q, &v2] {
                zero(&c.get(&format!("/v1/templates/{id}")).json(), &format!("{l}: another user reads {id}"));
            }
            let top = c.get("/v1/templates?sort=popular&includeBuiltin=false").json();
            assert_eq!(top["items"][0]["id"], honest.as_str(), "{l}: the forged counts do not lead 'most used': {top}");
            let best = c.get("/v1/templates?sort=rating&includeBuiltin=false").json();
            assert!(best["items"].as_array().unwrap().iter().all(|i| i["rating"].is_null()), "{l}: nobody rated anything: {best}");
        }

        // Built-in statistics in a bundle: every user's built-in statistics stay what was counted.
        let before = ca.get(&format!("/v1/templates/{BUILTIN}")).json();
        let mut bundle = cb.get("/v1/export").json();
        bundle["builtin_stats"] = json!([{ "id": BUILTIN, "rating": 5.0, "rating_count": 1000, "usage_count": 1_000_000_000_u64, "success_rate": 1.0, "avg_response_time_ms": 1, "last_used_at": "2026-01-01T00:00:00.000Z", "total_tokens_used": 5, "total_cost": 1.0, "avg_tokens_per_use": 0.1 }]);
        let imp = cb.post("/v1/import", &bundle);
        assert!(imp.status == 200 || (400..500).contains(&imp.status), "{l}: {}", body(&imp));
        for c in [&ca, &cb, &cc] {
            let after = c.get(&format!("/v1/templates/{BUILTIN}")).json();
            for k in ["usage_count", "rating", "rating_count", "success_rate", "total_tokens_used"] {
                assert_eq!(after[k], before[k], "{l}: built-in {k} changed by an import");
            }
        }
        // Counted usage still counts.
        assert_eq!(cc.post(&format!("/v1/templates/{BUILTIN}/usage"), &json!({ "success": true, "responseTimeMs": 10 })).json()["usage_count"], 1, "{l}");
    }
}

/// Item 4: the aggregate always equals what the stored ratings say, whatever way a rating row
/// got in (rated, imported, imported over an earlier rating).
#[test]
fn imported_ratings_always_count_in_the_aggregate() {
    for db in backends() {
        let (a, b, cu) = (create_user(&db), create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb, cc) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)), srv.client(Some(&cu.token)));
        let l = db.label;
        let p = id_of(&ca.post("/v1/templates", &json!({ "name": "P", "workflow_type": "plain", "is_public": true })));
        assert_eq!(ca.put(&format!("/v1/templates/{p}/rating"), &json!({ "stars": 1 })).status, 200, "{l}");
        assert_eq!(cc.put(&format!("/v1/templates/{p}/rating"), &json!({ "stars": 1 })).status, 200, "{l}");
        let agg = |what: &str, count: u64, mean: f64| {
            for c in [&ca, &cb, &cc] {
                let t = c.get(&format!("/v1/templates/{p}")).json();
                assert_eq!(t["rating_count"], count, "{l}: {what}: {t}");
                let r = t["rating"].as_f64().unwrap();
                assert!((r - mean).abs() < 1e-12, "{l}: {what}: rating {r}, expected {mean}");
            }
        };
        let mut bundle = cb.get("/v1/export").json();
        bundle["ratings"] = json!([{ "template_id": p, "user_id": b.id, "stars": 0, "updated_at": "2026-01-01T00:00:00.000Z" }]);
        let imp = cb.post("/v1/import", &bundle);
        if imp.status == 200 {
            agg("after the imported 0", 3, 2.0 / 3.0);
        } else {
            assert_coded_4xx(&imp, l);
            agg("import refused", 2, 1.0);
        }
        let r = cb.put(&format!("/v1/templates/{p}/rating"), &json!({ "stars": 5 }));
        assert_eq!(r.status, 200, "{l}: {}", body(&r));
        agg("after B's 5", 3, 7.0 / 3.0);
        // An imported rating over an existing one replaces it in the aggregate too.
        let mut bundle = cb.get("/v1/export").json();
        bundle["ratings"] = json!([{ "template_id": p, "user_id": b.id, "stars": 2, "updated_at": "2026-01-02T00:00:00.000Z" }]);
        if cb.post("/v1/import", &bundle).status == 200 {
            agg("after the imported 2", 3, 4.0 / 3.0);
        }
        // Same on a built-in.
        assert_eq!(ca.put(&format!("/v1/templates/{BUILTIN}/rating"), &json!({ "stars": 1 })).status, 200);
        let mut bundle = cb.get("/v1/export").json();
        bundle["ratings"] = json!([{ "template_id": BUILTIN, "user_id": b.id, "stars": 4, "updated_at": "2026-01-01T00:00:00.000Z" }]);
        let imported = cb.post("/v1/import", &bundle).status == 200;
        let r = cc.put(&format!("/v1/templates/{BUILTIN}/rating"), &json!({ "stars": 4 })).json();
        let (count, mean) = if imported { (3, 3.0) } else { (2, 2.5) };
        assert_eq!(r["rating_count"], count, "{l}: {r}");
        assert!((r["rating"].as_f64().unwrap() - mean).abs() < 1e-12, "{l}: {r}");
    }
}

/// Item 5: no error names a template the caller cannot see. For another user's private
/// template, every operation answers exactly what it answers for an id that does not exist,
/// and errors about derived templates give counts only.
#[test]
fn errors_never_name_private_templates_of_others() {
    for db in backends() {
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let l = db.label;
        let secret = "B's secret child";
        let p = id_of(&ca.post("/v1/templates", &json!({ "name": "public base P", "workflow_type": "tools", "required_tools": ["search"], "is_public": true })));
        let q = id_of(&cb.post("/v1/templates", &json!({ "name": secret, "workflow_type": "tools", "base_template_id": p })));
        let leaks = |r: &Resp| {
            let s = body(r);
            s.contains(&q) || s.contains(&q.to_lowercase()) || s.contains(secret) || s.contains(&b.id)
        };

        // The reproduction, and everything else A may try on P.
        let tries: Vec<(&str, String, Option<Value>)> = vec![
            ("PATCH", format!("/v1/templates/{p}"), Some(json!({ "workflow_type": "plain", "required_tools": [] }))),
            ("PATCH", format!("/v1/templates/{p}"), Some(json!({ "required_tools": [] }))),
            ("PATCH", format!("/v1/templates/{p}"), Some(json!({ "is_public": false }))),
            ("DELETE", format!("/v1/templates/{p}"), None),
            ("GET", format!("/v1/templates/{p}/derived"), None),
        ];
        for (method, path, b_) in &tries {
            let raw = b_.as_ref().map(|v| v.to_string());
            let r = ca.req(method, path, &[], raw.as_deref().map(str::as_bytes));
            assert!(r.status < 500, "{l}: {method} {path}: {}", body(&r));
            assert!(!leaks(&r), "{l}: {method} {path} names B's private template: {}", body(&r));
        }
        // What A may do (README "The owner of a public base ..."): edits that break B's hidden
        // child are refused with a count; unpublishing and deleting are HAS_DERIVED with a
        // count; a new version is free (nobody derives from it) and may then be made private.
        let r = ca.patch(&format!("/v1/templates/{p}"), &json!({ "workflow_type": "plain", "required_tools": [] }));
        assert_eq!((r.status, r.code().as_str()), (422, "VALIDATION_FAILED"), "{l}: {}", body(&r));
        assert!(!leaks(&r), "{l}: {}", body(&r));
        assert!(body(&r).contains("derived"), "{l}: {}", body(&r));
        for r in [ca.patch(&format!("/v1/templates/{p}"), &json!({ "is_public": false })), ca.delete(&format!("/v1/templates/{p}"))] {
            assert_eq!((r.status, r.code().as_str()), (409, "HAS_DERIVED"), "{l}: {}", body(&r));
            assert_eq!(r.json()["error"]["details"]["hidden"], 1, "{l}: {}", body(&r));
            assert!(!leaks(&r), "{l}: {}", body(&r));
        }
        assert_eq!(ca.patch(&format!("/v1/templates/{p}"), &json!({ "description": "still public", "tags": ["x"] })).status, 200, "{l}");
        let v2 = ca.post(&format!("/v1/templates/{p}/versions"), &json!({ "patch": { "workflow_type": "plain", "required_tools": [] } }));
        assert_eq!(v2.status, 201, "{l}: {}", body(&v2));
        assert!(!leaks(&v2), "{l}: {}", body(&v2));
        let v2 = v2.json()["id"].as_str().unwrap().to_string();
        assert_eq!(ca.patch(&format!("/v1/templates/{v2}"), &json!({ "is_public": false })).status, 200, "{l}");
        assert_eq!(cb.get(&format!("/v1/templates/{q}/resolve")).status, 200, "{l}: B's child still resolves against the version it chose");

        // Every operation on B's private id answers as for an unknown id (no existence oracle).
        let unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let mine = id_of(&ca.post("/v1/templates", &json!({ "name": "A's own", "workflow_type": "plain" })));
        let mut bundle = ca.get("/v1/export").json();
        let my_record = bundle["workflow_templates"].as_array().unwrap().iter().find(|t| t["id"] == mine.as_str()).unwrap().clone();
        bundle["workflow_templates"] = json!([]);
        let answer = |x: &str| -> Vec<(u16, String)> {
            let mut out = Vec::new();
            let mut push = |r: Resp| out.push((r.status, body(&r).replace(x, "<ID>").replace(&x.to_lowercase(), "<ID>")));
            for path in ["", "/versions", "/chain", "/resolve", "/derived"] {
                push(ca.get(&format!("/v1/templates/{x}{path}")));
            }
            push(ca.patch(&format!("/v1/templates/{x}"), &json!({ "description": "x" })));
            push(ca.delete(&format!("/v1/templates/{x}")));
            push(ca.post(&format!("/v1/templates/{x}/versions"), &json!({ "patch": {} })));
            push(ca.post(&format!("/v1/templates/{x}/usage"), &json!({ "success": true, "responseTimeMs": 1 })));
            push(ca.put(&format!("/v1/templates/{x}/rating"), &json!({ "stars": 3 })));
            push(ca.get(&format!("/v1/diff?a={x}&b={mine}")));
            push(ca.post("/v1/templates", &json!({ "name": "child of x", "workflow_type": "tools", "base_template_id": x })));
            push(ca.post("/v1/preview", &json!({ "draft": { "name": "p", "workflow_type": "tools", "base_template_id": x } })));
            // Imports: a record deriving from it, a rating of it.
            let mut rec = my_record.clone();
            rec["id"] = json!("01ARZ3NDEKTSV4RRFFQ69G5FZZ");
            rec["name"] = json!("imported child of x");
            rec["workflow_type"] = json!("tools");
            rec["required_tools"] = json!(["search"]);
            rec["base_template_id"] = json!(x);
            let t: workflow_templates::WorkflowTemplate = serde_json::from_value(rec.clone()).unwrap();
            rec["config_hash"] = json!(workflow_templates::hash::config_hash(&t.config()));
            let mut bd = bundle.clone();
            bd["workflow_templates"] = json!([rec]);
            push(ca.post("/v1/import", &bd));
            let mut bd = bundle.clone();
            bd["ratings"] = json!([{ "template_id": x, "user_id": a.id, "stars": 3, "updated_at": "2026-01-01T00:00:00.000Z" }]);
            push(ca.post("/v1/import", &bd));
            out
        };
        let for_private = answer(&q);
        let for_unknown = answer(unknown);
        for (i, (p_, u_)) in for_private.iter().zip(&for_unknown).enumerate() {
            assert_eq!(p_, u_, "{l}: probe {i}: B's private id answers differently from an unknown id");
            assert!(!p_.1.contains(secret), "{l}: probe {i}");
        }
        // An import under B's id is refused (ids are global keys: the caller, who holds the
        // id, learns it is taken), without saying whose it is or what it is.
        let mut rec = my_record.clone();
        rec["id"] = json!(q);
        rec["name"] = json!("imported under B's id");
        let mut bd = bundle.clone();
        bd["workflow_templates"] = json!([rec]);
        let r = ca.post("/v1/import", &bd);
        assert_coded_4xx(&r, l);
        assert!(!body(&r).contains(secret) && !body(&r).contains(&b.id) && !body(&r).to_lowercase().contains("another user"), "{l}: {}", body(&r));
        // By name: a spec whose base is B's private template's name instantiates as for a name
        // nobody uses.
        let by_name = |name: &str| {
            let s = ca.post("/v1/specs", &json!({ "name": format!("spec over {name}"), "workflow_type": "tools", "base_template_name": name }));
            let sid = id_of(&s);
            let r = ca.post(&format!("/v1/specs/{sid}/instantiate"), &json!({ "name": format!("from {name}") }));
            (r.status, body(&r).replace(name, "<NAME>").replace(&sid, "<SID>"))
        };
        let (sp, su) = (by_name(secret), by_name("nobody's name"));
        assert_eq!(sp.0, su.0, "{l}: {} / {}", sp.1, su.1);
        assert!(!sp.1.contains(&q), "{l}: {}", sp.1);
        // B's template is intact.
        assert_eq!(cb.get(&format!("/v1/templates/{q}")).json()["name"], secret, "{l}");

        // Idempotency keys are per user: A's request with B's key is A's own.
        let k = [("Idempotency-Key", "shared-key-1")];
        let d = json!({ "name": "same body", "workflow_type": "plain" }).to_string();
        let rb = cb.req("POST", "/v1/templates", &k, Some(d.as_bytes()));
        assert_eq!(rb.status, 201, "{l}");
        let ra = ca.req("POST", "/v1/templates", &k, Some(d.as_bytes()));
        assert_eq!(ra.status, 201, "{l}");
        assert_eq!(ra.header("idempotent-replayed"), None, "{l}");
        assert_ne!(ra.json()["id"], rb.json()["id"], "{l}");
        assert_eq!(ra.json()["owner_id"], a.id.as_str(), "{l}");
    }
}
