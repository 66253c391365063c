// The pull of an offline replica's sync engine (js/replica.js; README "Offline replica"): a full
// pull (the feed's head, then the export) when the replica has no `complete` marker, else the
// change feed from the kept cursor, re-reading what each change names; and the fetch of a
// record the replica does not hold (with its chain). `e` is the engine (its client, store,
// hooks, applyServer, applyKnown, fetchRecord, kindOf, queuedIds). A record with queued entries
// is never overwritten: its server copy stays the base a conflict is found against.

import { errorOf, goneOnServer, knownOf, statsOf } from "./outbox.js";

// Concurrent re-reads during a pull.
const PULL_PARALLEL = 6;

// At most this many lineages of other users are kept after reads (adoptLineage), the least
// recently read dropped first (docs/replica.md "Lineages of other users"; README "Offline
// replica"): without a bound, every lineage a user ever browses stays, and each full pull
// re-reads it.
export const MAX_ADOPTED_LINEAGES = 200;
let maxAdopted = MAX_ADOPTED_LINEAGES;

/**
 * TEST HOOK ONLY (tests/pages/replica_reads.test.mjs), not an API: sets the bound above for
 * every replica in this page (a small one, to see lineages dropped); no argument restores it.
 */
export function setLineageLimitForTests(n) {
  maxAdopted = Number.isInteger(n) && n >= 0 ? n : MAX_ADOPTED_LINEAGES;
}

/** Brings the replica up to the server: a full pull without the `complete` marker, else the feed from the kept cursor. Resolves with how many changes were applied. */
export async function pull(e) {
  if (!(await e.store.get("complete"))) return fullPull(e);
  let applied = await reReadStale(e);
  for (let more = true; more && !e.closed; ) {
    const cursor = await e.store.get("cursor");
    let page;
    try {
      page = JSON.parse((await e.client.call("changes", JSON.stringify({ query: { since: cursor, limit: 500 } })))[0]);
    } catch (thrown) {
      const err = errorOf(thrown);
      if (err.details?.reason === "CURSOR_AHEAD") {
        await e.store.set({ complete: undefined });
        return fullPull(e);
      }
      throw thrown;
    }
    applied += await applyChanges(e, page.changes ?? []);
    await e.store.set({ cursor: page.cursor });
    more = page.more === true;
  }
  return applied;
}

/**
 * The feed's head, then everything the user owns (the export), in one commit, less what the
 * server no longer has (`gone`); then the cursor and the `complete` marker.
 */
export async function fullPull(e) {
  const head = JSON.parse((await e.client.call("changes", JSON.stringify({ query: { since: "now" } })))[0]);
  // What the replica held from the server before the export was asked for (a record an own
  // push creates meanwhile is not in this list, so is never taken for gone).
  const before = (await e.store.all("known:")).map(([id]) => id);
  const bundle = JSON.parse((await e.client.call("exportAll", "{}"))[0]);
  const batch = {
    templates: bundle.workflow_templates ?? [],
    specs: bundle.template_specs ?? [],
    ratings: bundle.ratings ?? [],
    labels: bundle.template_labels ?? [],
    builtin_stats: bundle.builtin_stats ?? [],
  };
  batch.deleted = await gone(e, before, batch);
  await bases(e, batch);
  const b = await e.applyServer(batch);
  await e.store.set({
    ...Object.fromEntries(Object.entries(knownOf(b)).map(([id, at]) => [`known:${id}`, at])),
    cursor: head.cursor,
    complete: true,
  });
  return b.templates.length + b.specs.length + b.deleted.templates.length + b.deleted.specs.length;
}

/**
 * The records of `held` (ids the replica got from the server) that the server no longer gives
 * this user: an own template or spec the export does not list (deleted while the feed was not
 * heard: eviction, CURSOR_AHEAD), another user's template it no longer lets this user read
 * (deleted, made private). Another user's template still readable is re-read into `batch`.
 * Records with queued writes are left out later (ReplicaEngine.applyServer).
 */
async function gone(e, held, batch) {
  const listed = new Set([...batch.templates, ...batch.specs].map((r) => r?.id));
  const deleted = { templates: [], specs: [] };
  const others = [];
  for (const id of held) {
    if (listed.has(id)) continue;
    const kind = await e.kindOf(id);
    if (!kind) continue;
    if (kind === "spec") {
      deleted.specs.push(id);
      continue;
    }
    const local = JSON.parse(await e.o.local("template", id));
    if (local?.owner_id === e.o.userId) {
      deleted.templates.push(id);
      continue;
    }
    others.push(id);
  }
  // Another user's held templates (bounded: MAX_ADOPTED_LINEAGES), re-read PULL_PARALLEL at a time.
  for (let i = 0; i < others.length; i += PULL_PARALLEL) await Promise.all(others.slice(i, i + PULL_PARALLEL).map((id) => reReadOther(e, id, batch, deleted)));
  return deleted;
}

