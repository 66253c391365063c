//! RFC 6901 JSON pointers over parameter objects, and the leaf paths of a parameter object.

use serde_json::{Map, Value};

use super::MAX_NESTING;

/// Escapes one reference token of a JSON pointer (RFC 6901 section 3): `~` becomes `~0` and
/// `/` becomes `~1`, in that order.
pub fn escape_token(key: &str) -> String {
    if !key.contains(['~', '/']) {
        return key.to_owned();
    }
    key.replace('~', "~0").replace('/', "~1")
}

/// Appends `/<escaped key>` to a pointer being built.
pub(crate) fn push_token(path: &mut String, key: &str) {
    path.push('/');
    if key.contains(['~', '/']) {
        path.push_str(&escape_token(key));
    } else {
        path.push_str(key);
    }
}

/// The pointer made of these (unescaped) keys: `["model", "a/b"]` -> `/model/a~1b`.
pub fn pointer_of<I, S>(keys: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut p = String::new();
    for k in keys {
        push_token(&mut p, k.as_ref());
    }
    p
}

/// Is a value at this level (number of pointer tokens from the params object) an object whose
/// keys are walked one by one? Objects nested [`MAX_NESTING`] levels deep or more are treated
/// as opaque values (replaced, compared and reported whole), which bounds every recursion.
#[inline]
pub(crate) fn walks_into(level: usize) -> bool {
    level < MAX_NESTING
}

/// The JSON pointer of every leaf of a parameter object: scalars, arrays, nulls and empty
/// objects, but not the interior (non-empty) objects, nor the parameter object itself (`""`).
/// Sorted by code point. Objects [`MAX_NESTING`] levels deep are reported as leaves.
pub fn leaf_pointers(params: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    for_each_leaf(params, 0, &mut path, &mut |p, _| out.push(p.to_owned()));
    crate::sort::sort_by(&mut out, |a, b| a.cmp(b));
    out
}

/// Calls `f(pointer, value)` for every leaf under `map`, whose own pointer is `path` and own
/// level `level` (the params object is level 0).
pub(crate) fn for_each_leaf(
    map: &Map<String, Value>,
    level: usize,
    path: &mut String,
    f: &mut dyn FnMut(&str, &Value),
) {
    for (k, v) in map {
        let len = path.len();
        push_token(path, k);
        match v {
            Value::Object(m) if !m.is_empty() && walks_into(level + 1) => for_each_leaf(m, level + 1, path, f),
            _ => f(path, v),
        }
        path.truncate(len);
    }
}
