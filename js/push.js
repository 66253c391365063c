// The push of an offline replica's sync engine (js/replica.js; README "Offline replica"): the
// outbox sent in order, each entry with its Idempotency-Key and the If-Match of the server copy
// it was made on; what the server refuses ends as a kept conflict (CONFLICT) or as rejected (a
// rule); and the app's resolution of a kept conflict. `e` is the engine (its client, store,
// hooks, emit, applyServer, applyKnown, fetchRecord, kindOf).

import { KNOWN_IF_MATCH, batchOfAnswer, coded, errorOf, idsOf, knownOf, withoutQueued } from "./outbox.js";
import { SENDING_KEY } from "./hold.js";

// Failed pushes and pulls are retried with full-jitter backoff between these bounds.
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 60000;
// A held write's Retry-After is honoured up to this (a longer one is cut: the app's own sync()
// still tries at once).
export const RETRY_AFTER_MAX_MS = 3600000;

/** The wait before retry `failures` (1, 2, ...): full jitter, a random share of the cap. */
export function backoffDelay(failures, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, Math.min(failures - 1, 16)));
  return Math.max(BACKOFF_MIN_MS, Math.floor(random() * cap));
}

// An entry whose local write never finished (its tab died between the append and the write)
// is pushed anyway after this long: the pull then brings the server's answer back.
const STALE_UNREADY_MS = 30000;

// The server keeps a recordUsage Idempotency-Key 90 days from its first request
// (server/README.md "Idempotency-Key", USAGE_KEY_TTL). A use whose first send (`sentAt` on the
// entry) is older than this margin below it is not sent again: the server may have counted it
// then (its answer lost) and forgotten the key, so a replay would count it twice. It ends as
// rejected (CONFLICT, details.reason IDEMPOTENCY_KEY_EXPIRED: its outcome is unknown).
const USAGE_REPLAY_MS = 89 * 86400000;

// Label writes: the `updated_at` a label write left in the replica, kept (meta
// `labelalias:<label> <local updated_at>`) with the server's one its push answered. The app
// may pass the local value as `ifMatch` (it chained a second label write on the first, or
// holds what its write returned): the server only knows its own (spurious 412 otherwise).
// One rule, `labelIfMatch`, reads it for both the local write (localIfMatch) and the push.
// The alias's value is `{ server, lineage }`: a label name is per lineage, so an alias stands
// only for its own lineage (owner and trimmed lowercased name of the version written), and a
// push of the same name on another lineage leaves it (a bare string: a row from before).
const LABEL_WRITES = new Set(["setLabel", "removeLabel"]);
const labelAlias = (label, at) => `labelalias:${label} ${at}`;

/** The lineage of version `id` as the replica holds it ("<owner_id> <name key>"), or null. */
async function lineageOf(e, id) {
  const text = typeof id === "string" ? await e.o.local("template", id) : null;
  const t = text ? JSON.parse(text) : null;
  return typeof t?.owner_id === "string" && typeof t?.name === "string" ? `${t.owner_id} ${t.name.trim().toLowerCase()}` : null;
}

/** The local label row `label` of the lineage of version `id`, or undefined. */
async function labelRow(e, id, label) {
  const text = await e.o.local("labels", id);
  return (text ? JSON.parse(text) : []).find((l) => l && l.label === label);
}

/** The server's `updated_at` of label `label` of `lineage` that the app's `ifMatch` (an own write's local value) stands for, or `at` itself. */
async function labelIfMatch(e, label, at, lineage) {
  const v = await e.store.get(labelAlias(label, at));
  if (typeof v === "string") return v;
  return v && typeof v.server === "string" && lineage !== null && v.lineage === lineage ? v.server : at;
}

/** After the local write of a label write: the `updated_at` it left (`made`), for the alias its push records. */
export async function labelMade(e, entry) {
  if (entry.endpoint !== "setLabel") return undefined;
  const row = await labelRow(e, entry.args.id, entry.args.label);
  return typeof row?.updated_at === "string" ? row.updated_at : undefined;
}