/** Another user's held template `id` in a full pull: its copy into `batch`, or `deleted` when the server says it is gone. */
async function reReadOther(e, id, batch, deleted) {
  let rec;
  try {
    rec = await e.fetchRecord("template", id);
  } catch (thrown) {
    // A re-read failing for this record alone (a coded 5xx, a proxy's bare 403): reported, the copy kept.
    const err = errorOf(thrown);
    if (["NETWORK", "UNAUTHORIZED", "STORAGE_UNAVAILABLE"].includes(err.code)) throw thrown;
    e.reportPull(id, err);
    return;
  }
  if (rec) batch.templates.push(rec);
  else deleted.templates.push(id);
}

/**
 * The chains of the templates in a full pull's `batch` (the user's own derived templates, and
 * another user's kept ones): each base neither in the batch nor held here (an empty or evicted
 * replica holds none), however deep, is read from the server into the batch, so a derived
 * template resolves offline after the pull. A base the server no longer lets this user read
 * stays out (deleted, if held): resolving then fails BASE_NOT_FOUND, as on the server.
 */
async function bases(e, batch) {
  const inBatch = new Map(batch.templates.map((t) => [t?.id, t]));
  const gone = new Set(batch.deleted.templates);
  const seen = new Set();
  const walk = async (t) => {
    for (let base = t?.base_template_id; typeof base === "string" && !seen.has(base) && !gone.has(base) && seen.size < 4096; ) {
      seen.add(base);
      let b = inBatch.get(base);
      if (!b) {
        const held = await e.o.local("template", base);
        try {
          b = held ? JSON.parse(held) : await e.fetchRecord("template", base);
        } catch (thrown) {
          // A base whose read fails for itself alone (a coded 5xx): reported, the pull goes on.
          const err = errorOf(thrown);
          if (["NETWORK", "UNAUTHORIZED", "STORAGE_UNAVAILABLE"].includes(err.code)) throw thrown;
          e.reportPull(base, err);
          b = null;
        }
        if (!b) break;
        if (!held) {
          batch.templates.push(b);
          inBatch.set(base, b);
        }
      }
      base = b.base_template_id;
    }
  };
  for (const t of [...batch.templates]) await walk(t);
}

/**
 * Changes passed over because their record had queued writes (kept as `stale:<key>` in meta),
 * re-read once nothing is queued for the record any more (pushed, dropped, or resolved).
 */
async function reReadStale(e) {
  const stale = await e.store.all("stale:");
  if (!stale.length) return 0;
  const queued = await e.queuedIds();
  const ready = stale.filter(([, c]) => !queued.has(c.id));
  if (!ready.length) return 0;
  await e.store.set(Object.fromEntries(ready.map(([k]) => [`stale:${k}`, undefined])));
  return applyChanges(e, ready.map(([, c]) => c), queued);
}

/** Re-reads what `changes` name and applies it (records with queued entries excepted: kept as
 * stale). `skip`: the queued ids when the caller has just read them (one outbox read, not two). */
