//! The in-memory adapter: the reference implementation of the storage contract. Templates are
//! indexed by owner, base template and (public, latest) so that discovery and `derived` read
//! index entries rather than scanning every record.
//!
//! Every table is the same map type, `BTreeMap<String, Row>` (a row of any table is one enum),
//! so the map's code (insert, remove, rebalancing, drop) is in the wasm once, not once per
//! record type (BENCHMARKS.md "Size: what each change bought"). Rating rows are keyed by
//! [`rating_key`].

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::keyed::StrMap;

use serde::{Deserialize, Serialize};

use super::{check_expect, name_key, BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, TemplateLabel, UsageTotals, Write};
use crate::error::{Error, Result};
use crate::model::{TemplateSpec, WorkflowTemplate};

/// A row of any table.
#[derive(Debug, Clone)]
enum Row {
    Template(Stored<WorkflowTemplate>),
    Spec(Stored<TemplateSpec>),
    Rating(Stored<Rating>),
    Builtin(Stored<BuiltinStats>),
    Totals(Stored<UsageTotals>),
    Label(Stored<TemplateLabel>),
}

impl Row {
    fn rev(&self) -> u64 {
        match self {
            Row::Template(s) => s.rev,
            Row::Spec(s) => s.rev,
            Row::Rating(s) => s.rev,
            Row::Builtin(s) => s.rev,
            Row::Totals(s) => s.rev,
            Row::Label(s) => s.rev,
        }
    }

    fn set_rev(&mut self, rev: u64) {
        match self {
            Row::Template(s) => s.rev = rev,
            Row::Spec(s) => s.rev = rev,
            Row::Rating(s) => s.rev = rev,
            Row::Builtin(s) => s.rev = rev,
            Row::Totals(s) => s.rev = rev,
            Row::Label(s) => s.rev = rev,
        }
    }
}

/// A record type and its `Row` variant.
trait Kind: Clone + 'static {
    const TABLE: usize;
    fn of(r: &Row) -> Option<&Stored<Self>>;
}

macro_rules! kind {
    ($t:ty, $variant:ident, $table:ident) => {
        impl Kind for $t {
            const TABLE: usize = $table;
            fn of(r: &Row) -> Option<&Stored<Self>> {
                match r {
                    Row::$variant(s) => Some(s),
                    _ => None,
                }
            }
        }
    };
}

const TEMPLATES: usize = 0;
const SPECS: usize = 1;
const RATINGS: usize = 2;
const BUILTIN_STATS: usize = 3;
const USAGE_TOTALS: usize = 4;
const LABELS: usize = 5;

kind!(WorkflowTemplate, Template, TEMPLATES);
kind!(TemplateSpec, Spec, SPECS);
kind!(Rating, Rating, RATINGS);
kind!(BuiltinStats, Builtin, BUILTIN_STATS);
kind!(UsageTotals, Totals, USAGE_TOTALS);
kind!(TemplateLabel, Label, LABELS);

type Table = BTreeMap<String, Row>;

/// The key of a rating row: the template id with each NUL written NUL U+0001, then NUL NUL,
/// then the user id. The escaped id holds no NUL NUL, so the first one splits the key and two
/// pairs never share a key, whatever the ids hold; NUL sorts first, so keys of NUL-free
/// template ids sort as (template id, user id) pairs do (the order `find_ratings` answers in).
fn rating_key(template_id: &str, user_id: &str) -> String {
    let mut k = String::with_capacity(template_id.len() + user_id.len() + 2);
    for c in template_id.chars() {
        k.push(c);
        if c == '\0' {
            k.push('\u{1}');
        }
    }
    k.push_str("\0\0");
    k.push_str(user_id);
    k
}

/// How to undo one write: the table, the key and what was there before.
struct Undo(usize, String, Option<Row>);

#[derive(Debug, Default)]
struct State {
    tables: [Table; 6],
    by_owner: StrMap<BTreeSet<String>>,
    by_base: StrMap<BTreeSet<String>>,
    public_latest: BTreeSet<String>,
}

impl State {
    fn get<T: Kind>(&self, key: &str) -> Option<&Stored<T>> {
        self.tables[T::TABLE].get(key).and_then(T::of)
    }

    fn all<T: Kind>(&self) -> impl Iterator<Item = &Stored<T>> {
        self.tables[T::TABLE].values().filter_map(T::of)
    }