/**
 * Remembers, for each template and spec of `batch` the replica holds (`only`: the ids to do
 * it for; default all), the replica's `updated_at` the server's copy is about to replace: a
 * copy of this client's own write (a push answer, or its echo in the pull). The app may hold
 * the `updated_at` its write returned and pass it as `ifMatch`; `localIfMatch` reads it as
 * the replica's current one. A change made elsewhere leaves no alias, so an app's stale
 * `ifMatch` is CONFLICT there, as in any tab conflict.
 */
export async function aliasOwn(e, batch, only = null) {
  const aliases = {};
  for (const [list, kind] of [["templates", "template"], ["specs", "spec"]]) {
    for (const r of batch[list] ?? []) {
      if (only && !only.has(r.id)) continue;
      const text = await e.o.local(kind, r.id);
      const local = text ? JSON.parse(text) : null;
      if (local && typeof local.updated_at === "string" && local.updated_at !== r.updated_at) {
        // Only the latest own write's value: an app holding an older one (its write was
        // followed by another, from another view of the app) is stale, CONFLICT as in a
        // plain IndexedDB catalog.
        aliases[`alias:${r.id}`] = [local.updated_at];
      }
    }
  }
  if (Object.keys(aliases).length) await e.store.set(aliases);
}

/**
 * The replica's `updated_at` the app's `ifMatch` stands for, or null (checked as given).
 * Templates and specs (`kind`): when `ifMatch` is the server's one this client knows or the
 * alias of an own pushed write, and no write of `id` is queued (then the replica's copy is
 * that server copy). Labels (`kind` "labels", `label`): when `ifMatch` is the local value of
 * the latest own write of the label, since pushed, and the replica's label is still that
 * push's answer, with no label write of that name queued.
 */
export async function localIfMatch(e, kind, id, ifMatch, label) {
  if (kind === "labels") {
    // A queued write of this label on this lineage (the same name on another lineage is
    // another label: it leaves this one's value as it is).
    const lineage = await lineageOf(e, id);
    for (const x of await e.store.list()) {
      if (!LABEL_WRITES.has(x.endpoint) || x.args?.label !== label) continue;
      const other = lineage === null ? null : await lineageOf(e, x.args.id);
      if (other === null || other === lineage) return null;
    }
    const row = await labelRow(e, id, label);
    const server = await labelIfMatch(e, label, ifMatch, lineage);
    return server !== ifMatch && row?.updated_at === server ? server : null;
  }
  if ((await e.queuedIds([id])).has(id)) return null;
  const known = await e.store.get(`known:${id}`);
  if (ifMatch !== known && !((await e.store.get(`alias:${id}`)) ?? []).includes(ifMatch)) return null;
  const text = await e.o.local(kind, id);
  return text ? JSON.parse(text).updated_at ?? null : null;
}

/**
 * Sends the outbox in order into `result` ({ pushed, rejected }); throws when the server is
 * unreachable or refuses the token. A write the server answers "not now" (5xx, 408, 429; a
 * create's id ahead of its clock) stays queued with the later writes of its records, the others
 * go on, and the first such failure is left in `result.held` (the caller rejects with it after
 * the pull).
 */
