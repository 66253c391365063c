//! Migrations: 001 reproduces the seed's schema (PostgreSQL checked column by column), data
//! written by the seed's schema survives the server's migrations, and `migrate up` / `down` /
//! `up` on a database with data behaves like `alembic upgrade head` / `downgrade base`.

mod common;

use common::*;
use serde_json::json;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::WorkflowTemplate;
use workflow_templates_server::db::{text, Conn, DbUrl, Dialect, P};
use workflow_templates_server::migrations;

const INDEXES: [&str; 13] = [
    "idx_workflow_templates_owner_id",
    "idx_workflow_templates_name",
    "idx_workflow_templates_workflow_type",
    "idx_workflow_templates_category",
    "idx_workflow_templates_base_template_id",
    "idx_workflow_templates_is_builtin",
    "idx_workflow_templates_is_latest",
    "idx_workflow_templates_is_public",
    "idx_workflow_templates_config_hash",
    "idx_template_specs_owner_id",
    "idx_template_specs_name",
    "idx_template_specs_workflow_type",
    "idx_template_specs_base_template_name",
];

fn open(db: &TestDb) -> Conn {
    Conn::open(&DbUrl::parse(&db.url).unwrap()).unwrap()
}

fn strings(c: &mut Conn, sql: &str, params: &[P]) -> Vec<String> {
    c.query(sql, params).unwrap().into_iter().map(|r| r.iter().map(|v| v.text().map(str::to_string).or_else(|| v.int().map(|n| n.to_string())).unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join("|")).collect()
}

fn tables(c: &mut Conn) -> Vec<String> {
    match c.dialect() {
        Dialect::Sqlite => strings(c, "SELECT name FROM sqlite_master WHERE type IN ('table', 'index', 'view', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name", &[]),
        Dialect::Postgres => {
            let mut v = strings(c, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1", &[]);
            v.extend(strings(c, "SELECT typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = current_schema() AND t.typtype = 'e'", &[]));
            v
        }
    }
}

fn index_names(c: &mut Conn) -> Vec<String> {
    match c.dialect() {
        Dialect::Sqlite => strings(c, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name", &[]),
        Dialect::Postgres => strings(c, "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'idx_%' ORDER BY 1", &[]),
    }
}

/// (column, type, nullable, default-contains) of the seed's workflow_templates on PostgreSQL.
const PG_COLUMNS: &[(&str, &str, bool, Option<&str>)] = &[
    ("id", "varchar(26)", false, None),
    ("created_at", "timestamptz", false, Some("now()")),
    ("updated_at", "timestamptz", false, Some("now()")),
    ("owner_id", "varchar(26)", false, None),
    ("name", "varchar(255)", false, None),
    ("description", "text", false, None),
    ("workflow_type", "workflowtype", false, None),
    ("category", "templatecategory", false, Some("'custom'::templatecategory")),
    ("default_params", "json", false, Some("'{}'::json")),
    ("required_tools", "json", true, None),
    ("required_retrievers", "json", true, None),
    ("base_template_id", "varchar(26)", true, None),
    ("is_builtin", "bool", false, Some("false")),
    ("version", "int4", false, Some("1")),
    ("is_latest", "bool", false, Some("true")),
    ("changelog", "text", true, None),
    ("is_public", "bool", false, Some("false")),
    ("rating", "float8", true, None),
    ("rating_count", "int4", false, Some("0")),
    ("usage_count", "int4", false, Some("0")),
    ("success_rate", "float8", true, None),
    ("avg_response_time_ms", "int4", true, None),
    ("last_used_at", "timestamptz", true, None),
    ("total_tokens_used", "int4", false, Some("0")),
    ("total_cost", "float8", false, Some("0")),
    ("avg_tokens_per_use", "float8", true, None),
    ("tags", "json", true, None),
    ("extra_metadata", "json", true, None),
    ("config_hash", "varchar(64)", false, None),
    ("estimated_complexity", "int4", true, None),
];

fn pg_columns(c: &mut Conn, table: &str) -> Vec<(String, String, bool, Option<String>)> {
    c.query(
        "SELECT column_name::text, udt_name::text, character_maximum_length::bigint, is_nullable::text, column_default::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = {t1} ORDER BY ordinal_position",
        &[text(table)],
    )
    .unwrap()
    .into_iter()
    .map(|r| {
        let ty = match r[2].int() {
            Some(n) => format!("{}({n})", r[1].text().unwrap()),
            None => r[1].text().unwrap().to_string(),
        };
        (r[0].text().unwrap().to_string(), ty, r[3].text() == Some("YES"), r[4].text().map(str::to_string))
    })
    .collect()
}

#[test]
fn migration_001_reproduces_the_seed_schema() {
    for db in backends() {
        let mut c = open(&db);
        let l = db.label;
        assert_eq!(migrations::up_to(&mut c, Some("001_workflow_templates")).unwrap(), vec!["000_users", "001_workflow_templates"]);
        let mut idx = index_names(&mut c);
        idx.sort();
        let mut want: Vec<String> = INDEXES.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(idx, want, "{l}: exactly the 13 named indexes");
        if c.dialect() == Dialect::Postgres {
            let cols = pg_columns(&mut c, "workflow_templates");
            assert_eq!(cols.len(), PG_COLUMNS.len());
            for ((name, ty, null, default), (wname, wty, wnull, wdefault)) in cols.iter().zip(PG_COLUMNS) {
                assert_eq!((name.as_str(), ty.as_str(), *null), (*wname, *wty, *wnull), "column {wname}");
                match wdefault {
                    Some(d) => assert!(default.as_deref().is_some_and(|x| x.contains(d)), "default of {wname}: {default:?}"),
                    None => assert_eq!(default, &None, "no default on {wname}"),
                }
            }
            let spec_cols = pg_columns(&mut c, "template_specs");
            let names: Vec<&str> = spec_cols.iter().map(|c| c.0.as_str()).collect();
            assert_eq!(names, ["id", "created_at", "updated_at", "owner_id", "name", "description", "workflow_type", "default_params", "required_tools", "required_retrievers", "base_template_name", "usage_count", "last_used_at", "tags", "extra_metadata"]);
            assert!(spec_cols.iter().find(|c| c.0 == "base_template_name").unwrap().2);
            assert_eq!(spec_cols.iter().find(|c| c.0 == "usage_count").unwrap().1, "int4");
            let enums = strings(&mut c, "SELECT t.typname::text, string_agg(e.enumlabel::text, ',' ORDER BY e.enumsortorder) FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1", &[]);
            assert_eq!(enums, ["templatecategory|general,customer_support,programming,research,data_analysis,creative,educational,business,custom", "workflowtype|plain,tools,rag,full"]);
            let cons = strings(&mut c, "SELECT conname::text, contype::text FROM pg_constraint WHERE conrelid IN ('workflow_templates'::regclass, 'template_specs'::regclass) ORDER BY 1", &[]);
            assert_eq!(
                cons,
                [
                    "check_rating_range|c", "check_success_rate_range|c", "template_specs_owner_id_fkey|f", "template_specs_pkey|p",
                    "workflow_templates_base_template_id_fkey|f", "workflow_templates_owner_id_fkey|f", "workflow_templates_pkey|p"
                ]
            );
            // The CHECKs bite.
            c.batch("INSERT INTO users (id) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV')").unwrap();
            let bad = c.batch("INSERT INTO workflow_templates (id, owner_id, name, description, workflow_type, config_hash, rating) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'n', 'd', 'plain', 'h', 6.0)");
            assert!(bad.unwrap_err().message.contains("check_rating_range"));
            let bad = c.batch("INSERT INTO workflow_templates (id, owner_id, name, description, workflow_type, config_hash) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAX', 'n', 'd', 'plain', 'h')");
            assert!(bad.unwrap_err().message.contains("fkey"));
            let bad = c.batch("INSERT INTO workflow_templates (id, owner_id, name, description, workflow_type, config_hash) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'n', 'd', 'sideways', 'h')");
            assert!(bad.is_err());
            c.batch("DELETE FROM users").unwrap();
        } else {
            let info = strings(&mut c, "SELECT name, \"notnull\", dflt_value FROM pragma_table_info('workflow_templates') ORDER BY cid", &[]);
            assert_eq!(info.len(), 30, "{l}");
            assert!(info.contains(&"category|1|'custom'".to_string()), "{info:?}");
            assert!(info.contains(&"rating|0|NULL".to_string()), "{info:?}");
            c.batch("INSERT INTO users (id) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV')").unwrap();
            let bad = c.batch("INSERT INTO workflow_templates (id, owner_id, name, description, workflow_type, config_hash, rating) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'n', 'd', 'plain', 'h', 6.0)");
            assert!(bad.is_err(), "{l}: rating CHECK");
            let bad = c.batch("INSERT INTO workflow_templates (id, owner_id, name, description, workflow_type, config_hash) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'n', 'd', 'sideways', 'h')");
            assert!(bad.is_err(), "{l}: enum CHECK");
            c.batch("DELETE FROM users").unwrap();
        }
    }
}

/// A row written by the seed's application (schema 001 only) is served after the server's
/// migrations, with the server's rules (name uniqueness needs the filled-in name key).
#[test]
fn seed_data_survives_the_server_migrations() {
    for db in backends() {
        let l = db.label;
        let mut c = open(&db);
        migrations::up_to(&mut c, Some("001_workflow_templates")).unwrap();
        let user = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let tid = "01ARZ3NDEKTSV4RRFFQ69G5FAW";
        c.execute("INSERT INTO users (id, name) VALUES ({t1}, {t2})", &[text(user), text("seed user")]).unwrap();
        let mut t = WorkflowTemplate::with_defaults(tid.into(), user.into(), format_ms(1_790_000_000_000));
        t.name = "Seeded Template".into();
        t.description = "from the seed app".into();
        t.default_params = json!({ "model": { "name": "m" } }).as_object().unwrap().clone();
        t.config_hash = config_hash(&t.config());
        c.execute(
            "INSERT INTO workflow_templates (id, created_at, updated_at, owner_id, name, description, workflow_type, default_params, config_hash) VALUES ({t1}, {ts2}, {ts3}, {t4}, {t5}, {t6}, {e:workflowtype:7}, {j8}, {t9})",
            &[text(tid), text(&t.created_at), text(&t.updated_at), text(user), text(&t.name), text(&t.description), text("plain"), text(serde_json::to_string(&t.default_params).unwrap()), text(&t.config_hash)],
        )
        .unwrap();
        drop(c);
        cli(&["migrate", "up", "--db", &db.url]);
        let out = cli(&["token", "create", "--db", &db.url, "--user", user]);
        let token = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["token"].as_str().unwrap().to_string();
        let srv = Server::start(&db);
        let cl = srv.client(Some(&token));
        let got = cl.get(&format!("/v1/templates/{tid}"));
        assert_eq!(got.status, 200, "{l}: {}", String::from_utf8_lossy(&got.raw));
        assert_eq!(got.json(), serde_json::to_value(&t).unwrap(), "{l}: the seed's row reads back as the record");
        let dup = cl.post("/v1/templates", &json!({ "name": "seeded TEMPLATE", "workflow_type": "plain" }));
        assert_eq!(dup.code(), "NAME_TAKEN", "{l}");
    }
}

#[test]
fn migrate_up_down_up_on_a_database_with_data() {
    for db in backends() {
        let l = db.label;
        let status = cli(&["migrate", "status", "--db", &db.url]);
        assert_eq!(status.lines().filter(|x| x.starts_with("pending")).count(), migrations::MIGRATIONS.len(), "{l}");
        assert!(cli(&["migrate", "up", "--db", &db.url]).contains("003_discovery_order"));
        assert!(cli(&["migrate", "up", "--db", &db.url]).contains("nothing"), "{l}: up is idempotent");
        let a = create_user(&db);
        {
            let srv = Server::start(&db);
            let c = srv.client(Some(&a.token));
            let base = c.post("/v1/templates", &draft("kept?", true)).json()["id"].as_str().unwrap().to_string();
            assert_eq!(c.post("/v1/templates", &json!({ "name": "child", "workflow_type": "plain", "base_template_id": base })).status, 201);
            assert_eq!(c.post(&format!("/v1/templates/{base}/versions"), &json!({})).status, 201);
            assert_eq!(c.post(&format!("/v1/templates/{BUILTIN}/usage"), &json!({ "success": true, "responseTimeMs": 3 })).status, 200);
            assert_eq!(c.put(&format!("/v1/templates/{base}/rating"), &json!({ "stars": 5 })).status, 200);
            assert_eq!(c.post("/v1/specs", &json!({ "name": "s", "workflow_type": "plain" })).status, 201);
            assert_eq!(c.req("POST", &format!("/v1/templates/{base}/usage"), &[("Idempotency-Key", "k")], Some(b"{\"success\":true,\"responseTimeMs\":1}")).status, 200);
        }
        let mut c = open(&db);
        assert!(!tables(&mut c).is_empty());
        drop(c);
        let out = cli(&["migrate", "down", "--db", &db.url]);
        assert!(out.contains("003_discovery_order, 002_server, 001_workflow_templates, 000_users"), "{l}: {out}");
        let mut c = open(&db);
        assert_eq!(tables(&mut c), Vec::<String>::new(), "{l}: down to base leaves nothing of ours");
        drop(c);
        assert!(cli(&["migrate", "down", "--db", &db.url]).contains("nothing"), "{l}");
        assert_eq!(cli(&["migrate", "status", "--db", &db.url]).lines().filter(|x| x.starts_with("pending")).count(), migrations::MIGRATIONS.len());

        // Up again: a working, empty server.
        cli(&["migrate", "up", "--db", &db.url]);
        let mut c = open(&db);
        // 007 replaces 003's four ordered indexes with nine and adds template_tags' (and, on
        // PostgreSQL, two trigram indexes; SQLite's text index is an FTS5 table); 011 adds five
        // on template_tags (four sorts of public rows per tag, one owner's rows per tag); 014
        // (PostgreSQL) one each on tag_counts and tag_pair_counts, one on template_tags.
        let pg_only = if l == "postgres" { 2 + 3 } else { 0 };
        assert_eq!(index_names(&mut c).len(), 13 + 12 + 6 + pg_only + 5, "{l}: the seed's 13 plus the server's");
        drop(c);
        let old = Server::start(&db);
        assert_eq!(old.client(Some(&a.token)).get("/v1/me").status, 401, "{l}: the old token went with the users table");
        drop(old);
        let b = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&b.token));
        assert_eq!(c.get("/v1/templates?includeBuiltin=false").json()["total"], 0, "{l}");
        assert_eq!(c.get(&format!("/v1/templates/{BUILTIN}")).json()["usage_count"], 0, "{l}: built-in statistics were dropped too");
        assert_eq!(c.post("/v1/templates", &draft("kept?", true)).status, 201, "{l}");
        // And once more down/up with this new data, through the library.
        drop(srv);
        let mut conn = open(&db);
        migrations::down(&mut conn).unwrap();
        assert!(tables(&mut conn).is_empty());
        migrations::up(&mut conn).unwrap();
        assert!(migrations::is_current(&mut conn).unwrap());
    }
}

/// A database made by the server before labels (migrations up to 004, with a template in it)
/// upgrades in place: 005 adds `template_labels`, the data is served as before and takes labels
/// (issue 14); the down migrations then run from 005.
#[test]
fn a_database_from_before_labels_upgrades_in_place() {
    for db in backends() {
        let l = db.label;
        let mut c = open(&db);
        migrations::up_to(&mut c, Some("004_usage_totals")).unwrap();
        assert!(!tables(&mut c).contains(&"template_labels".to_string()), "{l}");
        let user = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let tid = "01ARZ3NDEKTSV4RRFFQ69G5FAW";
        c.execute("INSERT INTO users (id, name) VALUES ({t1}, {t2})", &[text(user), text("old user")]).unwrap();
        let mut t = WorkflowTemplate::with_defaults(tid.into(), user.into(), format_ms(1_790_000_000_000));
        t.name = "Before labels".into();
        t.description = "Straße İ".into();
        t.tags = Some(vec!["Old".into(), "ÜBER".into()]);
        t.config_hash = config_hash(&t.config());
        c.execute(
            "INSERT INTO workflow_templates (id, created_at, updated_at, owner_id, name, name_key, description, workflow_type, default_params, config_hash, tags) VALUES ({t1}, {ts2}, {ts3}, {t4}, {t5}, {t6}, {t7}, {e:workflowtype:8}, {j9}, {t10}, {j11})",
            &[text(tid), text(&t.created_at), text(&t.updated_at), text(user), text(&t.name), text("before labels"), text(&t.description), text("plain"), text("{}"), text(&t.config_hash), text(r#"["Old","ÜBER"]"#)],
        )
        .unwrap();
        drop(c);
        assert!(cli(&["migrate", "up", "--db", &db.url]).contains("005_template_labels"), "{l}");
        let out = cli(&["token", "create", "--db", &db.url, "--user", user]);
        let token = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["token"].as_str().unwrap().to_string();
        {
            let srv = Server::start(&db);
            let cl = srv.client(Some(&token));
            assert_eq!(cl.get(&format!("/v1/templates/{tid}")).json(), serde_json::to_value(&t).unwrap(), "{l}");
            // 007 derived the row's lowercased text, sort keys and tag rows: discovery in SQL
            // finds it by text (both scripts' folding), by every tag, and in name order.
            for q in ["text=STRA%C3%9FE%20%C4%B0&includeBuiltin=false", "text=stra%C3%9Fe&tags=old&tags=%C3%BCber&includeBuiltin=false", "sort=name&includeBuiltin=false&tags=OLD"] {
                let page = cl.get(&format!("/v1/templates?{q}")).json();
                assert_eq!((page["total"].clone(), page["items"][0]["id"].clone()), (json!(1), json!(tid)), "{l}: {q}: {page}");
            }
            let put = cl.put(&format!("/v1/templates/{tid}/labels/production"), &json!(null));
            assert_eq!(put.status, 200, "{l}: {}", String::from_utf8_lossy(&put.raw));
            assert_eq!(cl.get(&format!("/v1/templates/{tid}/labels")).json()[0]["label"], "production", "{l}");
            let del = cl.delete(&format!("/v1/templates/{tid}"));
            assert_eq!((del.status, del.code().as_str()), (409, "HAS_LABELS"), "{l}");
        }
        // Down to base with labels stored: newest first (006, then 005 with the labels), and
        // nothing of ours is left.
        let mut c = open(&db);
        let reverted = migrations::down(&mut c).unwrap();
        let at = |id: &str| reverted.iter().position(|r| *r == id).unwrap();
        assert_eq!(at("005_template_labels"), at("006_usage_cost_sum") + 1, "{l}: {reverted:?}");
        assert_eq!(at("006_usage_cost_sum"), at("007_discovery_query") + 1, "{l}: {reverted:?}");
        assert_eq!(tables(&mut c), Vec::<String>::new(), "{l}");
    }
}

/// A database at 006 with data upgrades to the change feed (008): the feed starts empty (no
/// backfill: a client starts from a snapshot and `since=now`), every later write is in it, and
/// `down` removes the table, its triggers and (PostgreSQL) the trigger function.
#[test]
fn a_database_from_before_the_feed_upgrades_in_place() {
    for db in backends() {
        let l = db.label;
        let mut c = open(&db);
        migrations::up_to(&mut c, Some("006_usage_cost_sum")).unwrap();
        assert!(!tables(&mut c).contains(&"wt_changes".to_string()), "{l}");
        drop(c);
        let u = create_user(&db); // migrates to head
        let srv = Server::start(&db);
        let cl = srv.client(Some(&u.token));
        assert_eq!(cl.get("/v1/changes").json(), json!({ "changes": [], "cursor": "0", "more": false }), "{l}");
        assert_eq!(cl.post("/v1/templates", &draft("after 008", false)).status, 201, "{l}");
        assert_eq!(cl.get("/v1/changes").json()["changes"].as_array().unwrap().len(), 1, "{l}");
        drop(srv);
        let mut c = open(&db);
        migrations::down(&mut c).unwrap();
        assert_eq!(tables(&mut c), Vec::<String>::new(), "{l}");
        let leftovers = match c.dialect() {
            workflow_templates_server::db::Dialect::Sqlite => c.query("SELECT name FROM sqlite_master WHERE type = 'trigger'", &[]).unwrap(),
            workflow_templates_server::db::Dialect::Postgres => c.query("SELECT proname::text FROM pg_proc WHERE proname = 'wt_changes_log'", &[]).unwrap(),
        };
        assert!(leftovers.is_empty(), "{l}: {leftovers:?}");
    }
}
