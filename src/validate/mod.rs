//! Validation per SPEC section 3. Works on untyped JSON so that it can report every
//! violation at once (an editor shows them all), not just the first serde error.
//!
//! Every violation carries a `field` path, a stable `code` (one of [`VIOLATION_CODES`]) and a
//! message for people.
//!
//! # Field paths
//! The root is `""`; a top-level field is its column name (`name`); object keys are joined with
//! `.` (`default_params.retrieval.top_k`); array items are `[i]` (`required_tools[2]`). A key
//! that is empty or holds anything but letters, digits, `_`, `$` and `-` is written as a JSON
//! string in brackets (`default_params["a.b"]`), so a path is never ambiguous.
//!
//! # Decisions where SPEC is silent
//! - A key that is absent is `REQUIRED` (when it must be present); a `null` in a column that is
//!   not nullable is `TYPE`. Without `complete`, only `name` and `workflow_type` must be present.
//! - Nesting depth counts containers: a scalar is 0, `{}` is 1, `{"a":{}}` is 2.
//!   `default_params` may be 32 deep; every other value (extra_metadata, unknown fields) is
//!   walked to [`MAX_JSON_DEPTH`] (128, serde_json's parser limit) and gets one `TOO_DEEP`
//!   beyond it. Canonical sizes are UTF-8 bytes of the RFC 8785 text (1 KiB = 1024 bytes) and are
//!   only measured on values within their depth bound.
//! - A number of magnitude above 2^53-1 is `UNSAFE_NUMBER` wherever it is, counters included
//!   (not also `OUT_OF_RANGE`). Integers may be written as `3` or `3.0`; `3.5` is `TYPE`.
//! - "Trimmed" means no leading or trailing Unicode `White_Space` and no U+FEFF, which covers
//!   both Rust's `str::trim` and JavaScript's `String.prototype.trim`. "Control character"
//!   means Unicode general category Cc.
//! - Tags are also refused with `CONTROL_CHAR` (SPEC only asks names for that); case-insensitive
//!   distinctness uses Unicode `to_lowercase` (`crate::model::case`, the same result as std's).
//! - `DUPLICATE` is reported at the later item and names the earlier index.
//! - Type consistency is one `WORKFLOW_TYPE_MISMATCH` at `workflow_type` that lists every
//!   reason; it is only judged when `workflow_type` is a valid enum value and both lists are
//!   null or arrays (or absent, in a partial record). `validate_template` applies it only without a base
//!   (`base_template_id` null or absent); `validate_spec` only without `base_template_name`.
//! - `config_hash` is compared only when `workflow_type`, `default_params`, both lists and
//!   `base_template_id` have no violation; absent fields take their defaults (`{}`, `[]`, null)
//!   and `base_template_id` is hashed in its normalised (uppercase) form.
//! - `rating` vs `rating_count` (`INCONSISTENT`, at `rating`) and `updated_at >= created_at`
//!   (`TIME_ORDER`, at `updated_at`) are judged only when both sides are present and valid.
//!   No order is imposed on `last_used_at`, nor a link between `success_rate` and usage.
//! - A top-level `__proto__` key is `FORBIDDEN_KEY`, not also `UNKNOWN_FIELD`; the same holds
//!   in [`check_writable`].
//! - U+0000 (NUL) is refused in every string of a record, and in every object key inside
//!   `default_params` / `extra_metadata` (and unknown fields): `CONTROL_CHAR` at its path
//!   (description and changelog otherwise allow control characters such as newlines). SPEC is
//!   silent; PostgreSQL `text` and `jsonb` cannot hold U+0000, and the same rule holds on every
//!   backend. `canonicalJson` / the config hash still accept it (they are not record validation).
//! - Lone UTF-16 surrogates cannot exist in a Rust `String`: the JS boundary (`js/convert.js`)
//!   finds them in JS values and in JSON text Rust's parser refuses, and [`boundary::merge`]
//!   reports them (`LONE_SURROGATE`, with their paths) among the violations found here.