export async function push(e, result) {
  const entries = (await e.store.list()).sort((a, b) => a.seq - b.seq);
  // Kept conflicts by id: the kinds kept on each (an entry waits behind those that block it).
  const blocked = new Map();
  const block = (id, kind) => blocked.set(id, new Set([...(blocked.get(id) ?? []), kind]));
  for (const c of await keptConflicts(e)) block(c.id, c.kind);
  // The ids with entries still queued, counted once and kept as entries go (not re-listed per
  // entry: a push of n entries reads the outbox O(n) times, not O(n^2) rows); entries appended
  // during the push (this tab's new writes, another tab's) are read by key range after the last
  // one seen, and counted from then on: each is read once, however many answers the push applies
  // after it (they are not sent by this push; the next sync sends them). One removed meanwhile by
  // another tab (its local write refused, a conflict resolved) still counts as queued until this
  // push ends: its record only waits for the pull, never gets a server copy over a local edit.
  const counts = new Map();
  const count = (x) => { for (const id of idsOf(x)) counts.set(id, (counts.get(id) ?? 0) + 1); };
  entries.forEach(count);
  let last = entries.length ? entries[entries.length - 1].seq : 0;
  const gone = (x) => {
    for (const id of idsOf(x)) {
      const n = (counts.get(id) ?? 1) - 1;
      if (n > 0) counts.set(id, n);
      else counts.delete(id);
    }
  };
  const queuedIds = async () => {
    for (const x of await e.store.listAfter(last)) {
      count(x);
      last = Math.max(last, x.seq);
    }
    return new Set(counts.keys());
  };
  for (const entry of entries) {
    if (e.closed) return;
    const ids = idsOf(entry);
    const kind = kindOfEntry(entry);
    const waits = ids.flatMap((id) => [...(blocked.get(id) ?? [])]).filter((k) => blocks(k, kind));
    if (waits.length) {
      // Later entries of these ids wait too (order is kept).
      for (const id of ids) for (const k of waits) block(id, k);
      continue;
    }
    // A write of some tab still in progress: everything after it waits (order is kept).
    if (e.done.has(entry.seq)) Object.assign(entry, { ready: true, made: entry.made ?? e.done.get(entry.seq) });
    if (!entry.ready && Date.now() - entry.at < STALE_UNREADY_MS) break;
    const args = { ...entry.args, idempotencyKey: entry.key };
    if (KNOWN_IF_MATCH.has(entry.endpoint)) {
      args.ifMatch = (typeof entry.known === "string" ? entry.known : await e.store.get(`known:${entry.target ?? entry.args.id}`)) ?? entry.args.ifMatch ?? null;
    } else if (LABEL_WRITES.has(entry.endpoint) && typeof args.ifMatch === "string") {
      // The local value of an own earlier label write (pushed since): the server's one.
      args.ifMatch = await labelIfMatch(e, args.label, args.ifMatch, await lineageOf(e, args.id));
    }
    if (entry.endpoint === "recordUsage") {
      if (typeof entry.sentAt !== "number") {
        // Written before the request leaves: a send whose answer is lost still counts.
        entry.sentAt = Date.now();
        await e.store.patch([entry.seq], { sentAt: entry.sentAt });
      } else if (Date.now() - entry.sentAt >= USAGE_REPLAY_MS) {
        const err = { code: "CONFLICT", message: `this use was first sent ${new Date(entry.sentAt).toISOString()}, more than 89 days ago: the server may have counted it then and no longer knows its Idempotency-Key, so it is not sent again (its outcome is unknown)`, details: { reason: "IDEMPOTENCY_KEY_EXPIRED", first_sent_at: new Date(entry.sentAt).toISOString() } };
        await e.store.remove([entry.seq]);
        e.done.delete(entry.seq);
        gone(entry);
        const rejected = { seq: entry.seq, endpoint: entry.endpoint, id: entry.args.id ?? null, error: err };
        result.rejected.push(rejected);
        e.emit({ kind: "rejected", op: "rejected", ...rejected, external: false });
        // The server's statistics, whatever became of the use.
        await refresh(e, ids, await queuedIds()).catch(() => {});
        continue;
      }
    }
    let value;
    if (!e.sendingMarked) {
      // Before the first request of this push (see SENDING_KEY); not kept (quota): as before.
      e.sendingMarked = true;
      await e.store.set({ [SENDING_KEY]: { seq: entry.seq, failures: e.holdFailures } }).catch(() => { e.sendingMarked = false; });
    }
    try {
      value = await send(e, entry, args);
    } catch (thrown) {
      const err = errorOf(thrown);
      // Unreachable (no answer at all) or the token refused: nothing else can go either.
      if (err.code === "UNAUTHORIZED" || (err.code === "NETWORK" && !answeredLater(err))) throw thrown;
      // The server's trouble, not the write's (5xx coded or not, 408, 429), or a create refused
      // for its id's time part (made before this client knew the server's clock: it succeeds
      // once the server's clock gets there): kept and retried later, never lost. Every later
      // write waits behind it (order is kept: a template derived from a held create, a label
      // moved again on the same lineage, ... depend on it in ways ids alone do not show, and a
      // server that answered "not now" is not sent the rest of the outbox); the pull still
      // runs and the live feed goes on: sync() rejects with this failure only after pulling
      // (docs/replica.md).
      const early = err.code === "INVALID_ARGUMENT" && typeof entry.args?.query?.id === "string" && /time part .* ahead of the clock/.test(err.message ?? "");
      if (answeredLater(err) || early) {
        if (early) await e.me().catch(() => {});
        result.held ??= early ? coded("INVALID_ARGUMENT", `${err.message}: the write stays queued and is sent again later`, err.details ?? null) : thrown;
        result.heldEntry = entry;
        break;
      }
      // A create whose chosen id the server will never take (details.expected "absent":
      // in use by another record, or deleted: ids are never reused) can never succeed, and
      // re-sending it ("overwrite") would loop: it ends as rejected, like a rule refusal.
      const idRefused = err.code === "CONFLICT" && err.details?.expected === "absent" && typeof entry.args?.query?.id === "string";
      if (err.code === "CONFLICT" && !idRefused) {
        await recordConflict(e, entry, err);
        for (const id of ids) block(id, kind);
        continue;
      }
      // Refused for a rule: it can never succeed. Drop it, bring back the server's copies.
      await e.store.remove([entry.seq]);
      e.done.delete(entry.seq);
      gone(entry);
      const rejected = { seq: entry.seq, endpoint: entry.endpoint, id: entry.target ?? entry.id ?? entry.args.id ?? null, error: { code: err.code, message: err.message, details: err.details ?? null } };
      result.rejected.push(rejected);
      e.emit({ kind: "rejected", op: "rejected", ...rejected, external: false });
      await refresh(e, ids, await queuedIds()).catch(() => {});
      continue;
    }
    const batch = batchOfAnswer(entry, value);
    if (entry.endpoint === "setLabel" && typeof entry.made === "string" && typeof value?.updated_at === "string") {
      // Only the latest own write's value stands for the server's: older aliases of the label
      // on this lineage go (another lineage's label of that name keeps its own).
      const lineage = await lineageOf(e, entry.args.id);
      const older = (await e.store.all(labelAlias(entry.args.label, ""))).filter(([, v]) => typeof v === "string" || v?.lineage === lineage).map(([k]) => [labelAlias(entry.args.label, k), undefined]);
      await e.store.set({ ...Object.fromEntries(older), [labelAlias(entry.args.label, entry.made)]: { server: value.updated_at, lineage } });
    }
    // Deleted first, applied second: a crash in between leaves the replica behind the
    // server (the pull catches up), never an entry sent twice with a stale If-Match.
    await e.store.pushed(entry.seq, knownOf(batch));
    e.done.delete(entry.seq);
    gone(entry);
    result.pushed++;
    // A record with later queued edits keeps its local copy (the answer would undo them);
    // the others take the server's copy, the local updated_at it replaces kept as an alias.
    // (Checked inside the apply lock: a write queued while the answer was on the way counts.)
    await e.applyServer(batch, (own) => e.aliasOwn(own), queuedIds);
  }
}

