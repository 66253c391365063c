//! Discovery answered in SQL (issue 13): `Store::query_page` of the storage contract over the
//! indexes of migration 007 and later, with the core's exact rules, over the derived columns and
//! tag rows the store writes beside every template (`derived.rs`).
//!
//! - Visibility: public rows, plus the viewer's own (`owner` narrows to one owner; another
//!   owner's private rows never match). Written as two arms (public; the viewer's private) joined
//!   by `UNION ALL` so each arm reads its own ordered partial index and the database merges
//!   them (PostgreSQL: Merge Append; SQLite: a compound merge).
//! - Order: the sort's columns with its tie-breakers (`store::SortKey::compare`), on the stored
//!   `name_lc` / `updated_ms` the core computes, compared bytewise (`COLLATE "C"` / BINARY).
//! - `text` (SPEC section 11: a case-insensitive substring of name or description): the stored
//!   columns hold Rust's `to_lowercase` of each and the query's text is lowercased the same way,
//!   so an exact substring test on them is the core's rule for every script (no database's own
//!   folding is ever trusted). PostgreSQL: `LIKE '%t%'` (escaped) over pg_trgm GIN indexes, which
//!   recheck exactly, on `template_text` (migration 015: narrow copies of the rows, so a count
//!   or a page from the matches rechecks small rows). SQLite: the FTS5 trigram index narrows to candidates when the text has 3 or
//!   more characters (trigrams need 3), then `instr()` decides; a shorter text is `instr()` alone
//!   over the other filters' rows (its cost grows with them: see server/README.md). The matches
//!   are read by their FTS5 rowids from FTS5's content table, which carries the filters and sort
//!   keys (migration 016), once per statement for both visibility arms, and once for both the
//!   page and the total (`TextPlan::Capped`); only the page's rows are read from
//!   `workflow_templates`. PostgreSQL first reads at most `MATCH_CAP + 1` matches once for both
//!   the page and the total (`TextPlan::Capped`); with more, a page of a common text walks the
//!   ordered index instead (`TextPlan`, chosen from the total).
//! - `tags` (latest rows): `template_tags` rows carry their template's visibility and sort keys
//!   (migration 011), so the first (rarest) tag's rows are one range of a (tag, sort keys) index;
//!   each further tag is tested in the row's copy of its template's tag set on PostgreSQL
//!   (migration 012, inside the index), by a primary-key probe on SQLite; `total` counts those
//!   ranges, except for one or two tags on PostgreSQL: the public rows are the sum of the tag's
//!   or the pair's counters (`tag_counts`, `tag_pair_counts`, migration 014), the private rows
//!   the viewer's own. `latestOnly=false`: one
//!   `id IN (SELECT template_id ...)` per tag over the templates' indexes.
//! - Offsets: `LIMIT/OFFSET` on the ordered index: the database steps over `offset` index
//!   entries (cost linear in the offset, no row is decoded); the API is offset-based, so there
//!   is no client cursor to seek from.

use std::collections::{BTreeSet, HashMap};

use workflow_templates::store::{PageQuery, PageRow, PageRows, Sort, SortKey};
use workflow_templates::Result;

use crate::db::{int, text, Conn, Dialect, Row, P, V};
use crate::rows::{decode_template, select_list, TEMPLATE_COLS};

/// A boolean column as a literal condition, so PostgreSQL and SQLite can match the partial
/// indexes' predicates (a bound parameter would hide the value from the planner).
fn is(d: Dialect, t: &str, col: &str, v: bool) -> String {
    match (d, v) {
        (Dialect::Postgres, true) => format!("{t}.{col}"),
        (Dialect::Postgres, false) => format!("NOT {t}.{col}"),
        (Dialect::Sqlite, v) => format!("{t}.{col} = {}", v as u8),
    }
}

