//! The part of a text given to PostgreSQL's trigram indexes (migration 018, `index_window`): the
//! rarest 3-character window of the text by the trigram statistics, when it is rare enough; the
//! whole text is then tested on the candidates. Which window is given changes the work, never
//! the rows: every page equals the core's full scan, also for texts whose window is in rows the
//! text is not (the whole text's test must drop them), windows at word edges, next to non-ASCII
//! letters, and LIKE's own characters in the text. Needs WT_TEST_POSTGRES_URL (on SQLite
//! `index_window` is always `None`, tested too).

mod common;

use common::*;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::page::scan_page;
use workflow_templates::store::{Expect, PageQuery, PageRows, Sort, Store, Stored, TemplateFilter, Write as W};
use workflow_templates::WorkflowTemplate;
use workflow_templates_server::db::{DbUrl, Pool};
use workflow_templates_server::discover::index_window;
use workflow_templates_server::http::block_on;
use workflow_templates_server::store::SqlStore;

fn ids(p: &PageRows) -> Vec<String> {
    p.rows.iter().map(|r| r.stored.record.id.clone()).collect()
}

/// `n` templates of `owner`: every description holds the common words; one in 397 holds
/// "zq9" and, of those, every other one the longer "record zq9x" the texts below ask for.
fn seed(store: &SqlStore, owner: &str, n: usize) {
    let mut batch = Vec::new();
    for i in 0..n {
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 1);
        let mut t = WorkflowTemplate::with_defaults(id, owner.to_string(), format_ms(1_800_000_000_000 + i as i64));
        t.name = format!("common name {i}");
        t.description = match i % 397 {
            0 if i % 2 == 0 => format!("common record zq9x {i} 50%_off"),
            0 => format!("common zq9 alone {i}"),
            5 => format!("common ézq9x {i}"),
            _ => format!("common record words {i}"),
        };
        t.is_public = i % 7 != 0;
        t.category = workflow_templates::model::enums::TemplateCategory::ALL[i % 9];
        t.config_hash = config_hash(&t.config());
        batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
    }
    block_on(store.commit(batch)).unwrap();
}

#[test]
fn the_rarest_window_is_given_and_pages_equal_the_full_scan() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let pool = Pool::new(DbUrl::parse(&db.url).unwrap(), 2);
        let store = SqlStore::new(pool.get().unwrap());
        // Before any statistics (the migration's ANALYZE saw an empty table): the whole text.
        assert_eq!(index_window(&mut db_conn(&db), "record zq9x").unwrap(), None, "{l}: no statistics yet");
        seed(&store, &a.id, 4_000);
        let mut c = db_conn(&db);
        c.batch("ANALYZE").unwrap();
        let chosen = |x: &str| index_window(&mut db_conn(&db), x).unwrap();
        if l == "postgres" {
            assert_eq!(chosen("record zq9x").as_deref(), Some("q9x"), "the rarest window (15 rows; \"zq9\" is in 20), not the common ones");
            assert_eq!(chosen("common record").as_deref(), None, "every window is in every row: the whole text");
            assert_eq!(chosen("zq9").as_deref(), None, "a text that is one window");
            assert_eq!(chosen("é z").as_deref(), None, "no window of ASCII letters and digits");
            // The statistics read once are kept by the connection (`Conn::memo`): the same choice.
            let mut kept = db_conn(&db);
            let first = index_window(&mut kept, "record zq9x").unwrap();
            assert_eq!((first.as_deref(), index_window(&mut kept, "record zq9x").unwrap().as_deref()), (Some("q9x"), Some("q9x")));
        } else {
            assert_eq!(chosen("record zq9x"), None, "SQLite: FTS5 is given the text");
        }
        let all: Vec<Stored<WorkflowTemplate>> = block_on(store.find_templates(&TemplateFilter::default())).unwrap();
        let texts = ["record zq9x", "zq9x 1", "d zq9", "zq9 alone", "ézq9x", "zq9x", "common zq9", "record zq9x 194 50%_", "zq9x 5%", "rd zq9x 3"];
        let mut matched = 0;
        for text in texts {
            for (viewer, offset, sort) in [(&a.id, 0, Sort::Name), (&b.id, 0, Sort::Recent), (&b.id, 15, Sort::Popular)] {
                let q = PageQuery {
                    viewer: viewer.clone(),
                    text: Some(text.to_string()),
                    category: None,
                    workflow_type: None,
                    tags: vec![],
                    owner: None,
                    latest_only: true,
                    sort,
                    offset,
                    limit: 20,
                };
                let got = block_on(store.query_page(&q)).unwrap().expect("SQL answers");
                let want = scan_page(all.clone(), &q);
                assert_eq!((got.total, ids(&got)), (want.total, ids(&want)), "{l}: {q:?}");
                matched += want.total;
            }
        }
        assert!(matched > 0, "the texts match some rows");
    }
}

/// PostgreSQL's trigram indexes hold category and type beside the trigrams (migration 019), so
/// a text with a category or type is narrowed by the index, not on the heap (at 1,000,000
/// templates "number 37" in one category: 11,111 rows rechecked for 1,183 before, BENCHMARKS.md
/// round 8; a small test table is read by whichever plan is cheaper, so the indexes' columns are
/// what is checked here, and the pages' rows by `text_scan.rs`).
#[test]
fn every_trigram_index_holds_category_and_type() {
    for db in backends().into_iter().filter(|d| d.label == "postgres") {
        create_user(&db);
        let defs: Vec<String> = db_conn(&db)
            .query("SELECT indexdef FROM pg_indexes WHERE tablename = 'template_text' AND indexdef LIKE '%gin_trgm_ops%' ORDER BY indexname", &[])
            .unwrap()
            .iter()
            .filter_map(|r| r[0].text().map(str::to_string))
            .collect();
        assert_eq!(defs.len(), 2, "{defs:#?}");
        for (def, col) in defs.iter().zip(["description_lc", "name_lc"]) {
            assert!(def.contains(&format!("USING gin (category, workflow_type, {col} gin_trgm_ops)")), "{def}");
        }
    }
}
