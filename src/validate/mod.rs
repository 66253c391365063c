//! Validation per SPEC section 3. Works on untyped JSON so that it can report every
//! violation at once (an editor shows them all), not just the first serde error.
//! HELPER-OWNED: the implementation is being written; the signatures are the contract.

use serde_json::{Map, Value};

use crate::error::Violation;
use crate::model::WorkflowType;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Every column must be present (records from storage, the network or an import). When
    /// false, catalog-maintained fields may be absent, but are checked when present.
    pub complete: bool,
    /// Accept `is_builtin: true` (only the built-in registry itself sets this).
    pub allow_builtin: bool,
}

pub fn validate_template(_v: &Value, _opts: Options) -> Vec<Violation> {
    Vec::new()
}

pub fn validate_spec(_v: &Value, _opts: Options) -> Vec<Violation> {
    Vec::new()
}

/// Refuses fields a caller may not write (`READ_ONLY`) and fields that do not exist
/// (`UNKNOWN_FIELD`) in a create or update payload.
pub fn check_writable(_patch: &Map<String, Value>, _read_only: &[&str], _writable: &[&str], _out: &mut Vec<Violation>) {}

/// SPEC section 3's workflow-type rule, applied to an effective configuration.
pub fn check_type_consistency(_wt: WorkflowType, _tools: &[String], _retrievers: &[String], _out: &mut Vec<Violation>) {}