/// `ORDER BY` of a sort over the key columns (`k_*`) of the page's select list.
fn order_by(d: Dialect, sort: Sort) -> &'static str {
    match (d, sort) {
        (Dialect::Sqlite, Sort::Popular) => "k_usage DESC, k_rating DESC, k_name_lc, k_name, k_id",
        (Dialect::Sqlite, Sort::Rating) => "k_rating DESC, k_rcount DESC, k_name_lc, k_name, k_id",
        (Dialect::Sqlite, Sort::Recent) => "k_ms DESC, k_id DESC",
        (Dialect::Sqlite, Sort::Name) => "k_name_lc, k_name, k_id",
        (Dialect::Postgres, Sort::Popular) => "k_usage DESC, k_rating DESC NULLS LAST, k_name_lc COLLATE \"C\", k_name COLLATE \"C\", k_id COLLATE \"C\"",
        (Dialect::Postgres, Sort::Rating) => "k_rating DESC NULLS LAST, k_rcount DESC, k_name_lc COLLATE \"C\", k_name COLLATE \"C\", k_id COLLATE \"C\"",
        (Dialect::Postgres, Sort::Recent) => "k_ms DESC, k_id COLLATE \"C\" DESC",
        (Dialect::Postgres, Sort::Name) => "k_name_lc COLLATE \"C\", k_name COLLATE \"C\", k_id COLLATE \"C\"",
    }
}

/// The key columns a sort reads (the others are constants, so an ordered index that holds the
/// sort's columns answers an arm by itself, without the table: PostgreSQL's index-only scan).
fn key_cols(sort: Sort) -> &'static str {
    match sort {
        Sort::Popular => "w.usage_count AS k_usage, w.rating AS k_rating, 0 AS k_rcount, w.name_lc AS k_name_lc, w.name AS k_name, 0 AS k_ms, w.id AS k_id",
        Sort::Rating => "0 AS k_usage, w.rating AS k_rating, w.rating_count AS k_rcount, w.name_lc AS k_name_lc, w.name AS k_name, 0 AS k_ms, w.id AS k_id",
        Sort::Recent => "0 AS k_usage, CAST(NULL AS DOUBLE PRECISION) AS k_rating, 0 AS k_rcount, '' AS k_name_lc, '' AS k_name, w.updated_ms AS k_ms, w.id AS k_id",
        Sort::Name => "0 AS k_usage, CAST(NULL AS DOUBLE PRECISION) AS k_rating, 0 AS k_rcount, w.name_lc AS k_name_lc, w.name AS k_name, 0 AS k_ms, w.id AS k_id",
    }
}

/// SQLite: the ordered index an arm of latest rows must read (`INDEXED BY`). SQLite's planner
/// weighs indexes by `sqlite_stat1` only, and after some ANALYZE runs (the server's `PRAGMA
/// optimize`, or another SQLite's ANALYZE) it read the (is_public, is_latest, category) index and
/// sorted all 95,000 public rows for every page (150 ms instead of 0.2 ms at 100,000 rows).
/// The public arm reads `pub_<sort>`, an owner's arm `own_<sort>`; both partial indexes' predicates
/// are implied by every latest arm's conditions, so SQLite can always use them.
fn ordered_index(d: Dialect, q: &PageQuery, keyed: bool, public_arm: bool) -> Option<String> {
    if d != Dialect::Sqlite || keyed || !q.latest_only {
        return None;
    }
    let sort = match q.sort {
        Sort::Popular => "popular",
        Sort::Rating => "rating",
        Sort::Recent => "recent",
        Sort::Name => "name",
    };
    Some(format!("idx_workflow_templates_{}_{sort}", if public_arm { "pub" } else { "own" }))
}

/// `%text%` for LIKE with `\` as the escape character.
fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for ch in q.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

/// How the rows of a `text` page (3 or more characters, no tag) are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPlan {
    /// From the matches (SQLite: FTS5; PostgreSQL: the trigram indexes), one statement for both
    /// arms: every match is read and sorted (a rare text).
    Matches,
    /// Along the sort's ordered index, testing each row, stopping at the page's end (a text
    /// in many rows: the page's end comes after a few entries per match).
    Walk,
    /// The matches read once (`WITH m AS MATERIALIZED`), giving both the page and, as a column of
    /// each row, how many were read. PostgreSQL reads at most `MATCH_CAP + 1`: when it read at
    /// most `MATCH_CAP` that is the exact `total`, and the text's trigram index was read once
    /// instead of twice (for the total, then for the page). SQLite reads every match (narrow
    /// rows, migration 016): always the exact `total`, and FTS5's matches and their rows are
    /// read once instead of twice when the page is read from them.
    Capped,
}

/// The most matches a `TextPlan::Capped` statement answers for (more: the total is counted and
/// the page planned as before). A rare text costs its trigram index read, not its rows
/// (BENCHMARKS.md "Round 5"); a common one pays one bitmap and this many rows for nothing.
pub const MATCH_CAP: usize = 4096;

