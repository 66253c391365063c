//! `text` discovery over the narrow copy of the templates (issue 13): on PostgreSQL
//! `template_text` (migration 015, statement triggers, holding the trigram indexes), on SQLite
//! FTS5's content table `template_search_docs` (migration 016, row triggers), each holding every
//! template's filters, sort keys and lowercased texts. Every change of a template (create, rename,
//! edit, visibility, usage, rating, new version, delete, import, a write made behind the server's
//! back) must reach the text pages and their `total`, and the copy must equal a recomputation
//! from the templates' columns after each of them (on SQLite also FTS5's index against its
//! content table). Runs on SQLite and, with WT_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};

fn names(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

/// The rows of the narrow copy (`template_text`; SQLite: `template_search_docs`) that differ
/// from the columns they copy (either way), as text; on SQLite also a failed FTS5 integrity
/// check of the index against its content table.
fn copy_differences(db: &TestDb) -> Vec<String> {
    let mut c = db_conn(db);
    let cols = "id, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name_lc, name, description_lc";
    let (copy, copied) = match db.label {
        "postgres" => ("template_text", cols.to_string()),
        _ => ("template_search_docs", cols.replacen("id", "template_id AS id", 1)),
    };
    // PostgreSQL prints the row; SQLite has no row value to print: the id and the texts.
    let shown = |x: &str| match db.label {
        "postgres" => format!("CAST({x} AS TEXT)"),
        _ => format!("{x}.id || ' ' || {x}.name_lc || ' ' || {x}.description_lc"),
    };
    let sql = format!(
        "SELECT {} FROM (SELECT {cols} FROM workflow_templates EXCEPT SELECT {copied} FROM {copy}) x \
         UNION ALL SELECT {} FROM (SELECT {copied} FROM {copy} EXCEPT SELECT {cols} FROM workflow_templates) y",
        shown("x"),
        shown("y")
    );
    let mut out: Vec<String> = c.query(&sql, &[]).unwrap().into_iter().map(|r| r[0].text().unwrap_or_default().to_string()).collect();
    if db.label != "postgres" {
        // Rank 1: FTS5 also compares its index with the external content table (without it the
        // check reads the index alone and misses entries left under no document).
        if let Err(e) = c.batch("INSERT INTO template_search (template_search, rank) VALUES ('integrity-check', 1)") {
            out.push(format!("FTS5 integrity-check: {e}"));
        }
    }
    out
}

/// The names (in name order) and total of a client's text page, and the same computed from its
/// full listing (the core's rule: a substring of the lowercased name or description).
fn page_and_scan(c: &Client, text: &str) -> ((Vec<String>, Value), (Vec<String>, Value)) {
    let p = c.get(&format!("/v1/templates?text={}&includeBuiltin=false&sort=name&limit=100", enc(text))).json();
    let all = c.get("/v1/templates?includeBuiltin=false&sort=name&limit=100").json();
    let want: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| [&t["name"], &t["description"]].iter().any(|v| v.as_str().unwrap_or_default().to_lowercase().contains(text)))
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let n = want.len();
    ((names(&p), p["total"].clone()), (want, json!(n)))
}