async function applyChanges(e, changes, skip = null) {
  if (!changes.length) return 0;
  const last = new Map();
  for (const c of changes) {
    if (c && typeof c.id === "string") last.set(`${c.kind} ${c.id} ${c.label ?? ""}`, c);
  }
  skip ??= await e.queuedIds();
  const passed = [...last.entries()].filter(([, c]) => skip.has(c.id));
  if (passed.length) await e.store.set(Object.fromEntries(passed.map(([k, c]) => [`stale:${k}`, c])));
  const batch = { templates: [], specs: [], labels: [], ratings: [], builtin_stats: [], deleted: { templates: [], specs: [], labels: [], ratings: [] } };
  const jobs = [...last.values()].filter((c) => !skip.has(c.id)).map((c) => () => reRead(c).catch((thrown) => {
    // A record whose re-read keeps failing (a coded 5xx such as INTEGRITY, a refused id) must
    // not stop the feed for good: reported and passed over. Unreachable, refused token or a
    // closed replica stop the sync (retried).
    const err = errorOf(thrown);
    if (["NETWORK", "UNAUTHORIZED", "STORAGE_UNAVAILABLE"].includes(err.code)) throw thrown;
    e.reportPull(c.id, err);
    // A bare 403/404 of something in between (not goneOnServer): the copy stays, and the
    // change is kept (`stale:`) to be re-read at the next pull.
    if ((err.code === "NOT_FOUND" || err.code === "FORBIDDEN") && !goneOnServer(err)) return e.store.set({ [`stale:${c.kind} ${c.id} ${c.label ?? ""}`]: c });
  }));
  const reRead = async (c) => {
    if (c.kind === "template") {
      if (c.op === "delete") return void batch.deleted.templates.push(c.id);
      // Whatever this user may read is kept: their own records, and other users' public
      // templates heard live (so subscribers hear them, and discover offline finds them).
      const rec = await e.fetchRecord("template", c.id);
      rec ? batch.templates.push(rec) : batch.deleted.templates.push(c.id);
    } else if (c.kind === "spec") {
      if (c.op === "delete") return void batch.deleted.specs.push(c.id);
      const rec = await e.fetchRecord("spec", c.id);
      rec ? batch.specs.push(rec) : batch.deleted.specs.push(c.id);
    } else if (c.kind === "label") {
      // The lineage's labels as they are now: a label deleted here may have moved (a later
      // put in the lineage), and only one that is really gone is deleted.
      const list = await e.fetchRecord("labels", c.id);
      if (Array.isArray(list)) batch.labels.push(...list);
      const gone = typeof c.label === "string" && !(Array.isArray(list) && list.some((l) => l.label === c.label));
      if (c.op === "delete" && gone) batch.deleted.labels.push({ template_id: c.id, label: c.label });
    } else if (c.kind === "rating") {
      // This user's own rating row (set from another device): that row alone.
      const row = await e.fetchRecord("rating", c.id);
      row ? batch.ratings.push(row) : batch.deleted.ratings.push(c.id);
    } else if (c.kind === "builtin_stats") {
      const rec = await e.fetchRecord("template", c.id);
      if (rec) batch.builtin_stats.push(statsOf(rec));
    }
  };
  for (let i = 0; i < jobs.length; i += PULL_PARALLEL) await Promise.all(jobs.slice(i, i + PULL_PARALLEL).map((j) => j()));
  const labelKeys = new Set();
  batch.labels = batch.labels.filter((l) => !labelKeys.has(`${l.template_id} ${l.label}`) && labelKeys.add(`${l.template_id} ${l.label}`));
  // Records queued meanwhile (a local write while the re-reads were on the way) are left out
  // inside the apply lock, their known value unmoved: the write's push finds the conflict.
  const applied = await e.applyServer(batch, async (b) => {
    // A re-read whose updated_at is the one this client knows is its own write coming back:
    // the replica's updated_at it replaces is kept as an alias (ReplicaEngine.aliasOwn).
    const echoes = new Set();
    for (const r of [...b.templates, ...b.specs]) {
      if (r.updated_at === (await e.store.get(`known:${r.id}`))) echoes.add(r.id);
    }
    // A change made elsewhere ends the aliases of the record (an app's older ifMatch is stale).
    const foreign = [...b.templates, ...b.specs].filter((r) => !echoes.has(r.id)).map((r) => [`alias:${r.id}`, undefined]);
    await e.store.set({ ...Object.fromEntries(foreign), ...Object.fromEntries(Object.entries(knownOf(b)).map(([id, at]) => [`known:${id}`, at])) });
    await e.aliasOwn(b, echoes);
  });
  // Records queued while their copies were on the way: passed over too, re-read later.
  const kept = new Set([...(applied.templates ?? []), ...(applied.specs ?? [])].map((r) => r.id));
  const late = [...last.entries()].filter(([, c]) => (c.kind === "template" || c.kind === "spec") && c.op !== "delete" && !skip.has(c.id) && [...batch.templates, ...batch.specs].some((r) => r.id === c.id) && !kept.has(c.id));
  if (late.length) await e.store.set(Object.fromEntries(late.map(([k, c]) => [`stale:${k}`, c])));
  return last.size;
}

/**
 * Brings template or spec `id` (a template with its chain) from the server into the replica.
 * Resolves true when something was applied; false when offline or not on the server.
 */
