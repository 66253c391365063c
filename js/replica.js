// The sync engine of an offline replica (`storage: "remote", replica: true`, README "Offline
// replica"). The rules run in the Rust core over the replica's IndexedDB database; this file is
// the I/O and the timers around it: the outbox and meta stores (in that same database, schema
// step 006), the leader tab (Web Lock), the sync loop and its backoff, the apply lock, and the
// open check (GET /v1/me, or the kept identity). Pushing the outbox and conflicts are
// js/push.js; pulling the change feed and fetching missing records are js/pull.js.
//
// Rust (src/browser/replica.rs) hands in three hooks: `apply(batchJson)` runs Catalog::apply_remote
// on the replica (server records in, written as the server sent them), `etag(text)` the entity tag
// of a held copy's JSON text (as the server's ETag, src/model/etag.rs) and `local(kind, id)`
// reads the replica's copy (JSON text or null). Coded failures reject with the JSON text of
// `{ code, message, details }`, as js/remote.js does.

import { RemoteClient } from "./remote.js";
import { APPLY, OutboxStore, RECORDS, canonicalIds, coded, errorOf } from "./outbox.js";
import { READS, fullPull, migrateKept, pull } from "./pull.js";
import { IF_MATCH, backoffDelay, discardPending, labelMade, push } from "./push.js";
import { hold, restoreHold, sendDone, unhold } from "./hold.js";

export { errorOf };
export { backoffDelay, BACKOFF_MIN_MS, BACKOFF_MAX_MS, RETRY_AFTER_MAX_MS } from "./push.js";

// Meta row of the server clock's offset last learned (`{ offset: ms, at: RFC 3339 }`).
const CLOCK_KEY = "clock-offset";

// GET /v1/me at open: how long before the server counts as unreachable (offline open).
const ME_TIMEOUT_MS = 4000;
// A follower's sync() waits this long for the leader's answer.
const FOLLOWER_SYNC_MS = 60000;

/** The `{ kind: "sync" }` event of a state (the ChangeEvent fields, so listeners can switch on kind). */
const syncEvent = (state, pending, error, held) => ({ kind: "sync", op: "state", id: null, state, pending, ...(error ? { error } : {}), ...(held ? { held } : {}), external: false });

// ---- the engine -----------------------------------------------------------------------------

export class ReplicaEngine {
  /**
   * `options`: { dbName, baseUrl, token, userId, tokenHash, apply(batchJson) -> Promise,
   * local(kind, id) -> Promise<JSON text | null>, etag(text) -> string | null }.
   */
  constructor(options) {
    this.o = options;
    this.client = new RemoteClient(options.baseUrl, options.token ?? null);
    // Any answer while the state says "offline" (a read failed meanwhile, or a sync's request
    // retried across the outage): the server is back. A sync under way (it is then sending the
    // outbox) says "syncing", else "online" (issue 15: the badge shows syncing while it sends).
    const call = this.client.call.bind(this.client);
    this.client.call = async (...args) => {
      const reply = await call(...args);
      if (this.state === "offline" && !this.error) this.setState(this.running ? "syncing" : "online");
      // Opened while the server was away: learn its clock now (ids: serverNow), once.
      if (!this.clockAsked) {
        this.clockAsked = true;
        this.me().catch(() => { this.clockAsked = false; });
      }
      return reply;
    };
    this.store = null;
    this.listeners = new Set();
    this.state = "offline";
    this.pendingCount = 0;
    this.error = null; // { code, message } once the server refused the token
    this.leader = false;
    this.releaseLock = null;
    this.closed = false;
    this.failures = 0;
    this.timer = null;
    // A write the server answered "not now" (js/push.js `result.held`): no push before
    // `holdUntil` (ms) but the app's own sync(); `holdTimer` sends it then; `held` is what
    // syncState() tells of it; `holdFailures` counts its answers for the backoff.
    this.holdUntil = 0;
    this.holdTimer = null;
    this.holdFailures = 0;
    this.held = null;
    this.holdStored = false; // meta `hold` may be there (js/push.js hold)
    this.restored = null; // the previous leader's hold being read (js/push.js restoreHold)
    this.sendingMarked = false; // meta `sending` is (or may be) there (js/push.js SENDING_KEY)
    this.running = null; // the sync in progress (a promise)
    this.again = false; // a kick came during it
    this.waiters = new Map(); // follower sync requests by id
    this.writing = new Map(); // this tab's entries whose local write is in progress, by seq
    this.done = new Map(); // seq -> `made`: this tab's finished writes whose entry could not be marked ready
    this.revalidating = new Set(); // "kind id" of revalidations under way
    this.adopting = new Set(); // lineages being brought in
    this.channel = null;
    this.onOnline = () => this.kick();
  }

