//! The `total` of a tag page (issue 13): on PostgreSQL the public rows come from `tag_counts`
//! (migration 014, kept by statement triggers on `template_tags`), the viewer's private rows
//! from a live count. Every total must equal a full scan of the stored templates (their own
//! `tags` column, not the tag rows) after creates, imports, visibility / tag / category changes,
//! new versions, deletes, writes behind the server's back, and concurrent writers in two server
//! processes; on SQLite and (with WT_TEST_POSTGRES_URL) PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::{json, Value};

/// A stored template as the full scan reads it.
struct Scanned {
    owner: String,
    public: bool,
    latest: bool,
    category: String,
    wtype: String,
    tags: BTreeSet<String>,
}

fn scan(db: &TestDb) -> Vec<Scanned> {
    let mut c = db_conn(db);
    let sql = "SELECT owner_id, is_public, is_latest, CAST(category AS TEXT), CAST(workflow_type AS TEXT), CAST(tags AS TEXT) FROM workflow_templates WHERE owner_id <> '00000000000000000000000000'";
    c.query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| {
            let tags: Option<Vec<String>> = r[5].text().map(|t| serde_json::from_str(t).unwrap()).unwrap_or(None);
            Scanned {
                owner: r[0].text().unwrap().into(),
                public: r[1].bool().unwrap(),
                latest: r[2].bool().unwrap(),
                category: r[3].text().unwrap().into(),
                wtype: r[4].text().unwrap().into(),
                tags: tags.unwrap_or_default().iter().map(|t| t.to_lowercase()).collect(),
            }
        })
        .collect()
}

