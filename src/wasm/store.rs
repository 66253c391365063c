//! Reads the open options (`{ userId, storage, dbName, baseUrl, token, replica }`) into the
//! values the stores take; the adapters themselves are opened in `src/store/open.rs`.

use wasm_bindgen::prelude::*;

use super::catalog::get_opt;
use super::convert::err;
use crate::error::{Error, Result};
use crate::browser::{open_store, AnyStore, Storage, DEFAULT_DB, STORAGE_HELP};

/// What `open` found: a store for the local catalog, or the address of a server.
pub enum Opened {
    Local(AnyStore, String),
    Remote { base_url: String, token: Option<String>, user: String, replica: Option<super::replica::ReplicaOptions> },
}

/// Reads `{ userId, storage, dbName, baseUrl, token }` and opens the chosen adapter.
pub async fn open(options: &JsValue) -> std::result::Result<Opened, JsValue> {
    if !options.is_object() {
        return Err(err(Error::invalid("TemplateCatalog.open takes an options object { userId, storage?, dbName? }")));
    }
    // Reflect.ownKeys is a catching import: a Proxy whose trap throws becomes an error here.
    let keys = js_sys::Reflect::own_keys(options).map_err(|_| err(Error::invalid("the open options could not be read")))?;
    for k in keys.iter() {
        let k = k.as_string().unwrap_or_default();
        if !["userId", "storage", "dbName", "baseUrl", "token", "replica"].contains(&k.as_str()) {
            return Err(err(Error::invalid(format!("unknown open option {}", crate::validate::quoted(&k)))));
        }
    }
    let user = get_opt(options, "userId").as_string().ok_or_else(|| err(Error::invalid("userId must be a string (a ULID)")))?;
    // Refuse a bad user before touching any storage.
    if crate::model::id::normalize_id(&user).is_none() {
        return Err(err(Error::invalid(format!("userId {} is not a ULID", crate::validate::quoted(&user)))));
    }
    let user = crate::model::id::normalize_id(&user).unwrap_or(user);
    let db_name = db_name(&get_opt(options, "dbName")).map_err(err)?;
    let storage = get_opt(options, "storage");
    let (base_url, token) = (get_opt(options, "baseUrl"), get_opt(options, "token"));
    if storage.as_string().as_deref() == Some("remote") {
        let base_url = base_url.as_string().ok_or_else(|| err(Error::invalid("storage \"remote\" needs baseUrl, the server's address")))?;
        let token = match token.as_string() {
            Some(t) => Some(t),
            None if token.is_undefined() || token.is_null() => None,
            None => return Err(err(Error::invalid("token must be a string"))),
        };
        let replica = super::replica::ReplicaOptions::read(&get_opt(options, "replica")).map_err(err)?;
        return Ok(Opened::Remote { base_url, token, user, replica });
    }
    if !(base_url.is_undefined() && token.is_undefined()) {
        return Err(err(Error::invalid("baseUrl and token are options of storage \"remote\" only")));
    }
    if !get_opt(options, "replica").is_undefined() {
        return Err(err(Error::invalid("replica is an option of storage \"remote\" only")));
    }
    let storage = if storage.is_undefined() || storage.is_null() {
        Storage::Default
    } else if let Some(kind) = storage.as_string() {
        Storage::Named(kind)
    } else if storage.is_object() {
        Storage::Adapter(storage)
    } else {
        return Err(err(Error::invalid(STORAGE_HELP)));
    };
    Ok(Opened::Local(open_store(storage, &db_name).await.map_err(err)?, user))
}

/// `dbName`: a non-empty string of at most 200 characters; default "workflow-templates".
pub fn db_name(v: &JsValue) -> Result<String> {
    if v.is_undefined() || v.is_null() {
        return Ok(DEFAULT_DB.to_string());
    }
    match v.as_string() {
        Some(s) if !s.is_empty() && s.chars().count() <= 200 => Ok(s),
        _ => Err(Error::invalid("dbName must be a non-empty string of at most 200 characters")),
    }
}
