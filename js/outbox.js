// The outbox and meta stores of an offline replica (README "Offline replica"), in the replica's
// own IndexedDB database (schema step 006_replica_outbox), and the pure helpers of the sync
// engine (js/replica.js): what a push answer writes, what a pull may overwrite; the engine's
// record reads (RECORDS), its writes of server copies into the replica (APPLY) and the
// stale-while-revalidate of held copies (`revalidate`).

export const OUTBOX = "replica_outbox";
export const META = "replica_meta";

export const coded = (code, message, details = null) => JSON.stringify({ code, message, details });

/** A rejection (JSON text of a coded error, or anything thrown) as `{ code, message, details, status }`. */
export function errorOf(e) {
  if (typeof e === "string") {
    try {
      const v = JSON.parse(e);
      if (v && typeof v.code === "string") return v;
    } catch {
      // not a coded error
    }
  }
  if (e && typeof e.code === "string") return e;
  // Not a coded error: a fault of the engine itself, surfaced (and retried) rather than
  // mistaken for the network.
  return { code: "STORAGE_UNAVAILABLE", message: `the sync engine failed: ${String((e && e.message) || e)}`, details: null };
}

/**
 * Whether rejection `err` (errorOf) says the record is gone for this user: the reference
 * server's own NOT_FOUND / FORBIDDEN, from its error body (js/remote.js sets `envelope`;
 * server/openapi.yaml Error). A bare 403 / 404 from something in between (a proxy, a WAF) is
 * not: the held copy stays and is read again later.
 */
export function goneOnServer(err) {
  return (err?.code === "NOT_FOUND" || err?.code === "FORBIDDEN") && err.envelope === true;
}

// Endpoints whose If-Match is the server `updated_at` this client last knew for the target
// (not what the app passed: that is the replica's own copy, which a local edit has moved on).
export const KNOWN_IF_MATCH = new Set(["update", "newVersion", "restoreVersion", "delete", "updateSpec", "deleteSpec"]);

/**
 * The apply_remote batch a push answer stands for, and the ids whose server `updated_at` it
 * tells. `entry` is the outbox entry, `value` the server's answer (parsed, null for 204).
 */
export function batchOfAnswer(entry, value) {
  const a = entry.args;
  switch (entry.endpoint) {
    case "createSpec":
    case "updateSpec":
      return value ? { specs: [value] } : {};
    case "deleteSpec":
      return { deleted: { specs: [a.id] } };
    case "delete":
      return { deleted: { templates: [a.id] } };
    case "setLabel":
      return value ? { labels: [value] } : {};
    case "removeLabel":
      return { deleted: { labels: [{ template_id: a.id, label: a.label }] } };
    default:
      // create, update, newVersion, restoreVersion, instantiateSpec, recordUsage, rate: a template
      return value && typeof value.id === "string" ? { templates: [value] } : {};
  }
}

/** `batch` without the records of ids in `skip` (records with queued local edits). */
export function withoutQueued(batch, skip) {
  const out = {};
  const keep = (list, idOf) => (list ?? []).filter((r) => !skip.has(idOf(r)));
  if (batch.templates) out.templates = keep(batch.templates, (r) => r.id);
  if (batch.specs) out.specs = keep(batch.specs, (r) => r.id);
  if (batch.labels) out.labels = batch.labels;
  // The user's rating of a template with a queued rate stays the local one (`skip.rated`: the
  // ids of queued rate entries, given by ReplicaEngine.queuedIds; other queued writes of the
  // template leave its rating row to the server's copy).
  const rated = skip.rated ?? new Set();
  if (batch.ratings) out.ratings = (batch.ratings ?? []).filter((r) => !rated.has(r?.template_id));
  if (batch.builtin_stats) out.builtin_stats = batch.builtin_stats;
  if (batch.deleted) {
    const d = batch.deleted;
    out.deleted = {};
    if (d.templates) out.deleted.templates = d.templates.filter((id) => !skip.has(id));
    if (d.specs) out.deleted.specs = d.specs.filter((id) => !skip.has(id));
    if (d.ratings) out.deleted.ratings = d.ratings.filter((id) => !rated.has(id));
    if (d.labels) out.deleted.labels = d.labels;
    if (d.evicted === true) out.deleted.evicted = true;
  }
  return out;
}

