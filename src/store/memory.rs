//! The in-memory adapter: the reference implementation of the storage contract. Templates are
//! indexed by owner, base template and (public, latest) so that discovery and `derived` read
//! index entries rather than scanning every record.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{check_expect, name_key, BuiltinStats, Expect, Rating, SpecFilter, Store, Stored, TemplateFilter, TemplateLabel, UsageTotals, Write};
use crate::error::{Error, Result};
use crate::model::{TemplateSpec, WorkflowTemplate};

enum Undo {
    Template(String, Option<Stored<WorkflowTemplate>>),
    Spec(String, Option<Stored<TemplateSpec>>),
    Rating((String, String), Option<Stored<Rating>>),
    Builtin(String, Option<Stored<BuiltinStats>>),
    Totals(String, Option<Stored<UsageTotals>>),
    Label(String, Option<Stored<TemplateLabel>>),
}

#[derive(Debug, Default)]
struct State {
    templates: BTreeMap<String, Stored<WorkflowTemplate>>,
    specs: BTreeMap<String, Stored<TemplateSpec>>,
    ratings: BTreeMap<(String, String), Stored<Rating>>,
    builtin_stats: BTreeMap<String, Stored<BuiltinStats>>,
    usage_totals: BTreeMap<String, Stored<UsageTotals>>,
    labels: BTreeMap<String, Stored<TemplateLabel>>,
    by_owner: HashMap<String, BTreeSet<String>>,
    by_base: HashMap<String, BTreeSet<String>>,
    public_latest: BTreeSet<String>,
}

