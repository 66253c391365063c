//! workflow-templates: the models, rules and catalog of LLM workflow templates.
//!
//! Layers, bottom to top; each names only its own and those below it (tests/layers.rs):
//! - the core: `model`, `validate`, `hash`, `inherit`, `builtin`, `error` and small helpers;
//!   plain Rust with no browser types, so a server runs the very same rules natively;
//! - `jsval` (wasm32): JS values in and out as JSON, through js/convert.js's guarded walk,
//!   and errors out as JS error objects;
//! - `store`: the storage contract (its own types: `Sort`, filters, pages) and the memory
//!   adapter (native), plus the IndexedDB, localStorage and app-object adapters (wasm32);
//! - `catalog`: every catalog operation over any store; no browser types;
//! - `browser` (wasm32): the runtime the facade opens: the adapter `storage` chooses, tab
//!   bridging, the JS clock, the offline replica and its sync engine;
//! - `wasm` (wasm32): the thin wasm-bindgen facade; converts values and errors.
//!
//! Feature `catalog` (default) adds the built-ins, store, catalog and runtime; without it the
//! crate is the storage-free core of `workflow-templates/core`.

#[macro_use]
mod obj;

#[cfg(all(target_arch = "wasm32", feature = "catalog"))]
pub mod browser;
#[cfg(feature = "catalog")]
pub mod builtin;
#[cfg(feature = "catalog")]
pub mod catalog;
#[cfg(feature = "catalog")]
pub(crate) mod keyed;
pub mod error;
pub mod hash;
pub mod inherit;
#[cfg(target_arch = "wasm32")]
pub mod jsval;
pub mod model;
pub(crate) mod sort;
#[cfg(feature = "catalog")]
pub mod store;
pub mod validate;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result, Violation};
pub use model::{TemplateCategory, TemplateSpec, WorkflowTemplate, WorkflowType};
