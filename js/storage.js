// Small browser helpers for the storage adapters: things web-sys makes awkward (Web Locks,
// calling an app's adapter object safely). The remote adapter's HTTP client is js/remote.js.

// Resolves with a function that releases an exclusive lock `name` held across every tab of the
// origin (Web Locks API). Without the API (old engines) it resolves at once with a no-op:
// writes in one tab are still serialised by the single JS thread.
const LOCK_WAIT_MS = 10000;

export function acquireLock(name) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks || typeof locks.request !== "function") return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    // Waiting is bounded: a tab that died holding the lock must not stall every other tab.
    const signal = typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(LOCK_WAIT_MS) : undefined;
    locks
      .request(name, { mode: "exclusive", signal }, () => new Promise((release) => resolve(release)))
      .catch(reject);
  });
}

const ADAPTER_TIMEOUT_MS = 60000;

// Calls `adapter[method](...args)` and always returns a Promise that settles: a missing method,
// a throw or a non-promise result all become a settled promise, and an answer that does not come
// within `adapter.timeoutMs` (default 60 s) becomes a rejection, so nothing the app does can
// trap or hang the caller.
export function callAdapter(adapter, method, args) {
  let limit = ADAPTER_TIMEOUT_MS;
  try {
    const t = adapter.timeoutMs;
    if (typeof t === "number" && t > 0 && t <= 3600000) limit = t;
    const f = adapter[method];
    if (typeof f !== "function") {
      return Promise.reject(Object.assign(new Error(`the storage adapter has no ${method}() method`), { code: "STORAGE_UNAVAILABLE" }));
    }
    const answer = Promise.resolve(f.apply(adapter, args));
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
    });
    return Promise.race([answer, late]).finally(() => clearTimeout(timer));
  } catch (e) {
    return Promise.reject(e);
  }
}

// What an adapter's rejection says, as JSON text { code, message, details } (values of any
// shape: an Error, a string, a Proxy that throws on access).
export function describeRejection(e) {
  let code = null;
  let message = "the storage adapter failed";
  let details = null;
  try {
    if (e && typeof e === "object") {
      if (typeof e.code === "string") code = e.code;
      if (typeof e.message === "string") message = e.message;
      if (e.details !== undefined) details = JSON.parse(JSON.stringify(e.details));
    } else if (typeof e === "string") {
      message = e;
    }
  } catch {
    // keep what was read so far
  }
  try {
    return JSON.stringify({ code, message: String(message).slice(0, 500), details });
  } catch {
    return JSON.stringify({ code, message: String(message).slice(0, 500), details: null });
  }
}

/**
 * One IndexedDB read in one crossing of the wasm boundary: a readonly transaction on `store`,
 * one `get(key)`, and the row's `{ rev, record }` as JSON text (null when there is no row). The
 * catalog's hottest path (get, and the first link of every chain) pays one call instead of the
 * half-dozen a transaction, a store, a request and its handlers cost from Rust. Rejects with
 * the DOMException (or the exception) that stopped it; never leaves the promise unsettled.
 */
export function readRow(db, store, key) {
  return new Promise((resolve, reject) => {
    const req = db.transaction(store, "readonly").objectStore(store).get(key);
    req.onsuccess = () => {
      try {
        const row = req.result;
        resolve(row === undefined ? null : JSON.stringify({ rev: row?.rev, record: row?.record }));
      } catch (e) {
        reject(e);
      }
    };
    req.onerror = () => reject(req.error);
  });
}

/**
 * The writes and name-rule counts of one commit, issued in `tx` without awaiting anything in
 * between and with one crossing of the wasm boundary per chunk of rows (a batch of 10,000 would
 * otherwise pay 20,000 crossings and 40,000 handler closures). Rust builds a chunk of rows while
 * IndexedDB is already writing the previous one. `writeBatch(tx)` starts; `writeChunk(batch,
 * json)` issues `[{ s: store, op: "add" | "put" | "delete", v: row, k: key }]`; `writeEnd(batch,
 * claimsJson)` counts each `[owner, nameKey]` in index `owner_name_latest` of
 * `workflow_templates` (reads in a transaction see its own writes) and settles when every request
 * has: with null when all writes succeeded and no name is held twice, else with the first problem
 * in batch order, writes first: `{ write: i, name, message }`, `{ claim: j, count }` or
 * `{ claim: j, name, message }`. A request the transaction refuses outright (it has ended) is
 * reported like a failed one; the promise is never left unsettled.
 */
export function writeBatch(tx) {
  return { tx, n: 0, outstanding: 0, writeFail: null, stopped: false, done: null, last: null };
}

function failure(e) {
  return { name: String(e?.name ?? "Error"), message: String(e?.message ?? e) };
}

function noteWriteFail(b, i, e) {
  if (b.writeFail === null || i < b.writeFail.write) b.writeFail = { write: i, ...failure(e) };
}

function track(b, req, onOk, onErr) {
  b.outstanding++;
  req.onsuccess = () => { onOk(req.result); b.outstanding--; if (b.done) b.done(); };
  req.onerror = () => { onErr(req.error); b.outstanding--; if (b.done) b.done(); };
}

export function writeChunk(b, json) {
  const writes = JSON.parse(json);
  for (const w of writes) {
    const i = b.n++;
    if (b.stopped) continue;
    try {
      const os = b.tx.objectStore(w.s);
      const req = w.op === "add" ? os.add(w.v) : w.op === "put" ? os.put(w.v) : os.delete(w.k);
      // Only failures are listened to on each write. Requests of a transaction complete in the
      // order they were placed, and a failure aborts the transaction (every later request then
      // fails too), so the last write's outcome says when all of them are done: one success
      // handler per batch instead of one per row, as Dexie's bulkPut does.
      req.onerror = () => noteWriteFail(b, i, req.error);
      b.last = req;
    } catch (e) {
      noteWriteFail(b, i, e);
      b.stopped = true; // nothing more can be issued
    }
  }
}

export function writeEnd(b, claimsJson) {
  const claims = JSON.parse(claimsJson);
  // Called in the same task as the chunks: no request has completed yet.
  const last = b.last;
  if (last) {
    const onFail = last.onerror;
    b.outstanding++;
    last.onsuccess = () => { b.outstanding--; if (b.done) b.done(); };
    last.onerror = (ev) => { onFail(ev); b.outstanding--; if (b.done) b.done(); };
  }
  const counts = new Array(claims.length).fill(0);
  const claimFail = new Array(claims.length).fill(null);
  if (!b.stopped && claims.length) {
    try {
      const ix = b.tx.objectStore("workflow_templates").index("owner_name_latest");
      claims.forEach((c, j) => track(b, ix.count([c[0], c[1], 1]), (n) => { counts[j] = n; }, (e) => { claimFail[j] = failure(e); }));
    } catch (e) {
      claimFail[0] = failure(e);
    }
  }
  return new Promise((resolve) => {
    b.done = () => {
      if (b.outstanding > 0) return;
      b.done = null;
      if (b.writeFail) return resolve(b.writeFail);
      for (let j = 0; j < claims.length; j++) {
        if (claimFail[j]) return resolve({ claim: j, ...claimFail[j] });
        if (counts[j] > 1) return resolve({ claim: j, count: counts[j] });
      }
      resolve(null);
    };
    b.done();
  });
}
