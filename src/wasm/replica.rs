//! The offline replica's facade (`storage: "remote", replica: true`, issue 15, README "Offline
//! replica"): the `replica` option's check and the sync methods, converted. The replica itself
//! (the local core, the sync engine of `js/replica.js`, queued writes) is the runtime's:
//! `crate::browser::replica`.

use js_sys::{Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::convert::err;
use crate::error::{Error, Result};

/// `replica: true | { dbName }` of the open options.
pub struct ReplicaOptions {
    pub db_name: Option<String>,
}

impl ReplicaOptions {
    /// `None` when `replica` is absent, `false` or null.
    pub fn read(v: &JsValue) -> Result<Option<ReplicaOptions>> {
        if v.is_undefined() || v.is_null() || v.as_bool() == Some(false) {
            return Ok(None);
        }
        if v.as_bool() == Some(true) {
            return Ok(Some(ReplicaOptions { db_name: None }));
        }
        let bad = || Error::invalid("replica must be true or { dbName }");
        if !v.is_object() || v.is_function() {
            return Err(bad());
        }
        let keys = Reflect::own_keys(v).map_err(|_| bad())?;
        for k in keys.iter() {
            if k.as_string().as_deref() != Some("dbName") {
                return Err(bad());
            }
        }
        let name = Reflect::get(v, &"dbName".into()).unwrap_or(JsValue::UNDEFINED);
        let db_name = if name.is_undefined() { None } else { Some(super::store::db_name(&name)?) };
        Ok(Some(ReplicaOptions { db_name }))
    }
}

// ---- the sync methods (every storage has them; only a replica has anything to sync) -----------

use super::catalog::{promise, promise_void, Api, TemplateCatalog};

#[wasm_bindgen]
impl TemplateCatalog {
    /// The queued writes, oldest first: `{ seq, key, endpoint, args, id, target, at }` (README
    /// "Offline replica"). `[]` on every other storage.
    #[wasm_bindgen(unchecked_return_type = "Promise<OutboxEntry[]>")]
    pub fn pending(&self) -> Promise {
        match &self.api {
            Api::Replica(rep) => {
                let rep = rep.clone();
                promise(&self.closed, async move { rep.pending().await })
            }
            _ => promise(&self.closed, async { Ok(Vec::<Value>::new()) }),
        }
    }

    /// Pushes the outbox, then pulls the server's changes, now: `{ pushed, pulled, conflicts,
    /// rejected }`. NETWORK when the server is unreachable, UNAUTHORIZED once it refused the
    /// token. On every other storage nothing is queued: `{ pushed: 0, pulled: 0, conflicts: [],
    /// rejected: [] }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SyncResult>")]
    pub fn sync(&self) -> Promise {
        match &self.api {
            Api::Replica(rep) => {
                let rep = rep.clone();
                promise(&self.closed, async move { rep.sync().await })
            }
            _ => promise(&self.closed, async { Ok(serde_json::json!({ "pushed": 0, "pulled": 0, "conflicts": [], "rejected": [] })) }),
        }
    }

    /// Settles a kept conflict: "keep-remote" drops the queued writes of `id` and takes the
    /// server's copy; "overwrite" sends them again over the server's copy (If-Match = its
    /// `updated_at`). `kind` (`KeptConflict.kind`) names the conflict when several are kept on
    /// `id` (INVALID_ARGUMENT without it then). NOT_FOUND when no such conflict is kept for `id`
    /// (always, off a replica).
    #[wasm_bindgen(js_name = resolveConflict, unchecked_return_type = "Promise<void>")]
    pub fn resolve_conflict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "\"keep-remote\" | \"overwrite\"")] choice: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ConflictKind")] kind: JsValue,
    ) -> Promise {
        // Which conflict, when several are kept on `id` (a label's and the template's).
        let kind = if kind.is_undefined() || kind.is_null() {
            None
        } else {
            match kind.as_string().as_deref() {
                Some(k @ ("template" | "spec" | "labels" | "rating" | "usage")) => Some(k.to_string()),
                _ => return Promise::reject(&err(Error::invalid("kind must be \"template\", \"spec\", \"labels\", \"rating\" or \"usage\""))),
            }
        };
        let id = match super::args::id_arg(&id, "id") {
            Ok(id) => crate::model::id::normalize_id(&id).unwrap_or(id),
            Err(e) => return Promise::reject(&e),
        };
        let choice = match choice.as_string().as_deref() {
            Some(c @ ("keep-remote" | "overwrite")) => c.to_string(),
            _ => return Promise::reject(&err(Error::invalid("choice must be \"keep-remote\" or \"overwrite\""))),
        };
        match &self.api {
            Api::Replica(rep) => {
                let rep = rep.clone();
                promise_void(&self.closed, async move { rep.resolve_conflict(&id, &choice, kind).await })
            }
            _ => promise_void(&self.closed, async move { Err(Error::NotFound { kind: "conflict", id }) }),
        }
    }

    /// Drops queued write `seq` (`OutboxEntry.seq`) and the later writes built on it; resolves
    /// with the seqs dropped. INVALID_ARGUMENT when `seq` is not a positive safe integer;
    /// NOT_FOUND when nothing queued has it (always, off a replica). README "Offline replica".
    #[wasm_bindgen(js_name = discardPending, unchecked_return_type = "Promise<number[]>")]
    pub fn discard_pending(&self, #[wasm_bindgen(unchecked_param_type = "number")] seq: JsValue) -> Promise {
        let seq = match seq.as_f64() {
            Some(n) if n >= 1.0 && n <= 9_007_199_254_740_991.0 && n.fract() == 0.0 => n,
            _ => return Promise::reject(&err(Error::invalid("seq must be a positive integer (OutboxEntry.seq)"))),
        };
        match &self.api {
            Api::Replica(rep) => promise(&self.closed, rep.discard_pending(seq)),
            // (As an integer: f64 formatting would pull float printing into the wasm.)
            _ => promise(&self.closed, async move { Err::<Value, _>(Error::NotFound { kind: "pending", id: (seq as u64).to_string() }) }),
        }
    }

    /// `{ state: "online" | "offline" | "syncing", pending, error? }` now; the same object comes
    /// as a `{ kind: "sync", ... }` event whenever it changes. Off a replica: online, 0 pending.
    #[wasm_bindgen(js_name = syncState, unchecked_return_type = "SyncState")]
    pub fn sync_state_js(&self) -> JsValue {
        match &self.api {
            Api::Replica(rep) => rep.sync_state(),
            _ => crate::jsval::to_js(&serde_json::json!({ "state": "online", "pending": 0 })),
        }
    }
}
