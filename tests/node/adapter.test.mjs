// A storage adapter object passed by the app (`storage: adapter`), in Node: the documented
// example adapter (examples/map-adapter.js) shared by two users' catalogs (access control over
// one store), and hostile adapters whose every misbehaviour must become a coded error, never a
// trap of the wasm instance. The full conformance suite runs the example adapter in browsers
// (tests/wasm_conformance.rs).

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as wt from "../../pkg/node.mjs"; // the Node entry: loads the wasm by itself
import { MapAdapter } from "../../examples/map-adapter.js";

const { TemplateCatalog } = wt;
const CODES = new Set(wt.errorCodes());

async function rejectsWith(p, code, what) {
  let error;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `${what}: resolved or rejected with a non-Error (${error})`);
  assert.ok(CODES.has(error.code), `${what}: uncoded error ${error.code}: ${error.message}`);
  if (code) assert.equal(error.code, code, `${what}: ${error.message}`);
  return error;
}

const draft = (name, extra = {}) => ({ name, workflow_type: "plain", ...extra });

describe("the example adapter shared by two users", () => {
  test("private stays private, public can be derived and rated but not edited", async () => {
    const store = new MapAdapter();
    const alice = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    const bob = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    assert.equal(alice.storage, "adapter");
    const secret = await alice.create(draft("Secret", { is_public: false }));
    const shared = await alice.create(draft("Shared", { is_public: true }));
    await rejectsWith(bob.get(secret.id), "NOT_FOUND", "another user's private template");
    await rejectsWith(bob.update(secret.id, { description: "x" }), "NOT_FOUND", "editing a private template");
    assert.equal((await bob.get(shared.id)).name, "Shared");
    await rejectsWith(bob.update(shared.id, { description: "x" }), "FORBIDDEN", "editing a public template of another user");
    await rejectsWith(bob.delete(shared.id), "FORBIDDEN", "deleting it");
    const child = await bob.create(draft("Bob's child", { base_template_id: shared.id }));
    assert.equal((await bob.chain(child.id)).length, 2);
    const rated = await bob.rate(shared.id, 5);
    assert.equal(rated.rating, 5);
    await bob.recordUsage(shared.id, { success: true, responseTimeMs: 12 });
    assert.equal((await alice.get(shared.id)).usage_count, 1);
    const seen = (await bob.discover({ includeBuiltin: false, limit: 100 })).items.map((t) => t.name).sort();
    assert.deepEqual(seen, ["Bob's child", "Shared"]);
    await rejectsWith(alice.delete(shared.id), "HAS_DERIVED", "deleting a template another user derived from");
  });

  test("the adapter's CONFLICT and NAME_TAKEN reach the app with their codes", async () => {
    const store = new MapAdapter();
    const a = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    const t = await a.create(draft("Once"));
    await rejectsWith(a.create(draft(" once ")), "NAME_TAKEN", "same name");
    await a.update(t.id, { description: "moved on" });
    await rejectsWith(a.update(t.id, { description: "stale" }, { ifMatch: t.updated_at }), "CONFLICT", "stale ifMatch");
  });
});

describe("rows an adapter holds that the catalog did not write (issue 10, items 1 and 8)", () => {
  test("another timestamp spelling comes back canonical; a corrupt row is left out of lists, counted, and its owner can delete it", async () => {
    const store = new MapAdapter();
    const alice = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    const bob = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    const spelled = await alice.create(draft("Spelled", { is_public: true }));
    const broken = await alice.create(draft("Broken", { is_public: true }));
    const row = (id) => store.table("workflow_templates").get(id);
    // Written behind the catalog's back: the same instant with an offset, and a wrong hash.
    const ms = Date.parse(spelled.created_at);
    row(spelled.id).record.created_at = new Date(ms + 3_600_000).toISOString().replace("Z", "+01:00");
    row(broken.id).record.config_hash = "0".repeat(64);
    assert.equal((await bob.get(spelled.id)).created_at, spelled.created_at);
    const page = await bob.discover({ includeBuiltin: false });
    assert.deepEqual(page.items.map((t) => t.id), [spelled.id]);
    assert.equal(page.skipped, 1);
    assert.equal(page.total, 2);
    await rejectsWith(bob.get(broken.id), "INTEGRITY", "a direct read of the corrupt row");
    const bundle = await alice.exportAll();
    assert.deepEqual(bundle.skipped.map((s) => [s.table, s.id, s.code]), [["workflow_templates", broken.id, "INTEGRITY"]]);
    await rejectsWith(bob.delete(broken.id), "FORBIDDEN", "someone else's corrupt template");
    await alice.delete(broken.id);
    assert.equal(row(broken.id), undefined);
    assert.equal((await bob.discover({ includeBuiltin: false })).skipped, undefined);
  });
});

