// esbuild does not copy files named by `new URL(..., import.meta.url)`, so the automatic load
// fails here: calls must throw NOT_INITIALIZED saying what to do, and the documented one line
// (`await init(new URL(wasmUrl, import.meta.url))`, with esbuild's `--loader:.wasm=file`) must then load it.
import init, * as wt from "workflow-templates";
import wasmUrl from "workflow-templates/workflow_templates_bg.wasm";
import { check } from "../check.js";

async function run() {
  let before;
  try {
    wt.validateTemplate({});
  } catch (e) {
    before = e;
  }
  if (!(before instanceof wt.WorkflowTemplateError) || before.code !== "NOT_INITIALIZED" || !before.message.includes("init(")) {
    throw new Error(`a call before the wasm was loaded: ${before}`);
  }
  await init(new URL(wasmUrl, import.meta.url)); // the one line: where esbuild put the file
  return `before init: ${before.code}; after init: ${await check(wt, "indexeddb")}`;
}
run().then((result) => (window.__result = { ok: true, result }), (e) => (window.__result = { ok: false, error: String(e && e.stack || e) }));
