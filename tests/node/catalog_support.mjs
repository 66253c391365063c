// Shared constants and assertions of the Node catalog tests (catalog*.test.mjs): coded-error
// and plain-JSON checks, an independent RFC 8785 + SHA-256 for config hashes, fixtures.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import * as wt from "../../pkg/node.mjs"; // the Node entry: loads the wasm by itself

export { wt };
export const { TemplateCatalog } = wt;

// ---- constants ------------------------------------------------------------------------------

export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const HEX64 = /^[0-9a-f]{64}$/;
export const SNAKE = /^[a-z][a-z0-9_]*$/;
export const BUILTIN_OWNER = "00000000000000000000000000";
export const GENERAL_ASSISTANT = "00000000000000000000000001"; // plain, general
export const SUPPORT_DESK = "00000000000000000000000002"; // full, customer_support
export const SPEC_CODES = [
  "VALIDATION_FAILED", "NOT_FOUND", "FORBIDDEN", "NAME_TAKEN", "CONFLICT", "INHERITANCE_CYCLE",
  "INHERITANCE_TOO_DEEP", "BASE_NOT_FOUND", "AMBIGUOUS_BASE", "BUILTIN_READ_ONLY", "HAS_DERIVED",
  "INTEGRITY", "STORAGE_QUOTA", "STORAGE_UNAVAILABLE", "NETWORK", "UNAUTHORIZED", "INVALID_ARGUMENT",
  "HAS_LABELS",
];
export const CODES = new Set(wt.errorCodes());
export const VIOLATION_CODES = typeof wt.violationCodes === "function" ? new Set(wt.violationCodes()) : null;
export const CATEGORIES = [
  "general", "customer_support", "programming", "research", "data_analysis", "creative",
  "educational", "business", "custom",
];
export const TEMPLATE_COLUMNS = [
  "id", "created_at", "updated_at", "owner_id", "name", "description", "workflow_type", "category",
  "default_params", "required_tools", "required_retrievers", "base_template_id", "is_builtin",
  "version", "is_latest", "changelog", "is_public", "rating", "rating_count", "usage_count",
  "success_rate", "avg_response_time_ms", "last_used_at", "total_tokens_used", "total_cost",
  "avg_tokens_per_use", "tags", "extra_metadata", "config_hash", "estimated_complexity",
];
export const SPEC_COLUMNS = [
  "id", "created_at", "updated_at", "owner_id", "name", "description", "workflow_type",
  "default_params", "required_tools", "required_retrievers", "base_template_name", "usage_count",
  "last_used_at", "tags", "extra_metadata",
];
export const METHODS = [
  "create", "get", "update", "newVersion", "versions", "diff", "delete", "discover",
  "popularByCategory", "chain", "resolve", "derived", "recordUsage", "rate", "createSpec", "getSpec",
  "updateSpec", "deleteSpec", "listSpecs", "instantiateSpec", "exportAll", "importAll", "subscribe",
  "close",
];

// ---- helpers --------------------------------------------------------------------------------

export async function open(userId = wt.newId()) {
  const cat = await TemplateCatalog.open({ userId, storage: "memory" });
  assert.ok(cat instanceof TemplateCatalog);
  return cat;
}

/** Calls `call()`, which must return a Promise (never throw), and expects it to reject with a
 * coded Error; `codes` is one code or a list of acceptable ones. Returns the error. */
export async function rejects(call, codes, what = "call") {
  let p;
  try {
    p = call();
  } catch (e) {
    assert.fail(`${what} threw synchronously instead of returning a rejected Promise: ${e && e.stack || e}`);
  }
  assert.ok(p instanceof Promise, `${what} did not return a Promise`);
  let settled;
  try {
    settled = { value: await p };
  } catch (e) {
    settled = { error: e };
  }
  assert.ok("error" in settled, `${what} resolved (${JSON.stringify(settled.value)?.slice(0, 200)}) but should reject with ${codes}`);
  const e = settled.error;
  assertCodedError(e, what);
  const want = Array.isArray(codes) ? codes : [codes];
  assert.ok(want.includes(e.code), `${what}: expected ${want.join(" or ")}, got ${e.code}: ${e.message.slice(0, 300)}`);
  return e;
}

export function assertCodedError(e, what = "error") {
  assert.ok(e instanceof Error, `${what}: rejection is not an Error: ${String(e)}`);
  assert.equal(typeof e.code, "string", `${what}: no code`);
  assert.ok(CODES.has(e.code), `${what}: code ${e.code} is not one of errorCodes()`);
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0, `${what}: empty message`);
  assert.equal(typeof e.stack, "string");
  assert.ok(e.stack.length > 0, `${what}: empty stack`);
  assert.ok("details" in e, `${what}: no details property`);
  if (e.code === "VALIDATION_FAILED") {
    assert.ok(e.details && Array.isArray(e.details.violations), `${what}: VALIDATION_FAILED without details.violations`);
    assert.ok(e.details.violations.length > 0, `${what}: VALIDATION_FAILED with no violation`);
    for (const v of e.details.violations) {
      assert.deepEqual(Object.keys(v).sort(), ["code", "field", "message"]);
      assert.equal(typeof v.field, "string");
      assert.equal(typeof v.code, "string");
      assert.equal(typeof v.message, "string");
      assert.ok(v.message.length > 0);
      // violationCodes() should list them all (a dedicated test checks import's codes); error
      // codes are tolerated here so that one gap does not fail every test that meets it
      if (VIOLATION_CODES) assert.ok(VIOLATION_CODES.has(v.code) || CODES.has(v.code), `${what}: violation code ${v.code} is neither a violation code nor an error code`);
    }
  }
  assertPlain(e.details, `${what}.details`);
}

