//! Records read by hand from a `serde_json::Value` (stored rows, import rows, remote batches),
//! instead of serde's derived `Deserialize`.
//!
//! Why: a derived `Deserialize` is instantiated once per record type and per deserializer, with
//! a map and a sequence visitor and serde's typed errors (which format floats); for the catalog's
//! ~10 record types that was ~60 KB of the wasm (BENCHMARKS.md "Size: what each change bought").
//! Reading a `Value` by hand shares one small reader per field type across every record.
//!
//! What it accepts is what the derives accept for JSON objects (`tests`: both paths compared on
//! many records): `Option` fields may be absent or `null`; `#[serde(default)]` fields may be
//! absent; records marked `deny_unknown_fields` refuse other keys, the rest ignore them. Two
//! shapes the derives also took are refused, on purpose: a record as a JSON array of its fields
//! in declaration order (serde's positional form, never a row format here) and an enum value
//! written as a one-key object (`{"plain": null}`). Numbers: `u64` takes non-negative integers
//! only (not `1.0`), `f64` any number. Messages name the field's path, never a value.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{TemplateCategory, TemplateSpec, UsageStats, WorkflowTemplate, WorkflowType};

/// Why a value is not the record: `path` is the field's JSON path (`""` for the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

impl ReadError {
    fn new(message: String) -> Self {
        ReadError { path: String::new(), message }
    }

    /// `path: message`, or the message alone at the top.
    pub fn text(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            [self.path.as_str(), ": ", &self.message].concat()
        }
    }

    /// This error one level down, under `key` (an object's member) or `[i]` (an array's).
    pub fn under(mut self, step: &str) -> Self {
        self.path = if self.path.is_empty() || self.path.starts_with('[') { [step, &self.path].concat() } else { [step, ".", &self.path].concat() };
        self
    }
}

fn expected(what: &str, got: &Value) -> ReadError {
    ReadError::new(["expected ", what, ", got ", crate::validate::type_name(got)].concat())
}

/// A value read by hand from JSON (see the module's header).
pub trait FromJson: Sized {
    fn from_json(v: Value) -> Result<Self, ReadError>;
}

/// [`FromJson`] with the error as one line of text (the shape `model::from_value` answered).
pub fn read<T: FromJson>(v: Value) -> Result<T, String> {
    T::from_json(v).map_err(|e| e.text())
}

impl FromJson for Value {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        Ok(v)
    }
}

impl FromJson for String {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(expected("a string", &other)),
        }
    }
}

impl FromJson for bool {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        v.as_bool().ok_or_else(|| expected("a boolean", &v))
    }
}

impl FromJson for u64 {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        v.as_u64().ok_or_else(|| expected("a non-negative integer", &v))
    }
}

impl FromJson for f64 {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        v.as_f64().ok_or_else(|| expected("a number", &v))
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::Object(m) => Ok(m),
            other => Err(expected("an object", &other)),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            // A loop, not `collect::<Result<_, _>>()`: its adapter (`GenericShunt`) with each
            // record's reader inlined into it was ~12 KB of the wasm.
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.into_iter().enumerate() {
                    match T::from_json(x) {
                        Ok(t) => out.push(t),
                        Err(e) => return Err(e.under(&["[", itoa::Buffer::new().format(i), "]"].concat())),
                    }
                }
                Ok(out)
            }
            other => Err(expected("an array", &other)),
        }
    }
}

/// `null` is `None` (and so is an absent member, see [`Fields::opt`]).
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl FromJson for WorkflowType {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        v.as_str().and_then(WorkflowType::parse).ok_or_else(|| expected("one of plain, tools, rag, full", &v))
    }
}

impl FromJson for TemplateCategory {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        v.as_str().and_then(TemplateCategory::parse).ok_or_else(|| expected("a template category", &v))
    }
}

/// A record read from the members of one JSON object (see [`Fields`]); its [`FromJson`] is
/// `from_fields(Fields::new(v)?)` ([`record_from_json!`]).
pub trait FromFields: Sized {
    fn from_fields(f: Fields<'_>) -> Result<Self, ReadError>;
}

/// `FromJson` of a [`FromFields`] record.
#[macro_export]
#[doc(hidden)]
macro_rules! record_from_json {
    ($($t:ty),*) => {$(
        impl $crate::model::read::FromJson for $t {
            fn from_json(v: serde_json::Value) -> Result<Self, $crate::model::read::ReadError> {
                <$t as $crate::model::read::FromFields>::from_fields($crate::model::read::Fields::new(v)?)
            }
        }
    )*};
}

/// The members of one JSON object, taken out one by one: a list sorted by key, each member
/// taken at most once (`None` once taken). It comes from a parsed object (a map, already
/// sorted) or straight from JSON text (`crate::store::read::rows_from_text`: no map is built
/// for a stored row's record, which keeps reading rows as fast as the derive was).
pub struct Fields<'a>(Vec<(Cow<'a, str>, Option<Value>)>);

