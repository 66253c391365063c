//! Ordered schema migrations for SQLite and PostgreSQL: `up` applies every pending one in order
//! (like `alembic upgrade head`), `down` reverts every applied one in reverse order and drops
//! the bookkeeping table (like `alembic downgrade base`: nothing of ours is left).
//!
//! - 000_users: the `users` table the seed's foreign keys point at (in the seed's application it
//!   predates its migration 001; here it holds the server's accounts).
//! - 001_workflow_templates: the seed's migration, reproduced on PostgreSQL: both enum types,
//!   both tables with every NOT NULL, DEFAULT, CHECK and foreign key, and the 13 named indexes.
//!   The SQLite version is the closest equivalent (enum types become CHECK constraints; its
//!   foreign keys are created deferrable because SQLite cannot alter a constraint later).
//! - 002_server: what the server adds: a revision (`rev`) per record for optimistic concurrency,
//!   a `name_key` column for case-insensitive name uniqueness, BIGINT counters (SPEC section 2's
//!   one deliberate widening; every integer column the core allows up to 2^53-1 is widened),
//!   deferrable foreign keys (a multi-record import may write a child before its base), compound
//!   indexes for discovery, ratings, built-in statistics, API tokens and idempotency keys, and
//!   the built-in owner's system user.
//! - 003_discovery_order: ordered partial indexes over the public latest templates, one per
//!   discovery sort, read by `Store::top_public` (a discovery page without reading every row).
//! - 004_usage_totals: the exact sums behind the usage means (`store::UsageTotals`), a table of
//!   their own (the schema's columns are fixed); rows appear with the next recorded use.
//! - 005_template_labels: labels that pin a version of a lineage (issue 14), one row per
//!   (owner, name key, label); existing data needs nothing (no template has a label yet).
//! - 006_usage_cost_sum: `usage_totals.cost_sum`, the exact sum of the recorded costs behind
//!   `total_cost` (JSON partials; NULL in older rows, derived on their next use).
//! - 007_discovery_query: discovery answered in SQL (issue 13, `crate::discover`): the
//!   lowercased name and description and `updated_ms` beside each record, `template_tags`,
//!   ordered indexes by the core's sort keys (public latest; each owner's latest) replacing
//!   003's, text indexes (PostgreSQL: pg_trgm GIN; SQLite: FTS5 trigram), and `discover_counts`
//!   (latest rows per public/owner, category, type: the common pages' totals); existing rows get
//!   their derived columns and tags in `post_up`.
//! - 008_change_feed: `wt_changes`, the change feed of issue 15, appended by triggers in every
//!   writing transaction (see `feed.rs`). The runner applies what is missing by id, whatever else
//!   is applied (a database at 008 that lacks 007 gets 007 on its next `up`).
//! - 009_change_feed_access: a moved label is a delete of its old target and a put of its new
//!   one (others never get the id of a version they cannot read), and the indexes behind a page
//!   of `GET /v1/changes` for a user who sees little: `(owner_id, seq)` and public rows by `seq`.
//! - 010_record_ids: `wt_record_ids`, every id a template or spec ever held (filled by insert
//!   triggers, never emptied; existing records and the deletes in `wt_changes` fill it first):
//!   a chosen id (`?id=`) is never used again after a delete, and never by both kinds.
//! - 011_tag_sort_keys: each `template_tags` row carries its template's visibility, category,
//!   type and sort keys (copied at insert, kept by a trigger), with (tag, sort keys) indexes, so
//!   a tag's page is one ordered index range and its `total` a count of one range (issue 13).
//! - 012_tag_sets (PostgreSQL; a no-op on SQLite): each `template_tags` row carries its
//!   template's tag set (`all_tags`, INCLUDE'd in 011's indexes), so a page of several tags and
//!   its `total` test the other tags inside the first tag's index range (issue 13).
//! - 013_permanent_usage_keys: `idempotency_keys.permanent`, set on the keys of recordUsage,
//!   which neither the TTL check nor the sweep forgets (issue 15: a replica's late replay of a
//!   use must not count it twice).
//! - 014_tag_counts (PostgreSQL; a no-op on SQLite): `tag_counts`, the public latest tag rows
//!   per (tag, category, type), and `tag_pair_counts`, per (pair of tags, category, type), kept
//!   by statement triggers on `template_tags` in the writing transaction (appended and folded,
//!   never a hot row), so the `total` of a page of one or two tags is a sum of a few counters
//!   plus the viewer's private rows (issue 13).
//! - 015_template_text (PostgreSQL; a no-op on SQLite): `template_text`, a narrow copy of each
//!   template's filters, sort keys and lowercased texts kept by statement triggers, holding the
//!   trigram indexes: a text's `total` and a page from its matches recheck rows half the size of
//!   the template rows (issue 13).
//! - 016_text_rows (SQLite; a no-op on PostgreSQL): FTS5's content table `template_search_docs`
//!   becomes a narrow copy of each template's filters and sort keys beside its lowercased texts,
//!   kept by row triggers: a text's `total` and a page from its matches read each match by its
//!   FTS5 rowid, and only the page's rows from `workflow_templates` (issue 13).
//! - 017_text_docs_guard (SQLite; a no-op on PostgreSQL): a search document whose template is
//!   gone is deleted and can no longer be written (triggers on the content table), so a text's
//!   `total` counts its matches without probing each one's template (issue 13).
//! - 018_text_trigram_stats (PostgreSQL 14+; a no-op on SQLite and an empty view on 13):
//!   statistics of the most common trigrams of `template_text`'s texts, read through the view
//!   `wt_text_trigram_freqs` (over a SECURITY DEFINER function of the tables' owner, so a server
//!   role that does not own them reads them too), so a text's rarest 3-character window alone is given to the trigram
//!   index and the whole text tested on its candidates (issue 13).
//! - 019_text_filter_indexes (PostgreSQL; a no-op on SQLite): `template_text`'s trigram GIN
//!   indexes also hold category and type (btree_gin), so a text with either filter is narrowed
//!   by the index, not on the heap (issue 13).