  /**
   * Opens the outbox, checks the token (GET /v1/me) or, when the server is unreachable, the
   * identity kept from the last successful check; then takes part in the leader election.
   * Resolves "online" or "offline"; rejects UNAUTHORIZED, or NETWORK when unreachable with no
   * kept identity for this user and token.
   */
  async open() {
    this.store = await OutboxStore.open(this.o.dbName);
    this.store.onclosed = () => this.#stop();
    const identity = { userId: this.o.userId, baseUrl: this.o.baseUrl, tokenHash: this.o.tokenHash };
    // A replica belongs to one user of one server: its records, outbox and known values are
    // theirs. Another user (or server) opening it would push the first user's queued writes
    // with their own token, or read the first user's private records: refused. (A new token of
    // the same user is fine: it is checked below.)
    const owner = await this.store.get("identity");
    if (owner && (owner.userId !== identity.userId || owner.baseUrl !== identity.baseUrl)) {
      this.store.close();
      throw coded("INVALID_ARGUMENT", `replica database ${JSON.stringify(this.o.dbName)} belongs to user ${owner.userId} at ${owner.baseUrl}, not to user ${identity.userId} at ${identity.baseUrl}: give this user a replica database of their own (replica: { dbName }) or the default`);
    }
    let me;
    this.clockAsked = true;
    try {
      me = await this.me();
    } catch (e) {
      me = null;
    }
    if (this.clockOffset === undefined) {
      // Unreachable now: the server's clock as last learned (meta CLOCK_KEY), asked again at its
      // next answer (a fast device clock must not make ids the server refuses).
      this.clockAsked = false;
      const kept = await this.store.get(CLOCK_KEY).catch(() => null);
      if (Number.isFinite(kept?.offset)) this.clockOffset = kept.offset;
    }
    if (me && me.status === 401) {
      this.store.close();
      throw coded("UNAUTHORIZED", "the server refused the token (GET /v1/me answered 401); the replica and its queued writes are kept");
    }
    if (me && me.status === 200) {
      let user = null;
      try {
        user = JSON.parse(me.text)?.user_id ?? null;
      } catch {
        // not JSON: treated as unreachable below
      }
      if (typeof user === "string" && user.toUpperCase() !== this.o.userId) {
        this.store.close();
        throw coded("UNAUTHORIZED", `the token belongs to user ${user}, not to userId ${this.o.userId}`);
      }
      if (typeof user === "string") {
        await this.store.set({ identity });
        this.state = "online";
      }
    }
    if (this.state !== "online") {
      const kept = await this.store.get("identity");
      if (!kept || kept.userId !== identity.userId || kept.baseUrl !== identity.baseUrl || kept.tokenHash !== identity.tokenHash) {
        this.store.close();
        throw coded("NETWORK", `the server at ${this.o.baseUrl} is unreachable and this browser holds no replica opened with this user and token`);
      }
    }
    // A replica with nothing in it yet (first open, evicted) is filled before the catalog is
    // handed out, so its first reads see the user's records; a failure here is retried by the
    // leader's syncs like any other.
    const fresh = !(await this.store.get("complete"));
    if (this.state === "online" && fresh) {
      try {
        await fullPull(this);
      } catch (e) {
        if (errorOf(e).code === "UNAUTHORIZED") {
          this.store.close();
          throw e;
        }
      }
    }
    // Meta rows from before the bound of kept copies are counted by it (a replica that cannot
    // be written now still opens: the next open tries again).
    await migrateKept(this, fresh).catch(() => {});
    this.pendingCount = await this.store.count();
    this.#listen();
    await this.#elect();
    return this.state;
  }

