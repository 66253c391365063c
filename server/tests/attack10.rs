//! Issue 10, second look: variants of its kinds that the first fixes missed, each against a real
//! server process (users A, B, C), on SQLite and (when WT_TEST_POSTGRES_URL is set) PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};

const MAX_SAFE: u64 = 9_007_199_254_740_991;

fn id_of(r: &Resp) -> String {
    assert!(r.status == 200 || r.status == 201, "expected success, got {} {}", r.status, String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

fn body(r: &Resp) -> String {
    String::from_utf8_lossy(&r.raw).into_owned()
}

/// The caller's export with the template `id` changed by `f` (its config_hash recomputed).
fn bundle_with(c: &Client, id: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut bundle = c.get("/v1/export").json();
    let t = bundle["workflow_templates"].as_array_mut().unwrap().iter_mut().find(|t| t["id"] == id).expect("template in the export");
    f(t);
    let rec: workflow_templates::WorkflowTemplate = serde_json::from_value(t.clone()).unwrap();
    t["config_hash"] = json!(workflow_templates::hash::config_hash(&rec.config()));
    bundle
}

/// Item 5 (what the owner of a public base may do): an import is one more way to edit a
/// template, so it must not unpublish, or break the configuration of, a base that another
/// user's template derives from (the PATCH is refused with HAS_DERIVED / a `derived` count).
#[test]
fn import_cannot_unpublish_or_break_a_base_others_derive_from() {
    for db in backends() {
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let l = db.label;
        let p = id_of(&ca.post("/v1/templates", &json!({ "name": "public base P", "workflow_type": "tools", "required_tools": ["search"], "is_public": true })));
        let q = id_of(&cb.post("/v1/templates", &json!({ "name": "B's private child", "workflow_type": "tools", "base_template_id": p })));
        assert_eq!(cb.get(&format!("/v1/templates/{q}/resolve")).status, 200, "{l}");

        // The PATCH is refused (shared_catalog.rs); the same change by import must be too.
        assert_eq!(ca.patch(&format!("/v1/templates/{p}"), &json!({ "is_public": false })).status, 409, "{l}");
        let r = ca.post("/v1/import", &bundle_with(&ca, &p, |t| t["is_public"] = json!(false)));
        assert!((400..500).contains(&r.status), "{l}: an import made P private under B's child: {} {}", r.status, body(&r));
        assert!(!body(&r).contains(&q), "{l}: {}", body(&r));
        let r = ca.post(
            "/v1/import",
            &bundle_with(&ca, &p, |t| {
                t["workflow_type"] = json!("plain");
                t["required_tools"] = json!([]);
            }),
        );
        assert!((400..500).contains(&r.status), "{l}: an import broke B's child's configuration: {} {}", r.status, body(&r));
        assert!(!body(&r).contains(&q), "{l}: {}", body(&r));

        // B's child still resolves, and B can still read and export it.
        let res = cb.get(&format!("/v1/templates/{q}/resolve"));
        assert_eq!(res.status, 200, "{l}: B's child after A's imports: {}", body(&res));
        assert_eq!(cb.get(&format!("/v1/templates/{p}")).status, 200, "{l}: P is still public");
    }
}

/// Item 2 (counters) / lock-out: one use recorded by one user with the largest accepted values
/// must not stop every other user's usage from counting on a shared template or a built-in
/// for ever. Each run is bounded so that no real run is refused and no one request moves a
/// total near 2^53-1 (responseTimeMs <= 24 h, tokens <= 10^8, cost <= 10^6): a run above is
/// VALIDATION_FAILED / OUT_OF_RANGE at its field, a run at the bound counts, and so do later
/// ordinary runs.
#[test]
fn one_recorded_use_cannot_stop_usage_counting_for_everyone() {
    for db in backends() {
        let (a, cu) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cc) = (srv.client(Some(&a.token)), srv.client(Some(&cu.token)));
        let l = db.label;
        let p = id_of(&ca.post("/v1/templates", &json!({ "name": "A's shared P", "workflow_type": "plain", "is_public": true })));
        for target in [p.as_str(), BUILTIN] {
            let url = format!("/v1/templates/{target}/usage");
            for (field, huge, at_bound) in [
                ("responseTimeMs", json!({ "success": true, "responseTimeMs": MAX_SAFE }), json!({ "success": true, "responseTimeMs": 86_400_000 })),
                ("tokens", json!({ "success": true, "responseTimeMs": 1, "tokens": MAX_SAFE }), json!({ "success": true, "responseTimeMs": 1, "tokens": 100_000_000 })),
                ("cost", json!({ "success": true, "responseTimeMs": 1, "cost": MAX_SAFE as f64 }), json!({ "success": true, "responseTimeMs": 1, "cost": 1_000_000.0 })),
                ("responseTimeMs", json!({ "success": true, "responseTimeMs": 86_400_001 }), json!({ "success": false, "responseTimeMs": 0 })),
                ("tokens", json!({ "success": true, "responseTimeMs": 1, "tokens": 100_000_001 }), json!({ "success": true, "responseTimeMs": 1, "tokens": 0 })),
                ("cost", json!({ "success": true, "responseTimeMs": 1, "cost": 1_000_000.5 }), json!({ "success": true, "responseTimeMs": 1, "cost": 0.0 })),
            ] {
                // C's run above a per-run bound is refused at its field, and nothing is counted ...
                let before = cc.get(&format!("/v1/templates/{target}")).json()["usage_count"].as_u64().unwrap();
                let r = cc.post(&url, &huge);
                assert_eq!((r.status, r.code().as_str()), (422, "VALIDATION_FAILED"), "{l}: {huge}: {}", body(&r));
                let v = &r.json()["error"]["details"]["violations"];
                assert_eq!((v[0]["field"].as_str(), v[0]["code"].as_str(), v.as_array().unwrap().len()), (Some(field), Some("OUT_OF_RANGE"), 1), "{l}: {v}");
                assert_eq!(cc.get(&format!("/v1/templates/{target}")).json()["usage_count"].as_u64(), Some(before), "{l}");
                // ... one at the bound counts ...
                let r = cc.post(&url, &at_bound);
                assert_eq!(r.status, 200, "{l}: {at_bound}: {}", body(&r));
                // ... and A's ordinary runs still count.
                let r = ca.post(&url, &json!({ "success": true, "responseTimeMs": 120, "tokens": 10, "cost": 0.01 }));
                assert_eq!(r.status, 200, "{l}: after C's run {at_bound} on {target}, A's ordinary use is refused: {}", body(&r));
                assert_eq!(r.json()["usage_count"].as_u64(), Some(before + 2), "{l}");
            }
        }
    }
}

/// Lock-out of one's own data: B rated A's public template; A then made it private (allowed:
/// nothing derives from it). B's own export, imported back unchanged, must be accepted (a
/// restore never fails on what the server itself exported), and must not tell B anything new.
#[test]
fn own_export_imports_back_after_a_rated_template_went_private() {
    for db in backends() {
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let l = db.label;
        let p = id_of(&ca.post("/v1/templates", &json!({ "name": "rated then hidden", "workflow_type": "plain", "is_public": true })));
        id_of(&cb.post("/v1/templates", &json!({ "name": "B's own", "workflow_type": "plain" })));
        assert_eq!(cb.put(&format!("/v1/templates/{p}/rating"), &json!({ "stars": 4 })).status, 200, "{l}");
        let r = ca.patch(&format!("/v1/templates/{p}"), &json!({ "is_public": false, "name": "A's secret name now" }));
        assert_eq!(r.status, 200, "{l}: {}", body(&r));
        let export = cb.get("/v1/export");
        assert_eq!(export.status, 200, "{l}");
        assert!(!body(&export).contains("A's secret name now"), "{l}: {}", body(&export));
        let r = cb.post("/v1/import", &export.json());
        assert_eq!(r.status, 200, "{l}: B's unchanged export is refused: {}", body(&r));
        let t = ca.get(&format!("/v1/templates/{p}")).json();
        assert_eq!((t["rating"].as_f64(), t["rating_count"].as_u64()), (Some(4.0), Some(1)), "{l}: the aggregate is what the rows say: {t}");
        // Changed, the same row is refused as for a template that does not exist.
        let mut bundle = export.json();
        bundle["ratings"][0]["stars"] = json!(1);
        let r = cb.post("/v1/import", &bundle);
        assert_eq!((r.status, r.code().as_str()), (422, "VALIDATION_FAILED"), "{l}: {}", body(&r));
        assert!(!body(&r).contains("A's secret name now"), "{l}");
    }
}

/// Item 6 (%-encoding), the query-string variant: a query parameter that is not UTF-8 once
/// percent-decoded is refused like such a path segment (400 INVALID_ARGUMENT, JSON), not
/// silently decoded to U+FFFD (which would search for, or match, that character).
#[test]
fn query_parameters_that_are_not_utf8_are_refused() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start(&db);
    let c = srv.client(Some(&a.token));
    id_of(&c.post("/v1/templates", &json!({ "name": "odd \u{FFFD} name", "workflow_type": "plain", "is_public": true })));
    for q in ["/v1/templates?text=%FF", "/v1/templates?tags=%C0%AF", "/v1/templates?text=ok&%FF=1", "/v1/templates?text=%ED%A0%80"] {
        let r = c.get(q);
        assert_eq!((r.status, r.code().as_str()), (400, "INVALID_ARGUMENT"), "{q}: {}", body(&r));
        assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{q}");
    }
    // Well-formed escapes still decode (and '+' is a space).
    let r = c.get("/v1/templates?text=odd+%EF%BF%BD");
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["total"], 1, "{}", body(&r));
}

