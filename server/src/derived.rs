//! What the store derives from a template and writes beside it so that discovery can be
//! answered in SQL (`discover.rs`): the derived columns (migration 007), the tag rows
//! (`template_tags`, migrations 007 and 011) and the moves between the `discover_counts`
//! counters a commit makes (the rows' states read and locked once per batch).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use workflow_templates::model::WorkflowTemplate;
use workflow_templates::store::page::updated_ms;

use crate::db::{int, text, Conn, DbResult, Dialect, P};
use crate::rows::{select_list, K, TEMPLATE_COLS};
/// The columns the store derives from a template and writes with it (migration 007).
pub(crate) const DERIVED_COLS: &[(&str, K)] = &[("name_lc", K::Text), ("description_lc", K::Text), ("updated_ms", K::Int)];

pub(crate) fn derived_values(t: &WorkflowTemplate) -> Vec<P> {
    vec![text(t.name.to_lowercase()), text(t.description.to_lowercase()), int(updated_ms(&t.updated_at))]
}

/// The distinct lowercased tags of a template (what `tags` compares with).
pub(crate) fn tag_keys(t: &WorkflowTemplate) -> BTreeSet<String> {
    t.tags.iter().flatten().map(|x| x.to_lowercase()).collect()
}

/// Makes `template_tags` hold exactly the template's tags (nothing is written when they are
/// already there: a recorded use rewrites the record, not its tags; migration 011's trigger
/// keeps the rows' copies of the sort keys current). Runs after the template's row is written:
/// the tag rows copy its stored columns. (A new record's rows are written by `bulk`.)
pub(crate) fn write_tags(c: &mut Conn, t: &WorkflowTemplate) -> DbResult<()> {
    let want = tag_keys(t);
    let have: BTreeSet<String> =
        c.query("SELECT tag FROM template_tags WHERE template_id = {t1}", &[text(&t.id)])?.into_iter().filter_map(|r| r[0].text().map(str::to_string)).collect();
    if have == want {
        return Ok(());
    }
    c.execute("DELETE FROM template_tags WHERE template_id = {t1}", &[text(&t.id)])?;
    crate::bulk::insert_tags(c, &[(&t.id, &want)])
}

/// The columns a tag row copies from its template (migration 011), in the table's order.
pub(crate) const TAG_KEY_COLS: &str = "owner_id, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, name_lc, name, updated_ms";

/// Migration 007's tag rows: (template_id, tag) only (011 adds the copied columns and fills them).
fn insert_tags_007(c: &mut Conn, id: &str, tags: &BTreeSet<String>) -> DbResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut p = vec![text(id)];
    let mut values = Vec::with_capacity(tags.len());
    for tag in tags {
        p.push(text(tag));
        values.push(format!("({{t1}}, {{t{}}})", p.len()));
    }
    c.execute(&format!("INSERT INTO template_tags (template_id, tag) VALUES {}", values.join(", ")), &p)?;
    Ok(())
}

pub(crate) fn delete_tags(c: &mut Conn, id: &str) -> DbResult<()> {
    c.execute("DELETE FROM template_tags WHERE template_id = {t1}", &[text(id)])?;
    Ok(())
}

/// Migration 007's data step: the derived columns and tag rows of every stored template.
pub(crate) fn fill_derived(c: &mut Conn) -> DbResult<()> {
    let rows = c.query(&format!("SELECT {} FROM workflow_templates", select_list(TEMPLATE_COLS)), &[])?;
    for r in &rows {
        // A row the core cannot read keeps the columns' defaults (it is never listed intact).
        let Ok(s) = crate::rows::decode_template_strict(r) else { continue };
        let t = s.record;
        let mut p = derived_values(&t);
        p.push(text(&t.id));
        c.execute("UPDATE workflow_templates SET name_lc = {t1}, description_lc = {t2}, updated_ms = {i3} WHERE id = {t4}", &p)?;
        insert_tags_007(c, &t.id, &tag_keys(&t))?;
    }
    Ok(())
}

/// A latest stored row's counter in `discover_counts`: (`''` for a public row, else its owner;
/// category; workflow type). `None` for a row that is not counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Bucket(String, String, String);

pub(crate) fn bucket_of(t: &WorkflowTemplate) -> Option<Bucket> {
    (t.is_latest && !t.is_builtin).then(|| Bucket(if t.is_public { String::new() } else { t.owner_id.clone() }, t.category.as_str().into(), t.workflow_type.as_str().into()))
}

/// A stored (non built-in) template row as a commit needs it: its revision and its counter as
/// its columns say.
pub(crate) type StoredState = (u64, Option<Bucket>);

/// The states of the stored rows among `ids` (absent ids have none), read in one statement per
/// 500 ids, in id order, locked `FOR UPDATE` on PostgreSQL for the rest of the transaction.
pub(crate) fn stored_states(c: &mut Conn, ids: &BTreeSet<&str>) -> DbResult<HashMap<String, StoredState>> {
    let lock = if c.dialect() == Dialect::Postgres { " FOR UPDATE" } else { "" };
    let mut out = HashMap::with_capacity(ids.len());
    let ids: Vec<&str> = ids.iter().copied().collect();
    for chunk in ids.chunks(500) {
        let mut p = vec![P::Bool(false)];
        let mut list = Vec::with_capacity(chunk.len());
        for id in chunk {
            p.push(text(*id));
            list.push(format!("{{t{}}}", p.len()));
        }
        let sql = format!(
            "SELECT id, rev, owner_id, is_public, is_latest, {{eo:category}}, {{eo:workflow_type}} FROM workflow_templates WHERE is_builtin = {{b1}} AND id IN ({}) ORDER BY id{lock}",
            list.join(", ")
        );
        for r in c.query(&sql, &p)? {
            let (Some(id), Some(rev)) = (r[0].text(), r[1].int()) else { continue };
            let (public, latest) = (r[3].bool().unwrap_or(false), r[4].bool().unwrap_or(false));
            let bucket = latest.then(|| Bucket(if public { String::new() } else { r[2].text().unwrap_or_default().into() }, r[5].text().unwrap_or_default().into(), r[6].text().unwrap_or_default().into()));
            out.insert(id.to_string(), (rev as u64, bucket));
        }
    }
    Ok(out)
}

/// How many rows a transaction moves between counters, applied once at its end (one statement
/// per counter that changed, in counter order, so concurrent writers lock them in one order).
#[derive(Default)]
pub(crate) struct CountMoves(BTreeMap<Bucket, i64>);

impl CountMoves {
    /// One row moves from its old counter to its new one.
    pub(crate) fn moved(&mut self, old: Option<Bucket>, new: Option<Bucket>) {
        if old == new {
            return;
        }
        for (b, d) in [(old, -1i64), (new, 1)] {
            if let Some(b) = b {
                *self.0.entry(b).or_default() += d;
            }
        }
    }

    pub(crate) fn apply(self, c: &mut Conn) -> DbResult<()> {
        for (Bucket(o, cat, ty), d) in self.0 {
            if d == 0 {
                continue;
            }
            c.execute(
                "INSERT INTO discover_counts (owner_key, category, workflow_type, n) VALUES ({t1}, {t2}, {t3}, {i4}) ON CONFLICT (owner_key, category, workflow_type) DO UPDATE SET n = discover_counts.n + excluded.n",
                &[text(o), text(cat), text(ty), int(d)],
            )?;
        }
        Ok(())
    }
}
