//! New template rows written many per statement (issue 13: an import, and the load example's
//! seeding, which goes through the same `SqlStore::commit`). A commit queues the templates it
//! creates (after every check the per-row path makes: revision expectation, built-in ids,
//! quarantined rows) and writes them as multi-row `INSERT`s of the template rows, then of their
//! tag rows (copied from the stored template rows, as `derived::write_tags` does). Every
//! trigger still runs per row (change feed, `wt_record_ids`, the search index, the tag copies),
//! and the commit's closing checks (name uniqueness, counters, deferred foreign keys) are the
//! same statements as before.
//!
//! A unique violation in a multi-row statement does not say which row broke it, and PostgreSQL
//! aborts the transaction: the commit then runs again with one row per statement
//! (`NewTemplates::new(false)`), so the error names the record exactly as it always did.

use std::collections::BTreeSet;

use workflow_templates::store::Expect;
use workflow_templates::Result;

use crate::db::{text, Conn, DbError, DbErrorKind, DbResult, Dialect, P};
use crate::derived::{DERIVED_COLS, TAG_KEY_COLS};
use crate::rows::{param_for, K, TEMPLATE_COLS};

/// Most template rows per statement (40 parameters each: 10,240, under SQLite's 32,766 and
/// PostgreSQL's 65,535). Batches are cut in powers of two, so a connection prepares at most nine
/// shapes of the statement.
const MAX_ROWS: usize = 256;
/// Most tag rows per statement (2 parameters each; 3 on PostgreSQL, with the tag set).
const MAX_TAG_ROWS: usize = 1024;

/// The columns of a template row as the store writes it: the record's, its revision, its name
/// key and the derived discovery columns (migration 007).
pub(crate) fn template_columns() -> Vec<(&'static str, K)> {
    TEMPLATE_COLS.iter().copied().chain([("rev", K::Int), ("name_key", K::Text)]).chain(DERIVED_COLS.iter().copied()).collect()
}

/// A template the commit creates: its id and expectation (for the error of a unique violation),
/// its row's values in `template_columns()` order, and its distinct lowercased tags.
pub(crate) struct NewRow {
    pub id: String,
    pub expect: Expect,
    pub values: Vec<P>,
    pub tags: BTreeSet<String>,
}

pub(crate) struct NewTemplates {
    many: bool,
    rows: Vec<NewRow>,
    /// Set when a multi-row statement met a unique violation (the commit reruns row by row).
    pub unique_in_batch: bool,
}

impl NewTemplates {
    /// `many`: queue rows and write them many per statement; otherwise each row is written as
    /// soon as it is added, alone in its statements.
    pub(crate) fn new(many: bool) -> Self {
        NewTemplates { many, rows: Vec::new(), unique_in_batch: false }
    }

    pub(crate) fn add(&mut self, c: &mut Conn, row: NewRow) -> Result<()> {
        self.rows.push(row);
        if !self.many || self.rows.len() >= 4 * MAX_ROWS {
            self.flush(c)?;
        }
        Ok(())
    }

    /// Writes every queued row. Called before any other write of the commit (which may read or
    /// rewrite them) and at its end.
    pub(crate) fn flush(&mut self, c: &mut Conn) -> Result<()> {
        let rows = std::mem::take(&mut self.rows);
        let mut rest: &[NewRow] = &rows;
        while !rest.is_empty() {
            let n = chunk_len(rest.len(), MAX_ROWS);
            let (chunk, next) = rest.split_at(n);
            if let Err(e) = insert_rows(c, chunk) {
                if e.kind != DbErrorKind::Unique {
                    return Err(e.into());
                }
                if n > 1 {
                    self.unique_in_batch = true;
                }
                return Err(crate::store::unique_as_conflict(e, &chunk[0].id, chunk[0].expect));
            }
            rest = next;
        }
        Ok(())
    }
}

