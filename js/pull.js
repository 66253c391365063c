// The pull of an offline replica's sync engine (js/replica.js; README "Offline replica"): a full
// pull (the feed's head, then the export) when the replica has no `complete` marker, else the
// change feed from the kept cursor, re-reading what each change names; and the fetch of a
// record the replica does not hold (with its chain). `e` is the engine (its client, store,
// hooks, applyServer, applyKnown, fetchRecord, kindOf, queuedIds). A record with queued entries
// is never overwritten: its server copy stays the base a conflict is found against.

import { errorOf, goneOnServer, knownOf, revalidate, statsOf } from "./outbox.js";

// Concurrent re-reads during a pull.
const PULL_PARALLEL = 6;

// At most this many lineages of other users are kept after reads (adoptLineage), the least
// recently read dropped first (docs/replica.md "Lineages of other users"; README "Offline
// replica"): without a bound, every lineage a user ever browses stays, and each full pull
// re-reads it.
export const MAX_ADOPTED_LINEAGES = 200;
let maxAdopted = MAX_ADOPTED_LINEAGES;

// At most this many copies of other users' templates kept outside an adopted lineage that the
// user read (one by one with get, or as a chain link), the least recently read dropped first
// (meta `copy:<id>` = { at }), the same exceptions as lineages (boundKept).
export const MAX_KEPT_COPIES = 500;
let maxCopies = MAX_KEPT_COPIES;

// At most this many copies only heard from the feed (another user's public template made or
// changed anywhere, never read here: `copy:<id>` = { at, feed: true }), a budget of their own:
// public activity elsewhere never pushes out a copy the user read. A read makes one a read copy.
export const MAX_FEED_COPIES = 200;
let maxFeed = MAX_FEED_COPIES;

/**
 * TEST HOOK ONLY (tests/pages/replica_reads.test.mjs), not an API: sets the bound above for
 * every replica in this page (a small one, to see lineages dropped); no argument restores it.
 */
export function setLineageLimitForTests(n) {
  maxAdopted = Number.isInteger(n) && n >= 0 ? n : MAX_ADOPTED_LINEAGES;
}

/** TEST HOOK ONLY (tests/pages/replica_bounds.test.mjs), not an API: the bounds of read copies (`n`) and of copies only heard from the feed (`feed`, default unchanged); no argument restores both. */
export function setCopyLimitForTests(n, feed) {
  maxCopies = Number.isInteger(n) && n >= 0 ? n : MAX_KEPT_COPIES;
  maxFeed = Number.isInteger(feed) && feed >= 0 ? feed : n === undefined ? MAX_FEED_COPIES : maxFeed;
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
  // Other users' bases it brought (chains of the user's own) are kept copies too.
  if (await keepCopies(e, b.templates)) await boundKept(e);
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
  const queued = await e.queuedIds(stale.map(([, c]) => c.id));
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
  skip ??= await e.queuedIds(changes.map((c) => c?.id));
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
  // Other users' templates heard live are kept as copies, within the feed's own bound.
  if (await keepCopies(e, applied.templates ?? [], true)) await boundKept(e);
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
    // Another user's template read one by one (and the links of its chain): a kept copy, within
    // the bound. The one asked for is named even when the feed brought it while this read was
    // on the way (then it is not in `batch`, and its row may say "only heard": it was read).
    if (await keepCopies(e, [rec, ...batch.templates.filter((t) => t.id !== rec.id)])) await boundKept(e);
    return batch.templates.length > 0;
  } catch (thrown) {
    if (!e.closed && errorOf(thrown).code === "NETWORK") e.setState("offline");
    return false;
  }
}

/**
 * Marks the other users' templates of `templates` (just applied) that are neither kept with an
 * adopted lineage nor marked yet as kept copies (`copy:<id>` = { at }; `feed`: only heard from
 * the feed, `{ at, feed: true }`). Resolves true when one was added (the bound is then checked).
 */