/// The statements of a page query: (rows, total, parameters). `plan` matters only for a text
/// page (the total always counts from the matches). `window` (PostgreSQL): a part of the text
/// given to the trigram indexes instead of the whole text, which is then tested on the
/// candidates with `strpos` (`index_window`).
pub fn page_sql(d: Dialect, q: &PageQuery, plan: TextPlan, window: Option<&str>) -> (String, String, Vec<P>) {
    let mut p: Vec<P> = Vec::new();
    let mut bind = |v: P| {
        p.push(v);
        p.len()
    };
    // Distinct tags in the order given (`query_page` puts the rarest first on SQLite).
    let mut seen = BTreeSet::new();
    let tags: Vec<&String> = q.tags.iter().filter(|t| seen.insert(t.as_str())).collect();
    // A tag page of latest rows reads `template_tags` (migration 011): its rows carry the
    // template's visibility and sort keys, so the first tag's rows are one range of a
    // (tag, sort keys) index, and each further tag is a probe of the primary key.
    let keyed = q.latest_only && !tags.is_empty();
    let (t, id_col, from) = if keyed { ("g", "template_id", String::from("template_tags g")) } else { ("w", "id", String::from("workflow_templates w")) };
    let mut filter = String::new();
    // A text of 3 or more characters (no tag): its matches drive one statement for both arms
    // (`total`, and a `TextPlan::Matches` page); on SQLite `fts` is the FTS5 phrase parameter.
    let mut text_driven = false;
    let mut fts = None;
    if keyed {
        let n = bind(text(tags[0]));
        filter.push_str(&format!("g.tag = {{t{n}}} AND {}", is(d, t, "is_latest", true)));
        for tag in &tags[1..] {
            let n = bind(text(tag.as_str()));
            let probe = format!("EXISTS (SELECT 1 FROM template_tags h WHERE h.template_id = g.template_id AND h.tag = {{t{n}}})");
            match d {
                // The row's tag set (migration 012) answers inside the index; a set too large
                // to copy is NULL and probed.
                Dialect::Postgres => filter.push_str(&format!(" AND (g.all_tags @> ARRAY[{{t{n}}}] OR (g.all_tags IS NULL AND {probe}))")),
                Dialect::Sqlite => filter.push_str(&format!(" AND {probe}")),
            }
        }
    } else {
        filter.push_str(&is(d, t, "is_builtin", false));
        if q.latest_only {
            filter.push_str(&format!(" AND {}", is(d, t, "is_latest", true)));
        }
        for tag in &tags {
            let n = bind(text(tag.as_str()));
            filter.push_str(&format!(" AND w.id IN (SELECT g.template_id FROM template_tags g WHERE g.tag = {{t{n}}})"));
        }
    }
    // On SQLite, `+column` keeps its planner off the (category, type) index: walking the sort's
    // ordered index and filtering finds a page in a few hundred entries, where reading every row
    // of a category and sorting them cost 100 ms at 100,000 templates (PostgreSQL weighs both by
    // its statistics). A tag's rows hold category and type in every index: no hint needed.
    let plus = if d == Dialect::Sqlite && !keyed { "+" } else { "" };
    // The counters' conditions of a tag page's `total` (`tag_counts`, PostgreSQL migration 014).
    let mut tag_count = String::new();
    if let Some(c) = q.category {
        let n = bind(text(c.as_str()));
        filter.push_str(&format!(" AND {plus}{t}.category = {{e:templatecategory:{n}}}"));
        tag_count.push_str(&format!(" AND c.category = {{e:templatecategory:{n}}}"));
    }
    if let Some(w) = q.workflow_type {
        let n = bind(text(w.as_str()));
        filter.push_str(&format!(" AND {plus}{t}.workflow_type = {{e:workflowtype:{n}}}"));
        tag_count.push_str(&format!(" AND c.workflow_type = {{e:workflowtype:{n}}}"));
    }
    if let Some(x) = &q.text {
        text_driven = !keyed && x.chars().count() >= 3;
        let mut cond = String::new();
        match d {
            Dialect::Postgres => {
                let n = bind(text(like_pattern(window.unwrap_or(x.as_str()))));
                cond.push_str(&format!("(w.name_lc LIKE {{t{n}}} ESCAPE '\\' OR w.description_lc LIKE {{t{n}}} ESCAPE '\\')"));
                if window.is_some() {
                    // The window is a part of the text, so every match holds it: the whole text
                    // is tested on its candidates (not indexable, so not given to the index).
                    let m = bind(text(x.as_str()));
                    cond = format!("({cond} AND (strpos(w.name_lc, {{t{m}}}) > 0 OR strpos(w.description_lc, {{t{m}}}) > 0))");
                }
            }
            Dialect::Sqlite => {
                if x.chars().count() >= 3 {
                    let phrase = format!("\"{}\"", x.replace('"', "\"\""));
                    let n = bind(text(phrase));
                    match keyed {
                        // A tag's rows are few: each is tested against the matches.
                        true => filter.push_str(&format!(
                            " AND g.template_id IN (SELECT d.template_id FROM template_search s JOIN template_search_docs d ON d.doc = s.rowid WHERE template_search MATCH {{t{n}}})"
                        )),
                        false => fts = Some(n),
                    }
                }
                let n = bind(text(x));
                cond.push_str(&format!("(instr(w.name_lc, {{t{n}}}) > 0 OR instr(w.description_lc, {{t{n}}}) > 0)"));
            }
        }
        match (keyed, d) {
            // SQLite: the texts of the narrow rows (migration 016), found by their unique id.
            (true, Dialect::Sqlite) => filter.push_str(&format!(" AND EXISTS (SELECT 1 FROM template_search_docs w WHERE w.template_id = g.template_id AND {cond})")),
            (true, Dialect::Postgres) => filter.push_str(&format!(" AND EXISTS (SELECT 1 FROM workflow_templates w WHERE w.id = g.template_id AND {cond})")),
            (false, _) => filter.push_str(&format!(" AND {cond}")),
        }
    }
    let mut viewer_at = 0;
    let arms: Vec<String> = match &q.owner {
        // The owner's public rows, and their private ones when the viewer is the owner: each
        // arm is a prefix of the (owner_id, is_public, sort keys) indexes.
        Some(o) => {
            let n = bind(text(o));
            let mut arms = vec![format!("{t}.owner_id = {{t{n}}} AND {}", is(d, t, "is_public", true))];
            if *o == q.viewer {
                arms.push(format!("{t}.owner_id = {{t{n}}} AND {}", is(d, t, "is_public", false)));
            }
            arms
        }
        None => {
            let n = bind(text(&q.viewer));
            viewer_at = n;
            vec![is(d, t, "is_public", true), format!("{} AND {t}.owner_id = {{t{n}}}", is(d, t, "is_public", false))]
        }
    };
    let counted = counts_answer(q).then(|| {
        let mut sql = format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM discover_counts WHERE owner_key IN ('', {{t{viewer_at}}})");
        if q.category.is_some() {
            sql.push_str(" AND category = {t1}");
        }
        if q.workflow_type.is_some() {
            sql.push_str(&format!(" AND workflow_type = {{t{}}}", if q.category.is_some() { 2 } else { 1 }));
        }
        sql
    });
    // From the matches, once for both arms (each arm reading the matches again cost as much
    // again: ~25 ms for a word in 10% of 100,000 rows), on narrow rows: `(from, where, id column)`.
    // PostgreSQL: one bitmap of the trigram indexes instead of one per arm (the private arm
    // otherwise read all of the viewer's rows to test them), over `template_text` (migration
    // 015: the same columns under the same names).
    // SQLite: each FTS5 match is read by its rowid from FTS5's content table, which carries the
    // filters and sort keys (migration 016; `w.template_id` is the template's id), never from
    // `workflow_templates`. `CROSS JOIN` fixes the order: the matches drive. (Left to itself,
    // SQLite without statistics walked the templates and probed FTS5 with `rowid = ? AND MATCH`
    // for each row, each probe stepping through the text's match list again: work of rows x
    // matches, 4,097 matches and 160 pages took 256 s in a debug build.)
    let matched = text_driven.then(|| {
        let vis = arms.iter().map(|a| format!("({a})")).collect::<Vec<_>>().join(" OR ");
        match fts {
            Some(n) => (
                "template_search s CROSS JOIN template_search_docs w ON w.doc = s.rowid",
                // The filter's tag test of every version names the templates' id column.
                // Every document has its template (016's row triggers, and 017 refuses a
                // document written without one), so a match is counted without reading its
                // template.
                format!("template_search MATCH {{t{n}}} AND {} AND ({vis})", filter.replace("w.id IN (", "w.template_id IN (")),
                "template_id",
            ),
            None => ("template_text w", format!("{filter} AND ({vis})"), "id"),
        }
    });
    // One or two tags, no owner or text (PostgreSQL): the public rows from the tags' counters, the
    // viewer's private rows counted from the owner index (few), instead of counting the tag's
    // whole range (20,000 index entries for a tag in 2% of 1,000,000 templates).
    // Two tags: the public rows from the pair's counters (the pair in bytewise order), plus the
    // public rows whose tag set was too large to copy (not in the pair counters; a partial index
    // of few entries), plus the viewer's private rows.
    // (No owner filter: `arms` is [public, the viewer's private].)
    let counters = d == Dialect::Postgres && keyed && q.owner.is_none() && q.text.is_none() && arms.len() == 2;
    let private = arms.get(1).map(|a| format!("(SELECT COUNT(*) FROM {from} WHERE {filter} AND {a})")).unwrap_or_default();
    let tag_counted = match tags.len() {
        1 if counters => Some(format!("SELECT (SELECT CAST(COALESCE(SUM(c.n), 0) AS BIGINT) FROM tag_counts c WHERE c.tag = {{t1}}{tag_count}) + {private}")),
        2 if counters => {
            let (lo, hi) = if tags[0].as_str() < tags[1].as_str() { (1, 2) } else { (2, 1) };
            let uncopied = format!(
                "(SELECT COUNT(*) FROM template_tags g WHERE g.tag = {{t1}} AND g.all_tags IS NULL AND g.is_latest AND g.is_public{} \
                 AND EXISTS (SELECT 1 FROM template_tags h WHERE h.template_id = g.template_id AND h.tag = {{t2}}))",
                tag_count.replace(" c.", " g.")
            );
            Some(format!(
                "SELECT (SELECT CAST(COALESCE(SUM(c.n), 0) AS BIGINT) FROM tag_pair_counts c WHERE c.tag = {{t{lo}}} AND c.other = {{t{hi}}}{tag_count}) + {uncopied} + {private}"
            ))
        }
        _ => None,
    };
    let total = match (counted, tag_counted, &matched) {
        (Some(sql), _, _) | (None, Some(sql), _) => sql,
        (None, None, Some((from, wh, _))) => format!("SELECT COUNT(*) FROM {from} WHERE {wh}"),
        (None, None, None) => {
            // SQLite without STAT4 (.cargo/config.toml) weighs a tag's public count by
            // sqlite_stat1 alone and may count it through the owner index (every row of the
            // tag, private ones included): the public arm names its partial index.
            let counted_from = |i: usize| match d == Dialect::Sqlite && keyed && q.owner.is_none() && i == 0 {
                true => format!("{from} INDEXED BY idx_template_tags_pub_recent"),
                false => from.clone(),
            };
            format!("SELECT {}", arms.iter().enumerate().map(|(i, a)| format!("(SELECT COUNT(*) FROM {} WHERE {filter} AND {a})", counted_from(i))).collect::<Vec<_>>().join(" + "))
        }
    };
    let order = order_by(d, q.sort);
    // Inside an arm the order names the table's columns (PostgreSQL reads `alias COLLATE` as a
    // column of the table, not the output alias).
    let inner_of = |id_col: &str| {
        [("k_name_lc", "name_lc"), ("k_name", "name"), ("k_usage", "usage_count"), ("k_rating", "rating"), ("k_rcount", "rating_count"), ("k_ms", "updated_ms"), ("k_id", id_col)]
            .iter()
            .fold(order.to_string(), |o, (k, col)| o.replace(k, &format!("{t}.{col}")))
    };
    let inner = inner_of(id_col);
    let select = select_list(TEMPLATE_COLS).replace("rev, ", "w.rev, ");
    // Each arm is ordered and limited on its own (its ordered index, read no deeper than the
    // page's end), then the two are merged: a planner left with the whole UNION ALL may sort
    // every row instead (PostgreSQL did at 100,000 rows).
    let end = bind(int(i64::try_from(q.offset.saturating_add(q.limit as u64)).unwrap_or(i64::MAX)));
    let keys_of = |id_col: &str| key_cols(q.sort).replace("w.id", &format!("{t}.{id_col}")).replace("w.", &format!("{t}."));
    let keys = keys_of(id_col);
    let mut with = String::new();
    let mut counted_col = "";
    let selects: Vec<String> = match (&matched, plan) {
        (Some((from, wh, id)), TextPlan::Matches) => {
            vec![format!("SELECT * FROM (SELECT {} FROM {from} WHERE {wh} ORDER BY {} LIMIT {{i{end}}}) a", keys_of(id), inner_of(id))]
        }
        (Some((from, wh, id)), TextPlan::Capped) => {
            let cap = if d == Dialect::Postgres { format!(" LIMIT {}", MATCH_CAP + 1) } else { String::new() };
            with = format!("WITH m AS MATERIALIZED (SELECT {} FROM {from} WHERE {wh}{cap}) ", keys_of(id));
            counted_col = ", (SELECT COUNT(*) FROM m)";
            vec![format!("SELECT * FROM (SELECT * FROM m ORDER BY {order} LIMIT {{i{end}}}) a")]
        }
        // A walk tests `instr()` only, on the arms' ordered indexes.
        _ => arms
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let from = match ordered_index(d, q, keyed, i == 0 && q.owner.is_none()) {
                    Some(ix) => format!("{from} INDEXED BY {ix}"),
                    None => from.to_string(),
                };
                format!("SELECT * FROM (SELECT {keys} FROM {from} WHERE {filter} AND {a} ORDER BY {inner} LIMIT {{i{end}}}) a")
            })
            .collect(),
    };
    let lim = bind(int(q.limit.min(1 << 20) as i64));
    let off = bind(int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    // The page's keys first (stepping over `offset` entries reads keys only), then its rows.
    let page = format!("SELECT * FROM ({}) u ORDER BY {order} LIMIT {{i{lim}}} OFFSET {{i{off}}}", selects.join(" UNION ALL "));
    let rows = match (d, plan) {
        // SQLite reads every match: the count comes in a row of its own when the page is empty
        // (past the end), whose key and template columns are NULL (`page_rows` drops it). A
        // page row whose template is missing is left out, as the inner join does.
        (Dialect::Sqlite, TextPlan::Capped) if matched.is_some() => format!(
            "{with}SELECT {select}, c.n, k.* FROM (SELECT COUNT(*) AS n FROM m) c LEFT JOIN ({page}) k ON 1 LEFT JOIN workflow_templates w ON w.id = k.k_id \
             WHERE k.k_id IS NULL OR w.id IS NOT NULL ORDER BY {order}"
        ),
        _ => format!("{with}SELECT {select}{counted_col}, k.* FROM ({page}) k JOIN workflow_templates w ON w.id = k.k_id ORDER BY {order}"),
    };
    (rows, total, p)
}