pub mod boundary;
mod json;

pub use json::{
    check_json_value, check_json_value_with_depth, index_path, is_unsafe_number, json_depth, key_path, push_index,
    push_key, quoted, type_name, MAX_JSON_DEPTH,
};

use serde_json::{Map, Number, Value};

use crate::error::Violation;
use crate::hash::{self, ConfigParts};
use crate::model::id::normalize_id;
use crate::model::time::parse_ms;
use crate::model::{TemplateCategory, WorkflowType, MAX_SAFE_INTEGER};

mod codes;
mod fields;

pub use codes::*;
pub use fields::{
    check_default_params, check_extra_metadata, check_name, check_resource_list, check_tags, is_resource_name, is_trimmed,
};
pub(crate) use fields::Seen;
use fields::{check_text, not_an_object, type_violation};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Every column must be present (records from storage, the network or an import). When
    /// false, catalog-maintained fields may be absent, but are checked when present.
    pub complete: bool,
    /// Accept `is_builtin: true` (only the built-in registry itself sets this).
    pub allow_builtin: bool,
}

// ---- record rules ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    Timestamp,
    Name,
    Text,
    WorkflowType,
    Category,
    Params,
    Resources,
    Tags,
    Metadata,
    Bool,
    Builtin,
    Version,
    Counter,
    Rating,
    UnitRate,
    NonNegInt,
    NonNegFloat,
    Hash,
}

struct Rule {
    name: &'static str,
    kind: Kind,
    nullable: bool,
}

const fn r(name: &'static str, kind: Kind, nullable: bool) -> Rule {
    Rule { name, kind, nullable }
}

/// The columns of `workflow_templates`, in schema order.
const TEMPLATE_RULES: &[Rule] = &[
    r("id", Kind::Id, false),
    r("created_at", Kind::Timestamp, false),
    r("updated_at", Kind::Timestamp, false),
    r("owner_id", Kind::Id, false),
    r("name", Kind::Name, false),
    r("description", Kind::Text, false),
    r("workflow_type", Kind::WorkflowType, false),
    r("category", Kind::Category, false),
    r("default_params", Kind::Params, false),
    r("required_tools", Kind::Resources, true),
    r("required_retrievers", Kind::Resources, true),
    r("base_template_id", Kind::Id, true),
    r("is_builtin", Kind::Builtin, false),
    r("version", Kind::Version, false),
    r("is_latest", Kind::Bool, false),
    r("changelog", Kind::Text, true),
    r("is_public", Kind::Bool, false),
    r("rating", Kind::Rating, true),
    r("rating_count", Kind::Counter, false),
    r("usage_count", Kind::Counter, false),
    r("success_rate", Kind::UnitRate, true),
    r("avg_response_time_ms", Kind::NonNegInt, true),
    r("last_used_at", Kind::Timestamp, true),
    r("total_tokens_used", Kind::Counter, false),
    r("total_cost", Kind::NonNegFloat, false),
    r("avg_tokens_per_use", Kind::NonNegFloat, true),
    r("tags", Kind::Tags, true),
    r("extra_metadata", Kind::Metadata, true),
    r("config_hash", Kind::Hash, false),
    r("estimated_complexity", Kind::NonNegInt, true),
];

/// The columns of `template_specs`, in schema order.
const SPEC_RULES: &[Rule] = &[
    r("id", Kind::Id, false),
    r("created_at", Kind::Timestamp, false),
    r("updated_at", Kind::Timestamp, false),
    r("owner_id", Kind::Id, false),
    r("name", Kind::Name, false),
    r("description", Kind::Text, false),
    r("workflow_type", Kind::WorkflowType, false),
    r("default_params", Kind::Params, false),
    r("required_tools", Kind::Resources, true),
    r("required_retrievers", Kind::Resources, true),
    r("base_template_name", Kind::Name, true),
    r("usage_count", Kind::Counter, false),
    r("last_used_at", Kind::Timestamp, true),
    r("tags", Kind::Tags, true),
    r("extra_metadata", Kind::Metadata, true),
];

