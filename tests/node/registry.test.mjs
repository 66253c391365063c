// The registry methods of issue 14 (setLabel, removeLabel, labels, versions with labels,
// getByName, resolveByName, restoreVersion) through the built package in Node: what the
// binding can break — argument conversion (wrong types, unknown options, label names that must
// not reach a URL), promise shapes (void stays undefined, records stay plain JSON), coded
// errors. The rules themselves are tested natively (tests/catalog_labels.rs) and on every
// storage (tests/conformance/labels.rs).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as wt from "../../pkg/node.mjs"; // the Node entry: loads the wasm by itself

const { TemplateCatalog } = wt;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function open(userId = wt.newId()) {
  return TemplateCatalog.open({ userId, storage: "memory" });
}

/** The call returns a Promise (never throws) that rejects with a coded Error. */
async function rejects(call, code) {
  let p;
  assert.doesNotThrow(() => {
    p = call();
  });
  assert.ok(p instanceof Promise);
  const e = await p.then(
    (v) => assert.fail(`resolved with ${JSON.stringify(v)} instead of rejecting with ${code}`),
    (e) => e,
  );
  assert.ok(e instanceof Error, String(e));
  assert.equal(e.code, code, e.message);
  return e;
}

async function lineage(cat, name = "Support bot") {
  const v1 = await cat.create({ name, workflow_type: "plain", default_params: { v: 1 } });
  const v2 = await cat.newVersion(v1.id, { default_params: { v: 2 } }, "second");
  return { v1, v2 };
}

test("setLabel resolves with a plain label and checks its arguments", async () => {
  const cat = await open();
  const { v1, v2 } = await lineage(cat);
  const l = await cat.setLabel(v1.id, "production");
  assert.deepEqual(Object.keys(l).sort(), ["label", "template_id", "updated_at", "version"]);
  assert.equal(Object.getPrototypeOf(l), Object.prototype);
  assert.equal(typeof l.version, "number");
  assert.match(l.updated_at, TIMESTAMP);
  assert.equal((await cat.setLabel(v2.id.toLowerCase(), "production", { ifMatch: l.updated_at })).template_id, v2.id);
  await rejects(() => cat.setLabel(v1.id, "production", { ifMatch: l.updated_at }), "CONFLICT");
  for (const bad of [undefined, null, 7, "", "Prod", "../x", "a/b", "latest".toUpperCase(), "x".repeat(65), { toString: () => "p" }]) {
    await rejects(() => cat.setLabel(v1.id, bad), "INVALID_ARGUMENT");
  }
  await rejects(() => cat.setLabel(v1.id, "latest"), "INVALID_ARGUMENT");
  await rejects(() => cat.setLabel(42, "production"), "INVALID_ARGUMENT");
  await rejects(() => cat.setLabel(v1.id, "production", { ifMatch: 5 }), "INVALID_ARGUMENT");
  await rejects(() => cat.setLabel(v1.id, "production", { if_match: l.updated_at }), "INVALID_ARGUMENT");
  await rejects(() => cat.setLabel(v1.id, "production", "yesterday"), "INVALID_ARGUMENT");
});

test("removeLabel resolves with undefined; deleting a labelled version is HAS_LABELS", async () => {
  const cat = await open();
  const { v1 } = await lineage(cat);
  const l = await cat.setLabel(v1.id, "canary");
  const e = await rejects(() => cat.delete(v1.id), "HAS_LABELS");
  assert.deepEqual(e.details, { id: v1.id, labels: ["canary"] });
  assert.ok(wt.errorCodes().includes("HAS_LABELS"));
  await rejects(() => cat.removeLabel(v1.id, "canary", { ifMatch: "2000-01-01T00:00:00.000Z" }), "CONFLICT");
  assert.equal(await cat.removeLabel(v1.id, "canary", { ifMatch: l.updated_at }), undefined);
  await rejects(() => cat.removeLabel(v1.id, "canary"), "NOT_FOUND");
  await rejects(() => cat.removeLabel(v1.id, ["canary"]), "INVALID_ARGUMENT");
  assert.equal(await cat.delete(v1.id), undefined);
});