/// Whether `discover_counts` answers the total: no text, tag or owner filter, latest only (the
/// counters hold latest rows by (public, or the private owner), category and type).
fn counts_answer(q: &PageQuery) -> bool {
    q.text.is_none() && q.tags.is_empty() && q.owner.is_none() && q.latest_only
}

/// The sort key a row was ordered by, read from its key columns (the last seven).
fn key_of(r: &Row) -> SortKey {
    let n = r.len();
    let k = &r[n - 7..];
    let txt = |v: &V| v.text().unwrap_or_default().to_string();
    SortKey {
        usage_count: k[0].int().unwrap_or(i64::MIN),
        rating: k[1].real(),
        rating_count: k[2].int().unwrap_or(i64::MIN),
        name_lc: txt(&k[3]),
        name: txt(&k[4]),
        updated_ms: k[5].int().unwrap_or(i64::MIN),
        id: txt(&k[6]),
    }
}

/// Whether walking the sort's ordered index reaches a text page sooner than reading
/// every match: the walk visits about `(offset + limit) * visible / total` rows (if the matches
/// are spread evenly), reading the matches costs `total`. `visible` is what the viewer may see
/// of the category and type asked (from `discover_counts`; an upper bound with an owner filter).
fn text_plan(c: &mut Conn, q: &PageQuery, total: usize) -> Result<TextPlan> {
    if !text_driven(q) || !q.latest_only || total == 0 {
        return Ok(TextPlan::Matches);
    }
    let mut sql = String::from("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM discover_counts WHERE owner_key IN ('', {t1})");
    let mut p = vec![text(&q.viewer)];
    if let Some(cat) = q.category {
        p.push(text(cat.as_str()));
        sql.push_str(&format!(" AND category = {{t{}}}", p.len()));
    }
    if let Some(w) = q.workflow_type {
        p.push(text(w.as_str()));
        sql.push_str(&format!(" AND workflow_type = {{t{}}}", p.len()));
    }
    let visible = c.query(&sql, &p)?.first().and_then(|r| r[0].int()).unwrap_or(0).max(0) as u128;
    let end = q.offset as u128 + q.limit as u128;
    Ok(if end * visible < (total as u128) * (total as u128) { TextPlan::Walk } else { TextPlan::Matches })
}