async function keepCopies(e, templates, feed = false) {
  const rows = {};
  for (const t of templates) {
    if (!t || typeof t.id !== "string" || t.owner_id === e.o.userId || t.is_builtin === true) continue;
    if (typeof (await e.store.get(`lineage:${t.id}`)) === "string") continue;
    // A copy already kept stays as it is, unless it was only heard and is now read.
    const row = await e.store.get(`copy:${t.id}`);
    if (row && (feed || row.feed !== true)) continue;
    // A new version of an adopted lineage (heard from the feed) joins that lineage: it goes
    // with the lineage, never alone (the lineage's held reads would then miss it).
    const key = lineageKey(t);
    const lineage = rows[`adopted:${key}`] ?? (await e.store.get(`adopted:${key}`));
    if (lineage) {
      rows[`adopted:${key}`] = { ...lineage, ids: [...new Set([...(Array.isArray(lineage.ids) ? lineage.ids : []), t.id])] };
      rows[`lineage:${t.id}`] = key;
      continue;
    }
    rows[`copy:${t.id}`] = feed ? { at: Date.now(), feed: true } : { at: Date.now() };
  }
  if (!Object.keys(rows).length || e.closed) return false;
  await e.store.set(rows);
  return Object.keys(rows).some((k) => k.startsWith("copy:"));
}

/** The `adopted:` key of the lineage of template `t`: `<owner> <name key>`. */
function lineageKey(t) {
  return `${t.owner_id} ${String(t.name ?? "").trim().toLowerCase()}`;
}

/** A read of kept copy `id` answered from the replica: it becomes the most recently read (at most one write a second), a read copy if it was only heard from the feed. */
async function touchCopy(e, id) {
  const row = await e.store.get(`copy:${id}`);
  if (row && (row.feed === true || Date.now() - (row.at ?? 0) > 1000)) await e.store.set({ [`copy:${id}`]: { at: Date.now() } });
}

/**
 * At open: `lineage:<id>` rows from before the bound (value `true`, no `adopted:` row, so never
 * dropped) become kept copies read longest ago (`at` 0); so do, once per replica (meta
 * `copies-counted`), other users' templates held before copies were counted (a `known:` value,
 * no `copy:` row, not in an adopted lineage); `fresh`: the replica was empty at this open (no
 * such copy can exist). Then the bound runs: they are counted, and dropped first (unless
 * needed: boundKept).
 */
export async function migrateKept(e, fresh = false) {
  const old = (await e.store.all("lineage:")).filter(([, v]) => typeof v !== "string");
  // A replica filled in this very open (first open, evicted) holds no copy from before.
  if (fresh && !(await e.store.get("copies-counted"))) await e.store.set({ "copies-counted": true });
  const uncounted = (await e.store.get("copies-counted")) ? [] : (await e.store.all("known:")).map(([id]) => id);
  if (!old.length && !uncounted.length) return;
  const rows = {};
  const other = async (id) => {
    const text = await e.o.local("template", id);
    const t = text ? JSON.parse(text) : null;
    return t && t.owner_id !== e.o.userId && t.is_builtin !== true;
  };
  for (const [id] of old) {
    rows[`lineage:${id}`] = undefined;
    if ((await other(id)) && !(await e.store.get(`copy:${id}`))) rows[`copy:${id}`] = { at: 0 };
  }
  for (const id of uncounted) {
    if (`lineage:${id}` in rows) continue;
    if (typeof (await e.store.get(`lineage:${id}`)) === "string" || (await e.store.get(`copy:${id}`))) continue;
    if (await other(id)) rows[`copy:${id}`] = { at: 0 };
  }
  if (e.closed) return;
  await e.store.set({ ...rows, "copies-counted": true });
  await boundKept(e);
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
    const key = lineageKey(versions[0]);
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
    // Versions kept with the lineage are no longer kept copies of their own.
    await e.store.set({ ...Object.fromEntries(versions.flatMap((t) => [[`lineage:${t.id}`, key], [`copy:${t.id}`, undefined]])), [`adopted:${key}`]: { at: Date.now(), ids: [...ids] } });
    await boundKept(e);
  } catch (thrown) {
    if (!e.closed && errorOf(thrown).code === "NETWORK") e.setState("offline");
  } finally {
    e.adopting.delete(id);
  }
}

