// What every consumer checks through the installed package: a validation result, a coded error
// of the exported class, and a catalog create/get round trip. Throws on any mismatch.
export async function check(wt, storage = "memory") {
  const v = wt.validateTemplate({ name: "x", workflow_type: "rag" });
  const codes = v.violations.map((x) => x.code);
  if (v.ok !== false || !codes.includes("WORKFLOW_TYPE_MISMATCH")) throw new Error(`validateTemplate: ${JSON.stringify(v)}`);
  let err;
  try {
    wt.configHash(5);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof wt.WorkflowTemplateError) || !(err instanceof Error) || err.code !== "VALIDATION_FAILED" || err.name !== "WorkflowTemplateError") {
    throw new Error(`configHash(5) did not throw a WorkflowTemplateError: ${err}`);
  }
  const catalog = await wt.TemplateCatalog.open({ userId: "01JD0000000000000000000001", storage, dbName: `pkgtest-${wt.newId()}` });
  const made = await catalog.create({ name: "Packaged", workflow_type: "plain", default_params: { model: { temperature: 0 } } });
  const got = await catalog.get(made.id);
  if (got.id !== made.id || got.name !== "Packaged" || got.config_hash !== made.config_hash || !/^[0-9a-f]{64}$/.test(got.config_hash)) {
    throw new Error(`catalog round trip: ${JSON.stringify(got)}`);
  }
  const storageUsed = catalog.storage;
  catalog.close();
  return `validate ${codes.join(",")}; ${err.code} instanceof WorkflowTemplateError; ${storageUsed} create/get ${got.config_hash.slice(0, 12)}`;
}
