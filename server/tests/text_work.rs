//! The work of SQLite `text` pages, counted (not timed): with many rows matching a common text,
//! a deep page must cost about what the first one costs plus reading the matches once, never
//! the FTS5 match list again for each row it looks at (issue 13: with 4,097 matches, 160
//! successive pages took 256 s in a debug build: FTS5 stepped through its match list inside a
//! per-row lookup). Work is SQLite's own counters for the statement (`sqlite3_stmt_status`
//! VM steps) and the page cache reads it caused (`sqlite3_db_status` cache hits + misses, which
//! include FTS5's doclist reads).

mod common;

use common::*;
use rusqlite::StatementStatus;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{Expect, PageQuery, Sort, Store, Write as W};
use workflow_templates::WorkflowTemplate;
use workflow_templates_server::db::{render, DbUrl, Dialect, Pool};
use workflow_templates_server::discover::{page_sql, TextPlan};
use workflow_templates_server::http::block_on;
use workflow_templates_server::store::SqlStore;

/// Page cache reads of the connection since the last call (hits + misses; reset on read).
fn cache_reads(c: &rusqlite::Connection) -> i64 {
    let mut total = 0;
    for op in [rusqlite::ffi::SQLITE_DBSTATUS_CACHE_HIT, rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS] {
        let (mut cur, mut hi) = (0, 0);
        // SAFETY: the handle is the open connection's; sqlite3_db_status only writes the two ints.
        let rc = unsafe { rusqlite::ffi::sqlite3_db_status(c.handle(), op, &mut cur, &mut hi, 1) };
        assert_eq!(rc, 0);
        total += cur as i64;
    }
    total
}

/// (VM steps, page cache reads, rows) of one statement run to its end.
fn work(c: &rusqlite::Connection, sql: &str, p: &[workflow_templates_server::db::P]) -> (i64, i64, usize) {
    let mut st = c.prepare(&render(Dialect::Sqlite, sql)).unwrap();
    cache_reads(c);
    let mut rows = st.query(rusqlite::params_from_iter(p.iter())).unwrap();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    drop(rows);
    (st.get_status(StatementStatus::VmStep) as i64, cache_reads(c), n)
}

#[test]
fn deep_pages_of_a_common_text_read_the_matches_once() {
    let db = sqlite_db();
    let (a, b) = (create_user(&db), create_user(&db));
    let pool = Pool::new(DbUrl::parse(&db.url).unwrap(), 2);
    let store = SqlStore::new(pool.get().unwrap());
    // `m` public rows of a match "common"; as many rows match nothing (the walk's misses);
    // b's private rows match too (a must not see them).
    let m = 1500usize;
    let mut batch = Vec::new();
    for i in 0..(2 * m + 10) {
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 11);
        let owner = if i < 2 * m { &a.id } else { &b.id };
        let mut t = WorkflowTemplate::with_defaults(id, owner.clone(), format_ms(1_800_000_000_000 + (i as i64 * 7919) % 100_000));
        t.name = format!("Item {:05}", (i * 37) % (2 * m));
        t.description = if i % 2 == 0 || i >= 2 * m { format!("a common task {i}") } else { format!("plain row {i}") };
        t.is_public = i < 2 * m;
        t.usage_count = (i * 13 % 29) as u64;
        t.tags = Some(vec!["t1".to_string()]);
        t.config_hash = config_hash(&t.config());
        batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
    }
    block_on(store.commit(batch)).unwrap();
    drop(store);
    let c = rusqlite::Connection::open(db.url.strip_prefix("sqlite://").unwrap()).unwrap();
    // Without statistics first (a new database: the planner guessed the per-row probe), then
    // with them.
    for stats in [false, true] {
        if stats {
            c.execute_batch("ANALYZE").unwrap();
        }
        for sort in [Sort::Popular, Sort::Rating, Sort::Recent, Sort::Name] {
            // Latest rows; every version; latest rows of a tag (the tag's range drives).
            for (latest_only, tags) in [(true, vec![]), (false, vec![]), (true, vec!["t1".to_string()])] {
                let q = |offset: u64| PageQuery { viewer: a.id.clone(), text: Some("common".into()), tags: tags.clone(), category: None, workflow_type: None, owner: None, latest_only, sort, offset, limit: 20 };
                for plan in [TextPlan::Matches, TextPlan::Walk] {
                    let label = format!("stats {stats}, {sort:?}, latest only {latest_only}, tags {tags:?}, {plan:?}");
                    let (rows0, total0, p0) = page_sql(Dialect::Sqlite, &q(0), plan, None);
                    let first = work(&c, &rows0, &p0);
                    let total = work(&c, &total0, &p0[..p0.len() - 3]);
                    let (rows_deep, _, p_deep) = page_sql(Dialect::Sqlite, &q(m as u64 - 20), plan, None);
                    let deep = work(&c, &rows_deep, &p_deep);
                    eprintln!("{label}: first {first:?} deep {deep:?} total {total:?}");
                    assert_eq!((first.2, deep.2), (20, 20), "{label}: the data");
                    // Reading every row of the table once, with its index entries and its FTS5
                    // entry, is a few VM steps and page reads per row; a MATCH per row reads
                    // the text's match list again for each (here ~23 page reads per row).
                    let rows = (2 * m) as i64;
                    for (what, (steps, reads, _)) in [("first page", first), ("deep page", deep), ("total", total)] {
                        assert!(steps <= 60 * rows, "{label} {what}: {steps} VM steps for {rows} rows");
                        assert!(reads <= 10 * rows, "{label} {what}: {reads} page reads for {rows} rows");
                    }
                }
            }
        }
    }
}