test("labels lists plain objects; versions({ withLabels }) keeps records exact", async () => {
  const cat = await open();
  const { v1, v2 } = await lineage(cat);
  await cat.setLabel(v1.id, "production");
  await cat.setLabel(v1.id, "canary");
  const list = await cat.labels(v2.id);
  assert.ok(Array.isArray(list));
  assert.deepEqual(list.map((l) => [l.label, l.template_id, l.version]), [["canary", v1.id, 1], ["production", v1.id, 1]]);
  assert.deepEqual(await cat.labels("00000000000000000000000001"), []);
  await rejects(() => cat.labels({}), "INVALID_ARGUMENT");
  const plain = await cat.versions(v2.id);
  assert.deepEqual(await cat.versions(v2.id, { withLabels: false }), plain);
  assert.deepEqual(await cat.versions(v2.id, {}), plain);
  const withLabels = await cat.versions(v2.id, { withLabels: true });
  assert.deepEqual(withLabels.map((v) => v.record), plain);
  assert.deepEqual(withLabels.map((v) => v.labels), [[], ["canary", "production"]]);
  await rejects(() => cat.versions(v2.id, { withLabels: "yes" }), "INVALID_ARGUMENT");
  await rejects(() => cat.versions(v2.id, { labels: true }), "INVALID_ARGUMENT");
});

test("getByName and resolveByName convert their options", async () => {
  const alice = wt.newId();
  const cat = await open(alice);
  const { v1, v2 } = await lineage(cat);
  await cat.setLabel(v1.id, "production");
  assert.equal((await cat.getByName("support BOT")).id, v2.id);
  assert.equal((await cat.getByName("Support bot", { label: "production" })).id, v1.id);
  assert.equal((await cat.getByName("Support bot", { version: 2, owner: alice.toLowerCase() })).id, v2.id);
  assert.equal((await cat.getByName("Support bot", { version: undefined, label: null })).id, v2.id);
  assert.equal((await cat.getByName("General Assistant")).id, "00000000000000000000000001");
  const r = await cat.resolveByName("Support bot", { label: "production" });
  assert.equal(r.id, v1.id);
  assert.deepEqual(r.effective.default_params, { v: 1 });
  await rejects(() => cat.getByName("Support bot", { version: 9 }), "NOT_FOUND");
  await rejects(() => cat.getByName("Nothing here"), "NOT_FOUND");
  for (const bad of [{ version: 1.5 }, { version: 0 }, { version: "1" }, { version: 2 ** 60 }, { label: 3 }, { owner: 5 }, { label: "Prod" }, { version: 1, label: "production" }, { colour: "red" }, "production"]) {
    await rejects(() => cat.getByName("Support bot", bad), "INVALID_ARGUMENT");
    await rejects(() => cat.resolveByName("Support bot", bad), "INVALID_ARGUMENT");
  }
  await rejects(() => cat.getByName(undefined), "INVALID_ARGUMENT");
  await rejects(() => cat.resolveByName(17), "INVALID_ARGUMENT");
});

test("restoreVersion resolves with the new latest record and checks its options", async () => {
  const cat = await open();
  const { v1, v2 } = await lineage(cat);
  await rejects(() => cat.restoreVersion(v1.id, { ifMatch: v1.updated_at }), "CONFLICT");
  const r = await cat.restoreVersion(v1.id, { ifMatch: v2.updated_at });
  assert.equal(r.version, 3);
  assert.equal(r.config_hash, v1.config_hash);
  assert.equal(r.changelog, `Restored version 1 (${v1.id})`);
  assert.deepEqual(r, await cat.get(r.id));
  const again = await cat.restoreVersion(v2.id, { changelog: "back to two" });
  assert.equal(again.changelog, "back to two");
  assert.equal((await cat.restoreVersion(v2.id)).version, 5);
  for (const bad of [{ changelog: 3 }, { ifMatch: 1 }, { if_match: "x" }, "x"]) {
    await rejects(() => cat.restoreVersion(v1.id, bad), "INVALID_ARGUMENT");
  }
  await rejects(() => cat.restoreVersion(null), "INVALID_ARGUMENT");
});

test("label changes reach subscribe", async () => {
  const cat = await open();
  const { v1 } = await lineage(cat);
  const seen = [];
  const off = cat.subscribe((e) => seen.push(e));
  await cat.setLabel(v1.id, "production");
  await cat.removeLabel(v1.id, "production");
  off();
  assert.deepEqual(seen.map((e) => [e.kind, e.op, e.id, e.external]), [
    ["label", "create", v1.id, false],
    ["label", "delete", v1.id, false],
  ]);
});
