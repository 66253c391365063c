//! `SqlStore::commit` writes new templates many rows per statement (server/src/bulk.rs, issue 13's
//! seeding and an import): every row, tag row and trigger row must be there, every check the
//! per-row path made must still refuse, and a refused batch leaves nothing behind; on SQLite and
//! (with WT_TEST_POSTGRES_URL) PostgreSQL.

mod common;

use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{Expect, Rating, Store, Write as W};
use workflow_templates::{Error, TemplateCategory, WorkflowTemplate};
use workflow_templates_server::db::{text, Conn, DbUrl, Pool};
use workflow_templates_server::http::block_on;
use workflow_templates_server::store::{sync_builtins, SqlStore};
use workflow_templates_server::{auth, migrations};

struct Db {
    _db: common::TestDb,
    url: DbUrl,
    pool: std::sync::Arc<Pool>,
    users: Vec<String>,
}

fn open(db: common::TestDb) -> Db {
    let url = DbUrl::parse(&db.url).unwrap();
    let mut c = Conn::open(&url).unwrap();
    migrations::up(&mut c).unwrap();
    sync_builtins(&mut c).unwrap();
    let users = (0..3).map(|i| auth::create_user(&mut c, &format!("bulk {i}")).unwrap().0).collect();
    let pool = Pool::new(url.clone(), 4);
    Db { _db: db, url, pool, users }
}

fn template(seq: u64, owner: &str, name: &str) -> WorkflowTemplate {
    let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + seq, seq as u128 + 7);
    let mut t = WorkflowTemplate::with_defaults(id, owner.to_string(), format_ms(1_800_000_000_000 + seq as i64));
    t.name = name.to_string();
    t.description = format!("bulk record {seq}");
    t.is_public = seq % 5 != 0;
    t.category = TemplateCategory::ALL[seq as usize % TemplateCategory::ALL.len()];
    t.usage_count = seq * 31 % 97;
    t.tags = Some(match seq % 4 {
        0 => vec![],
        1 => vec![format!("T{}", seq % 11)],
        _ => vec![format!("t{}", seq % 11), format!("Group{}", seq % 3), format!("GROUP{}", seq % 3)],
    });
    t.config_hash = config_hash(&t.config());
    t
}

fn count(c: &mut Conn, sql: &str) -> i64 {
    c.query(sql, &[]).unwrap()[0][0].int().unwrap()
}

