//! Retrying a read-modify-write that lost a race. Every write of the catalog reads what it
//! changes and commits guarded by the revisions it read; when another writer got there first
//! the store refuses the commit with CONFLICT and the whole operation runs again on fresh
//! reads. An `ifMatch` mismatch is CONFLICT too, but it is the caller's answer: never retried.

use std::future::Future;

use super::Env;
use crate::error::{Error, Result};
use crate::model::time;

/// Attempts of an edit (template, spec, label, delete). Edits are pinned to the `updated_at`
/// they started from, so a retry only ever follows a statistics write that moved the revision.
pub(crate) const EDIT_ATTEMPTS: usize = 16;

/// Attempts of a statistics write (usage, rating): every use of a popular public template or
/// built-in writes the same row, so these race far more often than edits.
pub(crate) const STATS_ATTEMPTS: usize = 64;

/// A commit refused because a stored revision moved under it (`rev N`, `absent`, or whatever an
/// adapter reported) as opposed to an `ifMatch` mismatch, whose `expected` is always the RFC
/// 3339 timestamp the caller gave (every `ifMatch` check parses it before comparing). A chosen
/// id that is taken (`create_id::id_in_use`) is final too.
pub(crate) fn is_lost_race(e: &Error) -> bool {
    matches!(e, Error::Conflict { expected, .. } if time::parse_ms(expected).is_none()) && !super::create_id::is_id_in_use(e)
}

/// CONFLICT after `attempts` lost races in a row.
pub(crate) fn busy(id: &str) -> Error {
    Error::Conflict { id: id.to_string(), expected: "a quiet moment".into(), actual: "too many concurrent writers".into() }
}

/// Runs `attempt` until it does anything but lose a race, at most `attempts` times; then
/// CONFLICT ([`busy`]) naming `id`. Between two attempts the environment may wait
/// ([`Env::after_lost_race`]: a server backs off with jitter).
pub(crate) async fn retry_on_conflict<T, F, Fut>(env: &impl Env, attempts: usize, id: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for lost in 1..=attempts {
        match attempt().await {
            Err(e) if is_lost_race(&e) => {
                if lost < attempts {
                    env.after_lost_race(lost);
                }
            }
            other => return other,
        }
    }
    Err(busy(id))
}