export async function fetchMissing(e, kind, id) {
  if (e.closed || e.error) return false;
  try {
    if (kind === "spec") {
      const rec = await e.fetchRecord("spec", id);
      if (!rec) return false;
      await e.applyKnown({ specs: [rec] });
      return true;
    }
    const rec = await e.fetchRecord("template", id);
    if (!rec) return false;
    // Its bases the replica lacks, however deep (a held base's own base may be missing).
    const chain = [rec];
    const seen = new Set([rec.id]);
    for (let base = rec.base_template_id; typeof base === "string" && !seen.has(base) && seen.size < 64 && !e.closed; ) {
      seen.add(base);
      const held = await e.o.local("template", base);
      const b = held ? JSON.parse(held) : await e.fetchRecord("template", base);
      if (!b) break;
      if (!held) chain.push(b);
      base = b.base_template_id;
    }
    if (e.closed) return false;
    const batch = await e.applyKnown({ templates: chain });
    return batch.templates.length > 0;
  } catch (thrown) {
    if (!e.closed && errorOf(thrown).code === "NETWORK") e.setState("offline");
    return false;
  }
}

// ---- stale-while-revalidate: reads answered from the replica ----------------------------------

/**
 * Revalidates, behind a read the replica answered, template or spec `id` and (a template) the
 * links of its chain that belong to another user: a conditional GET each, If-None-Match = the
 * server `updated_at` the replica holds (304 when unchanged: one small request). A changed copy
 * is applied (subscribers hear it, `external: true`); one the server no longer lets this user
 * read is dropped (an own template deriving from it then fails BASE_NOT_FOUND, as on the
 * server). The acting user's own records and the built-ins are kept current by the pull.
 */
