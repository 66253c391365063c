// Small browser helpers for the storage adapters: things web-sys makes awkward (Web Locks,
// calling an app's adapter object safely).

// Resolves with a function that releases an exclusive lock `name` held across every tab of the
// origin (Web Locks API). Without the API (old engines) it resolves at once with a no-op:
// writes in one tab are still serialised by the single JS thread.
export function acquireLock(name) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks || typeof locks.request !== "function") return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    locks
      .request(name, { mode: "exclusive" }, () => new Promise((release) => resolve(release)))
      .catch(reject);
  });
}

// Calls `adapter[method](...args)` and always returns a Promise: a missing method, a throw or a
// non-promise result all become a settled promise, so nothing the app does can trap the caller.
export function callAdapter(adapter, method, args) {
  try {
    const f = adapter[method];
    if (typeof f !== "function") {
      return Promise.reject(Object.assign(new Error(`the storage adapter has no ${method}() method`), { code: "STORAGE_UNAVAILABLE" }));
    }
    return Promise.resolve(f.apply(adapter, args));
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
