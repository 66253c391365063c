// Crossing the JS -> Rust boundary safely. Values from apps can be anything: cycles, BigInt,
// Map, NaN, throwing getters, Proxies, lone surrogates. We walk them once in JS (fast, and no
// exception can escape into wasm), build a clean plain copy, and hand Rust JSON text. Every
// problem is reported as a violation with a field path, like validation reports its own; in the
// copy an offending value becomes null (a key that cannot be one, or that may not be one, is
// left out), so Rust can validate the rest and merge both lists (src/validate/boundary.rs).

const MAX_DEPTH = 64; // conversion bound; validation has tighter limits of its own
const MAX_PROBLEMS = 100; // past this, a count only: hostile input must not cost unbounded memory
const MAX_ITEMS = 262144; // no array this long fits the 256 KiB params limit; refuse without walking
const MAX_MESSAGE = 200; // characters quoted from a thrown exception
let problems = [];
let dropped = 0;

// Field paths as src/validate/mod.rs documents them (and src/validate/json.rs `push_key` writes
// them): `a.b` for keys of letters, digits, `_`, `$`, `-`; `a["odd key"]` (a JSON string in
// brackets) for any other key; `a[3]` for array items. Rust's `char::is_alphanumeric` is the
// Alphabetic property or a Number category, which is what this pattern says.
const SIMPLE_KEY = /^[\p{Alphabetic}\p{N}_$-]+$/u;

function pushKey(path, key) {
  if (typeof key === "number") return `${path}[${key}]`;
  // JSON.stringify writes a lone surrogate as a \uXXXX escape, so the path is well-formed.
  if (!SIMPLE_KEY.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === "" ? key : `${path}.${key}`;
}

// The keys from the root to the value being cleaned. Paths are built from it only when a
// problem is reported: building one per property would cost more than the rest of the walk.
let keys = [];

function here() {
  let field = "";
  for (const k of keys) field = pushKey(field, k);
  return field;
}

function problem(code, message) {
  if (problems.length < MAX_PROBLEMS) problems.push({ field: here(), code, message: toWellFormed(message) });
  else dropped++;
}

function wellFormed(s) {
  if (typeof s.isWellFormed === "function") return s.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

// Messages quote what apps wrote (exception texts, class names): they must stay valid UTF-16.
function toWellFormed(s) {
  if (typeof s.toWellFormed === "function") return s.toWellFormed();
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
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

function describe(v) {
  try {
    const ctor = Object.getPrototypeOf(v)?.constructor;
    const name = ctor && typeof ctor.name === "string" && ctor.name ? ctor.name : "object";
    return name.length > MAX_MESSAGE ? `${name.slice(0, MAX_MESSAGE)}...` : name;
  } catch {
    return "object";
  }
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
    return container(v, depth, stack);
  } catch (e) {
    // A Proxy trap (ownKeys, getPrototypeOf, a revoked Proxy's Array.isArray...) threw.
    problem("UNREADABLE", `this value could not be read: ${quote(e)}`);
    return null;
  } finally {
    stack.pop();
  }
}

function container(v, depth, stack) {
  if (Array.isArray(v)) {
    if (v.length > MAX_ITEMS) {
      problem("TOO_LARGE", `array of ${v.length} items (at most ${MAX_ITEMS})`);
      return null;
    }
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      keys.push(i);
      try {
        const item = read(v, i);
        out[i] = item === UNREADABLE ? null : clean(item, depth + 1, stack);
      } finally {
        keys.pop();
      }
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
      const item = read(v, key);
      if (item === undefined) continue; // JSON drops undefined properties; so do we
      // safe: __proto__ was refused above
      out[key] = item === UNREADABLE ? null : clean(item, depth + 1, stack);
    } finally {
      keys.pop();
    }
  }
  return out;
}

// A property whose getter (or Proxy trap) throws is reported once, and becomes a null
// placeholder (not a dropped key: a required field must not also read as absent).
const UNREADABLE = Symbol("unreadable");

function read(v, key) {
  try {
    return v[key];
  } catch (e) {
    problem("UNREADABLE", `reading this property threw: ${quote(e)}`);
    return UNREADABLE;
  }
}

/**
 * JSON text of a clean copy of `value` (offending values replaced by null, offending keys left
 * out), or undefined when not even that could be made (see takeProblems for what was found).
 */
export function toJson(value) {
  problems = [];
  dropped = 0;
  keys = [];
  try {
    return JSON.stringify(clean(value, 0, []));
  } catch (e) {
    // A value too large to serialise (RangeError), or something no guard above foresaw.
    problems.push({ field: "", code: "UNREADABLE", message: toWellFormed(`value could not be read: ${quote(e)}`) });
    return undefined;
  }
}

/** toJson of `values[index]` (an item of an array read safely: a throwing Proxy trap is a problem). */
export function toJsonItem(values, index) {
  let item;
  try {
    item = values[index];
  } catch (e) {
    problems = [{ field: "", code: "UNREADABLE", message: toWellFormed(`this item could not be read: ${quote(e)}`) }];
    dropped = 0;
    return undefined;
  }
  return toJson(item);
}

/** The length of an array (or a Proxy of one), or -1 for anything else; never throws. */
export function arrayLength(value) {
  try {
    if (!Array.isArray(value)) return -1;
    const n = value.length;
    return Number.isInteger(n) && n >= 0 ? n : -1;
  } catch {
    return -1;
  }
}

/** The problems found by the last toJson call, as JSON text `{ problems, dropped }`. */
export function takeProblems() {
  const text = JSON.stringify({ problems, dropped });
  problems = [];
  dropped = 0;
  return text;
}

/** JSON.parse, for JSON text Rust's parser refuses (lone surrogates, numbers beyond f64). */
export function parseJson(text) {
  return JSON.parse(text);
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
