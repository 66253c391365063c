//! Checks of one field each (names, texts, lists, tags, JSON columns), shared by the record
//! rules of `mod.rs` and by callers that check one field on its own.

use serde_json::{Map, Value};

use super::json::describe;
use super::*;
use crate::error::Violation;
use crate::hash;

/// Is `c` trimmed away by `trim` (Unicode White_Space, plus U+FEFF as JavaScript does)?
pub(super) fn is_trim_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Does the string have no leading or trailing whitespace (in the sense of both Rust's and
/// JavaScript's `trim`)?
pub fn is_trimmed(s: &str) -> bool {
    !s.starts_with(is_trim_char) && !s.ends_with(is_trim_char)
}

/// Does the string match `^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$` (tool and retriever names)?
pub fn is_resource_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    b.len() <= MAX_RESOURCE_NAME_CHARS
        && b.iter().skip(1).all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'/' | b'-'))
}

/// `Ok(n)` when the string has `n <= limit` Unicode scalar values, `Err(n)` when it has more
/// (a string of at most `limit` bytes needs no second look).
pub(super) fn chars_within(s: &str, limit: usize) -> Result<usize, usize> {
    if s.len() <= limit {
        return Ok(s.chars().count());
    }
    let n = s.chars().count();
    if n <= limit {
        Ok(n)
    } else {
        Err(n)
    }
}

/// The name rules (template and spec names, base_template_name): trimmed, 1..=255 characters,
/// no control characters.
pub fn check_name(s: &str, field: &str, out: &mut Vec<Violation>) {
    check_short_text(s, field, MAX_NAME_CHARS, out);
}

pub(super) fn check_short_text(s: &str, field: &str, max: usize, out: &mut Vec<Violation>) {
    if !is_trimmed(s) {
        out.push(Violation::new(
            field,
            NOT_TRIMMED,
            format!("{} must not start or end with whitespace", describe(field)),
        ));
    }
    if s.is_empty() {
        out.push(Violation::new(field, TOO_SHORT, format!("{} must not be empty", describe(field))));
    }
    if let Err(n) = chars_within(s, max) {
        out.push(Violation::new(
            field,
            TOO_LONG,
            format!("{} must be at most {max} characters (has {n})", describe(field)),
        ));
    }
    // U+0000 was already reported by the generic walk (check_json_value) at the same path.
    let reported = out.iter().any(|v| v.field == field && v.code == CONTROL_CHAR);
    if !reported && s.chars().any(char::is_control) {
        out.push(Violation::new(
            field,
            CONTROL_CHAR,
            format!("{} must not contain control characters", describe(field)),
        ));
    }
}

/// description / changelog: at most 10,000 characters.
pub(super) fn check_text(s: &str, field: &str, out: &mut Vec<Violation>) {
    if let Err(n) = chars_within(s, MAX_TEXT_CHARS) {
        out.push(Violation::new(
            field,
            TOO_LONG,
            format!("{} must be at most {MAX_TEXT_CHARS} characters (has {n})", describe(field)),
        ));
    }
}

/// The items of a list column (null was handled by the caller): TYPE when it is not an array,
/// TOO_MANY (and still the items, to check each) when it has more than `max`.
fn string_array<'a>(v: &'a Value, field: &str, max: usize, out: &mut Vec<Violation>) -> Option<&'a [Value]> {
    let Value::Array(items) = v else {
        out.push(type_violation(field, "null or an array of strings", v));
        return None;
    };
    if items.len() > max {
        out.push(Violation::new(field, TOO_MANY, format!("{field} must have at most {max} items (has {})", items.len())));
    }
    Some(items)
}

/// Calls `f` with the index, path and text of each string item of a list column; an item that is
/// not a string is a TYPE violation.
fn each_string<'a>(items: &'a [Value], field: &str, out: &mut Vec<Violation>, mut f: impl FnMut(usize, String, &'a str, &mut Vec<Violation>)) {
    for (i, item) in items.iter().enumerate() {
        let path = index_path(field, i);
        match item.as_str() {
            Some(s) => f(i, path, s, out),
            None => out.push(type_violation(&path, "a string", item)),
        }
    }
}

