// The offline replica from Node (issue 15): what the binding can break (the `replica` option,
// the sync methods on every storage), and the sync engine's pure parts (js/outbox.js,
// js/replica.js: backoff, what a push answer writes, what a pull may overwrite). The engine's
// IndexedDB and Web Lock parts run in a real browser: tests/pages/replica.test.mjs.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as wt from "../../pkg/node.mjs";
import { backoffDelay, errorOf, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from "../../js/replica.js";
import { batchOfAnswer, withoutQueued, idsOf, knownOf, splitBatch, KNOWN_IF_MATCH } from "../../js/outbox.js";

const { TemplateCatalog } = wt;
const USER = "01J0NDRP000000000000000001";

async function code(p) {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    return e.code;
  }
  return "resolved";
}

test("the replica option is checked before anything is opened", async () => {
  const remote = { userId: USER, storage: "remote", baseUrl: "http://127.0.0.1:9", token: "t" };
  for (const replica of ["yes", 1, [], { dbName: 5 }, { dbName: "" }, { other: 1 }, () => true]) {
    assert.equal(await code(TemplateCatalog.open({ ...remote, replica })), "INVALID_ARGUMENT", JSON.stringify(replica) ?? String(replica));
  }
  // Only storage "remote" has a replica.
  assert.equal(await code(TemplateCatalog.open({ userId: USER, storage: "memory", replica: true })), "INVALID_ARGUMENT");
  assert.equal(await code(TemplateCatalog.open({ userId: USER, replica: true })), "INVALID_ARGUMENT");
  // A bad address is refused before any storage is touched.
  assert.equal(await code(TemplateCatalog.open({ ...remote, baseUrl: "ftp://x", replica: true })), "INVALID_ARGUMENT");
  // A hostile replica object: a coded rejection, nothing escapes.
  const trap = new Proxy({}, { ownKeys() { throw new Error("no keys"); } });
  assert.equal(await code(TemplateCatalog.open({ ...remote, replica: trap })), "INVALID_ARGUMENT");
  // Node has no IndexedDB: the replica cannot be kept here, and says so.
  assert.equal(await code(TemplateCatalog.open({ ...remote, replica: true })), "STORAGE_UNAVAILABLE");
  assert.equal(await code(TemplateCatalog.open({ ...remote, replica: false, baseUrl: "ftp://x" })), "INVALID_ARGUMENT");
});

test("the sync methods on a storage with nothing to sync", async () => {
  const cat = await TemplateCatalog.open({ userId: USER, storage: "memory" });
  const t = await cat.create({ name: "Local", workflow_type: "plain" });
  assert.deepEqual(await cat.pending(), []);
  assert.deepEqual(await cat.sync(), { pushed: 0, pulled: 0, conflicts: [], rejected: [] });
  assert.deepEqual(cat.syncState(), { state: "online", pending: 0 });
  assert.equal(await code(cat.resolveConflict(t.id, "keep-remote")), "NOT_FOUND");
  assert.equal(await code(cat.resolveConflict(t.id, "mine")), "INVALID_ARGUMENT");
  assert.equal(await code(cat.resolveConflict("../x", "overwrite")), "INVALID_ARGUMENT");
  assert.equal(await code(cat.resolveConflict(undefined, "overwrite")), "INVALID_ARGUMENT");
  cat.close();
  assert.equal(await code(cat.pending()), "STORAGE_UNAVAILABLE");
  assert.equal(await code(cat.sync()), "STORAGE_UNAVAILABLE");
});

test("retry backoff: full jitter between 1 s and a cap that doubles up to 60 s", () => {
  assert.equal(BACKOFF_MIN_MS, 1000);
  assert.equal(BACKOFF_MAX_MS, 60000);
  const top = (n) => backoffDelay(n, () => 0.999999);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map(top), [999, 1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999].map((x) => Math.max(1000, x)));
  for (const n of [1, 3, 9, 1000]) assert.equal(backoffDelay(n, () => 0), 1000, "never below 1 s");
  // The wait is spread (full jitter), not fixed.
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(6)));
  assert.ok(seen.size > 10, `${seen.size} distinct waits`);
  for (const d of seen) assert.ok(d >= 1000 && d <= 32000, String(d));
});

