// The one way the IndexedDB adapter reaches IndexedDB: a request layer that knows nothing of
// the catalog's schema (the caller names every store, index, key and field), modelled on the
// request level of Dexie's DBCore. JSON text in and out, one crossing of the wasm boundary per
// call, and every request's handlers owned here: Rust awaits plain promises that always settle.
//
//   idbOpen(name, version, stepsJson, onClosed)   open, upgrading through the named steps
//   idbClose(db), idbDelete(name)
//   idbRead(db, opsJson)                          get-many / query / count, one readonly transaction
//   idbMutateBegin/Started/Ops/End                one all-or-nothing readwrite batch
//
// Failures reject (or resolve, for a mutate) with `{ kind?, name, message }`: `name` is the
// DOMException's name (QuotaExceededError, AbortError, ...), which the caller maps to its codes.

// How long a `blocked` open or delete may still succeed before it is reported (Chrome also
// reports connections that are closing, which let the request through a moment later), and how
// long one may make no progress at all (queued behind another tab's pending open).
const BLOCKED_GRACE_MS = 1000;
const STALL_MS = 10000;

function failure(e, extra) {
  return { ...extra, name: String(e?.name ?? "Error"), message: String(e?.message ?? e) };
}

// Waits for an open or delete request: resolves with its result; rejects with `{ kind:
// "blocked" }` when another connection keeps blocking it past the grace (or it stalls), with
// `{ kind: "refused" }` when the browser refuses IndexedDB (private modes), else with the error.
// A request given up on that succeeds later has its connection closed at once.
function settle(req, upgradeFailed) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const once = (f) => { if (!settled) { settled = true; f(); } };
    const giveUp = () => once(() => reject({ kind: "blocked", name: "Blocked", message: "blocked" }));
    req.onsuccess = () => {
      if (settled) req.result?.close?.();
      else once(() => resolve(req.result));
    };
    req.onerror = () => once(() => {
      const e = req.error;
      if (upgradeFailed?.()) return reject(upgradeFailed());
      const refused = e?.name === "InvalidStateError" || e?.name === "SecurityError";
      reject(failure(e, { kind: refused ? "refused" : "failed" }));
    });
    req.onblocked = () => setTimeout(giveUp, BLOCKED_GRACE_MS);
    setTimeout(giveUp, STALL_MS);
  });
}

function factory() {
  const f = globalThis.indexedDB;
  if (!f || typeof f.open !== "function") throw { kind: "refused", name: "NotSupportedError", message: "no indexedDB in this scope" };
  return f;
}

// The value at dotted `path` of `row` ("args.id"), undefined when absent.
const at = (row, path) => path.split(".").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), row);

// One schema change inside the upgrade transaction. `countInto` puts `{ ...row, [field]: n }`
// into store `into`, n being how many entries `index` of `store` holds under `key`.
// `deleteRange` deletes the keys of `store` from `lower` to `upper`. `tallyInto`: for each
// distinct string `v` among the `keyPaths` of each entry of `store`, the row of key
// `prefix + v` in `into` gets `[field]: { name: count }`, counting per name the entries naming
// v (`counts[name]` null) or those of them whose value at path `counts[name][0]` equals
// `counts[name][1]`.
function upgradeOp(db, tx, op) {
  switch (op.op) {
    case "createStore":
      db.createObjectStore(op.store, { keyPath: op.keyPath });
      break;
    case "createIndex":
      tx.objectStore(op.store).createIndex(op.index, op.keyPath);
      break;
    case "countInto": {
      const c = tx.objectStore(op.store).index(op.index).count(op.key);
      c.onsuccess = () => tx.objectStore(op.into).put({ ...op.row, [op.field]: c.result });
      break;
    }
    case "deleteRange":
      tx.objectStore(op.store).delete(IDBKeyRange.bound(op.lower, op.upper));
      break;
    case "tallyInto": {
      const all = tx.objectStore(op.store).getAll();
      all.onsuccess = () => {
        const tally = new Map();
        for (const row of all.result) {
          for (const v of new Set(op.keyPaths.map((k) => at(row, k)).filter((v) => typeof v === "string"))) {
            const t = tally.get(v) ?? Object.fromEntries(Object.keys(op.counts).map((name) => [name, 0]));
            for (const [name, cond] of Object.entries(op.counts)) if (cond === null || at(row, cond[0]) === cond[1]) t[name]++;
            tally.set(v, t);
          }
        }
        const into = tx.objectStore(op.into);
        for (const [v, t] of tally) into.put({ [into.keyPath]: `${op.prefix}${v}`, [op.field]: t });
      };
      break;
    }
    default:
      throw new TypeError(`unknown upgrade operation ${op.op}`);
  }
}