/** The ids `withoutQueued` looks up in `batch`. */
export function idsOfBatch(batch) {
  const d = batch.deleted ?? {};
  return [...(batch.templates ?? []).map((r) => r?.id), ...(batch.specs ?? []).map((r) => r?.id), ...(batch.ratings ?? []).map((r) => r?.template_id),
    ...(d.templates ?? []), ...(d.specs ?? []), ...(d.ratings ?? [])];
}

/**
 * `batch` as one-record batches `{ id, batch }` in an order that keeps what a record needs
 * before it (templates, specs, ratings, labels, statistics, then deletions); [] when empty.
 */
export function splitBatch(batch) {
  const out = [];
  const one = (id, b) => out.push({ id, batch: b });
  for (const t of batch.templates ?? []) one(t?.id ?? null, { templates: [t] });
  for (const s of batch.specs ?? []) one(s?.id ?? null, { specs: [s] });
  for (const r of batch.ratings ?? []) one(r?.template_id ?? null, { ratings: [r] });
  for (const l of batch.labels ?? []) one(l?.template_id ?? null, { labels: [l] });
  for (const b of batch.builtin_stats ?? []) one(b?.id ?? null, { builtin_stats: [b] });
  const d = batch.deleted ?? {};
  // An eviction stays one (no delete event) record by record.
  const ev = d.evicted === true ? { evicted: true } : {};
  for (const id of d.templates ?? []) one(id, { deleted: { templates: [id], ...ev } });
  for (const id of d.specs ?? []) one(id, { deleted: { specs: [id], ...ev } });
  for (const id of d.ratings ?? []) one(id, { deleted: { ratings: [id] } });
  for (const l of d.labels ?? []) one(l?.template_id ?? null, { deleted: { labels: [l] } });
  return out;
}

/** The server `updated_at` of every template and spec in `batch`, by id. */
export function knownOf(batch) {
  const known = {};
  for (const r of [...(batch.templates ?? []), ...(batch.specs ?? [])]) {
    if (r && typeof r.id === "string" && typeof r.updated_at === "string") known[r.id] = r.updated_at;
  }
  return known;
}

/** The ids an outbox entry touches (a later entry for any of them waits behind its conflict). */
export function idsOf(entry) {
  return [entry.args?.id, entry.id, entry.target].filter((x, i, all) => typeof x === "string" && all.indexOf(x) === i);
}

// ---- the outbox and meta stores (IndexedDB) ------------------------------------------------

const done = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
const finished = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error ?? new DOMException("the transaction was aborted", "AbortError"));
});
const storageError = (e) => coded("STORAGE_UNAVAILABLE", `replica outbox: ${e?.name ?? "Error"}: ${e?.message ?? e}`);

// The queued-id index: meta `queued:<id>` = { n, rates } (entries naming the id, and how many of
// them are `rate`s), kept in the transaction of every change of the outbox, so a pull asks
// only about the records it got (rows read ∝ what changed), never reads the whole outbox.
// Schema step 007_replica_queued_index built it from the outbox of a replica from before it
// (src/store/indexeddb/migrations.json), before this store is opened: an open writes nothing.
const QUEUED = "queued:";

/** Adds `sign` (1 or -1) times `entries` to the index, inside `tx` (a readwrite one over meta). */
async function countQueued(tx, entries, sign) {
  const m = tx.objectStore(META);
  for (const entry of entries) {
    for (const id of idsOf(entry)) {
      const key = `${QUEUED}${id}`;
      const row = (await done(m.get(key)))?.value ?? { n: 0, rates: 0 };
      const next = { n: row.n + sign, rates: row.rates + (entry.endpoint === "rate" ? sign : 0) };
      if (next.n > 0) m.put({ key, value: next });
      else m.delete(key);
    }
  }
}