/// The largest power of two not over `left` nor `max`.
fn chunk_len(left: usize, max: usize) -> usize {
    let n = left.min(max);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

fn insert_rows(c: &mut Conn, rows: &[NewRow]) -> DbResult<()> {
    let cols = template_columns();
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let mut params: Vec<P> = Vec::with_capacity(rows.len() * cols.len());
    let mut tuples = Vec::with_capacity(rows.len());
    for r in rows {
        if r.values.len() != cols.len() {
            return Err(DbError { kind: DbErrorKind::Other, message: format!("a template row has {} values for {} columns", r.values.len(), cols.len()) });
        }
        let start = params.len();
        let ps: Vec<String> = cols.iter().enumerate().map(|(i, (n, k))| param_for(n, *k, start + i + 1)).collect();
        tuples.push(format!("({})", ps.join(", ")));
        params.extend(r.values.iter().cloned());
    }
    c.execute(&format!("INSERT INTO workflow_templates ({}) VALUES {}", names.join(", "), tuples.join(", ")), &params)?;
    let sets: Vec<(&str, &BTreeSet<String>)> = rows.iter().map(|r| (r.id.as_str(), &r.tags)).collect();
    insert_tags(c, &sets)
}

/// Bytes of tags (UTF-8) up to which a tag row carries its template's whole tag set
/// (PostgreSQL, migration 012; a larger set is NULL there and the other tags are probed).
const MAX_SET_BYTES: usize = 256;

/// The tag set a tag row carries (migration 012), as a JSON array of text, or none.
fn tag_set(tags: &BTreeSet<String>) -> P {
    let bytes: usize = tags.iter().map(String::len).sum();
    P::Text((bytes <= MAX_SET_BYTES).then(|| serde_json::to_string(tags).unwrap_or_default()))
}

/// The tag rows of stored templates (id, distinct lowercased tags), each copying its template's
/// stored columns (migration 011) and, on PostgreSQL, its tag set (012); none for a built-in's
/// shadow row (never listed from SQL).
pub(crate) fn insert_tags(c: &mut Conn, templates: &[(&str, &BTreeSet<String>)]) -> DbResult<()> {
    let mut rows: Vec<(&str, &str, P)> = Vec::new();
    for (id, tags) in templates {
        let set = tag_set(tags);
        rows.extend(tags.iter().map(|t| (*id, t.as_str(), set.clone())));
    }
    let mut rest: &[(&str, &str, P)] = &rows;
    while !rest.is_empty() {
        let (chunk, next) = rest.split_at(chunk_len(rest.len(), MAX_TAG_ROWS));
        insert_tag_rows(c, chunk)?;
        rest = next;
    }
    Ok(())
}

fn insert_tag_rows(c: &mut Conn, rows: &[(&str, &str, P)]) -> DbResult<()> {
    let pg = c.dialect() == Dialect::Postgres;
    let mut p = vec![P::Bool(false)];
    let mut values = Vec::with_capacity(rows.len());
    for (id, tag, set) in rows {
        p.push(text(*id));
        p.push(text(*tag));
        if pg {
            p.push(set.clone());
            values.push(format!("({{t{}}}, {{t{}}}, {{t{}}})", p.len() - 2, p.len() - 1, p.len()));
        } else {
            values.push(format!("({{t{}}}, {{t{}}})", p.len() - 1, p.len()));
        }
    }
    let cols = TAG_KEY_COLS.split(", ").map(|col| format!("w.{col}")).collect::<Vec<_>>().join(", ");
    let (set_col, set_value) = match pg {
        true => (", all_tags", ", CASE WHEN t.column3 IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(CAST(t.column3 AS json))) END"),
        false => ("", ""),
    };
    // A VALUES list names its columns column1, column2, ... on both PostgreSQL and SQLite.
    c.execute(
        &format!(
            "INSERT INTO template_tags (template_id, tag, {TAG_KEY_COLS}{set_col}) SELECT w.id, t.column2, {cols}{set_value} FROM (VALUES {}) t \
             JOIN workflow_templates w ON w.id = t.column1 WHERE w.is_builtin = {{b1}}",
            values.join(", ")
        ),
        &p,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two() {
        assert_eq!(super::chunk_len(1000, 256), 256);
        assert_eq!(super::chunk_len(232, 256), 128);
        assert_eq!(super::chunk_len(7, 256), 4);
        assert_eq!(super::chunk_len(1, 256), 1);
    }
}
