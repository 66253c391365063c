// Crossing the JS -> Rust boundary safely. Values from apps can be anything: cycles, BigInt,
// Map, NaN, throwing getters, Proxies, lone surrogates. We walk them once in JS (fast, and no
// exception can escape into wasm), build a clean plain copy, and hand Rust JSON text. Every
// problem is reported as a violation with a field path, like validation reports its own.

const MAX_DEPTH = 64; // conversion bound; validation has tighter limits of its own
const MAX_PROBLEMS = 100; // past this, one summary line: hostile input must not cost unbounded memory
const MAX_ITEMS = 262144; // no array this long fits the 256 KiB params limit; refuse without walking
const MAX_MESSAGE = 200; // characters quoted from a thrown exception
let problems = [];
let dropped = 0;

function pathOf(base, key) {
  if (typeof key === "number") return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

// The keys from the root to the value being cleaned. Paths are built from it only when a
// problem is reported: building one per property would cost more than the rest of the walk.
let keys = [];

function here() {
  let field = "";
  for (const k of keys) field = pathOf(field, k);
  return field;
}

function problem(code, message) {
  if (problems.length < MAX_PROBLEMS) problems.push({ field: here(), code, message });
  else dropped++;
}

function quote(e) {
  let text;
  try {
    text = String((e && e.message) || e);
  } catch {
    text = "unprintable exception";
  }
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}...` : text;
}

function wellFormed(s) {
  if (typeof s.isWellFormed === "function") return s.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

function describe(v) {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  const ctor = Object.getPrototypeOf(v)?.constructor;
  return ctor && typeof ctor.name === "string" && ctor.name ? ctor.name : "object";
}

function clean(v, depth, stack) {
  switch (typeof v) {
    case "string":
      if (!wellFormed(v)) {
        problem("LONE_SURROGATE", "string contains a lone UTF-16 surrogate");
        return null;
      }
      return v;
    case "number":
      if (!Number.isFinite(v)) {
        problem("NOT_FINITE", `${v} is not a finite number`);
        return null;
      }
      return v;
    case "boolean":
      return v;
    case "bigint":
      problem("TYPE", "BigInt is not a JSON value; pass a number");
      return null;
    case "undefined":
      problem("TYPE", "undefined is not a JSON value");
      return null;
    case "function":
    case "symbol":
      problem("TYPE", `${typeof v} is not a JSON value`);
      return null;
  }
  if (v === null) return null;
  if (depth >= MAX_DEPTH) {
    problem("TOO_DEEP", `nested deeper than ${MAX_DEPTH} levels`);
    return null;
  }
  if (stack.includes(v)) {
    problem("CYCLE", "value refers back to itself (a cycle)");
    return null;
  }
  stack.push(v);
  try {
    if (Array.isArray(v)) {
      if (v.length > MAX_ITEMS) {
        problem("TOO_LARGE", `array of ${v.length} items (at most ${MAX_ITEMS})`);
        return null;
      }
      const out = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        keys.push(i);
        out[i] = clean(v[i], depth + 1, stack);
        keys.pop();
      }
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      problem("TYPE", `${describe(v)} is not a plain object; pass a plain object or array`);
      return null;
    }
    const out = {};
    for (const key of Object.keys(v)) {
      keys.push(key);
      try {
        if (!wellFormed(key)) {
          problem("LONE_SURROGATE", "key contains a lone UTF-16 surrogate");
          continue;
        }
        if (key === "__proto__") {
          problem("FORBIDDEN_KEY", "the key __proto__ is not allowed");
          continue;
        }
        let item;
        try {
          item = v[key];
        } catch (e) {
          problem("UNREADABLE", `reading this property threw: ${quote(e)}`);
          continue;
        }
        if (item === undefined) continue; // JSON drops undefined properties; so do we
        out[key] = clean(item, depth + 1, stack); // safe: __proto__ was refused above
      } finally {
        keys.pop();
      }
    }
    return out;
  } finally {
    stack.pop();
  }
}

/** JSON text of a clean copy of `value`, or undefined when it had problems (see takeProblems). */
export function toJson(value) {
  problems = [];
  dropped = 0;
  keys = [];
  try {
    const copy = clean(value, 0, []);
    if (problems.length > 0) return undefined;
    return JSON.stringify(copy);
  } catch (e) {
    // A Proxy trap, an exotic object, or a value too large to serialise.
    problems.push({ field: "", code: "UNREADABLE", message: `value could not be read: ${quote(e)}` });
    return undefined;
  }
}

/** The problems found by the last toJson call, as JSON text. */
export function takeProblems() {
  if (dropped > 0) problems.push({ field: "", code: "TOO_LARGE", message: `and ${dropped} more problems` });
  const text = JSON.stringify(problems);
  problems = [];
  dropped = 0;
  return text;
}

export function fromJson(text) {
  return JSON.parse(text);
}

/**
 * The class of every error the package throws or rejects with: a real Error (instanceof Error,
 * with a stack) carrying a stable `code` (SPEC section 13) and `details`. The package entries
 * export this very class, so `e instanceof WorkflowTemplateError` works.
 */
export class WorkflowTemplateError extends Error {
  constructor(code, message, details = null) {
    super(message);
    this.name = "WorkflowTemplateError";
    this.code = code;
    this.details = details;
  }
}

export function makeError(code, message, detailsJson) {
  return new WorkflowTemplateError(code, message, detailsJson ? JSON.parse(detailsJson) : null);
}
