//! Random texts against PostgreSQL's window choice (migration 018, `index_window`) with the
//! statistics gathered: texts cut from stored names and descriptions (Unicode whose lowercase is
//! ASCII or longer, LIKE's own characters, digits next to letters), texts across a name's end and
//! a description's start, and texts with no match. Every page and `total` equals the core's full
//! scan, and many of the texts are given to the index as a window. Needs WT_TEST_POSTGRES_URL
//! for the windows (SQLite runs the same pages).

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

/// A small deterministic generator (xorshift), so a failure names its inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'A', 'B', 'Q', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', ' ', 'É', 'ß', 'İ', 'Σ', 'ς', 'K', 'ﬃ', '%', '_', '\\',
    '"', '-', '😀',
];

fn random_text(r: &mut Rng, len: usize) -> String {
    (0..len).map(|_| ALPHABET[r.next(ALPHABET.len())]).collect()
}

fn ids(p: &PageRows) -> Vec<String> {
    p.rows.iter().map(|r| r.stored.record.id.clone()).collect()
}

#[test]
fn random_texts_equal_the_full_scan_with_statistics() {
    for db in backends() {
        let l = db.label;
        let (a, b) = (create_user(&db), create_user(&db));
        let store = SqlStore::new(Pool::new(DbUrl::parse(&db.url).unwrap(), 2).get().unwrap());
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut batch = Vec::new();
        for i in 0..3_000usize {
            let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 1);
            let owner = if i % 3 == 0 { &b.id } else { &a.id };
            let mut t = WorkflowTemplate::with_defaults(id, owner.clone(), format_ms(1_800_000_000_000 + i as i64));
            let (nl, dl) = (6 + r.next(10), 10 + r.next(30));
            t.name = format!("{} {i}", random_text(&mut r, nl)).trim().to_string();
            t.description = random_text(&mut r, dl);
            t.is_public = i % 5 != 0;
            t.config_hash = config_hash(&t.config());
            batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
        }
        block_on(store.commit(batch)).unwrap();
        db_conn(&db).batch("ANALYZE").unwrap();
        let all: Vec<Stored<WorkflowTemplate>> = block_on(store.find_templates(&TemplateFilter::default())).unwrap();
        let mut texts: Vec<String> = Vec::new();
        for k in 0..160 {
            let t = &all[r.next(all.len())].record;
            let source: Vec<char> = match k % 4 {
                0 => t.name.to_lowercase().chars().collect(),
                1 | 2 => t.description.to_lowercase().chars().collect(),
                // across the name's end and the description's start: no field holds it
                _ => format!("{}{}", t.name.to_lowercase(), t.description.to_lowercase()).chars().collect(),
            };
            let len = 3 + r.next(10);
            let start = if k % 4 == 3 { t.name.to_lowercase().chars().count().saturating_sub(len / 2) } else { r.next(source.len().saturating_sub(len).max(1)) };
            let x: String = source.iter().skip(start).take(len).collect::<String>().trim().to_string();
            if x.chars().count() >= 3 {
                texts.push(x);
            }
        }
        texts.push(random_text(&mut r, 70).trim().to_lowercase());
        let mut windows = 0;
        let mut matched = 0;
        for (k, x) in texts.iter().enumerate() {
            if index_window(&mut db_conn(&db), x).unwrap().is_some() {
                windows += 1;
            }
            let (viewer, sort, offset) = [(&a.id, Sort::Name, 0), (&b.id, Sort::Recent, 0), (&a.id, Sort::Popular, 3)][k % 3];
            let q = PageQuery { viewer: viewer.clone(), text: Some(x.clone()), category: None, workflow_type: None, tags: vec![], owner: None, latest_only: k % 2 == 0, sort, offset, limit: 10 };
            let got = block_on(store.query_page(&q)).unwrap().expect("SQL answers");
            let want = scan_page(all.clone(), &q);
            assert_eq!((got.total, ids(&got)), (want.total, ids(&want)), "{l}: {x:?} {q:?}");
            matched += want.total;
        }
        assert!(matched > 0);
        if l == "postgres" {
            assert!(windows * 3 > texts.len(), "most texts are given as a window: {windows} of {}", texts.len());
        }
    }
}