impl<'a> Fields<'a> {
    pub fn new(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::Object(m) => Ok(Fields(m.into_iter().map(|(k, v)| (Cow::Owned(k), Some(v))).collect())),
            other => Err(expected("an object", &other)),
        }
    }

    /// The members of an object as its JSON text lists them (keys borrowed from the text where
    /// they hold no escape); a key given twice is refused (as the derive refused it).
    pub fn from_list(list: Vec<(Cow<'a, str>, Value)>) -> Result<Self, ReadError> {
        let mut list: Vec<(Cow<'a, str>, Option<Value>)> = list.into_iter().map(|(k, v)| (k, Some(v))).collect();
        // Rows this package wrote list their members sorted already: an insertion sort is one
        // pass over them (and no second sort instance in the wasm); the crate's one sort past 64.
        if list.len() > 64 {
            crate::sort::sort_by(&mut list, |a, b| a.0.cmp(&b.0));
        } else {
            for i in 1..list.len() {
                let mut j = i;
                while j > 0 && list[j - 1].0 > list[j].0 {
                    list.swap(j - 1, j);
                    j -= 1;
                }
            }
        }
        if let Some(w) = list.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(ReadError::new(["duplicate field `", &w[0].0, "`"].concat()));
        }
        Ok(Fields(list))
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let i = self.0.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok()?;
        self.0[i].1.take()
    }

    /// A member that must be present (`null` only where `T` is an `Option`).
    pub fn req<T: FromJson>(&mut self, key: &str) -> Result<T, ReadError> {
        match self.take(key) {
            Some(v) => T::from_json(v).map_err(|e| e.under(key)),
            None => Err(ReadError::new(["missing field `", key, "`"].concat())),
        }
    }

    /// A member that may be absent or `null`.
    pub fn opt<T: FromJson>(&mut self, key: &str) -> Result<Option<T>, ReadError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => Option::<T>::from_json(v).map_err(|e| e.under(key)),
        }
    }

    /// A member that may be absent (then `T::default()`), as `#[serde(default)]`.
    pub fn or_default<T: FromJson + Default>(&mut self, key: &str) -> Result<T, ReadError> {
        match self.take(key) {
            None => Ok(T::default()),
            Some(v) => T::from_json(v).map_err(|e| e.under(key)),
        }
    }

    /// For records that refuse unknown members (`deny_unknown_fields`): every member was taken.
    pub fn end(self) -> Result<(), ReadError> {
        match self.0.iter().find(|(_, v)| v.is_some()) {
            None => Ok(()),
            Some((k, _)) => Err(ReadError::new(["unknown field `", k, "`"].concat())),
        }
    }
}

record_from_json!(WorkflowTemplate, TemplateSpec, UsageStats);

impl FromFields for WorkflowTemplate {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        let t = WorkflowTemplate {
            id: f.req("id")?,
            created_at: f.req("created_at")?,
            updated_at: f.req("updated_at")?,
            owner_id: f.req("owner_id")?,
            name: f.req("name")?,
            description: f.req("description")?,
            workflow_type: f.req("workflow_type")?,
            category: f.req("category")?,
            default_params: f.req("default_params")?,
            required_tools: f.opt("required_tools")?,
            required_retrievers: f.opt("required_retrievers")?,
            base_template_id: f.opt("base_template_id")?,
            is_builtin: f.req("is_builtin")?,
            version: f.req("version")?,
            is_latest: f.req("is_latest")?,
            changelog: f.opt("changelog")?,
            is_public: f.req("is_public")?,
            rating: f.opt("rating")?,
            rating_count: f.req("rating_count")?,
            usage_count: f.req("usage_count")?,
            success_rate: f.opt("success_rate")?,
            avg_response_time_ms: f.opt("avg_response_time_ms")?,
            last_used_at: f.opt("last_used_at")?,
            total_tokens_used: f.req("total_tokens_used")?,
            total_cost: f.req("total_cost")?,
            avg_tokens_per_use: f.opt("avg_tokens_per_use")?,
            tags: f.opt("tags")?,
            extra_metadata: f.opt("extra_metadata")?,
            config_hash: f.req("config_hash")?,
            estimated_complexity: f.opt("estimated_complexity")?,
        };
        f.end()?;
        Ok(t)
    }
}

impl FromFields for TemplateSpec {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        let s = TemplateSpec {
            id: f.req("id")?,
            created_at: f.req("created_at")?,
            updated_at: f.req("updated_at")?,
            owner_id: f.req("owner_id")?,
            name: f.req("name")?,
            description: f.req("description")?,
            workflow_type: f.req("workflow_type")?,
            default_params: f.req("default_params")?,
            required_tools: f.opt("required_tools")?,
            required_retrievers: f.opt("required_retrievers")?,
            base_template_name: f.opt("base_template_name")?,
            usage_count: f.req("usage_count")?,
            last_used_at: f.opt("last_used_at")?,
            tags: f.opt("tags")?,
            extra_metadata: f.opt("extra_metadata")?,
        };
        f.end()?;
        Ok(s)
    }
}

impl UsageStats {
    /// The statistics among `f`'s members (other members are left for the caller).
    pub fn take(f: &mut Fields<'_>) -> Result<Self, ReadError> {
        Ok(UsageStats {
            rating: f.opt("rating")?,
            rating_count: f.req("rating_count")?,
            usage_count: f.req("usage_count")?,
            success_rate: f.opt("success_rate")?,
            avg_response_time_ms: f.opt("avg_response_time_ms")?,
            last_used_at: f.opt("last_used_at")?,
            total_tokens_used: f.req("total_tokens_used")?,
            total_cost: f.req("total_cost")?,
            avg_tokens_per_use: f.opt("avg_tokens_per_use")?,
        })
    }
}

/// Unknown members are ignored, as the derive (no `deny_unknown_fields`) does.
impl FromFields for UsageStats {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        UsageStats::take(&mut f)
    }
}

/// A rule violation as the reference server's VALIDATION_FAILED lists it.
impl FromJson for crate::error::Violation {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        Ok(crate::error::Violation { field: f.req("field")?, code: f.req("code")?, message: f.req("message")? })
    }
}
