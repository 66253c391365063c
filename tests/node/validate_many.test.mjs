// validateMany: the batch form of validateTemplate (an array, or its JSON text).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import init, * as wt from "../../pkg/workflow_templates.js";

await init({ module_or_path: await readFile(new URL("../../pkg/workflow_templates_bg.wasm", import.meta.url)) });

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
  const cyclic = [{}];
  cyclic[0].self = cyclic;
  assert.throws(() => wt.validateMany(cyclic), (e) => e.code === "INVALID_ARGUMENT");
});