/** Deletes the outbox entries `seqs` (those still there) and takes them out of the index, inside `tx`. */
async function deleteEntries(tx, seqs) {
  const s = tx.objectStore(OUTBOX);
  const gone = [];
  for (const seq of seqs) {
    const entry = await done(s.get(seq));
    if (!entry) continue;
    s.delete(seq);
    gone.push(entry);
  }
  await countQueued(tx, gone, -1);
}

/** The outbox (`{ seq, key, endpoint, args, id, target, at, ready }`) and meta (`{ key, value }`). */
export class OutboxStore {
  static async open(name) {
    let db;
    try {
      db = await done(globalThis.indexedDB.open(name));
    } catch (e) {
      throw storageError(e);
    }
    if (!db.objectStoreNames.contains(OUTBOX) || !db.objectStoreNames.contains(META)) {
      db.close();
      throw coded("STORAGE_UNAVAILABLE", `database ${JSON.stringify(name)} has no outbox: it was opened by an older release`);
    }
    return new OutboxStore(db);
  }

  constructor(db) {
    this.db = db;
    this.closed = false;
    this.onclosed = null;
    // Another tab deletes or upgrades the database: let it, and stop.
    db.onversionchange = () => {
      this.close();
      this.onclosed?.();
    };
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.db.onversionchange = null;
    this.db.close();
  }

  async #run(stores, mode, f) {
    if (this.closed) throw coded("STORAGE_UNAVAILABLE", "the replica database was closed (deleted or upgraded by another tab): reload the page");
    try {
      const tx = this.db.transaction(stores, mode);
      const out = f(tx);
      await finished(tx);
      return await out;
    } catch (e) {
      throw typeof e === "string" ? e : storageError(e);
    }
  }

  /**
   * Appends `entry` after the last one (the sequence is taken inside the transaction, so tabs
   * never share one). A sequence number is never used twice, even after the highest entry was
   * removed (meta `next-seq`): a push reads what was appended meanwhile by key range after the
   * last number it saw, so a reused one would be missed.
   */
  append(entry) {
    return this.#run([OUTBOX, META], "readwrite", async (tx) => {
      const s = tx.objectStore(OUTBOX);
      const m = tx.objectStore(META);
      const last = await done(s.openCursor(null, "prev"));
      const next = (await done(m.get("next-seq")))?.value;
      const seq = Math.max(last ? last.key + 1 : 1, Number.isInteger(next) ? next : 1);
      await done(s.add({ ...entry, seq }));
      await done(m.put({ key: "next-seq", value: seq + 1 }));
      await countQueued(tx, [entry], 1);
      return seq;
    });
  }

  list() {
    return this.#run([OUTBOX], "readonly", (tx) => done(tx.objectStore(OUTBOX).getAll()));
  }

  /** The entries after `seq`, oldest first. */
  listAfter(seq) {
    return this.#run([OUTBOX], "readonly", (tx) => done(tx.objectStore(OUTBOX).getAll(IDBKeyRange.lowerBound(seq, true))));
  }

  count() {
    return this.#run([OUTBOX], "readonly", (tx) => done(tx.objectStore(OUTBOX).count()));
  }

  remove(seqs) {
    return this.#run([OUTBOX, META], "readwrite", (tx) => deleteEntries(tx, seqs));
  }

  /** The ids with queued entries among `ids` (every one when null), from the index; `.rated`: those with a queued `rate`. */
  queued(ids = null) {
    return this.#run([META], "readonly", async (tx) => {
      const m = tx.objectStore(META);
      const rows = ids === null
        ? await done(m.getAll(IDBKeyRange.bound(QUEUED, `${QUEUED}\uffff`)))
        : await Promise.all([...new Set(ids)].filter((id) => typeof id === "string").map((id) => done(m.get(`${QUEUED}${id}`))));
      const out = new Set();
      out.rated = new Set();
      for (const r of rows) {
        if (!r || !(r.value?.n > 0)) continue;
        const id = r.key.slice(QUEUED.length);
        out.add(id);
        if (r.value.rates > 0) out.rated.add(id);
      }
      return out;
    });
  }

  /** Sets `fields` on the entries `seqs` (those still there). */
  patch(seqs, fields) {
    return this.#run([OUTBOX], "readwrite", async (tx) => {
      const s = tx.objectStore(OUTBOX);
      for (const seq of seqs) {
        const e = await done(s.get(seq));
        if (e) s.put({ ...e, ...fields });
      }
    });
  }

  /** Deletes entries `seqs` and puts meta `values` (undefined: delete), in one transaction. */
  removeWith(seqs, values) {
    return this.#run([OUTBOX, META], "readwrite", async (tx) => {
      await deleteEntries(tx, seqs);
      const m = tx.objectStore(META);
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) m.delete(key);
        else m.put({ key, value });
      }
    });
  }

  /** Deletes entry `seq` and records the server `updated_at`s its answer told, in one transaction. */
  pushed(seq, known) {
    return this.#run([OUTBOX, META], "readwrite", async (tx) => {
      await deleteEntries(tx, [seq]);
      for (const [id, at] of Object.entries(known)) tx.objectStore(META).put({ key: `known:${id}`, value: at });
    });
  }

  get(key) {
    return this.#run([META], "readonly", async (tx) => (await done(tx.objectStore(META).get(key)))?.value);
  }

  /** Every meta value whose key starts with `prefix`, as [key without prefix, value]. */
  all(prefix) {
    return this.#run([META], "readonly", async (tx) => {
      const rows = await done(tx.objectStore(META).getAll(IDBKeyRange.bound(prefix, `${prefix}\uffff`)));
      return rows.map((r) => [r.key.slice(prefix.length), r.value]);
    });
  }

  /** Puts `{ key: value }` pairs (undefined: delete) in one transaction. */
  set(values) {
    return this.#run([META], "readwrite", (tx) => {
      const s = tx.objectStore(META);
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) s.delete(key);
        else s.put({ key, value });
      }
    });
  }
}