test("what a push answer writes into the replica, and the ids it makes known", () => {
  const rec = { id: "01J0T000000000000000000001", updated_at: "2026-11-30T05:00:00.000Z" };
  const entry = (endpoint, args) => ({ endpoint, args, id: null, target: null });
  assert.deepEqual(batchOfAnswer(entry("create", {}), rec), { templates: [rec] });
  assert.deepEqual(batchOfAnswer(entry("rate", { id: rec.id }), rec), { templates: [rec] });
  assert.deepEqual(batchOfAnswer(entry("updateSpec", { id: rec.id }), rec), { specs: [rec] });
  assert.deepEqual(batchOfAnswer(entry("delete", { id: rec.id }), null), { deleted: { templates: [rec.id] } });
  assert.deepEqual(batchOfAnswer(entry("deleteSpec", { id: rec.id }), null), { deleted: { specs: [rec.id] } });
  assert.deepEqual(batchOfAnswer(entry("removeLabel", { id: rec.id, label: "prod" }), null), { deleted: { labels: [{ template_id: rec.id, label: "prod" }] } });
  assert.deepEqual(batchOfAnswer(entry("setLabel", { id: rec.id, label: "prod" }), { label: "prod" }), { labels: [{ label: "prod" }] });
  assert.deepEqual(batchOfAnswer(entry("create", {}), null), {}, "no record, nothing to write");
  assert.deepEqual(knownOf({ templates: [rec], specs: [{ id: "S", updated_at: "u" }] }), { [rec.id]: rec.updated_at, S: "u" });
  // Counters carry no If-Match (they merge); record edits carry the server copy's.
  for (const e of ["rate", "recordUsage", "create", "createSpec", "setLabel"]) assert.ok(!KNOWN_IF_MATCH.has(e), e);
  for (const e of ["update", "newVersion", "restoreVersion", "delete", "updateSpec", "deleteSpec"]) assert.ok(KNOWN_IF_MATCH.has(e), e);
});

test("a pull never overwrites a record with queued writes", () => {
  const batch = {
    templates: [{ id: "A" }, { id: "B" }],
    specs: [{ id: "S" }],
    deleted: { templates: ["A", "C"], specs: ["S"] },
    ratings: [{ template_id: "A" }],
  };
  assert.deepEqual(withoutQueued(batch, new Set(["A", "S"])), {
    templates: [{ id: "B" }],
    specs: [],
    deleted: { templates: ["C"], specs: [] },
    ratings: [{ template_id: "A" }],
  });
  // A queued rate of A (`rated`): A's rating row, or its deletion, stays the local one.
  const rated = Object.assign(new Set(["A", "B"]), { rated: new Set(["B"]) });
  const out = withoutQueued({ ratings: [{ template_id: "A" }, { template_id: "B" }], deleted: { ratings: ["A", "B"] } }, rated);
  assert.deepEqual([out.ratings, out.deleted.ratings], [[{ template_id: "A" }], ["A"]]);
  assert.deepEqual(idsOf({ args: { id: "A" }, id: "N", target: "A" }), ["A", "N"]);
  assert.deepEqual(idsOf({ args: {}, id: null, target: null }), []);
});

test("engine errors: coded rejections pass through; a fault of the engine is not taken for the network", () => {
  assert.deepEqual(errorOf(JSON.stringify({ code: "CONFLICT", message: "m", details: null })), { code: "CONFLICT", message: "m", details: null });
  assert.equal(errorOf(new ReferenceError("x is not defined")).code, "STORAGE_UNAVAILABLE");
  assert.equal(errorOf("not json").code, "STORAGE_UNAVAILABLE");
});

test("a refused batch is retried record by record, what a record needs first", () => {
  const parts = splitBatch({
    deleted: { templates: ["D"], labels: [{ template_id: "A", label: "prod" }] },
    labels: [{ template_id: "A", label: "dev" }],
    templates: [{ id: "A" }, { id: "B" }],
    specs: [{ id: "S" }],
    ratings: [{ template_id: "A" }],
    builtin_stats: [{ id: "X" }],
  });
  assert.deepEqual(parts.map((x) => [x.id, Object.keys(x.batch)[0]]), [
    ["A", "templates"], ["B", "templates"], ["S", "specs"], ["A", "ratings"], ["A", "labels"], ["X", "builtin_stats"], ["D", "deleted"], ["A", "deleted"],
  ]);
  assert.deepEqual(splitBatch({}), []);
});
