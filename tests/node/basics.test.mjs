// Node tests of the built package (pkg/, web target): run `bash scripts/build.sh` first, then
// `node --test tests/node/`. scripts/test.sh does both.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import canonicalize from "canonicalize";
import init, {
  builtinTemplates,
  canonicalJson,
  newId,
  validateSpec,
  validateTemplate,
} from "../../pkg/node.mjs";
import * as pkg from "../../pkg/node.mjs";

const CATEGORIES = [
  "general", "customer_support", "programming", "research", "data_analysis",
  "creative", "educational", "business", "custom",
];
const WORKFLOW_TYPES = ["plain", "tools", "rag", "full"];
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const CODE = /^[A-Z][A-Z0-9_]*$/;
const VALID_DRAFT = Object.freeze({ name: "My template", workflow_type: "plain" });

before(async () => {
  const bytes = await readFile(new URL("../../pkg/workflow_templates_bg.wasm", import.meta.url));
  await init({ module_or_path: bytes });
  builtinCount = builtinTemplates().length;
});

let builtinCount;
function builtinsNow() {
  return builtinTemplates();
}

/** The instance still answers correctly: nothing earlier trapped it or corrupted its state. */
function assertInstanceHealthy(context) {
  const all = builtinsNow();
  assert.equal(all.length, builtinCount, `builtinTemplates() changed after ${context}`);
  assert.match(newId(), ULID, `newId() broken after ${context}`);
  const r = validateTemplate(VALID_DRAFT);
  assert.equal(r.ok, true, `a valid draft no longer validates after ${context}: ${JSON.stringify(r)}`);
}

function assertViolationShape(v, context) {
  assert.equal(typeof v, "object", context);
  assert.equal(typeof v.field, "string", `${context}: field is not a string: ${JSON.stringify(v)}`);
  assert.match(v.code, CODE, `${context}: code is not an UPPER_SNAKE code: ${JSON.stringify(v)}`);
  assert.equal(typeof v.message, "string", context);
  assert.ok(v.message.length > 0, `${context}: empty message`);
}

function assertRefused(result, context) {
  assert.equal(typeof result, "object", `${context}: result is not an object`);
  assert.equal(result.ok, false, `${context}: expected ok:false, got ${JSON.stringify(result).slice(0, 300)}`);
  assert.ok(Array.isArray(result.violations) && result.violations.length > 0, `${context}: no violations`);
  for (const v of result.violations) assertViolationShape(v, context);
}

async function sha256Hex(text) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("builtinTemplates", () => {
  it("lists at least 9 templates, one per category and every workflow type", () => {
    const all = builtinsNow();
    assert.ok(Array.isArray(all));
    assert.ok(all.length >= 9, `only ${all.length} built-ins`);
    const categories = new Set(all.map((t) => t.category));
    for (const c of CATEGORIES) assert.ok(categories.has(c), `no built-in in category ${c}`);
    const types = new Set(all.map((t) => t.workflow_type));
    for (const w of WORKFLOW_TYPES) assert.ok(types.has(w), `no built-in of workflow type ${w}`);
    assert.equal(new Set(all.map((t) => t.id)).size, all.length, "duplicate ids");
    assert.equal(new Set(all.map((t) => t.name.toLowerCase())).size, all.length, "duplicate names");
  });

  it("returns records with the schema's snake_case columns as plain JS values", () => {
    for (const t of builtinsNow()) {
      const at = `built-in ${t.id} (${t.name})`;
      assert.match(t.id, /^[0-9A-HJKMNP-TV-Z]{26}$/, at);
      assert.equal(t.owner_id, "00000000000000000000000000", at);
      assert.equal(t.is_builtin, true, at);
      assert.equal(t.is_public, true, at);
      assert.equal(t.is_latest, true, at);
      assert.ok(CATEGORIES.includes(t.category), at);
      assert.ok(WORKFLOW_TYPES.includes(t.workflow_type), at);
      assert.equal(typeof t.name, "string", at);
      assert.equal(typeof t.description, "string", at);
      assert.equal(Object.getPrototypeOf(t.default_params), Object.prototype, `${at}: default_params is not a plain object`);
      for (const col of ["usage_count", "rating_count", "total_tokens_used", "version"]) {
        assert.equal(typeof t[col], "number", `${at}: ${col} is ${typeof t[col]}`);
        assert.ok(Number.isSafeInteger(t[col]) && t[col] >= 0, `${at}: ${col} = ${t[col]}`);
      }
      for (const col of ["required_tools", "required_retrievers", "tags"]) {
        assert.ok(t[col] === null || Array.isArray(t[col]), `${at}: ${col}`);
      }
      assert.match(t.config_hash, /^[0-9a-f]{64}$/, at);
      assert.match(t.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, at);
    }
  });

  it("hands out a fresh copy each call", () => {
    const first = builtinsNow();
    first[0].name = "mutated";
    first[0].default_params.injected = true;
    first.pop();
    const again = builtinsNow();
    assert.equal(again.length, builtinCount);
    assert.notEqual(again[0].name, "mutated");
    assert.equal(again[0].default_params.injected, undefined);
  });

  it("config_hash of each built-in equals configHash(record)", { skip: typeof pkg.configHash !== "function" && "configHash is not exported" }, () => {
    for (const t of builtinsNow()) assert.equal(pkg.configHash(t), t.config_hash, t.name);
  });
});