use workflow_templates::model::id::BUILTIN_OWNER;

use crate::db::{Conn, DbError, DbResult, Dialect};

pub struct Migration {
    pub id: &'static str,
    sqlite_up: &'static str,
    sqlite_down: &'static str,
    pg_up: &'static str,
    pg_down: &'static str,
    /// Run after `up`, in the same transaction (data fix-ups that need Rust).
    post_up: Option<fn(&mut Conn) -> DbResult<()>>,
}

const TABLE: &str = "wt_schema_migrations";

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        id: "000_users",
        sqlite_up: "
CREATE TABLE users (
    id VARCHAR(26) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);",
        sqlite_down: "DROP TABLE users;",
        pg_up: "
CREATE TABLE users (
    id VARCHAR(26) NOT NULL,
    name VARCHAR(255) NOT NULL DEFAULT '',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id)
);",
        pg_down: "DROP TABLE users;",
        post_up: None,
    },
    Migration {
        id: "001_workflow_templates",
        sqlite_up: include_str!("../migrations/sqlite/001_workflow_templates.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/001_workflow_templates.down.sql"),
        pg_up: include_str!("../migrations/postgres/001_workflow_templates.up.sql"),
        pg_down: include_str!("../migrations/postgres/001_workflow_templates.down.sql"),
        post_up: None,
    },
    Migration {
        id: "002_server",
        sqlite_up: include_str!("../migrations/sqlite/002_server.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/002_server.down.sql"),
        pg_up: include_str!("../migrations/postgres/002_server.up.sql"),
        pg_down: include_str!("../migrations/postgres/002_server.down.sql"),
        post_up: Some(fill_name_keys),
    },
    Migration {
        id: "003_discovery_order",
        sqlite_up: include_str!("../migrations/sqlite/003_discovery_order.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/003_discovery_order.down.sql"),
        pg_up: include_str!("../migrations/postgres/003_discovery_order.up.sql"),
        pg_down: include_str!("../migrations/postgres/003_discovery_order.down.sql"),
        post_up: None,
    },
    Migration {
        id: "004_usage_totals",
        sqlite_up: include_str!("../migrations/sqlite/004_usage_totals.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/004_usage_totals.down.sql"),
        pg_up: include_str!("../migrations/postgres/004_usage_totals.up.sql"),
        pg_down: include_str!("../migrations/postgres/004_usage_totals.down.sql"),
        post_up: None,
    },
    Migration {
        id: "005_template_labels",
        sqlite_up: include_str!("../migrations/sqlite/005_template_labels.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/005_template_labels.down.sql"),
        pg_up: include_str!("../migrations/postgres/005_template_labels.up.sql"),
        pg_down: include_str!("../migrations/postgres/005_template_labels.down.sql"),
        post_up: None,
    },
    Migration {
        id: "006_usage_cost_sum",
        sqlite_up: include_str!("../migrations/sqlite/006_usage_cost_sum.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/006_usage_cost_sum.down.sql"),
        pg_up: include_str!("../migrations/postgres/006_usage_cost_sum.up.sql"),
        pg_down: include_str!("../migrations/postgres/006_usage_cost_sum.down.sql"),
        post_up: None,
    },
    Migration {
        id: "007_discovery_query",
        sqlite_up: include_str!("../migrations/sqlite/007_discovery_query.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/007_discovery_query.down.sql"),
        pg_up: include_str!("../migrations/postgres/007_discovery_query.up.sql"),
        pg_down: include_str!("../migrations/postgres/007_discovery_query.down.sql"),
        post_up: Some(crate::derived::fill_derived),
    },
    Migration {
        id: "008_change_feed",
        sqlite_up: include_str!("../migrations/sqlite/008_change_feed.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/008_change_feed.down.sql"),
        pg_up: include_str!("../migrations/postgres/008_change_feed.up.sql"),
        pg_down: include_str!("../migrations/postgres/008_change_feed.down.sql"),
        post_up: None,
    },
    Migration {
        id: "009_change_feed_access",
        sqlite_up: include_str!("../migrations/sqlite/009_change_feed_access.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/009_change_feed_access.down.sql"),
        pg_up: include_str!("../migrations/postgres/009_change_feed_access.up.sql"),
        pg_down: include_str!("../migrations/postgres/009_change_feed_access.down.sql"),
        post_up: None,
    },
    Migration {
        id: "010_record_ids",
        sqlite_up: include_str!("../migrations/sqlite/010_record_ids.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/010_record_ids.down.sql"),
        pg_up: include_str!("../migrations/postgres/010_record_ids.up.sql"),
        pg_down: include_str!("../migrations/postgres/010_record_ids.down.sql"),
        post_up: None,
    },
    Migration {
        id: "011_tag_sort_keys",
        sqlite_up: include_str!("../migrations/sqlite/011_tag_sort_keys.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/011_tag_sort_keys.down.sql"),
        pg_up: include_str!("../migrations/postgres/011_tag_sort_keys.up.sql"),
        pg_down: include_str!("../migrations/postgres/011_tag_sort_keys.down.sql"),
        post_up: None,
    },
    Migration {
        id: "012_tag_sets",
        sqlite_up: include_str!("../migrations/sqlite/012_tag_sets.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/012_tag_sets.down.sql"),
        pg_up: include_str!("../migrations/postgres/012_tag_sets.up.sql"),
        pg_down: include_str!("../migrations/postgres/012_tag_sets.down.sql"),
        post_up: None,
    },
    Migration {
        id: "013_permanent_usage_keys",
        sqlite_up: include_str!("../migrations/sqlite/013_permanent_usage_keys.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/013_permanent_usage_keys.down.sql"),
        pg_up: include_str!("../migrations/postgres/013_permanent_usage_keys.up.sql"),
        pg_down: include_str!("../migrations/postgres/013_permanent_usage_keys.down.sql"),
        post_up: None,
    },
    Migration {
        id: "014_tag_counts",
        sqlite_up: include_str!("../migrations/sqlite/014_tag_counts.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/014_tag_counts.down.sql"),
        pg_up: include_str!("../migrations/postgres/014_tag_counts.up.sql"),
        pg_down: include_str!("../migrations/postgres/014_tag_counts.down.sql"),
        post_up: None,
    },
    Migration {
        id: "015_template_text",
        sqlite_up: include_str!("../migrations/sqlite/015_template_text.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/015_template_text.down.sql"),
        pg_up: include_str!("../migrations/postgres/015_template_text.up.sql"),
        pg_down: include_str!("../migrations/postgres/015_template_text.down.sql"),
        post_up: None,
    },
    Migration {
        id: "016_text_rows",
        sqlite_up: include_str!("../migrations/sqlite/016_text_rows.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/016_text_rows.down.sql"),
        pg_up: include_str!("../migrations/postgres/016_text_rows.up.sql"),
        pg_down: include_str!("../migrations/postgres/016_text_rows.down.sql"),
        post_up: None,
    },
    Migration {
        id: "017_text_docs_guard",
        sqlite_up: include_str!("../migrations/sqlite/017_text_docs_guard.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/017_text_docs_guard.down.sql"),
        pg_up: include_str!("../migrations/postgres/017_text_docs_guard.up.sql"),
        pg_down: include_str!("../migrations/postgres/017_text_docs_guard.down.sql"),
        post_up: None,
    },
    Migration {
        id: "018_text_trigram_stats",
        sqlite_up: include_str!("../migrations/sqlite/018_text_trigram_stats.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/018_text_trigram_stats.down.sql"),
        pg_up: include_str!("../migrations/postgres/018_text_trigram_stats.up.sql"),
        pg_down: include_str!("../migrations/postgres/018_text_trigram_stats.down.sql"),
        post_up: None,
    },
    Migration {
        id: "019_text_filter_indexes",
        sqlite_up: include_str!("../migrations/sqlite/019_text_filter_indexes.up.sql"),
        sqlite_down: include_str!("../migrations/sqlite/019_text_filter_indexes.down.sql"),
        pg_up: include_str!("../migrations/postgres/019_text_filter_indexes.up.sql"),
        pg_down: include_str!("../migrations/postgres/019_text_filter_indexes.down.sql"),
        post_up: None,
    },
];

