// End-to-end tests of the JavaScript surface of TemplateCatalog (SPEC sections 2-14), run on
// the built npm package in pkg/ (bash scripts/build.sh) with Node's own test runner:
//
//   node --test tests/node/
//
// Every catalog here is opened with `storage: "memory"` (Node has neither IndexedDB nor
// localStorage; the browser adapters are tested in real browsers by tests/wasm_*.rs). Each
// `open` gets its own empty store, so every test opens its own catalog.
// Rejections are checked by `rejects()` (catalog_support.mjs): the call must not throw synchronously, must return
// a Promise, and the Promise must reject with a real Error carrying a code from errorCodes().

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import canonicalize from "canonicalize";
import {
  BUILTIN_OWNER,
  CATEGORIES,
  GENERAL_ASSISTANT,
  METHODS,
  SPEC_CODES,
  SUPPORT_DESK,
  TemplateCatalog,
  ULID,
  VIOLATION_CODES,
  assertCodedError,
  assertPlain,
  assertSpec,
  assertTemplate,
  draft,
  expectedConfigHash,
  hashOfConfig,
  open,
  rejects,
  stable,
  wt,
} from "./catalog_support.mjs";

// ---- the module ------------------------------------------------------------------------------

describe("module surface", () => {
  test("TemplateCatalog has static open/destroy and every SPEC section 14 method", async () => {
    assert.equal(typeof TemplateCatalog.open, "function");
    assert.equal(typeof TemplateCatalog.destroy, "function");
    const cat = await open();
    for (const m of METHODS) assert.equal(typeof cat[m], "function", `TemplateCatalog.prototype.${m}`);
    for (const f of ["newId", "builtinTemplates", "validateTemplate", "validateSpec", "canonicalJson", "configHash", "errorCodes"]) {
      assert.equal(typeof wt[f], "function", f);
    }
  });

  test("errorCodes() is exactly the SPEC section 13 list", () => {
    assert.deepEqual([...wt.errorCodes()].sort(), [...SPEC_CODES].sort());
  });

  test("newId() gives uppercase 26-character ULIDs that increase", () => {
    let prev = "";
    for (let i = 0; i < 200; i++) {
      const id = wt.newId();
      assert.match(id, ULID);
      assert.ok(id > prev, `${id} <= ${prev}`);
      prev = id;
    }
  });

  test("configHash() and the records agree with an independent RFC 8785 + SHA-256", () => {
    const d = { workflow_type: "full", default_params: { b: 1, a: { "é": 1e-7, z: [3, "x", 123.456, -0] } }, required_tools: ["zz", "aa", "B"], required_retrievers: ["r"], base_template_id: null };
    assert.equal(wt.configHash(d), hashOfConfig(d));
    assert.equal(wt.canonicalJson(d.default_params), canonicalize(d.default_params));
    for (const b of wt.builtinTemplates()) assertTemplate(b, `builtin ${b.name}`);
  });
});

// ---- open / close / destroy -------------------------------------------------------------------

