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