/// Every tag page's `total` (each tag; no filter, a category, a type, both) for each viewer
/// equals the full scan's count; on PostgreSQL, `tag_counts` also equals a count of the public
/// latest tag rows, with one row per counter once no writer is running (they were folded).
fn check(db: &TestDb, srv: &Server, viewers: &[&User], step: &str) {
    let l = db.label;
    let rows = scan(db);
    let mut tags: BTreeSet<String> = rows.iter().flat_map(|r| r.tags.iter().cloned()).collect();
    tags.insert("absent".into());
    let cats: BTreeSet<&str> = rows.iter().map(|r| r.category.as_str()).collect();
    let mut filters: Vec<(Option<&str>, Option<&str>)> = vec![(None, None), (None, Some("plain")), (None, Some("tools"))];
    for c in &cats {
        filters.extend([(Some(*c), None), (Some(*c), Some("tools"))]);
    }
    for v in viewers {
        let client = srv.client(Some(&v.token));
        for tag in &tags {
            for (cat, ty) in &filters {
                let want = rows
                    .iter()
                    .filter(|r| r.latest && (r.public || r.owner == v.id) && r.tags.contains(tag))
                    .filter(|r| cat.is_none_or(|c| r.category == c) && ty.is_none_or(|t| r.wtype == t))
                    .count();
                let mut path = format!("/v1/templates?tags={}&includeBuiltin=false&limit=1", enc(&tag.to_uppercase()));
                if let Some(c) = cat {
                    path.push_str(&format!("&category={c}"));
                }
                if let Some(t) = ty {
                    path.push_str(&format!("&workflowType={t}"));
                }
                let got = client.get(&path).json();
                assert_eq!(got["total"], json!(want), "{l} {step}: {path} as {}", v.id);
            }
        }
        // With an owner filter (counted from the owner's ranges, not the counters): the viewer's
        // own rows, and another user's public ones.
        for tag in &tags {
            for o in viewers {
                let want = rows.iter().filter(|r| r.latest && r.owner == o.id && (r.public || o.id == v.id) && r.tags.contains(tag)).count();
                let path = format!("/v1/templates?tags={}&owner={}&includeBuiltin=false&limit=1", enc(tag), o.id);
                let got = client.get(&path).json();
                assert_eq!(got["total"], json!(want), "{l} {step}: {path} as {}", v.id);
            }
        }
        // Pages of two tags (each with "hot" or "t1"), in both orders, without and with a filter.
        for x in tags.iter().filter(|t| *t == "hot" || *t == "t1") {
            for y in tags.iter().filter(|y| *y != x) {
                for (cat, ty) in &filters[..3.min(filters.len())] {
                    let want = rows
                        .iter()
                        .filter(|r| r.latest && (r.public || r.owner == v.id) && r.tags.contains(x) && r.tags.contains(y))
                        .filter(|r| cat.is_none_or(|c| r.category == c) && ty.is_none_or(|t| r.wtype == t))
                        .count();
                    let mut path = format!("/v1/templates?tags={}&tags={}&includeBuiltin=false&limit=1", enc(y), enc(&x.to_uppercase()));
                    if let Some(t) = ty {
                        path.push_str(&format!("&workflowType={t}"));
                    }
                    let got = client.get(&path).json();
                    assert_eq!(got["total"], json!(want), "{l} {step}: {path} as {}", v.id);
                }
            }
        }
    }
    if l != "postgres" {
        return;
    }
    let mut c = db_conn(db);
    let read = |c: &mut workflow_templates_server::db::Conn, sql: &str| -> BTreeMap<String, i64> {
        c.query(sql, &[]).unwrap().iter().map(|r| (r[0].text().unwrap().to_string(), r[1].int().unwrap())).collect()
    };
    let key = "tag || '/' || CAST(category AS TEXT) || '/' || CAST(workflow_type AS TEXT)";
    let counters = read(&mut c, &format!("SELECT {key}, CAST(SUM(n) AS BIGINT) FROM tag_counts GROUP BY 1 HAVING SUM(n) <> 0"));
    let counted = read(&mut c, &format!("SELECT {key}, COUNT(*) FROM template_tags WHERE is_public AND is_latest GROUP BY 1"));
    assert_eq!(counters, counted, "{l} {step}: tag_counts against a count of the tag rows");
    let stored = c.query("SELECT COUNT(*) FROM tag_counts", &[]).unwrap()[0][0].int().unwrap();
    assert_eq!(stored as usize, counted.len(), "{l} {step}: one row per counter after serial writes");
    let key = "tag || '/' || other || '/' || CAST(category AS TEXT) || '/' || CAST(workflow_type AS TEXT)";
    let counters = read(&mut c, &format!("SELECT {key}, CAST(SUM(n) AS BIGINT) FROM tag_pair_counts GROUP BY 1 HAVING SUM(n) <> 0"));
    let counted = read(
        &mut c,
        &format!(
            "SELECT {key}, COUNT(*) FROM (SELECT a.tag, b.tag AS other, a.category, a.workflow_type FROM template_tags a JOIN template_tags b ON b.template_id = a.template_id \
             AND b.tag COLLATE \"C\" > a.tag COLLATE \"C\" WHERE a.is_public AND a.is_latest AND a.all_tags IS NOT NULL) p GROUP BY 1"
        ),
    );
    assert_eq!(counters, counted, "{l} {step}: tag_pair_counts against a count of the tag rows' pairs");
    let stored = c.query("SELECT COUNT(*) FROM tag_pair_counts", &[]).unwrap()[0][0].int().unwrap();
    assert_eq!(stored as usize, counted.len(), "{l} {step}: one row per pair counter after serial writes");
}