/// The index where each item of a list was first seen. Kept in a `serde_json::Map` (a B-tree of
/// `String` to `Value`) rather than a `HashMap`: the wasm carries that map's code anyway, and a
/// hash map would add hashbrown and SipHash for three small sets (BENCHMARKS.md, "Size").
#[derive(Default)]
pub(crate) struct Seen(Map<String, Value>);

impl Seen {
    /// `None` when `key` is new (it is recorded at `index`); else the index it was first seen at.
    pub(crate) fn first(&mut self, key: String, index: usize) -> Option<u64> {
        match self.0.get(&key) {
            Some(first) => first.as_u64(),
            None => {
                self.0.insert(key, Value::from(index as u64));
                None
            }
        }
    }
}

/// required_tools / required_retrievers (non-null): an array of at most 64 distinct strings
/// matching [`RESOURCE_NAME_PATTERN`].
pub fn check_resource_list(v: &Value, field: &str, out: &mut Vec<Violation>) {
    let Some(items) = string_array(v, field, MAX_RESOURCES, out) else { return };
    let mut seen = Seen::default();
    each_string(items, field, out, |i, path, s, out| {
        if !is_resource_name(s) {
            out.push(Violation::new(
                path.clone(),
                PATTERN,
                format!("{path} must match {RESOURCE_NAME_PATTERN} (1..=128 characters: letters, digits, _ . : / -, starting with a letter or digit)"),
            ));
        }
        if let Some(first) = seen.first(s.to_string(), i) {
            out.push(Violation::new(path.clone(), DUPLICATE, format!("{path} repeats {field}[{first}]")));
        }
    });
}

/// tags (non-null): an array of at most 32 strings, each trimmed, 1..=64 characters, without
/// control characters, distinct case-insensitively.
pub fn check_tags(v: &Value, field: &str, out: &mut Vec<Violation>) {
    let Some(items) = string_array(v, field, MAX_TAGS, out) else { return };
    let mut seen = Seen::default();
    each_string(items, field, out, |i, path, s, out| {
        check_short_text(s, &path, MAX_TAG_CHARS, out);
        if let Some(first) = seen.first(crate::model::case::to_lowercase(s), i) {
            out.push(Violation::new(
                path.clone(),
                DUPLICATE,
                format!("{path} repeats {field}[{first}] (tags are compared case-insensitively)"),
            ));
        }
    });
}

/// default_params: a JSON object, nesting depth <= 32, canonical size <= 256 KiB, plus the
/// generic checks of [`check_json_value`] on everything inside.
pub fn check_default_params(v: &Value, field: &str, out: &mut Vec<Violation>) {
    check_json_object(v, field, MAX_PARAMS_DEPTH, MAX_PARAMS_BYTES, "256 KiB", "an object", out);
}

/// extra_metadata (non-null): a JSON object, canonical size <= 64 KiB, plus the generic checks.
pub fn check_extra_metadata(v: &Value, field: &str, out: &mut Vec<Violation>) {
    check_json_object(v, field, MAX_JSON_DEPTH, MAX_METADATA_BYTES, "64 KiB", "null or an object", out);
}

/// A JSON object column: the generic checks to `depth`, then (only within its depth bound) its
/// canonical size against `max` bytes (`label` says it for people).
fn check_json_object(v: &Value, field: &str, depth: usize, max: usize, label: &str, expected: &str, out: &mut Vec<Violation>) {
    let shallow = check_json_value_with_depth(v, field, depth, out);
    if !v.is_object() {
        return out.push(type_violation(field, expected, v));
    }
    if !shallow {
        return;
    }
    let size = hash::canonical_len(v);
    if size > max {
        out.push(Violation::new(
            field,
            TOO_LARGE,
            format!("{field} is {size} bytes in canonical JSON; the limit is {label} ({max} bytes)"),
        ));
    }
}

pub(super) fn not_an_object(v: &Value, what: &str) -> Violation {
    Violation::new("", TYPE, format!("{what} must be a JSON object, got {}", type_name(v)))
}

pub(super) fn type_violation(field: &str, expected: &str, got: &Value) -> Violation {
    Violation::new(field, TYPE, format!("{} must be {expected}, got {}", describe(field), type_name(got)))
}
