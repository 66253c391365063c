//! Discovery in SQL (issue 13), what the shared conformance suite does not reach: tag rows carry
//! a copy of their template's visibility and sort keys (migration 011), and every later change of
//! the template (visibility, name, usage, rating, a new version, tags, a write made behind the
//! server's back) must reach them; on SQLite and (with WT_TEST_POSTGRES_URL) PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};

fn names(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn tag_pages_follow_every_change_of_their_templates() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let mut ids = Vec::new();
        for name in ["alpha", "beta", "gamma"] {
            let r = ca.post("/v1/templates", &json!({ "name": name, "workflow_type": "plain", "is_public": true, "tags": ["Shared", name] }));
            assert_eq!(r.status, 201, "{l}");
            ids.push(r.json()["id"].as_str().unwrap().to_string());
        }
        let page = |sort: &str| cb.get(&format!("/v1/templates?tags=shared&includeBuiltin=false&sort={sort}")).json();
        assert_eq!((names(&page("name")), page("name")["total"].clone()), (vec!["alpha".to_string(), "beta".into(), "gamma".into()], json!(3)), "{l}");

        // Usage moves a template up the popular order of its tag.
        for _ in 0..2 {
            assert_eq!(cb.post(&format!("/v1/templates/{}/usage", ids[2]), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
        }
        assert_eq!(names(&page("popular"))[0], "gamma", "{l}: usage reaches the tag rows");
        // A rating moves it up the rating order.
        assert_eq!(cb.put(&format!("/v1/templates/{}/rating", ids[1]), &json!({ "stars": 5 })).status, 200, "{l}");
        assert_eq!(names(&page("rating"))[0], "beta", "{l}: ratings reach the tag rows");
        // A rename moves it in the name order.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[0]), &json!({ "name": "zeta" })).status, 200, "{l}");
        assert_eq!(names(&page("name")), vec!["beta".to_string(), "gamma".into(), "zeta".into()], "{l}: names reach the tag rows");
        // An edit moves it to the head of `recent`.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[1]), &json!({ "description": "edited" })).status, 200, "{l}");
        assert_eq!(names(&page("recent"))[0], "beta", "{l}: updated_at reaches the tag rows");
        // Made private: gone from another user's tag pages and totals, still in its owner's.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[2]), &json!({ "is_public": false })).status, 200, "{l}");
        let p = page("name");
        assert_eq!((names(&p), p["total"].clone()), (vec!["beta".to_string(), "zeta".into()], json!(2)), "{l}: visibility reaches the tag rows");
        let own = ca.get("/v1/templates?tags=shared&includeBuiltin=false&sort=name").json();
        assert_eq!((names(&own), own["total"].clone()), (vec!["beta".to_string(), "gamma".into(), "zeta".into()], json!(3)), "{l}");
        let mine = ca.get(&format!("/v1/templates?tags=shared&includeBuiltin=false&sort=name&owner={}", a.id)).json();
        assert_eq!(mine["total"], 3, "{l}: the owner filter sees the owner's private row");
        // A new version takes the tag; the old one is no longer latest.
        let v2 = ca.post(&format!("/v1/templates/{}/versions", ids[1]), &json!({ "patch": { "description": "v2" } }));
        assert_eq!(v2.status, 201, "{l}");
        let p = page("name");
        assert_eq!(p["total"], 2, "{l}: one latest row per lineage");
        assert!(p["items"].as_array().unwrap().iter().any(|t| t["id"] == v2.json()["id"]), "{l}: the latest version is listed");
        // Tags changed: the old tag's rows go, the new one's come.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[0]), &json!({ "tags": ["other"] })).status, 200, "{l}");
        assert_eq!(names(&page("name")), vec!["beta".to_string()], "{l}");
        assert_eq!(names(&cb.get("/v1/templates?tags=other&tags=OTHER&includeBuiltin=false").json()), vec!["zeta".to_string()], "{l}");
        // Deleted: its tag rows go with it.
        assert_eq!(ca.req("DELETE", &format!("/v1/templates/{}", ids[0]), &[], None).status, 204, "{l}");
        assert_eq!(cb.get("/v1/templates?tags=other&includeBuiltin=false").json()["total"], 0, "{l}");
        // A write behind the server's back reaches the tag rows too (the trigger, not the store).
        let mut c = db_conn(&db);
        let t = if l == "postgres" { "true" } else { "1" };
        c.batch(&format!("UPDATE workflow_templates SET is_public = {t} WHERE id = '{}'", ids[2])).unwrap();
        drop(c);
        assert_eq!(page("name")["total"], 2, "{l}: a direct UPDATE of the template reaches its tag rows");
    }
}

/// A text in many rows is paged by walking the ordered index (`TextPlan::Walk`: chosen when
/// `(offset + limit) * visible < total²`), a rare one from its matches: both must give the same
/// slices of the same order. Pages of one row (walks) are compared with one page of 100 (the
/// matches), for every sort, with private rows of the viewer and of another user mixed in.
#[test]
fn a_walked_text_page_is_the_slice_of_the_matched_order() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        for i in 0..40 {
            let c = if i % 3 == 0 { &cb } else { &ca };
            // 32 of 40 hold "Wörd" (as "wörd" once lowercased), some only across a space.
            let description = match i % 5 {
                4 => "w örd split".to_string(),
                _ => format!("a WÖRD number {i}"),
            };
            let r = c.post("/v1/templates", &json!({ "name": format!("T{:02} {}", (i * 7) % 40, if i % 2 == 0 { "Wörd" } else { "x" }), "workflow_type": "plain", "description": description, "is_public": i % 4 != 1 }));
            assert_eq!(r.status, 201, "{l}");
            let id = r.json()["id"].as_str().unwrap().to_string();
            for _ in 0..(i % 3) {
                assert_eq!(c.post(&format!("/v1/templates/{id}/usage"), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
            }
        }
        for sort in ["popular", "rating", "recent", "name"] {
            let base = format!("/v1/templates?text=w%C3%B6rd&includeBuiltin=false&sort={sort}");
            let all = cb.get(&format!("{base}&limit=100")).json();
            let total = all["total"].as_u64().unwrap();
            let want: Vec<Value> = all["items"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
            assert_eq!(want.len() as u64, total, "{l}");
            assert!(total >= 20, "{l}: the text is in many rows ({total})");
            let mut got = Vec::new();
            for offset in 0..total {
                let p = cb.get(&format!("{base}&limit=1&offset={offset}")).json();
                assert_eq!(p["total"], total, "{l} {sort} offset {offset}");
                got.extend(p["items"].as_array().unwrap().iter().map(|t| t["id"].clone()));
            }
            assert_eq!(got, want, "{l} {sort}: pages walked one row at a time");
        }
    }
}

/// A page of several tags tests the other tags inside the first tag's rows (on PostgreSQL from
/// the row's copy of its template's tag set, migration 012; a set over 256 bytes is not copied
/// and is probed instead): rows with small and large tag sets, in either order of the tags, after
/// every change of a template's tags, with `total`.
#[test]
fn pages_of_several_tags_follow_every_tag_set() {
    let long: Vec<String> = (0..8).map(|i| format!("{i}-{}", "long tag ".repeat(6).trim())).collect();
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let mut big_tags = vec![json!("Shared"), json!("X")];
        big_tags.extend(long.iter().map(|t| json!(t)));
        let mut ids = std::collections::HashMap::new();
        for (name, public, tags) in [("small", true, json!(["Shared", "x"])), ("big", true, json!(big_tags)), ("other", true, json!(["shared"])), ("mine", false, json!(["x", "SHARED"]))] {
            let r = ca.post("/v1/templates", &json!({ "name": name, "workflow_type": "plain", "is_public": public, "tags": tags }));
            assert_eq!(r.status, 201, "{l}: {}", String::from_utf8_lossy(&r.raw));
            ids.insert(name, r.json()["id"].as_str().unwrap().to_string());
        }
        let page = |c: &Client, tags: &[&str]| {
            let q: Vec<String> = tags.iter().map(|t| format!("tags={}", t.replace(' ', "%20"))).collect();
            let v = c.get(&format!("/v1/templates?{}&includeBuiltin=false&sort=name", q.join("&"))).json();
            (names(&v), v["total"].as_u64().unwrap())
        };
        let both = (vec!["big".to_string(), "small".into()], 2);
        assert_eq!(page(&cb, &["shared", "x"]), both, "{l}");
        assert_eq!(page(&cb, &["x", "shared"]), both, "{l}: either tag first");
        assert_eq!(page(&ca, &["shared", "x"]), (vec!["big".to_string(), "mine".into(), "small".into()], 3), "{l}: the viewer's private row");
        assert_eq!(page(&cb, &["shared", "x", &long[3]]), (vec!["big".to_string()], 1), "{l}: a tag of the large set");
        assert_eq!(page(&cb, &[&long[5], "shared"]), (vec!["big".to_string()], 1), "{l}");

        // small leaves x for y; big's set becomes small (copied) and mine's large (probed).
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids["small"]), &json!({ "tags": ["shared", "y"] })).status, 200, "{l}");
        assert_eq!(page(&cb, &["shared", "x"]), (vec!["big".to_string()], 1), "{l}: a changed tag set reaches the other rows");
        assert_eq!(page(&cb, &["y", "shared"]), (vec!["small".to_string()], 1), "{l}");
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids["big"]), &json!({ "tags": ["x", "shared"] })).status, 200, "{l}");
        let mut mine_tags = vec![json!("shared"), json!("x")];
        mine_tags.extend(long.iter().map(|t| json!(t)));
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids["mine"]), &json!({ "tags": mine_tags })).status, 200, "{l}");
        assert_eq!(page(&ca, &["x", "shared"]), (vec!["big".to_string(), "mine".into()], 2), "{l}");
        assert_eq!(page(&ca, &["shared", &long[0]]), (vec!["mine".to_string()], 1), "{l}");
        assert_eq!(page(&cb, &["shared", &long[0]]), (vec![], 0), "{l}: another user's private row");
    }
}