/**
 * The oldest rows of `rows` (sorted, oldest first) to drop to respect `limit`: none while at
 * most `limit` are kept; once over it, down to `limit` less a tenth, so the walk of what is
 * still needed (boundKept) runs once per limit/10 additions, not on every feed batch.
 */
function overBound(rows, limit) {
  if (rows.length <= limit) return [];
  return rows.slice(0, rows.length - (limit - Math.floor(limit / 10)));
}

/**
 * Keeps at most `maxAdopted` adopted lineages, `maxCopies` copies the user read and `maxFeed`
 * copies only heard from the feed: the least recently read go (a lineage with its versions and
 * the chains it brought, labels included), except what is still needed: a record with queued
 * writes, a template the user rated (the rating row goes with a dropped template: the user's
 * own ratings stay offline), and any link in the chain of a template kept otherwise (the
 * user's own, a kept lineage's or copy's, any other held one). A needed version of a dropped
 * lineage stays as a kept copy (its lineage is no longer held: its next lineage read asks the
 * server); a needed copy keeps its row. Dropping is an eviction, not a delete: the record still
 * exists on the server, so subscribers hear nothing (`deleted.evicted`).
 */
async function boundKept(e) {
  if (e.closed) return;
  const byAt = (a, b) => (a[1]?.at ?? 0) - (b[1]?.at ?? 0);
  const lineages = (await e.store.all("adopted:")).sort(byAt);
  const all = await e.store.all("copy:");
  const copies = all.filter(([, r]) => r?.feed !== true).sort(byAt);
  const heard = all.filter(([, r]) => r?.feed === true).sort(byAt);
  const dropL = overBound(lineages, maxAdopted);
  const oldC = [...overBound(copies, maxCopies), ...overBound(heard, maxFeed)];
  if (!dropL.length && !oldC.length) return;
  const idsOfRow = (r) => (Array.isArray(r?.ids) ? r.ids : []);
  const candidates = new Set([...dropL.flatMap(([, r]) => idsOfRow(r)), ...oldC.map(([id]) => id)]);
  const old = new Set(oldC.map(([id]) => id));
  const kept = new Set([...lineages.slice(dropL.length).flatMap(([, r]) => idsOfRow(r)), ...all.map(([id]) => id).filter((id) => !old.has(id))]);
  const queued = await e.queuedIds();
  const rated = new Set(JSON.parse((await e.o.local("rated", "")) ?? "[]"));
  const roots = [...(await e.store.all("known:")).map(([id]) => id), ...queued, ...kept, ...rated].filter((id) => !candidates.has(id) || queued.has(id) || kept.has(id) || rated.has(id));
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
  if (gone.length) await e.applyServer({ templates: [], deleted: { templates: gone, evicted: true } });
  const copyRows = {};
  for (const [key, r] of dropL) {
    for (const id of idsOfRow(r)) if (needed.has(id) && !kept.has(id) && !(await e.store.get(`copy:${id}`))) copyRows[`copy:${id}`] = { at: r?.at ?? 0 };
  }
  // The dropped lineages' own rows only (a chain link may be a version of a kept lineage).
  const droppedKeys = new Set(dropL.map(([key]) => key));
  const lineageRows = (await e.store.all("lineage:")).filter(([, key]) => droppedKeys.has(key)).map(([id]) => [`lineage:${id}`, undefined]);
  await e.store.set({ ...Object.fromEntries(lineageRows), ...Object.fromEntries(dropL.map(([key]) => [`adopted:${key}`, undefined])), ...copyRows });
}

/** The engine's read methods (js/replica.js mixes them into ReplicaEngine; `this` is the engine). */
export const READS = {
  /** Brings template or spec `id` (a template with its chain) from the server. */
  fetchMissing(kind, id) {
    return fetchMissing(this, kind, id);
  },
  /** Starts the conditional GETs of `id` and its chain's other users' links (not awaited); a kept copy read becomes the most recently read. */
  revalidate(kind, id) {
    touchCopy(this, id).catch(() => {});
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
      // A read of the lineage: it becomes the most recently read (boundKept drops the least).
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