describe("hostile adapters", () => {
  const sane = () => new MapAdapter();
  const cases = [
    ["get throws synchronously", (m) => Object.assign(m, { get() { throw new Error("boom"); } })],
    ["find rejects with a string", (m) => Object.assign(m, { find: () => Promise.reject("nope") })],
    ["find resolves with an object", (m) => Object.assign(m, { find: async () => ({ not: "an array" }) })],
    ["find returns rows without rev", (m) => Object.assign(m, { find: async () => [{ record: {} }] })],
    ["find returns a record that is not a template", (m) => Object.assign(m, { find: async () => [{ rev: 1, record: { id: 5 } }] })],
    ["find returns a cyclic row", (m) => Object.assign(m, { find: async () => { const r = { rev: 1 }; r.record = r; return [r]; } })],
    ["find returns a Proxy that throws", (m) => Object.assign(m, { find: async () => [new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); } })] })],
    ["commit throws a non-Error with a bogus code", (m) => Object.assign(m, { commit() { throw { code: "LOL", message: 42 }; } })],
  ];
  for (const [what, spoil] of cases) {
    test(`${what}: a coded error, and the instance keeps working`, async () => {
      const store = spoil(sane());
      const cat = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
      const ops = [
        () => cat.create(draft("Probe")),
        () => cat.discover({ includeBuiltin: false }),
        () => cat.get("01J00000000000000000000000"),
      ];
      let failures = 0;
      for (const op of ops) {
        try {
          await op();
        } catch (e) {
          assert.ok(e instanceof Error && CODES.has(e.code), `${what}: uncoded ${e && e.code}: ${e && e.message}`);
          assert.ok(["STORAGE_UNAVAILABLE", "INTEGRITY", "NOT_FOUND"].includes(e.code), `${what}: ${e.code} ${e.message}`);
          if (e.code !== "NOT_FOUND") failures++;
        }
      }
      assert.ok(failures > 0, `${what}: the misbehaviour went unnoticed`);
      // The wasm instance is intact: a catalog on a sane store works.
      const ok = await TemplateCatalog.open({ userId: wt.newId(), storage: sane() });
      assert.equal((await ok.create(draft("Still fine"))).name, "Still fine");
    });
  }

  test("an adapter that never answers is STORAGE_UNAVAILABLE after its timeoutMs, not a hang", async () => {
    const store = Object.assign(new MapAdapter(), { timeoutMs: 50, get: () => new Promise(() => {}) });
    const cat = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    const e = await rejectsWith(cat.get(wt.newId()), "STORAGE_UNAVAILABLE", "a get that never settles");
    assert.match(e.message, /no answer within 50 ms/);
  });

  test("whatever commit resolves with is ignored (the write happened)", async () => {
    const store = new MapAdapter();
    const commit = store.commit.bind(store);
    store.commit = async (w) => { await commit(w); return new Map([[1, 2n]]); };
    const cat = await TemplateCatalog.open({ userId: wt.newId(), storage: store });
    const t = await cat.create(draft("Committed"));
    assert.equal((await cat.get(t.id)).name, "Committed");
  });

  test("an object without the three methods is refused at open", async () => {
    for (const storage of [{}, { get() {}, find() {} }, { get: 1, find: 2, commit: 3 }]) {
      await rejectsWith(TemplateCatalog.open({ userId: wt.newId(), storage }), "INVALID_ARGUMENT", JSON.stringify(storage));
    }
  });
});
