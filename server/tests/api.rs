//! The HTTP API end to end against real server processes: every catalog operation, the access
//! matrix, SQL metacharacters and injection strings, oversized and malformed bodies, CORS.
//! Runs on SQLite, and on PostgreSQL too when WT_TEST_POSTGRES_URL is set.

mod common;

use common::*;
use serde_json::json;

fn id_of(r: &Resp) -> String {
    assert!(r.status == 200 || r.status == 201, "expected success, got {} {}", r.status, String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

#[test]
fn every_operation_round_trips() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;

        assert_eq!(c.get("/v1/me").json()["user_id"], a.id, "{l}");
        assert_eq!(srv.client(None).get("/v1/health").status, 200);
        let spec = srv.client(None).get("/v1/openapi.yaml");
        assert_eq!(spec.status, 200);
        assert!(String::from_utf8_lossy(&spec.raw).starts_with("openapi: 3.1"), "{l}");

        // create / get / ETag
        let r = c.post("/v1/templates", &json!({ "name": "Base", "workflow_type": "tools", "required_tools": ["search"], "default_params": { "model": { "name": "m", "temperature": 0.5 } }, "is_public": true, "category": "research", "tags": ["alpha", "beta"] }));
        assert_eq!(r.status, 201, "{l} {:?}", r.json());
        let base = r.json();
        let base_id = base["id"].as_str().unwrap().to_string();
        // `"<updated_at>.<stats part>"` (the whole representation: server/README.md "If-Match / ETag").
        let tag = workflow_templates::model::etag::representation_etag(&base).unwrap();
        assert_eq!(r.header("etag").unwrap(), format!("\"{tag}\""));
        assert_eq!(workflow_templates::model::etag::content_part(&tag), base["updated_at"].as_str().unwrap());
        let got = c.get(&format!("/v1/templates/{base_id}"));
        assert_eq!(got.json(), base, "{l}: a record reads back exactly as written");
        assert_eq!(c.get(&format!("/v1/templates/{}", base_id.to_lowercase())).json()["id"], base_id, "{l}: lowercase ids are accepted");

        // name uniqueness (case-insensitive)
        let dup = c.post("/v1/templates", &json!({ "name": "  base ", "workflow_type": "plain" }));
        assert_eq!((dup.status, dup.code().as_str()), (409, "NAME_TAKEN"), "{l}");

        // derived + chain + resolve
        let child = c.post("/v1/templates", &json!({ "name": "Child", "workflow_type": "tools", "base_template_id": base_id, "default_params": { "model": { "temperature": 0.9 } } }));
        let child_id = id_of(&child);
        let chain = c.get(&format!("/v1/templates/{child_id}/chain")).json();
        assert_eq!(chain.as_array().unwrap().len(), 2, "{l}");
        assert_eq!(chain[1]["id"], base_id.as_str());
        let res = c.get(&format!("/v1/templates/{child_id}/resolve")).json();
        assert_eq!(res["effective"]["default_params"]["model"], json!({ "name": "m", "temperature": 0.9 }), "{l}");
        assert_eq!(res["provenance"]["/model/name"], base_id.as_str());
        let der = c.get(&format!("/v1/templates/{base_id}/derived")).json();
        assert_eq!(der.as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(), vec![json!(child_id)]);
        let del = c.delete(&format!("/v1/templates/{base_id}"));
        assert_eq!((del.status, del.code().as_str()), (409, "HAS_DERIVED"), "{l}");

        // a cycle is refused
        let cyc = c.patch(&format!("/v1/templates/{base_id}"), &json!({ "base_template_id": child_id }));
        assert_eq!((cyc.status, cyc.code().as_str()), (422, "INHERITANCE_CYCLE"), "{l}: {:?}", cyc.json());

        // update with If-Match, then a stale If-Match
        let etag = c.get(&format!("/v1/templates/{child_id}")).header("etag").unwrap().to_string();
        let up = c.req("PATCH", &format!("/v1/templates/{child_id}"), &[("If-Match", &etag)], Some(json!({ "description": "changed" }).to_string().as_bytes()));
        assert_eq!(up.status, 200, "{l} {:?}", up.json());
        let stale = c.req("PATCH", &format!("/v1/templates/{child_id}"), &[("If-Match", &etag)], Some(json!({ "description": "again" }).to_string().as_bytes()));
        assert_eq!((stale.status, stale.code().as_str()), (412, "CONFLICT"), "{l}");

        // versions + diff
        let v2 = c.post(&format!("/v1/templates/{child_id}/versions"), &json!({ "patch": { "default_params": { "model": { "temperature": 0.1 } } }, "changelog": "cooler" }));
        assert_eq!(v2.status, 201, "{l} {:?}", v2.json());
        let v2 = v2.json();
        assert_eq!(v2["version"], 2);
        let vs = c.get(&format!("/v1/templates/{child_id}/versions")).json();
        assert_eq!(vs.as_array().unwrap().iter().map(|t| t["version"].as_u64().unwrap()).collect::<Vec<_>>(), vec![2, 1], "{l}");
        let d = c.get(&format!("/v1/diff?a={child_id}&b={}", v2["id"].as_str().unwrap())).json();
        assert!(d.as_array().unwrap().iter().any(|ch| ch["path"] == "/default_params/model/temperature"), "{l} {d}");
        let old = c.get(&format!("/v1/templates/{child_id}")).json();
        assert_eq!(old["is_latest"], false);

        // usage + rating
        let none = c.get(&format!("/v1/templates/{base_id}/rating"));
        assert_eq!((none.status, none.code()), (404, "NOT_FOUND".to_string()), "{l}: no rating of the caller's yet");
        let u = c.post(&format!("/v1/templates/{base_id}/usage"), &json!({ "success": true, "responseTimeMs": 120, "tokens": 30, "cost": 0.25 }));
        assert_eq!(u.status, 200, "{l} {:?}", u.json());
        assert_eq!(u.json()["usage_count"], 1);
        let rt = c.put(&format!("/v1/templates/{base_id}/rating"), &json!({ "stars": 4 }));
        assert_eq!((rt.json()["rating"].as_f64(), rt.json()["rating_count"].as_u64()), (Some(4.0), Some(1)), "{l}");
        let rt = c.put(&format!("/v1/templates/{base_id}/rating"), &json!({ "stars": 2 }));
        assert_eq!((rt.json()["rating"].as_f64(), rt.json()["rating_count"].as_u64()), (Some(2.0), Some(1)), "{l}: a second rating replaces the first");
        let mine = c.get(&format!("/v1/templates/{base_id}/rating"));
        assert_eq!(mine.status, 200, "{l} {:?}", mine.json());
        assert_eq!((mine.json()["template_id"].as_str(), mine.json()["stars"].as_f64()), (Some(base_id.as_str()), Some(2.0)), "{l}: the caller's own rating row");
        let bad = c.put(&format!("/v1/templates/{base_id}/rating"), &json!({ "stars": 7 }));
        assert_eq!(bad.code(), "VALIDATION_FAILED");
        let bu = c.post(&format!("/v1/templates/{BUILTIN}/usage"), &json!({ "success": false, "responseTimeMs": 5 }));
        assert_eq!(bu.json()["usage_count"], 1, "{l}: built-in usage is recorded");

        // discover with every option
        let page = c.get("/v1/templates?text=BAS&category=research&workflowType=tools&tags=alpha&tags=BETA&includeBuiltin=false&latestOnly=true&sort=rating&limit=5&offset=0").json();
        assert_eq!(page["total"], 1, "{l} {page}");
        assert_eq!(page["items"][0]["id"], base_id.as_str());
        let page = c.get(&format!("/v1/templates?owner={}&includeBuiltin=false&latestOnly=false&sort=name", a.id)).json();
        assert_eq!(page["total"], 3, "{l}: Base, Child v1, Child v2");
        let all = c.get("/v1/templates?limit=100").json();
        assert!(all["items"].as_array().unwrap().iter().any(|t| t["is_builtin"] == true), "{l}");
        let pop = c.get("/v1/popular-by-category?n=2").json();
        assert!(pop["research"][0]["id"].as_str().is_some(), "{l} {pop}");
        assert!(pop.as_object().unwrap().len() == 9);

        // specs
        let s = c.post("/v1/specs", &json!({ "name": "Spec", "workflow_type": "tools", "required_tools": ["search"], "base_template_name": "base" }));
        assert_eq!(s.status, 201, "{l} {:?}", s.json());
        let sid = s.json()["id"].as_str().unwrap().to_string();
        assert_eq!(c.get("/v1/specs").json().as_array().unwrap().len(), 1);
        let s2 = c.patch(&format!("/v1/specs/{sid}"), &json!({ "description": "d" }));
        assert_eq!(s2.json()["description"], "d", "{l}");
        let inst = c.post(&format!("/v1/specs/{sid}/instantiate"), &json!({ "name": "From spec" }));
        assert_eq!(inst.status, 201, "{l} {:?}", inst.json());
        assert_eq!(inst.json()["base_template_id"], base_id.as_str());
        assert_eq!(c.get(&format!("/v1/specs/{sid}")).json()["usage_count"], 1);

        // export from this database, import into a fresh one
        let bundle = c.get("/v1/export").json();
        assert_eq!(bundle["workflow_templates"].as_array().unwrap().len(), 4, "{l}");
        let ds = c.delete(&format!("/v1/specs/{sid}"));
        assert_eq!(ds.status, 204);
        assert_eq!(c.get(&format!("/v1/specs/{sid}")).status, 404);


        // delete: leaf first, then base; the latest version's deletion promotes the previous one
        let v2id = v2["id"].as_str().unwrap().to_string();
        assert_eq!(c.delete(&format!("/v1/templates/{v2id}")).status, 204, "{l}");
        assert_eq!(c.get(&format!("/v1/templates/{child_id}")).json()["is_latest"], true, "{l}");
        let inst_id = inst.json()["id"].as_str().unwrap().to_string();
        assert_eq!(c.delete(&format!("/v1/templates/{inst_id}")).status, 204);
        assert_eq!(c.delete(&format!("/v1/templates/{child_id}")).status, 204);
        assert_eq!(c.delete(&format!("/v1/templates/{base_id}")).status, 204);
        assert_eq!(c.get(&format!("/v1/templates/{base_id}")).code(), "NOT_FOUND");

        // import the bundle back (the same user, records absent again)
        let imp = c.post("/v1/import", &bundle);
        assert_eq!(imp.status, 200, "{l} {:?}", imp.json());
        assert_eq!(imp.json()["templates"], 4);
        assert_eq!(c.get(&format!("/v1/templates/{base_id}")).json()["name"], "Base", "{l}");
        assert_eq!(c.get(&format!("/v1/templates/{child_id}/chain")).json().as_array().unwrap().len(), 2);
    }
}

