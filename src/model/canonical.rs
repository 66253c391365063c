//! The canonical forms of SPEC section 2 on every way into storage: ids are uppercase ULIDs,
//! timestamps `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC. Records that arrive whole (import, rows an
//! app's storage adapter hands back) are respelled here before they are checked; a value that
//! is not an id or a timestamp at all is left as it is, for validation to refuse.
//!
//! Decisions: every id field (`id`, `owner_id`, `base_template_id`, a rating's `template_id`
//! and `user_id`) is upper-cased and every timestamp (`created_at`, `updated_at`,
//! `last_used_at`) is rewritten in UTC with milliseconds (a finer fraction is truncated towards
//! the past, which keeps `updated_at >= created_at`); `config_hash` is computed and verified
//! over the canonical `base_template_id`.

use serde_json::Value;

use super::id::{is_canonical_id, normalize_id};
use super::time;
use super::{TemplateSpec, WorkflowTemplate};

/// Fields that hold ULIDs, in any of the four tables.
pub const ID_FIELDS: [&str; 5] = ["id", "owner_id", "base_template_id", "template_id", "user_id"];
/// Fields that hold timestamps, in any of the four tables.
pub const TIME_FIELDS: [&str; 3] = ["created_at", "updated_at", "last_used_at"];

/// Respells the ids and timestamps of one record given as JSON; returns the fields it changed.
pub fn respell_value(v: &mut Value) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let Value::Object(m) = v else { return changed };
    for f in ID_FIELDS {
        if let Some(Value::String(s)) = m.get_mut(f) {
            if let Some(n) = normalize_id(s).filter(|n| n != s) {
                *s = n;
                changed.push(f);
            }
        }
    }
    for f in TIME_FIELDS {
        if let Some(Value::String(s)) = m.get_mut(f) {
            if let Some(n) = time::normalize(s).filter(|n| n != s) {
                *s = n;
                changed.push(f);
            }
        }
    }
    changed
}

/// Respells a valid timestamp in place (a value that does not parse is left for validation).
pub fn respell_time(s: &mut String) {
    if let Some(n) = time::normalize(s) {
        if n != *s {
            *s = n;
        }
    }
}

/// The timestamps of a template read from storage, respelled (the same instants).
pub fn respell_template_times(t: &mut WorkflowTemplate) {
    respell_time(&mut t.created_at);
    respell_time(&mut t.updated_at);
    if let Some(s) = &mut t.last_used_at {
        respell_time(s);
    }
}

/// The same for a spec.
pub fn respell_spec_times(s: &mut TemplateSpec) {
    respell_time(&mut s.created_at);
    respell_time(&mut s.updated_at);
    if let Some(x) = &mut s.last_used_at {
        respell_time(x);
    }
}

/// The first of `ids` (field name, value) that is not a canonical ULID: ids are storage keys
/// and index values, so a stored row holding one in another spelling is refused, not respelled
/// (it would be listed under one spelling and looked up under another).
pub fn first_noncanonical_id<'a>(ids: &[(&'static str, Option<&'a str>)]) -> Option<(&'static str, &'a str)> {
    ids.iter().find_map(|(f, v)| v.filter(|s| !is_canonical_id(s)).map(|s| (*f, s)))
}

/// Respells every record of an export bundle (and its `owner_id`) in place; returns the indices
/// of `workflow_templates` whose `base_template_id` was given in another spelling (their
/// `config_hash` must have been computed over the canonical one, see [`explain_base_hash`]).
pub fn respell_bundle(m: &mut serde_json::Map<String, Value>) -> std::collections::BTreeSet<usize> {
    let mut respelled_base = std::collections::BTreeSet::new();
    if let Some(Value::String(s)) = m.get_mut("owner_id") {
        if let Some(n) = normalize_id(s) {
            *s = n;
        }
    }
    for key in ["workflow_templates", "template_specs", "ratings", "builtin_stats"] {
        if let Some(Value::Array(items)) = m.get_mut(key) {
            for (i, item) in items.iter_mut().enumerate() {
                let changed = respell_value(item);
                if key == "workflow_templates" && changed.contains(&"base_template_id") {
                    respelled_base.insert(i);
                }
            }
        }
    }
    respelled_base
}

/// Says why a record whose `base_template_id` came in lowercase fails its hash check, when it
/// does: the hash covers the canonical id (SPEC section 4), and an import refuses a hash over
/// any other spelling rather than silently recomputing it.
pub fn explain_base_hash(v: &mut [crate::error::Violation]) {
    for x in v.iter_mut().filter(|x| x.code == crate::validate::HASH_MISMATCH) {
        x.message.push_str(
            "; base_template_id was given in lowercase: config_hash is computed over its canonical uppercase ULID (SPEC section 4), recompute it over that",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn respells_ids_and_timestamps_only_when_valid() {
        let mut v = json!({ "id": "01arz3ndektsv4rrffq69g5fav", "owner_id": "not an id", "created_at": "2026-01-01T10:00:00.000+05:00",
            "updated_at": "2026-01-01T05:00:00.000Z", "last_used_at": "yesterday", "name": "01arz3ndektsv4rrffq69g5fav" });
        assert_eq!(respell_value(&mut v), vec!["id", "created_at"]);
        assert_eq!(v["id"], "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(v["created_at"], "2026-01-01T05:00:00.000Z");
        assert_eq!((v["owner_id"].as_str(), v["last_used_at"].as_str()), (Some("not an id"), Some("yesterday")));
        assert_eq!(v["name"], "01arz3ndektsv4rrffq69g5fav");
    }
}