/** JSON-only data all the way down: plain objects and arrays, finite numbers, no Map, no BigInt. */
export function assertPlain(v, at = "value") {
  if (v === null) return;
  switch (typeof v) {
    case "string":
    case "boolean":
      return;
    case "number":
      assert.ok(Number.isFinite(v), `${at} is ${v}`);
      return;
    case "object":
      break;
    default:
      assert.fail(`${at} is a ${typeof v}`);
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => assertPlain(x, `${at}[${i}]`));
    return;
  }
  assert.equal(Object.getPrototypeOf(v), Object.prototype, `${at} is not a plain object (${v?.constructor?.name})`);
  for (const [k, x] of Object.entries(v)) assertPlain(x, `${at}.${k}`);
}

export function assertTimestamp(s, at) {
  assert.equal(typeof s, "string", `${at} is not a string`);
  assert.match(s, TIMESTAMP, at);
  assert.equal(new Date(s).toISOString(), s, `${at} is not a real instant`);
}

export function assertTemplate(t, at = "template") {
  assertPlain(t, at);
  assert.deepEqual(Object.keys(t).sort(), [...TEMPLATE_COLUMNS].sort(), `${at}: columns`);
  for (const k of Object.keys(t)) assert.match(k, SNAKE);
  assert.match(t.id, ULID, `${at}.id`);
  assert.match(t.owner_id, t.is_builtin ? /^0{26}$/ : ULID, `${at}.owner_id`);
  if (t.base_template_id !== null) assert.match(t.base_template_id, ULID);
  assertTimestamp(t.created_at, `${at}.created_at`);
  assertTimestamp(t.updated_at, `${at}.updated_at`);
  assert.ok(t.updated_at >= t.created_at, `${at}: updated_at before created_at`);
  if (t.last_used_at !== null) assertTimestamp(t.last_used_at, `${at}.last_used_at`);
  for (const k of ["version", "usage_count", "rating_count", "total_tokens_used"]) {
    assert.equal(typeof t[k], "number", `${at}.${k}`);
    assert.ok(Number.isSafeInteger(t[k]) && t[k] >= 0, `${at}.${k} = ${t[k]}`);
  }
  assert.equal(typeof t.total_cost, "number");
  assert.equal(typeof t.is_latest, "boolean");
  assert.equal(typeof t.is_public, "boolean");
  assert.equal(typeof t.is_builtin, "boolean");
  assert.equal(t.rating === null, t.rating_count === 0, `${at}: rating null exactly when rating_count is 0`);
  assert.match(t.config_hash, HEX64);
  assert.equal(t.config_hash, expectedConfigHash(t), `${at}: config_hash differs from an independent RFC 8785 + SHA-256`);
}

export function assertSpec(s, at = "spec") {
  assertPlain(s, at);
  assert.deepEqual(Object.keys(s).sort(), [...SPEC_COLUMNS].sort(), `${at}: columns`);
  assert.match(s.id, ULID);
  assert.match(s.owner_id, ULID);
  assertTimestamp(s.created_at, `${at}.created_at`);
  assertTimestamp(s.updated_at, `${at}.updated_at`);
  if (s.last_used_at !== null) assertTimestamp(s.last_used_at, `${at}.last_used_at`);
  assert.ok(Number.isSafeInteger(s.usage_count));
}

/** Code-point order (what the SPEC sorts by), not UTF-16 code-unit order. */
export function byCodePoint(a, b) {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

export function sha256Hex(text) {
  return createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");
}

/** SPEC section 4, computed without the library: npm `canonicalize` (RFC 8785) + node:crypto. */
export function hashOfConfig({ workflow_type, default_params, required_tools, required_retrievers, base_template_id }) {
  return sha256Hex(canonicalize({
    workflow_type,
    default_params: default_params ?? {},
    required_tools: [...(required_tools ?? [])].sort(byCodePoint),
    required_retrievers: [...(required_retrievers ?? [])].sort(byCodePoint),
    base_template_id: base_template_id ?? null,
  }));
}

export function expectedConfigHash(t) {
  return hashOfConfig(t);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const draft = (name, extra = {}) => ({ name, workflow_type: "plain", ...extra });

/** The bundle minus the moment it was taken. */
export function stable(bundle) {
  const { exported_at, ...rest } = bundle;
  assertTimestamp(exported_at, "exported_at");
  return rest;
}