/**
 * One entry's server call: its answer (parsed). A delete answered NOT_FOUND is done (the
 * record is gone: deleted elsewhere, or this very delete replayed after its key expired).
 */
async function send(e, entry, args) {
  try {
    // `hold`: a Retry-After is never waited out within the call: the write is held (js/push.js hold).
    return JSON.parse((await e.client.call(entry.endpoint, JSON.stringify(args), { hold: true }))[0]);
  } catch (thrown) {
    // Only the server's own NOT_FOUND (its error body), not a proxy's bare 404.
    const err = errorOf(thrown);
    if ((entry.endpoint === "delete" || entry.endpoint === "deleteSpec") && err.code === "NOT_FOUND" && err.envelope === true) return null;
    throw thrown;
  }
}

/** The kinds of record a conflict can be about (`KeptConflict.kind`, the event's `recordKind`). */
export const CONFLICT_KINDS = ["template", "spec", "labels", "rating", "usage"];

/** The kind of record an entry's conflict is about: "template", "spec", "labels", "rating" or "usage". */
function kindOfEntry(entry) {
  if (entry.endpoint === "rate") return "rating";
  if (entry.endpoint === "recordUsage") return "usage";
  if (entry.endpoint.endsWith("Spec") && entry.endpoint !== "instantiateSpec") return "spec";
  return entry.endpoint.endsWith("Label") ? "labels" : "template";
}

/** Whether `err` (errorOf) is the server's answer "not now" (5xx, 408, 429): the write is retried later. */
function answeredLater(err) {
  return typeof err.status === "number" && (err.status >= 500 || err.status === 408 || err.status === 429);
}