describe("open", () => {
  test("the default storage is IndexedDB: in Node (which has none) open says so; memory works; a lowercase userId is normalised", async () => {
    const user = wt.newId();
    const e = await rejects(() => TemplateCatalog.open({ userId: user }), "STORAGE_UNAVAILABLE", "default open in Node");
    assert.match(e.message, /IndexedDB/);
    const cat = await TemplateCatalog.open({ userId: user.toLowerCase(), storage: "memory" });
    assert.equal(cat.userId, user);
    assert.equal(cat.storage, "memory");
    const t = await cat.create(draft("Memory storage"));
    assert.equal(t.owner_id, user);
  });

  test("each memory open gets its own store", async () => {
    const user = wt.newId();
    const a = await open(user);
    const b = await open(user);
    const t = await a.create(draft("Only in A"));
    await rejects(() => b.get(t.id), "NOT_FOUND", "get from the other store");
  });

  test("bad options reject with INVALID_ARGUMENT (before any storage is touched); browser storages in Node with STORAGE_UNAVAILABLE", async () => {
    const user = wt.newId();
    for (const o of [undefined, null, 42, "x", {}, { userId: 42 }, { userId: "not-a-ulid" }, { userId: user, bogus: 1 }, { userId: user, storage: "floppy" },
      { userId: user, storage: "memory", dbName: "" }, { userId: user, storage: "memory", dbName: 7 }, { userId: user, storage: { getTemplate() {} } },
      { userId: user, storage: "remote" }, { userId: user, storage: "remote", baseUrl: "ftp://x" }, { userId: user, storage: "remote", baseUrl: "http://127.0.0.1:9", token: 5 },
      { userId: user, storage: "memory", baseUrl: "http://127.0.0.1:9" }]) {
      await rejects(() => TemplateCatalog.open(o), "INVALID_ARGUMENT", `open(${JSON.stringify(o)})`);
    }
    for (const storage of ["indexeddb", "local"]) {
      await rejects(() => TemplateCatalog.open({ userId: user, storage }), "STORAGE_UNAVAILABLE", `open storage ${JSON.stringify(storage)}`);
    }
    await rejects(() => TemplateCatalog.open({ get userId() { throw new Error("getter"); } }), "INVALID_ARGUMENT", "open with a throwing getter");
  });

  test("remote: a server that does not answer is NETWORK (after the retries), not a hang", async () => {
    const e = await rejects(() => TemplateCatalog.open({ userId: wt.newId(), storage: "remote", baseUrl: "http://127.0.0.1:9", token: "t" }), "NETWORK", "closed port");
    assert.match(e.message, /\/v1\/me/);
  });

  test("a storage option of a wrong type (a number) is INVALID_ARGUMENT, not an adapter object", async () => {
    for (const storage of [7, true, "MEMORY"]) {
      await rejects(() => TemplateCatalog.open({ userId: wt.newId(), storage }), "INVALID_ARGUMENT", `open storage ${JSON.stringify(storage)}`);
    }
  });

  test("destroy() in Node (no IndexedDB) rejects with STORAGE_UNAVAILABLE", async () => {
    await rejects(() => TemplateCatalog.destroy("workflow-templates-test"), "STORAGE_UNAVAILABLE", "destroy");
    await rejects(() => TemplateCatalog.destroy(), "STORAGE_UNAVAILABLE", "destroy()");
  });

  test("close: every later call rejects with STORAGE_UNAVAILABLE; other catalogs are unaffected", async () => {
    const user = wt.newId();
    const cat = await open(user);
    const other = await open(user);
    const t = await cat.create(draft("Before close"));
    const spec = await cat.createSpec(draft("Spec before close"));
    const bundle = await cat.exportAll();
    assert.equal(cat.close(), undefined);
    cat.close(); // twice is fine
    const id = t.id;
    const calls = {
      create: () => cat.create(draft("After close")),
      get: () => cat.get(id),
      update: () => cat.update(id, { description: "x" }),
      newVersion: () => cat.newVersion(id, {}, "v2"),
      versions: () => cat.versions(id),
      diff: () => cat.diff(id, id),
      delete: () => cat.delete(id),
      discover: () => cat.discover(),
      popularByCategory: () => cat.popularByCategory(3),
      chain: () => cat.chain(id),
      resolve: () => cat.resolve(id),
      derived: () => cat.derived(id),
      recordUsage: () => cat.recordUsage(id, { success: true, responseTimeMs: 1 }),
      rate: () => cat.rate(id, 3),
      createSpec: () => cat.createSpec(draft("S after close")),
      getSpec: () => cat.getSpec(spec.id),
      updateSpec: () => cat.updateSpec(spec.id, { description: "x" }),
      deleteSpec: () => cat.deleteSpec(spec.id),
      listSpecs: () => cat.listSpecs(),
      instantiateSpec: () => cat.instantiateSpec(spec.id),
      exportAll: () => cat.exportAll(),
      importAll: () => cat.importAll(bundle),
    };
    for (const [m, call] of Object.entries(calls)) await rejects(call, "STORAGE_UNAVAILABLE", `${m} after close`);
    assert.ok((await other.discover()).total > 0);
    await other.create(draft("Before close")); // its own store: the name is free there
  });
});

// ---- create / get ------------------------------------------------------------------------------