/// owner / other user / no token / bad token x private / public / built-in x operations.
#[test]
fn access_matrix() {
    for db in backends() {
        let owner = create_user(&db);
        let other = create_user(&db);
        let srv = Server::start(&db);
        let oc = srv.client(Some(&owner.token));
        let l = db.label;
        let n = std::cell::Cell::new(0);
        // A fresh target per cell, so a mutation in one cell cannot affect another.
        let fresh = |kind: &str| -> String {
            match kind {
                "builtin" => BUILTIN.to_string(),
                _ => {
                    n.set(n.get() + 1);
                    id_of(&oc.post("/v1/templates", &draft(&format!("{kind} {}", n.get()), kind == "public")))
                }
            }
        };
        type Op = Box<dyn Fn(&Client, &str) -> Resp>;
        let ops: Vec<(&str, Op)> = vec![
            ("get", Box::new(|c, id| c.get(&format!("/v1/templates/{id}")))),
            ("versions", Box::new(|c, id| c.get(&format!("/v1/templates/{id}/versions")))),
            ("chain", Box::new(|c, id| c.get(&format!("/v1/templates/{id}/chain")))),
            ("resolve", Box::new(|c, id| c.get(&format!("/v1/templates/{id}/resolve")))),
            ("derived", Box::new(|c, id| c.get(&format!("/v1/templates/{id}/derived")))),
            ("diff", Box::new(|c, id| c.get(&format!("/v1/diff?a={id}&b={id}")))),
            ("usage", Box::new(|c, id| c.post(&format!("/v1/templates/{id}/usage"), &json!({ "success": true, "responseTimeMs": 1 })))),
            ("rate", Box::new(|c, id| c.put(&format!("/v1/templates/{id}/rating"), &json!({ "stars": 3 })))),
            ("derive", Box::new(|c, id| c.post("/v1/templates", &json!({ "name": format!("derived from {id} {}", rand_suffix()), "workflow_type": "plain", "base_template_id": id })))),
            ("update", Box::new(|c, id| c.patch(&format!("/v1/templates/{id}"), &json!({ "description": "hacked" })))),
            ("new_version", Box::new(|c, id| c.post(&format!("/v1/templates/{id}/versions"), &json!({ "patch": { "description": "v2" } })))),
            ("delete", Box::new(|c, id| c.delete(&format!("/v1/templates/{id}")))),
        ];
        let actors: Vec<(&str, Client)> = vec![
            ("owner", srv.client(Some(&owner.token))),
            ("other", srv.client(Some(&other.token))),
            ("none", srv.client(None)),
            ("bad", srv.client(Some("wt_0000000000000000000000000000000000000000000000000000000000000000"))),
        ];
        let reads = ["get", "versions", "chain", "resolve", "derived", "diff", "usage", "rate"];
        let mut checked = 0;
        for (actor, client) in &actors {
            for target in ["private", "public", "builtin"] {
                for (op, f) in &ops {
                    let id = fresh(target);
                    let r = f(client, &id);
                    let want: (u16, &str) = match (*actor, target, *op) {
                        ("none" | "bad", _, _) => (401, "UNAUTHORIZED"),
                        ("other", "private", "derive") => (422, "BASE_NOT_FOUND"),
                        ("other", "private", _) => (404, "NOT_FOUND"),
                        (_, _, "derive") => (201, ""),
                        (_, _, o) if reads.contains(&o) => (200, ""),
                        (_, "builtin", _) => (403, "BUILTIN_READ_ONLY"),
                        ("other", "public", _) => (403, "FORBIDDEN"),
                        ("owner", _, "new_version") => (201, ""),
                        ("owner", _, "delete") => (204, ""),
                        ("owner", _, _) => (200, ""),
                        other => panic!("no expectation for {other:?}"),
                    };
                    let code = if r.status >= 400 { r.code() } else { String::new() };
                    assert_eq!((r.status, code.as_str()), want, "{l}: {actor} {op} on {target}: {}", String::from_utf8_lossy(&r.raw));
                    if r.status >= 400 {
                        let body = r.json();
                        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{l}: error bodies carry a message");
                        // A hidden template is never described to someone who cannot see it.
                        if *actor == "other" && target == "private" {
                            assert!(!String::from_utf8_lossy(&r.raw).contains("private "), "{l}: leaks the name: {body}");
                        }
                    }
                    if *actor != "owner" && target != "builtin" && r.status >= 400 {
                        // Nothing changed.
                        let t = oc.get(&format!("/v1/templates/{id}")).json();
                        assert_eq!((t["description"].as_str().unwrap().starts_with("about"), t["usage_count"].as_u64(), t["version"].as_u64()), (true, Some(0), Some(1)), "{l}: {actor} {op} on {target} changed something");
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 4 * 3 * 12);

        // Specs are private to their owner.
        let s = oc.post("/v1/specs", &json!({ "name": "secret spec", "workflow_type": "plain" }));
        let sid = id_of(&s);
        let oth = srv.client(Some(&other.token));
        for (what, r) in [
            ("get", oth.get(&format!("/v1/specs/{sid}"))),
            ("patch", oth.patch(&format!("/v1/specs/{sid}"), &json!({ "description": "x" }))),
            ("instantiate", oth.post(&format!("/v1/specs/{sid}/instantiate"), &json!({}))),
            ("delete", oth.delete(&format!("/v1/specs/{sid}"))),
        ] {
            assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"), "{l}: other {what} spec");
        }
        assert_eq!(oth.get("/v1/specs").json(), json!([]), "{l}");
        assert_eq!(srv.client(None).get("/v1/specs").status, 401);
        assert_eq!(oc.get(&format!("/v1/specs/{sid}")).json()["description"], "", "{l}");

        // Discovery and export show the other user nothing private of the owner's.
        let page = oth.get(&format!("/v1/templates?owner={}&includeBuiltin=false&limit=100&latestOnly=false", owner.id)).json();
        assert!(page["items"].as_array().unwrap().iter().all(|t| t["is_public"] == true), "{l}");
        let all = oth.get("/v1/templates?limit=100&latestOnly=false").json();
        assert!(all["items"].as_array().unwrap().iter().all(|t| t["is_public"] == true || t["owner_id"] == other.id.as_str() || t["is_builtin"] == true), "{l}");
        let ex = oth.get("/v1/export").json();
        assert!(ex["workflow_templates"].as_array().unwrap().iter().all(|t| t["owner_id"] == other.id.as_str()), "{l}");
        assert!(ex["template_specs"].as_array().unwrap().is_empty(), "{l}");
        // Importing records that claim another owner is refused, and writes nothing.
        let mut forged = oc.get("/v1/export").json();
        forged["owner_id"] = json!(other.id);
        let imp = oth.post("/v1/import", &forged);
        assert_eq!(imp.code(), "VALIDATION_FAILED", "{l}");
        assert!(oth.get("/v1/export").json()["workflow_templates"].as_array().unwrap().iter().all(|t| t["owner_id"] == other.id.as_str()));
    }
}

fn rand_suffix() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{t}")
}

const NASTY: &[&str] = &[
    "'; DROP TABLE workflow_templates; --",
    "\" OR \"1\"=\"1",
    "' OR '1'='1",
    "1; DELETE FROM users WHERE 1=1",
    "Robert'); DROP TABLE template_specs;--",
    "%",
    "_",
    "%' --",
    "\\",
    "\\'; SELECT pg_sleep(5); --",
    "$1",
    "?1",
    "{t1}",
    "{ts1}",
    "' UNION SELECT token_hash, user_id FROM api_tokens --",
    "`backticks` and $$dollar quotes$$",
    "Ünïcödé ☃ 日本語 🚀",
    "/* comment */ --",
];

/// SQL metacharacters and injection strings in every text field and query parameter: stored
/// and returned verbatim, matched literally, and the tables are intact afterwards.
#[test]
fn injection_strings_are_just_data() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let mut ids = Vec::new();
        for (i, s) in NASTY.iter().enumerate() {
            let name = format!("{s} #{i}");
            let body = json!({
                "name": name, "description": s, "workflow_type": "plain", "is_public": true,
                "tags": [s, format!("t{i}")], "changelog": s,
                "default_params": { *s: s, "nested": { "k": [s] } },
                "extra_metadata": { "note": s },
            });
            let r = c.post("/v1/templates", &body);
            assert_eq!(r.status, 201, "{l}: {s:?}: {}", String::from_utf8_lossy(&r.raw));
            let t = r.json();
            for (k, v) in body.as_object().unwrap() {
                assert_eq!(&t[k], v, "{l}: {k} of {s:?} round-trips");
            }
            let back = c.get(&format!("/v1/templates/{}", t["id"].as_str().unwrap())).json();
            assert_eq!(back, t, "{l}");
            ids.push(t["id"].as_str().unwrap().to_string());
            // specs too
            let sp = c.post("/v1/specs", &json!({ "name": name, "description": s, "workflow_type": "plain", "base_template_name": s, "tags": [s] }));
            assert_eq!(sp.status, 201, "{l}: spec {s:?}");
            assert_eq!(sp.json()["base_template_name"], *s);
        }
        // Text search is a literal substring match.
        for (i, s) in NASTY.iter().enumerate() {
            let page = c.get(&format!("/v1/templates?includeBuiltin=false&limit=100&text={}", enc(&format!("{s} #{i}")))).json();
            assert_eq!(page["total"], 1, "{l}: text={s:?} -> {page}");
            assert_eq!(page["items"][0]["id"], ids[i].as_str());
            let page = c.get(&format!("/v1/templates?includeBuiltin=false&limit=100&tags={}&tags=t{i}", enc(s))).json();
            assert_eq!(page["total"], 1, "{l}: tags={s:?} -> {page}");
        }
        let page = c.get(&format!("/v1/templates?includeBuiltin=false&limit=100&text={}", enc("' OR '1'='1' --"))).json();
        assert_eq!(page["total"], 0, "{l}");
        // Enumerated and id parameters refuse anything else, with a 400 and a code.
        for s in NASTY {
            for q in ["category", "workflowType", "owner", "sort", "limit", "offset", "includeBuiltin"] {
                let r = c.get(&format!("/v1/templates?{q}={}", enc(s)));
                assert_eq!((r.status, r.code().as_str()), (400, "INVALID_ARGUMENT"), "{l}: {q}={s:?}");
            }
            let r = c.get(&format!("/v1/templates/{}", enc(s)));
            assert!(r.status == 400 || r.status == 404, "{l}: path {s:?} -> {}", r.status);
            let r = c.get(&format!("/v1/diff?a={}&b={}", enc(s), ids[0]));
            assert_eq!(r.status, 400, "{l}");
            let r = c.get(&format!("/v1/popular-by-category?n={}", enc(s)));
            assert_eq!(r.status, 400, "{l}");
            let r = c.req("GET", &format!("/v1/templates?{}=1", enc(s)), &[], None);
            assert_eq!(r.status, 400, "{l}: unknown parameter {s:?}");
            // Injection in the token and the Idempotency-Key.
            let r = srv.client(Some(s)).get("/v1/me");
            assert_eq!(r.status, 401, "{l}: token {s:?}");
        }
        // Everything is still there, and still in order.
        let page = c.get("/v1/templates?includeBuiltin=false&limit=100").json();
        assert_eq!(page["total"], NASTY.len(), "{l}");
        assert_eq!(c.get("/v1/specs").json().as_array().unwrap().len(), NASTY.len());
        assert_eq!(c.get("/v1/me").json()["user_id"], a.id, "{l}: users and tokens intact");
        let ex = c.get("/v1/export").json();
        assert_eq!(ex["workflow_templates"].as_array().unwrap().len(), NASTY.len());
    }
}