/** Counters (the user's rating, a use): server-side sums that merge, never built on the content. */
const COUNTERS = new Set(["rating", "usage"]);

/**
 * Whether a kept conflict of kind `kept` on an id holds back a later entry of kind `kind` on
 * it: a conflict about the content (template, spec) holds back every later write of the id (they
 * may build on it) but the counters (a rating or a use merges with whatever content the server
 * has: issue 15, docs/replica.md "Conflicts"); one about a side record (a label, the user's
 * rating or use) only the writes of that side record, so a template edit and a label move can
 * conflict, and be resolved, apart.
 */
function blocks(kept, kind) {
  return kept === kind || ((kept === "template" || kept === "spec") && !COUNTERS.has(kind));
}

/** The conflicts kept now (meta `conflict:<kind> <id>`; rows from before kinds are `conflict:<id>`). */
async function keptConflicts(e) {
  return (await e.store.all("conflict:")).map(([key, c]) => ({ ...c, kind: c?.kind ?? "template", key }));
}

async function recordConflict(e, entry, err) {
  const id = entry.target ?? entry.id ?? entry.args.id;
  const kind = kindOfEntry(entry);
  const local = await e.o.local(kind === "spec" || kind === "labels" ? kind : "template", id);
  let remote = null;
  let unknown = false;
  try {
    remote = await e.fetchRecord(kind === "usage" ? "template" : kind, id);
  } catch {
    // unreachable again: the conflict is kept without the server copy (not "gone")
    unknown = true;
  }
  const conflict = { id, kind, seq: entry.seq, endpoint: entry.endpoint, local: local ? JSON.parse(local) : null, remote, ...(unknown ? { unknown } : {}), error: { code: err.code, message: err.message } };
  await e.store.set({ [`conflict:${kind} ${id}`]: conflict });
  e.emit({ kind: "conflict", op: "conflict", id, recordKind: kind, local: conflict.local, remote, external: false });
}

/** Re-reads `ids` from the server into the replica (after a refused push). */
async function refresh(e, ids, skip) {
  const batch = { templates: [], specs: [], deleted: { templates: [], specs: [] } };
  for (const id of ids) {
    const kind = await e.kindOf(id);
    if (!kind) continue;
    const rec = await e.fetchRecord(kind, id);
    if (kind === "spec") rec ? batch.specs.push(rec) : batch.deleted.specs.push(id);
    else rec ? batch.templates.push(rec) : batch.deleted.templates.push(id);
  }
  await e.applyKnown(withoutQueued(batch, skip));
}

/**
 * Resolves a kept conflict: "keep-remote" drops the queued writes of `id` and takes the server's
 * copy; "overwrite" re-sends them over it. `kind` (one of CONFLICT_KINDS) names the conflict when
 * several are kept on `id`; without it, the only one. The writes acted on: for a side record's
 * conflict (labels, rating, usage) the queued writes of that record; for a content conflict the
 * id's other queued writes, less those held back by a side conflict of their own on `id` and
 * less the counters (rating, recordUsage: never held back by a content conflict, sent as they
 * come), which keep-remote drops only when the server no longer has the template.
 */