/// The tags of a page of latest rows with several tags, the rarest first: the first tag's index
/// range is read, the others tested in it. PostgreSQL: by the frequencies its statistics keep
/// for `template_tags.tag` (a tag missing from them is rarer than any listed; without statistics
/// the order given stays). SQLite's statistics do not tell one tag from another: each tag's
/// public rows are counted up to 4,096, so choosing costs at most that many index entries per tag.
fn rarest_first(c: &mut Conn, q: &PageQuery) -> Result<Option<PageQuery>> {
    if !q.latest_only || q.tags.len() < 2 {
        return Ok(None);
    }
    if c.dialect() == Dialect::Postgres {
        let sql = "SELECT m.v, m.f FROM pg_stats s CROSS JOIN LATERAL unnest(CAST(CAST(s.most_common_vals AS text) AS text[]), s.most_common_freqs) AS m(v, f) \
                   WHERE s.schemaname = current_schema() AND s.tablename = 'template_tags' AND s.attname = 'tag'";
        let freq: HashMap<String, f64> = c.query(sql, &[])?.into_iter().filter_map(|r| Some((r[0].text()?.to_string(), r[1].real()?))).collect();
        let mut tags = q.tags.clone();
        tags.sort_by(|a, b| freq.get(a).unwrap_or(&0.0).total_cmp(freq.get(b).unwrap_or(&0.0)));
        return Ok(Some(PageQuery { tags, ..q.clone() }));
    }
    let mut counted = Vec::new();
    for tag in q.tags.iter().collect::<BTreeSet<_>>() {
        let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM template_tags g WHERE g.tag = {t1} AND g.is_public = 1 AND g.is_latest = 1 LIMIT 4096)";
        let n = c.query(sql, &[text(tag)])?.first().and_then(|r| r[0].int()).unwrap_or(0);
        counted.push((n, tag.clone()));
    }
    counted.sort();
    Ok(Some(PageQuery { tags: counted.into_iter().map(|(_, t)| t).collect(), ..q.clone() }))
}