fn id_of(r: &Resp) -> String {
    assert!(r.status == 200 || r.status == 201, "{}: {}", r.status, String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

fn body(name: &str, public: bool, category: &str, tools: bool, tags: Value) -> Value {
    let mut b = json!({ "name": name, "description": format!("about {name}"), "workflow_type": "plain", "required_tools": null, "is_public": public, "category": category, "tags": tags });
    if tools {
        b["workflow_type"] = json!("tools");
        b["required_tools"] = json!(["web_search"]);
    }
    b
}

#[test]
fn tag_totals_equal_a_full_scan_after_every_kind_of_write() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let srv = Server::start(&db);
        let (ca, cb) = (srv.client(Some(&a.token)), srv.client(Some(&b.token)));
        let viewers = [&a, &b];
        let mut ids = Vec::new();
        for i in 0..12 {
            let (c, owner) = if i % 3 == 0 { (&cb, "b") } else { (&ca, "a") };
            let cat = ["general", "programming", "research"][i % 3];
            let tags = match i % 4 {
                0 => json!(["Hot", "t1"]),
                1 => json!(["hot", "T2"]),
                2 => json!(["t1"]),
                _ => json!([]),
            };
            ids.push(id_of(&c.post("/v1/templates", &body(&format!("{owner} {i}"), i % 5 != 1, cat, i % 2 == 0, tags))));
        }
        // Tag sets over 256 bytes are not copied into the tag rows (migration 012): not in the
        // pair counters, counted live.
        let long: Vec<String> = (0..6).map(|i| format!("long {i} {}", "x".repeat(50))).collect();
        for (i, public) in [(0, true), (1, true), (2, false)] {
            let mut tags = vec![json!("hot"), json!(if i == 1 { "t2" } else { "t1" })];
            tags.extend(long.iter().map(|t| json!(t)));
            ids.push(id_of(&ca.post("/v1/templates", &body(&format!("big {i}"), public, "research", i == 0, json!(tags)))));
        }
        check(&db, &srv, &viewers, "creates");

        // Import: a's templates exported, deleted (children first), and imported back.
        let bundle = ca.get("/v1/export").json();
        let mine: Vec<&String> = ids.iter().enumerate().filter(|(i, _)| *i >= 12 || i % 3 != 0).map(|(_, id)| id).collect();
        for id in mine.iter().rev() {
            assert_eq!(ca.delete(&format!("/v1/templates/{id}")).status, 204, "{l}");
        }
        check(&db, &srv, &viewers, "deletes");
        let imp = ca.post("/v1/import", &bundle);
        assert_eq!(imp.status, 200, "{l}: {:?}", imp.json());
        check(&db, &srv, &viewers, "import");

        // Visibility both ways, tags (a tag gained, one lost, only a case changed), category.
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[1]), &json!({ "is_public": true })).status, 200, "{l}");
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[2]), &json!({ "is_public": false })).status, 200, "{l}");
        check(&db, &srv, &viewers, "visibility");
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[4]), &json!({ "tags": ["t1", "new"] })).status, 200, "{l}");
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[5]), &json!({ "tags": ["Hot", "T1"] })).status, 200, "{l}");
        assert_eq!(cb.patch(&format!("/v1/templates/{}", ids[6]), &json!({ "tags": ["HOT", "t1"] })).status, 200, "{l}");
        check(&db, &srv, &viewers, "tags");
        assert_eq!(ca.patch(&format!("/v1/templates/{}", ids[7]), &json!({ "category": "creative" })).status, 200, "{l}");
        assert_eq!(cb.patch(&format!("/v1/templates/{}", ids[9]), &json!({ "category": "general", "is_public": false })).status, 200, "{l}");
        check(&db, &srv, &viewers, "category");

        // A new version takes over the lineage's count (the old row stops being latest); a use
        // rewrites the record without moving a counter.
        let v2 = id_of(&ca.post(&format!("/v1/templates/{}/versions", ids[8]), &json!({ "patch": { "tags": ["hot", "v2"] } })));
        assert_eq!(cb.post(&format!("/v1/templates/{}/usage", ids[1]), &json!({ "success": true, "responseTimeMs": 1 })).status, 200, "{l}");
        check(&db, &srv, &viewers, "new version and a use");
        // Deleting the latest version promotes the previous one.
        assert_eq!(ca.delete(&format!("/v1/templates/{v2}")).status, 204, "{l}");
        check(&db, &srv, &viewers, "latest version deleted");

        // Writes behind the server's back: the triggers follow them too.
        let mut c = db_conn(&db);
        let (t, f) = if l == "postgres" { ("true", "false") } else { ("1", "0") };
        c.batch(&format!("UPDATE workflow_templates SET is_public = {t} WHERE id = '{}'", ids[2])).unwrap();
        c.batch(&format!("UPDATE workflow_templates SET is_public = {f} WHERE id = '{}'", ids[0])).unwrap();
        c.batch(&format!("UPDATE workflow_templates SET category = 'business' WHERE id IN ('{}', '{}')", ids[4], ids[10])).unwrap();
        c.batch(&format!("DELETE FROM workflow_templates WHERE id = '{}'", ids[11])).unwrap();
        c.batch(&format!("UPDATE workflow_templates SET is_public = {f} WHERE id = '{}'", ids[12])).unwrap();
        drop(c);
        check(&db, &srv, &viewers, "writes behind the server's back");
    }
}