export async function resolveConflict(e, id, choice, kind = null) {
  if (kind !== null && !CONFLICT_KINDS.includes(kind)) throw coded("INVALID_ARGUMENT", `kind must be one of ${CONFLICT_KINDS.join(", ")}`);
  const kept = (await keptConflicts(e)).filter((c) => c.id === id);
  const found = kept.filter((c) => kind === null || c.kind === kind);
  if (!found.length) throw coded("NOT_FOUND", `no ${kind ?? ""}${kind ? " " : ""}conflict is kept for ${id}`);
  if (found.length > 1) throw coded("INVALID_ARGUMENT", `${found.length} conflicts are kept for ${id} (${found.map((c) => c.kind).join(", ")}): name the one to resolve (resolveConflict(id, choice, kind))`, { id, kinds: found.map((c) => c.kind) });
  const conflict = found[0];
  const side = (k) => k !== "template" && k !== "spec";
  const others = new Set(kept.filter((c) => c !== conflict && side(c.kind)).map((c) => c.kind));
  let remote = conflict.remote;
  let unknown = conflict.unknown === true;
  try {
    remote = await e.fetchRecord(conflict.kind === "usage" ? "template" : conflict.kind, id);
    unknown = false;
  } catch {
    // offline: the copy kept with the conflict
  }
  // Keep-remote with no server copy ever read: "the server has none" is not known, so the
  // local record is not deleted on a guess; settled once the server answers.
  if (choice === "keep-remote" && unknown) throw coded("NETWORK", `the server's copy of ${id} was never read: resolve this conflict with keep-remote once the server is reachable`);
  // A content conflict's resolution leaves the queued counters (a rating, a use) alone: they
  // merge with any content. Only keep-remote of a template the server no longer has drops them.
  const gone = choice === "keep-remote" && remote === null;
  const mine = (x) => {
    const k = kindOfEntry(x);
    return idsOf(x).includes(id) && (side(conflict.kind) ? k === conflict.kind : !others.has(k) && (!COUNTERS.has(k) || gone));
  };
  if (choice === "overwrite") {
    // Re-sent over the server's copy: their If-Match is its updated_at (known, below), not
    // the base each entry was queued on.
    const entries = (await e.store.list()).filter(mine);
    await e.store.patch(entries.map((x) => x.seq), { known: null });
  }
  if (choice === "keep-remote") {
    const dropped = (await e.store.list()).filter(mine);
    await e.store.remove(dropped.map((x) => x.seq));
    const batch = conflict.kind === "spec"
      ? (remote ? { specs: [remote] } : { deleted: { specs: [id] } })
      : conflict.kind === "labels"
        ? { labels: remote ?? [] }
        : conflict.kind === "rating"
          ? (remote ? { ratings: [remote] } : { deleted: { ratings: [id] } })
          : (remote ? { templates: [remote] } : { deleted: { templates: [id] } });
    await keepRemote(e, id, conflict.kind, remote, dropped, batch).catch(() => {
      // offline: what the dropped entries made goes with the next sync's refresh
    });
    await e.applyBatch(batch);
  }
  const known = remote && !Array.isArray(remote) && typeof remote.updated_at === "string" && !side(conflict.kind) ? remote.updated_at : undefined;
  await e.store.set({ [`conflict:${conflict.key}`]: undefined, ...(known ? { [`known:${id}`]: known } : {}) });
  await e.refreshPending();
  e.stateDirty = true;
  e.setState(e.state);
  if (e.leader) e.kick();
  else e.post({ type: "kick" });
}

/**
 * Completes keep-remote's `batch`: a template conflict takes the lineage's versions as the
 * server has them (another device's new version the pull could not store beside the local
 * one); the records the dropped entries created are the server's copy when it has one, else
 * deleted (a version or spec the server never had must not stay, nor block the pull).
 */
async function keepRemote(e, id, kind, remote, dropped, batch) {
  batch.templates ??= [];
  batch.specs ??= [];
  batch.deleted ??= {};
  if (kind === "template" && remote) {
    const list = JSON.parse((await e.client.call("versions", JSON.stringify({ id })))[0]);
    const items = Array.isArray(list) ? list : Array.isArray(list?.items) ? list.items : [];
    for (const t of items) if (t && t.id !== id) batch.templates.push(t);
  }
  const made = new Set(dropped.map((x) => x.id).filter((x) => typeof x === "string" && x !== id));
  for (const m of made) {
    if (batch.templates.some((t) => t.id === m)) continue;
    const k = await e.kindOf(m);
    if (!k) continue;
    const rec = await e.fetchRecord(k, m);
    const list = k === "spec" ? "specs" : "templates";
    if (rec) batch[list].push(rec);
    else (batch.deleted[list] ??= []).push(m);
  }
  for (const [id2, at] of Object.entries(knownOf(batch))) await e.store.set({ [`known:${id2}`]: at });
}

const BUILTIN_ID = /^0{24}\d\d$/;
const CONTENT = new Set(["template", "spec"]);
// Content writes that do not build on an earlier edit of the record.
const STANDALONE = new Set(["delete", "deleteSpec", "restoreVersion"]);

