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

// Retry classes. SAFE: the same request twice has the effect of one (GET, PUT, DELETE) — but a
// SAFE request carrying If-Match is sent once (a repeat after a lost answer would report a
// spurious CONFLICT). KEYED: a POST the server deduplicates by its Idempotency-Key (one key per
// call, reused by its retries). ONCE: never repeated (PATCH: a spurious CONFLICT; removeLabel:
// a spurious NOT_FOUND).
const SAFE = "safe";
const KEYED = "keyed";
const ONCE = "once";

// name: [method, path template ({param} = an encoded argument), retry class, events]. An event
// is [kind, op, where its id comes from]: "id" = the `id` argument, "$id" = the answer's `id`,
// "$template_id" = the answer's `template_id` (else the `id` argument), null = no id.
// Query strings come from the `query` argument (arrays repeat the key; null is left out).
export const ENDPOINTS = {
  me: ["GET", "/v1/me", SAFE],
  create: ["POST", "/v1/templates", KEYED, [["template", "create", "$id"]]],
  get: ["GET", "/v1/templates/{id}", SAFE],
  update: ["PATCH", "/v1/templates/{id}", ONCE, [["template", "update", "id"]]],
  newVersion: ["POST", "/v1/templates/{id}/versions", KEYED, [["template", "create", "$id"], ["template", "update", "id"]]],
  versions: ["GET", "/v1/templates/{id}/versions", SAFE],
  versionsWithLabels: ["GET", "/v1/templates/{id}/versions/labelled", SAFE],
  restoreVersion: ["POST", "/v1/templates/{id}/restore", KEYED, [["template", "create", "$id"]]],
  delete: ["DELETE", "/v1/templates/{id}", SAFE, [["template", "delete", "id"]]],
  diff: ["GET", "/v1/diff", SAFE],
  discover: ["GET", "/v1/templates", SAFE],
  popularByCategory: ["GET", "/v1/popular-by-category", SAFE],
  chain: ["GET", "/v1/templates/{id}/chain", SAFE],
  resolve: ["GET", "/v1/templates/{id}/resolve", SAFE],
  derived: ["GET", "/v1/templates/{id}/derived", SAFE],
  preview: ["POST", "/v1/preview", SAFE],
  recordUsage: ["POST", "/v1/templates/{id}/usage", KEYED, [["usage", "update", "id"]]],
  rate: ["PUT", "/v1/templates/{id}/rating", SAFE, [["rating", "update", "id"]]],
  labels: ["GET", "/v1/templates/{id}/labels", SAFE],
  setLabel: ["PUT", "/v1/templates/{id}/labels/{label}", SAFE, [["label", "update", "$template_id"]]],
  removeLabel: ["DELETE", "/v1/templates/{id}/labels/{label}", ONCE, [["label", "delete", "id"]]],
  getByName: ["GET", "/v1/by-name", SAFE],
  resolveByName: ["GET", "/v1/by-name/resolve", SAFE],
  createSpec: ["POST", "/v1/specs", KEYED, [["spec", "create", "$id"]]],
  getSpec: ["GET", "/v1/specs/{id}", SAFE],
  updateSpec: ["PATCH", "/v1/specs/{id}", ONCE, [["spec", "update", "id"]]],
  deleteSpec: ["DELETE", "/v1/specs/{id}", SAFE, [["spec", "delete", "id"]]],
  listSpecs: ["GET", "/v1/specs", SAFE],
  instantiateSpec: ["POST", "/v1/specs/{id}/instantiate", KEYED, [["template", "create", "$id"], ["spec", "update", "id"]]],
  exportAll: ["GET", "/v1/export", SAFE],
  importAll: ["POST", "/v1/import", KEYED, [["import", "import", null]]],
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
    return { status: res.status, text, etag: res.headers.get("etag") };
  } catch (e) {
    const timedOut = e && e.name === "AbortError";
    throw { network: true, message: timedOut ? `no answer within ${timeoutMs} ms` : String((e && e.message) || e) };
  } finally {
    if (timer) clearTimeout(timer);
  }
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

// A coded error as the JSON text Rust reads: { code, message, details }.
const failure = (code, message, details = null) => JSON.stringify({ code, message, details });

function urlOf(base, template, args) {
  let path = template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String(args[k])));
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
function answer(label, status, text) {
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
  if (status === 401) throw failure("UNAUTHORIZED", message, details);
  if (status === 412) throw failure("CONFLICT", message, details);
  if (typeof err?.code === "string") throw failure(err.code, message, details);
  throw failure("NETWORK", `${label}: HTTP ${status} without an error body`);
}

/**
 * Calls endpoint `name` of the server at `base` (no trailing slash) as the holder of `token`
 * (null: no Authorization header). `argsJson` is the JSON text of { id?, label?, query?, body?,
 * ifMatch?, idempotencyKey? }. Resolves with [answer JSON text or "null", events] where events
 * are [kind, op, id | null] to emit; rejects with the JSON text of { code, message, details }.
 */
export async function remoteCall(base, token, name, argsJson) {
  const [method, template, retry, emits = []] = ENDPOINTS[name];
  const args = JSON.parse(argsJson);
  const label = `${method} ${template}`;
  const headers = { Accept: "application/json" };
  if (token !== null && token !== undefined) headers.Authorization = `Bearer ${token}`;
  const body = args.body === undefined ? undefined : JSON.stringify(args.body);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (typeof args.ifMatch === "string") headers["If-Match"] = `"${args.ifMatch}"`;
  if (retry === KEYED) headers["Idempotency-Key"] = args.idempotencyKey ?? randomKey();
  const attempts = retry === ONCE || (retry === SAFE && headers["If-Match"]) ? 1 : ATTEMPTS;
  const url = urlOf(base, template, args);
  let last = `${label}: no attempt made`;
  for (let attempt = 0; attempt < attempts; attempt++) {
    // Full jitter: a random wait up to the exponential cap.
    if (attempt > 0) await sleep(Math.random() * BACKOFF_MS * 2 ** attempt);
    let reply;
    try {
      reply = await httpRequest(url, method, headers, body, TIMEOUT_MS);
    } catch (e) {
      last = `${label}: ${e.message}`;
      continue;
    }
    if (reply.status >= 502 && reply.status <= 504) {
      last = `${label}: the server answered ${reply.status}`;
      continue;
    }
    const value = answer(label, reply.status, reply.text);
    const events = emits.map(([kind, op, from]) => {
      const fromAnswer = from === "$id" ? value?.id : from === "$template_id" ? value?.template_id ?? args.id : undefined;
      return [kind, op, from === "id" ? args.id : typeof fromAnswer === "string" ? fromAnswer : null];
    });
    return [value === null ? "null" : reply.text, events];
  }
  throw failure("NETWORK", last);
}