#[test]
fn text_pages_follow_every_change_of_their_templates() {
    for db in backends() {
        let l = db.label;
        let pg = l == "postgres";
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        // After each step: the copy equals the templates (PostgreSQL), and both users' text pages
        // equal their full listings filtered by the core's rule.
        let check_copy = |step: &str| {
            assert_eq!(copy_differences(&db), Vec::<String>::new(), "{l}: the text rows after {step}");
            for c in [&ca, &cb] {
                for text in ["quixotic", "straße", "plan", "again"] {
                    let (got, want) = page_and_scan(c, text);
                    assert_eq!(got, want, "{l}: text {text:?} after {step}");
                }
            }
        };
        let mut ids = Vec::new();
        for (name, description) in [("Alpha", "a QUIXOTIC plan"), ("Beta", "nothing"), ("Gamma quixotic", "Straße")] {
            let r = ca.post("/v1/templates", &json!({ "name": name, "workflow_type": "plain", "description": description, "is_public": true }));
            assert_eq!(r.status, 201, "{l}");
            ids.push(r.json()["id"].as_str().unwrap().to_string());
        }
        check_copy("creates");
        let page = |text: &str, sort: &str| cb.get(&format!("/v1/templates?text={}&includeBuiltin=false&sort={sort}", enc(text))).json();
        let p = page("quixotic", "name");
        assert_eq!((names(&p), p["total"].clone()), (vec!["Alpha".to_string(), "Gamma quixotic".into()], json!(2)), "{l}");
        assert_eq!(page("STRASSE", "name")["total"], 0, "{l}: lowercase, not case folding");
        assert_eq!(names(&page("straße", "name")), vec!["Gamma quixotic".to_string()], "{l}");

        // Usage and ratings move a match in the popular and rating orders.
        for _ in 0..2 {
            assert_eq!(cb.post(&format!("/v1/templates/{}/usage", ids[2]), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
        }
        check_copy("usage");
        assert_eq!(names(&page("quixotic", "popular"))[0], "Gamma quixotic", "{l}: usage reaches the text rows");
        assert_eq!(cb.put(&format!("/v1/templates/{}/rating", ids[0]), &json!({ "stars": 5 })).status, 200, "{l}");
        check_copy("a rating");
        assert_eq!(names(&page("quixotic", "rating"))[0], "Alpha", "{l}: ratings reach the text rows");
        // A rename and an edit change what matches, and the name and recent orders.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[1]), &json!({ "name": "Zeta Quixotic" })).status, 200, "{l}");
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[0]), &json!({ "description": "plain now" })).status, 200, "{l}");
        check_copy("a rename and an edit");
        let p = page("quixotic", "name");
        assert_eq!((names(&p), p["total"].clone()), (vec!["Gamma quixotic".to_string(), "Zeta Quixotic".into()], json!(2)), "{l}: names and descriptions reach the text rows");
        assert_eq!(names(&page("quixotic", "recent"))[0], "Zeta Quixotic", "{l}: updated_at reaches the text rows");
        // Made private: gone from another user's text pages and totals, still in its owner's.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[2]), &json!({ "is_public": false })).status, 200, "{l}");
        check_copy("a visibility change");
        let p = page("quixotic", "name");
        assert_eq!((names(&p), p["total"].clone()), (vec!["Zeta Quixotic".to_string()], json!(1)), "{l}: visibility reaches the text rows");
        let own = ca.get("/v1/templates?text=quixotic&includeBuiltin=false&sort=name").json();
        assert_eq!(own["total"], 2, "{l}: the owner sees the private match");
        // A new version is the latest row; the old one leaves latest pages.
        let v2 = ca.post(&format!("/v1/templates/{}/versions", ids[1]), &json!({ "patch": { "description": "quixotic again" } }));
        assert_eq!(v2.status, 201, "{l}");
        check_copy("a new version");
        let p = page("quixotic", "name");
        assert_eq!(p["total"], 1, "{l}: one latest row per lineage");
        assert_eq!(p["items"][0]["id"], v2.json()["id"], "{l}: the latest version is listed");
        let all = cb.get("/v1/templates?text=quixotic&includeBuiltin=false&latestOnly=false").json();
        assert_eq!(all["total"], 2, "{l}: both versions when latestOnly is false");
        // Deleted: gone from the pages.
        let v2id = v2.json()["id"].as_str().unwrap().to_string();
        assert_eq!(ca.req("DELETE", &format!("/v1/templates/{v2id}"), &[], None).status, 204, "{l}");
        check_copy("a delete");
        assert_eq!(page("quixotic again", "name")["total"], 0, "{l}");
        // Writes behind the server's back reach the copy too (the triggers, not the store).
        let mut c = db_conn(&db);
        let t = if pg { "true" } else { "1" };
        c.batch(&format!("UPDATE workflow_templates SET is_public = {t} WHERE id = '{}'", ids[2])).unwrap();
        drop(c);
        check_copy("a direct UPDATE");
        assert!(names(&page("quixotic", "name")).contains(&"Gamma quixotic".to_string()), "{l}: a direct UPDATE of the template reaches the text rows");
        {
            let r = ca.post("/v1/templates", &json!({ "name": "Delta", "workflow_type": "plain", "description": "quixotic too", "is_public": true }));
            assert_eq!(r.status, 201, "{l}");
            let delta = r.json()["id"].as_str().unwrap().to_string();
            check_copy("a create");
            let mut c = db_conn(&db);
            c.batch(&format!("UPDATE workflow_templates SET description_lc = 'hidden quixotic', description = 'hidden QUIXOTIC' WHERE id = '{}'", ids[0])).unwrap();
            c.batch(&format!("DELETE FROM workflow_templates WHERE id = '{delta}'")).unwrap();
            drop(c);
            check_copy("direct writes of a text and a delete");
            assert!(names(&page("quixotic", "name")).contains(&"Alpha".to_string()), "{l}: a direct write of a text reaches the text rows");
            assert!(!names(&page("quixotic", "name")).contains(&"Delta".to_string()), "{l}: a direct delete reaches the text rows");
            // Sort keys written by hand (the statistics, which the record's hash does not cover).
            let mut c = db_conn(&db);
            c.batch(&format!("UPDATE workflow_templates SET usage_count = 77, rating = 4.5, rating_count = 3 WHERE id = '{}'", ids[1])).unwrap();
            drop(c);
            check_copy("a direct write of the statistics");
            assert_eq!(names(&page("quixotic", "popular"))[0], "Zeta Quixotic", "{l}: a direct write of usage_count reaches the text rows");
        }
        if !pg {
            // SQLite's INSERT OR REPLACE deletes the old row without its delete triggers (no
            // recursive triggers): the insert's trigger takes the document over.
            let mut c = db_conn(&db);
            c.batch(&format!(
                "CREATE TEMP TABLE x AS SELECT * FROM workflow_templates WHERE id = '{}'; UPDATE x SET name_lc = 'replaced quixotic', usage_count = 5; \
                 INSERT OR REPLACE INTO workflow_templates SELECT * FROM x; DROP TABLE x",
                ids[1]
            ))
            .unwrap();
            drop(c);
            check_copy("an INSERT OR REPLACE");
        }
    }
}