/**
 * Drops queued write `seq` (the app's `discardPending`; the leader runs it between syncs) with
 * the later writes built on it: the same record's later edits (a content write: the id's later
 * template or spec edits, not a delete or restoreVersion; a label write: the id's later writes
 * of that label; a counter, `rate` or `recordUsage`, none: they set or add on their own) and
 * every later write naming an id a dropped write created (its edits, labels, ratings, templates
 * and versions derived from it). The records
 * they touched are re-read from the server at the next pull (meta `stale:`, js/pull.js): an edit
 * is undone, a record the server never had goes. A kept conflict of a dropped write goes too.
 * Resolves with the seqs dropped, ascending; NOT_FOUND when nothing queued has `seq`.
 */
export async function discardPending(e, seq) {
  const entries = (await e.store.list()).sort((a, b) => a.seq - b.seq);
  const first = entries.find((x) => x.seq === seq);
  if (!first) throw coded("NOT_FOUND", `no queued write has seq ${seq} (never queued, already sent, or dropped)`, { kind: "pending", id: String(seq) });
  const dropped = [first];
  // Ids compared as ULIDs (any case: entries queued before ids were normalised at the boundary).
  const up = (id) => (typeof id === "string" ? id.toUpperCase() : null);
  const made = new Set(typeof first.id === "string" ? [up(first.id)] : []);
  // Built on a dropped write of the same record: a later edit of its content (not a delete or
  // a restore, which stand alone), or a later write of the same label (an alias chains them).
  const builds = (d, x) => {
    const [a, b] = [kindOfEntry(d), kindOfEntry(x)];
    if (!idsOf(d).some((id) => idsOf(x).some((y) => up(y) === up(id)))) return false;
    if (CONTENT.has(a)) return CONTENT.has(b) && !STANDALONE.has(x.endpoint);
    return a === "labels" && b === "labels" && d.args?.label === x.args?.label;
  };
  for (const x of entries) {
    if (x.seq <= seq) continue;
    // Every id it names, a base it derives from included (create: body; newVersion: body.patch).
    const names = [...idsOf(x), x.args?.body?.base_template_id, x.args?.body?.patch?.base_template_id].map(up).filter(Boolean);
    if (!dropped.some((d) => builds(d, x)) && !names.some((id) => made.has(id))) continue;
    dropped.push(x);
    if (typeof x.id === "string") made.add(up(x.id));
  }
  // What each dropped write touched, re-read at the next pull (the change rows of js/pull.js).
  const stale = {};
  const mark = (c) => { stale[`stale:${c.kind} ${c.id} ${c.label ?? ""}`] = c; };
  for (const x of dropped) {
    const k = kindOfEntry(x);
    const id = x.args?.id;
    // A label re-read as "delete": the server's row comes back, or the local one goes.
    if (k === "labels") mark({ kind: "label", op: "delete", id, label: x.args.label });
    else if (k === "rating") mark({ kind: "rating", op: "put", id });
    else if (k === "usage") mark({ kind: BUILTIN_ID.test(id) ? "builtin_stats" : "template", op: "put", id });
    else for (const r of idsOf(x)) mark({ kind: (await e.kindOf(r)) ?? (k === "spec" ? "spec" : "template"), op: "put", id: r });
  }
  const seqs = new Set(dropped.map((x) => x.seq));
  for (const c of await keptConflicts(e)) if (seqs.has(c.seq)) stale[`conflict:${c.key}`] = undefined;
  // One transaction: never the entries gone without the rows that re-read their records.
  await e.store.removeWith([...seqs], stale);
  for (const s of seqs) e.done.delete(s);
  return [...seqs];
}

/** The engine's ifMatch and conflict methods (js/replica.js mixes them into ReplicaEngine; `this` is the engine). */
export const IF_MATCH = {
  /** Keeps the replica's `updated_at` a server copy in `batch` replaces as an alias. */
  aliasOwn(batch, only = null) {
    return aliasOwn(this, batch, only);
  },
  /** The app's `ifMatch` as the replica's own, or null. */
  localIfMatch(kind, id, ifMatch, label) {
    return localIfMatch(this, kind, id, ifMatch, label ?? null);
  },
  /** Resolves a kept conflict (`kind` names it when several are kept on `id`): "keep-remote" drops its queued writes and takes the server's copy; "overwrite" re-sends them over it. */
  resolveConflict(id, choice, kind) {
    return resolveConflict(this, id, choice, kind ?? null);
  },
};
