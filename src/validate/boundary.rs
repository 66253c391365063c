//! Problems found where values enter from outside (a JS value walked by `js/convert.js`, JSON
//! text that Rust's parser refused) are reported as violations like any other, merged with
//! what validation finds in the rest of the value.
//!
//! Where a problem was found, the value handed on holds a placeholder: `null` for an offending
//! value, nothing for an offending key. [`merge`] drops what validation says only because of a
//! placeholder, so every reported violation is true of what the caller passed:
//! - anything at or inside the offending spot (a `null` name is not also `TYPE`, an absent key
//!   not also `REQUIRED`), except `UNKNOWN_FIELD` and `READ_ONLY`, which are about the key;
//! - `TYPE` on a value that holds the offending spot, the root excepted (a record that does not
//!   deserialise because one of its numbers is a placeholder, as an imported rating row);
//! - `HASH_MISMATCH` of a record whose configuration fields hold an offending spot (the hash of
//!   a placeholder says nothing), and `WORKFLOW_TYPE_MISMATCH` of a record whose tool or
//!   retriever list as a whole is the offending value (its length is unknown);
//! - every rule violation when more problems were found than are listed (hostile input: the
//!   list is cut short, so the placeholders can no longer be told apart).

use serde_json::{Map, Value};

use super::json::{push_index, push_key};
use super::{FORBIDDEN_KEY, HASH_MISMATCH, READ_ONLY, TOO_DEEP, TOO_LARGE, TYPE, UNKNOWN_FIELD, WORKFLOW_TYPE_MISMATCH};
use crate::error::Violation;

/// Containers nested this deep (the root is 0) are refused; the same bound as `js/convert.js`.
pub const MAX_DEPTH: usize = 64;
/// Longer arrays are refused without a walk; the same bound as `js/convert.js`.
pub const MAX_ITEMS: usize = 262_144;

/// A top-level key added to a record whose conversion found problems before it goes to an
/// operation that writes (create, update, import...): every such operation refuses an unknown
/// field with `UNKNOWN_FIELD` before it writes anything, so the operation reports every rule
/// violation of the rest of the record and is certain to fail. [`merge`] removes it again.
/// (tests/boundary_guard.rs checks that every writing operation refuses it.)
pub const GUARD_KEY: &str = "\u{0}boundary problems found";

/// Is `field` the path `at`, or a path inside it?
pub fn is_within(field: &str, at: &str) -> bool {
    at.is_empty() || field.strip_prefix(at).is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The path of the record a violation of `field` at `column` belongs to (`""` for a top-level
/// column, `workflow_templates[3]` for one inside an import bundle).
fn record_of<'a>(field: &'a str, column: &str) -> Option<&'a str> {
    let rest = field.strip_suffix(column)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_suffix('.')
    }
}

fn column_path(record: &str, column: &str) -> String {
    let mut p = record.to_string();
    push_key(&mut p, column);
    p
}

/// Is this rule violation there only because of a placeholder at one of `problems`?
fn caused_by_placeholder(r: &Violation, problems: &[Violation]) -> bool {
    problems.iter().any(|p| {
        let at = p.field.as_str();
        if is_within(&r.field, at) {
            return !(r.field == at && (r.code == UNKNOWN_FIELD || r.code == READ_ONLY));
        }
        if r.code == TYPE && !r.field.is_empty() && is_within(at, &r.field) {
            return true;
        }
        if r.code == HASH_MISMATCH {
            if let Some(rec) = record_of(&r.field, "config_hash") {
                return ["workflow_type", "default_params", "required_tools", "required_retrievers", "base_template_id"]
                    .iter()
                    .any(|c| is_within(at, &column_path(rec, c)));
            }
        }
        if r.code == WORKFLOW_TYPE_MISMATCH {
            if let Some(rec) = record_of(&r.field, "workflow_type") {
                return ["required_tools", "required_retrievers"].iter().any(|c| at == column_path(rec, c));
            }
        }
        false
    })
}

