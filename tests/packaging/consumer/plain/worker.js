// A module Worker without a bundler (import maps do not reach workers: the path is spelled out).
import init, * as wt from "/node_modules/workflow-templates/workflow_templates.js";
import { check } from "/check.js";

init().then(() => check(wt, "indexeddb")).then((result) => postMessage({ ok: true, result }), (e) => postMessage({ ok: false, error: String(e && e.stack || e) }));
