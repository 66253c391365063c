// `npm run bench:replica`: the offline replica of a remote catalog (issue 15) in headless
// Chromium (playwright-core) against the reference server (SQLite, debug or release binary),
// printed as tables with a time ratio against a peer measured in the same run:
//
//   A. cold open of a replica holding 1,000 templates with the server unreachable (a fresh page
//      each run: wasm init + open + the first discover page), ÷ the plain IndexedDB catalog
//      holding the same 1,000 templates (same steps);
//   B. time to converge after reconnect with 100 queued writes (the `online` event until the
//      outbox is empty and the sync state is online), ÷ the same 100 writes made online through
//      `storage: "remote"` without a replica (sequential awaits).
//
// Offline = the browser context's route aborts requests to the server's origin (as in
// tests/e2e/replica.test.mjs). Benchmarks, not tests: nothing fails on a time. Results go to
// bench/results/replica.json; BENCHMARKS.md "Replica" keeps the numbers and the machine.
//
//   npm run bench:replica                  (after scripts/build.sh and cargo build -p workflow-templates-server)
//   npm run bench:replica -- --quick       (fewer runs)
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, mkdir, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const QUICK = process.argv.includes("--quick");
const TEMPLATES = 1000;
const QUEUED = 100;
const COLD_RUNS = QUICK ? 3 : 9;
const SYNC_ROUNDS = QUICK ? 2 : 5;
const BIN = process.env.WT_SERVER_BIN
  || [path.join(ROOT, "target/release/workflow-templates-server"), path.join(ROOT, "target/debug/workflow-templates-server")].find(existsSync);
const CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--no-first-run", "--disable-sync", "--disable-quic"];

const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ms = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString("en-US"));
function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => "| " + r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(" | ") + " |";
  return [line(header), "| " + w.map((x, i) => (i === 0 ? "-".repeat(x) : "-".repeat(x - 1) + ":")).join(" | ") + " |", ...rows.map(line)].join("\n");
}

if (!existsSync(path.join(ROOT, "pkg/workflow_templates_bg.wasm")) || !BIN) {
  console.error("needs pkg/ (bash scripts/build.sh) and the server binary (cargo build -p workflow-templates-server)");
  process.exit(2);
}

// ---- the server, its user, 1,000 templates ------------------------------------------------
const { server: pages, base } = await startServer(ROOT);
const dir = await mkdtemp(path.join(tmpdir(), "wt-bench-replica-"));
const db = `sqlite://${dir}/bench.db`;
const user = JSON.parse(execFileSync(BIN, ["user", "create", "--db", db, "--name", "Bench"], { encoding: "utf8" }).trim().split("\n").pop());
const child = spawn(BIN, ["serve", "--db", db, "--port", "0", "--cors-origin", base, "--log", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
const serverUrl = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => { out += d; const m = /listening on (http:\/\/[0-9.:]+)/.exec(out); if (m) resolve(m[1]); });
  child.on("exit", (c) => reject(new Error(`server exited ${c}: ${out}`)));
});
// The server goes with this process, whatever ends it.
process.on("exit", () => child.kill("SIGTERM"));
const auth = { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" };
const api = async (method, p, body) => {
  const res = await fetch(serverUrl + p, { method, headers: auth, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
};
const categories = ["general", "programming", "research", "data_analysis", "creative"];
for (let i = 0; i < TEMPLATES; i += 10) {
  await Promise.all(Array.from({ length: 10 }, (_, k) => api("POST", "/v1/templates", {
    name: `Bench ${i + k}`, workflow_type: "plain", category: categories[(i + k) % 5], is_public: (i + k) % 3 === 0,
    description: `Template number ${i + k} of the replica benchmark`, tags: [`t${(i + k) % 17}`], default_params: { temperature: ((i + k) % 10) / 10, max_tokens: 256 + i + k },
  })));
}
const bundle = await api("GET", "/v1/export");
const step = (what) => process.stderr.write(`[replica bench] ${what}\n`);
step(`${TEMPLATES} templates on the server`);

// ---- the browser: one context (one origin's storage), the server's origin behind a switch ----
const profile = await mkdtemp(path.join(tmpdir(), "wt-bench-replica-profile-"));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROME_ARGS });
let offline = false;
await ctx.route((u) => u.href.startsWith(`${serverUrl}/`), (r) => (offline ? r.abort("internetdisconnected") : r.continue()));
const options = { userId: user.user_id, storage: "remote", baseUrl: serverUrl, token: user.token, replica: { dbName: "wt-bench-replica" } };

/** A fresh page; `f(options, arg)` evaluated in it after nothing is loaded (the timing includes init). */
async function inPage(f, arg) {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error("  page error:", e.message));
  await page.goto(`${base}/bench/replica.html`);
  try {
    // Until the tab holds the replica's Web Lock (taken just after open), sync() asks a leader.
    await page.evaluate(() => {
      window.leader = async (dbName) => {
        while (!(await navigator.locks.query()).held.some((l) => l.name === `wt-replica:${dbName}`)) await new Promise((r) => setTimeout(r, 5));
      };
    });
    return await page.evaluate(async ({ src, options, arg }) => new Function("options", "arg", `return (${src})(options, arg);`)(options, arg),
      { src: f.toString(), options, arg });
  } finally {
    await page.close();
  }
}

