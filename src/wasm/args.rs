//! Reading the arguments of `TemplateCatalog` methods: ids, labels and option objects are
//! checked here (INVALID_ARGUMENT) before the core or a request sees them.

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::convert::{arg, err, record};
use crate::catalog::{ByName, WriteOptions};
use crate::error::Error;

/// Reads an id argument: a ULID (built-in ids are ULIDs too; lowercase is accepted, as the core
/// normalises it), refusing anything else with INVALID_ARGUMENT before the core or a remote
/// request sees it, as the local catalog's own check does (`Env::parse_id`). On storage
/// "remote" an id is a URL path segment: "." or ".." would be removed or climb to another
/// route (WHATWG URL dot segments), so no other text may pass.
pub(super) fn id_arg(v: &JsValue, what: &str) -> std::result::Result<String, JsValue> {
    let s = v.as_string().ok_or_else(|| err(Error::invalid(format!("{what} must be a string id"))))?;
    match crate::model::id::normalize_id(&s) {
        // The canonical form: the outbox and the replica's meta compare ids as strings.
        Some(n) => Ok(n),
        None => Err(err(Error::invalid(format!("{} is not a ULID", crate::validate::quoted(&s))))),
    }
}

pub(super) fn write_options(v: &JsValue) -> std::result::Result<WriteOptions, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(WriteOptions::default());
    }
    let o = arg(v, "options")?;
    let Some(m) = o.as_object() else {
        return Err(err(Error::invalid("options must be an object")));
    };
    let mut w = WriteOptions::default();
    for (k, val) in m {
        match (k.as_str(), val) {
            ("ifMatch", Value::String(s)) => w.if_match = Some(s.clone()),
            ("ifMatch", Value::Null) => {}
            ("ifMatch", _) => return Err(err(Error::invalid("ifMatch must be the updated_at string of the copy being edited"))),
            (other, _) => return Err(err(Error::invalid(format!("unknown option {}", crate::validate::quoted(other))))),
        }
    }
    Ok(w)
}

/// A label name, checked here too so that no other text reaches a remote URL path (a `..` would
/// be a dot segment the URL parser removes).
pub(super) fn label_arg(v: &JsValue) -> std::result::Result<String, JsValue> {
    match v.as_string() {
        Some(l) if crate::catalog::label_name_problem(&l).is_none() => Ok(l),
        _ => Err(err(Error::invalid("label must be a string matching ^[a-z0-9][a-z0-9_.-]{0,63}$"))),
    }
}

/// An option object of known keys only (absent, `undefined` or `null`: no options).
pub(super) fn option_map(v: &JsValue, allowed: &[&str]) -> std::result::Result<serde_json::Map<String, Value>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(serde_json::Map::new());
    }
    let o = arg(v, "options")?;
    let Value::Object(m) = o else {
        return Err(err(Error::invalid("options must be an object")));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(err(Error::invalid(format!("unknown option {}", crate::validate::quoted(k)))));
    }
    Ok(m)
}

pub(super) fn with_labels(v: &JsValue) -> std::result::Result<bool, JsValue> {
    match option_map(v, &["withLabels"])?.get("withLabels") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(err(Error::invalid("withLabels must be a boolean"))),
    }
}

pub(super) fn by_name_options(v: &JsValue) -> std::result::Result<ByName, JsValue> {
    let m = option_map(v, &["version", "label", "owner"])?;
    let text = |k: &str| -> std::result::Result<Option<String>, JsValue> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(err(Error::invalid(format!("{k} must be a string")))),
        }
    };
    let version = match m.get("version") {
        None | Some(Value::Null) => None,
        Some(x) => Some(x.as_u64().filter(|n| *n >= 1 && *n <= crate::model::MAX_SAFE_INTEGER).ok_or_else(|| err(Error::invalid("version must be an integer >= 1")))?),
    };
    Ok(ByName { version, label: text("label")?, owner: text("owner")? })
}

/// The query of GET /v1/by-name and /v1/by-name/resolve.
pub(super) fn by_name_args(name: &str, o: &ByName) -> Value {
    json!({ "query": { "name": name, "version": o.version, "label": o.label, "owner": o.owner } })
}

pub(super) fn restore_options(v: &JsValue) -> std::result::Result<(Option<String>, WriteOptions), JsValue> {
    let m = option_map(v, &["changelog", "ifMatch"])?;
    let changelog = match m.get("changelog") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err(Error::invalid("changelog must be a string"))),
    };
    let if_match = match m.get("ifMatch") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err(Error::invalid("ifMatch must be the updated_at string of the latest version"))),
    };
    Ok((changelog, WriteOptions { if_match }))
}

pub(super) fn optional(v: &JsValue, what: &str) -> std::result::Result<Value, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(Value::Null)
    } else {
        arg(v, what)
    }
}

/// An optional record (a newVersion patch, instantiateSpec overrides): absent is `null`.
pub(super) fn optional_record(v: &JsValue) -> (Value, Option<crate::jsval::Problems>) {
    if v.is_undefined() || v.is_null() {
        (Value::Null, None)
    } else {
        record(v)
    }
}