/// Fields that must be present even in a partial (create/update) record.
const ALWAYS_REQUIRED: &[&str] = &["name", "workflow_type"];

/// The column names of `workflow_templates`, in schema order.
pub fn template_columns() -> impl Iterator<Item = &'static str> {
    TEMPLATE_RULES.iter().map(|r| r.name)
}

/// The column names of `template_specs`, in schema order.
pub fn spec_columns() -> impl Iterator<Item = &'static str> {
    SPEC_RULES.iter().map(|r| r.name)
}

/// Validates a `workflow_templates` record given as untyped JSON; returns every violation
/// (empty when valid).
pub fn validate_template(v: &Value, opts: Options) -> Vec<Violation> {
    let Some(obj) = v.as_object() else {
        return vec![not_an_object(v, "a workflow template")];
    };
    let mut out = Vec::new();
    check_fields(obj, TEMPLATE_RULES, opts, &mut out);

    // rating is null exactly when rating_count is 0.
    if let (Some(rating), Some(count)) = (obj.get("rating"), obj.get("rating_count")) {
        if !has_violation(&out, "rating") && !has_violation(&out, "rating_count") {
            if let Some(n) = count.as_number().and_then(integer) {
                match (rating.is_null(), n == 0) {
                    (true, false) => out.push(Violation::new(
                        "rating",
                        INCONSISTENT,
                        format!(
                            "rating is null but rating_count is {n}; it must be null exactly when rating_count is 0"
                        ),
                    )),
                    (false, true) => {
                        out.push(Violation::new("rating", INCONSISTENT, "rating must be null while rating_count is 0"))
                    }
                    _ => {}
                }
            }
        }
    }
    check_time_order(obj, &mut out);

    let has_base = obj.get("base_template_id").is_some_and(|b| !b.is_null());
    if !has_base {
        check_record_consistency(obj, opts.complete, &mut out);
    }
    check_config_hash(obj, &mut out);
    out
}

/// Validates a `template_specs` record given as untyped JSON; returns every violation
/// (empty when valid).
pub fn validate_spec(v: &Value, opts: Options) -> Vec<Violation> {
    let Some(obj) = v.as_object() else {
        return vec![not_an_object(v, "a template spec")];
    };
    let mut out = Vec::new();
    check_fields(obj, SPEC_RULES, opts, &mut out);
    check_time_order(obj, &mut out);
    let has_base = obj.get("base_template_name").is_some_and(|b| !b.is_null());
    if !has_base {
        check_record_consistency(obj, opts.complete, &mut out);
    }
    out
}

/// Refuses fields a caller may not write (`READ_ONLY`) and fields that do not exist
/// (`UNKNOWN_FIELD`) in a create or update payload. A `__proto__` key is `FORBIDDEN_KEY`.
pub fn check_writable(patch: &Map<String, Value>, read_only: &[&str], writable: &[&str], out: &mut Vec<Violation>) {
    for key in patch.keys() {
        let field = key_path("", key);
        if read_only.contains(&key.as_str()) {
            out.push(Violation::new(field, READ_ONLY, format!("{key} is maintained by the catalog and cannot be set")));
        } else if writable.contains(&key.as_str()) {
            // fine
        } else if key == "__proto__" {
            out.push(Violation::new(field, FORBIDDEN_KEY, "the object key \"__proto__\" is not allowed"));
        } else {
            out.push(Violation::new(field, UNKNOWN_FIELD, format!("unknown field {}", json::quoted(key))));
        }
    }
}