/// 700 new templates (256 + 256 + 128 + 32 + 16 + 8 + 4 rows per statement), interleaved with
/// writes that must see the queued rows: an update of a stored template, a rating of a template
/// created earlier in the same batch, a template derived from one created earlier, and a new
/// template whose base comes later in the batch.
#[test]
fn a_large_batch_stores_every_row_tag_and_trigger_row() {
    for db in common::backends() {
        let l = db.label;
        let d = open(db);
        let store = SqlStore::new(d.pool.get().unwrap());
        let old = template(100_000, &d.users[1], "stored before");
        block_on(store.commit(vec![W::PutTemplate { record: old.clone(), expect: Expect::Absent }])).unwrap();

        let mut made: Vec<WorkflowTemplate> = (0..700u64).map(|i| template(i, &d.users[(i % 3) as usize], &format!("bulk {i}"))).collect();
        made[10].base_template_id = Some(made[3].id.clone());
        made[20].base_template_id = Some(made[650].id.clone());
        for t in [10, 20] {
            made[t].config_hash = config_hash(&made[t].config());
        }
        let mut edited = old.clone();
        edited.description = "edited in the batch".into();
        edited.tags = Some(vec!["t1".into(), "edited".into()]);
        edited.config_hash = config_hash(&edited.config());
        let rating = Rating { template_id: made[5].id.clone(), user_id: d.users[2].clone(), stars: 4.0, updated_at: format_ms(1_800_000_000_999) };
        let mut writes: Vec<W> = Vec::new();
        for (i, t) in made.iter().enumerate() {
            writes.push(W::PutTemplate { record: t.clone(), expect: Expect::Absent });
            if i == 300 {
                writes.push(W::PutTemplate { record: edited.clone(), expect: Expect::Rev(1) });
            }
            if i == 301 {
                writes.push(W::PutRating { record: rating.clone(), expect: Expect::Absent });
            }
        }
        block_on(store.commit(writes)).unwrap_or_else(|e| panic!("{l}: {e}"));

        for t in made.iter().chain([&edited]) {
            let got = block_on(store.get_template(&t.id)).unwrap().unwrap_or_else(|| panic!("{l}: {} missing", t.id));
            assert_eq!(&got.record, t, "{l}");
        }
        assert_eq!(block_on(store.get_rating(&made[5].id, &d.users[2])).unwrap().map(|s| s.record), Some(rating), "{l}");
        let mut c = Conn::open(&d.url).unwrap();
        let tags: usize = made.iter().chain([&edited]).map(|t| t.tags.iter().flatten().map(|x| x.to_lowercase()).collect::<std::collections::BTreeSet<_>>().len()).sum();
        assert_eq!(count(&mut c, "SELECT COUNT(*) FROM template_tags") as usize, tags, "{l}: one row per distinct lowercased tag");
        let lower = c.query("SELECT COUNT(*) FROM template_tags WHERE tag <> LOWER(tag)", &[]).unwrap();
        assert_eq!(lower[0][0].int(), Some(0), "{l}");
        let stale = "SELECT COUNT(*) FROM template_tags g JOIN workflow_templates w ON w.id = g.template_id WHERE g.owner_id <> w.owner_id OR g.is_public <> w.is_public \
             OR g.is_latest <> w.is_latest OR g.category <> w.category OR g.workflow_type <> w.workflow_type OR g.usage_count <> w.usage_count \
             OR g.rating_count <> w.rating_count OR g.name_lc <> w.name_lc OR g.name <> w.name OR g.updated_ms <> w.updated_ms OR g.template_id IS NULL";
        assert_eq!(count(&mut c, stale), 0, "{l}: tag rows copy their template's stored columns");
        let user_rows = "SELECT COUNT(*) FROM workflow_templates WHERE NOT is_builtin";
        assert_eq!(count(&mut c, user_rows), 701, "{l}");
        assert_eq!(count(&mut c, "SELECT COUNT(*) FROM wt_record_ids WHERE kind = 'template'"), 701, "{l}: every id is recorded (migration 010)");
        assert_eq!(count(&mut c, "SELECT COUNT(DISTINCT record_id) FROM wt_changes WHERE kind = 'template'"), 701, "{l}: every row reaches the change feed");
        assert_eq!(count(&mut c, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM discover_counts"), 701, "{l}: every latest row is counted");
        let searchable = match d.url {
            DbUrl::Sqlite(_) => "SELECT COUNT(*) FROM template_search WHERE template_search MATCH '\"bulk record 699\"'",
            DbUrl::Postgres(_) => "SELECT COUNT(*) FROM workflow_templates WHERE description_lc LIKE '%bulk record 699%'",
        };
        assert_eq!(count(&mut c, searchable), 1, "{l}: the text index holds the new rows");
    }
}

/// What the per-row path refused, the batch refuses, naming the same record, and nothing of the
/// batch is stored: an id another user's deleted record held (the `wt_record_ids` trigger: a unique
/// violation inside a multi-row statement), a name taken twice in the batch, a stale expectation.
#[test]
fn a_refused_batch_names_the_record_and_stores_nothing() {
    for db in common::backends() {
        let l = db.label;
        let d = open(db);
        let store = SqlStore::new(d.pool.get().unwrap());
        let gone = template(90_000, &d.users[1], "deleted");
        block_on(store.commit(vec![W::PutTemplate { record: gone.clone(), expect: Expect::Absent }])).unwrap();
        block_on(store.commit(vec![W::DeleteTemplate { id: gone.id.clone(), expect: Expect::Any }])).unwrap();
        let kept = template(90_001, &d.users[0], "kept");
        block_on(store.commit(vec![W::PutTemplate { record: kept.clone(), expect: Expect::Absent }])).unwrap();

        let batch = |edit: &dyn Fn(&mut Vec<WorkflowTemplate>)| {
            let mut made: Vec<WorkflowTemplate> = (0..600u64).map(|i| template(i, &d.users[0], &format!("bulk {i}"))).collect();
            edit(&mut made);
            made.into_iter().map(|t| W::PutTemplate { record: t, expect: Expect::Absent }).collect::<Vec<_>>()
        };
        let mut c = Conn::open(&d.url).unwrap();
        let nothing_stored = |c: &mut Conn, why: &str| {
            assert_eq!(count(c, "SELECT COUNT(*) FROM workflow_templates WHERE NOT is_builtin"), 1, "{l}: {why}");
            assert_eq!(count(c, "SELECT COUNT(*) FROM template_tags"), kept.tags.iter().flatten().count() as i64, "{l}: {why}");
            let ids = c.query("SELECT COUNT(*) FROM wt_record_ids WHERE id <> {t1} AND id <> {t2}", &[text(&gone.id), text(&kept.id)]).unwrap();
            assert_eq!(ids[0][0].int(), Some(0), "{l}: {why}");
        };

        // Another user's deleted id at row 450 (inside a multi-row statement).
        let retired = batch(&|m| {
            m[450].id = gone.id.clone();
            m[450].config_hash = config_hash(&m[450].config());
        });
        match block_on(store.commit(retired)) {
            Err(Error::Conflict { id, .. }) => assert_eq!(id, gone.id, "{l}: the conflict names the record"),
            other => panic!("{l}: a retired id must be refused, got {other:?}"),
        }
        nothing_stored(&mut c, "a retired id");

        // Two latest templates of one owner under one name.
        let twice = batch(&|m| {
            m[400].name = "BULK 7".into();
            m[400].config_hash = config_hash(&m[400].config());
        });
        match block_on(store.commit(twice)) {
            Err(Error::NameTaken { .. }) => {}
            other => panic!("{l}: a name taken twice must be refused, got {other:?}"),
        }
        nothing_stored(&mut c, "a name taken twice");

        // A stored id expected absent.
        let stale = batch(&|m| m[500] = kept.clone());
        match block_on(store.commit(stale)) {
            Err(Error::Conflict { id, .. }) => assert_eq!(id, kept.id, "{l}"),
            other => panic!("{l}: a stale expectation must be refused, got {other:?}"),
        }
        nothing_stored(&mut c, "a stale expectation");

        // The same batch without the faults goes in whole.
        block_on(store.commit(batch(&|_| {}))).unwrap_or_else(|e| panic!("{l}: {e}"));
        assert_eq!(count(&mut c, "SELECT COUNT(*) FROM workflow_templates WHERE NOT is_builtin"), 601, "{l}");
    }
}