#[test]
fn oversized_and_malformed_bodies() {
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start_with(&db, &["--max-body", "65536"]);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let huge = format!("{{\"name\":\"big\",\"workflow_type\":\"plain\",\"description\":\"{}\"}}", "x".repeat(100_000));
        let r = c.req("POST", "/v1/templates", &[], Some(huge.as_bytes()));
        assert_eq!((r.status, r.code().as_str()), (413, "INVALID_ARGUMENT"), "{l}");
        let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            ("truncated", b"{\"name\": \"x\"".to_vec(), 400, "INVALID_ARGUMENT"),
            ("garbage", b"\x00\x01\x02 not json".to_vec(), 400, "INVALID_ARGUMENT"),
            ("invalid utf-8", b"{\"name\": \"\xff\xfe\", \"workflow_type\": \"plain\"}".to_vec(), 400, "INVALID_ARGUMENT"),
            ("deep nesting", format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(), 400, "INVALID_ARGUMENT"),
            ("array", b"[1,2,3]".to_vec(), 422, "VALIDATION_FAILED"),
            ("empty", b"".to_vec(), 422, "VALIDATION_FAILED"),
            ("wrong types", br#"{"name": 5, "workflow_type": "plain", "is_public": "yes"}"#.to_vec(), 422, "VALIDATION_FAILED"),
            ("unknown field", br#"{"name": "n", "workflow_type": "plain", "bogus": 1}"#.to_vec(), 422, "VALIDATION_FAILED"),
            ("read-only field", br#"{"name": "n", "workflow_type": "plain", "usage_count": 99}"#.to_vec(), 422, "VALIDATION_FAILED"),
            ("name too long", format!("{{\"name\": \"{}\", \"workflow_type\": \"plain\"}}", "n".repeat(256)).into_bytes(), 422, "VALIDATION_FAILED"),
            ("nan-ish number", br#"{"name": "n", "workflow_type": "plain", "default_params": {"x": 1e400}}"#.to_vec(), 400, "INVALID_ARGUMENT"),
            ("unsafe integer", br#"{"name": "n", "workflow_type": "plain", "default_params": {"x": 9007199254740993}}"#.to_vec(), 422, "VALIDATION_FAILED"),
            ("__proto__", br#"{"name": "n", "workflow_type": "plain", "default_params": {"__proto__": {}}}"#.to_vec(), 422, "VALIDATION_FAILED"),
            ("builtin claim", br#"{"name": "n", "workflow_type": "plain", "is_builtin": true}"#.to_vec(), 422, "VALIDATION_FAILED"),
        ];
        for (what, body, status, code) in cases {
            let r = c.req("POST", "/v1/templates", &[], Some(&body));
            assert_eq!((r.status, r.code().as_str()), (status, code), "{l}: {what}: {}", String::from_utf8_lossy(&r.raw));
        }
        let r = c.post("/v1/templates", &json!({ "name": "n", "workflow_type": "plain", "default_params": { "__proto__": {} } }));
        assert!(r.json()["error"]["details"]["violations"].as_array().unwrap().iter().any(|v| v["code"] == "FORBIDDEN_KEY"), "{l}");
        // Bad usage bodies and query values
        let r = c.post(&format!("/v1/templates/{BUILTIN}/usage"), &json!({ "success": "yes", "responseTimeMs": -1 }));
        assert_eq!(r.code(), "VALIDATION_FAILED", "{l}");
        assert_eq!(r.json()["error"]["details"]["violations"].as_array().unwrap().len(), 2, "{l}: every violation at once");
        assert_eq!(c.get("/v1/templates?limit=101").status, 400);
        assert_eq!(c.get("/v1/templates?limit=0").status, 400);
        assert_eq!(c.get(&format!("/v1/templates?text={}", "q".repeat(1001))).status, 400);
        assert_eq!(c.get(&format!("/v1/templates?text={}", "q".repeat(9000))).status, 400, "{l}: query string limit");
        assert_eq!(c.get("/v1/templates?sort=popular&sort=name").status, 400);
        for tag in ["1-not-a-time", "\"opaque\"", "W/\"x\", \"y\""] {
            let r = c.req("PATCH", &format!("/v1/templates/{BUILTIN}"), &[("If-Match", tag)], Some(b"{}"));
            assert_eq!(r.status, 403, "{l}: built-ins are read-only whatever the If-Match ({tag})");
        }
        // Unknown endpoints and methods answer with JSON errors.
        let r = c.get("/v1/nope");
        assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));
        let r = c.req("PUT", "/v1/templates", &[], Some(b"{}"));
        assert_eq!((r.status, r.code().as_str()), (405, "INVALID_ARGUMENT"));
        // Nothing was written by any of it, and the server is fine.
        assert_eq!(c.get("/v1/templates?includeBuiltin=false").json()["total"], 0, "{l}");
        assert_eq!(c.get("/v1/health").status, 200);
        // The import route has its own, larger limit.
        let mut big = c.get("/v1/export").json();
        big["exported_at"] = json!("2026-01-01T00:00:00.000Z");
        big["padding"] = json!("x".repeat(100_000));
        let r = c.post("/v1/import", &big);
        assert_eq!(r.code(), "VALIDATION_FAILED", "{l}: read (not refused for size), then refused for the unknown field");
    }
}

#[test]
fn cors_allows_the_editor_origin_only() {
    let db = sqlite_db();
    let a = create_user(&db);
    let srv = Server::start_with(&db, &["--cors-origin", "http://127.0.0.1:8080", "--cors-origin", "http://localhost:5173"]);
    let c = srv.client(None);
    let pre = c.req("OPTIONS", "/v1/templates", &[("Origin", "http://127.0.0.1:8080"), ("Access-Control-Request-Method", "PATCH"), ("Access-Control-Request-Headers", "authorization, if-match")], None);
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("http://127.0.0.1:8080"));
    assert!(pre.header("access-control-allow-headers").unwrap().contains("If-Match"));
    assert!(pre.header("access-control-allow-headers").unwrap().contains("If-None-Match"), "an offline replica revalidates with a conditional GET");
    assert!(pre.header("access-control-allow-methods").unwrap().contains("PATCH"));
    let evil = c.req("OPTIONS", "/v1/templates", &[("Origin", "http://evil.example"), ("Access-Control-Request-Method", "GET")], None);
    assert_eq!(evil.status, 403);
    assert_eq!(evil.header("access-control-allow-origin"), None);
    let r = srv.client(Some(&a.token)).req("GET", "/v1/me", &[("Origin", "http://localhost:5173")], None);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:5173"));
    assert!(r.header("access-control-expose-headers").unwrap().contains("ETag"));
    let r = srv.client(Some(&a.token)).req("GET", "/v1/me", &[("Origin", "http://evil.example")], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

/// Depth limits through the API, and a cycle that got into storage behind the server's back
/// (the recursive chain query must stop, and the core must name the cycle).
#[test]
fn inheritance_depth_and_stored_cycles() {
    use workflow_templates::hash::config_hash;
    use workflow_templates::WorkflowTemplate;
    use workflow_templates_server::db::{text, Conn, DbUrl};
    for db in backends() {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let l = db.label;
        let mut prev = id_of(&c.post("/v1/templates", &draft("level 0", false)));
        let root = prev.clone();
        for i in 1..16 {
            prev = id_of(&c.post("/v1/templates", &json!({ "name": format!("level {i}"), "workflow_type": "plain", "base_template_id": prev })));
        }
        assert_eq!(c.get(&format!("/v1/templates/{prev}/chain")).json().as_array().unwrap().len(), 16, "{l}");
        let r = c.post("/v1/templates", &json!({ "name": "too deep", "workflow_type": "plain", "base_template_id": prev }));
        assert_eq!((r.status, r.code().as_str()), (422, "INHERITANCE_TOO_DEEP"), "{l}");

        // Point the root at the leaf, with a matching hash, directly in the database.
        let mut root_t: WorkflowTemplate = serde_json::from_value(c.get(&format!("/v1/templates/{root}")).json()).unwrap();
        root_t.base_template_id = Some(prev.clone());
        root_t.config_hash = config_hash(&root_t.config());
        let mut conn = Conn::open(&DbUrl::parse(&db.url).unwrap()).unwrap();
        let n = conn
            .execute("UPDATE workflow_templates SET base_template_id = {t1}, config_hash = {t2}, rev = rev + 1 WHERE id = {t3}", &[text(&prev), text(&root_t.config_hash), text(&root)])
            .unwrap();
        assert_eq!(n, 1);
        let r = c.get(&format!("/v1/templates/{prev}/resolve"));
        assert!(r.code() == "INHERITANCE_CYCLE" || r.code() == "INHERITANCE_TOO_DEEP", "{l}: {:?}", r.json());
        let r = c.get(&format!("/v1/templates/{}/chain", root));
        assert_eq!(r.status, 422, "{l}");
        // Reading the records themselves still works, and the server is fine.
        assert_eq!(c.get(&format!("/v1/templates/{root}")).json()["base_template_id"], prev.as_str());
        // A tampered record (hash no longer matches) is an INTEGRITY error, not garbage.
        conn.execute("UPDATE workflow_templates SET description = {t1}, default_params = {j2} WHERE id = {t3}", &[text("x"), text("{\"tampered\": true}"), text(&prev)]).unwrap();
        let r = c.get(&format!("/v1/templates/{prev}"));
        assert_eq!((r.status, r.code().as_str()), (500, "INTEGRITY"), "{l}");
    }
}

/// SIGTERM stops the server cleanly (exit 0), also with pooled PostgreSQL connections open.
#[test]
fn sigterm_shuts_down_cleanly() {
    for db in backends() {
        let a = create_user(&db);
        let mut srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let handles: Vec<_> = (0..4).map(|i| {
            let c = c.clone();
            std::thread::spawn(move || c.post("/v1/templates", &draft(&format!("t{i}"), false)).status)
        }).collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 201);
        }
        let status = srv.terminate();
        assert!(status.success(), "{}: exit status {status:?}", db.label);
    }
}

/// GET /v1/templates/{id}/rating answers the caller's own row only, and tells another user's
/// private template from a nonexistent id in nothing (status, code, message with the id swapped).
#[test]
fn my_rating_reveals_no_other_users_rating_nor_a_private_template() {
    for db in backends() {
        let owner = create_user(&db);
        let other = create_user(&db);
        let srv = Server::start(&db);
        let (oc, xc) = (srv.client(Some(&owner.token)), srv.client(Some(&other.token)));
        let l = db.label;
        let private = id_of(&oc.post("/v1/templates", &draft("secret rated", false)));
        let public = id_of(&oc.post("/v1/templates", &draft("open rated", true)));
        for id in [&private, &public] {
            assert_eq!(oc.put(&format!("/v1/templates/{id}/rating"), &json!({ "stars": 5 })).status, 200, "{l}");
        }
        let absent = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let nothing = xc.get(&format!("/v1/templates/{absent}/rating"));
        let hidden = xc.get(&format!("/v1/templates/{private}/rating"));
        assert_eq!((hidden.status, hidden.code()), (404, "NOT_FOUND".to_string()), "{l}");
        assert_eq!(String::from_utf8_lossy(&hidden.raw).replace(&private, absent), String::from_utf8_lossy(&nothing.raw), "{l}: a private template answers as a nonexistent id");
        // The owner's rating of a public template is not the other user's.
        let theirs = xc.get(&format!("/v1/templates/{public}/rating"));
        assert_eq!((theirs.status, theirs.code()), (404, "NOT_FOUND".to_string()), "{l}: {:?}", theirs.json());
        assert_eq!(xc.put(&format!("/v1/templates/{public}/rating"), &json!({ "stars": 1 })).status, 200, "{l}");
        let mine = xc.get(&format!("/v1/templates/{public}/rating")).json();
        assert_eq!((mine["user_id"].as_str(), mine["stars"].as_f64()), (Some(other.id.as_str()), Some(1.0)), "{l}");
        // The template turned private: the other user's own row is no longer answered either.
        assert_eq!(oc.patch(&format!("/v1/templates/{public}"), &json!({ "is_public": false })).status, 200, "{l}");
        let gone = xc.get(&format!("/v1/templates/{public}/rating"));
        assert_eq!(String::from_utf8_lossy(&gone.raw).replace(&public, absent), String::from_utf8_lossy(&nothing.raw), "{l}");
        assert_eq!(xc.get("/v1/templates/not-an-id/rating").status, 400, "{l}");
        assert_eq!(srv.client(None).get(&format!("/v1/templates/{public}/rating")).status, 401, "{l}");
    }
}