// The replica's first (full) pull, online; then the plain IndexedDB catalog with the same records.
const firstPull = await inPage(async (options) => {
  const t0 = performance.now();
  const wt = await import("/pkg/workflow_templates.js");
  await wt.default();
  const cat = await wt.TemplateCatalog.open(options);
  await window.leader(options.replica.dbName);
  await cat.sync();
  const took = performance.now() - t0;
  const held = (await cat.discover({ includeBuiltin: false, limit: 1 })).total;
  cat.close();
  return { took, held };
});
step(`first full pull: ${Math.round(firstPull.took)} ms`);
await inPage(async (options, bundle) => {
  const wt = await import("/pkg/workflow_templates.js");
  await wt.default();
  const cat = await wt.TemplateCatalog.open({ userId: options.userId, storage: "indexeddb", dbName: "wt-bench-plain" });
  await cat.importAll(bundle);
  cat.close();
}, bundle);

// ---- A. cold open, offline --------------------------------------------------------------------
const coldOpen = async (options, plain) => {
  const t0 = performance.now();
  const wt = await import("/pkg/workflow_templates.js");
  await wt.default();
  const t1 = performance.now();
  const cat = await wt.TemplateCatalog.open(plain ? { userId: options.userId, storage: "indexeddb", dbName: "wt-bench-plain" } : options);
  const t2 = performance.now();
  const page = await cat.discover({ includeBuiltin: false, limit: 20 });
  const t3 = performance.now();
  cat.close();
  return { init: t1 - t0, open: t2 - t1, read: t3 - t2, total: t3 - t0, total_held: page.total, offline: page.offline === true };
};
step("plain IndexedDB catalog filled");
offline = true;
const cold = { replica: [], plain: [] };
for (let i = 0; i < COLD_RUNS; i++) {
  for (const plain of i % 2 ? [true, false] : [false, true]) cold[plain ? "plain" : "replica"].push(await inPage(coldOpen, plain));
}
const col = (runs, k) => median(runs.map((r) => r[k]));

