//! Creates with a client-chosen id (issue 15): the `_as` forms of the create-like operations
//! (`create_as`, `new_version_as`, `restore_version_as` in `templates.rs`/`labels.rs`,
//! `create_spec_as`, `instantiate_spec_as` in `specs.rs`) take `id: Option<&str>`. An offline
//! replica makes the id first and replays the create later, perhaps days later, when the
//! server's Idempotency-Key has long expired: the id itself makes the replay safe.
//!
//! Rules for a chosen id (README, "Decisions where SPEC is silent"):
//! - a ULID (lowercase accepted, stored uppercase) outside the time-0 range, which holds the
//!   built-ins and their owner id (so a built-in added later never meets a stored record);
//! - its time part at most [`MAX_ID_LEAD_MS`] ahead of the catalog's clock: client clocks are
//!   not trusted, and an id far in the future would sort after every id made later;
//!   INVALID_ARGUMENT otherwise, before anything is read;
//! - the acting user's own record of the same kind (template or spec) under it, one that the
//!   operation could have made ([`Made`]: a version 1 for create and instantiate, a later
//!   version of the same lineage for new-version and restore): a replay, which answers the
//!   record as stored now and writes nothing (no event either);
//! - any other record under it (another user's, private or public, one's own of the other
//!   kind, or one's own that another operation made): CONFLICT, with details that say only
//!   that the id is in use ([`id_in_use`]);
//! - an id once used and deleted is never used again: CONFLICT "in use" for anyone else, and
//!   CONFLICT "deleted" ([`id_deleted`]) for the user whose record it was, so a replay after a
//!   delete never makes the record again. Only a store that keeps tombstones
//!   ([`Store::retired_id`], the server's SQL store) knows such ids; the same store refuses them
//!   in the commit itself.
//!
//! A record of the other kind under the id is refused by the commit itself too: a template
//! create carries `DeleteSpec { expect: Absent }` for its id (a write that changes nothing and
//! fails when a spec is there), a spec create the reverse ([`absent_spec`], [`absent_template`]).

use ulid::Ulid;

use super::{Catalog, Env};
use crate::error::{Error, Result};
use crate::model::id::normalize_id;
use crate::model::{TemplateSpec, WorkflowTemplate};
use crate::store::{name_key, Expect, Store, Write};

/// How far (ms) a chosen id's time part may be ahead of the catalog's clock: 5 minutes.
pub const MAX_ID_LEAD_MS: i64 = 5 * 60 * 1000;

/// The `actual` of the CONFLICT a taken id answers.
pub(crate) const IN_USE: &str = "in use";

/// CONFLICT for a chosen id some other record holds. The same words whoever holds it and
/// whatever it is: nothing about the holder crosses.
pub fn id_in_use(id: &str) -> Error {
    Error::Conflict { id: id.to_string(), expected: "absent".into(), actual: IN_USE.into() }
}

/// The `actual` of the CONFLICT the owner of a deleted record gets for its id.
pub(crate) const DELETED: &str = "deleted";

/// CONFLICT for a chosen id that held the acting user's own record, since deleted: never
/// used again (a late replay of its create does not undo the delete). Only its owner gets it.
pub fn id_deleted(id: &str) -> Error {
    Error::Conflict { id: id.to_string(), expected: "absent".into(), actual: DELETED.into() }
}

/// Whether `e` is the CONFLICT of a chosen id that is taken or was used (the server answers it
/// 409, not the 412 of a failed precondition).
pub fn is_id_in_use(e: &Error) -> bool {
    matches!(e, Error::Conflict { expected, actual, .. } if expected == "absent" && (actual == IN_USE || actual == DELETED))
}

/// The write that makes a template create's commit fail when a spec holds its id (it deletes
/// nothing: only its expectation counts).
pub(super) fn absent_spec(id: &str) -> Write {
    Write::DeleteSpec { id: id.to_string(), expect: Expect::Absent }
}

/// [`absent_spec`] for a spec create: no template under its id.
pub(super) fn absent_template(id: &str) -> Write {
    Write::DeleteTemplate { id: id.to_string(), expect: Expect::Absent }
}

/// The create-like operation a chosen id is for: what a stored record must be to be its
/// replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made<'a> {
    /// `create` or `instantiate_spec`: a first version. (A template does not keep the spec it
    /// was made from, so an instantiate replay is checked as a create's.)
    First,
    /// `new_version` / `restore_version` from this template: a later version of its lineage.
    VersionOf(&'a str),
}

/// What a create under a chosen id does.
pub(super) enum Chosen<T> {
    /// Create under this (normalised or freshly made) id.
    Free(String),
    /// The acting user's own record of this kind is there: answer it.
    Replay(T),
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// The normalised form of a chosen id, or INVALID_ARGUMENT (module docs).
    pub(super) fn check_chosen_id(&self, id: &str) -> Result<String> {
        let n = normalize_id(id).ok_or_else(|| Error::invalid(format!("id {} is not a ULID", crate::validate::quoted(id))))?;
        let ms = Ulid::from_string(&n).map(|u| u.timestamp_ms()).map_err(|_| Error::invalid(format!("id {} is not a ULID", crate::validate::quoted(id))))?;
        if ms == 0 {
            return Err(Error::invalid(format!("id {n} is in the range reserved for built-in templates (time part 0)")));
        }
        if ms as i128 > self.now_ms() as i128 + MAX_ID_LEAD_MS as i128 {
            return Err(Error::invalid(format!("the time part of id {n} is more than 5 minutes ahead of the clock")));
        }
        Ok(n)
    }

