//! Reading templates for an operation: access is decided before integrity (a user who may not
//! see a corrupt row is told NOT_FOUND), stored rows are verified (`integrity.rs`), and a
//! chain's records are read ahead in one go where the store can.

use crate::keyed::StrMap;

use super::{integrity, Catalog, Env};
use crate::builtin;
use crate::error::{Error, Result};
use crate::inherit::MAX_DEPTH;
use crate::model::WorkflowTemplate;
use crate::store::{Store, Stored};

/// A template as read: a built-in (with the statistics stored beside it) or a stored record.
/// Stored records read ahead by id (see `Catalog::prefetch`).
pub(crate) type Prefetched = StrMap<Stored<WorkflowTemplate>>;

#[derive(Debug, Clone)]
pub(crate) enum Loaded {
    Builtin { record: WorkflowTemplate, stats_rev: Option<u64> },
    Stored(Stored<WorkflowTemplate>),
}

impl Loaded {
    pub(crate) fn record(&self) -> &WorkflowTemplate {
        match self {
            Loaded::Builtin { record, .. } => record,
            Loaded::Stored(s) => &s.record,
        }
    }
    pub(crate) fn into_record(self) -> WorkflowTemplate {
        match self {
            Loaded::Builtin { record, .. } => record,
            Loaded::Stored(s) => s.record,
        }
    }
}

impl<S: Store, E: Env> Catalog<S, E> {

    pub(super) fn visible_to(t: &WorkflowTemplate, user: &str) -> bool {
        t.is_builtin || t.is_public || t.owner_id == user
    }

    /// Checks a record read from storage (see [`integrity::verify_template`]).
    pub(crate) fn verify(t: &mut WorkflowTemplate) -> Result<()> {
        integrity::verify_template(t)
    }

    /// A stored record is checked with [`Self::verify`]; built-ins are compiled in.
    pub(super) fn check_loaded(l: Loaded) -> Result<Loaded> {
        match l {
            Loaded::Stored(mut s) => {
                Self::verify(&mut s.record)?;
                Ok(Loaded::Stored(s))
            }
            b => Ok(b),
        }
    }

    /// Any template by id as stored, not yet verified: access is decided first, so a user who
    /// may not see a corrupt row is told NOT_FOUND, not INTEGRITY.
    pub(super) async fn load_raw(&self, id: &str) -> Result<Option<Loaded>> {
        if let Some(b) = builtin::get(id) {
            let mut record = b.clone();
            let stats = self.store.get_builtin_stats(id).await?;
            let stats_rev = stats.as_ref().map(|s| s.rev);
            if let Some(s) = stats.and_then(|s| self.builtin_stats_checked(s.record)) {
                record.set_stats(s);
            }
            return Ok(Some(Loaded::Builtin { record, stats_rev }));
        }
        match self.store.get_template(id).await? {
            Some(s) => self.stored_as(id, s),
            None => Ok(None),
        }
    }

    /// A stored record read under `id`: it must say it is `id` (INTEGRITY for whoever may see
    /// what it says; nothing at all for others).
    pub(super) fn stored_as(&self, id: &str, s: Stored<WorkflowTemplate>) -> Result<Option<Loaded>> {
        if s.record.id == id {
            return Ok(Some(Loaded::Stored(s)));
        }
        match Self::visible_to(&s.record, &self.user) {
            true => Err(Error::Integrity { id: id.into(), message: format!("stored under {id} but says {}", s.record.id) }),
            false => Ok(None),
        }
    }

    /// [`Self::load_raw`], taking the record from `pre` when it was read ahead.
    pub(super) async fn load_raw_in(&self, id: &str, pre: &mut Prefetched) -> Result<Option<Loaded>> {
        match pre.remove(id) {
            Some(s) => self.stored_as(id, s),
            None => self.load_raw(id).await,
        }
    }

    /// Reads ahead the stored records of the chain that starts at `id`, in one go where the
    /// store can (`Store::get_template_chain`). Records are still checked one by one when the
    /// walk takes them; a failed read ahead only means they are read one by one.
    pub(super) async fn prefetch(&self, id: Option<&str>) -> Prefetched {
        let Some(id) = id else { return Prefetched::new() };
        match self.store.get_template_chain(id, MAX_DEPTH + 1).await {
            Ok(list) => list.into_iter().map(|s| (s.record.id.clone(), s)).collect(),
            Err(_) => Prefetched::new(),
        }
    }

    /// A template the acting user may see; others' private templates are NOT_FOUND.
    pub(crate) async fn load_visible(&self, id: &str) -> Result<Loaded> {
        self.load_visible_in(id, &mut Prefetched::new()).await
    }

    pub(super) async fn load_visible_in(&self, id: &str, pre: &mut Prefetched) -> Result<Loaded> {
        let id = self.parse_id(id)?;
        match self.load_raw_in(&id, pre).await? {
            Some(l) if Self::visible_to(l.record(), &self.user) => Self::check_loaded(l),
            _ => Err(Error::not_found("template", id)),
        }
    }

    /// The leaf `id` (visible to the acting user) with its chain's records read ahead.
    pub(super) async fn load_chain_leaf(&self, id: &str) -> Result<(WorkflowTemplate, Prefetched)> {
        let id = self.parse_id(id)?;
        let mut pre = self.prefetch(Some(&id)).await;
        let leaf = self.load_visible_in(&id, &mut pre).await?.into_record();
        Ok((leaf, pre))
    }

    /// A stored template the acting user owns (for update, newVersion, delete).
    pub(super) async fn load_owned(&self, id: &str) -> Result<Stored<WorkflowTemplate>> {
        let s = self.load_owned_raw(id).await?;
        Self::check_loaded(Loaded::Stored(s)).map(|l| match l {
            Loaded::Stored(s) => s,
            Loaded::Builtin { .. } => unreachable!("load_owned_raw never returns a built-in"),
        })
    }

    /// [`Self::load_owned`] without verifying the record: delete takes it, so that an owner is
    /// never stuck with a corrupt template of their own.
    pub(super) async fn load_owned_raw(&self, id: &str) -> Result<Stored<WorkflowTemplate>> {
        let given = id;
        let id = self.parse_id(id)?;
        let mut found = self.load_raw(&id).await?;
        if found.is_none() && given != id {
            // A row stored under an id in another spelling (written before ids were made
            // canonical on every way in) is refused by every read; its owner deletes it by the
            // key it is stored under, as exportAll's `skipped` lists it.
            found = self.store.get_template(given).await?.and_then(|s| (s.record.id == given).then_some(Loaded::Stored(s)));
        }
        match found {
            Some(Loaded::Builtin { record, .. }) => Err(Error::BuiltinReadOnly { id: record.id }),
            Some(Loaded::Stored(s)) if s.record.owner_id == self.user => Ok(s),
            Some(Loaded::Stored(s)) if Self::visible_to(&s.record, &self.user) => {
                Err(Error::Forbidden(format!("template {} belongs to another user", s.record.id)))
            }
            _ => Err(Error::not_found("template", id)),
        }
    }
}