// Opens `name` at `version`. `stepsJson` is `[{ version, name, ops }]`: every step above the
// stored version (up to `version`) runs in order in the one upgrade transaction; a failing step
// aborts it (nothing of the upgrade stays) and the open rejects with `{ kind: "upgrade", step }`.
// When another tab later asks for a newer version (or a delete), the connection closes itself
// so it does not block that tab, and `onClosed()` is called.
export function idbOpen(name, version, stepsJson, onClosed) {
  let req;
  try {
    req = factory().open(name, version);
  } catch (e) {
    const refused = e?.kind === "refused" || e?.name === "InvalidStateError" || e?.name === "SecurityError";
    return Promise.reject(e?.kind ? e : failure(e, { kind: refused ? "refused" : "failed" }));
  }
  let upgradeFailed = null;
  req.onupgradeneeded = (ev) => {
    const db = req.result;
    const tx = req.transaction;
    let step = null;
    try {
      for (const s of JSON.parse(stepsJson)) {
        if (s.version <= ev.oldVersion || s.version > version) continue;
        step = s.name;
        for (const op of s.ops) upgradeOp(db, tx, op);
      }
    } catch (e) {
      upgradeFailed = failure(e, { kind: "upgrade", step });
      try { tx.abort(); } catch { /* already finished */ }
    }
  };
  return settle(req, () => upgradeFailed).then((db) => {
    db.onversionchange = () => {
      db.close();
      onClosed();
    };
    return db;
  });
}

export function idbClose(db) {
  db.onversionchange = null;
  db.close();
}

export function idbDelete(name) {
  try {
    return settle(factory().deleteDatabase(name)).then(() => null);
  } catch (e) {
    return Promise.reject(e?.kind ? e : failure(e, { kind: "failed" }));
  }
}

// `{ eq: key }`, `{ lower?, upper?, lowerOpen?, upperOpen? }` or null (everything).
function range(r) {
  if (r == null) return undefined;
  if ("eq" in r) return r.eq;
  const { lower, upper } = r;
  if (lower !== undefined && upper !== undefined) return IDBKeyRange.bound(lower, upper, !!r.lowerOpen, !!r.upperOpen);
  if (lower !== undefined) return IDBKeyRange.lowerBound(lower, !!r.lowerOpen);
  if (upper !== undefined) return IDBKeyRange.upperBound(upper, !!r.upperOpen);
  return undefined;
}

// Only the fields asked for cross back (rows also hold index keys the caller does not read).
function pick(row, fields) {
  if (row === undefined) return null;
  if (!fields) return row;
  const out = {};
  for (const f of fields) out[f] = row[f];
  return out;
}

