//! The trigram statistics of migration 018 are read by the server's role even when it does not
//! own `template_text` (a deployment that runs `migrate up` as the owner and `serve
//! --no-migrate` as a role granted the tables, server/README.md "Several processes").
//! PostgreSQL's `pg_stats_ext_exprs` lists only the statistics of tables the reading role owns,
//! so a view over it read by such a role is empty and no window was ever chosen (the view of migration 018 reads them through a function of the owner).
//! Needs WT_TEST_POSTGRES_URL.

mod common;

use common::*;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::{Expect, Store, Write as W};
use workflow_templates::WorkflowTemplate;
use workflow_templates_server::db::{Conn, DbUrl, Pool};
use workflow_templates_server::discover::index_window;
use workflow_templates_server::http::block_on;
use workflow_templates_server::store::SqlStore;

#[test]
fn a_role_that_does_not_own_the_table_reads_the_trigram_statistics() {
    for db in backends().into_iter().filter(|d| d.label == "postgres") {
        let a = create_user(&db);
        let store = SqlStore::new(Pool::new(DbUrl::parse(&db.url).unwrap(), 2).get().unwrap());
        let mut batch = Vec::new();
        for i in 0..4_000usize {
            let id = workflow_templates::model::id::IdGenerator::new().next(1_800_000_000_000 + i as u64, i as u128 + 1);
            let mut t = WorkflowTemplate::with_defaults(id, a.id.clone(), format_ms(1_800_000_000_000 + i as i64));
            t.name = format!("common name {i}");
            t.description = if i % 397 == 0 { format!("common record zq9x {i}") } else { format!("common record words {i}") };
            t.config_hash = config_hash(&t.config());
            batch.push(W::PutTemplate { record: t, expect: Expect::Absent });
        }
        block_on(store.commit(batch)).unwrap();
        let mut owner = db_conn(&db);
        owner.batch("ANALYZE").unwrap();
        let want = index_window(&mut owner, "record zq9x").unwrap();
        assert!(matches!(want.as_deref(), Some("zq9" | "q9x")), "the owner reads the statistics: {want:?}");

        // A role granted the tables (and the view) but owning none of them.
        let role = format!("wt_reader_{}_{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000);
        owner
            .batch(&format!("CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"))
            .unwrap();
        let (scheme_host, rest) = db.url.split_once('@').unwrap();
        let scheme = &scheme_host[..scheme_host.find("://").unwrap() + 3];
        let url = format!("{scheme}{role}@{rest}");
        let chosen = {
            let mut reader = Conn::open(&DbUrl::parse(&url).unwrap()).unwrap();
            index_window(&mut reader, "record zq9x")
        };
        owner.batch(&format!("DROP OWNED BY {role}")).unwrap();
        drop(owner);
        let admin = std::env::var("WT_TEST_POSTGRES_URL").unwrap();
        postgres::Client::connect(&admin, postgres::NoTls).unwrap().batch_execute(&format!("DROP ROLE {role}")).unwrap();
        assert_eq!(chosen.unwrap(), want, "a role that does not own template_text chooses the same window");
    }
}