/**
 * `args` with its ids in canonical (uppercase) ULID form: the id argument and a base a draft or
 * a version's patch names. The outbox compares ids as strings (queued records, known values,
 * discards): a lowercase id there was another record (an update pushed without If-Match).
 */
export function canonicalIds(args) {
  const up = (o, k) => {
    if (o && typeof o[k] === "string" && /^[0-7][0-9a-z]{25}$/i.test(o[k])) o[k] = o[k].toUpperCase();
  };
  up(args, "id");
  up(args?.body, "base_template_id");
  up(args?.body?.patch, "base_template_id");
  return args;
}

/** The opaque-tag of an `ETag` header value (RFC 9110 section 8.8.3: `"..."`, weak `W/"..."`), or null. */
export function opaqueTag(header) {
  const m = typeof header === "string" ? /^(?:W\/)?"([^"]*)"$/.exec(header.trim()) : null;
  return m ? m[1] : null;
}

/** A built-in template's statistics as its builtin_stats row. */
export function statsOf(t) {
  const out = { id: t.id };
  for (const k of ["rating", "rating_count", "usage_count", "success_rate", "avg_response_time_ms", "last_used_at", "total_tokens_used", "total_cost", "avg_tokens_per_use"]) out[k] = t[k] ?? null;
  return out;
}

/** The engine's reads of records (js/replica.js mixes them into ReplicaEngine; `this` is the engine). */
export const RECORDS = {
  /**
   * GET of a record on the server: its JSON, or null when the server says it is not there (its
   * coded 404/403: goneOnServer); a bare 403/404 of a proxy rejects (the copy is kept). (Also used by js/pull.js.)
   */
  async fetchRecord(kind, id) {
    const name = { spec: "getSpec", labels: "labels", rating: "myRating" }[kind] ?? "get";
    try {
      return JSON.parse((await this.client.call(name, JSON.stringify({ id })))[0]);
    } catch (thrown) {
      if (goneOnServer(errorOf(thrown))) return null;
      throw thrown;
    }
  },

  async kindOf(id) {
    if (await this.o.local("template", id)) return "template";
    if (await this.o.local("spec", id)) return "spec";
    return null;
  },

  /**
   * The ids with queued entries (records a pull must not overwrite) among `ids`, or all of them
   * when null; `.rated`: those of queued rates (ratings it must not overwrite). Read from the
   * queued-id index (OutboxStore.queued), not the outbox: a pull pays for what it got.
   */
  async queuedIds(ids = null) {
    return this.store.queued(ids);
  },
};

