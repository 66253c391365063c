//! The shape of a remote batch (what `apply_remote` takes), read by hand from JSON
//! (`crate::model::read`: no derived `Deserialize` in the wasm; the derive exists only for the
//! tests below, which compare both).

use serde_json::Value;

use crate::error::{Result, Violation};
use crate::model::read::{Fields, FromJson, ReadError};
use crate::validate;

/// What a replica pulled or was answered, to store as is. Every member is optional (absent or
/// `null` is empty). Records are JSON as the server's API answers them; `builtin_stats` takes
/// `{ id, ...statistics }` or a whole built-in record (its statistics are kept), and so does
/// `templates` for a built-in's id.
#[derive(Debug, Clone, Default)]
#[cfg_attr(test, derive(serde::Deserialize, PartialEq))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RemoteBatch {
    pub templates: Option<Vec<Value>>,
    pub specs: Option<Vec<Value>>,
    /// Rating rows `{ template_id, user_id, stars, updated_at }`.
    pub ratings: Option<Vec<Value>>,
    /// Label rows as the server lists them, with the template they point at:
    /// `{ template_id, label, version?, updated_at, owner_id?, name_key? }`. Owner and lineage
    /// come from the template (in this batch, else stored); a label of a template the replica
    /// does not hold and whose row does not say `owner_id` and `name_key` is not stored.
    pub labels: Option<Vec<Value>>,
    pub builtin_stats: Option<Vec<Value>>,
    pub deleted: Option<RemoteDeleted>,
}

/// Keys the server no longer has (or this user may no longer read).
#[derive(Debug, Clone, Default)]
#[cfg_attr(test, derive(serde::Deserialize, PartialEq))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RemoteDeleted {
    pub templates: Option<Vec<String>>,
    pub specs: Option<Vec<String>>,
    /// Template ids: the acting user's rating of each.
    pub ratings: Option<Vec<String>>,
    pub labels: Option<Vec<LabelRef>>,
    /// The templates and specs above are dropped from this replica to keep it within its bound
    /// (another user's copy read long ago), not deleted on the server: nothing is told to
    /// subscribers (an external delete would say the record is gone).
    pub evicted: Option<bool>,
}

#[derive(Debug, Clone)]
#[cfg_attr(test, derive(serde::Deserialize, PartialEq))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct LabelRef {
    pub template_id: String,
    pub label: String,
}

#[derive(Debug, Clone)]
#[cfg_attr(test, derive(serde::Deserialize, PartialEq))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub(super) struct RemoteLabel {
    pub(super) template_id: String,
    pub(super) label: String,
    pub(super) version: Option<u64>,
    pub(super) updated_at: String,
    pub(super) owner_id: Option<String>,
    pub(super) name_key: Option<String>,
}

impl RemoteBatch {
    /// A batch from JSON (what the JS engine hands in); a wrong shape is VALIDATION_FAILED.
    pub fn from_value(v: Value) -> Result<Self> {
        crate::model::read::read(v).map_err(|e| crate::catalog::violations(vec![Violation::new("", validate::TYPE, ["a remote batch: ", &e].concat())]))
    }
}

impl FromJson for RemoteBatch {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let b = RemoteBatch {
            templates: f.opt("templates")?,
            specs: f.opt("specs")?,
            ratings: f.opt("ratings")?,
            labels: f.opt("labels")?,
            builtin_stats: f.opt("builtin_stats")?,
            deleted: f.opt("deleted")?,
        };
        f.end()?;
        Ok(b)
    }
}

impl FromJson for RemoteDeleted {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let d = RemoteDeleted { templates: f.opt("templates")?, specs: f.opt("specs")?, ratings: f.opt("ratings")?, labels: f.opt("labels")?, evicted: f.opt("evicted")? };
        f.end()?;
        Ok(d)
    }
}

impl FromJson for LabelRef {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let r = LabelRef { template_id: f.req("template_id")?, label: f.req("label")? };
        f.end()?;
        Ok(r)
    }
}

impl FromJson for RemoteLabel {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        let l = RemoteLabel {
            template_id: f.req("template_id")?,
            label: f.req("label")?,
            version: f.opt("version")?,
            updated_at: f.req("updated_at")?,
            owner_id: f.opt("owner_id")?,
            name_key: f.opt("name_key")?,
        };
        f.end()?;
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{RemoteBatch, RemoteLabel};
    use crate::model::read::read;

    fn same<T: super::FromJson + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(v: &Value) {
        assert_eq!(read::<T>(v.clone()).ok(), serde_json::from_value::<T>(v.clone()).ok(), "{v}");
    }

    const POOL: &str = r#"[null, true, 0, -1, 1.5, "x", [], ["a"], [1], [null], {}, {"a": 1},
        [{"template_id": "t", "label": "l"}], [{"template_id": "t"}], [{"template_id": "t", "label": "l", "x": 1}]]"#;

    /// Every member of a batch (and of its `deleted`) absent, `null` or of each JSON type,
    /// unknown members, values that are not objects: the reader answers as the derive did.
    #[test]
    fn batch_reader_matches_the_derive() {
        let pool: Vec<Value> = serde_json::from_str(POOL).unwrap();
        let good = json!({
            "templates": [{ "id": "a" }], "specs": [], "ratings": null, "labels": [{ "x": 1 }], "builtin_stats": [1],
            "deleted": { "templates": ["a"], "specs": null, "ratings": [], "labels": [{ "template_id": "t", "label": "l" }], "evicted": true }
        });
        let mut cases = vec![good.clone(), json!({}), json!([]), json!(null), json!({ "zz": 1 })];
        cases.extend(pool.iter().cloned());
        for k in ["templates", "specs", "ratings", "labels", "builtin_stats", "deleted"] {
            for p in &pool {
                let mut v = good.clone();
                v[k] = p.clone();
                cases.push(v);
            }
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove(k);
            cases.push(v);
        }
        for k in ["templates", "specs", "ratings", "labels", "evicted", "zz"] {
            for p in &pool {
                let mut v = good.clone();
                v["deleted"][k] = p.clone();
                cases.push(v);
            }
        }
        for v in &cases {
            same::<RemoteBatch>(v);
        }
    }

    #[test]
    fn remote_label_reader_matches_the_derive() {
        let pool: Vec<Value> = serde_json::from_str(POOL).unwrap();
        let good = json!({ "template_id": "t", "label": "production", "version": 2, "updated_at": "2026-01-01T00:00:00Z", "owner_id": "o", "name_key": "n" });
        let mut cases = vec![good.clone(), json!({ "template_id": "t", "label": "l", "updated_at": "u" })];
        for k in ["template_id", "label", "version", "updated_at", "owner_id", "name_key", "zz"] {
            for p in &pool {
                let mut v = good.clone();
                v[k] = p.clone();
                cases.push(v);
            }
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove(k);
            cases.push(v);
        }
        for v in &cases {
            same::<RemoteLabel>(v);
        }
    }
}
