//! Inheritance (SPEC section 5): deep merge of default_params from root to leaf, the union of
//! tools and retrievers, provenance of every effective parameter, and the resolved hash; and
//! the field-level diff of two records (SPEC section 6).
//!
//! Decisions (beyond the SPEC's text):
//! - The fold starts from the root's params exactly as stored (nulls kept), so a template with
//!   no base has `resolved_hash == config_hash`. Each more-derived template is merged on top
//!   with [`merge_params`] (see there for the rules, including null stripping).
//! - Provenance has one entry per effective leaf (scalar, array, null, empty object; never an
//!   interior object, never `""` for the params object itself): the id of the most-derived
//!   template that set that value. A template that restates an inherited value becomes its
//!   supplier. An object emptied by a template's nulls is supplied by that template; an empty
//!   object that a template merges into without adding anything keeps its supplier.
//! - Recursion is bounded: objects [`MAX_NESTING`] levels below the params object are opaque
//!   values (replaced, compared and reported whole). Validation already caps params at 32.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::hash::{config_hash, ConfigParts};
use crate::model::{WorkflowTemplate, WorkflowType};

mod chain;
mod diff;
mod merge;
mod pointer;

pub use chain::{check_chain, resolve_records};
pub use diff::{diff, json_eq, Change, ChangeOp};
pub use merge::{merge_params, strip_nulls};
pub use pointer::{escape_token, leaf_pointers, pointer_of};

/// Longest chain, counting the template itself: levels 0..=15.
pub const MAX_DEPTH: usize = 16;

/// The template fields inheritance (and `config_hash`) is about.
pub const CONFIG_FIELDS: [&str; 5] = ["workflow_type", "default_params", "required_tools", "required_retrievers", "base_template_id"];

/// Nesting bound of every walk over JSON here (merge, provenance, diff): objects this many
/// levels below the object being walked are handled as opaque values, so no input, however
/// deep, recurses further. Well above the validated params depth (32).
pub const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub workflow_type: WorkflowType,
    pub default_params: Map<String, Value>,
    pub required_tools: Vec<String>,
    pub required_retrievers: Vec<String>,
}

impl Effective {
    /// The configuration whose hash is the resolved hash: `base_template_id` null.
    pub fn config(&self) -> ConfigParts<'_> {
        ConfigParts {
            workflow_type: self.workflow_type,
            default_params: &self.default_params,
            required_tools: &self.required_tools,
            required_retrievers: &self.required_retrievers,
            base_template_id: None,
        }
    }
}

/// JSON pointer -> id (a JSON string) of the template that supplied the value there. A map of
/// `Value`s rather than of `String`s: it is the map `serde_json::Map` wraps, so the wasm carries
/// one copy of the B-tree code instead of two (BENCHMARKS.md, "Size: what each change bought").
pub type Provenance = BTreeMap<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    pub effective: Effective,
    /// JSON pointer of every effective parameter -> id of the template that supplied it.
    pub provenance: Provenance,
    pub resolved_hash: String,
}

/// Folds a chain into its effective configuration. `chain` is leaf first (level 0), root last,
/// as `chain()` returns it; the caller has walked it and checked cycles and depth.
///
/// - `workflow_type`: the leaf's.
/// - `default_params`: the root's as they are, then each more-derived template merged on top
///   ([`merge_params`]).
/// - `required_tools` / `required_retrievers`: the union, root first, first occurrence kept,
///   null lists read as empty.
/// - `provenance`: see the module docs.
/// - `resolved_hash`: `config_hash` of the effective configuration with `base_template_id`
///   null; for a lone template with no base, equal to its `config_hash`.
///
/// An empty chain (a caller bug) does not panic: it resolves to the empty `plain`
/// configuration (no params, no tools, no retrievers, no provenance) and its hash.
pub fn resolve(chain: &[&WorkflowTemplate]) -> Resolution {
    let workflow_type = chain.first().map_or(WorkflowType::Plain, |leaf| leaf.workflow_type);
    let mut params = Map::new();
    let mut provenance = BTreeMap::new();
    let mut tools = Union::default();
    let mut retrievers = Union::default();

    for (i, t) in chain.iter().rev().enumerate() {
        if i == 0 {
            params = t.default_params.clone();
            let mut path = String::new();
            pointer::for_each_leaf(&params, 0, &mut path, &mut |p, _| {
                provenance.insert(p.to_owned(), Value::String(t.id.clone()));
            });
        } else {
            let mut prov = merge::Prov { map: &mut provenance, id: &t.id };
            let mut path = String::new();
            merge::merge_into(&mut params, &t.default_params, 0, &mut path, Some(&mut prov));
        }
        tools.extend(t.required_tools.as_deref());
        retrievers.extend(t.required_retrievers.as_deref());
    }

    let effective = Effective {
        workflow_type,
        default_params: params,
        required_tools: tools.items,
        required_retrievers: retrievers.items,
    };
    let resolved_hash = config_hash(&effective.config());
    Resolution { effective, provenance, resolved_hash }
}

/// Ordered union without duplicates.
#[derive(Default)]
struct Union {
    items: Vec<String>,
    seen: crate::validate::Seen,
}

impl Union {
    fn extend(&mut self, list: Option<&[String]>) {
        for s in list.unwrap_or(&[]) {
            if self.seen.first(s.clone(), self.items.len()).is_none() {
                self.items.push(s.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