describe("create and get", () => {
  test("round trip: defaults, owner, timestamps, hash, normalisation", async () => {
    const cat = await open();
    const t = await cat.create({ name: "  Summariser  ", workflow_type: "plain", default_params: { model: { name: "m", temperature: 0.5 } }, tags: [" news ", "daily"] });
    assertTemplate(t);
    assert.equal(t.name, "Summariser");
    assert.deepEqual(t.tags, ["news", "daily"]);
    assert.equal(t.owner_id, cat.userId);
    assert.equal(t.category, "custom");
    assert.equal(t.description, "");
    assert.equal(t.version, 1);
    assert.equal(t.is_latest, true);
    assert.equal(t.is_public, false);
    assert.equal(t.is_builtin, false);
    assert.equal(t.created_at, t.updated_at);
    assert.equal(t.usage_count, 0);
    assert.equal(t.rating, null);
    assert.equal(t.config_hash, wt.configHash(t));
    const got = await cat.get(t.id);
    assert.deepEqual(got, t);
    assert.deepEqual(await cat.get(t.id.toLowerCase()), t, "lowercase ids are accepted");
    const d = await cat.create({ name: "Child", workflow_type: "full", base_template_id: SUPPORT_DESK.toLowerCase(), default_params: {} });
    assert.equal(d.base_template_id, SUPPORT_DESK);
    assertTemplate(d);
  });

  test("a draft mutated after create, or a returned record mutated, does not change what is stored", async () => {
    const cat = await open();
    const d = draft("Isolated", { default_params: { a: { b: 1 } } });
    const p = cat.create(d);
    d.default_params.a.b = 2; // after the call, before it settles
    d.name = "Changed";
    const t = await p;
    assert.equal(t.name, "Isolated");
    assert.deepEqual(t.default_params, { a: { b: 1 } });
    t.default_params.a.b = 3;
    t.name = "Mutated";
    const again = await cat.get(t.id);
    assert.deepEqual(again.default_params, { a: { b: 1 } });
    assert.equal(again.name, "Isolated");
  });
});

// ---- update / newVersion / versions / diff / delete ----------------------------------------------