/// A common text's `total` and a page read from its matches read each match from the narrow
/// text rows (SQLite migration 016: FTS5's content table carries the filters and sort keys),
/// and `workflow_templates` for the page's rows only. The template rows here are wide (4 KB of
/// params before the columns the filters read, so each is spread over overflow pages, as a
/// real template's config and params may be), so reading one per match shows in the page reads:
/// the total and the page must read fewer pages than one template row per match would take.
#[test]
fn a_common_text_reads_narrow_rows_for_its_total_and_its_matches() {
    let db = sqlite_db();
    let (a, b) = (create_user(&db), create_user(&db));
    let pool = Pool::new(DbUrl::parse(&db.url).unwrap(), 2);
    let store = SqlStore::new(pool.get().unwrap());
    let m = 1000usize;
    let mut batch = Vec::new();
    for i in 0..(2 * m + 10) {
        let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 11);
        let owner = if i < 2 * m { &a.id } else { &b.id };
        let mut t = WorkflowTemplate::with_defaults(id, owner.clone(), format_ms(1_800_000_000_000 + (i as i64 * 7919) % 100_000));
        t.name = format!("Item {:05}", (i * 37) % (2 * m));
        t.description = if i % 2 == 0 || i >= 2 * m { format!("a common task {i}") } else { format!("plain row {i}") };
        t.is_public = i < 2 * m && i % 9 != 0;
        t.usage_count = (i * 13 % 29) as u64;
        t.default_params.insert("system".into(), serde_json::Value::String(format!("{i} {}", "x".repeat(4000))));
        t.config_hash = config_hash(&t.config());
        batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
    }
    block_on(store.commit(batch)).unwrap();
    drop(store);
    let c = rusqlite::Connection::open(db.url.strip_prefix("sqlite://").unwrap()).unwrap();
    let mut worst = (0i64, String::new());
    for stats in [false, true] {
        if stats {
            c.execute_batch("ANALYZE").unwrap();
        }
        for sort in [Sort::Popular, Sort::Rating, Sort::Recent, Sort::Name] {
            for latest_only in [true, false] {
                let q = |offset: u64| PageQuery { viewer: a.id.clone(), text: Some("common".into()), tags: vec![], category: None, workflow_type: None, owner: None, latest_only, sort, offset, limit: 20 };
                // The total's statement, and the pages from the matches: alone (`Matches`) and
                // with the total (`Capped`, what the server runs on SQLite).
                for plan in [TextPlan::Matches, TextPlan::Capped] {
                    let (rows0, total_sql, p0) = page_sql(Dialect::Sqlite, &q(0), plan, None);
                    let total = work(&c, &total_sql, &p0[..p0.len() - 3]);
                    let first = work(&c, &rows0, &p0);
                    let (rows_deep, _, p_deep) = page_sql(Dialect::Sqlite, &q(500), plan, None);
                    let deep = work(&c, &rows_deep, &p_deep);
                    let label = format!("stats {stats}, {sort:?}, latest only {latest_only}, {plan:?}");
                    eprintln!("{label}: total {total:?} first {first:?} deep {deep:?}");
                    assert_eq!((first.2, deep.2), (20, 20), "{label}: the data");
                    for (what, (_, reads, _)) in [("total", total), ("first page", first), ("deep page", deep)] {
                        if reads > worst.0 {
                            worst = (reads, format!("{label} {what}"));
                        }
                    }
                }
            }
        }
    }
    // m matches (and the 10 of b's private rows the viewer may not see): a template row per
    // match costs its index entry, its table page and at least one overflow page (5,085-7,397
    // reads here before migration 016). The narrow rows: one table page per match, plus FTS5's
    // doclists, plus the probe of `workflow_templates`' primary-key index that keeps a document
    // without its template out of the matches (2 pages of a narrow index, no table row).
    let matches = (m + 10) as i64;
    assert!(worst.0 <= 4 * matches, "{}: {} page reads for {matches} matches", worst.1, worst.0);
}