/// SPEC section 3's workflow-type rule, applied to an effective configuration: `plain` has no
/// tools and no retrievers; `tools` >= 1 tool and no retrievers; `rag` >= 1 retriever and no
/// tools; `full` >= 1 of each. At most one `WORKFLOW_TYPE_MISMATCH` at `workflow_type`.
pub fn check_type_consistency(wt: WorkflowType, tools: &[String], retrievers: &[String], out: &mut Vec<Violation>) {
    type_consistency(wt, tools.len(), retrievers.len(), out);
}

fn type_consistency(wt: WorkflowType, tools: usize, retrievers: usize, out: &mut Vec<Violation>) {
    let (need_tools, need_retrievers) = wt.needs();
    let mut reasons = Vec::new();
    match (need_tools, tools) {
        (true, 0) => reasons.push("needs at least one required tool".to_string()),
        (false, n) if n > 0 => reasons.push(format!("must have no required tools (has {n})")),
        _ => {}
    }
    match (need_retrievers, retrievers) {
        (true, 0) => reasons.push("needs at least one required retriever".to_string()),
        (false, n) if n > 0 => reasons.push(format!("must have no required retrievers (has {n})")),
        _ => {}
    }
    if !reasons.is_empty() {
        out.push(Violation::new(
            "workflow_type",
            WORKFLOW_TYPE_MISMATCH,
            format!("workflow_type \"{}\" {}", wt.as_str(), reasons.join(" and ")),
        ));
    }
}

// ---- internals ---------------------------------------------------------------------------