/// PostgreSQL reads a text's matches once when there are at most `MATCH_CAP` of them (the page
/// and its `total` from one statement) and counts, then pages, otherwise (a walk or the
/// matches): both sides of the cap, every sort, pages at the start, middle and end, and past
/// the end, against the core's full scan (`scan_page`), with private rows of the viewer and of
/// another owner among the matches. (SQLite runs the same comparisons on its FTS5 plans, with
/// fewer rows.)
#[test]
fn texts_on_both_sides_of_the_match_cap_page_as_a_full_scan() {
    use workflow_templates::hash::config_hash;
    use workflow_templates::model::time::format_ms;
    use workflow_templates::store::page::scan_page;
    use workflow_templates::store::{Expect, PageQuery, Sort, Store, TemplateFilter, Write as W};
    use workflow_templates::WorkflowTemplate;
    use workflow_templates_server::db::{DbUrl, Pool};
    use workflow_templates_server::discover::MATCH_CAP;
    use workflow_templates_server::http::block_on;
    use workflow_templates_server::store::SqlStore;

    for db in backends() {
        let l = db.label;
        let pg = l == "postgres";
        // The cap is PostgreSQL's; SQLite's plans are compared on fewer rows.
        let n = if pg { MATCH_CAP + 60 } else { 400 };
        let (a, b) = (create_user(&db), create_user(&db));
        let pool = Pool::new(DbUrl::parse(&db.url).unwrap(), 2);
        let store = SqlStore::new(pool.get().unwrap());
        let mut batch = Vec::new();
        for i in 0..n {
            let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 3);
            let owner = if i % 7 == 0 { &b.id } else { &a.id };
            let mut t = WorkflowTemplate::with_defaults(id, owner.clone(), format_ms(1_800_000_000_000 + (i as i64 * 7919) % 100_000));
            t.name = format!("Item {:05}", (i * 37) % n);
            // Every row holds "common"; "rare" is in 1 row of 97.
            t.description = format!("common words {}", if i % 97 == 0 { "RARE one" } else { "" });
            t.is_public = i % 11 != 0;
            t.usage_count = (i * 13 % 29) as u64;
            t.config_hash = config_hash(&t.config());
            batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
        }
        block_on(store.commit(batch)).unwrap();
        let all = block_on(store.find_templates(&TemplateFilter::default())).unwrap();
        for text in ["common", "rare"] {
            for sort in [Sort::Popular, Sort::Rating, Sort::Recent, Sort::Name] {
                let want_total = scan_page(all.clone(), &PageQuery { viewer: a.id.clone(), text: Some(text.into()), tags: vec![], category: None, workflow_type: None, owner: None, latest_only: true, sort, offset: 0, limit: 1 }).total;
                for offset in [0, want_total as u64 / 2, want_total.saturating_sub(3) as u64, want_total as u64 + 5] {
                    let q = PageQuery { viewer: a.id.clone(), text: Some(text.into()), tags: vec![], category: None, workflow_type: None, owner: None, latest_only: true, sort, offset, limit: 20 };
                    let got = block_on(store.query_page(&q)).unwrap().expect("SQL answers");
                    let want = scan_page(all.clone(), &q);
                    let ids = |p: &workflow_templates::store::PageRows| p.rows.iter().map(|r| r.stored.record.id.clone()).collect::<Vec<_>>();
                    assert_eq!((got.total, ids(&got)), (want.total, ids(&want)), "{l} {text:?} {sort:?} offset {offset}");
                }
                if pg && text == "common" {
                    assert!(want_total > MATCH_CAP, "{l}: the common text is past the cap ({want_total})");
                } else if pg {
                    assert!(want_total > 20 && want_total <= MATCH_CAP, "{l}: the rare text is under the cap ({want_total})");
                }
            }
        }
    }
}

