//! Generic checks that apply to every JSON value anywhere in a record: safe numbers, forbidden
//! keys, no U+0000 in strings or keys, and a bounded nesting depth. Also the field-path syntax shared by all violations.

use std::fmt::Write as _;

use serde_json::{Number, Value};

use super::{CONTROL_CHAR, FORBIDDEN_KEY, TOO_DEEP, UNSAFE_NUMBER};
use crate::error::Violation;
use crate::model::MAX_SAFE_INTEGER;

/// Hard bound on the nesting depth of any JSON value the validator descends into. It equals
/// serde_json's own parser limit, so anything that went through JSON text is below it; values
/// built programmatically deeper than this get one `TOO_DEEP` and are not descended further
/// (so no walk can exhaust the stack).
pub const MAX_JSON_DEPTH: usize = 128;

/// Appends an object key to a field path: `a.key` for simple keys (letters, digits, `_`, `$`,
/// `-`), `a["odd key"]` (a JSON string literal in brackets) for any other key, including the
/// empty key and keys containing `.`, `[` or `]`, so paths are never ambiguous.
pub fn push_key(path: &mut String, key: &str) {
    let simple = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '-');
    if simple {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&quoted(key));
        path.push(']');
    }
}

/// `s` as a JSON string literal (RFC 8259 section 7), the quoting of field paths and of names in
/// messages. Not `{:?}`: Rust's Debug escaping keeps core's `printable` tables in the wasm
/// (BENCHMARKS.md "Size", issue 12).
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"?\""))
}

/// Appends an array index to a field path: `a[3]`.
pub fn push_index(path: &mut String, i: usize) {
    let _ = write!(path, "[{i}]");
}

/// The path of `key` under `base`.
pub fn key_path(base: &str, key: &str) -> String {
    let mut p = base.to_string();
    push_key(&mut p, key);
    p
}

/// The path of item `i` under `base`.
pub fn index_path(base: &str, i: usize) -> String {
    let mut p = base.to_string();
    push_index(&mut p, i);
    p
}

/// Is this number outside the I-JSON safe range (magnitude above 2^53-1)? serde_json cannot
/// hold NaN or infinities, but a non-finite value is treated as unsafe all the same.
pub fn is_unsafe_number(n: &Number) -> bool {
    if let Some(u) = n.as_u64() {
        u > MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() > MAX_SAFE_INTEGER
    } else {
        match n.as_f64() {
            Some(f) => !f.is_finite() || f.abs() > MAX_SAFE_INTEGER as f64,
            None => true,
        }
    }
}

/// Nesting depth of a value, counting containers: a scalar is 0, `{}` and `[]` are 1,
/// `{"a":{}}` is 2. The walk is iterative and stops descending below `cap`, so the result is
/// `min(depth, cap + 1)`: enough to tell whether a value exceeds `cap`, on any input.
pub fn json_depth(v: &Value, cap: usize) -> usize {
    let mut max = 0usize;
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                max = max.max(d);
                if d <= cap {
                    stack.extend(a.iter().filter(|c| c.is_array() || c.is_object()).map(|c| (c, d + 1)));
                }
            }
            Value::Object(m) => {
                max = max.max(d);
                if d <= cap {
                    stack.extend(m.values().filter(|c| c.is_array() || c.is_object()).map(|c| (c, d + 1)));
                }
            }
            _ => {}
        }
    }
    max
}

struct Walker<'a> {
    out: &'a mut Vec<Violation>,
    max_depth: usize,
    too_deep: bool,
}

impl Walker<'_> {
    /// `depth` is the depth `v` has if it is a container (the root container is 1).
    fn walk(&mut self, v: &Value, path: &mut String, depth: usize) {
        match v {
            Value::Number(n) if is_unsafe_number(n) => {
                self.out.push(Violation::new(
                    path.clone(),
                    UNSAFE_NUMBER,
                    format!(
                        "{} is {n}, outside the safe range -(2^53-1)..=2^53-1 (JavaScript cannot hold it exactly)",
                        describe(path)
                    ),
                ));
            }
            Value::String(s) if s.contains('\0') => self.nul(path, "string"),
            Value::Array(a) => {
                if !self.enter(path, depth) {
                    return;
                }
                for (i, x) in a.iter().enumerate() {
                    let len = path.len();
                    push_index(path, i);
                    self.walk(x, path, depth + 1);
                    path.truncate(len);
                }
            }
            Value::Object(m) => {
                if !self.enter(path, depth) {
                    return;
                }
                for (k, x) in m {
                    let len = path.len();
                    push_key(path, k);
                    if k.contains('\0') {
                        self.nul(path, "key");
                    }
                    if k == "__proto__" {
                        self.out.push(Violation::new(
                            path.clone(),
                            FORBIDDEN_KEY,
                            format!("the object key \"__proto__\" is not allowed ({})", describe(path)),
                        ));
                    }
                    self.walk(x, path, depth + 1);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// U+0000 anywhere in a record is refused (PostgreSQL `text` and `jsonb` cannot hold it,
    /// and every backend answers the same).
    fn nul(&mut self, path: &str, what: &str) {
        self.out.push(Violation::new(
            path.to_string(),
            CONTROL_CHAR,
            format!("{} must not contain U+0000 (NUL) in a {what}", describe(path)),
        ));
    }

    fn enter(&mut self, path: &str, depth: usize) -> bool {
        if depth <= self.max_depth {
            return true;
        }
        if !self.too_deep {
            self.too_deep = true;
            self.out.push(Violation::new(
                path.to_string(),
                TOO_DEEP,
                format!("{} is nested more than {} levels deep", describe(path), self.max_depth),
            ));
        }
        false
    }
}

/// The generic checks of SPEC section 3 for any JSON value, reported under `field`: numbers of
/// magnitude above 2^53-1 (`UNSAFE_NUMBER`), `__proto__` keys (`FORBIDDEN_KEY`, at the key's
/// path), U+0000 in a string or an object key (`CONTROL_CHAR`, at its path) and nesting deeper
/// than [`MAX_JSON_DEPTH`] (`TOO_DEEP`, once). Lone UTF-16 surrogates need no check here: a
/// Rust string cannot hold one (the JS boundary and serde_json refuse them before a `Value`
/// exists).
pub fn check_json_value(v: &Value, field: &str, out: &mut Vec<Violation>) {
    check_json_value_with_depth(v, field, MAX_JSON_DEPTH, out);
}

/// [`check_json_value`] with a tighter depth bound (clamped to [`MAX_JSON_DEPTH`]); depth
/// counts containers (`{}` is 1, `{"a":{}}` is 2). Returns false when the value is too deep,
/// in which case it was not walked below the bound.
pub fn check_json_value_with_depth(v: &Value, field: &str, max_depth: usize, out: &mut Vec<Violation>) -> bool {
    let mut w = Walker { out, max_depth: max_depth.min(MAX_JSON_DEPTH), too_deep: false };
    let mut path = field.to_string();
    w.walk(v, &mut path, 1);
    !w.too_deep
}

/// How a path is named in messages.
pub(crate) fn describe(path: &str) -> String {
    if path.is_empty() {
        "the value".to_string()
    } else {
        path.to_string()
    }
}

/// The JSON type of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
