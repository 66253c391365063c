import init, * as wt from "workflow-templates";
import { check } from "../check.js";

init().then(() => check(wt, "indexeddb")).then((result) => postMessage({ ok: true, result }), (e) => postMessage({ ok: false, error: String(e && e.stack || e) }));