/// Rows written before 002 (by the seed's application) get the core's own name key.
fn fill_name_keys(c: &mut Conn) -> DbResult<()> {
    let rows = c.query("SELECT id, name FROM workflow_templates", &[])?;
    for r in rows {
        let (Some(id), Some(name)) = (r[0].text(), r[1].text()) else { continue };
        c.execute(
            "UPDATE workflow_templates SET name_key = {t1} WHERE id = {t2}",
            &[crate::db::text(workflow_templates::store::name_key(name)), crate::db::text(id)],
        )?;
    }
    c.execute("INSERT INTO users (id, name) VALUES ({t1}, {t2}) ON CONFLICT (id) DO NOTHING", &[crate::db::text(BUILTIN_OWNER), crate::db::text("built-in templates")])?;
    Ok(())
}

/// Serialises schema changes between processes, until the current transaction ends: SQLite's
/// `BEGIN IMMEDIATE` already holds the database's write lock; PostgreSQL takes a transaction-level
/// advisory lock (its key is arbitrary but fixed: "wt" schema).
pub(crate) fn schema_lock(c: &mut Conn) -> DbResult<()> {
    match c.dialect() {
        Dialect::Sqlite => Ok(()),
        Dialect::Postgres => c.batch("SELECT pg_advisory_xact_lock(7774001)"),
    }
}

