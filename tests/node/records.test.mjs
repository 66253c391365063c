// The storage-free functions of records the app holds (resolveRecords, mergeParams,
// diffRecords), through both Node entries: what the binding can break (argument conversion,
// error objects and codes) and that `workflow-templates/core` answers as the main entry does.
// The rules themselves are tested in Rust (src/inherit/chain.rs, src/inherit/tests.rs).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as full from "../../pkg/node.mjs";
import * as core from "../../pkg/core/node.mjs";

const OWNER = "01JD0000000000000000000001";
const ID = (n) => `01JD00000000000000000000${String(n).padStart(2, "0")}`;

function record(wt, n, base, params = {}) {
  const r = {
    id: ID(n), created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z", owner_id: OWNER,
    name: `t${n}`, description: "", workflow_type: "plain", category: "custom", default_params: params,
    required_tools: null, required_retrievers: null, base_template_id: base === null ? null : ID(base), is_builtin: false, version: 1,
    is_latest: true, changelog: null, is_public: false, rating: null, rating_count: 0, usage_count: 0, success_rate: null,
    avg_response_time_ms: null, last_used_at: null, total_tokens_used: 0, total_cost: 0, avg_tokens_per_use: null, tags: null,
    extra_metadata: null, config_hash: "", estimated_complexity: null,
  };
  r.config_hash = wt.configHash(r);
  return r;
}

function throwsCode(fn, code, Class) {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Class, `expected a WorkflowTemplateError, got ${error}`);
  assert.equal(error.code, code, error.message);
  return error;
}

for (const [name, wt] of [["main entry", full], ["core entry", core]]) {
  test(`${name}: resolveRecords answers with the resolve shape, and coded errors for every broken chain`, () => {
    const chain = [record(wt, 1, 2, { a: { x: 1 } }), record(wt, 2, 3, { a: { y: 2 }, b: 1 }), record(wt, 3, null, { b: 0, c: [1] })];
    const r = wt.resolveRecords(chain);
    assert.deepEqual(Object.keys(r).sort(), ["chain", "effective", "id", "provenance", "resolved_hash"]);
    assert.equal(r.id, ID(1));
    assert.deepEqual(r.effective.default_params, { a: { x: 1, y: 2 }, b: 1, c: [1] });
    assert.deepEqual(r.chain.map((l) => l.level), [0, 1, 2]);
    const E = wt.WorkflowTemplateError;
    throwsCode(() => wt.resolveRecords("not an array"), "INVALID_ARGUMENT", E);
    throwsCode(() => wt.resolveRecords([]), "INVALID_ARGUMENT", E);
    throwsCode(() => wt.resolveRecords(chain.slice(0, 2)), "BASE_NOT_FOUND", E);
    throwsCode(() => wt.resolveRecords([chain[0], chain[2]]), "BASE_NOT_FOUND", E);
    const loop = [record(wt, 1, 2), record(wt, 2, 1)];
    assert.deepEqual(throwsCode(() => wt.resolveRecords(loop), "INHERITANCE_CYCLE", E).details.ids, [ID(1), ID(2), ID(1)]);
    const deep = Array.from({ length: 17 }, (_, i) => record(wt, i + 1, i === 16 ? null : i + 2));
    throwsCode(() => wt.resolveRecords(deep), "INHERITANCE_TOO_DEEP", E);
    assert.equal(wt.resolveRecords(deep.slice(1)).chain.length, 16);
    // each record is validated whole; fields are located by the record's index
    const bad = { ...chain[1], name: "", config_hash: "0".repeat(64) };
    const v = throwsCode(() => wt.resolveRecords([chain[0], bad, chain[2]]), "VALIDATION_FAILED", E).details.violations;
    assert.deepEqual(v.map((x) => x.field).sort(), ["[1].config_hash", "[1].name"]);
    // values that are not JSON are refused at the boundary, not trapped
    const cyclic = { ...chain[2] };
    cyclic.default_params = { self: cyclic };
    throwsCode(() => wt.resolveRecords([cyclic]), "INVALID_ARGUMENT", E);
    throwsCode(() => wt.resolveRecords([{ ...chain[2], default_params: { n: 10n } }]), "INVALID_ARGUMENT", E);
  });

  test(`${name}: mergeParams and diffRecords convert their arguments and refuse what is not JSON`, () => {
    const E = wt.WorkflowTemplateError;
    assert.deepEqual(wt.mergeParams({ a: { x: 1, y: 2 }, k: [1] }, { a: { y: null }, k: [2] }), { a: { x: 1 }, k: [2] });
    assert.deepEqual(wt.mergeParams({}, {}), {});
    for (const bad of [5, null, [], "x", undefined]) {
      throwsCode(() => wt.mergeParams(bad, {}), "INVALID_ARGUMENT", E);
      throwsCode(() => wt.mergeParams({}, bad), "INVALID_ARGUMENT", E);
    }
    assert.deepEqual(wt.diffRecords({ a: 1 }, { a: 1 }), []);
    assert.deepEqual(wt.diffRecords({ a: { b: 1 } }, { a: {} }), [{ path: "/a/b", op: "remove", before: 1, after: null }]);
    assert.deepEqual(wt.diffRecords(1, "1"), [{ path: "", op: "replace", before: 1, after: "1" }]);
    const cyclic = {};
    cyclic.me = cyclic;
    throwsCode(() => wt.diffRecords(cyclic, {}), "INVALID_ARGUMENT", E);
    throwsCode(() => wt.diffRecords({}, { x: NaN }), "INVALID_ARGUMENT", E);
  });
}

test("the core entry answers as the main entry and has no catalog", () => {
  const chain = [record(full, 1, 2, { a: 1 }), record(full, 2, null, { b: 2 })];
  assert.deepEqual(core.resolveRecords(chain), full.resolveRecords(chain));
  assert.equal(core.configHash(chain[0]), full.configHash(chain[0]));
  assert.deepEqual(core.validateMany([{ name: "" }, chain[0]]), full.validateMany([{ name: "" }, chain[0]]));
  assert.equal(core.TemplateCatalog, undefined);
  assert.equal(core.builtinTemplates, undefined);
  assert.deepEqual(core.errorCodes(), full.errorCodes());
});