/// Bad input of any shape gets a coded client error, the same on every backend: U+0000 in a
/// plain text column (description, changelog, a spec's description) was accepted by SQLite but
/// made PostgreSQL answer 503 STORAGE_UNAVAILABLE (a retryable outage) with the driver's
/// message. Now every string of a record, JSON values and keys included, is refused by the
/// core with VALIDATION_FAILED / CONTROL_CHAR at its path, on every backend, and nothing is
/// stored. (The PostgreSQL half runs when WT_TEST_POSTGRES_URL is set.)
#[test]
fn nul_in_text_fields_is_the_same_coded_answer_on_every_backend() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let t = id_of(&c.post("/v1/templates", &json!({ "name": "nul base", "workflow_type": "plain" })));
        let mut import = c.get("/v1/export").json();
        import["workflow_templates"][0]["default_params"] = json!({ "deep": ["ok", "a\u{0}b"] });
        let tries = [
            ("POST", "/v1/templates".to_string(), json!({ "name": "nul description", "workflow_type": "plain", "description": "a\u{0}b" }), "description"),
            ("POST", "/v1/templates".to_string(), json!({ "name": "nul\u{0}name", "workflow_type": "plain" }), "name"),
            ("POST", "/v1/templates".to_string(), json!({ "name": "nul tag", "workflow_type": "plain", "tags": ["a\u{0}"] }), "tags[0]"),
            ("POST", "/v1/templates".to_string(), json!({ "name": "nul param", "workflow_type": "plain", "default_params": { "p": "a\u{0}b" } }), "default_params.p"),
            ("PATCH", format!("/v1/templates/{t}"), json!({ "description": "a\u{0}b" }), "description"),
            ("PATCH", format!("/v1/templates/{t}"), json!({ "default_params": { "k\u{0}": 1 } }), "default_params[\"k\\u0000\"]"),
            ("PATCH", format!("/v1/templates/{t}"), json!({ "extra_metadata": { "m": { "n": "\u{0}" } } }), "extra_metadata.m.n"),
            ("POST", format!("/v1/templates/{t}/versions"), json!({ "patch": {}, "changelog": "a\u{0}b" }), "changelog"),
            ("POST", "/v1/specs".to_string(), json!({ "name": "nul spec", "workflow_type": "plain", "description": "a\u{0}b" }), "description"),
            ("POST", "/v1/specs".to_string(), json!({ "name": "nul spec 2", "workflow_type": "plain", "default_params": { "\u{0}": true } }), "default_params[\"\\u0000\"]"),
            ("POST", "/v1/import".to_string(), import, "workflow_templates[0].default_params.deep[1]"),
        ];
        for (method, path, b_, field) in tries {
            let raw = b_.to_string();
            let r = c.req(method, &path, &[], Some(raw.as_bytes()));
            assert_eq!((r.status, r.code().as_str()), (422, "VALIDATION_FAILED"), "{l}: {method} {path} with U+0000: {}", body(&r));
            let vs = r.json()["error"]["details"]["violations"].clone();
            assert!(vs.as_array().unwrap().iter().any(|v| v["code"] == "CONTROL_CHAR" && v["field"].as_str().is_some_and(|f| f.ends_with(field))), "{l}: {method} {path}: {vs}");
        }
        // Nothing was stored: one template, unchanged, and no spec.
        let list = c.get("/v1/templates?includeBuiltin=false").json();
        assert_eq!(list["total"], 1, "{l}: {list}");
        let got = c.get(&format!("/v1/templates/{t}")).json();
        assert_eq!((got["version"].as_u64(), got["description"].as_str(), got["default_params"].clone()), (Some(1), Some(""), json!({})), "{l}: {got}");
    }
}

