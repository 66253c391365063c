// What the JS boundary finds (README "Values from JS": cycles, BigInt, undefined, functions,
// Map, Date, NaN/Infinity, lone surrogates in strings and keys, throwing getters and Proxies,
// __proto__ keys, nesting too deep, huge arrays) is an ordinary violation with its field path,
// reported together with every other rule's violations, on every entry point: validateTemplate,
// validateSpec, validateMany (array and JSON text, per item), configHash, canonicalJson and the
// catalog methods that take records (as VALIDATION_FAILED with details.violations).
//
// The oracle for "every other rule still reports, and the offending value adds nothing bogus":
// the same payload with a valid value in the offending slot gives some rule violations R; with
// the offending value it must give exactly R plus the boundary violation at its path.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as wt from "../../pkg/node.mjs"; // the Node entry: loads the wasm by itself

const MAX_DEPTH = 64; // js/convert.js: containers at depth 64 (the root is 0) are refused
const MAX_ITEMS = 262144; // js/convert.js: longer arrays are refused without a walk
const VALID = true; // a value every slot used below accepts

function nested(levels) {
  let v = [];
  for (let i = 1; i < levels; i++) v = [v];
  return v;
}

// Each problem: make(depth) -> { value, suffix, code }, where `depth` is the container depth of
// the slot the value is put in (a draft is 0, so `extra_metadata.k` of a draft is 2) and
// `suffix` is the path of the offending spot below that slot, in the documented path syntax
// (src/validate/mod.rs). `text: true` marks problems JSON text can carry too.
const PROBLEMS = [
  ["a cycle", () => {
    const o = { a: 1 };
    o.self = o;
    return { value: o, suffix: ".self", code: "CYCLE" };
  }],
  ["a cyclic array", () => {
    const a = [1];
    a.push(a);
    return { value: a, suffix: "[1]", code: "CYCLE" };
  }],
  ["a BigInt", () => ({ value: 10n, suffix: "", code: "TYPE" })],
  ["undefined in an array", () => ({ value: [1, undefined], suffix: "[1]", code: "TYPE" })],
  ["a hole in a sparse array", () => ({ value: [1, , 3], suffix: "[1]", code: "TYPE" })], // eslint-disable-line no-sparse-arrays
  ["a function", () => ({ value: () => 1, suffix: "", code: "TYPE" })],
  ["a Symbol", () => ({ value: Symbol("s"), suffix: "", code: "TYPE" })],
  ["a Map", () => ({ value: new Map([["a", 1]]), suffix: "", code: "TYPE" })],
  ["a Set", () => ({ value: new Set([1]), suffix: "", code: "TYPE" })],
  ["a Date", () => ({ value: new Date(0), suffix: "", code: "TYPE" })],
  ["a class instance", () => ({ value: new (class Point { constructor() { this.x = 1; } })(), suffix: "", code: "TYPE" })],
  ["a class named with a lone surrogate", () => {
    const C = { ["\uD800"]: class { } }["\uD800"];
    return { value: new C(), suffix: "", code: "TYPE" };
  }],
  ["NaN", () => ({ value: NaN, suffix: "", code: "NOT_FINITE" })],
  ["-Infinity", () => ({ value: -Infinity, suffix: "", code: "NOT_FINITE" })],
  ["a lone surrogate in a string", () => ({ value: "a\uD800b", suffix: "", code: "LONE_SURROGATE", text: true })],
  ["a lone low surrogate at the end of a string", () => ({ value: "ok\uDC00", suffix: "", code: "LONE_SURROGATE", text: true })],
  ["a lone surrogate in a key", () => ({ value: { ["k\uDC00"]: 1, fine: 2 }, suffix: '["k\\udc00"]', code: "LONE_SURROGATE", text: true })],
  ["a lone surrogate in a key holding a BigInt", () => ({ value: { ["\uD800"]: 1n }, suffix: '["\\ud800"]', code: "LONE_SURROGATE" })],
  ["a throwing getter", () => {
    const o = { a: 1 };
    Object.defineProperty(o, "g", { enumerable: true, get() { throw new Error("getter says no"); } });
    return { value: o, suffix: ".g", code: "UNREADABLE" };
  }],
  ["a getter throwing a message with a lone surrogate", () => {
    const o = {};
    Object.defineProperty(o, "g", { enumerable: true, get() { throw new Error("bad \uD800 news"); } });
    return { value: o, suffix: ".g", code: "UNREADABLE" };
  }],
  ["a Proxy whose traps throw", () => {
    const trap = () => { throw new Error("trap says no"); };
    return { value: new Proxy({}, { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap }), suffix: "", code: "UNREADABLE" };
  }],
  ["a Proxy whose get trap throws", () => ({ value: new Proxy({ a: 1 }, { get() { throw new Error("get says no"); } }), suffix: ".a", code: "UNREADABLE" })],
  ["a revoked Proxy", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return { value: proxy, suffix: "", code: "UNREADABLE" };
  }],
  ["a __proto__ key", () => ({ value: JSON.parse('{"a":1,"__proto__":{"x":1}}'), suffix: ".__proto__", code: "FORBIDDEN_KEY", text: true })],
  ["nesting too deep", (depth) => ({ value: nested(MAX_DEPTH + 8), suffix: "[0]".repeat(MAX_DEPTH - depth), code: "TOO_DEEP", text: true })],
  ["a huge array", () => ({ value: new Array(MAX_ITEMS + 1).fill(0), suffix: "", code: "TOO_LARGE", text: true })],
  ["a BigInt under a key with a dot", () => ({ value: { "a.b": 1n }, suffix: '["a.b"]', code: "TYPE" })],
  ["a BigInt under an empty key", () => ({ value: { "": 1n }, suffix: '[""]', code: "TYPE" })],
  ["a BigInt under a key with a quote and a control character", () => ({ value: { 'q"\u0001': 1n }, suffix: '["q\\"\\u0001"]', code: "TYPE" })],
  ["two problems in one value", () => ({ value: { n: NaN, b: 1n }, suffix: [".n", ".b"], code: ["NOT_FINITE", "TYPE"] })],
];