export async function revalidate(e, kind, id) {
  const key = `${kind} ${id}`;
  if (e.closed || e.error || e.state === "offline" || e.revalidating.has(key)) return;
  e.revalidating.add(key);
  try {
    // The outbox is read only when a link to revalidate is found: a read of the user's own
    // chain (the common case, kept fresh by the feed) costs no outbox read.
    let queued = null;
    const changed = { templates: [], specs: [], deleted: { templates: [], specs: [] } };
    const seen = new Set();
    for (let at = id; typeof at === "string" && !seen.has(at) && seen.size < 64 && !e.closed; ) {
      seen.add(at);
      const text = await e.o.local(kind, at);
      const held = text ? JSON.parse(text) : null;
      if (!held) break;
      const next = kind === "template" ? held.base_template_id : null;
      if (held.owner_id !== e.o.userId && held.is_builtin !== true && !(queued ??= await e.queuedIds()).has(at)) {
        const list = kind === "spec" ? "specs" : "templates";
        const etag = (await e.store.get(`known:${at}`)) ?? held.updated_at;
        try {
          const reply = await e.client.call(kind === "spec" ? "getSpec" : "get", JSON.stringify({ id: at, ifNoneMatch: etag }));
          if (reply[0] !== null) changed[list].push(JSON.parse(reply[0]));
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
  } catch (thrown) {
    if (!e.closed && errorOf(thrown).code === "NETWORK") e.setState("offline");
  } finally {
    e.revalidating.delete(key);
  }
}

/** Drops the meta rows kept for records that are gone (known values, aliases, held lineages). */
export async function forget(e, ids) {
  if (ids.length) await e.store.set(Object.fromEntries(ids.flatMap((id) => [[`known:${id}`, undefined], [`alias:${id}`, undefined], [`lineage:${id}`, undefined]])));
}

/**
 * Keeps another user's lineage (any version `id`) after a read the server answered: its
 * versions (with their chains) and labels go into the replica, and each version is marked
 * held (meta `lineage:<id>`), so later reads of the lineage (versions, labels, by-name) answer
 * from the replica, revalidated by the feed (which names every change of a public lineage,
 * its going private included).
 */
export async function adoptLineage(e, id) {
  if (e.closed || e.error || e.adopting.has(id)) return;
  e.adopting.add(id);
  try {
    const list = JSON.parse((await e.client.call("versions", JSON.stringify({ id })))[0]);
    // close() while a request was on the way: no further request, nothing applied.
    if (e.closed) return;
    const versions = (Array.isArray(list) ? list : []).filter((t) => t && typeof t.id === "string");
    // The user's own lineages and the built-ins are held whole already.
    if (!versions.length || versions.some((t) => t.owner_id === e.o.userId || t.is_builtin === true)) return;
    const labels = await e.fetchRecord("labels", id);
    if (e.closed) return;
    const held = JSON.parse((await e.o.local("labels", id)) ?? "[]");
    const gone = held.filter((l) => !(labels ?? []).some((x) => x.label === l.label)).map((l) => ({ template_id: l.template_id, label: l.label }));
    await e.applyKnown({ templates: versions, labels: Array.isArray(labels) ? labels : [], deleted: { labels: gone } });
    // Bases of the versions that the replica lacks (another user's chain).
    for (const t of versions) {
      if (e.closed) return;
      if (typeof t.base_template_id === "string" && !(await e.o.local("template", t.base_template_id))) await fetchMissing(e, "template", t.base_template_id);
    }
    if (e.closed) return;
    // The lineage's row (`adopted:<owner> <name key>`: when it was last read, and the ids it
    // brought, its chains included) and a `lineage:<id>` row per version naming it.
    const key = `${versions[0].owner_id} ${String(versions[0].name ?? "").trim().toLowerCase()}`;
    const ids = new Set(versions.map((t) => t.id));
    for (const t of versions) {
      for (let at = t.base_template_id; typeof at === "string" && !ids.has(at) && ids.size < 4096; ) {
        const text = await e.o.local("template", at);
        const b = text ? JSON.parse(text) : null;
        if (!b || b.owner_id === e.o.userId || b.is_builtin === true) break;
        ids.add(at);
        at = b.base_template_id;
      }
    }
    await e.store.set({ ...Object.fromEntries(versions.map((t) => [`lineage:${t.id}`, key])), [`adopted:${key}`]: { at: Date.now(), ids: [...ids] } });
    await boundLineages(e);
  } catch (thrown) {
    if (!e.closed && errorOf(thrown).code === "NETWORK") e.setState("offline");
  } finally {
    e.adopting.delete(id);
  }
}

/**
 * Keeps at most `maxAdopted` adopted lineages: the least recently read go (their versions and
 * the chains they brought, with their labels; subscribers hear a delete), except what is still
 * needed: a record with queued writes, and any link in the chain of a template kept otherwise
 * (the user's own, another kept lineage's, any other held one). A needed version stays as a
 * plain held copy; its lineage is no longer held (its next lineage read asks the server).
 */
async function boundLineages(e) {
  const rows = await e.store.all("adopted:");
  if (rows.length <= maxAdopted || e.closed) return;
  rows.sort((a, b) => (a[1]?.at ?? 0) - (b[1]?.at ?? 0));
  const drop = rows.slice(0, rows.length - maxAdopted);
  const candidates = new Set(drop.flatMap(([, r]) => (Array.isArray(r?.ids) ? r.ids : [])));
  const queued = await e.queuedIds();
  const roots = [...(await e.store.all("known:")).map(([id]) => id), ...queued].filter((id) => !candidates.has(id) || queued.has(id));
  const needed = new Set();
  for (const root of roots) {
    for (let at = root; typeof at === "string" && !needed.has(at); ) {
      needed.add(at);
      const text = await e.o.local("template", at);
      at = text ? JSON.parse(text).base_template_id : null;
    }
  }
  if (e.closed) return;
  const gone = [...candidates].filter((id) => !needed.has(id));
  // applyServer leaves queued records out and forgets the meta rows of what goes.
  if (gone.length) await e.applyServer({ templates: [], deleted: { templates: gone } });
  const lineageRows = [...candidates].map((id) => [`lineage:${id}`, undefined]);
  await e.store.set({ ...Object.fromEntries(lineageRows), ...Object.fromEntries(drop.map(([key]) => [`adopted:${key}`, undefined])) });
}

/** The engine's read methods (js/replica.js mixes them into ReplicaEngine; `this` is the engine). */
export const READS = {
  /** Brings template or spec `id` (a template with its chain) from the server. */
  fetchMissing(kind, id) {
    return fetchMissing(this, kind, id);
  },
  /** Starts the conditional GETs of `id` and its chain's other users' links (not awaited). */
  revalidate(kind, id) {
    revalidate(this, kind, id).catch(() => {});
  },
  /** Starts keeping another user's lineage a server read named (not awaited). */
  adoptLineage(id) {
    adoptLineage(this, id).catch(() => {});
  },
  /** Whether one of the versions `idsJson` (a lineage as the replica holds it) is marked held in full. */
  async holdsLineage(idsJson) {
    for (const id of JSON.parse(idsJson)) {
      const key = await this.store.get(`lineage:${id}`);
      if (!key) continue;
      // A read of the lineage: it becomes the most recently read (boundLineages drops the least).
      const row = typeof key === "string" ? await this.store.get(`adopted:${key}`) : null;
      if (row && Date.now() - (row.at ?? 0) > 1000) await this.store.set({ [`adopted:${key}`]: { ...row, at: Date.now() } });
      return true;
    }
    return false;
  },
  /** A lineage read answered from the replica: a pull from the kept cursor revalidates it (one per 2 s at most). */
  revalidateFeed() {
    if (this.closed || Date.now() - (this.fedAt ?? 0) < 2000) return;
    this.fedAt = Date.now();
    if (this.leader) this.kick();
    else this.post({ type: "kick" });
  },
};
