//! Field-level differences between two records (SPEC section 6, `diff(idA, idB)`).

use serde::Serialize;
use serde_json::Value;

use super::pointer::{push_token, walks_into};

/// What happened at a path, in the vocabulary of JSON Patch (RFC 6902).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// The key is absent in `before` and present in `after` (`before` is reported as null).
    Add,
    /// The key is present in `before` and absent in `after` (`after` is reported as null).
    Remove,
    /// The key is present on both sides with different values.
    Replace,
}

/// One changed field: `{ path, op, before, after }`. See [`diff`] for the conventions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// RFC 6901 JSON pointer from the record root: `/name`, `/default_params/model/name`.
    pub path: String,
    /// Whether the key was added, removed or replaced; tells an absent side from a null one.
    pub op: ChangeOp,
    /// The value before; `null` when the key was absent (`op` = `add`).
    pub before: Value,
    /// The value after; `null` when the key is absent (`op` = `remove`).
    pub after: Value,
}

/// The changes between two records (or any two JSON values), as `[{ path, op, before, after }]`
/// sorted by path (code point order of the pointer strings). Nothing is skipped: the caller
/// filters out the fields it does not want (ids, timestamps, statistics...).
///
/// Conventions:
/// - Objects are walked key by key, so paths reach inside JSON columns
///   (`/default_params/model/name`). Objects nested more than [`super::MAX_NESTING`] levels deep
///   are compared whole.
/// - Arrays are values: a changed array is one change at the array's path, with both whole
///   arrays (`/required_tools`, `/tags`), never per-index changes.
/// - A key present on one side only is one change at the key's path, with the whole value
///   (an added object is not broken into its leaves). The absent side is reported as `null`,
///   and `op` (`add` / `remove`) tells it apart from an explicit `null`, which is a `replace`:
///   `{"a": null}` -> `{}` is `{ path: "/a", op: "remove", before: null, after: null }`.
/// - A change of type (object to scalar, null to object, ...) is one `replace` with both
///   whole values.
/// - Values are equal when their RFC 8785 canonical forms are equal, so numbers compare by
///   value (`1` and `1.0` are the same number, as they are for `config_hash`).
/// - If the two inputs are not both objects and differ, the single change has path `""`.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let mut path = String::new();
    diff_at(before, after, 0, &mut path, &mut out);
    crate::sort::sort_by(&mut out, |a, b| a.path.cmp(&b.path));
    out
}

fn diff_at(before: &Value, after: &Value, level: usize, path: &mut String, out: &mut Vec<Change>) {
    match (before, after) {
        (Value::Object(bm), Value::Object(am)) if walks_into(level) => {
            for (k, bv) in bm {
                let len = path.len();
                push_token(path, k);
                match am.get(k) {
                    Some(av) => diff_at(bv, av, level + 1, path, out),
                    None => out.push(Change { path: path.clone(), op: ChangeOp::Remove, before: bv.clone(), after: Value::Null }),
                }
                path.truncate(len);
            }
            for (k, av) in am {
                if !bm.contains_key(k) {
                    let len = path.len();
                    push_token(path, k);
                    out.push(Change { path: path.clone(), op: ChangeOp::Add, before: Value::Null, after: av.clone() });
                    path.truncate(len);
                }
            }
        }
        _ => {
            if !json_eq(before, after, level) {
                out.push(Change { path: path.clone(), op: ChangeOp::Replace, before: before.clone(), after: after.clone() });
            }
        }
    }
}

/// Equality of JSON values as RFC 8785 sees them: numbers by value (`1 == 1.0`, `-0 == 0`),
/// objects regardless of key order. Beyond [`super::MAX_NESTING`] levels, falls back to
/// serde_json's structural equality.
pub fn json_eq(a: &Value, b: &Value, level: usize) -> bool {
    if !walks_into(level) {
        return a == b;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x == y {
                return true;
            }
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(i), Some(j), _, _) => i == j,
                (_, _, Some(i), Some(j)) => i == j,
                _ => match (x.as_f64(), y.as_f64()) {
                    (Some(f), Some(g)) => f == g,
                    _ => false,
                },
            }
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_eq(x, y, level + 1))
        }
        (Value::Object(xm), Value::Object(ym)) => {
            xm.len() == ym.len()
                && xm.iter().all(|(k, xv)| ym.get(k).is_some_and(|yv| json_eq(xv, yv, level + 1)))
        }
        _ => a == b,
    }
}