// ---- server copies into the replica ------------------------------------------------------------

/**
 * The engine's writes of server copies into the replica (js/replica.js mixes them into
 * ReplicaEngine; `this` is the engine; used by js/pull.js and js/push.js): the apply lock
 * against this tab's local writes, records with queued entries left out, refused records
 * reported one by one.
 */
export const APPLY = {
  /** Server copies (`batch`) into the replica under `lock()`. */
  async applyBatch(batch) {
    const release = await this.lock();
    try {
      await this.applyLocked(batch);
    } finally {
      release();
    }
  },

  /** `batch` into the replica; the caller holds `lock()`. */
  async applyLocked(batch) {
    const parts = splitBatch(batch);
    if (parts.length) await applyParts(this, batch, parts);
  },

  /**
   * Server copies into the replica under `lock()`, leaving out the records with queued entries
   * as they are inside the lock (a local write queued while the copies were on the way keeps
   * its record and its base); `prepare(b)` records meta (known values, aliases) for what goes
   * in, first; `queued()` (default: the whole outbox read) gives the ids with queued entries. Resolves with the batch applied.
   */
  async applyServer(batch, prepare = null, queued = null) {
    const release = await this.lock();
    try {
      const b = withoutQueued(batch, await (queued ?? (() => this.queuedIds(idsOfBatch(batch))))());
      if (prepare) await prepare(b);
      await this.applyLocked(b);
      // Meta rows of records gone from the replica go with them (known values, aliases, lineages).
      await forget(this, [...(b.deleted?.templates ?? []), ...(b.deleted?.specs ?? [])]);
      return b;
    } finally {
      release();
    }
  },

  /** A server record the replica could not take (refused, or its re-read failed): a `rejected` event with endpoint "pull". */
  reportPull(id, err) {
    this.emit({ kind: "rejected", op: "rejected", seq: null, endpoint: "pull", id, error: { code: err.code, message: err.message, details: err.details ?? null }, external: false });
  },

  /**
   * A lock between this tab's local writes and the engine's applies (a promise chain): a
   * server copy applied between a write's read of a record and its commit would make that
   * write a spurious CONFLICT. Resolves with the function that releases it.
   */
  lock() {
    let release;
    const held = new Promise((r) => { release = r; });
    const before = this.tail ?? Promise.resolve();
    this.tail = before.then(() => held);
    return before.then(() => release);
  },

  /** Server copies into the replica, their `updated_at` becoming the known ones (the next If-Match). */
  async applyKnown(batch) {
    return this.applyServer(batch, (b) => this.store.set(Object.fromEntries(Object.entries(knownOf(b)).map(([id, at]) => [`known:${id}`, at]))));
  },
};

/** `batch` into the replica whole, else each of its `parts` (splitBatch) alone, the refused ones reported. */
async function applyParts(e, batch, parts) {
  try {
    await e.o.apply(JSON.stringify(batch));
  } catch (thrown) {
    if (errorOf(thrown).code === "STORAGE_UNAVAILABLE") throw thrown;
    // A record the replica refuses (VALIDATION_FAILED: not what this package would store;
    // NAME_TAKEN, CONFLICT, INVALID_ARGUMENT: at odds with what the replica holds) must not
    // stop every later sync: the others go in one by one, each refused one is left out and
    // reported (endpoint "pull"). Only a replica that cannot be written stops the sync.
    for (const part of parts) {
      try {
        await e.o.apply(JSON.stringify(part.batch));
      } catch (e2) {
        const err = errorOf(e2);
        if (err.code === "STORAGE_UNAVAILABLE") throw e2;
        e.reportPull(part.id, err);
      }
    }
  }
}

/** Drops the meta rows kept for records that are gone (known values, aliases, held lineages and copies, server tags). */
export async function forget(e, ids) {
  if (ids.length) await e.store.set(Object.fromEntries(ids.flatMap((id) => [[`known:${id}`, undefined], [`alias:${id}`, undefined], [`lineage:${id}`, undefined], [`copy:${id}`, undefined], [`etag:${id}`, undefined]])));
}