// Runs `ops` in one readonly transaction, every request issued before any answer is awaited:
//   { op: "get", store, keys: [key], pick? }                          -> [row | null]
//   { op: "query", store, index?, range?, limit?, dir?, pick? }       -> [row]  (dir "prev": descending)
//   { op: "count", store, index?, range? }                            -> n
// Resolves with one JSON text per op; rejects with the first failure.
export function idbRead(db, opsJson) {
  return new Promise((resolve, reject) => {
    const ops = JSON.parse(opsJson);
    const out = new Array(ops.length);
    let pending = 0;
    let failed = false;
    const fail = (e) => { if (!failed) { failed = true; reject(failure(e)); } };
    const done = () => { if (--pending === 0 && !failed) resolve(out.map((v) => JSON.stringify(v))); };
    const track = (req, onOk) => {
      pending++;
      req.onsuccess = () => { onOk(req.result); done(); };
      req.onerror = (ev) => { ev.preventDefault(); fail(req.error); };
    };
    try {
      const tx = db.transaction([...new Set(ops.map((o) => o.store))], "readonly");
      tx.onabort = () => fail(tx.error ?? { name: "AbortError", message: "the read was aborted" });
      ops.forEach((o, i) => {
        const os = tx.objectStore(o.store);
        const src = o.index == null ? os : os.index(o.index);
        if (o.op === "get") {
          const rows = (out[i] = new Array(o.keys.length).fill(null));
          o.keys.forEach((k, j) => track(os.get(k), (row) => { rows[j] = pick(row, o.pick); }));
        } else if (o.op === "count") {
          track(src.count(range(o.range)), (n) => { out[i] = n; });
        } else if (o.op === "query" && o.dir === "prev") {
          const rows = (out[i] = []);
          const limit = o.limit ?? Infinity;
          pending++;
          const req = src.openCursor(range(o.range), "prev");
          req.onsuccess = () => {
            const c = req.result;
            if (c && rows.length < limit) {
              rows.push(pick(c.value, o.pick));
              c.continue();
            } else done();
          };
          req.onerror = (ev) => { ev.preventDefault(); fail(req.error); };
        } else if (o.op === "query") {
          track(src.getAll(range(o.range), o.limit ?? undefined), (rows) => { out[i] = rows.map((r) => pick(r, o.pick)); });
        } else {
          throw new TypeError(`unknown read operation ${o.op}`);
        }
      });
    } catch (e) {
      fail(e);
      return;
    }
    if (pending === 0 && !failed) resolve(out.map((v) => JSON.stringify(v)));
  });
}

// ---- mutate --------------------------------------------------------------------------------
// One readwrite transaction over `stores`, all or nothing. The caller may hand the operations
// over in chunks (`idbMutateOps` several times in one task): each chunk's reads and writes are
// issued at once (for a batch begun with `hold`, its writes once the transaction has answered),
// so IndexedDB works on one chunk while the caller builds the next.
//
// Begin: `{ stores, rev, counters: [{ store, where, into, key, field }], hold? }`. `rev` names the row
//   field holding its revision; each counter keeps `field` of row `key` in store `into` equal to
//   the number of rows of `store` whose fields equal `where` (adjusted by this batch's writes).
//   `hold`: no write is placed before the transaction's first answer (a probe read), and
//   `idbMutateStarted(m)` resolves then; the caller awaits it before building its chunks, which
//   are then written while it builds the next (in the answer's microtasks, while the
//   transaction is still active; ops handed over later fail the batch). Firefox handles
//   thousands of requests placed before its transaction has started far more slowly: an import
//   of 10,000 templates ÷ the raw put loop read 1.71-1.79 placed at once, 1.61-1.65 held with
//   every chunk built first, 1.36-1.38 with the chunks built after the answer (BENCHMARKS.md
//   "Targets of issue 4"). The caller asks it for large batches.
// Ops: `[{ s: store, k: key, v?: row (a put; absent: a delete), e?: expectation }]`. `e` is 0
//   for "absent" or the revision the stored row must have; without it nothing is checked. Each
//   op sees the earlier ops of the batch. A put's row gets revision (current or 0) + 1; a put
//   expecting absence of a key the batch has not touched is an `add` (no read needed).
// End: `[{ store, index, key, max }]`: after the writes, `index` may hold at most `max` entries
//   under `key`. Resolves once the transaction has ended: null when it committed the whole batch
//   (a commit before `idbMutateEnd` is a TransactionInactiveError failure), else the JSON
//   text of why it did not: `{ op, conflict: true, actual }` (actual: revision or null),
//   `{ unique: j, count }`, or `{ op?, add?, name, message }` (a DOMException; `op`: the write
//   that failed, `add`: it was an add).