/// Item 1, pages: a bad row must never cost an intact row its place. Discovery pages come from
/// the ordered indexes (SQL order) and are re-sorted by the core; a row the store quarantines
/// (undecodable: broken JSON column, negative counter) or whose sort key the core reads
/// differently (a 5-digit year) sorts elsewhere in the core than in SQL, so paging through
/// "popular" / "recent" with a small limit must still show every intact row exactly once.
#[test]
fn paging_past_a_bad_row_never_loses_or_repeats_an_intact_row() {
    use workflow_templates_server::db::text;
    for db in backends() {
        let (a, cu) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cc) = (srv.client(Some(&a.token)), srv.client(Some(&cu.token)));
        let l = db.label;
        let mk = |name: &str, uses: usize, stars: u64| {
            let id = id_of(&ca.post("/v1/templates", &json!({ "name": name, "workflow_type": "plain", "is_public": true })));
            for _ in 0..uses {
                assert_eq!(cc.post(&format!("/v1/templates/{id}/usage"), &json!({ "success": true, "responseTimeMs": 5 })).status, 200);
            }
            assert_eq!(cc.put(&format!("/v1/templates/{id}/rating"), &json!({ "stars": stars })).status, 200);
            id
        };
        let bad_json = mk("m undecodable", 6, 5);
        let intact = [mk("x intact", 3, 4), mk("y intact", 2, 3), mk("z intact", 1, 2)];
        let bad_year = mk("a bad year", 0, 1);
        let mut conn = db_conn(&db);
        assert_eq!(conn.execute("UPDATE workflow_templates SET rating_count = -1 WHERE id = {t1}", &[text(&bad_json)]).unwrap(), 1, "{l}");
        let year_10000 = if l == "sqlite" { "+10000-01-01T00:00:00.000Z" } else { "10000-01-01T00:00:00.000Z" };
        assert_eq!(conn.execute("UPDATE workflow_templates SET updated_at = {ts1} WHERE id = {t2}", &[text(year_10000), text(&bad_year)]).unwrap(), 1, "{l}");
        drop(conn);
        for sort in ["popular", "rating", "recent", "name"] {
            for limit in [1, 2, 3] {
                let (mut seen, mut skipped, mut offset) = (Vec::new(), 0, 0);
                loop {
                    let r = cc.get(&format!("/v1/templates?sort={sort}&includeBuiltin=false&limit={limit}&offset={offset}"));
                    assert_eq!(r.status, 200, "{l}: {}", body(&r));
                    let page = r.json();
                    seen.extend(page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()));
                    skipped += page["skipped"].as_u64().unwrap_or(0);
                    offset += limit;
                    if offset >= page["total"].as_u64().unwrap() {
                        break;
                    }
                }
                let mut got = seen.clone();
                got.sort();
                let mut want: Vec<String> = intact.to_vec();
                want.sort();
                assert_eq!(got, want, "{l}: sort={sort} limit={limit}: pages showed {seen:?}, skipped {skipped}");
                assert_eq!(skipped, 2, "{l}: sort={sort} limit={limit}");
            }
        }
    }
}