/// Two server processes on one database, four writers each, creating and changing templates
/// of the same tags at once: no write fails or waits on a counter, and every total is exact.
#[test]
fn concurrent_writers_in_two_processes_keep_tag_totals_exact() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let servers = [Server::start(&db), Server::start(&db)];
        std::thread::scope(|s| {
            for w in 0..8 {
                let (srv, user) = (&servers[w % 2], if w % 3 == 0 { &b } else { &a });
                s.spawn(move || {
                    let c = srv.client(Some(&user.token));
                    for i in 0..12 {
                        let cat = ["general", "programming"][(w + i) % 2];
                        let tags = json!(["Hot", format!("t{}", i % 3), format!("w{w}")]);
                        let id = id_of(&c.post("/v1/templates", &body(&format!("w{w} {i}"), (w + i) % 4 != 0, cat, i % 3 == 0, tags)));
                        if i % 4 == 1 {
                            let r = c.patch(&format!("/v1/templates/{id}"), &json!({ "is_public": (w + i) % 4 == 0, "category": "research" }));
                            assert_eq!(r.status, 200, "{l}: {}", String::from_utf8_lossy(&r.raw));
                        }
                        if i % 6 == 5 {
                            assert_eq!(c.delete(&format!("/v1/templates/{id}")).status, 204, "{l}");
                        }
                    }
                });
            }
        });
        // After the writers: one more serial write folds each counter it moves into one row.
        let c = servers[0].client(Some(&a.token));
        let id = id_of(&c.post("/v1/templates", &body("fold", true, "general", false, json!(["hot"]))));
        for cat in ["general", "programming", "research"] {
            for tools in [false, true] {
                let tags: Vec<String> = ["hot", "t0", "t1", "t2"].iter().map(|t| t.to_string()).chain((0..8).map(|w| format!("w{w}"))).collect();
                let r = c.patch(&format!("/v1/templates/{id}"), &body("fold", true, cat, tools, json!(tags)));
                assert_eq!(r.status, 200, "{l}: {}", String::from_utf8_lossy(&r.raw));
            }
        }
        assert_eq!(c.delete(&format!("/v1/templates/{id}")).status, 204, "{l}");
        check(&db, &servers[1], &[&a, &b], "after concurrent writers");
    }
}