/** `field code` strings, sorted: what is compared (messages are for people). */
function keys(violations) {
  return violations.map((v) => `${v.field} ${v.code}`).sort();
}

function wellFormed(s) {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

function checkShape(violations, what) {
  assert.ok(Array.isArray(violations), `${what}: no violations array`);
  for (const v of violations) {
    assert.deepEqual(Object.keys(v).sort(), ["code", "field", "message"], what);
    for (const k of ["field", "code", "message"]) {
      assert.equal(typeof v[k], "string", `${what}: ${k} of ${JSON.stringify(v)}`);
      assert.ok(wellFormed(v[k]), `${what}: ${k} is not well-formed UTF-16: ${JSON.stringify(v)}`);
    }
  }
}

/** Runs a call that must fail with `code` and returns details.violations. */
async function failure(call, code, what) {
  let error;
  try {
    const value = await call();
    assert.fail(`${what} gave ${JSON.stringify(value)?.slice(0, 200)} instead of failing with ${code}`);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `${what}: threw ${String(error)}`);
  assert.equal(error.code, code, `${what}: ${error.code}: ${error.message.slice(0, 400)}`);
  assert.ok(error.details && Array.isArray(error.details.violations), `${what}: no details.violations: ${JSON.stringify(error.details)}`);
  checkShape(error.details.violations, what);
  return error.details.violations;
}

function expected(base, slot, p) {
  const suffixes = Array.isArray(p.suffix) ? p.suffix : [p.suffix];
  const codes = Array.isArray(p.code) ? p.code : [p.code];
  return [...base, ...suffixes.map((s, i) => `${slot}${s} ${codes[i]}`)].sort();
}

// Entry points that need no catalog. `build(v)` puts v in the slot; `run(payload)` gives the
// violations; `slot`/`depth` locate the slot.
const draftWith = (v) => ({ name: "", workflow_type: "agent", extra_metadata: { k: v } });
const PURE = [
  ["validateTemplate", draftWith, (p) => wt.validateTemplate(p).violations, "extra_metadata.k", 2],
  ["validateTemplate (complete)", draftWith, (p) => wt.validateTemplate(p, { complete: true }).violations, "extra_metadata.k", 2],
  ["validateSpec", draftWith, (p) => wt.validateSpec(p).violations, "extra_metadata.k", 2],
  ["validateMany (array)", draftWith, (p) => {
    const r = wt.validateMany([{ name: "Fine", workflow_type: "plain" }, p, { name: "Fine too", workflow_type: "plain" }]);
    assert.equal(r.length, 3);
    assert.deepEqual([r[0].ok, r[2].ok], [true, true], JSON.stringify(r));
    return r[1].violations;
  }, "extra_metadata.k", 2],
  ["configHash", (v) => ({ name: "", workflow_type: "agent", default_params: { k: v } }), (p) => failure(() => wt.configHash(p), "VALIDATION_FAILED", "configHash"), "default_params.k", 2,
    // default_params may nest 32 deep: a value too deep for the walk is too deep for that rule too
    { "nesting too deep": [`default_params.k${"[0]".repeat(31)} TOO_DEEP`] }],
];

describe("boundary problems are violations with paths, alongside every other rule", () => {
  test("the issue's example: TOO_SHORT, INVALID_ENUM and LONE_SURROGATE with their paths", () => {
    const r = wt.validateTemplate({ name: "", workflow_type: "agent", extra_metadata: { ["\uD800"]: true } });
    assert.deepEqual(keys(r.violations), ['extra_metadata["\\ud800"] LONE_SURROGATE', "name TOO_SHORT", "workflow_type INVALID_ENUM"]);
    assert.equal(r.ok, false);
  });

  for (const [entry, build, run, slot, depth, also = {}] of PURE) {
    test(`${entry}: every boundary problem`, async () => {
      const base = keys(await run(build(VALID)));
      assert.ok(base.length >= 1, `${entry}: the oracle payload should break some rule`);
      for (const [what, make] of PROBLEMS) {
        const p = make(depth);
        const got = await run(build(p.value));
        checkShape(got, `${entry}(${what})`);
        assert.deepEqual(keys(got), expected([...base, ...(also[what] ?? [])], slot, p), `${entry}(${what})`);
      }
    });
  }

  test("validateMany of JSON text answers per item, like validateMany of the parsed array", () => {
    const fine = { name: "Fine", workflow_type: "plain" };
    const base = keys(wt.validateTemplate(draftWith(VALID)).violations);
    const texts = PROBLEMS.filter(([, make]) => make(2).text).map(([what, make]) => {
      const p = make(2);
      return [what, JSON.stringify([fine, draftWith(p.value), fine]), expected(base, "extra_metadata.k", p)];
    });
    // Only text can hold a number beyond the double range: JSON.parse makes it Infinity.
    texts.push(["a number beyond the double range", `[${JSON.stringify(fine)},{"name":"","workflow_type":"agent","extra_metadata":{"k":-1e400}},${JSON.stringify(fine)}]`,
      [...base, "extra_metadata.k NOT_FINITE"].sort()]);
    texts.push(["an escaped lone surrogate in the name", `[${JSON.stringify(fine)},{"name":"\\udead","workflow_type":"agent"},${JSON.stringify(fine)}]`,
      ["name LONE_SURROGATE", "workflow_type INVALID_ENUM"]]);
    for (const [what, text, want] of texts) {
      let r;
      assert.doesNotThrow(() => { r = wt.validateMany(text); }, what);
      assert.equal(r.length, 3, what);
      assert.deepEqual([r[0].ok, r[2].ok], [true, true], `${what}: ${JSON.stringify(r).slice(0, 300)}`);
      checkShape(r[1].violations, what);
      assert.deepEqual(keys(r[1].violations), want, what);
      assert.deepEqual(r, wt.validateMany(JSON.parse(text)), `${what}: text and parsed array differ`);
    }
  });

  test("validateMany refuses a batch of more than 2^20 items (array or text) instead of walking it", () => {
    const sparse = [];
    sparse.length = 2 ** 20 + 1; // one line of app code; every hole would be a TYPE violation
    for (const batch of [sparse, `[${"0,".repeat(2 ** 20)}0]`]) {
      assert.throws(() => wt.validateMany(batch), (e) => e.code === "INVALID_ARGUMENT" && /at most 1048576/.test(e.message));
    }
    assert.equal(wt.validateMany(new Array(2 ** 20 - 1).fill(null).slice(0, 3)).length, 3);
  });

  test("validateMany of JSON text keeps refusing text that is not a JSON array", () => {
    for (const bad of ["[1,", "{\"a\":\"\\ud800\"}", "\"\\ud800\"", "[\"\\ud800\"", "nul"]) {
      assert.throws(() => wt.validateMany(bad), (e) => e.code === "INVALID_ARGUMENT", bad);
    }
  });

  test("a boundary problem where a placeholder would break another rule adds nothing bogus", () => {
    const record = { ...wt.builtinTemplates()[0], is_builtin: false, owner_id: wt.newId(), name: "" };
    const hashed = (r) => ({ ...r, config_hash: wt.configHash(r) });
    const getter = Object.defineProperty({ workflow_type: "agent" }, "name", { enumerable: true, get() { throw new Error("no"); } });
    // [what, the payload with a valid value instead (its violations are expected too), the
    // offending payload, the boundary violations expected on top]
    const cases = [
      ["a lone surrogate in the name", { name: "Fine", workflow_type: "agent" }, { name: "a\uD800", workflow_type: "agent" }, ["name LONE_SURROGATE"]],
      ["a throwing getter for the name", { name: "Fine", workflow_type: "agent" }, getter, ["name UNREADABLE"]],
      ["lone surrogates in tags (placeholders would be duplicates)", { name: "", workflow_type: "plain", tags: ["a", "b", "c"] },
        { name: "", workflow_type: "plain", tags: ["\uD800", "\uDBFF", "\uFFFD"] }, ["tags[0] LONE_SURROGATE", "tags[1] LONE_SURROGATE"]],
      ["a Map as required_tools of a tools template", { name: "", workflow_type: "tools", required_tools: ["search"] },
        { name: "", workflow_type: "tools", required_tools: new Map() }, ["required_tools TYPE"]],
      ["a huge required_retrievers of a rag template", { name: "", workflow_type: "rag", required_retrievers: ["docs"] },
        { name: "", workflow_type: "rag", required_retrievers: new Array(MAX_ITEMS + 1).fill("docs") }, ["required_retrievers TOO_LARGE"]],
      ["NaN as the rating of a record with ratings", hashed({ ...record, rating: 4.5, rating_count: 2 }),
        { ...hashed({ ...record, rating: 4.5, rating_count: 2 }), rating: NaN }, ["rating NOT_FINITE"]],
      ["a BigInt in default_params of a record with its config_hash", hashed({ ...record, default_params: { k: 1 } }),
        { ...hashed({ ...record, default_params: { k: 1 } }), default_params: { k: 1n } }, ["default_params.k TYPE"]],
      ["a Map as the required_tools of a record with its config_hash", hashed({ ...record, workflow_type: "tools", required_tools: ["search"] }),
        { ...hashed({ ...record, workflow_type: "tools", required_tools: ["search"] }), required_tools: new Map() }, ["required_tools TYPE"]],
      ["a lone surrogate in a top-level key", { name: "", workflow_type: "agent" }, { name: "", workflow_type: "agent", ["\uDFFF"]: 1 }, ['["\\udfff"] LONE_SURROGATE']],
      ["the whole value is a Map", {}, new Map([["name", "x"]]), [" TYPE"]],
      ["the whole value is an array holding a BigInt", [true], [1n], ["[0] TYPE"]],
    ];
    for (const [mode, fn] of [["partial", (p) => wt.validateTemplate(p)], ["complete", (p) => wt.validateTemplate(p, { complete: true })]]) {
      for (const [what, valid, bad, extra] of cases) {
        // A root problem stands alone: the placeholder is not validated.
        const base = extra[0] === " TYPE" ? [] : keys(fn(valid).violations);
        const got = fn(bad).violations;
        checkShape(got, what);
        assert.deepEqual(keys(got), [...base, ...extra].sort(), `${mode}: ${what}`);
      }
    }
  });

  test("key paths use the documented syntax, the same as the paths validation writes", () => {
    const odd = ["a.b", "", "a b", "é", "\u0663", "\u2167", "\u00BD", 'a"b', "a\\b", "\u0001", "\u007F", "\u2028", "[0]", "$x-y_z", "日本", "\uD83D\uDE00", "__proto__x", "a]"];
    for (const key of odd) {
      // JS finds the BigInt; Rust finds the unsafe number: both must name the same path.
      const js = wt.validateTemplate({ name: "x", workflow_type: "plain", extra_metadata: { [key]: 1n } }).violations;
      const rust = wt.validateTemplate({ name: "x", workflow_type: "plain", extra_metadata: { [key]: 2 ** 60 } }).violations;
      assert.equal(js.length, 1, JSON.stringify(js));
      assert.equal(rust.length, 1, JSON.stringify(rust));
      assert.equal(js[0].field, rust[0].field, `key ${JSON.stringify(key)}`);
    }
  });

  test("canonicalJson refuses non-JSON values with INVALID_ARGUMENT and details.violations with paths", () => {
    for (const [what, make] of PROBLEMS) {
      const p = make(1);
      let error;
      try {
        wt.canonicalJson({ k: p.value });
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof Error, `${what}: did not throw`);
      assert.equal(error.code, "INVALID_ARGUMENT", what);
      assert.ok(error.details && Array.isArray(error.details.violations), `${what}: ${JSON.stringify(error.details)}`);
      checkShape(error.details.violations, what);
      assert.deepEqual(keys(error.details.violations), expected([], "k", p), what);
      assert.ok(wellFormed(error.message), what);
    }
  });
});

describe("catalog methods report boundary problems as VALIDATION_FAILED, with the other rules", () => {
  test("create, update, newVersion, createSpec, updateSpec, instantiateSpec, preview and importAll", async () => {
    const cat = await wt.TemplateCatalog.open({ userId: wt.newId(), storage: "memory" });
    const t = await cat.create({ name: "Kept", workflow_type: "plain", extra_metadata: { k: 1 } });
    const spec = await cat.createSpec({ name: "Kept spec", workflow_type: "plain" });
    const before = await cat.exportAll();
    delete before.exported_at;
    const events = [];
    cat.subscribe((ev) => events.push(ev));
    const record = before.workflow_templates.find((x) => x.id === t.id);
    const V = "VALIDATION_FAILED";
    const entries = [
      ["create", draftWith, (p) => failure(() => cat.create(p), V, "create"), "extra_metadata.k", 2],
      ["update", draftWith, (p) => failure(() => cat.update(t.id, p), V, "update"), "extra_metadata.k", 2],
      ["update with ifMatch", draftWith, (p) => failure(() => cat.update(t.id, p, { ifMatch: t.updated_at }), V, "update"), "extra_metadata.k", 2],
      ["newVersion", draftWith, (p) => failure(() => cat.newVersion(t.id, p, "log"), V, "newVersion"), "extra_metadata.k", 2],
      ["createSpec", draftWith, (p) => failure(() => cat.createSpec(p), V, "createSpec"), "extra_metadata.k", 2],
      ["updateSpec", draftWith, (p) => failure(() => cat.updateSpec(spec.id, p), V, "updateSpec"), "extra_metadata.k", 2],
      ["instantiateSpec", draftWith, (p) => failure(() => cat.instantiateSpec(spec.id, p), V, "instantiateSpec"), "extra_metadata.k", 2],
      ["preview", draftWith, (p) => failure(() => cat.preview(p), V, "preview"), "extra_metadata.k", 2],
      ["preview of an edit", draftWith, (p) => failure(() => cat.preview(p, t.id), V, "preview"), "extra_metadata.k", 2],
      ["importAll", (v) => ({ format_version: 1, workflow_templates: [{ ...record, name: "", extra_metadata: { k: v } }] }),
        (p) => failure(() => cat.importAll(p), V, "importAll"), "workflow_templates[0].extra_metadata.k", 4],
    ];
    for (const [entry, build, run, slot, depth] of entries) {
      const base = keys(await run(build(VALID)));
      assert.ok(base.length >= 1, `${entry}: the oracle payload should break some rule`);
      for (const [what, make] of PROBLEMS) {
        const p = make(depth);
        const got = await run(build(p.value));
        assert.deepEqual(keys(got), expected(base, slot, p), `${entry}(${what})`);
      }
    }
    // A rating row whose stars are not a number: no TYPE violation of the row on top.
    for (const [stars, code] of [[NaN, "NOT_FINITE"], [4n, "TYPE"]]) {
      const got = await failure(() => cat.importAll({ format_version: 1, ratings: [{ template_id: t.id, user_id: cat.userId, stars, updated_at: t.updated_at }] }), V, "importAll");
      assert.deepEqual(keys(got), [`ratings[0].stars ${code}`]);
    }
    // A draft that is valid but for the boundary problem is refused all the same, and nothing
    // was written or announced.
    for (const bad of [{ name: "Fine", workflow_type: "plain", extra_metadata: { k: 1n } }, { name: "Fine", workflow_type: "plain", extra_metadata: { ["\uD800"]: 1 } }]) {
      assert.deepEqual(keys(await failure(() => cat.create(bad), V, "create")).length, 1);
      assert.deepEqual(keys(await failure(() => cat.update(t.id, bad), V, "update")).length, 1);
      assert.deepEqual(keys(await failure(() => cat.newVersion(t.id, { extra_metadata: bad.extra_metadata }), V, "newVersion")).length, 1);
      assert.deepEqual(keys(await failure(() => cat.createSpec(bad), V, "createSpec")).length, 1);
      assert.deepEqual(keys(await failure(() => cat.updateSpec(spec.id, bad), V, "updateSpec")).length, 1);
      assert.deepEqual(keys(await failure(() => cat.instantiateSpec(spec.id, { name: "Other", extra_metadata: bad.extra_metadata }), V, "instantiateSpec")).length, 1);
      assert.deepEqual(keys(await failure(() => cat.importAll({ ...before, workflow_templates: [{ ...record, extra_metadata: bad.extra_metadata }] }), V, "importAll")).length, 1);
    }
    const after = await cat.exportAll();
    delete after.exported_at;
    assert.deepEqual(after, before);
    assert.deepEqual(events, []);
  });

  test("other arguments stay INVALID_ARGUMENT, with details.violations", async () => {
    const cat = await wt.TemplateCatalog.open({ userId: wt.newId(), storage: "memory" });
    const t = await cat.create({ name: "Kept", workflow_type: "plain" });
    let error;
    try {
      await cat.recordUsage(t.id, { success: true, responseTimeMs: 1, extra: { "a.b": 1n } });
    } catch (e) {
      error = e;
    }
    assert.equal(error?.code, "INVALID_ARGUMENT");
    assert.deepEqual(keys(error.details.violations), ['extra["a.b"] TYPE']);
    assert.match(error.message, /run\.extra\["a\.b"\]/);
  });
});
