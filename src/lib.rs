//! workflow-templates: the models, rules and catalog of LLM workflow templates.
//!
//! The core (everything but `wasm`) is plain Rust with no browser types: it compiles natively
//! so a server can run the very same rules. `wasm` is a thin wasm-bindgen facade over it.
//! Feature `catalog` (default) adds the catalog, its storage and the built-ins; without it the
//! crate is the storage-free core of `workflow-templates/core`.

#[macro_use]
mod obj;

#[cfg(feature = "catalog")]
pub mod builtin;
#[cfg(feature = "catalog")]
pub mod catalog;
#[cfg(feature = "catalog")]
pub(crate) mod keyed;
pub mod error;
pub mod hash;
pub mod inherit;
pub mod model;
pub(crate) mod sort;
#[cfg(feature = "catalog")]
pub mod store;
pub mod validate;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result, Violation};
pub use model::{TemplateCategory, TemplateSpec, WorkflowTemplate, WorkflowType};
