//! One error type for the whole library. Every variant has a stable code that crosses the
//! JS boundary unchanged (see `Error::code`), so apps can branch on codes, never on messages.

use serde::Serialize;
use serde_json::Value;

use crate::validate::quoted;

/// One broken rule, located by a field path such as `default_params.retrieval.top_k` or
/// `required_tools[2]`. `code` is stable; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Violation {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Violation { field: field.into(), code: code.to_string(), message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("validation failed: {}", summarize(.0))]
    ValidationFailed(Vec<Violation>),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("a latest template named {} already exists for this owner", quoted(.name))]
    NameTaken { name: String },
    #[error("conflict on {id}: the stored record has changed since {expected}")]
    Conflict { id: String, expected: String, actual: String },
    /// `ids`: the templates on the cycle the caller may see, in order; `hidden`: how many
    /// others are on it (never named: see README, errors name only what the caller may get).
    #[error("inheritance cycle through {}{}", .ids.join(" -> "), hidden_note(*.hidden))]
    InheritanceCycle { ids: Vec<String>, hidden: usize },
    #[error("inheritance chain of {id} is deeper than {limit} levels")]
    InheritanceTooDeep { id: String, limit: usize },
    /// `reference` is empty when the missing base is named only by a template the caller
    /// cannot see.
    #[error("{}", base_not_found(.reference))]
    BaseNotFound { reference: String },
    #[error("base template name {} matches several public templates", quoted(.name))]
    AmbiguousBase { name: String, candidates: Vec<String> },
    #[error("built-in template {id} is read-only")]
    BuiltinReadOnly { id: String },
    /// `derived`: the ids the caller may see; `hidden`: how many others.
    #[error("template {id} has derived templates: {}{}", .derived.join(", "), hidden_note(*.hidden))]
    HasDerived { id: String, derived: Vec<String>, hidden: usize },
    /// Deleting a version that labels point at (SPEC section 6): `labels` names them, so a
    /// pointer such as `production` never dangles or vanishes silently.
    #[error("template {id} holds the labels {}: move or remove them first", .labels.join(", "))]
    HasLabels { id: String, labels: Vec<String> },
    #[error("integrity check failed for {id}: {message}")]
    Integrity { id: String, message: String },
    #[error("storage quota exceeded: {0}")]
    StorageQuota(String),
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    #[error("network error: {0}")]
    Network(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An error a server running this same core answered with (the remote adapter): its code,
    /// message and details, passed on unchanged.
    #[error("{message}")]
    Remote { code: &'static str, message: String, details: Value },
}

fn hidden_note(hidden: usize) -> String {
    match hidden {
        0 => String::new(),
        n => format!(" (and {n} not visible to you)"),
    }
}

fn base_not_found(reference: &str) -> String {
    match reference {
        "" => "the base of a template you cannot see was not found".into(),
        r => format!("base template {} not found", quoted(r)),
    }
}

fn summarize(v: &[Violation]) -> String {
    let first: Vec<String> = v.iter().take(3).map(|x| format!("{}: {}", x.field, x.message)).collect();
    let more = if v.len() > 3 { format!(" (and {} more)", v.len() - 3) } else { String::new() };
    format!("{}{}", first.join("; "), more)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every code an `Error` can carry, in the order of SPEC section 13.
/// `HAS_LABELS` (issue 14) is appended last so earlier positions stay.
pub const ERROR_CODES: [&str; 18] = [
    "VALIDATION_FAILED", "NOT_FOUND", "FORBIDDEN", "NAME_TAKEN", "CONFLICT", "INHERITANCE_CYCLE",
    "INHERITANCE_TOO_DEEP", "BASE_NOT_FOUND", "AMBIGUOUS_BASE", "BUILTIN_READ_ONLY", "HAS_DERIVED",
    "INTEGRITY", "STORAGE_QUOTA", "STORAGE_UNAVAILABLE", "NETWORK", "UNAUTHORIZED", "INVALID_ARGUMENT",
    "HAS_LABELS",
];

impl Error {
    /// Stored data (or an app's storage adapter) handed back something the schema does not allow.
    pub fn corrupt(message: impl Into<String>) -> Error {
        Error::Integrity { id: "storage".into(), message: message.into() }
    }
    /// A server's error answer; an unknown code becomes NETWORK (the answer is not one this
    /// version understands).
    pub fn remote(code: &str, message: impl Into<String>, details: Value) -> Error {
        let known = ERROR_CODES.iter().find(|c| **c == code).copied();
        let message = message.into();
        match known {
            Some(code) => Error::Remote { code, message, details },
            None => Error::Network(format!("the server answered with an unknown error code {}: {message}", quoted(code))),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::ValidationFailed(_) => "VALIDATION_FAILED",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NameTaken { .. } => "NAME_TAKEN",
            Error::Conflict { .. } => "CONFLICT",
            Error::InheritanceCycle { .. } => "INHERITANCE_CYCLE",
            Error::InheritanceTooDeep { .. } => "INHERITANCE_TOO_DEEP",
            Error::BaseNotFound { .. } => "BASE_NOT_FOUND",
            Error::AmbiguousBase { .. } => "AMBIGUOUS_BASE",
            Error::BuiltinReadOnly { .. } => "BUILTIN_READ_ONLY",
            Error::HasDerived { .. } => "HAS_DERIVED",
            Error::HasLabels { .. } => "HAS_LABELS",
            Error::Integrity { .. } => "INTEGRITY",
            Error::StorageQuota(_) => "STORAGE_QUOTA",
            Error::StorageUnavailable(_) => "STORAGE_UNAVAILABLE",
            Error::Network(_) => "NETWORK",
            Error::Unauthorized(_) => "UNAUTHORIZED",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Remote { code, .. } => code,
        }
    }

    /// Machine-readable extras for the JS `Error.details` property (null when there are none).
    pub fn details(&self) -> Value {
        match self {
            Error::ValidationFailed(v) => obj!({ "violations": v }),
            Error::NotFound { kind, id } => obj!({ "kind": kind, "id": id }),
            Error::NameTaken { name } => obj!({ "name": name }),
            Error::Conflict { id, expected, actual } => obj!({ "id": id, "expected": expected, "actual": actual }),
            Error::InheritanceCycle { ids, hidden } => obj!({ "ids": ids, "hidden": hidden }),
            Error::InheritanceTooDeep { id, limit } => obj!({ "id": id, "limit": limit }),
            Error::BaseNotFound { reference } => obj!({ "reference": reference }),
            Error::AmbiguousBase { name, candidates } => obj!({ "name": name, "candidates": candidates }),
            Error::BuiltinReadOnly { id } => obj!({ "id": id }),
            Error::HasDerived { id, derived, hidden } => obj!({ "id": id, "derived": derived, "hidden": hidden }),
            Error::HasLabels { id, labels } => obj!({ "id": id, "labels": labels }),
            Error::Integrity { id, .. } => obj!({ "id": id }),
            Error::Remote { details, .. } => details.clone(),
            _ => Value::Null,
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { kind, id: id.into() }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}
