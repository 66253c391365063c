// The remote adapter's HTTP client (`storage: "remote"`, README "Remote"): every endpoint of the
// reference server the catalog uses is one row of ENDPOINTS (method, path template, retry
// class, the events a success emits), and `remoteCall` is the one generic call. Rust
// (src/wasm/remote.rs) checks the arguments, names the endpoint and converts the answer; the
// HTTP plumbing (fetch, timeouts, retries with backoff, Idempotency-Key, If-Match) lives here,
// outside the wasm (issue 12: a hand-written method per endpoint cost size and clarity).

// Per-attempt timeout, attempts in all for a repeatable request, backoff base.
const TIMEOUT_MS = 15000;
const ATTEMPTS = 4;
const BACKOFF_MS = 150;
// A 502-504's Retry-After up to this is waited within the call (the reference server asks for
// 2 s on every 503) and the request tried again; a longer one ends the call's retries at once.
export const RETRY_AFTER_IN_CALL_MS = 2000;

// Retry classes. SAFE: a request that writes nothing (GET, preview) — but one carrying If-Match
// would be sent once (a repeat after a lost answer could report a spurious CONFLICT). KEYED:
// every write: the server deduplicates it by its Idempotency-Key (one key per call, reused by
// its retries; the caller's `idempotencyKey` when given, as the replica's push gives its
// entry's), checked before its If-Match, so a retry after a lost answer gets the first answer,
// never a spurious CONFLICT or NOT_FOUND, and is applied once (issue 15; server/README.md
// "Idempotency-Key").
const SAFE = "safe";
const KEYED = "keyed";

// name: [method, path template ({param} = an encoded argument), retry class, events, echoes].
// An event is [kind, op, where its id comes from]: "id" = the `id` argument, "$id" = the
// answer's `id`, "$template_id" = the answer's `template_id` (else the `id` argument), null = no
// id. Echoes are the change-feed rows [kind, op, id from] the write is sure to add (kind
// "stats": builtin_stats for a built-in, else template), so that the feed does not deliver this
// client's own write again as another client's; a row not listed (say, the previous latest
// version's put after restoreVersion) is delivered as an external change.
// Query strings come from the `query` argument (arrays repeat the key; null is left out).
export const ENDPOINTS = {
  me: ["GET", "/v1/me", SAFE],
  create: ["POST", "/v1/templates", KEYED, [["template", "create", "$id"]], [["template", "put", "$id"]]],
  get: ["GET", "/v1/templates/{id}", SAFE],
  update: ["PATCH", "/v1/templates/{id}", KEYED, [["template", "update", "id"]], [["template", "put", "id"]]],
  newVersion: ["POST", "/v1/templates/{id}/versions", KEYED, [["template", "create", "$id"], ["template", "update", "id"]], [["template", "put", "id"], ["template", "put", "$id"]]],
  versions: ["GET", "/v1/templates/{id}/versions", SAFE],
  versionsWithLabels: ["GET", "/v1/templates/{id}/versions/labelled", SAFE],
  restoreVersion: ["POST", "/v1/templates/{id}/restore", KEYED, [["template", "create", "$id"]], [["template", "put", "$id"]]],
  delete: ["DELETE", "/v1/templates/{id}", KEYED, [["template", "delete", "id"]], [["template", "delete", "id"]]],
  diff: ["GET", "/v1/diff", SAFE],
  discover: ["GET", "/v1/templates", SAFE],
  popularByCategory: ["GET", "/v1/popular-by-category", SAFE],
  chain: ["GET", "/v1/templates/{id}/chain", SAFE],
  resolve: ["GET", "/v1/templates/{id}/resolve", SAFE],
  derived: ["GET", "/v1/templates/{id}/derived", SAFE],
  preview: ["POST", "/v1/preview", SAFE],
  recordUsage: ["POST", "/v1/templates/{id}/usage", KEYED, [["usage", "update", "id"]], [["stats", "put", "id"]]],
  myRating: ["GET", "/v1/templates/{id}/rating", SAFE],
  rate: ["PUT", "/v1/templates/{id}/rating", KEYED, [["rating", "update", "id"]], [["rating", "put", "id"], ["stats", "put", "id"]]],
  labels: ["GET", "/v1/templates/{id}/labels", SAFE],
  setLabel: ["PUT", "/v1/templates/{id}/labels/{label}", KEYED, [["label", "update", "$template_id"]], [["label", "put", "$template_id"]]],
  removeLabel: ["DELETE", "/v1/templates/{id}/labels/{label}", KEYED, [["label", "delete", "id"]], [["label", "delete", "id"]]],
  getByName: ["GET", "/v1/by-name", SAFE],
  resolveByName: ["GET", "/v1/by-name/resolve", SAFE],
  createSpec: ["POST", "/v1/specs", KEYED, [["spec", "create", "$id"]], [["spec", "put", "$id"]]],
  getSpec: ["GET", "/v1/specs/{id}", SAFE],
  updateSpec: ["PATCH", "/v1/specs/{id}", KEYED, [["spec", "update", "id"]], [["spec", "put", "id"]]],
  deleteSpec: ["DELETE", "/v1/specs/{id}", KEYED, [["spec", "delete", "id"]], [["spec", "delete", "id"]]],
  listSpecs: ["GET", "/v1/specs", SAFE],
  instantiateSpec: ["POST", "/v1/specs/{id}/instantiate", KEYED, [["template", "create", "$id"], ["spec", "update", "id"]], [["template", "put", "$id"], ["spec", "put", "id"]]],
  exportAll: ["GET", "/v1/export", SAFE],
  importAll: ["POST", "/v1/import", KEYED, [["import", "import", null]], []],
  changes: ["GET", "/v1/changes", SAFE],
};

