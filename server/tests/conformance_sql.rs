//! The package's storage conformance suite (tests/conformance in the core crate: the same
//! behaviours every adapter must show) against `SqlStore`, on SQLite and, when
//! WT_TEST_POSTGRES_URL is set, on PostgreSQL. Each `fresh()` is a new, migrated database with
//! the suite's users; `again()` is a second handle (its own connection) to the same database.

#[path = "../../tests/conformance/mod.rs"]
mod conformance;
mod common;

use std::cell::RefCell;
use std::sync::Arc;

use conformance::{Harness, TickEnv};
use workflow_templates_server::db::{text, Conn, DbUrl, Pool};
use workflow_templates_server::http::block_on;
use workflow_templates_server::store::{sync_builtins, SqlStore};
use workflow_templates_server::migrations;

/// The owners the suite writes records for (records need an owner in `users`).
const USERS: [&str; 3] = [conformance::U1, conformance::U2, "01J00000000000000000000003"];

struct Sql {
    make: fn() -> common::TestDb,
    dbs: RefCell<Vec<common::TestDb>>,
    pool: RefCell<Option<Arc<Pool>>>,
    env: TickEnv,
}

impl Sql {
    fn new(make: fn() -> common::TestDb) -> Self {
        Sql { make, dbs: RefCell::new(Vec::new()), pool: RefCell::new(None), env: TickEnv::new() }
    }
    fn sqlite() -> Self {
        Self::new(common::sqlite_db)
    }
    /// None when WT_TEST_POSTGRES_URL is not set (scripts/server-test.sh sets it).
    fn postgres() -> Option<Self> {
        std::env::var("WT_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
        Some(Self::new(|| common::postgres_db(&std::env::var("WT_TEST_POSTGRES_URL").unwrap())))
    }
}

impl Harness for Sql {
    type S = SqlStore;
    type E = TickEnv;
    async fn fresh(&self) -> SqlStore {
        let db = (self.make)();
        let url = DbUrl::parse(&db.url).unwrap();
        let mut c = Conn::open(&url).unwrap();
        migrations::up(&mut c).unwrap();
        sync_builtins(&mut c).unwrap();
        for u in USERS {
            c.execute("INSERT INTO users (id, name) VALUES ({t1}, {t2})", &[text(u), text("conformance")]).unwrap();
        }
        drop(c);
        let pool = Pool::new(url, 8);
        *self.pool.borrow_mut() = Some(pool.clone());
        self.dbs.borrow_mut().push(db);
        SqlStore::new(pool.get().unwrap())
    }
    async fn again(&self) -> SqlStore {
        let pool = self.pool.borrow().clone().expect("fresh() first");
        SqlStore::new(pool.get().unwrap())
    }
    fn env(&self) -> TickEnv {
        self.env.clone()
    }
}

mod sqlite {
    use super::*;
    conformance_tests!(native, Sql::sqlite());
}

mod postgres {
    use super::*;
    conformance_tests!(
        native,
        match Sql::postgres() {
            Some(h) => h,
            None => {
                eprintln!("WT_TEST_POSTGRES_URL is not set: the PostgreSQL conformance run is not done (scripts/server-test.sh does it)");
                return;
            }
        }
    );
}
