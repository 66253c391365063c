//! Inheritance (SPEC section 5): deep merge of default_params from root to leaf, the union of
//! tools and retrievers, provenance of every effective parameter, and the resolved hash.
//! HELPER-OWNED: the implementation is being written; the signatures are the contract.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{WorkflowTemplate, WorkflowType};

/// Longest chain, counting the template itself: levels 0..=15.
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub workflow_type: WorkflowType,
    pub default_params: Map<String, Value>,
    pub required_tools: Vec<String>,
    pub required_retrievers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    pub effective: Effective,
    /// JSON pointer of every effective parameter -> id of the template that supplied it.
    pub provenance: BTreeMap<String, String>,
    pub resolved_hash: String,
}

/// `chain` is leaf first (level 0), root last, as `chain()` returns it.
pub fn resolve(chain: &[&WorkflowTemplate]) -> Resolution {
    let leaf = chain[0];
    Resolution {
        effective: Effective {
            workflow_type: leaf.workflow_type,
            default_params: leaf.default_params.clone(),
            required_tools: vec![],
            required_retrievers: vec![],
        },
        provenance: BTreeMap::new(),
        resolved_hash: String::new(),
    }
}

/// `[{ path, before, after }]` between two records, with JSON-pointer paths that reach inside
/// JSON columns (`/default_params/model/name`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    pub before: Value,
    pub after: Value,
}

pub fn diff(_before: &Value, _after: &Value) -> Vec<Change> {
    Vec::new()
}