/// Is there a violation at `field` or anywhere below it?
fn has_violation(out: &[Violation], field: &str) -> bool {
    out.iter().any(|v| {
        v.field == field
            || v.field.strip_prefix(field).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

/// A safe integral number as i64 (`3` and `3.0` both qualify); `None` for fractions and for
/// numbers outside the safe range.
fn integer(n: &Number) -> Option<i64> {
    if is_unsafe_number(n) {
        return None;
    }
    if let Some(u) = n.as_u64() {
        return i64::try_from(u).ok();
    }
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // |f| <= 2^53-1 here, so the cast is exact.
    (f.fract() == 0.0).then_some(f as i64)
}

fn check_fields(obj: &Map<String, Value>, rules: &[Rule], opts: Options, out: &mut Vec<Violation>) {
    for rule in rules {
        let field = rule.name;
        let Some(v) = obj.get(field) else {
            if opts.complete || ALWAYS_REQUIRED.contains(&field) {
                out.push(Violation::new(field, REQUIRED, format!("{field} is required")));
            }
            continue;
        };
        // The generic walk (params and metadata do their own, with their own bounds).
        if !matches!(rule.kind, Kind::Params | Kind::Metadata) {
            check_json_value(v, field, out);
        }
        if v.is_null() {
            if !rule.nullable {
                out.push(Violation::new(field, TYPE, format!("{field} must not be null")));
            }
            continue;
        }
        check_kind(rule.kind, v, field, opts, out);
    }
    for (key, v) in obj {
        if rules.iter().any(|r| r.name == key) {
            continue;
        }
        let field = key_path("", key);
        if key == "__proto__" {
            out.push(Violation::new(field.clone(), FORBIDDEN_KEY, "the object key \"__proto__\" is not allowed"));
        } else {
            out.push(Violation::new(field.clone(), UNKNOWN_FIELD, format!("unknown field {}", json::quoted(key))));
        }
        check_json_value(v, &field, out);
    }
}

fn check_kind(kind: Kind, v: &Value, field: &str, opts: Options, out: &mut Vec<Violation>) {
    match kind {
        Kind::Id => match v.as_str() {
            Some(s) if normalize_id(s).is_some() => {}
            Some(_) => out.push(Violation::new(
                field,
                INVALID_ID,
                format!("{field} must be a ULID (26 characters of Crockford base32)"),
            )),
            None => out.push(type_violation(field, "a string (ULID)", v)),
        },
        Kind::Timestamp => match v.as_str() {
            Some(s) if parse_ms(s).is_some() => {}
            Some(_) => out.push(Violation::new(
                field,
                INVALID_TIMESTAMP,
                format!("{field} must be an RFC 3339 timestamp such as 2026-11-25T18:40:17.123Z"),
            )),
            None => out.push(type_violation(field, "a string (RFC 3339 timestamp)", v)),
        },
        Kind::Name => match v.as_str() {
            Some(s) => check_name(s, field, out),
            None => out.push(type_violation(field, "a string", v)),
        },
        Kind::Text => match v.as_str() {
            Some(s) => check_text(s, field, out),
            None => out.push(type_violation(field, "a string", v)),
        },
        Kind::WorkflowType => match v.as_str() {
            Some(s) if WorkflowType::parse(s).is_some() => {}
            Some(_) => out.push(Violation::new(
                field,
                INVALID_ENUM,
                format!("{field} must be one of {}", enum_list(WorkflowType::ALL.iter().map(|t| t.as_str()))),
            )),
            None => out.push(type_violation(field, "a string", v)),
        },
        Kind::Category => match v.as_str() {
            Some(s) if TemplateCategory::parse(s).is_some() => {}
            Some(_) => out.push(Violation::new(
                field,
                INVALID_ENUM,
                format!("{field} must be one of {}", enum_list(TemplateCategory::ALL.iter().map(|t| t.as_str()))),
            )),
            None => out.push(type_violation(field, "a string", v)),
        },
        Kind::Params => check_default_params(v, field, out),
        Kind::Metadata => check_extra_metadata(v, field, out),
        Kind::Resources => check_resource_list(v, field, out),
        Kind::Tags => check_tags(v, field, out),
        Kind::Bool => {
            if !v.is_boolean() {
                out.push(type_violation(field, "a boolean", v));
            }
        }
        Kind::Builtin => match v.as_bool() {
            Some(true) if !opts.allow_builtin => out.push(Violation::new(
                field,
                BUILTIN_CLAIM,
                "is_builtin is true only for the built-in registry; a user record cannot claim it",
            )),
            Some(_) => {}
            None => out.push(type_violation(field, "a boolean", v)),
        },
        Kind::Version => check_integer(v, field, 1, out),
        Kind::Counter | Kind::NonNegInt => check_integer(v, field, 0, out),
        Kind::Rating => check_float(v, field, 0.0, Some(5.0), out),
        Kind::UnitRate => check_float(v, field, 0.0, Some(1.0), out),
        Kind::NonNegFloat => check_float(v, field, 0.0, None, out),
        Kind::Hash => match v.as_str() {
            Some(s) if hash::is_hash(s) => {}
            Some(_) => {
                out.push(Violation::new(field, PATTERN, format!("{field} must be 64 lowercase hexadecimal characters")))
            }
            None => out.push(type_violation(field, "a string", v)),
        },
    }
}

fn enum_list<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values.map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

/// An integer in `min..=2^53-1`. Unsafe magnitudes were already reported by the generic walk.
fn check_integer(v: &Value, field: &str, min: i64, out: &mut Vec<Violation>) {
    let Some(n) = v.as_number() else {
        out.push(type_violation(field, "an integer", v));
        return;
    };
    if is_unsafe_number(n) {
        return;
    }
    match integer(n) {
        Some(i) if i < min => out.push(Violation::new(
            field,
            OUT_OF_RANGE,
            format!("{field} must be an integer from {min} to {MAX_SAFE_INTEGER} (got {i})"),
        )),
        Some(_) => {}
        None => out.push(Violation::new(field, TYPE, format!("{field} must be an integer (got {n})"))),
    }
}

/// A finite number in `min..=max`. Unsafe magnitudes were already reported by the generic walk.
fn check_float(v: &Value, field: &str, min: f64, max: Option<f64>, out: &mut Vec<Violation>) {
    let Some(n) = v.as_number() else {
        out.push(type_violation(field, "a number", v));
        return;
    };
    if is_unsafe_number(n) {
        return;
    }
    let Some(f) = n.as_f64() else { return };
    let ok = f >= min && max.is_none_or(|m| f <= m);
    if !ok {
        // Bounds written as JavaScript writes numbers (as RFC 8785 numbers are: ryu-js
        // natively, zmij's digits on wasm32), not with `{:?}`: f64's Debug pulls in core's
        // float formatting (~20 KB of wasm).
        let js = crate::hash::js_number;
        let range = match max {
            Some(m) => format!("from {} to {}", js(min), js(m)),
            None => format!("at least {}", js(min)),
        };
        out.push(Violation::new(field, OUT_OF_RANGE, format!("{field} must be {range} (got {n})")));
    }
}

fn check_time_order(obj: &Map<String, Value>, out: &mut Vec<Violation>) {
    if has_violation(out, "created_at") || has_violation(out, "updated_at") {
        return;
    }
    let created = obj.get("created_at").and_then(Value::as_str).and_then(parse_ms);
    let updated = obj.get("updated_at").and_then(Value::as_str).and_then(parse_ms);
    if let (Some(c), Some(u)) = (created, updated) {
        if u < c {
            out.push(Violation::new("updated_at", TIME_ORDER, "updated_at must not be earlier than created_at"));
        }
    }
}

/// The number of items of a list column when it is structurally valid for the type rule:
/// null is 0, absent is 0 unless the record must be complete, an array is its length;
/// anything else cannot be judged.
fn list_len(obj: &Map<String, Value>, field: &str, complete: bool) -> Option<usize> {
    match obj.get(field) {
        None if complete => None,
        None | Some(Value::Null) => Some(0),
        Some(Value::Array(a)) => Some(a.len()),
        Some(_) => None,
    }
}

fn check_record_consistency(obj: &Map<String, Value>, complete: bool, out: &mut Vec<Violation>) {
    let Some(wt) = obj.get("workflow_type").and_then(Value::as_str).and_then(WorkflowType::parse) else {
        return;
    };
    if let (Some(t), Some(r)) =
        (list_len(obj, "required_tools", complete), list_len(obj, "required_retrievers", complete))
    {
        type_consistency(wt, t, r, out);
    }
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        Some(_) => None,
    }
}

fn check_config_hash(obj: &Map<String, Value>, out: &mut Vec<Violation>) {
    let Some(given) = obj.get("config_hash").and_then(Value::as_str) else { return };
    if !hash::is_hash(given) {
        return;
    }
    const CONFIG_FIELDS: [&str; 5] =
        ["workflow_type", "default_params", "required_tools", "required_retrievers", "base_template_id"];
    if CONFIG_FIELDS.iter().any(|f| has_violation(out, f)) {
        return;
    }
    let Some(workflow_type) = obj.get("workflow_type").and_then(Value::as_str).and_then(WorkflowType::parse) else {
        return;
    };
    let empty = Map::new();
    let default_params = match obj.get("default_params") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return,
    };
    let (Some(tools), Some(retrievers)) =
        (string_list(obj.get("required_tools")), string_list(obj.get("required_retrievers")))
    else {
        return;
    };
    let base = match obj.get("base_template_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match normalize_id(s) {
            Some(id) => Some(id),
            None => return,
        },
        Some(_) => return,
    };
    let expected = hash::config_hash(&ConfigParts {
        workflow_type,
        default_params,
        required_tools: &tools,
        required_retrievers: &retrievers,
        base_template_id: base.as_deref(),
    });
    if expected != given {
        out.push(Violation::new(
            "config_hash",
            HASH_MISMATCH,
            format!("config_hash does not match the record's configuration: expected {expected}, got {given}"),
        ));
    }
}

#[cfg(test)]
mod tests;