    fn unindex(&mut self, t: &WorkflowTemplate) {
        if let Some(s) = self.by_owner.get_mut(&t.owner_id) {
            s.remove(&t.id);
        }
        if let Some(b) = &t.base_template_id {
            if let Some(s) = self.by_base.get_mut(b) {
                s.remove(&t.id);
            }
        }
        self.public_latest.remove(&t.id);
    }

    fn index(&mut self, t: &WorkflowTemplate) {
        self.by_owner.entry_or_default(&t.owner_id).insert(t.id.clone());
        if let Some(b) = &t.base_template_id {
            self.by_base.entry_or_default(b).insert(t.id.clone());
        }
        if t.is_public && t.is_latest {
            self.public_latest.insert(t.id.clone());
        }
    }

    /// Puts (or with `None` removes) the row under `key` in `table`, keeping the template
    /// indexes; returns what was there.
    fn put(&mut self, table: usize, key: String, row: Option<Row>) -> Option<Row> {
        let old = self.tables[table].remove(&key);
        if let Some(Row::Template(o)) = &old {
            self.unindex(&o.record);
        }
        if let Some(r) = row {
            if let Row::Template(t) = &r {
                self.index(&t.record);
            }
            self.tables[table].insert(key, r);
        }
        old
    }

    /// Applies one write and returns how to undo it.
    fn apply(&mut self, w: Write) -> Result<Undo> {
        let put = |record: Row| Some(record);
        // (table, key, the expectation, the id a conflict names, the new row)
        let (table, key, expect, id, row) = match w {
            Write::PutTemplate { record, expect } => (TEMPLATES, record.id.clone(), expect, None, put(Row::Template(Stored { rev: 0, record }))),
            Write::DeleteTemplate { id, expect } => (TEMPLATES, id, expect, None, None),
            Write::PutSpec { record, expect } => (SPECS, record.id.clone(), expect, None, put(Row::Spec(Stored { rev: 0, record }))),
            Write::DeleteSpec { id, expect } => (SPECS, id, expect, None, None),
            Write::PutRating { record, expect } => {
                let key = rating_key(&record.template_id, &record.user_id);
                (RATINGS, key, expect, Some(record.template_id.clone()), put(Row::Rating(Stored { rev: 0, record })))
            }
            Write::DeleteRating { template_id, user_id } => (RATINGS, rating_key(&template_id, &user_id), Expect::Any, None, None),
            Write::PutBuiltinStats { record, expect } => (BUILTIN_STATS, record.id.clone(), expect, None, put(Row::Builtin(Stored { rev: 0, record }))),
            Write::PutUsageTotals { record } => (USAGE_TOTALS, record.id.clone(), Expect::Any, None, put(Row::Totals(Stored { rev: 0, record }))),
            Write::DeleteUsageTotals { id } => (USAGE_TOTALS, id, Expect::Any, None, None),
            Write::PutLabel { record, expect } => (LABELS, record.key(), expect, None, put(Row::Label(Stored { rev: 0, record }))),
            Write::DeleteLabel { key, expect } => (LABELS, key, expect, None, None),
        };
        let current = self.tables[table].get(&key).map(Row::rev);
        let rev = match (&row, expect, current) {
            // A delete needs no next revision (a row at u64::MAX can still be deleted).
            (None, Expect::Any, _) | (None, Expect::Absent, None) => 0,
            (None, Expect::Rev(want), Some(rev)) if want == rev => 0,
            _ => check_expect(expect, current, id.as_deref().unwrap_or(&key))?,
        };
        let row = row.map(|mut r| {
            r.set_rev(rev);
            r
        });
        let old = self.put(table, key.clone(), row);
        Ok(Undo(table, key, old))
    }

    fn undo(&mut self, Undo(table, key, old): Undo) {
        self.put(table, key, old);
    }

