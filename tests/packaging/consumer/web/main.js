// The browser app of the Vite and webpack consumers, with the one documented line.
import init, * as wt from "workflow-templates";
import { check } from "../check.js";

async function run() {
  await init();
  const page = await check(wt, "indexeddb");
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const fromWorker = await new Promise((resolve, reject) => {
    worker.onmessage = (e) => (e.data.ok ? resolve(e.data.result) : reject(new Error(e.data.error)));
    worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
  });
  return `page: ${page} | worker: ${fromWorker}`;
}
run().then((result) => (window.__result = { ok: true, result }), (e) => (window.__result = { ok: false, error: String(e && e.stack || e) }));
