// A browser bundle (esbuild) of `workflow-templates/core` alone: the one documented line loads
// the core's own wasm (esbuild's `--loader:.wasm=file` gives its URL), then every function runs.
import init, * as core from "workflow-templates/core";
import wasmUrl from "workflow-templates/core/workflow_templates_core_bg.wasm";
import { checkCore } from "./check.js";

async function run() {
  const before = (() => {
    try {
      core.newId();
    } catch (e) {
      return e;
    }
  })();
  if (!(before instanceof core.WorkflowTemplateError) || before.code !== "NOT_INITIALIZED") throw new Error(`a call before the wasm was loaded: ${before}`);
  await init(new URL(wasmUrl, import.meta.url));
  return `before init: ${before.code}; ${checkCore(core)}`;
}
run().then((result) => (window.__result = { ok: true, result }), (e) => (window.__result = { ok: false, error: String(e && e.stack || e) }));