/// A window given to the trigram indexes alone covers at most this share of the rows (by the
/// statistics of migration 018): at 1,000,000 templates 10,000 candidates, each tested on its
/// narrow row (~0.75 us a row when cached, BENCHMARKS.md round 5).
const WINDOW_SHARE: f64 = 0.01;

/// Per statistics (one per text column): its least listed frequency and its listed trigrams'.
type TrigramFreqs = std::sync::Arc<HashMap<String, (f64, HashMap<String, f64>)>>;

/// PostgreSQL: the rarest 3-character window of the text `x` (ASCII letters and digits only, so
/// that pg_trgm reads it as one trigram inside a word in every locale), when the trigram
/// statistics of migration 018 say it is in at most `WINDOW_SHARE` of the rows; `None` (give the
/// whole text) otherwise, without statistics (none gathered yet, or PostgreSQL 13), on SQLite,
/// and for a text that is one window. A trigram missing from a column's statistics is counted
/// at that column's least listed frequency (an upper bound). Each match holds every window of
/// its text, so which window is given changes the work, never the rows.
pub fn index_window(c: &mut Conn, x: &str) -> Result<Option<String>> {
    const MAX_WINDOWS: usize = 64;
    if c.dialect() != Dialect::Postgres {
        return Ok(None);
    }
    let chars: Vec<char> = x.chars().collect();
    let mut windows: Vec<String> = Vec::new();
    for w in chars.windows(3).filter(|w| w.iter().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())) {
        let w: String = w.iter().collect();
        if !windows.contains(&w) && windows.len() < MAX_WINDOWS {
            windows.push(w);
        }
    }
    if windows.is_empty() || chars.len() == 3 {
        return Ok(None);
    }
    // Per column's statistics: its least listed frequency and its listed trigrams, read at most
    // once a minute per connection (ANALYZE changes them; a request need not wait for them).
    let stats: TrigramFreqs = c.memo("text_trigram_freqs", std::time::Duration::from_secs(60), |c| {
        let mut stats: HashMap<String, (f64, HashMap<String, f64>)> = HashMap::new();
        for r in c.query("SELECT stat, trigram, freq, min_freq FROM wt_text_trigram_freqs", &[])? {
            let (Some(stat), Some(trigram), Some(freq), Some(least)) = (r[0].text(), r[1].text(), r[2].real(), r[3].real()) else { continue };
            stats.entry(stat.to_string()).or_insert((least, HashMap::new())).1.insert(trigram.to_string(), freq);
        }
        Ok(std::sync::Arc::new(stats))
    })?;
    if stats.is_empty() {
        return Ok(None);
    }
    let share = |w: &String| stats.values().map(|(least, listed)| listed.get(w).copied().unwrap_or(*least)).sum::<f64>();
    Ok(windows.iter().map(|w| (share(w), w)).min_by(|a, b| a.0.total_cmp(&b.0)).filter(|(s, _)| *s <= WINDOW_SHARE).map(|(_, w)| w.clone()))
}