describe("newId", () => {
  it("returns 26-character uppercase Crockford base32 ULIDs with the current time", () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    assert.match(id, ULID);
    const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = 0;
    for (const c of id.slice(0, 10)) ms = ms * 32 + alphabet.indexOf(c);
    assert.ok(ms >= before - 1 && ms <= after + 1, `timestamp ${ms} not within [${before}, ${after}]`);
  });

  it("is strictly increasing over 1000 ids (monotonic within a millisecond)", () => {
    const ids = Array.from({ length: 1000 }, () => newId());
    for (const id of ids) assert.match(id, ULID);
    for (let i = 1; i < ids.length; i++) {
      assert.ok(ids[i] > ids[i - 1], `id ${i} ${ids[i]} does not sort after ${ids[i - 1]}`);
    }
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe("validateTemplate / validateSpec", () => {
  it("accepts a minimal valid draft", () => {
    assert.deepEqual(validateTemplate(VALID_DRAFT), { ok: true, violations: [] });
    assert.deepEqual(validateSpec({ name: "My spec", workflow_type: "plain" }), { ok: true, violations: [] });
  });

  it("lists every violation of a bad draft, with field and code", () => {
    const r = validateTemplate({ name: "", workflow_type: "nope", required_tools: "x" });
    assertRefused(r, "bad draft");
    const fields = new Set(r.violations.map((v) => v.field));
    for (const f of ["name", "workflow_type", "required_tools"]) {
      assert.ok(fields.has(f), `no violation for ${f}: ${JSON.stringify(r.violations)}`);
    }
  });

  it("refuses values that are not objects", () => {
    for (const value of [null, undefined, "a string", 42, true, []]) {
      assertRefused(validateTemplate(value), `validateTemplate(${String(value)})`);
      assertRefused(validateSpec(value), `validateSpec(${String(value)})`);
    }
  });

  // Hostile inputs: each must give {ok:false} with coded violations, never throw, never trap the
  // wasm instance, and leave it working.
  const thrower = () => {
    throw new Error("trap fired");
  };
  const hostile = [
    ["a cyclic object", () => {
      const o = { name: "x", workflow_type: "plain" };
      o.self = o;
      return { top: o, nested: (() => { const p = { a: {} }; p.a.back = p; return p; })() };
    }],
    ["a BigInt", () => ({ top: 10n, nested: 10n })],
    ["a Map", () => ({ top: new Map([["name", "x"]]), nested: new Map([["k", 1]]) })],
    ["NaN", () => ({ top: NaN, nested: NaN })],
    ["Infinity", () => ({ top: Infinity, nested: -Infinity })],
    ["a throwing getter", () => ({
      top: { get name() { throw new Error("getter says no"); }, workflow_type: "plain" },
      nested: { get k() { throw new Error("getter says no"); } },
    })],
    ["a Proxy whose traps throw", () => {
      const traps = { get: thrower, has: thrower, ownKeys: thrower, getPrototypeOf: thrower, getOwnPropertyDescriptor: thrower };
      return { top: new Proxy({}, traps), nested: new Proxy([], traps) };
    }],
    ["a revoked Proxy", () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return { top: proxy, nested: proxy };
    }],
    ["a lone surrogate", () => ({ top: { name: "a\uD800b", workflow_type: "plain" }, nested: { ["k\uDC00"]: "v\uD83D" } })],
    ["a 10 MB name", () => ({ top: { name: "n".repeat(10 * 1024 * 1024), workflow_type: "plain" }, nested: null })],
    ["100000-deep nested arrays", () => {
      let deep = [];
      for (let i = 0; i < 100000; i++) deep = [deep];
      return { top: deep, nested: deep };
    }],
  ];

  for (const [label, make] of hostile) {
    it(`refuses ${label} without throwing or trapping`, () => {
      const { top, nested } = make();
      for (const [fname, fn] of [["validateTemplate", validateTemplate], ["validateSpec", validateSpec]]) {
        let r;
        assert.doesNotThrow(() => { r = fn(top); }, `${fname}(${label}) threw`);
        assertRefused(r, `${fname}(${label})`);
        if (nested !== null) {
          const record = { name: "Hostile", workflow_type: "plain", default_params: { x: nested } };
          assert.doesNotThrow(() => { r = fn(record); }, `${fname}({default_params: ${label}}) threw`);
          assertRefused(r, `${fname}({default_params: ${label}})`);
        }
        // Hostile options are ignored, not fatal.
        assert.doesNotThrow(() => fn(VALID_DRAFT, top), `${fname}(draft, ${label} as options) threw`);
      }
      assertInstanceHealthy(label);
    });
  }

  it("refuses a __proto__ key nested in default_params with FORBIDDEN_KEY", () => {
    const record = { name: "x", workflow_type: "plain", default_params: { nested: JSON.parse('{"__proto__":1}') } };
    for (const fn of [validateTemplate, validateSpec]) {
      const r = fn(record);
      assertRefused(r, "__proto__");
      const v = r.violations.find((x) => x.code === "FORBIDDEN_KEY");
      assert.ok(v, `no FORBIDDEN_KEY violation: ${JSON.stringify(r.violations)}`);
      assert.ok(v.field.startsWith("default_params"), `FORBIDDEN_KEY on field ${v.field}`);
    }
    assertInstanceHealthy("__proto__");
  });

  it("names the field of a lone surrogate and of a 10 MB name", () => {
    let r = validateTemplate({ name: "a\uD800", workflow_type: "plain" });
    assertRefused(r, "lone surrogate name");
    assert.ok(r.violations.some((v) => v.field === "name"), JSON.stringify(r.violations));
    r = validateTemplate({ name: "n".repeat(10 * 1024 * 1024), workflow_type: "plain" });
    assertRefused(r, "10 MB name");
    assert.ok(r.violations.some((v) => v.field === "name"), JSON.stringify(r.violations).slice(0, 300));
    assertInstanceHealthy("named-field checks");
  });

  it("refuses U+0000 in every string and key of a record, and canonicalJson still holds it", () => {
    // PostgreSQL text/jsonb cannot hold U+0000; the rule is the same everywhere (README).
    const r = validateTemplate({ name: "n", workflow_type: "plain", description: "a\0b", default_params: { "k\0": ["x", "y\0"] }, tags: ["t\0"] });
    assertRefused(r, "NUL");
    const got = r.violations.filter((v) => v.code === "CONTROL_CHAR").map((v) => v.field).sort();
    assert.deepEqual(got, ["default_params[\"k\\u0000\"]", "default_params[\"k\\u0000\"][1]", "description", "tags[0]"], JSON.stringify(r.violations));
    assert.equal(canonicalJson({ "\0": "\0" }), '{"\\u0000":"\\u0000"}');
    assertInstanceHealthy("NUL checks");
  });
});

describe("TypeScript unions match the runtime lists", () => {
  // src/wasm/types.d.ts is written by hand; these lists come from Rust. Keep them in step.
  const dts = new URL("../../pkg/workflow_templates.d.ts", import.meta.url);
  async function union(name) {
    const text = await readFile(dts, "utf8");
    const m = text.match(new RegExp(`export type ${name} =([^;]*);`));
    assert.ok(m, `pkg/workflow_templates.d.ts declares no type ${name}`);
    return [...m[1].replace(/\/\/[^\n]*/g, "").matchAll(/"([^"]*)"/g)].map((x) => x[1]).sort();
  }
  it("ErrorCode = errorCodes()", { skip: typeof pkg.errorCodes !== "function" && "errorCodes is not exported" }, async () => {
    assert.deepEqual(await union("ErrorCode"), [...pkg.errorCodes()].sort());
  });
  it("ViolationCode = violationCodes()", { skip: typeof pkg.violationCodes !== "function" && "violationCodes is not exported" }, async () => {
    assert.deepEqual(await union("ViolationCode"), [...pkg.violationCodes()].sort());
  });
  it("WorkflowType and TemplateCategory = the schema's enums", async () => {
    assert.deepEqual(await union("WorkflowType"), [...WORKFLOW_TYPES].sort());
    assert.deepEqual(await union("TemplateCategory"), [...CATEGORIES].sort());
  });
});

describe("canonicalJson", () => {
  it("throws a coded Error (never traps) for values that are not JSON", () => {
    const cyclic = {};
    cyclic.self = cyclic;
    for (const [label, value] of [["BigInt", 1n], ["NaN", NaN], ["a cycle", cyclic], ["a Map", new Map()], ["undefined", undefined]]) {
      assert.throws(() => canonicalJson(value), (e) => {
        assert.ok(e instanceof Error, `${label}: not an Error`);
        assert.equal(e.code, "INVALID_ARGUMENT", `${label}: code ${e.code}`);
        assert.equal(typeof e.message, "string");
        return true;
      }, label);
    }
    assertInstanceHealthy("canonicalJson errors");
  });

  const canonicalVectors = new URL("../vectors/canonical.json", import.meta.url);
  it("matches tests/vectors/canonical.json, npm canonicalize and WebCrypto SHA-256", { skip: !existsSync(canonicalVectors) && "tests/vectors/canonical.json not present" }, async () => {
    const vectors = JSON.parse(await readFile(canonicalVectors, "utf8"));
    assert.ok(vectors.length > 0);
    const problems = [];
    for (const v of vectors) {
      const value = JSON.parse(v.input);
      const oracle = canonicalize(value);
      if (oracle !== v.canonical) problems.push({ name: v.name, what: "npm canonicalize disagrees with the vector", oracle, vector: v.canonical });
      let ours;
      try {
        ours = canonicalJson(value);
      } catch (e) {
        problems.push({ name: v.name, what: "canonicalJson threw", error: `${e.code}: ${e.message}` });
        continue;
      }
      if (ours !== v.canonical) problems.push({ name: v.name, what: "canonicalJson", ours, vector: v.canonical });
      const digest = await sha256Hex(ours);
      if (digest !== v.sha256) problems.push({ name: v.name, what: "sha256", ours: digest, vector: v.sha256 });
    }
    assert.deepEqual(problems, [], `${problems.length} of ${vectors.length} vectors disagree`);
  });

  const configVectors = new URL("../vectors/config.json", import.meta.url);
  it("reproduces tests/vectors/config.json (canonical config text and its SHA-256)", { skip: !existsSync(configVectors) && "tests/vectors/config.json not present" }, async () => {
    const vectors = JSON.parse(await readFile(configVectors, "utf8"));
    const problems = [];
    let hashed = 0;
    for (const v of vectors) {
      // SPEC section 4: null lists become [], lists sorted by code point.
      const byCodePoint = (a, b) => {
        const x = Array.from(a, (c) => c.codePointAt(0));
        const y = Array.from(b, (c) => c.codePointAt(0));
        for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
        return x.length - y.length;
      };
      const config = {
        workflow_type: v.config.workflow_type,
        default_params: v.config.default_params,
        required_tools: [...(v.config.required_tools ?? [])].sort(byCodePoint),
        required_retrievers: [...(v.config.required_retrievers ?? [])].sort(byCodePoint),
        base_template_id: v.config.base_template_id ?? null,
      };
      const ours = canonicalJson(config);
      if (ours !== v.canonical) problems.push({ name: v.name, what: "canonical", ours, vector: v.canonical });
      if (canonicalize(config) !== v.canonical) problems.push({ name: v.name, what: "npm canonicalize disagrees" });
      const digest = await sha256Hex(ours);
      if (digest !== v.config_hash) problems.push({ name: v.name, what: "sha256", ours: digest, vector: v.config_hash });
      if (typeof pkg.configHash === "function") {
        // configHash validates the configuration first: a vector whose lists or params break a
        // rule (the vectors probe sorting with names the tool pattern refuses) must then be
        // refused by validateTemplate too, consistently.
        try {
          const h = pkg.configHash(v.config);
          hashed++;
          if (h !== v.config_hash) problems.push({ name: v.name, what: "configHash()", ours: h, vector: v.config_hash });
        } catch (e) {
          const verdict = validateTemplate({ name: "vector", ...v.config });
          if (e.code !== "VALIDATION_FAILED" || verdict.violations.every((x) => x.code === "WORKFLOW_TYPE_MISMATCH")) {
            problems.push({ name: v.name, what: "configHash() threw but the configuration validates", error: `${e.code}: ${e.message}` });
          }
        }
      }
    }
    assert.deepEqual(problems, [], `${problems.length} of ${vectors.length} vectors disagree`);
    if (typeof pkg.configHash === "function") assert.ok(hashed >= vectors.length / 2, `configHash() hashed only ${hashed} of ${vectors.length} vectors`);
  });
});

after(() => {
  // One last check that the whole run left the instance usable.
  assert.ok(builtinsNow().length >= 9);
});