/// Item 1's quarantine must never lose stored data: a row the store cannot decode is read as a
/// placeholder record (empty configuration, a hash that never verifies). An owner's edit that
/// rewrites every version (a rename) or promotes the next version (deleting the latest) must
/// not write that placeholder over what is stored.
#[test]
fn edits_never_write_a_quarantined_placeholder_over_the_stored_row() {
    use workflow_templates_server::db::text;
    for db in backends() {
        let b = create_user(&db);
        let srv = Server::start(&db);
        let cb = srv.client(Some(&b.token));
        let l = db.label;
        let stored = |conn: &mut workflow_templates_server::db::Conn, id: &str| -> String {
            let rows = conn.query("SELECT CAST(default_params AS TEXT), config_hash FROM workflow_templates WHERE id = {t1}", &[text(id)]).unwrap();
            format!("{:?}", rows[0])
        };
        for how in ["rename", "delete the latest"] {
            let v1 = id_of(&cb.post("/v1/templates", &json!({ "name": format!("lineage {how}"), "workflow_type": "plain", "default_params": { "precious": "data" } })));
            let v2 = id_of(&cb.post(&format!("/v1/templates/{v1}/versions"), &json!({ "patch": { "description": "v2" } })));
            let mut conn = db_conn(&db);
            assert_eq!(conn.execute("UPDATE workflow_templates SET usage_count = -1 WHERE id = {t1}", &[text(&v1)]).unwrap(), 1, "{l}");
            let before = stored(&mut conn, &v1);
            assert!(before.contains("precious"), "{l}: {before}");
            let r = match how {
                "rename" => cb.patch(&format!("/v1/templates/{v2}"), &json!({ "name": format!("renamed {how}") })),
                _ => cb.delete(&format!("/v1/templates/{v2}")),
            };
            assert!(r.status < 500 || r.code() == "INTEGRITY", "{l}: {how}: {} {}", r.status, body(&r));
            let after = stored(&mut conn, &v1);
            assert!(after.contains("precious") && !after.contains("unreadable row"), "{l}: {how} wrote the placeholder over the stored row: {before} -> {after}");
            // The owner can still delete the bad row.
            assert_eq!(cb.delete(&format!("/v1/templates/{v1}")).status, 204, "{l}: {how}");
        }
    }
}