  /**
   * GET /v1/me: `{ status, text }`; learns the offset of the server's clock (its `Date` header,
   * RFC 9110 section 6.6.1, one-second resolution) from this device's, for the ids it makes, and
   * keeps it in meta (CLOCK_KEY) for a later open without the server.
   */
  async me() {
    const headers = { Accept: "application/json" };
    if (this.o.token) headers.Authorization = `Bearer ${this.o.token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ME_TIMEOUT_MS);
    try {
      const sent = Date.now();
      const res = await fetch(`${this.o.baseUrl}/v1/me`, { headers, signal: controller.signal, credentials: "omit", cache: "no-store" });
      const text = await res.text();
      const server = Date.parse(res.headers.get("date") ?? "");
      // The middle of the request's round trip; +500 ms: the header's second was cut, not rounded.
      if (Number.isFinite(server)) {
        this.clockOffset = server + 500 - (sent + Date.now()) / 2;
        // Kept for an open without the server (not kept: as before, this page's estimate only).
        await this.store?.set({ [CLOCK_KEY]: { offset: this.clockOffset, at: new Date().toISOString() } }).catch(() => {});
      }
      return { status: res.status, text };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The time part of the ids this replica makes (ms since the epoch): the earlier of this
   * device's clock and the server's as estimated. Both refuse an id whose time part is more than
   * 5 minutes ahead of their own clock (the server's `?id=`, the local core's create_id), so a
   * device clock behind the server's must not make ids from the server's (a day behind: every
   * create refused locally), nor a fast one from its own. Opened without the server, the
   * estimate is the one last kept (meta CLOCK_KEY) until the server answers again.
   */
  serverNow() {
    return Date.now() + Math.min(0, this.clockOffset ?? 0);
  }

  // ---- tabs: one leader (Web Lock) pushes and pulls; the others tell it of their writes ------

  #listen() {
    if (typeof BroadcastChannel === "function") {
      this.channel = new BroadcastChannel(`wt-replica:${this.o.dbName}`);
      this.channel.onmessage = (m) => this.#message(m.data ?? {});
    }
    globalThis.addEventListener?.("online", this.onOnline);
  }

  post(message) {
    try {
      this.channel?.postMessage(message);
    } catch {
      // a closed channel: nothing to tell
    }
  }

  #message(m) {
    if (this.closed) return;
    if (m.type === "kick" && this.leader) this.kick();
    else if ((m.type === "sync" || m.type === "discard") && this.leader) {
      this.#answer(m).then(
        (result) => this.post({ type: "synced", req: m.req, result }),
        (e) => this.post({ type: "synced", req: m.req, error: errorOf(e) }),
      );
    } else if (m.type === "synced" && this.waiters.has(m.req)) {
      const w = this.waiters.get(m.req);
      this.waiters.delete(m.req);
      w(m);
    } else if (m.type === "state" && !this.leader) {
      this.state = m.state;
      this.pendingCount = m.pending;
      this.error = m.error ?? null;
      this.held = m.held ?? null;
      this.emit(syncEvent(m.state, m.pending, m.error, m.held), false);
    } else if (m.type === "event" && !this.leader) {
      this.emit(m.event, false);
    }
  }

  /**
   * Takes the lead when no tab holds it (resolves once that is known, so a sync() right after
   * open in the only tab runs here, not as a question to a leader that does not exist); else
   * waits in line for it.
   */
  async #elect() {
    const locks = globalThis.navigator?.locks;
    const name = `wt-replica:${this.o.dbName}`;
    if (!locks || typeof locks.request !== "function") {
      // No Web Locks (old engines): this tab leads; two tabs there may both push, which the
      // Idempotency-Keys and client-chosen ids make harmless (README "Offline replica").
      this.#lead();
      return;
    }
    const lead = (lock) => {
      if (!lock || this.closed) return undefined;
      this.#lead();
      return new Promise((release) => { this.releaseLock = release; });
    };
    const got = await new Promise((resolve) => {
      locks.request(name, { mode: "exclusive", ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        return lead(lock);
      }).catch(() => resolve(false));
    });
    if (!got && !this.closed) locks.request(name, { mode: "exclusive" }, lead).catch(() => {});
  }

  #lead() {
    this.leader = true;
    // Questions this tab asked the previous leader (gone before answering) are answered here.
    for (const [req, answer] of [...this.waiters]) {
      this.waiters.delete(req);
      this.#answer(answer.question).then((result) => answer({ result }), (e) => answer({ error: errorOf(e) }));
    }
    // The feed is the pull's doorbell: any news, and every (re)connection (the server is back),
    // runs a sync; a refused feed (401) shows on that sync's first request.
    this.client.startFeed(() => this.kick(), () => this.kick());
    // The previous leader's hold (meta `hold`) is this tab's now: its first sync only pulls
    // until the held write's time (else it would send it at once, whatever Retry-After said).
    // Every sync waits for it (a feed event may kick one first).
    this.restored = restoreHold(this).catch(() => {});
    this.kick();
  }

  // ---- events --------------------------------------------------------------------------------

  subscribe(f) {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  emit(event, share = true) {
    if (share && this.leader) this.post({ type: "event", event });
    for (const f of [...this.listeners]) {
      try {
        f(event);
      } catch {
        // a listener's failure is not the engine's
      }
    }
  }

  setState(state) {
    // Closed: no event reaches listeners any more (a sync that ends after close()).
    if (this.closed || (state === this.state && !this.stateDirty)) return;
    this.state = state;
    this.stateDirty = false;
    const event = syncEvent(state, this.pendingCount, this.error, this.held);
    if (this.leader) this.post({ type: "state", state, pending: this.pendingCount, error: this.error, held: this.held });
    this.emit(event, false);
  }

  async refreshPending() {
    const n = await this.store.count();
    if (n !== this.pendingCount) {
      this.pendingCount = n;
      this.stateDirty = true;
    }
  }

  syncState() {
    return { state: this.state, pending: this.pendingCount, ...(this.error ? { error: this.error } : {}), ...(this.held ? { held: this.held } : {}) };
  }

  // ---- the write path (called by the facade around the local write) --------------------------

  /** Appends an entry; resolves with its seq. */
  async enqueue(endpoint, argsJson, id, key, target) {
    const entry = { key, endpoint, args: canonicalIds(JSON.parse(argsJson)), id: id ?? null, target: target ?? null, at: Date.now(), ready: false };
    // The server `updated_at` this write is based on, fixed now (its If-Match): a server copy
    // the pull applies between now and the push must not become the base of a write made on
    // the copy before it. A write chained on an earlier queued one of the same record takes
    // the value that one's push answer leaves (read at push time).
    const on = target ?? entry.args.id;
    if (typeof on === "string" && !(await this.queuedIds([on])).has(on)) entry.known = (await this.store.get(`known:${on}`)) ?? null;
    const seq = await this.store.append(entry);
    this.writing.set(seq, entry);
    return seq;
  }

  /** The local write was refused: the entry goes. */
  discard(seq) {
    this.writing.delete(seq);
    return this.store.remove([seq]);
  }

  /**
   * The local write is done: the entry may be pushed (with what that write left, for its push:
   * js/push.js `labelMade`). Never rejects: the local write is committed, so the write has
   * happened and will be pushed; if the outbox cannot mark the entry (quota, a closing
   * database) this tab still knows it is done (`done`) and pushes it at its next sync.
   */
  async written(seq) {
    const entry = this.writing.get(seq);
    this.writing.delete(seq);
    const made = entry ? await labelMade(this, entry).catch(() => undefined) : undefined;
    this.done.set(seq, made);
    try {
      await this.store.patch([seq], { ready: true, ...(made ? { made } : {}) });
      this.done.delete(seq);
      await this.refreshPending();
    } catch {
      // kept in `done`; another tab pushes the entry once it is STALE_UNREADY_MS old
    }
    if (this.stateDirty) this.setState(this.state);
    if (this.leader) this.kick();
    else this.post({ type: "kick" });
  }

  async pending() {
    const list = await this.store.list();
    return JSON.stringify(list.map(({ seq, key, endpoint, args, id, target, at }) => ({ seq, key, endpoint, args, id, target, at: new Date(at).toISOString() })));
  }

  // ---- sync: push, then pull -------------------------------------------------------------------

  /**
   * Runs a sync now; during one, asks for one more after it (however many kicks came: a burst
   * of feed news or of writes costs one extra sync, not one each).
   */
  kick() {
    if (this.closed || !this.leader) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.running) {
      this.again = true;
      return;
    }
    this.#sync(false).catch(() => {});
  }

  #retryLater() {
    if (this.closed || !this.leader || this.error) return;
    this.failures++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), backoffDelay(this.failures));
  }

  /** The leader's answer to a question (`{ type: "sync" }`, `{ type: "discard", seq }`) of this tab or a follower. */
  #answer(question) {
    return question?.type === "discard" ? this.discardPending(question.seq) : this.sync();
  }

  /**
   * Drops queued write `seq` and the later writes built on it (js/push.js `discardPending`):
   * the JSON text of the seqs dropped. Runs in the leader between syncs, so a write is never
   * dropped while its request is on the way (then it is sent, and NOT_FOUND here).
   */
  async discardPending(seq) {
    if (this.closed) throw coded("STORAGE_UNAVAILABLE", "this catalog is closed");
    if (!this.leader) return this.#askLeader({ type: "discard", seq });
    while (this.running) await this.running.catch(() => {});
    let dropped;
    this.running = discardPending(this, seq).then((d) => { dropped = d; });
    try {
      await this.running;
    } finally {
      this.running = null;
      // Kicks that came meanwhile: the one kick below (or, refused, this one) covers them.
      if (this.again) {
        this.again = false;
        if (dropped === undefined) queueMicrotask(() => this.kick());
      }
    }
    // The held write gone, the writes behind it go now; the next pull re-reads what it touched.
    if (this.held && dropped.includes(this.held.seq)) await unhold(this);
    await this.refreshPending().catch(() => {});
    this.stateDirty = true;
    this.setState(this.state);
    this.kick();
    return JSON.stringify(dropped);
  }

  /**
   * Push then pull now: `{ pushed, pulled, conflicts, rejected }` (JSON text for the facade).
   * The app's call: it pushes even while a held write waits for its time (the user asked now).
   */
  sync() {
    return this.#sync(true);
  }

  /** A sync; `asked`: the app's sync() (pushes during a hold), else a kick (feed news, a write, a timer). */
  async #sync(asked) {
    if (this.closed) throw coded("STORAGE_UNAVAILABLE", "this catalog is closed");
    if (this.error) throw coded(this.error.code, this.error.message);
    if (!this.leader) return this.#askLeader();
    // One sync at a time; a call made during one runs after it (so it covers this call's writes).
    // The app's call counts what the syncs it waited for pushed, pulled and rejected: its writes
    // may have gone with a background sync (a retry timer, feed news) already on the way.
    const waited = { pushed: 0, pulled: 0, rejected: [] };
    while (this.running) {
      const text = await this.running.catch(() => null);
      const r = typeof text === "string" ? JSON.parse(text) : null;
      if (r) {
        waited.pushed += r.pushed;
        waited.pulled += r.pulled;
        waited.rejected.push(...r.rejected);
      }
    }
    this.running = this.#syncOnce(asked).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        queueMicrotask(() => this.kick());
      }
    });
    if (!asked) return this.running;
    const own = JSON.parse(await this.running);
    return JSON.stringify({ ...own, pushed: own.pushed + waited.pushed, pulled: own.pulled + waited.pulled, rejected: [...waited.rejected, ...own.rejected] });
  }

  async #askLeader(question = { type: "sync" }) {
    const req = `${Date.now()}-${Math.random()}`;
    const answer = new Promise((resolve) => {
      // The waiter holds its timer, so closing the catalog ends both (#stop).
      const timer = setTimeout(() => {
        if (this.waiters.delete(req)) resolve({ error: { code: "NETWORK", message: "the tab that syncs this replica did not answer" } });
      }, FOLLOWER_SYNC_MS);
      this.waiters.set(req, Object.assign((m) => {
        clearTimeout(timer);
        resolve(m);
      }, { question }));
    });
    this.post({ ...question, req });
    const m = await answer;
    if (m.error) throw coded(m.error.code, m.error.message, m.error.details ?? null);
    return m.result;
  }

  async #syncOnce(asked) {
    const result = { pushed: 0, pulled: 0, conflicts: [], rejected: [] };
    this.setState("syncing");
    try {
      // A held write waits for its time (feed news and new writes pull, but do not send it
      // again: a server in trouble is not hammered); the app's own sync() pushes at once.
      await this.restored;
      if (asked || Date.now() >= this.holdUntil) {
        try {
          await push(this, result);
          if (result.held) await hold(this, result);
          else await unhold(this);
        } finally {
          await sendDone(this);
        }
      }
      result.pulled = await pull(this);
      // A write the server answered "not now": the rest was pulled; sync() rejects with its
      // failure and the hold timer sends it again.
      if (result.held) throw result.held;
      this.failures = 0;
      await this.refreshPending();
      this.setState("online");
    } catch (e) {
      const err = errorOf(e);
      await this.refreshPending().catch(() => {});
      if (err.code === "UNAUTHORIZED") {
        this.error = { code: err.code, message: err.message };
        this.client.stopFeed();
        this.stateDirty = true;
        this.setState("offline");
      } else if (err.code === "NETWORK" && typeof err.status !== "number") {
        this.setState("offline");
        this.#retryLater();
      } else {
        this.setState("online");
        // A held write has its own timer (js/push.js hold); anything else is retried with backoff.
        if (e !== result.held) this.#retryLater();
      }
      throw coded(err.code, err.message, err.details ?? null);
    }
    result.conflicts = (await this.store.all("conflict:")).map(([, c]) => c);
    return JSON.stringify(result);
  }

  /** An online-only call (discover, importAll): RemoteClient.call, tracking reachability. */
  async call(name, argsJson) {
    if (this.error) throw coded(this.error.code, this.error.message);
    try {
      return await this.client.call(name, argsJson);
    } catch (e) {
      const err = errorOf(e);
      if (err.code === "NETWORK") this.setState("offline");
      if (err.code === "UNAUTHORIZED") {
        this.error = { code: err.code, message: err.message };
        this.stateDirty = true;
        this.setState("offline");
      }
      throw e;
    }
  }

  #stop() {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.holdTimer);
    // Follower questions still waiting end now, their timers with them.
    for (const [req, answer] of [...this.waiters]) {
      this.waiters.delete(req);
      answer({ error: { code: "STORAGE_UNAVAILABLE", message: "this catalog was closed before the tab that syncs this replica answered" } });
    }
    this.client.stopFeed();
    this.releaseLock?.();
    this.releaseLock = null;
    this.leader = false;
    globalThis.removeEventListener?.("online", this.onOnline);
    this.channel?.close();
    this.channel = null;
  }

  close() {
    this.#stop();
    this.store?.close();
  }
}

// Methods the Rust facade calls that live beside the code they drive: reads the replica does
// not hold or answers stale-while-revalidate (js/pull.js), ifMatch aliases and conflict
// resolution (js/push.js); server copies into the replica and record reads (js/outbox.js).
Object.assign(ReplicaEngine.prototype, READS, IF_MATCH, RECORDS, APPLY);