// ---- stale-while-revalidate: reads answered from the replica ----------------------------------

/**
 * Revalidates, behind a read the replica answered, template or spec `id` and (a template) the
 * links of its chain that belong to another user: a conditional GET each, If-None-Match = the
 * held copy's entity tag (`<updated_at>.<stats part>`, src/model/etag.rs; 304 when unchanged:
 * one small request; a use or rating by anyone changes it). A changed copy
 * is applied (subscribers hear it, `external: true`); one the server no longer lets this user
 * read is dropped (an own template deriving from it then fails BASE_NOT_FOUND, as on the
 * server). The acting user's own records and the built-ins are kept current by the pull.
 */
export async function revalidate(e, kind, id) {
  const key = `${kind} ${id}`;
  if (e.closed || e.error || e.state === "offline" || e.revalidating.has(key)) return;
  e.revalidating.add(key);
  try {
    // The queued-id index is asked only about a link to revalidate: a read of the user's own
    // chain (the common case, kept fresh by the feed) asks nothing.
    const changed = { templates: [], specs: [], deleted: { templates: [], specs: [] } };
    const tags = []; // [id, the server's ETag, its body] of each 200
    const seen = new Set();
    for (let at = id; typeof at === "string" && !seen.has(at) && seen.size < 64 && !e.closed; ) {
      seen.add(at);
      const text = await e.o.local(kind, at);
      const held = text ? JSON.parse(text) : null;
      if (!held) break;
      const next = kind === "template" ? held.base_template_id : null;
      if (held.owner_id !== e.o.userId && held.is_builtin !== true && !(await e.queuedIds([at])).has(at)) {
        const list = kind === "spec" ? "specs" : "templates";
        // The held copy's tag as the server derives its ETag (content and statistics: moved
        // statistics get a 200, an unchanged copy a 304); but the server's own ETag while the
        // held copy is the one its answer left (meta `etag:<id>` = { tag, local: that copy's
        // derived tag }): a copy stored unlike the server's representation (kept not latest
        // beside a newer version held here: apply_remote's displace) never matches.
        const derived = e.o.etag(text);
        const kept = await e.store.get(`etag:${at}`);
        const etag = kept && kept.local === derived && typeof kept.tag === "string" ? kept.tag : derived;
        try {
          const reply = await e.client.call(kind === "spec" ? "getSpec" : "get", JSON.stringify({ id: at, ifNoneMatch: etag }));
          if (reply[0] !== null) {
            const body = JSON.parse(reply[0]);
            changed[list].push(body);
            const tag = opaqueTag(reply[3]);
            if (tag !== null) tags.push([at, tag, body]);
          }
        } catch (thrown) {
          const err = errorOf(thrown);
          if (goneOnServer(err)) changed.deleted[list].push(at);
          else throw thrown;
        }
      }
      at = next;
    }
    // A GET answered after close() changes nothing (the catalog and its replica are closed).
    if (e.closed) return;
    if (changed.templates.length || changed.specs.length || changed.deleted.templates.length || changed.deleted.specs.length) await e.applyKnown(changed);
    // Each server tag with the copy its answer left, only when the held copy is that answer
    // (as the server sent it, but `is_latest`, which apply_remote may set): one refused,
    // left out (queued meanwhile) or replaced since is not, and its row goes.
    const rows = {};
    for (const [at, tag, body] of tags) {
      const text = await e.o.local(kind, at);
      const held = text ? JSON.parse(text) : null;
      const taken = held !== null && e.o.etag(JSON.stringify({ ...held, is_latest: body.is_latest })) === e.o.etag(JSON.stringify(body));
      rows[`etag:${at}`] = taken ? { tag, local: e.o.etag(text) } : undefined;
    }
    if (tags.length && !e.closed) await e.store.set(rows);
  } catch (thrown) {
    if (!e.closed && errorOf(thrown).code === "NETWORK") e.setState("offline");
  } finally {
    e.revalidating.delete(key);
  }
}
