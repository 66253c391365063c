// workflow-templates/core under tsc --strict: its functions and types, and no catalog.
import init, { configHash, diffRecords, mergeParams, resolveRecords, validateTemplate, WorkflowTemplateError, type Change, type Resolution, type WorkflowTemplate } from "workflow-templates/core";
import * as core from "workflow-templates/core";

export async function useCore(chain: WorkflowTemplate[]): Promise<string> {
  await init();
  // @ts-expect-error: the core entry has no catalog
  void core.TemplateCatalog;
  const r: Resolution = resolveRecords(chain);
  const changes: Change[] = diffRecords(chain[0], chain[1]);
  const merged: Record<string, unknown> = mergeParams({ a: 1 }, { b: null });
  try {
    configHash({ name: "x", workflow_type: "plain", default_params: { a: 1 } });
  } catch (e) {
    if (e instanceof WorkflowTemplateError) return e.code;
  }
  return `${validateTemplate({}).ok} ${r.resolved_hash} ${changes.length} ${Object.keys(merged).length}`;
}