describe("update", () => {
  test("two editors starting from the same copy: one wins, the other gets CONFLICT", async () => {
    const cat = await open();
    const t = await cat.create(draft("Contended"));
    const results = await Promise.allSettled([
      cat.update(t.id, { description: "one" }, { ifMatch: t.updated_at }),
      cat.update(t.id, { description: "two" }, { ifMatch: t.updated_at }),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const lost = results.find((r) => r.status === "rejected");
    assertCodedError(lost.reason);
    assert.equal(lost.reason.code, "CONFLICT");
    const won = results.find((r) => r.status === "fulfilled").value;
    assert.deepEqual(await cat.get(t.id), won);
  });
});

describe("delete", () => {
  test("delete and deleteSpec resolve to undefined (typed Promise<void>)", async () => {
    const cat = await open();
    const t = await cat.create(draft("Void"));
    const s = await cat.createSpec(draft("Void spec"));
    assert.equal(await cat.delete(t.id), undefined);
    assert.equal(await cat.deleteSpec(s.id), undefined);
  });
});

// ---- what the binding converts, for the methods whose rules are tested in Rust -----------------
// The rules themselves (versions, inheritance, statistics, specs, discovery order, import checks)
// are tested once, in tests/catalog_*.rs; tests/node/README.md names the Rust test of every rule
// this file used to test too. What stays here is what the wasm-bindgen layer can break.

describe("results, errors and options at the boundary", () => {
  test("every method resolves to plain JSON of the documented shape", async () => {
    const cat = await open();
    const root = await cat.create({ name: "Shape root", workflow_type: "tools", required_tools: ["search"], default_params: { model: { name: "m", temperature: 0.5 } } });
    const leaf = await cat.create({ name: "Shape leaf", workflow_type: "tools", base_template_id: root.id, default_params: { model: { temperature: 0 } } });
    const v2 = await cat.newVersion(leaf.id, { description: "v2" }, "second");
    assertTemplate(v2, "newVersion");
    assertTemplate(await cat.update(v2.id, { description: "edited" }), "update");
    const versions = await cat.versions(v2.id);
    versions.forEach((v, i) => assertTemplate(v, `versions[${i}]`));
    const chain = await cat.chain(v2.id);
    assertPlain(chain, "chain");
    for (const l of chain) assert.deepEqual(Object.keys(l).sort(), ["base_template_id", "id", "level", "name"]);
    assert.equal(typeof chain[1].level, "number");
    const r = await cat.resolve(v2.id);
    assertPlain(r, "resolve");
    assert.deepEqual(Object.keys(r).sort(), ["chain", "effective", "id", "provenance", "resolved_hash"]);
    assert.deepEqual(Object.keys(r.effective).sort(), ["default_params", "required_retrievers", "required_tools", "workflow_type"]);
    assert.equal(r.resolved_hash, hashOfConfig({ ...r.effective, base_template_id: null }), "resolved_hash vs an independent RFC 8785 + SHA-256");
    const p = await cat.preview({ name: "Unsaved", workflow_type: "tools", base_template_id: root.id });
    assertPlain(p, "preview");
    assert.deepEqual(p.effective.required_tools, ["search"]);
    const diff = await cat.diff(leaf.id, v2.id);
    assertPlain(diff, "diff");
    for (const c of diff) assert.deepEqual(Object.keys(c).sort(), ["after", "before", "op", "path"]);
    (await cat.derived(root.id)).forEach((t) => assertTemplate(t, "derived"));
    const used = await cat.recordUsage(v2.id, { success: true, responseTimeMs: 10, tokens: 3, cost: 0.25 });
    assertTemplate(used, "recordUsage");
    assert.equal(used.total_cost, 0.25);
    assertTemplate(await cat.rate(v2.id, 4.5), "rate");
    const page = await cat.discover();
    assertPlain(page, "discover");
    assert.deepEqual(Object.keys(page).sort(), ["items", "limit", "offset", "total"]);
    page.items.forEach((t, i) => assertTemplate(t, `items[${i}]`));
    const popular = await cat.popularByCategory(2);
    assertPlain(popular, "popularByCategory");
    assert.deepEqual(Object.keys(popular).sort(), [...CATEGORIES].sort());
    const spec = await cat.createSpec({ name: "Shape spec", workflow_type: "tools", base_template_name: "Shape root" });
    assertSpec(spec);
    assertSpec(await cat.updateSpec(spec.id, { description: "x" }));
    assertSpec(await cat.getSpec(spec.id));
    (await cat.listSpecs()).forEach((s) => assertSpec(s));
    assertTemplate(await cat.instantiateSpec(spec.id, { name: "From spec" }), "instantiateSpec");
    assert.equal(await cat.deleteSpec(spec.id), undefined);
  });

  test("each error code's details arrive as a plain object with their documented fields", async () => {
    const cat = await open();
    const base = await cat.create(draft("Detail base"));
    const kid = await cat.create(draft("Detail kid", { base_template_id: base.id }));
    const u = await cat.update(base.id, { description: "moved" });
    let e = await rejects(() => cat.update(base.id, { description: "stale" }, { ifMatch: base.updated_at }), "CONFLICT");
    assert.deepEqual(e.details, { id: base.id, expected: base.updated_at, actual: u.updated_at });
    e = await rejects(() => cat.create(draft(" detail BASE ")), "NAME_TAKEN");
    assert.deepEqual(e.details, { name: "detail BASE" });
    const missing = wt.newId();
    e = await rejects(() => cat.get(missing), "NOT_FOUND");
    assert.deepEqual(e.details, { kind: "template", id: missing });
    e = await rejects(() => cat.create(draft("Orphan", { base_template_id: missing })), "BASE_NOT_FOUND");
    assert.equal(e.details.reference, missing);
    e = await rejects(() => cat.delete(base.id), "HAS_DERIVED");
    assert.equal(e.details.id, base.id);
    assert.deepEqual(e.details.derived, [kid.id]);
    e = await rejects(() => cat.delete(GENERAL_ASSISTANT), "BUILTIN_READ_ONLY");
    assert.deepEqual(e.details, { id: GENERAL_ASSISTANT });
    e = await rejects(() => cat.update(base.id, { base_template_id: kid.id }), "INHERITANCE_CYCLE");
    assert.ok(Array.isArray(e.details.ids) && e.details.ids.includes(base.id) && e.details.ids.includes(kid.id), JSON.stringify(e.details));
    e = await rejects(() => cat.create({ tags: ["a", "A"], bogus: 1 }), "VALIDATION_FAILED");
    assert.ok(e.details.violations.some((v) => v.field === "bogus" && v.code === "UNKNOWN_FIELD"));
    let prev = null;
    for (let i = 0; i < 16; i++) prev = (await cat.create(draft(`Level ${i}`, { base_template_id: prev }))).id;
    e = await rejects(() => cat.create(draft("Level 16", { base_template_id: prev })), "INHERITANCE_TOO_DEEP");
    assert.equal(e.details.limit, 16);
  });

  test("options and arguments are converted and checked at the boundary", async () => {
    const cat = await open();
    const t = await cat.create(draft("Options"));
    // ifMatch: absent, undefined and null mean no guard; anything but a string is refused.
    await cat.update(t.id, { description: "no guard" }, { ifMatch: null });
    await cat.update(t.id, { description: "no options" }, undefined);
    await cat.update(t.id, { description: "empty options" }, {});
    for (const o of [{ ifMatch: 12 }, { ifmatch: t.updated_at }, "opts", 5, [t.updated_at]]) {
      await rejects(() => cat.update(t.id, { description: "x" }, o), "INVALID_ARGUMENT", `update options ${JSON.stringify(o)}`);
    }
    // newVersion: an undefined patch is no change, a null changelog none; a changelog must be a string.
    const v2 = await cat.newVersion(t.id, undefined, null);
    assert.equal(v2.changelog, null);
    await rejects(() => cat.newVersion(v2.id, {}, 42), "INVALID_ARGUMENT", "changelog 42");
    await rejects(() => cat.diff(v2.id), "INVALID_ARGUMENT", "diff without its second id");
    const s = await cat.createSpec(draft("Options spec"));
    await rejects(() => cat.updateSpec(s.id, { description: "x" }, { ifMatch: 7 }), "INVALID_ARGUMENT", "updateSpec ifMatch 7");
    // rate takes a number; recordUsage a run object.
    for (const stars of ["4", 4n, undefined, null, {}]) await rejects(() => cat.rate(t.id, stars), "INVALID_ARGUMENT", `rate ${String(stars)}`);
    await rejects(() => cat.recordUsage(v2.id, undefined), "INVALID_ARGUMENT", "recordUsage without a run");
    const e = await rejects(() => cat.recordUsage(v2.id, { success: "yes", responseTimeMs: -1, extra: 1 }), "VALIDATION_FAILED");
    assert.deepEqual(e.details.violations.map((v) => v.field).sort(), ["extra", "responseTimeMs", "success"], "run fields keep their JavaScript names");
    // popularByCategory takes an integer n; discover's null options are the defaults.
    for (const n of [0, 101, 1.5, -1, NaN, Infinity, "3", null, {}, 3n]) {
      await rejects(() => cat.popularByCategory(n), "INVALID_ARGUMENT", `popularByCategory(${String(n)})`);
    }
    const nulls = await cat.discover({ text: null, category: null, sort: null, limit: null, offset: null, tags: null });
    assert.deepEqual(nulls, await cat.discover({}), "null options are the defaults");
  });
});

// ---- discovery --------------------------------------------------------------------------------

describe("discover", () => {
  test("offsets beyond 2^32 are honoured, not wrapped (usize is 32-bit on wasm32)", async () => {
    const cat = await open();
    for (const offset of [2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 53]) {
      const page = await cat.discover({ offset, limit: 5 });
      assert.equal(page.offset, offset, `offset ${offset} came back as ${page.offset}`);
      assert.deepEqual(page.items, [], `offset ${offset} returned items`);
    }
  });

  test("bad options reject with INVALID_ARGUMENT", async () => {
    const cat = await open();
    const bad = [
      { limit: 0 }, { limit: 101 }, { limit: 1.5 }, { limit: "10" }, { limit: -1 }, { offset: -1 }, { offset: 0.5 },
      { offset: "1" }, { sort: "bogus" }, { sort: 1 }, { category: "misc" }, { workflowType: "magic" }, { tags: "beta" },
      { tags: [1] }, { owner: "nope" }, { includeBuiltin: "yes" }, { latestOnly: 1 }, { text: 5 }, { unknown: true },
      { Sort: "name" }, 42, "name", [], true,
    ];
    for (const o of bad) await rejects(() => cat.discover(o), "INVALID_ARGUMENT", `discover(${JSON.stringify(o)})`);
    const ok = await cat.discover({ limit: 100, offset: 0 });
    assert.equal(ok.limit, 100);
  });
});

// ---- inheritance ---------------------------------------------------------------------------------

async function inheritanceFixture() {
  const cat = await open();
  const R = await cat.create({ name: "Root", workflow_type: "tools", required_tools: ["search", "calc"], default_params: { model: { name: "m-root", temperature: 0.2, max_tokens: 100 }, retrieval: { top_k: 3 }, stop: ["a"], keep: 1 } });
  const M = await cat.create({ name: "Mid", workflow_type: "tools", base_template_id: R.id, required_tools: ["calc", "browser"], default_params: { model: { temperature: 0.7 }, stop: ["b", "c"], keep: null } });
  const L = await cat.create({ name: "Leaf", workflow_type: "full", base_template_id: M.id, required_tools: ["zeta"], required_retrievers: ["docs"], default_params: { model: { max_tokens: 500 }, retrieval: { top_k: 9, rerank: true } } });
  return { cat, R, M, L };
}

// ---- usage and ratings -------------------------------------------------------------------------

describe("recordUsage and rate", () => {
  test("no increment is lost when many uses are recorded at once", async () => {
    const cat = await open();
    const t = await cat.create(draft("Busy"));
    const n = 50;
    await Promise.all(Array.from({ length: n }, (_, i) => cat.recordUsage(t.id, { success: i % 2 === 0, responseTimeMs: 10, tokens: 1 })));
    await Promise.all(Array.from({ length: n }, () => cat.recordUsage(GENERAL_ASSISTANT, { success: true, responseTimeMs: 10 })));
    const got = await cat.get(t.id);
    assert.equal(got.usage_count, n);
    assert.equal(got.total_tokens_used, n);
    assert.equal(got.success_rate, 0.5);
    assert.equal((await cat.get(GENERAL_ASSISTANT)).usage_count, n);
  });
});

// ---- specs -----------------------------------------------------------------------------------

// ---- export / import ------------------------------------------------------------------------------

async function populated() {
  const { cat, R, M, L } = await inheritanceFixture();
  const v2 = await cat.newVersion(L.id, { description: "leaf v2" }, "second");
  const pub = await cat.create(draft("Public One", { is_public: true, tags: ["shared"], extra_metadata: { owner: { team: "x" } } }));
  await cat.recordUsage(pub.id, { success: true, responseTimeMs: 12, tokens: 3, cost: 0.1 });
  await cat.rate(pub.id, 4);
  await cat.rate(GENERAL_ASSISTANT, 3);
  await cat.recordUsage(GENERAL_ASSISTANT, { success: false, responseTimeMs: 99 });
  const spec = await cat.createSpec({ name: "Spec One", workflow_type: "plain", base_template_name: "Root" });
  return { cat, ids: [R.id, M.id, L.id, v2.id, pub.id], spec };
}

describe("exportAll / importAll", () => {
  test("round trip into a second catalog of the same user", async () => {
    const { cat, ids, spec } = await populated();
    const bundle = await cat.exportAll();
    assertPlain(bundle, "bundle");
    assert.equal(bundle.format_version, 1);
    assert.equal(bundle.owner_id, cat.userId);
    assert.equal(bundle.workflow_templates.length, ids.length);
    bundle.workflow_templates.forEach((t, i) => assertTemplate(t, `bundle.workflow_templates[${i}]`));
    assert.deepEqual(bundle.template_specs.map((s) => s.id), [spec.id]);
    assert.equal(bundle.ratings.length, 2);
    assert.ok(bundle.builtin_stats.some((b) => b.id === GENERAL_ASSISTANT));
    // through JSON, as a file would carry it
    const text = JSON.stringify(bundle);
    const other = await open(cat.userId);
    const events = [];
    other.subscribe((ev) => events.push(ev));
    const report = await other.importAll(JSON.parse(text));
    assert.deepEqual(report, { templates: ids.length, specs: 1, ratings: 2, builtin_stats: bundle.builtin_stats.length, builtin_stats_ignored: 0, labels: 0 });
    assert.deepEqual(events, [{ kind: "import", op: "import", id: null, external: false }]);
    for (const id of ids) assert.deepEqual(await other.get(id), await cat.get(id), `template ${id}`);
    assert.deepEqual(await other.getSpec(spec.id), await cat.getSpec(spec.id));
    assert.deepEqual(await other.get(GENERAL_ASSISTANT), await cat.get(GENERAL_ASSISTANT), "built-in statistics");
    assert.deepEqual(await other.resolve(ids[2]), await cat.resolve(ids[2]));
    assert.deepEqual(await other.versions(ids[2]), await cat.versions(ids[2]));
    const again = await other.exportAll();
    const sortBy = (k) => (a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0);
    const norm = (b) => ({ ...stable(b), ratings: [...b.ratings].sort(sortBy((r) => r.template_id)), builtin_stats: [...b.builtin_stats].sort(sortBy((s) => s.id)) });
    assert.deepEqual(norm(again), norm(bundle));
    // the rating was carried: rating again replaces it instead of adding a second one
    const pubId = ids[4];
    const r = await other.rate(pubId, 2);
    assert.deepEqual([r.rating, r.rating_count], [2, 1]);
    // importing the same bundle again restores (replaces) rather than duplicating
    await other.importAll(bundle);
    assert.equal((await other.exportAll()).workflow_templates.length, ids.length);
  });

  test("every violation code import reports is listed by violationCodes()", async () => {
    const { cat } = await populated();
    const bundle = await cat.exportAll();
    const stranger = await open();
    const seen = new Set();
    const e1 = await rejects(() => stranger.importAll(bundle), "VALIDATION_FAILED");
    e1.details.violations.forEach((v) => seen.add(v.code));
    const b = structuredClone(bundle);
    b.workflow_templates[0].base_template_id = wt.newId();
    b.workflow_templates[0].config_hash = expectedConfigHash(b.workflow_templates[0]);
    b.ratings[0].template_id = wt.newId();
    const e2 = await rejects(() => (async () => (await open(cat.userId)).importAll(b))(), "VALIDATION_FAILED");
    e2.details.violations.forEach((v) => seen.add(v.code));
    const missing = [...seen].filter((c) => !VIOLATION_CODES.has(c));
    assert.deepEqual(missing, [], `import reports violation codes that violationCodes() does not list: ${missing.join(", ")}`);
  });
});

// ---- subscribe --------------------------------------------------------------------------------

describe("subscribe", () => {
  test("events for every kind of change; unsubscribe stops them", async () => {
    const cat = await open();
    const events = [];
    const unsubscribe = cat.subscribe((ev) => events.push(ev));
    assert.equal(typeof unsubscribe, "function");
    const t = await cat.create(draft("Watched"));
    await cat.update(t.id, { description: "x" });
    const v2 = await cat.newVersion(t.id, {}, "v2");
    await cat.recordUsage(v2.id, { success: true, responseTimeMs: 1 });
    await cat.rate(v2.id, 3);
    const s = await cat.createSpec(draft("Watched spec"));
    await cat.updateSpec(s.id, { description: "y" });
    const fromSpec = await cat.instantiateSpec(s.id, { name: "From watched spec" });
    await cat.deleteSpec(s.id);
    await cat.delete(v2.id);
    for (const ev of events) {
      assertPlain(ev, "event");
      assert.deepEqual(Object.keys(ev).sort(), ["external", "id", "kind", "op"]);
      assert.equal(ev.external, false, "made through this catalog");
    }
    assert.deepEqual(events, [
      { kind: "template", op: "create", id: t.id, external: false },
      { kind: "template", op: "update", id: t.id, external: false },
      { kind: "template", op: "create", id: v2.id, external: false },
      { kind: "template", op: "update", id: t.id, external: false },
      { kind: "usage", op: "update", id: v2.id, external: false },
      { kind: "rating", op: "update", id: v2.id, external: false },
      { kind: "spec", op: "create", id: s.id, external: false },
      { kind: "spec", op: "update", id: s.id, external: false },
      { kind: "template", op: "create", id: fromSpec.id, external: false },
      { kind: "spec", op: "update", id: s.id, external: false },
      { kind: "spec", op: "delete", id: s.id, external: false },
      { kind: "template", op: "delete", id: v2.id, external: false },
      { kind: "template", op: "update", id: t.id, external: false },
    ]);
    const n = events.length;
    assert.equal(unsubscribe(), undefined);
    await cat.create(draft("Unwatched"));
    assert.equal(events.length, n, "no event after unsubscribe");
  });

  test("a throwing callback breaks neither the write nor other subscribers", async () => {
    const cat = await open();
    const seen = [];
    let calls = 0;
    cat.subscribe(() => {
      calls++;
      throw new Error("subscriber bug");
    });
    cat.subscribe(() => {
      calls++;
      throw "not even an Error";
    });
    cat.subscribe((ev) => seen.push(ev.id));
    const t = await cat.create(draft("Despite throwing subscribers"));
    assert.deepEqual(await cat.get(t.id), t);
    assert.deepEqual(seen, [t.id]);
    assert.equal(calls, 2);
    await cat.update(t.id, { description: "again" });
    assert.deepEqual(seen, [t.id, t.id]);
  });

  test("a callback may unsubscribe itself or subscribe another while being called", async () => {
    const cat = await open();
    const seen = [];
    let unsub = null;
    unsub = cat.subscribe((ev) => {
      seen.push(`self:${ev.op}`);
      unsub();
      cat.subscribe((e2) => seen.push(`late:${e2.op}`));
    });
    const t = await cat.create(draft("Reentrant"));
    await cat.update(t.id, { description: "x" });
    assert.deepEqual(seen, ["self:create", "late:update"]);
  });

  test("unsubscribe is idempotent (a second call is harmless)", async () => {
    const cat = await open();
    const events = [];
    const unsubscribe = cat.subscribe((ev) => events.push(ev));
    unsubscribe();
    assert.doesNotThrow(() => unsubscribe(), "calling the unsubscribe function twice threw");
    await cat.create(draft("After double unsubscribe"));
    assert.deepEqual(events, []);
  });

  test("subscribe takes a function (a synchronous INVALID_ARGUMENT otherwise)", async () => {
    const cat = await open();
    for (const bad of [undefined, null, 42, "f", {}, []]) {
      assert.throws(() => cat.subscribe(bad), (e) => {
        assertCodedError(e);
        return e.code === "INVALID_ARGUMENT";
      }, `subscribe(${String(bad)})`);
    }
  });
});

// ---- access control ------------------------------------------------------------------------------

describe("access control (one user per store in this release)", () => {
  test("built-ins are visible, public, read-only, and usable as bases", async () => {
    const cat = await open();
    const builtins = wt.builtinTemplates();
    assert.ok(builtins.length >= CATEGORIES.length);
    assert.deepEqual(new Set(builtins.map((b) => b.category)), new Set(CATEGORIES), "at least one per category");
    assert.deepEqual(new Set(builtins.map((b) => b.workflow_type)), new Set(["plain", "tools", "rag", "full"]));
    for (const b of builtins) {
      const got = await cat.get(b.id);
      assertTemplate(got, b.name);
      assert.deepEqual(got, b);
      assert.equal(got.owner_id, BUILTIN_OWNER);
      assert.equal(got.is_builtin, true);
      assert.equal(got.is_public, true);
      let e = await rejects(() => cat.update(b.id, { description: "mine now" }), "BUILTIN_READ_ONLY", `update ${b.name}`);
      assert.deepEqual(e.details, { id: b.id });
      e = await rejects(() => cat.newVersion(b.id, {}, "fork"), "BUILTIN_READ_ONLY", `newVersion ${b.name}`);
      await rejects(() => cat.delete(b.id), "BUILTIN_READ_ONLY", `delete ${b.name}`);
      assert.deepEqual(await cat.versions(b.id), [got]);
    }
    const d = await cat.create(draft("On a built-in", { base_template_id: GENERAL_ASSISTANT }));
    assert.equal((await cat.chain(d.id)).length, 2);
    assert.deepEqual(await cat.get(GENERAL_ASSISTANT), builtins.find((b) => b.id === GENERAL_ASSISTANT));
  });

  // Cross-user visibility over one shared store: tests/node/adapter.test.mjs.
});