/// Migration 014 on a database a writer of the previous release is writing to (several
/// processes, a rolling deploy): a tag row inserted by a transaction still open while 014 runs
/// must be counted once it commits. 014 first locks `template_tags` against writers, so it
/// counts after that transaction (PostgreSQL; SQLite's 014 is a no-op).
#[test]
fn migration_014_counts_the_rows_of_a_writer_open_while_it_runs() {
    use workflow_templates::hash::config_hash;
    use workflow_templates::model::time::format_ms;
    use workflow_templates::store::{Expect, Store, Write as W};
    use workflow_templates::WorkflowTemplate;
    use workflow_templates_server::db::{Conn, DbUrl, Pool};
    use workflow_templates_server::http::block_on;
    use workflow_templates_server::store::{sync_builtins, SqlStore};
    use workflow_templates_server::{auth, migrations};

    for db in backends().into_iter().filter(|d| d.label == "postgres") {
        let url = DbUrl::parse(&db.url).unwrap();
        let mut c = Conn::open(&url).unwrap();
        migrations::up_to(&mut c, Some("013_permanent_usage_keys")).unwrap();
        sync_builtins(&mut c).unwrap();
        let owner = auth::create_user(&mut c, "old release").unwrap().0;
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000, 7);
        let mut t = WorkflowTemplate::with_defaults(id, owner, format_ms(1_800_000_000_000));
        t.name = "open writer".into();
        t.is_public = true;
        t.tags = Some(vec!["x".into()]);
        t.config_hash = config_hash(&t.config());
        let pool = Pool::new(url.clone(), 2);
        block_on(SqlStore::new(pool.get().unwrap()).commit(vec![W::PutTemplate { record: t, expect: Expect::Absent }])).unwrap();

        // A writer of the previous release adds a tag row and has not committed yet.
        c.batch("BEGIN").unwrap();
        c.batch("INSERT INTO template_tags (template_id, tag, owner_id, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, name_lc, name, updated_ms, all_tags) \
                 SELECT template_id, 'y', owner_id, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, name_lc, name, updated_ms, ARRAY['x', 'y'] FROM template_tags WHERE tag = 'x'")
            .unwrap();
        c.batch("UPDATE template_tags SET all_tags = ARRAY['x', 'y'] WHERE tag = 'x'").unwrap();
        let migrating = {
            let url = url.clone();
            std::thread::spawn(move || migrations::up(&mut Conn::open(&url).unwrap()).unwrap())
        };
        std::thread::sleep(std::time::Duration::from_millis(1500));
        c.batch("COMMIT").unwrap();
        assert!(migrating.join().unwrap().contains(&"014_tag_counts"));

        let one = |c: &mut Conn, sql: &str| c.query(sql, &[]).unwrap()[0][0].int().unwrap();
        assert_eq!(one(&mut c, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM tag_counts WHERE tag = 'y'"), 1, "the open writer's tag row is counted");
        assert_eq!(one(&mut c, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM tag_pair_counts WHERE tag = 'x' AND other = 'y'"), 1, "and its pair");
    }
}

/// SQLite (built without STAT4) counts a tag page's public rows in the tag's public partial
/// index, never through the owner index (which holds every latest row of the tag, private ones
/// included), whatever `ANALYZE` says about the two.
#[test]
fn a_sqlite_tag_total_counts_the_public_index() {
    use workflow_templates::hash::config_hash;
    use workflow_templates::model::time::format_ms;
    use workflow_templates::store::{Expect, PageQuery, Sort, Store, Write as W};
    use workflow_templates::{TemplateCategory, WorkflowTemplate};
    use workflow_templates_server::db::{Conn, DbUrl, Pool};
    use workflow_templates_server::discover::{page_sql, TextPlan};
    use workflow_templates_server::http::block_on;
    use workflow_templates_server::store::{sync_builtins, SqlStore};
    use workflow_templates_server::{auth, migrations};

    let db = sqlite_db();
    let url = DbUrl::parse(&db.url).unwrap();
    let mut c = Conn::open(&url).unwrap();
    migrations::up(&mut c).unwrap();
    sync_builtins(&mut c).unwrap();
    let owners: Vec<String> = (0..20).map(|i| auth::create_user(&mut c, &format!("o{i}")).unwrap().0).collect();
    let store = SqlStore::new(Pool::new(url.clone(), 2).get().unwrap());
    let mut batch = Vec::new();
    for i in 0..2000usize {
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 1);
        let mut t = WorkflowTemplate::with_defaults(id, owners[i % 20].clone(), format_ms(1_800_000_000_000 + i as i64));
        t.name = format!("t {i}");
        t.is_public = i % 20 != 0;
        t.category = TemplateCategory::ALL[i % 9];
        t.tags = Some(vec![format!("t{}", i % 50), format!("g{}", i % 7)]);
        t.config_hash = config_hash(&t.config());
        batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
    }
    block_on(store.commit(batch)).unwrap();
    drop(store);
    c.batch("ANALYZE").unwrap();
    let q = PageQuery { viewer: owners[3].clone(), text: None, category: None, workflow_type: None, tags: vec!["t3".into()], owner: None, latest_only: true, sort: Sort::Popular, offset: 0, limit: 20 };
    for q in [q.clone(), PageQuery { category: Some(TemplateCategory::Programming), ..q }] {
        let (_, total, p) = page_sql(c.dialect(), &q, TextPlan::Matches, None);
        let plan: Vec<String> = c.query(&format!("EXPLAIN QUERY PLAN {total}"), &p[..p.len() - 3]).unwrap().iter().map(|r| r[3].text().unwrap_or_default().to_string()).collect();
        let searches: Vec<&String> = plan.iter().filter(|s| s.contains("INDEX")).collect();
        assert_eq!(searches.len(), 2, "{plan:?}");
        assert!(searches[0].contains("idx_template_tags_pub_recent"), "the public count: {plan:?}");
        assert!(searches[1].contains("idx_template_tags_own"), "the viewer's private count: {plan:?}");
        let n = c.query(&total, &p[..p.len() - 3]).unwrap()[0][0].int().unwrap();
        assert!(n > 0, "{n}");
    }
}