/// What a caller is told: the rule violations not caused by a placeholder (and not about the
/// [`GUARD_KEY`]), then the boundary problems. `dropped` counts problems found beyond those
/// listed; when there are any, only the problems are reported, with one summary line.
pub fn merge(problems: Vec<Violation>, dropped: usize, rules: Vec<Violation>) -> Vec<Violation> {
    let guard = column_path("", GUARD_KEY);
    let rules = rules.into_iter().filter(|r| !(r.code == UNKNOWN_FIELD && (r.field == guard || r.field == GUARD_KEY)));
    let mut out: Vec<Violation> = if dropped > 0 || problems.is_empty() {
        rules.filter(|_| dropped == 0).collect()
    } else {
        rules.filter(|r| !caused_by_placeholder(r, &problems)).collect()
    };
    out.extend(problems);
    if dropped > 0 {
        out.push(Violation::new("", TOO_LARGE, format!("and {dropped} more problems")));
    }
    out
}

/// Adds [`GUARD_KEY`] to an object (anything else is refused as a whole by every operation).
pub fn guard(v: &mut Value) {
    if let Value::Object(m) = v {
        m.insert(GUARD_KEY.to_string(), Value::Bool(true));
    }
}

/// The bounds `js/convert.js` applies, applied to a value parsed from JSON text, so that text
/// and the same value passed as a JS value give the same answer: containers nested
/// [`MAX_DEPTH`] deep and arrays longer than [`MAX_ITEMS`] become `null`, `__proto__` keys are
/// removed, each with its violation (and the same message) in `out`.
pub fn bound_parsed(v: &mut Value, out: &mut Vec<Violation>) {
    let mut path = String::new();
    bound(v, 0, &mut path, out);
}

fn bound(v: &mut Value, depth: usize, path: &mut String, out: &mut Vec<Violation>) {
    if !(v.is_array() || v.is_object()) {
        return;
    }
    if depth >= MAX_DEPTH {
        out.push(Violation::new(path.clone(), TOO_DEEP, format!("nested deeper than {MAX_DEPTH} levels")));
        *v = Value::Null;
        return;
    }
    match v {
        Value::Array(a) => {
            if a.len() > MAX_ITEMS {
                out.push(Violation::new(path.clone(), TOO_LARGE, format!("array of {} items (at most {MAX_ITEMS})", a.len())));
                *v = Value::Null;
                return;
            }
            for (i, x) in a.iter_mut().enumerate() {
                let len = path.len();
                push_index(path, i);
                bound(x, depth + 1, path, out);
                path.truncate(len);
            }
        }
        Value::Object(m) => {
            if m.contains_key("__proto__") {
                let len = path.len();
                push_key(path, "__proto__");
                out.push(Violation::new(path.clone(), FORBIDDEN_KEY, "the key __proto__ is not allowed"));
                path.truncate(len);
                m.remove("__proto__");
            }
            bound_map(m, depth, path, out);
        }
        _ => {}
    }
}