    /// At most one latest template per (owner, name key), checked over the owners a batch
    /// touched.
    fn check_unique(&self, owners: &BTreeSet<String>) -> Result<()> {
        for owner in owners {
            let mut seen = BTreeSet::new();
            for id in self.by_owner.get(owner).into_iter().flatten() {
                if let Some(t) = self.get::<WorkflowTemplate>(id) {
                    if t.record.is_latest && !seen.insert(name_key(&t.record.name)) {
                        return Err(Error::NameTaken { name: t.record.name.clone() });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Thread-unsafe by design (the browser is single-threaded); a server wraps its own store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RefCell<State>,
}

/// Every record of a store with its revision: what the localStorage adapter persists.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub templates: Vec<Stored<WorkflowTemplate>>,
    pub specs: Vec<Stored<TemplateSpec>>,
    pub ratings: Vec<Stored<Rating>>,
    pub builtin_stats: Vec<Stored<BuiltinStats>>,
    /// Absent in what an older version persisted.
    #[serde(default)]
    pub usage_totals: Vec<Stored<UsageTotals>>,
    /// Absent in what a version before labels persisted.
    #[serde(default)]
    pub template_labels: Vec<Stored<TemplateLabel>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn snapshot(&self) -> Snapshot {
        let st = self.state.borrow();
        Snapshot {
            templates: st.all().cloned().collect(),
            specs: st.all().cloned().collect(),
            ratings: st.all().cloned().collect(),
            builtin_stats: st.all().cloned().collect(),
            usage_totals: st.all().cloned().collect(),
            template_labels: st.all().cloned().collect(),
        }
    }

    /// A store holding exactly `snap` (revisions kept); two rows under one key (a tampered
    /// snapshot) are INTEGRITY, never one silently dropped.
    pub fn from_snapshot(snap: Snapshot) -> Result<Self> {
        let mut st = State::default();
        let mut put = |table: usize, key: String, row: Row| match st.put(table, key, Some(row)) {
            Some(_) => Err(Error::corrupt("the stored catalog holds two rows under one key")),
            None => Ok(()),
        };
        for t in snap.templates {
            put(TEMPLATES, t.record.id.clone(), Row::Template(t))?;
        }
        for s in snap.specs {
            put(SPECS, s.record.id.clone(), Row::Spec(s))?;
        }
        for r in snap.ratings {
            put(RATINGS, rating_key(&r.record.template_id, &r.record.user_id), Row::Rating(r))?;
        }
        for b in snap.builtin_stats {
            put(BUILTIN_STATS, b.record.id.clone(), Row::Builtin(b))?;
        }
        for t in snap.usage_totals {
            put(USAGE_TOTALS, t.record.id.clone(), Row::Totals(t))?;
        }
        for l in snap.template_labels {
            put(LABELS, l.record.key(), Row::Label(l))?;
        }
        Ok(MemoryStore { state: RefCell::new(st) })
    }

    fn candidates(&self, st: &State, f: &TemplateFilter) -> Vec<Stored<WorkflowTemplate>> {
        let pick = |ids: Option<&BTreeSet<String>>| -> Vec<Stored<WorkflowTemplate>> {
            ids.into_iter()
                .flatten()
                .filter_map(|id| st.get::<WorkflowTemplate>(id))
                .filter(|s| f.matches(&s.record))
                .cloned()
                .collect()
        };
        if let Some(owner) = &f.owner_id {
            pick(st.by_owner.get(owner))
        } else if let Some(base) = &f.base_template_id {
            pick(st.by_base.get(base))
        } else if f.is_public == Some(true) && f.is_latest == Some(true) {
            pick(Some(&st.public_latest))
        } else {
            st.all::<WorkflowTemplate>().filter(|s| f.matches(&s.record)).cloned().collect()
        }
    }
}

impl Store for MemoryStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        Ok(self.state.borrow().get(id).cloned())
    }

    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let st = self.state.borrow();
        Ok(self.candidates(&st, filter))
    }

    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        Ok(self.state.borrow().get(id).cloned())
    }

    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        Ok(self.state.borrow().all::<TemplateSpec>().filter(|s| filter.matches(&s.record)).cloned().collect())
    }

    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        Ok(self.state.borrow().get(&rating_key(template_id, user_id)).cloned())
    }

    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        Ok(self
            .state
            .borrow()
            .all::<Rating>()
            .filter(|r| user_id.is_none_or(|u| u == r.record.user_id) && template_id.is_none_or(|t| t == r.record.template_id))
            .cloned()
            .collect())
    }

    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        Ok(self.state.borrow().get(id).cloned())
    }

    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        Ok(self.state.borrow().all().cloned().collect())
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>> {
        Ok(self.state.borrow().get(id).cloned())
    }

    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<TemplateLabel>>> {
        let st = self.state.borrow();
        // Keys start with `{owner}:`, so one owner's rows are one range of the ordered map.
        let prefix = format!("{owner_id}:");
        Ok(st.tables[LABELS]
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, r)| TemplateLabel::of(r))
            .filter(|l| l.record.owner_id == owner_id && name_key.is_none_or(|n| n == l.record.name_key))
            .cloned()
            .collect())
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<()> {
        // Apply in place with an undo log; on any failed expectation or a broken uniqueness
        // rule, roll back everything: all or nothing.
        let mut st = self.state.borrow_mut();
        let mut owners = BTreeSet::new();
        let mut undo = Vec::with_capacity(writes.len());
        let mut outcome = Ok(());
        for w in writes {
            if let Write::PutTemplate { record, .. } = &w {
                owners.insert(record.owner_id.clone());
            }
            match st.apply(w) {
                Ok(u) => undo.push(u),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if outcome.is_ok() {
            outcome = st.check_unique(&owners);
        }
        if outcome.is_err() {
            while let Some(u) = undo.pop() {
                st.undo(u);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::{rating_key, MemoryStore, Snapshot};
    use crate::store::{Expect, Rating, Store, Stored, Write};

    fn now<T>(f: impl std::future::Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the memory store never waits"),
        }
    }

    /// A stored revision at u64::MAX (a tampered snapshot): writing over it is INTEGRITY, not an
    /// overflow; deleting it still works.
    #[test]
    fn a_revision_at_its_maximum_is_integrity_not_an_overflow() {
        let rating = Rating { template_id: "t".into(), user_id: "u".into(), stars: 3.0, updated_at: "x".into() };
        let m = MemoryStore::from_snapshot(Snapshot { ratings: vec![Stored { rev: u64::MAX, record: rating.clone() }], ..Default::default() }).unwrap();
        for expect in [Expect::Any, Expect::Rev(u64::MAX)] {
            let put = now(m.commit(vec![Write::PutRating { record: rating.clone(), expect }]));
            assert_eq!(put.map_err(|e| e.code()), Err("INTEGRITY"));
        }
        now(m.commit(vec![Write::DeleteRating { template_id: "t".into(), user_id: "u".into() }])).unwrap();
        assert_eq!(now(m.get_rating("t", "u")).unwrap(), None);
    }

    /// Rating keys are unique per (template id, user id) whatever the ids hold (NULs
    /// included), and keys of NUL-free template ids sort as the pairs do (as IndexedDB's
    /// compound key does).
    #[test]
    fn rating_keys_are_unique_and_ordered_as_pairs() {
        let ids = ["", "a", "ab", "a!", " ", "a\0", "a\0b", "\0", "\0\0", "a\0\u{1}", "b", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "\u{1}"];
        let users = ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "0", "", "\0b", "\u{1}", "\0", "b\0"];
        let pairs: Vec<(&str, &str)> = ids.iter().flat_map(|t| users.iter().map(move |u| (*t, *u))).collect();
        for &(a, b) in &pairs {
            for &(c, d) in &pairs {
                let (k1, k2) = (rating_key(a, b), rating_key(c, d));
                assert_eq!(k1 == k2, (a, b) == (c, d), "{a:?} {b:?} / {c:?} {d:?}");
                if !a.contains('\0') && !c.contains('\0') {
                    assert_eq!(k1.cmp(&k2), (a, b).cmp(&(c, d)), "{a:?} {b:?} / {c:?} {d:?}");
                }
            }
        }
    }

    /// A snapshot with two rows under one key is refused, not read with one of them dropped.
    #[test]
    fn a_snapshot_with_two_rows_under_one_key_is_integrity() {
        let rating = |t: &str, u: &str| Stored { rev: 1, record: Rating { template_id: t.into(), user_id: u.into(), stars: 3.0, updated_at: "x".into() } };
        let two = Snapshot { ratings: vec![rating("a\0", "b"), rating("a", "\0b")], ..Default::default() };
        assert!(MemoryStore::from_snapshot(two).is_ok(), "distinct pairs with NULs are two rows");
        let same = Snapshot { ratings: vec![rating("a", "b"), rating("a", "b")], ..Default::default() };
        assert_eq!(MemoryStore::from_snapshot(same).map(|_| ()).map_err(|e| e.code()), Err("INTEGRITY"));
    }
}
