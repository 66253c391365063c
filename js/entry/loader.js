// The loading state shared by the browser entries (`workflow-templates` and
// `workflow-templates/slim`): one wasm instance per page or worker, loaded once. Copied into the
// package by scripts/package.mjs, which rewrites the two import paths below.
import * as bindings from "./bindings.js";
import { WorkflowTemplateError } from "./snippets/convert.js";

let ready = false;
let loading = null; // the load in progress
let failure = null; // why the last load failed, until one succeeds
let hint = "call `await init()` (the default export) once before using the package";

/** How a failed load is reported: the entry that loads on import says more than slim does. */
export function setHint(text) {
  hint = text;
}

function describe(e) {
  try {
    return String((e && e.message) || e);
  } catch {
    return "unprintable error";
  }
}

function notReady(what) {
  const why = failure ? ` Loading it failed: ${describe(failure)}.` : "";
  return new WorkflowTemplateError(
    "NOT_INITIALIZED",
    `workflow-templates: ${what} was called before the WebAssembly module was loaded.${why} To fix: ${hint}.`,
    failure ? { cause: describe(failure) } : null,
  );
}

/**
 * Loads the wasm once; later calls return the same promise (or try again after a failure).
 * `source`: a URL (or its string), a Response, the bytes, a compiled WebAssembly.Module, a
 * promise of one of them, or wasm-bindgen's `{ module_or_path }`; omitted, the
 * `workflow_templates_bg.wasm` next to this file. A `source` given while the entry's own
 * automatic load is under way is tried when that load fails.
 */
export function init(source) {
  if (ready) return Promise.resolve();
  if (loading) return source === undefined || !loadingAuto ? loading : loading.catch(() => start(source, false));
  return start(source, false);
}

/** The default entry's load on import (the one the documented `await init()` waits for). */
export function initAuto(source) {
  if (!ready && !loading) start(source, true).catch(() => {}); // reported by every call until a load succeeds
}

let loadingAuto = false;

function start(source, auto) {
  if (ready) return Promise.resolve();
  const arg = source === undefined || (source !== null && typeof source === "object" && "module_or_path" in source)
    ? source
    : { module_or_path: source };
  loadingAuto = auto;
  const attempt = Promise.resolve()
    .then(() => bindings.default(arg))
    .then(
      () => {
        ready = true;
        failure = null;
      },
      (e) => {
        if (loading === attempt) loading = null;
        failure = e;
        throw new WorkflowTemplateError(
          "NOT_INITIALIZED",
          `workflow-templates: the WebAssembly module could not be loaded: ${describe(e)}. To fix: ${hint}.`,
          { cause: describe(e) },
        );
      },
    );
  loading = attempt;
  return attempt;
}

/** Synchronous load from the bytes or a compiled WebAssembly.Module (workers, tests). */
export function initSync(source) {
  if (ready) return;
  bindings.initSync({ module: source && typeof source === "object" && "module" in source ? source.module : source });
  ready = true;
  failure = null;
}

/** Throws NOT_INITIALIZED when the wasm is not loaded yet (`what` names the call). */
export function check(what) {
  if (!ready) throw notReady(what);
}

/**
 * For async calls: null when ready; else a promise that waits for a load under way and then
 * settles like `run()`, or rejects with NOT_INITIALIZED when none is.
 */
export function whenReady(what, run) {
  if (ready) return null;
  if (!loading) return Promise.reject(notReady(what));
  return loading.then(run, () => Promise.reject(notReady(what)));
}

/**
 * The class with its async static methods guarded (instances only come from them): called
 * while the wasm is loading they wait for it, so `await TemplateCatalog.open(...)` needs no
 * `init` line.
 */
export function guardClass(cls, name) {
  for (const key of Object.getOwnPropertyNames(cls)) {
    const fn = cls[key];
    if (typeof fn !== "function" || key.startsWith("__") || key === "prototype") continue;
    Object.defineProperty(cls, key, {
      configurable: true,
      writable: true,
      value: function (...args) {
        const run = () => fn.apply(this, args);
        return whenReady(`${name}.${key}()`, run) || run();
      },
    });
  }
  return cls;
}

export { WorkflowTemplateError };