impl State {
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
        self.by_owner.entry(t.owner_id.clone()).or_default().insert(t.id.clone());
        if let Some(b) = &t.base_template_id {
            self.by_base.entry(b.clone()).or_default().insert(t.id.clone());
        }
        if t.is_public && t.is_latest {
            self.public_latest.insert(t.id.clone());
        }
    }

    fn put_template(&mut self, id: &str, value: Option<Stored<WorkflowTemplate>>) -> Option<Stored<WorkflowTemplate>> {
        let old = self.templates.remove(id);
        if let Some(o) = &old {
            self.unindex(&o.record);
        }
        if let Some(v) = value {
            self.index(&v.record);
            self.templates.insert(id.to_string(), v);
        }
        old
    }

    /// Applies one write and returns how to undo it.
    fn apply(&mut self, w: Write) -> Result<Undo> {
        Ok(match w {
            Write::PutTemplate { record, expect } => {
                let rev = check_expect(expect, self.templates.get(&record.id).map(|s| s.rev), &record.id)?;
                let id = record.id.clone();
                Undo::Template(id.clone(), self.put_template(&id, Some(Stored { rev, record })))
            }
            Write::DeleteTemplate { id, expect } => {
                check_expect(expect, self.templates.get(&id).map(|s| s.rev), &id)?;
                let old = self.put_template(&id, None);
                Undo::Template(id, old)
            }
            Write::PutSpec { record, expect } => {
                let rev = check_expect(expect, self.specs.get(&record.id).map(|s| s.rev), &record.id)?;
                let id = record.id.clone();
                Undo::Spec(id.clone(), self.specs.insert(id, Stored { rev, record }))
            }
            Write::DeleteSpec { id, expect } => {
                check_expect(expect, self.specs.get(&id).map(|s| s.rev), &id)?;
                let old = self.specs.remove(&id);
                Undo::Spec(id, old)
            }
            Write::PutRating { record, expect } => {
                let key = (record.template_id.clone(), record.user_id.clone());
                let rev = check_expect(expect, self.ratings.get(&key).map(|s| s.rev), &record.template_id)?;
                Undo::Rating(key.clone(), self.ratings.insert(key, Stored { rev, record }))
            }
            Write::DeleteRating { template_id, user_id } => {
                let key = (template_id, user_id);
                let old = self.ratings.remove(&key);
                Undo::Rating(key, old)
            }
            Write::PutBuiltinStats { record, expect } => {
                let rev = check_expect(expect, self.builtin_stats.get(&record.id).map(|s| s.rev), &record.id)?;
                let id = record.id.clone();
                Undo::Builtin(id.clone(), self.builtin_stats.insert(id, Stored { rev, record }))
            }
            Write::PutUsageTotals { record } => {
                let rev = check_expect(Expect::Any, self.usage_totals.get(&record.id).map(|s| s.rev), &record.id)?;
                let id = record.id.clone();
                Undo::Totals(id.clone(), self.usage_totals.insert(id, Stored { rev, record }))
            }
            Write::DeleteUsageTotals { id } => {
                let old = self.usage_totals.remove(&id);
                Undo::Totals(id, old)
            }
            Write::PutLabel { record, expect } => {
                let key = record.key();
                let rev = check_expect(expect, self.labels.get(&key).map(|s| s.rev), &key)?;
                Undo::Label(key.clone(), self.labels.insert(key, Stored { rev, record }))
            }
            Write::DeleteLabel { key, expect } => {
                check_expect(expect, self.labels.get(&key).map(|s| s.rev), &key)?;
                let old = self.labels.remove(&key);
                Undo::Label(key, old)
            }
        })
    }

    fn undo(&mut self, u: Undo) {
        match u {
            Undo::Template(id, old) => {
                self.put_template(&id, old);
            }
            Undo::Spec(id, old) => match old {
                Some(o) => {
                    self.specs.insert(id, o);
                }
                None => {
                    self.specs.remove(&id);
                }
            },
            Undo::Rating(key, old) => match old {
                Some(o) => {
                    self.ratings.insert(key, o);
                }
                None => {
                    self.ratings.remove(&key);
                }
            },
            Undo::Builtin(id, old) => match old {
                Some(o) => {
                    self.builtin_stats.insert(id, o);
                }
                None => {
                    self.builtin_stats.remove(&id);
                }
            },
            Undo::Totals(id, old) => match old {
                Some(o) => {
                    self.usage_totals.insert(id, o);
                }
                None => {
                    self.usage_totals.remove(&id);
                }
            },
            Undo::Label(key, old) => match old {
                Some(o) => {
                    self.labels.insert(key, o);
                }
                None => {
                    self.labels.remove(&key);
                }
            },
        }
    }

    /// At most one latest template per (owner, name key), checked over the owners a batch
    /// touched.
    fn check_unique(&self, owners: &BTreeSet<String>) -> Result<()> {
        for owner in owners {
            let mut seen = BTreeSet::new();
            for id in self.by_owner.get(owner).into_iter().flatten() {
                if let Some(t) = self.templates.get(id) {
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
            templates: st.templates.values().cloned().collect(),
            specs: st.specs.values().cloned().collect(),
            ratings: st.ratings.values().cloned().collect(),
            builtin_stats: st.builtin_stats.values().cloned().collect(),
            usage_totals: st.usage_totals.values().cloned().collect(),
            template_labels: st.labels.values().cloned().collect(),
        }
    }

    /// A store holding exactly `snap` (revisions kept).
    pub fn from_snapshot(snap: Snapshot) -> Self {
        let mut st = State::default();
        for t in snap.templates {
            let id = t.record.id.clone();
            st.put_template(&id, Some(t));
        }
        for s in snap.specs {
            st.specs.insert(s.record.id.clone(), s);
        }
        for r in snap.ratings {
            st.ratings.insert((r.record.template_id.clone(), r.record.user_id.clone()), r);
        }
        for b in snap.builtin_stats {
            st.builtin_stats.insert(b.record.id.clone(), b);
        }
        for t in snap.usage_totals {
            st.usage_totals.insert(t.record.id.clone(), t);
        }
        for l in snap.template_labels {
            st.labels.insert(l.record.key(), l);
        }
        MemoryStore { state: RefCell::new(st) }
    }

    fn candidates(&self, st: &State, f: &TemplateFilter) -> Vec<Stored<WorkflowTemplate>> {
        let pick = |ids: Option<&BTreeSet<String>>| -> Vec<Stored<WorkflowTemplate>> {
            ids.into_iter()
                .flatten()
                .filter_map(|id| st.templates.get(id))
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
            st.templates.values().filter(|s| f.matches(&s.record)).cloned().collect()
        }
    }
}

impl Store for MemoryStore {
    async fn get_template(&self, id: &str) -> Result<Option<Stored<WorkflowTemplate>>> {
        Ok(self.state.borrow().templates.get(id).cloned())
    }

    async fn find_templates(&self, filter: &TemplateFilter) -> Result<Vec<Stored<WorkflowTemplate>>> {
        let st = self.state.borrow();
        Ok(self.candidates(&st, filter))
    }

    async fn get_spec(&self, id: &str) -> Result<Option<Stored<TemplateSpec>>> {
        Ok(self.state.borrow().specs.get(id).cloned())
    }

    async fn find_specs(&self, filter: &SpecFilter) -> Result<Vec<Stored<TemplateSpec>>> {
        Ok(self.state.borrow().specs.values().filter(|s| filter.matches(&s.record)).cloned().collect())
    }

    async fn get_rating(&self, template_id: &str, user_id: &str) -> Result<Option<Stored<Rating>>> {
        Ok(self.state.borrow().ratings.get(&(template_id.to_string(), user_id.to_string())).cloned())
    }

    async fn find_ratings(&self, user_id: Option<&str>, template_id: Option<&str>) -> Result<Vec<Stored<Rating>>> {
        Ok(self
            .state
            .borrow()
            .ratings
            .values()
            .filter(|r| user_id.is_none_or(|u| u == r.record.user_id) && template_id.is_none_or(|t| t == r.record.template_id))
            .cloned()
            .collect())
    }

    async fn get_builtin_stats(&self, id: &str) -> Result<Option<Stored<BuiltinStats>>> {
        Ok(self.state.borrow().builtin_stats.get(id).cloned())
    }

    async fn all_builtin_stats(&self) -> Result<Vec<Stored<BuiltinStats>>> {
        Ok(self.state.borrow().builtin_stats.values().cloned().collect())
    }

    async fn get_usage_totals(&self, id: &str) -> Result<Option<Stored<UsageTotals>>> {
        Ok(self.state.borrow().usage_totals.get(id).cloned())
    }

    async fn find_labels(&self, owner_id: &str, name_key: Option<&str>) -> Result<Vec<Stored<TemplateLabel>>> {
        let st = self.state.borrow();
        // Keys start with `{owner}:`, so one owner's rows are one range of the ordered map.
        let prefix = format!("{owner_id}:");
        Ok(st
            .labels
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, l)| l.record.owner_id == owner_id && name_key.is_none_or(|n| n == l.record.name_key))
            .map(|(_, l)| l.clone())
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