fn bound_map(m: &mut Map<String, Value>, depth: usize, path: &mut String, out: &mut Vec<Violation>) {
    for (k, x) in m.iter_mut() {
        let len = path.len();
        push_key(path, k);
        bound(x, depth + 1, path, out);
        path.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(field: &str, code: &str) -> Violation {
        Violation::new(field, code, "m")
    }

    fn keys(list: &[Violation]) -> Vec<String> {
        list.iter().map(|x| format!("{} {}", x.field, x.code)).collect()
    }

    #[test]
    fn within_respects_segment_boundaries() {
        assert!(is_within("a", ""));
        assert!(is_within("a.b", "a"));
        assert!(is_within("a[0]", "a"));
        assert!(is_within("a[\"x.y\"].z", "a[\"x.y\"]"));
        assert!(is_within("a", "a"));
        assert!(!is_within("ab", "a"));
        assert!(!is_within("a", "a.b"));
        assert!(!is_within("", "a"));
    }

    #[test]
    fn merge_drops_only_what_placeholders_caused() {
        let problems = vec![v("name", "LONE_SURROGATE"), v("default_params.k", TYPE), v("ratings[0].stars", "NOT_FINITE"), v("foo", TYPE)];
        let rules = vec![
            v("name", TYPE),                       // the placeholder itself
            v("name", "REQUIRED"),                 // an absent placeholder
            v("workflow_type", "INVALID_ENUM"),    // an unrelated rule: kept
            v("config_hash", HASH_MISMATCH),       // hash of a placeholder
            v("ratings[0]", TYPE),                 // the row did not deserialise because of it
            v("ratings", TYPE),                    // (contains it too)
            v("", TYPE),                           // the root: kept
            v("foo", UNKNOWN_FIELD),               // about the key: kept
            v("default_params.kk", "UNSAFE_NUMBER"), // a sibling whose name starts alike: kept
            v("[\"\\u0000boundary problems found\"]", UNKNOWN_FIELD), // the guard
        ];
        let out = merge(problems, 0, rules);
        assert_eq!(
            keys(&out),
            [
                "workflow_type INVALID_ENUM",
                " TYPE",
                "foo UNKNOWN_FIELD",
                "default_params.kk UNSAFE_NUMBER",
                "name LONE_SURROGATE",
                "default_params.k TYPE",
                "ratings[0].stars NOT_FINITE",
                "foo TYPE"
            ]
        );
    }

    #[test]
    fn merge_keeps_a_hash_mismatch_when_the_configuration_is_intact() {
        let rules = vec![v("workflow_templates[0].config_hash", HASH_MISMATCH), v("workflow_templates[1].config_hash", HASH_MISMATCH)];
        let out = merge(vec![v("workflow_templates[0].required_tools[1]", "LONE_SURROGATE"), v("workflow_templates[1].extra_metadata.k", TYPE)], 0, rules);
        assert_eq!(
            keys(&out),
            ["workflow_templates[1].config_hash HASH_MISMATCH", "workflow_templates[0].required_tools[1] LONE_SURROGATE", "workflow_templates[1].extra_metadata.k TYPE"]
        );
    }

    #[test]
    fn merge_drops_a_type_mismatch_only_when_a_whole_list_is_a_placeholder() {
        let rules = vec![v("workflow_type", WORKFLOW_TYPE_MISMATCH)];
        assert_eq!(keys(&merge(vec![v("required_tools", TYPE)], 0, rules.clone())), ["required_tools TYPE"]);
        assert_eq!(keys(&merge(vec![v("required_tools[0]", TYPE)], 0, rules)), ["workflow_type WORKFLOW_TYPE_MISMATCH", "required_tools[0] TYPE"]);
    }

    #[test]
    fn merge_without_problems_changes_nothing_and_cut_short_lists_report_problems_only() {
        let rules = vec![v("name", TYPE), v("x", "OUT_OF_RANGE")];
        assert_eq!(merge(Vec::new(), 0, rules.clone()), rules);
        assert_eq!(keys(&merge(vec![v("a", TYPE)], 7, rules)), ["a TYPE", " TOO_LARGE"]);
    }

    #[test]
    fn guard_key_path_is_the_documented_bracket_form() {
        assert_eq!(column_path("", GUARD_KEY), "[\"\\u0000boundary problems found\"]");
        let mut x = json!({"a": 1});
        guard(&mut x);
        assert_eq!(x.as_object().map(|m| m.len()), Some(2));
        let mut y = json!([1]);
        guard(&mut y);
        assert_eq!(y, json!([1]));
    }

    #[test]
    fn bound_parsed_applies_the_js_bounds() {
        let mut deep = json!(1);
        for _ in 0..70 {
            deep = json!([deep]);
        }
        let mut x = json!({"a": {"__proto__": {"x": 1}, "b": 1}, "deep": deep, "big": vec![0; MAX_ITEMS + 1], "ok": vec![0; 3]});
        let mut out = Vec::new();
        bound_parsed(&mut x, &mut out);
        let want_deep = format!("deep{}", "[0]".repeat(MAX_DEPTH - 1));
        assert_eq!(keys(&out), ["a.__proto__ FORBIDDEN_KEY".to_string(), "big TOO_LARGE".into(), format!("{want_deep} TOO_DEEP")]);
        assert_eq!(x["a"], json!({"b": 1}));
        assert_eq!(x["big"], Value::Null);
        assert_eq!(x["ok"], json!([0, 0, 0]));
        assert_eq!(x.pointer(&format!("/deep{}", "/0".repeat(MAX_DEPTH - 1))), Some(&Value::Null));
    }
}
