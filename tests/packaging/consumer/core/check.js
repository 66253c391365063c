// What every consumer of `workflow-templates/core` checks through the installed package: real
// results of each storage-free function, coded errors of the exported class, and no catalog.
// `full` (optional): the main entry, whose answers the core's must equal. Throws on a mismatch.
const OWNER = "01JD0000000000000000000001";

// JSON text with object keys sorted (the order of keys is no part of these answers).
const text = (v) => JSON.stringify(v, (_, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));

function same(what, got, want) {
  if (text(got) !== text(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

// A whole record, its config_hash computed by the package.
function record(core, id, base, params) {
  const r = {
    id, created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z", owner_id: OWNER,
    name: `t-${id.slice(-2)}`, description: "", workflow_type: "plain", category: "custom", default_params: params,
    required_tools: null, required_retrievers: null, base_template_id: base, is_builtin: false, version: 1,
    is_latest: true, changelog: null, is_public: false, rating: null, rating_count: 0, usage_count: 0,
    success_rate: null, avg_response_time_ms: null, last_used_at: null, total_tokens_used: 0, total_cost: 0,
    avg_tokens_per_use: null, tags: null, extra_metadata: null, config_hash: "", estimated_complexity: null,
  };
  r.config_hash = core.configHash(r);
  return r;
}

export function checkCore(core, full) {
  if ("TemplateCatalog" in core || "builtinTemplates" in core) throw new Error("the core entry exports the catalog");
  const v = core.validateTemplate({ name: "x", workflow_type: "rag" });
  if (v.ok !== false || !v.violations.some((x) => x.code === "WORKFLOW_TYPE_MISMATCH")) throw new Error(`validateTemplate: ${JSON.stringify(v)}`);
  same("validateMany (JSON text)", core.validateMany(JSON.stringify([{ name: "a", workflow_type: "plain" }, { name: " b", workflow_type: "plain" }])).map((r) => r.ok), [true, false]);
  const err = thrown(() => core.configHash(5));
  if (!(err instanceof core.WorkflowTemplateError) || !(err instanceof Error) || err.code !== "VALIDATION_FAILED") {
    throw new Error(`configHash(5) did not throw a WorkflowTemplateError: ${err}`);
  }
  same("canonicalJson", core.canonicalJson({ b: 1, a: [1e21, 0.1, "\u00e9"] }), '{"a":[1e+21,0.1,"\u00e9"],"b":1}');
  const id = core.newId();
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) throw new Error(`newId: ${id}`);
  same("mergeParams", core.mergeParams({ a: { x: 1, y: 2 }, c: 3 }, { a: { y: null }, b: [1] }), { a: { x: 1 }, c: 3, b: [1] });
  same("diffRecords", core.diffRecords({ a: 1, k: true }, { a: 2, b: 3, k: true }), [
    { path: "/a", op: "replace", before: 1, after: 2 },
    { path: "/b", op: "add", before: null, after: 3 },
  ]);
  const leaf = id.slice(0, 24) + "AA";
  const root = id.slice(0, 24) + "BB";
  const chain = [record(core, leaf, root, { model: { temperature: 0.2 }, x: null }), record(core, root, null, { model: { name: "m" }, x: 1 })];
  const r = core.resolveRecords(chain);
  same("resolveRecords: effective params", r.effective.default_params, { model: { name: "m", temperature: 0.2 } });
  same("resolveRecords: provenance", r.provenance, { "/model/name": root, "/model/temperature": leaf });
  same("resolveRecords: chain", r.chain.map((l) => [l.id, l.level]), [[leaf, 0], [root, 1]]);
  // the resolved hash is the configHash of the effective configuration with no base
  same("resolveRecords: resolved_hash", r.resolved_hash, core.configHash({ ...r.effective, base_template_id: null }));
  const broken = thrown(() => core.resolveRecords([chain[0]]));
  if (!(broken instanceof core.WorkflowTemplateError) || broken.code !== "BASE_NOT_FOUND") throw new Error(`a chain without its root: ${broken}`);
  if (!core.errorCodes().includes("INHERITANCE_CYCLE") || !core.violationCodes().includes("CYCLE")) throw new Error("errorCodes / violationCodes");
  if (full) {
    same("configHash equals the main entry's", core.configHash(chain[1]), full.configHash(chain[1]));
    same("validateTemplate equals the main entry's", core.validateTemplate({ name: 5 }), full.validateTemplate({ name: 5 }));
  }
  return `core: validate, validateMany, ${err.code}, canonicalJson, newId, mergeParams, diffRecords, resolveRecords ${r.resolved_hash.slice(0, 12)}`;
}