/// A migration rewrites whole tables (012 at 1,000,000 templates: two million tag rows): it is
/// exempt from the connections' 60 s statement timeout (`Conn::open`), for its transaction only.
fn no_statement_timeout(c: &mut Conn) -> DbResult<()> {
    match c.dialect() {
        Dialect::Sqlite => Ok(()),
        Dialect::Postgres => c.batch("SET LOCAL statement_timeout = 0"),
    }
}

fn ensure_table(c: &mut Conn) -> DbResult<()> {
    let sql = match c.dialect() {
        Dialect::Sqlite => format!("CREATE TABLE IF NOT EXISTS {TABLE} (id VARCHAR(64) NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"),
        Dialect::Postgres => format!("CREATE TABLE IF NOT EXISTS {TABLE} (id VARCHAR(64) NOT NULL PRIMARY KEY, applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"),
    };
    c.batch(&sql)
}

fn table_exists(c: &mut Conn, name: &str) -> DbResult<bool> {
    let rows = match c.dialect() {
        Dialect::Sqlite => c.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {t1}", &[crate::db::text(name)])?,
        Dialect::Postgres => c.query("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = {t1}", &[crate::db::text(name)])?,
    };
    Ok(!rows.is_empty())
}

/// The ids of the applied migrations, in order.
pub fn applied(c: &mut Conn) -> DbResult<Vec<String>> {
    if !table_exists(c, TABLE)? {
        return Ok(Vec::new());
    }
    let rows = c.query(&format!("SELECT id FROM {TABLE} ORDER BY id"), &[])?;
    Ok(rows.into_iter().filter_map(|r| r[0].text().map(str::to_string)).collect())
}

