//! workflow-templates: the models, rules and catalog of LLM workflow templates.
//!
//! The core (everything but `wasm`) is plain Rust with no browser types: it compiles natively
//! so a server can run the very same rules. `wasm` is a thin wasm-bindgen facade over it.

pub mod builtin;
pub mod catalog;
pub mod error;
pub mod hash;
pub mod inherit;
pub mod model;
pub(crate) mod sort;
pub mod store;
pub mod validate;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result, Violation};
pub use model::{TemplateCategory, TemplateSpec, WorkflowTemplate, WorkflowType};
