// validateMany: the batch form of validateTemplate (an array, or its JSON text).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as wt from "../../pkg/node.mjs"; // the Node entry: loads the wasm by itself


const items = [
  { name: "Fine", workflow_type: "plain" },
  { name: "", workflow_type: "plain" },
  { name: "Needs a retriever", workflow_type: "rag" },
  { name: "Bad params", workflow_type: "plain", default_params: [1, 2] },
  42,
  null,
  ...wt.builtinTemplates(),
];

test("validateMany gives, in order, what validateTemplate gives for each item", () => {
  const one = items.map((v) => wt.validateTemplate(v));
  assert.deepEqual(wt.validateMany(items), one);
  assert.deepEqual(wt.validateMany(JSON.stringify(items)), one);
  assert.deepEqual(wt.validateMany(items, { complete: true }), items.map((v) => wt.validateTemplate(v, { complete: true })));
  assert.deepEqual(one.slice(0, 6).map((r) => r.ok), [true, false, false, false, false, false]);
});

test("validateMany refuses what is not an array, with INVALID_ARGUMENT", () => {
  for (const bad of [{}, 7, "{\"a\":1}", "not json", undefined, null]) {
    assert.throws(() => wt.validateMany(bad), (e) => e instanceof Error && e.code === "INVALID_ARGUMENT", JSON.stringify(bad));
  }
});

test("a hostile item is reported in its own result, not by throwing for the batch", () => {
  const cyclic = { name: "Cyclic", workflow_type: "plain", default_params: {} };
  cyclic.default_params.self = cyclic;
  const proto = JSON.parse('{"name":"Proto","workflow_type":"plain","default_params":{"__proto__":{"x":1}}}');
  const batch = [{ name: "Fine", workflow_type: "plain" }, cyclic, proto, { name: "Big", workflow_type: "plain", default_params: { n: 10n } }];
  const r = wt.validateMany(batch);
  assert.equal(r.length, 4);
  assert.deepEqual(r.map((x) => x.ok), [true, false, false, false]);
  assert.deepEqual(r.slice(1), batch.slice(1).map((v) => wt.validateTemplate(v)));
  assert.ok(r[1].violations.some((v) => v.code === "CYCLE"), JSON.stringify(r[1]));
});