/// Applies every pending migration, each in its own transaction. Returns the ids applied.
pub fn up(c: &mut Conn) -> DbResult<Vec<&'static str>> {
    up_to(c, None)
}

/// Applies pending migrations in order up to and including `target` (all when `None`).
pub fn up_to(c: &mut Conn, target: Option<&str>) -> DbResult<Vec<&'static str>> {
    if let Some(t) = target {
        if !MIGRATIONS.iter().any(|m| m.id == t) {
            return Err(DbError { kind: crate::db::DbErrorKind::Other, message: format!("no migration {t:?}") });
        }
    }
    let mut done = Vec::new();
    c.transaction(|c| {
        schema_lock(c)?;
        ensure_table(c)
    })?;
    for m in MIGRATIONS {
        let sql = match c.dialect() {
            Dialect::Sqlite => m.sqlite_up,
            Dialect::Postgres => m.pg_up,
        };
        // Several processes may migrate one database at once (they start together behind a
        // load balancer): each migration is decided and applied under the schema lock, so the
        // first applies it and the others see it applied.
        let applied_here = c.transaction(|c| -> DbResult<bool> {
            schema_lock(c)?;
            if applied(c)?.iter().any(|h| h == m.id) {
                return Ok(false);
            }
            no_statement_timeout(c)?;
            c.batch(sql).map_err(|e| DbError { message: format!("migration {} up: {}", m.id, e.message), ..e })?;
            if let Some(post) = m.post_up {
                post(c)?;
            }
            c.execute(&format!("INSERT INTO {TABLE} (id) VALUES ({{t1}})"), &[crate::db::text(m.id)])?;
            Ok(true)
        })?;
        if applied_here {
            done.push(m.id);
        }
        if Some(m.id) == target {
            break;
        }
    }
    Ok(done)
}

/// Reverts every applied migration, newest first, then drops the bookkeeping table.
pub fn down(c: &mut Conn) -> DbResult<Vec<&'static str>> {
    let done = down_to(c, None)?;
    c.transaction(|c| c.batch(&format!("DROP TABLE IF EXISTS {TABLE}")))?;
    Ok(done)
}

/// Reverts the applied migrations newer than `target`, newest first (all when `None`), each in
/// its own transaction. Returns the ids reverted.
pub fn down_to(c: &mut Conn, target: Option<&str>) -> DbResult<Vec<&'static str>> {
    if let Some(t) = target {
        if !MIGRATIONS.iter().any(|m| m.id == t) {
            return Err(DbError { kind: crate::db::DbErrorKind::Other, message: format!("no migration {t:?}") });
        }
    }
    let have = applied(c)?;
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().rev() {
        if Some(m.id) == target {
            break;
        }
        if !have.iter().any(|h| h == m.id) {
            continue;
        }
        let sql = match c.dialect() {
            Dialect::Sqlite => m.sqlite_down,
            Dialect::Postgres => m.pg_down,
        };
        c.transaction(|c| -> DbResult<()> {
            no_statement_timeout(c)?;
            c.batch(sql).map_err(|e| DbError { message: format!("migration {} down: {}", m.id, e.message), ..e })?;
            c.execute(&format!("DELETE FROM {TABLE} WHERE id = {{t1}}"), &[crate::db::text(m.id)])?;
            Ok(())
        })?;
        done.push(m.id);
    }
    Ok(done)
}

/// True when every migration is applied.
pub fn is_current(c: &mut Conn) -> DbResult<bool> {
    let have = applied(c)?;
    Ok(MIGRATIONS.iter().all(|m| have.iter().any(|h| h == m.id)))
}