// ---- B. converge after reconnect with 100 queued writes --------------------------------------
step("cold opens done");
await exposeSwitch();
const converge = [];
const online100 = [];
for (let round = 0; round < SYNC_ROUNDS; round++) {
  offline = false;
  // The same 100 writes online, without a replica (the peer): 50 creates, then an update of each.
  online100.push(await inPage(async (options, round) => {
    const wt = await import("/pkg/workflow_templates.js");
    await wt.default();
    const cat = await wt.TemplateCatalog.open({ userId: options.userId, storage: "remote", baseUrl: options.baseUrl, token: options.token });
    const t0 = performance.now();
    const made = [];
    for (let i = 0; i < 50; i++) made.push(await cat.create({ name: `Online ${round}-${i}`, workflow_type: "plain" }));
    for (const t of made) await cat.update(t.id, { description: "edited" });
    const took = performance.now() - t0;
    cat.close();
    return took;
  }, round));
  // The replica: the writes made offline, then the reconnect timed until the outbox is empty.
  converge.push(await inPage(async (options, { round, url }) => {
    const wt = await import("/pkg/workflow_templates.js");
    await wt.default();
    const cat = await wt.TemplateCatalog.open(options);
    await window.leader(options.replica.dbName);
    await cat.sync();
    // Offline from here: the harness flips its switch when asked.
    await window.goOffline();
    const made = [];
    for (let i = 0; i < 50; i++) made.push(await cat.create({ name: `Queued ${round}-${i}`, workflow_type: "plain" }));
    for (const t of made) await cat.update(t.id, { description: "edited offline" });
    const queued = (await cat.pending()).length;
    const done = new Promise((resolve) => {
      const check = () => { const s = cat.syncState(); if (s.pending === 0 && s.state === "online") resolve(performance.now()); };
      cat.subscribe((e) => { if (e.kind === "sync") check(); });
    });
    await window.goOnline();
    const t0 = performance.now();
    window.dispatchEvent(new Event("online"));
    const t1 = await done;
    cat.close();
    return { queued, took: t1 - t0, url };
  }, { round, url: serverUrl }));
  step(`round ${round}: online ${Math.round(online100.at(-1))} ms, converge ${Math.round(converge.at(-1).took)} ms`);
}

// The switch, exposed to the page of B (the page's own origin stays up).
async function exposeSwitch() {
  await ctx.exposeFunction("goOffline", () => { offline = true; });
  await ctx.exposeFunction("goOnline", () => { offline = false; });
}

// ---- report -------------------------------------------------------------------------------
const onServer = (await api("GET", "/v1/export")).workflow_templates.filter((t) => t.name.startsWith("Queued ") && t.description === "edited offline").length;
const A = table(["contestant (1,000 templates, server unreachable)", "init ms", "open ms", "first page ms", "total ms", "time ÷ IndexedDB"], [
  ["replica: open offline + discover", ms(col(cold.replica, "init")), ms(col(cold.replica, "open")), ms(col(cold.replica, "read")), ms(col(cold.replica, "total")),
    (col(cold.replica, "total") / col(cold.plain, "total")).toFixed(2)],
  ["plain IndexedDB catalog + discover (peer)", ms(col(cold.plain, "init")), ms(col(cold.plain, "open")), ms(col(cold.plain, "read")), ms(col(cold.plain, "total")), "1.00"],
]);
const B = table([`contestant (${QUEUED} writes: 50 creates + 50 updates)`, "median ms", "writes/s", "time ÷ online"], [
  ["replica: reconnect until converged", ms(median(converge.map((c) => c.took))), Math.round(QUEUED / (median(converge.map((c) => c.took)) / 1000)).toString(),
    (median(converge.map((c) => c.took)) / median(online100)).toFixed(2)],
  ["the same writes online, no replica (peer)", ms(median(online100)), Math.round(QUEUED / (median(online100) / 1000)).toString(), "1.00"],
]);
const machine = `${execFileSync("nproc").toString().trim()} CPUs, load ${(await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ")}`;
console.log(`machine: ${machine}; server ${path.relative(ROOT, BIN)}; Chromium ${ctx.browser()?.version() ?? ""}`);
console.log(`first full pull of ${TEMPLATES} templates (online): ${ms(firstPull.took)} ms, ${firstPull.held} held`);
console.log(`\n### A. Cold open of a replica, ${COLD_RUNS} fresh pages, offline (every run answered offline: ${cold.replica.every((r) => r.offline)}; held ${cold.replica[0].total_held})\n\n${A}`);
console.log(`\n### B. Converge after reconnect, ${SYNC_ROUNDS} rounds (queued ${converge.map((c) => c.queued).join(", ")}; on the server afterwards: ${onServer} of ${QUEUED / 2 * SYNC_ROUNDS} created and edited)\n\n${B}`);
await mkdir(path.join(ROOT, "bench/results"), { recursive: true });
await writeFile(path.join(ROOT, "bench/results/replica.json"), JSON.stringify({ date: new Date().toISOString(), machine, firstPull, cold, converge, online100, onServer }, null, 1) + "\n");

await ctx.close();
child.kill("SIGTERM");
pages.close();
await rm(dir, { recursive: true, force: true });
await rm(profile, { recursive: true, force: true });
