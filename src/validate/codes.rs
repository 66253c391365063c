//! The stable violation codes (`Violation::code`) and the limits of SPEC section 3.

/// A column that must be present is absent.
pub const REQUIRED: &str = "REQUIRED";
/// Wrong JSON type (including `null` in a column that is not nullable, and fractions where an
/// integer is expected).
pub const TYPE: &str = "TYPE";
/// A string longer than allowed.
pub const TOO_LONG: &str = "TOO_LONG";
/// A string shorter than allowed (empty name or tag).
pub const TOO_SHORT: &str = "TOO_SHORT";
/// An array with more items than allowed.
pub const TOO_MANY: &str = "TOO_MANY";
/// A string not in the required form (tool/retriever names, config_hash).
pub const PATTERN: &str = "PATTERN";
/// Not a ULID.
pub const INVALID_ID: &str = "INVALID_ID";
/// Not one of the enum's values.
pub const INVALID_ENUM: &str = "INVALID_ENUM";
/// Not an RFC 3339 timestamp (years 0000..=9999).
pub const INVALID_TIMESTAMP: &str = "INVALID_TIMESTAMP";
/// A control character (Unicode Cc) in a name or tag.
pub const CONTROL_CHAR: &str = "CONTROL_CHAR";
/// Leading or trailing whitespace in a name or tag.
pub const NOT_TRIMMED: &str = "NOT_TRIMMED";
/// The same item twice in a list that must be distinct.
pub const DUPLICATE: &str = "DUPLICATE";
/// A number outside its column's range.
pub const OUT_OF_RANGE: &str = "OUT_OF_RANGE";
/// A number of magnitude above 2^53-1, anywhere.
pub const UNSAFE_NUMBER: &str = "UNSAFE_NUMBER";
/// An object key `__proto__`, anywhere.
pub const FORBIDDEN_KEY: &str = "FORBIDDEN_KEY";
/// JSON nested deeper than allowed.
pub const TOO_DEEP: &str = "TOO_DEEP";
/// A JSON column whose canonical form is larger than allowed.
pub const TOO_LARGE: &str = "TOO_LARGE";
/// Fields that contradict each other (rating vs rating_count).
pub const INCONSISTENT: &str = "INCONSISTENT";
/// config_hash differs from the hash of the record's configuration.
pub const HASH_MISMATCH: &str = "HASH_MISMATCH";
/// A catalog-maintained field in a create or update payload.
pub const READ_ONLY: &str = "READ_ONLY";
/// A field the record type does not have.
pub const UNKNOWN_FIELD: &str = "UNKNOWN_FIELD";
/// workflow_type disagrees with the required tools and retrievers.
pub const WORKFLOW_TYPE_MISMATCH: &str = "WORKFLOW_TYPE_MISMATCH";
/// `is_builtin: true` on a record that is not from the built-in registry.
pub const BUILTIN_CLAIM: &str = "BUILTIN_CLAIM";
/// updated_at earlier than created_at.
pub const TIME_ORDER: &str = "TIME_ORDER";

/// Every violation code, for TypeScript types and docs.
pub const VIOLATION_CODES: &[&str] = &[
    REQUIRED,
    TYPE,
    TOO_LONG,
    TOO_SHORT,
    TOO_MANY,
    PATTERN,
    INVALID_ID,
    INVALID_ENUM,
    INVALID_TIMESTAMP,
    CONTROL_CHAR,
    NOT_TRIMMED,
    DUPLICATE,
    OUT_OF_RANGE,
    UNSAFE_NUMBER,
    FORBIDDEN_KEY,
    TOO_DEEP,
    TOO_LARGE,
    INCONSISTENT,
    HASH_MISMATCH,
    READ_ONLY,
    UNKNOWN_FIELD,
    WORKFLOW_TYPE_MISMATCH,
    BUILTIN_CLAIM,
    TIME_ORDER,
];

// ---- limits ------------------------------------------------------------------------------

/// Names (and base_template_name): 1..=255 Unicode scalar values.
pub const MAX_NAME_CHARS: usize = 255;
/// description and changelog: 0..=10,000 Unicode scalar values.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// required_tools / required_retrievers: at most 64 items.
pub const MAX_RESOURCES: usize = 64;
/// Each tool or retriever name: at most 128 characters (ASCII by its pattern).
pub const MAX_RESOURCE_NAME_CHARS: usize = 128;
/// tags: at most 32 items.
pub const MAX_TAGS: usize = 32;
/// Each tag: 1..=64 characters.
pub const MAX_TAG_CHARS: usize = 64;
/// default_params: nesting depth (`{}` is 1).
pub const MAX_PARAMS_DEPTH: usize = 32;
/// default_params: canonical size in bytes (256 KiB).
pub const MAX_PARAMS_BYTES: usize = 256 * 1024;
/// extra_metadata: canonical size in bytes (64 KiB).
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// The pattern tool and retriever names must match (checked by hand in [`is_resource_name`]).
pub const RESOURCE_NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$";
