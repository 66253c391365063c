// A module Worker without a bundler (import maps do not reach workers: the path is spelled out).
import * as wt from "/node_modules/workflow-templates/workflow_templates.js";
import { check } from "/check.js";

check(wt, "indexeddb").then((result) => postMessage({ ok: true, result }), (e) => postMessage({ ok: false, error: String(e && e.stack || e) }));