// A key no store holds (ids are ULIDs or built-in ids; label and rating keys start with one).
const START_PROBE = "\u0000";
export function idbMutateBegin(db, headerJson) {
  const h = JSON.parse(headerJson);
  const m = {
    tx: null, rev: h.rev, counters: h.counters || [], ops: [], next: 0, seen: new Set(), known: new Map(),
    fail: null, outcome: undefined, resolve: null, ending: false, wrote: false, unique: [], started: null, onStarted: null,
  };
  try {
    m.tx = db.transaction(h.stores, "readwrite");
  } catch (e) {
    m.outcome = JSON.stringify(failure(e));
    return m;
  }
  // A commit is a success only for a batch that was ended and had nothing fail: a transaction
  // whose ops came too late (a task after its last answer) commits by itself, without them.
  m.tx.oncomplete = () => finish(m, m.ending && !m.fail ? null : JSON.stringify(m.fail ?? failure({
    name: "TransactionInactiveError", message: "the transaction committed before the whole batch was handed over",
  })));
  m.tx.onabort = () => {
    const ours = m.fail && (m.fail.conflict || m.fail.unique !== undefined);
    const e = m.tx.error;
    finish(m, JSON.stringify(ours || !e ? m.fail ?? failure({ name: "AbortError", message: "the transaction was aborted" }) : failure(e, { op: m.fail?.op, add: m.fail?.add })));
  };
  // Held: `m.onStarted` is set until the probe answers (or the batch fails or ends).
  if (h.hold) {
    m.started = new Promise((resolve) => { m.onStarted = resolve; });
    guard(m, null, () => {
      const r = m.tx.objectStore(h.stores[0]).get(START_PROBE);
      r.onsuccess = () => { started(m); drain(m); };
      r.onerror = () => { noteFail(m, null, r.error); started(m); };
    });
    if (m.fail) started(m);
  }
  for (const c of m.counters) {
    c.where = Object.entries(c.where);
    c.delta = 0;
    c.done = false;
    c.row = null;
    guard(m, null, () => {
      const r = m.tx.objectStore(c.into).get(c.key);
      r.onsuccess = () => { c.row = r.result ?? null; c.done = true; if (c.then) c.then(); };
      r.onerror = () => noteFail(m, null, r.error);
    });
  }
  return m;
}

function finish(m, outcome) {
  if (m.outcome !== undefined) return;
  m.outcome = outcome;
  started(m);
  if (m.resolve) m.resolve(outcome);
}

function started(m) {
  if (m.onStarted) m.onStarted();
  m.onStarted = null;
}

// Resolves (never rejects) once a held batch's transaction has answered, or has ended. A caller
// that awaits it before building its chunks has each chunk written while it builds the next.
export function idbMutateStarted(m) {
  return m.started ?? Promise.resolve();
}

function noteFail(m, op, e, add) {
  if (!m.fail) m.fail = failure(e, op == null ? {} : { op, add: !!add });
}

function stop(m, why) {
  if (!m.fail) m.fail = why;
  try { m.tx.abort(); } catch { /* already ended */ }
}

// Runs `f`; a throw (the transaction has ended, a bad key) fails the batch.
function guard(m, op, f) {
  try {
    f();
  } catch (e) {
    noteFail(m, op, e);
    stop(m, m.fail);
  }
}

const matches = (row, where) => row != null && where.every(([k, v]) => row[k] === v);

// What a later op of the batch needs to know of a key's row: its revision and which counters
// it falls under (not the row itself, which would be kept alive until the batch ends).
function state(m, row) {
  return row == null ? null : { rev: row[m.rev] ?? null, hit: m.counters.map((c) => matches(row, c.where)) };
}