/// Whether a query's matches of its `text` drive its statements (3 or more characters, and not
/// a tag page of latest rows, whose tag range drives them).
fn text_driven(q: &PageQuery) -> bool {
    q.text.as_ref().is_some_and(|t| t.chars().count() >= 3) && !(q.latest_only && !q.tags.is_empty())
}

/// The page's rows from rows of the page statement: the revision and the template's columns,
/// then anything (the `Capped` count), then the seven key columns. A row without an id (the
/// count of an empty page, SQLite) is no row of the page.
fn page_rows(rows: Vec<Row>) -> Result<Vec<PageRow>> {
    let mut out = Vec::with_capacity(rows.len());
    for mut r in rows.into_iter().filter(|r| r.last().and_then(|v| v.text()).is_some()) {
        let key = key_of(&r);
        r.truncate(TEMPLATE_COLS.len() + 1);
        out.push(PageRow { stored: decode_template(&r)?, key });
    }
    Ok(out)
}

pub(crate) fn query_page(c: &mut Conn, q: &PageQuery) -> Result<PageRows> {
    // A text or tag holding NUL matches nothing: no stored text or tag holds one (a create or
    // edit with one is a 422 CONTROL_CHAR), so the page is empty with total 0, as the core's
    // scan answers. Neither database may see it: FTS5 reads a MATCH phrase only up to its NUL
    // ("unterminated string"), PostgreSQL refuses it in a bound text (22021).
    if q.text.as_deref().is_some_and(|t| t.contains('\0')) || q.tags.iter().any(|t| t.contains('\0')) {
        return Ok(PageRows { rows: Vec::new(), total: 0 });
    }
    let reordered = rarest_first(c, q)?;
    let q = reordered.as_ref().unwrap_or(q);
    let window = match &q.text {
        Some(x) if text_driven(q) => index_window(c, x)?,
        _ => None,
    };
    let window = window.as_deref();
    // A text's matches first, read once for the page and the total (PostgreSQL: up to
    // MATCH_CAP + 1 of them; when there are no more, they are the total and the page. SQLite:
    // all of them, narrow rows). An empty page, past the end, says nothing: counted below.
    if text_driven(q) {
        let (rows_sql, _, p) = page_sql(c.dialect(), q, TextPlan::Capped, window);
        let got = c.query(&rows_sql, &p)?;
        let read = got.first().and_then(|r| r[TEMPLATE_COLS.len() + 1].int());
        let cap = if c.dialect() == Dialect::Postgres { MATCH_CAP as i64 } else { i64::MAX };
        if let Some(n) = read.filter(|&n| (0..=cap).contains(&n)) {
            return Ok(PageRows { rows: page_rows(got)?, total: n as usize });
        }
    }
    let (_, total_sql, p) = page_sql(c.dialect(), q, TextPlan::Matches, window);
    // The total's statement binds the same parameters but not the page's end, LIMIT and
    // OFFSET (the last three).
    let total = c.query(&total_sql, &p[..p.len() - 3])?.first().and_then(|r| r[0].int()).unwrap_or(0).max(0) as usize;
    let mut rows = Vec::new();
    if (q.offset as u128) < total as u128 {
        let (rows_sql, _, p) = page_sql(c.dialect(), q, text_plan(c, q, total)?, window);
        rows = page_rows(c.query(&rows_sql, &p)?)?;
    }
    Ok(PageRows { rows, total })
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(like_pattern("é🚀"), "%é🚀%");
    }
}