/// Migration 015 takes the copy under SHARE ROW EXCLUSIVE (writers wait, readers go on) but
/// dropping an index locks its table against readers too (ACCESS EXCLUSIVE, until the commit):
/// the drops of the old trigram indexes must come after the copy and the builds of the new
/// indexes (minutes at 1,000,000 templates), not before them. (A check of the statements'
/// order: the migration cannot be paused between them from a test.)
#[test]
fn migration_015_drops_the_old_indexes_after_building_the_new_ones() {
    let sql = include_str!("../migrations/postgres/015_template_text.up.sql");
    let statements: Vec<String> = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase())
        .collect();
    let first_drop = statements.iter().position(|s| s.starts_with("DROP INDEX")).expect("015 drops the old trigram indexes");
    let last_build = statements.iter().rposition(|s| s.starts_with("CREATE INDEX") || s.starts_with("INSERT INTO TEMPLATE_TEXT") || s.starts_with("ANALYZE")).unwrap();
    assert!(first_drop > last_build, "015 drops an index (statement {first_drop}) before its copy and builds end (statement {last_build})");
}

/// The write paths the first test does not take: a restore, a label move, an export imported
/// back, a transaction rolled back, and concurrent writers in two server processes (recorded
/// uses of one template, a rename) and two plain SQL sessions. After each, the copy equals the
/// templates (PostgreSQL) and the text pages equal the full listings (both).
#[test]
fn the_copy_follows_restores_labels_imports_rollbacks_and_concurrent_writers() {
    for db in backends() {
        let l = db.label;
        let pg = l == "postgres";
        let a = create_user(&db);
        let (s1, s2) = (Server::start(&db), Server::start(&db));
        let (c1, c2) = (s1.client(Some(&a.token)), s2.client(Some(&a.token)));
        let check = |step: &str| {
            assert_eq!(copy_differences(&db), Vec::<String>::new(), "{l}: the text rows after {step}");
            for text in ["quixotic", "again", "imported"] {
                let (got, want) = page_and_scan(&c1, text);
                assert_eq!(got, want, "{l}: text {text:?} after {step}");
            }
        };
        let v1 = c1.post("/v1/templates", &json!({ "name": "Alpha", "workflow_type": "plain", "description": "quixotic first", "is_public": true })).json()["id"].as_str().unwrap().to_string();
        assert_eq!(c1.post(&format!("/v1/templates/{v1}/versions"), &json!({ "patch": { "description": "again" } })).status, 201, "{l}");
        check("a new version");
        let r = c1.post(&format!("/v1/templates/{v1}/restore"), &json!({}));
        assert_eq!(r.status, 201, "{l}: {:?}", r.json());
        check("a restore");
        assert_eq!(c1.put(&format!("/v1/templates/{v1}/labels/prod"), &json!(null)).status, 200, "{l}");
        check("a label");
        // An export imported back after its template was deleted.
        let b = create_user(&db);
        let cb = s1.client(Some(&b.token));
        let t = cb.post("/v1/templates", &json!({ "name": "Gamma", "workflow_type": "plain", "description": "imported quixotic", "is_public": true })).json()["id"].as_str().unwrap().to_string();
        let bundle = cb.get("/v1/export").json();
        assert_eq!(cb.req("DELETE", &format!("/v1/templates/{t}"), &[], None).status, 204, "{l}");
        check("a delete before the import");
        let r = cb.post("/v1/import", &bundle);
        assert_eq!(r.status, 200, "{l}: {:?}", r.json());
        check("an import");
        // A transaction rolled back leaves the copy as it was.
        let mut c = db_conn(&db);
        c.batch(&format!("BEGIN; UPDATE workflow_templates SET description_lc = 'rolled back quixotic' WHERE id = '{v1}'; DELETE FROM workflow_templates WHERE id = '{t}'; ROLLBACK")).unwrap();
        drop(c);
        check("a rollback");
        // Two processes record uses of one template and rename it; two SQL sessions update the
        // same rows at once.
        let latest = c1.get(&format!("/v1/templates/{v1}/versions")).json();
        let latest = latest.as_array().map(|v| v.iter().find(|t| t["is_latest"] == true).unwrap()["id"].as_str().unwrap().to_string()).unwrap_or_else(|| panic!("{l}: {latest}"));
        std::thread::scope(|s| {
            for (i, srv) in [&s1, &s2].into_iter().enumerate() {
                let (id, token) = (latest.clone(), a.token.clone());
                s.spawn(move || {
                    let c = srv.client(Some(&token));
                    for n in 0..15 {
                        assert_eq!(c.post(&format!("/v1/templates/{id}/usage"), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
                        if n == 7 {
                            let _ = c.patch(&format!("/v1/templates/{id}"), &json!({ "name": format!("Alpha quixotic {i}") }));
                        }
                    }
                });
            }
            if pg {
                for _ in 0..2 {
                    s.spawn(|| {
                        let mut c = db_conn(&db);
                        // Two statements locking many rows in their own orders may deadlock:
                        // PostgreSQL aborts one (40P01) and, as every client must (and the
                        // server's own writes do), it is run again.
                        let mut done = 0;
                        while done < 15 {
                            match c.batch("UPDATE workflow_templates SET usage_count = usage_count + 1, rating_count = rating_count WHERE NOT is_builtin") {
                                Ok(()) => done += 1,
                                Err(e) if e.kind == workflow_templates_server::db::DbErrorKind::Retry => {}
                                Err(e) => panic!("{l}: {e}"),
                            }
                        }
                    });
                }
            }
        });
        check("concurrent writers");
        let got = c2.get(&format!("/v1/templates/{latest}")).json();
        assert!(got["usage_count"].as_u64().unwrap() >= 30, "{l}: {got}");
    }
}

/// Migration 015 run while a writer's transaction is open (a process of the previous release):
/// the copy must wait for it, or the row it changes is copied as it was and the triggers,
/// created after, never see the change.
#[test]
fn migration_015_waits_for_an_open_writer_before_copying() {
    use workflow_templates::store::{Expect, Store, Write as W};
    use workflow_templates::WorkflowTemplate;
    use workflow_templates_server::db::{DbUrl, Pool};
    use workflow_templates_server::http::block_on;
    use workflow_templates_server::migrations;
    use workflow_templates_server::store::SqlStore;

    for db in backends().into_iter().filter(|d| d.label == "postgres") {
        let a = create_user(&db);
        // (Creating a user migrated the database up: 015 is reverted as `down` would.)
        migrations::down_to(&mut db_conn(&db), Some("014_tag_counts")).unwrap();
        let pool = Pool::new(DbUrl::parse(&db.url).unwrap(), 1);
        let store = SqlStore::new(pool.get().unwrap());
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000, 7);
        let mut t = WorkflowTemplate::with_defaults(id.clone(), a.id.clone(), workflow_templates::model::time::format_ms(1_800_000_000_000));
        t.name = "Before".into();
        t.config_hash = workflow_templates::hash::config_hash(&t.config());
        block_on(store.commit(vec![W::PutTemplate { record: t, expect: Expect::Absent }])).unwrap();
        drop(store);
        let mut writer = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
        writer.batch_execute(&format!("BEGIN; UPDATE workflow_templates SET name = 'Written meanwhile', name_lc = 'written meanwhile', usage_count = 9 WHERE id = '{id}'")).unwrap();
        let url = db.url.clone();
        let migrating = std::thread::spawn(move || migrations::up_to(&mut workflow_templates_server::db::Conn::open(&DbUrl::parse(&url).unwrap()).unwrap(), None).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(!migrating.is_finished(), "015 did not wait for the open writer");
        writer.batch_execute("COMMIT").unwrap();
        assert_eq!(migrating.join().unwrap(), from("015_template_text"));
        assert_eq!(copy_differences(&db), Vec::<String>::new(), "template_text after a writer open during 015");
    }
}

/// `TRUNCATE workflow_templates ... CASCADE` by an operator (PostgreSQL): the copy is emptied
/// too, or a text's `total` keeps counting rows that no longer exist.
#[test]
fn a_truncate_of_the_templates_empties_the_copy() {
    for db in backends().into_iter().filter(|d| d.label == "postgres") {
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        assert_eq!(c.post("/v1/templates", &json!({ "name": "Alpha", "workflow_type": "plain", "description": "quixotic", "is_public": true })).status, 201);
        db_conn(&db).batch("TRUNCATE workflow_templates CASCADE").unwrap();
        assert_eq!(copy_differences(&db), Vec::<String>::new(), "template_text after a TRUNCATE");
        assert_eq!(c.get("/v1/templates?text=quixotic&includeBuiltin=false").json()["total"], 0);
    }
}

/// Migration 016 on a SQLite database with data (SQLite's text rows were the texts alone until
/// then): created, used, rated, private and versioned templates, and a statistic written by hand
/// while at 015, are all in the copy after `up`, and the text pages answer as the full listing.
/// Then down and up again leave the same.
#[test]
fn migration_016_copies_the_rows_of_an_existing_database() {
    use workflow_templates_server::db::{Conn, DbUrl};
    use workflow_templates_server::migrations;

    for db in backends().into_iter().filter(|d| d.label != "postgres") {
        let a = create_user(&db);
        let b = create_user(&db);
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let mut ids = Vec::new();
        for (name, description, public) in [("Alpha", "a quixotic plan", true), ("Beta", "quixotic again", false), ("Gamma", "nothing", true)] {
            let r = ca.post("/v1/templates", &json!({ "name": name, "workflow_type": "plain", "description": description, "is_public": public }));
            assert_eq!(r.status, 201);
            ids.push(r.json()["id"].as_str().unwrap().to_string());
        }
        assert_eq!(cb.post(&format!("/v1/templates/{}/usage", ids[0]), &json!({ "success": true, "responseTimeMs": 1 })).status, 200);
        assert_eq!(cb.put(&format!("/v1/templates/{}/rating", ids[2]), &json!({ "stars": 4 })).status, 200);
        assert_eq!(ca.post(&format!("/v1/templates/{}/versions", ids[1]), &json!({ "patch": { "description": "quixotic v2" } })).status, 201);
        drop(srv);
        // Back to 015 as `migrate down` would revert 016, then a write while there.
        migrations::down_to(&mut db_conn(&db), Some("015_template_text")).unwrap();
        let mut c = db_conn(&db);
        c.batch(&format!("UPDATE workflow_templates SET usage_count = 41 WHERE id = '{}'", ids[2])).unwrap();
        drop(c);
        let mut conn = Conn::open(&DbUrl::parse(&db.url).unwrap()).unwrap();
        assert_eq!(migrations::up(&mut conn).unwrap(), from("016_text_rows"));
        drop(conn);
        assert_eq!(copy_differences(&db), Vec::<String>::new(), "the text rows after 016 on existing data");
        let srv = Server::start(&db);
        for c in [srv.client(Some(&a.token)), srv.client(Some(&b.token))] {
            for text in ["quixotic", "again", "nothing"] {
                let (got, want) = page_and_scan(&c, text);
                assert_eq!(got, want, "text {text:?} after 016");
            }
        }
        drop(srv);
        migrations::down_to(&mut db_conn(&db), Some("015_template_text")).unwrap();
        let mut conn = Conn::open(&DbUrl::parse(&db.url).unwrap()).unwrap();
        assert_eq!(migrations::up(&mut conn).unwrap(), from("016_text_rows"));
        drop(conn);
        assert_eq!(copy_differences(&db), Vec::<String>::new(), "the text rows after 016 down and up");
    }
}

/// The ids of the migrations from `first` on, as `up` applies them after a `down_to` before it.
fn from(first: &str) -> Vec<&'static str> {
    workflow_templates_server::migrations::MIGRATIONS.iter().map(|m| m.id).skip_while(|id| *id != first).collect()
}
