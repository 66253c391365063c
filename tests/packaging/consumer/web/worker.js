import * as wt from "workflow-templates";
import { check } from "../check.js";

check(wt, "indexeddb").then((result) => postMessage({ ok: true, result }), (e) => postMessage({ ok: false, error: String(e && e.stack || e) }));
