//! Where time and randomness come from (the `Env` a catalog is given), and the catalog's uses
//! of them: timestamps that only move forward, new ids.

use super::Catalog;
use crate::error::{Error, Result};
use crate::model::id::{normalize_id, random_bits};
use crate::model::time;
use crate::store::Store;

use super::SkippedRow;

/// Where time and randomness come from, and where reports go: the browser facade, the native
/// system, a server, or a test.
pub trait Env {
    fn now_ms(&self) -> i64;
    fn random(&self) -> u128 {
        random_bits()
    }
    /// Told of every stored row a list left out because it failed verification (SPEC section
    /// 4), so that one bad row never turns a list into an error yet never goes unnoticed. A
    /// server logs it; the default does nothing.
    fn skipped_row(&self, _row: &SkippedRow) {}
    /// Called when a write has lost `lost` races in a row (1, 2, ...) and is about to run again
    /// (`retry::retry_on_conflict`). The default goes on at once: in a browser the only other
    /// writers are the origin's other tabs. A server, whose request threads race on one hot row
    /// (every use of a popular template writes its statistics), waits a short random time here,
    /// so that a burst of writers spreads out instead of one of them losing every race.
    fn after_lost_race(&self, _lost: usize) {}
}


/// The system clock (native targets only; the browser facade brings its own).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

#[cfg(not(target_arch = "wasm32"))]
impl Env for SystemEnv {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// The clock, brought into the range a timestamp may enter storage in (`time` module docs).
    pub(super) fn now_ms(&self) -> i64 {
        time::clamp_clock(self.env.now_ms())
    }

    pub(super) fn now(&self) -> String {
        time::format_ms(self.now_ms())
    }

    /// A timestamp strictly after `prev` (updated_at strictly increases on every write, even
    /// twice in one millisecond or with a clock that stepped back). Checked: an edit that would
    /// move it past 9999-12-31T23:59:59.999Z is INVALID_ARGUMENT, nothing is written.
    pub(super) fn after(&self, prev: &str) -> Result<String> {
        time::later(prev, self.now_ms()).ok_or_else(|| {
            Error::invalid(format!("updated_at {prev} cannot move forward: it is at the last representable instant ({})", time::format_ms(time::MAX_MS)))
        })
    }

    /// [`Self::after`] for records that are not the one being edited (other versions renamed
    /// or promoted with it): at the last instant they keep their timestamp instead of failing.
    pub(super) fn after_or_same(&self, prev: &str) -> String {
        self.after(prev).unwrap_or_else(|_| prev.to_string())
    }

    pub(super) fn new_id(&self) -> String {
        self.ids.borrow_mut().next(self.now_ms().max(0) as u64, self.env.random())
    }

    pub(crate) fn parse_id(&self, id: &str) -> Result<String> {
        normalize_id(id).ok_or_else(|| Error::invalid(format!("{} is not a ULID", crate::validate::quoted(id))))
    }
}
