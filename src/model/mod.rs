//! The two record types of the schema and its two enums, serialised with the schema's column
//! names; ids and timestamps.

pub mod canonical;
pub mod case;
pub mod etag;
pub mod enums;
pub mod id;
pub mod read;
pub mod spec;
pub mod template;
pub mod time;

pub use enums::{TemplateCategory, WorkflowType};
pub use spec::TemplateSpec;
pub use template::{UsageStats, WorkflowTemplate};

/// Largest integer JavaScript holds exactly (2^53 - 1): the bound for every counter and every
/// JSON number (I-JSON, RFC 7493).
pub const MAX_SAFE_INTEGER: u64 = (1u64 << 53) - 1;