export function idbMutateOps(m, opsJson) {
  if (m.outcome !== undefined || m.fail) return;
  for (const o of JSON.parse(opsJson)) {
    const i = m.ops.length;
    o.id = o.s + (typeof o.k === "string" ? "\u0000s" + o.k : "\u0000a" + JSON.stringify(o.k));
    const first = !m.seen.has(o.id);
    m.seen.add(o.id);
    o.add = first && o.v !== undefined && o.e === 0;
    const counted = m.counters.some((c) => c.store === o.s);
    // The stored row is needed to check an expectation, to number a put, or to keep a counter.
    o.read = first && !o.add && (o.v !== undefined || o.e !== undefined || counted);
    o.ready = !o.read;
    m.ops.push(o);
    if (o.read) {
      guard(m, i, () => {
        const r = m.tx.objectStore(o.s).get(o.k);
        r.onsuccess = () => { o.cur = state(m, r.result); o.ready = true; drain(m); };
        r.onerror = () => noteFail(m, i, r.error);
      });
    }
  }
  drain(m);
}

// Checks and writes the ops whose stored rows are known, in batch order.
function drain(m) {
  if (m.onStarted) return; // held until the transaction's first answer
  while (m.next < m.ops.length && !m.fail && m.ops[m.next].ready) {
    const i = m.next++;
    const o = m.ops[i];
    const was = m.known.has(o.id) ? m.known.get(o.id) : o.read ? o.cur : null;
    const cur = was == null ? null : was.rev;
    if (o.e !== undefined && (o.e === 0 ? cur !== null : o.e !== cur)) return stop(m, { op: i, conflict: true, actual: cur });
    const now = o.v === undefined ? null : state(m, o.v);
    m.counters.forEach((c, j) => {
      if (c.store === o.s) c.delta += (now?.hit[j] ? 1 : 0) - (was?.hit[j] ? 1 : 0);
    });
    guard(m, i, () => {
      const os = m.tx.objectStore(o.s);
      let req;
      if (o.v !== undefined) {
        o.v[m.rev] = now.rev = (cur ?? 0) + 1;
        req = o.add ? os.add(o.v) : os.put(o.v);
      } else {
        req = os.delete(o.k);
      }
      // Only failures are listened to: the transaction's `complete` says every write landed,
      // and a failed one aborts it (as Dexie's bulkPut does).
      req.onerror = () => noteFail(m, i, req.error, o.add);
      m.known.set(o.id, now);
      o.v = undefined; // the op list keeps no row alive
    });
  }
  if (m.ending && m.next === m.ops.length && !m.fail) finishWrites(m);
}

function finishWrites(m) {
  if (m.wrote) return;
  m.wrote = true;
  for (const c of m.counters) {
    c.then = () => guard(m, null, () => {
      const v = c.row?.[c.field];
      if (c.delta !== 0 && typeof v === "number") m.tx.objectStore(c.into).put({ ...c.row, [c.field]: Math.max(0, v + c.delta) });
    });
    if (c.done) c.then();
  }
  // Reads in a transaction see its own writes: these count what the batch leaves.
  m.unique.forEach((u, j) => guard(m, null, () => {
    const r = m.tx.objectStore(u.store).index(u.index).count(u.key);
    r.onsuccess = () => { if (r.result > u.max) stop(m, { unique: j, count: r.result }); };
    r.onerror = () => noteFail(m, null, r.error);
  }));
}

export function idbMutateEnd(m, uniqueJson) {
  return new Promise((resolve) => {
    if (m.outcome !== undefined) return resolve(m.outcome);
    m.resolve = resolve;
    try {
      m.unique = JSON.parse(uniqueJson);
    } catch (e) {
      stop(m, failure(e));
      return;
    }
    m.ending = true;
    drain(m);
  });
}