// One HTTP request: resolves with { status, text, etag } whatever the status; rejects with
// { network: true, message } when no answer came (refused, DNS, CORS, offline) or none came
// within `timeoutMs`.
export async function httpRequest(url, method, headers, body, timeoutMs) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  try {
    const res = await fetch(url, { method, headers, body: body ?? undefined, signal: controller?.signal, credentials: "omit", cache: "no-store" });
    const text = await res.text();
    return { status: res.status, text, etag: res.headers.get("etag"), retryAfter: res.headers.get("retry-after"), date: res.headers.get("date") };
  } catch (e) {
    const timedOut = e && e.name === "AbortError";
    throw { network: true, message: timedOut ? `no answer within ${timeoutMs} ms` : String((e && e.message) || e) };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * A `Retry-After` header value (RFC 9110 section 10.2.3: delay-seconds, or an HTTP-date) as the
 * milliseconds to wait from `now` (the answer's own `Date` when the caller has it, so a device
 * clock that is off does not stretch or shrink the wait): 0 for a date already past; any
 * 1*DIGIT, however long, as its value (at most Number.MAX_SAFE_INTEGER ms: a longer wait asked
 * is never a sooner retry; callers cut it); of several values (fetch joins repeated headers with
 * ", ") the first; null when absent or neither form (negative, fractional, words). A
 * cross-origin caller sees the header only when the server lists it in
 * `Access-Control-Expose-Headers` (Fetch: it is not a CORS-safelisted response header).
 */
export function retryAfterMs(value, now = Date.now()) {
  if (typeof value !== "string") return null;
  const v = value.trim();
  const seconds = /^(\d+)\s*(?:,|$)/.exec(v);
  if (seconds) return Math.min(Number(seconds[1]) * 1000, Number.MAX_SAFE_INTEGER);
  // An HTTP-date names its weekday (IMF-fixdate, 29 characters, is taken alone when several
  // values were joined; the obsolete RFC 850 and asctime forms parse whole).
  if (!/^[A-Za-z]{3}/.test(v)) return null;
  const fixdate = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT/.exec(v);
  const at = Date.parse(fixdate ? fixdate[0] : v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

// Resolves after `ms` milliseconds (retry backoff).
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// 128 random bits as hex: an Idempotency-Key (crypto.getRandomValues works outside secure
// contexts too, unlike crypto.randomUUID).
export function randomKey() {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const BUILTIN_ID = /^0{24}\d\d$/;

/** An event's or echo's id: the `id` argument, or a field of the answer. */
function idFrom(from, args, value) {
  const v = from === "id" ? args.id : from === "$id" ? value?.id : from === "$template_id" ? value?.template_id ?? args.id : null;
  return typeof v === "string" ? v : null;
}

// A coded error as the JSON text Rust reads: { code, message, details } (and the HTTP status,
// when there was an answer, for the feed's decisions; `envelope: true` when the code is the
// server's own, from its error body: the replica takes only such a NOT_FOUND / FORBIDDEN as
// "gone", never a proxy's bare 403 / 404).
// `retryAfter`: the answer's Retry-After in ms (retryAfterMs), only when it had a valid one;
// `server`: the server's own { code, message, details } behind a NETWORK that ended on a 502-504.
const failure = (code, message, details = null, status = null, envelope = false, retryAfter = null, server = null) =>
  JSON.stringify({ code, message, details, status, envelope, ...(retryAfter === null ? {} : { retryAfter }), ...(server === null ? {} : { server }) });

// A path argument must stay one segment: "", "." and ".." (also as "%2e", which the URL parser
// treats alike: WHATWG URL "single-dot / double-dot URL path segment") would be removed or climb
// to another route, so they are refused before any request is sent. Everything else is
// percent-encoded by encodeURIComponent ("/" included).
function segment(k, v) {
  const text = String(v);
  if (/^(\.|%2e){0,2}$/i.test(text)) throw failure("INVALID_ARGUMENT", `${k} ${JSON.stringify(text)} cannot be a URL path segment`);
  return encodeURIComponent(text);
}

function urlOf(base, template, args) {
  let path = template.replace(/\{(\w+)\}/g, (_, k) => segment(k, args[k]));
  const q = [];
  for (const [k, v] of Object.entries(args.query ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x !== null && x !== undefined) q.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(x))}`);
    }
  }
  if (q.length) path += `?${q.join("&")}`;
  return base + path;
}

// What the server's answer means: the parsed body, or a rejection with a coded error (401 is
// UNAUTHORIZED and 412 CONFLICT whatever the body says; otherwise the error envelope's code).
// `retryAfter`: the answer's Retry-After (ms) or null, passed on with a failure.
function answer(label, status, text, retryAfter = null) {
  if (status >= 200 && status < 300) {
    if (status === 204 || text === "") return null;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw failure("NETWORK", `${label}: the answer is not JSON: ${e.message}`);
    }
  }
  let err = null;
  try {
    err = JSON.parse(text)?.error ?? null;
  } catch {
    // not JSON: no envelope
  }
  const message = typeof err?.message === "string" ? err.message : `${label}: HTTP ${status}`;
  const details = err?.details ?? null;
  if (status === 401) throw failure("UNAUTHORIZED", message, details, status, false, retryAfter);
  if (status === 412) throw failure("CONFLICT", message, details, status, false, retryAfter);
  if (typeof err?.code === "string" && believed(err.code, status)) throw failure(err.code, message, details, status, true, retryAfter);
  // No error envelope (something between here and the server answered: a proxy, a gateway), or
  // a code at odds with the status (kept as data in `server`, never acted on): the status
  // decides. 5xx, 408 and 429 pass (retried as unreachable); another 4xx refuses the request
  // itself (retrying it cannot help): its nearest code.
  const server = typeof err?.code === "string" ? { code: String(err.code), message, details } : null;
  const what = server ? `HTTP ${status} with error code ${JSON.stringify(server.code)}: ${message}` : `HTTP ${status} without an error body`;
  if (status >= 500 || status === 408 || status === 429) throw failure("NETWORK", `${label}: ${what}`, null, status, false, retryAfter, server);
  const code = status === 403 ? "FORBIDDEN" : status === 404 ? "NOT_FOUND" : "INVALID_ARGUMENT";
  throw failure(code, `${label}: ${what}`, null, status, false, retryAfter, server);
}

// The statuses a body code is believed with (server/src/reply.rs `status_of`): the codes a
// client acts on — a refused token stops the replica, NOT_FOUND / FORBIDDEN delete a held
// copy, CONFLICT keeps a write for the user — never come from another status (a 500 saying
// UNAUTHORIZED is a server fault, not a refused token). Other codes go with any error status.
const CODE_STATUSES = { UNAUTHORIZED: [401], NOT_FOUND: [404], FORBIDDEN: [403], BUILTIN_READ_ONLY: [403], CONFLICT: [409, 412] };
function believed(code, status) {
  return !Object.hasOwn(CODE_STATUSES, code) || CODE_STATUSES[code].includes(status);
}

/**
 * Calls endpoint `name` of the server at `base` (no trailing slash) as the holder of `token`
 * (null: no Authorization header). `argsJson` is the JSON text of { id?, label?, query?, body?,
 * ifMatch?, ifNoneMatch?, idempotencyKey? }. Resolves with [answer JSON text or "null" (null:
 * 304 Not Modified to an ifNoneMatch), events, echoes, the answer's ETag header or null] where
 * events are [kind, op, id | null] to emit and echoes the "kind op id" feed rows to expect;
 * rejects with the JSON text of { code, message, details }. `options.hold`: never wait out a
 * Retry-After within the call (the replica's push holds its write instead and goes on pulling).
 */
export async function remoteCall(base, token, name, argsJson, options = {}) {
  const [method, template, retry, emits = []] = ENDPOINTS[name];
  const args = JSON.parse(argsJson);
  const label = `${method} ${template}`;
  const headers = { Accept: "application/json" };
  if (token !== null && token !== undefined) headers.Authorization = `Bearer ${token}`;
  const body = args.body === undefined ? undefined : JSON.stringify(args.body);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (typeof args.ifMatch === "string") headers["If-Match"] = `"${args.ifMatch}"`;
  // A conditional GET (the replica's revalidation): 304 answers null (RFC 9110 section 15.4.5).
  if (typeof args.ifNoneMatch === "string") headers["If-None-Match"] = `"${args.ifNoneMatch}"`;
  if (retry === KEYED) headers["Idempotency-Key"] = args.idempotencyKey ?? randomKey();
  const attempts = retry === SAFE && headers["If-Match"] ? 1 : ATTEMPTS;
  const url = urlOf(base, template, args);
  let last = `${label}: no attempt made`;
  // The status of the last attempt when the server answered (502-504): a server in trouble,
  // not an unreachable one (the replica's push keeps that write and goes on with the others).
  let lastStatus = null;
  let lastRetryAfter = null;
  // The server's own coded error of the last attempt (its JSON error body): when the retries end
  // there, the rejection says what the server said, not a bare "it failed" (docs/replica.md).
  let lastServer = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    // Full jitter: a random wait up to the exponential cap; the server's Retry-After when it gave one.
    if (attempt > 0) await sleep(lastRetryAfter ?? Math.random() * BACKOFF_MS * 2 ** attempt);
    let reply;
    try {
      reply = await httpRequest(url, method, headers, body, TIMEOUT_MS);
    } catch (e) {
      last = `${label}: ${e.message}`;
      lastStatus = null;
      lastRetryAfter = null;
      lastServer = null;
      continue;
    }
    // Measured from the answer's own Date (RFC 9110 section 6.6.1) when it has one.
    const said = Date.parse(reply.date ?? "");
    const retryAfter = reply.status >= 400 ? retryAfterMs(reply.retryAfter, Number.isFinite(said) ? said : Date.now()) : null;
    if (reply.status >= 502 && reply.status <= 504) {
      lastServer = serverError(reply.text);
      last = `${label}: the server answered ${reply.status}${lastServer ? ` ${lastServer.code}: ${lastServer.message}` : ""}`;
      lastStatus = reply.status;
      lastRetryAfter = retryAfter;
      // The server said when to come back (RFC 9110 section 10.2.3): never sooner. A short
      // wait is spent here (the next attempt waits it); a long one, or any for a caller that
      // holds (the replica's push), ends the call: the caller decides.
      if (retryAfter !== null && (options.hold === true || retryAfter > RETRY_AFTER_IN_CALL_MS)) break;
      continue;
    }
    // A DELETE retried after a lost answer finds the record gone because the first attempt
    // deleted it: that 404 is the success the caller asked for (README "Remote"). The server
    // answers such a retry its stored 204 (Idempotency-Key); this covers a key it forgot.
    if (method === "DELETE" && attempt > 0 && reply.status === 404) reply = { status: 204, text: "" };
    if (reply.status === 304 && headers["If-None-Match"]) return [null, [], [], reply.etag];
    const value = answer(label, reply.status, reply.text, retryAfter);
    const events = emits.map(([kind, op, from]) => [kind, op, idFrom(from, args, value)]);
    const echoes = (ENDPOINTS[name][4] ?? []).map(([kind, op, from]) => {
      const id = idFrom(from, args, value);
      return `${kind === "stats" ? (BUILTIN_ID.test(id) ? "builtin_stats" : "template") : kind} ${op} ${id}`;
    });
    return [value === null ? "null" : reply.text, events, echoes, reply.etag];
  }
  // Still NETWORK (the class of "not now, try again", as apps branch on it; the server's
  // STORAGE_UNAVAILABLE is not this browser's storage): its message names the status and the
  // server's code and message, and `server` keeps them whole (the replica's syncState().held).
  throw failure("NETWORK", last, null, lastStatus, false, lastRetryAfter, lastServer);
}

/** The server's coded error body (server/openapi.yaml `Error`) as `{ code, message, details }`, or null. */
function serverError(text) {
  let err = null;
  try {
    err = JSON.parse(text)?.error ?? null;
  } catch {
    return null;
  }
  if (typeof err?.code !== "string") return null;
  return { code: err.code, message: typeof err.message === "string" ? err.message : "", details: err.details ?? null };
}

// ---- live updates: the change feed (server/openapi.yaml listChanges, streamChanges) ---------

// A feed change as the subscribe event it becomes: kind, and op (put: "update", since the feed
// does not say whether the record is new). The built-ins' statistics are "usage" events.
const FEED_KINDS = { template: "template", spec: "spec", rating: "rating", label: "label", builtin_stats: "usage" };
// This client's own writes come back through the feed: each success expects the feed rows its
// events stand for, and the first matching change is not delivered again (external: true is for
// other clients' changes). Expectations not met within ECHO_TTL_MS are dropped.
const ECHO_TTL_MS = 60000;
// No byte for this long (the server sends a keep-alive comment every 15 s): the stream is dead.
const STALL_MS = 45000;
const RECONNECT_MAX_MS = 30000;

/** One server, one token: `call` (remoteCall plus echo bookkeeping) and the feed connection. */
export class RemoteClient {
  constructor(base, token) {
    this.base = base;
    this.token = token;
    this.writing = 0; // writes in flight: feed changes wait until their echoes are known
    this.idle = []; // resolvers waiting for writing == 0 (the feed's head read)
    this.echoes = []; // [key, expiry]
    this.held = [];
    this.feed = null; // { deliver, cursor, abort, timer }
  }

  async call(name, argsJson, options = {}) {
    const write = (ENDPOINTS[name][3] ?? []).length > 0;
    // A write never overlaps the feed's read of its head (`since=now`): if it did, the head's
    // cursor could be from before the write's row or after it, and nothing tells which (an
    // unexpected echo comes back as another client's change; a wrongly expected one swallows
    // another client's change). Writes wait for a head read under way; the head read waits for
    // the writes already in flight (#run).
    while (write && this.feed?.reading) await this.feed.reading.promise;
    // An echo is expected only when the feed that will carry it already holds a cursor from
    // before this write (and still holds it, in the same epoch, when the write is done): with no
    // feed, or one that starts later (from `since=now`, after the write's row), the row never
    // comes and a leftover expectation would swallow another client's change to the same record.
    const feed = this.feed;
    const epoch = feed && feed.cursor !== null ? feed.epoch : null;
    if (write) this.writing++;
    try {
      const reply = await remoteCall(this.base, this.token, name, argsJson, options);
      if (epoch !== null && this.feed === feed && feed.epoch === epoch) {
        const until = Date.now() + ECHO_TTL_MS;
        for (const key of reply[2]) this.echoes.push([key, until]);
      }
      return reply;
    } finally {
      if (write) {
        this.writing--;
        if (this.writing === 0) for (const wake of this.idle.splice(0)) wake();
        this.#flush();
      }
    }
  }

  /**
   * Starts delivering other clients' changes to `deliver(kind, op, id)` (no-op when running);
   * `connected()`, if given, is called whenever the stream (re)connects (the replica's sync
   * engine retries its push then: the server is back).
   */
  startFeed(deliver, connected = null) {
    if (this.feed) return;
    // epoch: bumped whenever the cursor is replaced (not advanced), which voids echoes.
    // reading: while the head is read, { promise, resolve } that writes wait on.
    const feed = { deliver, connected, cursor: null, epoch: 0, abort: null, timer: null, reading: null };
    this.feed = feed;
    this.#run(feed).catch(() => {});
  }

  /** Closes the feed connection (changes after this are not delivered). */
  stopFeed() {
    const feed = this.feed;
    this.feed = null;
    this.held = [];
    this.echoes = [];
    if (feed) {
      feed.reading?.resolve();
      feed.reading = null;
      clearTimeout(feed.timer);
      feed.abort?.abort();
    }
  }

  #headers(accept) {
    const h = { Accept: accept };
    if (this.token !== null && this.token !== undefined) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  /** The feed's own news as a `storage` event ("resync", "error"); no id. */
  #tell(feed, op) {
    try {
      feed.deliver("storage", op, undefined);
    } catch {
      // a listener's failure is not the feed's
    }
  }

  #take(feed, change) {
    if (this.feed !== feed || !change || typeof change.id !== "string" || !FEED_KINDS[change.kind]) return;
    this.held.push(change);
    this.#flush();
  }

  #flush() {
    if (this.writing > 0 || !this.feed) return;
    const now = Date.now();
    this.echoes = this.echoes.filter(([, until]) => until > now);
    const { deliver } = this.feed;
    for (const c of this.held.splice(0)) {
      const key = `${c.kind} ${c.op === "delete" ? "delete" : "put"} ${c.id}`;
      const echo = this.echoes.findIndex(([k]) => k === key);
      if (echo >= 0) {
        this.echoes.splice(echo, 1);
        continue;
      }
      try {
        deliver(FEED_KINDS[c.kind], c.op === "delete" ? "delete" : "update", c.id);
      } catch {
        // a listener's failure is not the feed's
      }
    }
  }

  /** GET /v1/changes from the feed's cursor until there is no more (a resync). */
  async #catchUp(feed) {
    for (let more = true; more && this.feed === feed; ) {
      const args = JSON.stringify({ query: { since: feed.cursor, limit: 1000 } });
      const page = JSON.parse((await remoteCall(this.base, this.token, "changes", args))[0]);
      if (this.feed !== feed) return;
      for (const c of page.changes) this.#take(feed, c);
      feed.cursor = page.cursor;
      more = page.more === true;
    }
  }

  async #run(feed) {
    let failures = 0;
    while (this.feed === feed) {
      try {
        if (feed.cursor === null) {
          // A concrete cursor first: a reconnect then resumes from it, whenever it happens. New
          // writes wait from now on; the writes in flight finish first, so every write is either
          // wholly before the head (its row is not delivered) or after it (its echo is expected).
          let resolve;
          const gate = { promise: new Promise((r) => { resolve = r; }), resolve };
          feed.reading = gate;
          try {
            while (this.writing > 0) await new Promise((r) => this.idle.push(r));
            if (this.feed !== feed) return;
            const head = await remoteCall(this.base, this.token, "changes", JSON.stringify({ query: { since: "now" } }));
            feed.cursor = JSON.parse(head[0]).cursor;
          } finally {
            if (feed.reading === gate) feed.reading = null;
            gate.resolve();
          }
        }
        const opened = Date.now();
        const ended = await this.#stream(feed, () => {
          failures = 0;
          try {
            feed.connected?.();
          } catch {
            // the listener's failure is not the feed's
          }
        });
        if (ended === "resync") await this.#catchUp(feed);
        // A stream that ends as soon as it opens (a proxy, a server shutting down) is a failure:
        // reconnecting at once would spin.
        else if (Date.now() - opened < 1000) failures++;
      } catch (e) {
        if (this.feed !== feed) return;
        let err = null;
        try {
          err = typeof e === "string" ? JSON.parse(e) : null;
        } catch {
          // not a coded error: a failure to retry
        }
        if (err?.status === 400 && err.details?.reason === "CURSOR_AHEAD") {
          // The server's feed is behind our cursor (its database was restored): changes in
          // between may be lost, so subscribers re-read what they show, and the feed starts
          // again from the server's head.
          feed.cursor = null;
          feed.epoch++;
          this.echoes = [];
          this.held = [];
          this.#tell(feed, "resync");
          continue;
        }
        // 429 (this user has too many streams open, e.g. many tabs): a limit, not a refusal;
        // retried with backoff like a 503, when another stream may have ended.
        if (typeof err?.status === "number" && err.status >= 400 && err.status < 500 && err.status !== 429) {
          // Refused (401 token, 403, another 4xx): the same request would be refused again.
          // The feed ends and subscribers hear it once; the catalog's next call reports why.
          this.feed = null;
          this.held = [];
          this.echoes = [];
          this.#tell(feed, "error");
          return;
        }
        failures++;
      }
      if (this.feed !== feed) return;
      // Reconnect at once after a clean end; with full-jitter backoff after failures.
      if (failures > 0) {
        const cap = Math.min(RECONNECT_MAX_MS, 500 * 2 ** Math.min(failures, 10));
        await new Promise((r) => { feed.timer = setTimeout(r, 250 + Math.random() * cap); });
      }
    }
  }

  /** One stream connection from feed.cursor; resolves "resync" or "ended", rejects on failure. */
  async #stream(feed, connected) {
    const abort = new AbortController();
    feed.abort = abort;
    let stall;
    const alive = () => { clearTimeout(stall); stall = setTimeout(() => abort.abort(), STALL_MS); };
    alive();
    try {
      const headers = this.#headers("text/event-stream");
      headers["Last-Event-ID"] = feed.cursor;
      const res = await fetch(`${this.base}/v1/changes/stream?since=${encodeURIComponent(feed.cursor)}`, {
        headers, signal: abort.signal, credentials: "omit", cache: "no-store",
      });
      if (!res.ok) answer("GET /v1/changes/stream", res.status, await res.text());
      if (!res.body) throw new Error(`the change stream answered ${res.status} without a body`);
      connected();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return "ended";
        alive();
        buffer += value;
        // Events end with a blank line (SSE: CRLF, LF or CR line ends).
        const blocks = buffer.split(/\r\n\r\n|\n\n|\r\r/);
        buffer = blocks.pop();
        for (const block of blocks) {
          let event = "message", data = [], id = null;
          for (const line of block.split(/\r\n|\n|\r/)) {
            if (line === "" || line.startsWith(":")) continue;
            const i = line.indexOf(":");
            const field = i < 0 ? line : line.slice(0, i);
            const v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
            if (field === "event") event = v;
            else if (field === "data") data.push(v);
            else if (field === "id") id = v;
          }
          if (this.feed !== feed) return "ended";
          if (event === "resync") {
            abort.abort();
            return "resync";
          }
          if (event === "change") {
            let change = null;
            try {
              change = JSON.parse(data.join("\n"));
            } catch {
              // not a change: skipped
            }
            this.#take(feed, change);
            if (id !== null) feed.cursor = id;
          }
        }
      }
    } finally {
      clearTimeout(stall);
    }
  }
}