    /// Whether `id` (normalised) is held by a spec, for a template create (and the reverse).
    async fn spec_holds(&self, id: &str) -> Result<bool> {
        Ok(self.store.get_spec(id).await?.is_some())
    }

    /// A free id (no record of either kind under it) that may still have been used: CONFLICT
    /// when the store keeps its tombstone (module docs).
    async fn unused(&self, id: String) -> Result<String> {
        match self.store.retired_id(&id).await? {
            None => Ok(id),
            Some(owner) if owner == self.user => Err(id_deleted(&id)),
            Some(_) => Err(id_in_use(&id)),
        }
    }

    /// Whether the acting user's template `t` is what `made` would have made.
    async fn made_by(&self, t: &WorkflowTemplate, made: Made<'_>) -> Result<bool> {
        Ok(match made {
            Made::First => t.version == 1,
            Made::VersionOf(src) => match crate::model::id::normalize_id(src) {
                None => false,
                Some(src) => match self.store.get_template(&src).await? {
                    Some(s) => t.version > 1 && s.record.owner_id == t.owner_id && name_key(&s.record.name) == name_key(&t.name),
                    None => false,
                },
            },
        })
    }

    /// The id a template create uses: a fresh one for `None`, else the checked chosen one, or
    /// the replay it turns out to be.
    pub(super) async fn template_id_for(&self, id: Option<&str>, made: Made<'_>) -> Result<Chosen<WorkflowTemplate>> {
        let Some(id) = id else { return Ok(Chosen::Free(self.new_id())) };
        let id = self.check_chosen_id(id)?;
        match self.store.get_template(&id).await? {
            None if self.spec_holds(&id).await? => Err(id_in_use(&id)),
            None => Ok(Chosen::Free(self.unused(id).await?)),
            // Read the way `get` answers it: verified, with its statistics.
            Some(s) if s.record.owner_id == self.user && s.record.id == id && self.made_by(&s.record, made).await? => Ok(Chosen::Replay(self.get(&id).await?)),
            Some(_) => Err(id_in_use(&id)),
        }
    }

    /// [`Self::template_id_for`] for a spec create.
    pub(super) async fn spec_id_for(&self, id: Option<&str>) -> Result<Chosen<TemplateSpec>> {
        let Some(id) = id else { return Ok(Chosen::Free(self.new_id())) };
        let id = self.check_chosen_id(id)?;
        match self.store.get_spec(&id).await? {
            None if self.store.get_template(&id).await?.is_some() => Err(id_in_use(&id)),
            None => Ok(Chosen::Free(self.unused(id).await?)),
            Some(s) if s.record.owner_id == self.user && s.record.id == id => Ok(Chosen::Replay(self.get_spec(&id).await?)),
            Some(_) => Err(id_in_use(&id)),
        }
    }

    /// Whether a template create under the chosen `id` would be a replay: the acting user's
    /// template as `get` answers it, `None` when the id is free; INVALID_ARGUMENT or the uniform
    /// CONFLICT as the create would answer. (The server asks first, so that a replay answers
    /// 200 before any precondition of the request is evaluated.)
    pub async fn template_replay(&self, id: &str, made: Made<'_>) -> Result<Option<WorkflowTemplate>> {
        match self.template_id_for(Some(id), made).await? {
            Chosen::Replay(r) => Ok(Some(r)),
            Chosen::Free(_) => Ok(None),
        }
    }

    /// [`Self::template_replay`] for a spec create.
    pub async fn spec_replay(&self, id: &str) -> Result<Option<TemplateSpec>> {
        match self.spec_id_for(Some(id)).await? {
            Chosen::Replay(r) => Ok(Some(r)),
            Chosen::Free(_) => Ok(None),
        }
    }

    /// A template create under a chosen id failed with `e`: when a twin (another tab, a retried
    /// request) committed the same id meanwhile, the create is its replay; when someone else
    /// took the id, the uniform CONFLICT; otherwise `e`.
    pub(super) async fn settle_template(&self, id: Option<&str>, made: Made<'_>, e: Error) -> Result<WorkflowTemplate> {
        if id.is_none() {
            return Err(e);
        }
        match self.template_id_for(id, made).await? {
            Chosen::Replay(r) => Ok(r),
            Chosen::Free(_) => Err(e),
        }
    }

    /// [`Self::settle_template`] for a spec create.
    pub(super) async fn settle_spec(&self, id: Option<&str>, e: Error) -> Result<TemplateSpec> {
        if id.is_none() {
            return Err(e);
        }
        match self.spec_id_for(id).await? {
            Chosen::Replay(r) => Ok(r),
            Chosen::Free(_) => Err(e),
        }
    }
}
