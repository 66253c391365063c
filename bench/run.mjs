// `npm run bench`: builds the peers' browser bundle, serves bench/ and pkg/ from 127.0.0.1, runs
// every benchmark of issue 4 in headless Chromium (playwright-core) and Firefox ESR (geckodriver's
// WebDriver API), prints one table per benchmark (medians, p95 where asked, throughput, and time
// ratios against each peer measured in the same page), checks the issue's targets, and writes
// everything to bench/results/latest.json (quick.json / partial.json for --quick / --only runs).
// Benchmarks, not tests: nothing here fails on a time.
//
//   npm run bench                          (after the README's set-up and scripts/build.sh)
//   npm run bench -- --quick               (small sizes: a smoke run of the harness, ~2 min)
//   npm run bench -- --browsers=chromium   (chromium, firefox or both; default both when found)
//   npm run bench -- --no-100k             (discovery at 10,000 only)
//   npm run bench -- --only=cold           (no benchmark of the plan: the cold start alone)
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, readFile, writeFile, mkdir, readdir, stat } from "node:fs/promises";
import { tmpdir, cpus } from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { startServer } from "./serve.mjs";
import { buildPeers } from "./build-peers.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const opt = (k, d) => { const a = [...args].find((x) => x.startsWith(`--${k}=`)); return a ? a.split("=")[1] : d; };
const QUICK = args.has("--quick");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";
const GECKODRIVER = process.env.GECKODRIVER || findOnPath("geckodriver");
const browsers = opt("browsers", [existsSync(CHROMIUM) && "chromium", existsSync(FIREFOX) && GECKODRIVER && "firefox"].filter(Boolean).join(",")).split(",").filter(Boolean);

function findOnPath(name) {
  for (const d of [...(process.env.PATH || "").split(":"), path.join(process.env.HOME || "/root", ".cargo/bin")]) {
    if (d && existsSync(path.join(d, name))) return path.join(d, name);
  }
  return null;
}

// ------------------------------------------------------------------------------ the plan
const N = QUICK ? 1000 : 10000;
const ONLY = opt("only", "").split(",").filter(Boolean); // e.g. --only=catalogOps,discovery
const FULL_PLAN = [
  ["validation", { n: N, rounds: QUICK ? 2 : 7 }],
  ["hashing", { n: N, rounds: QUICK ? 2 : 7, largeRounds: QUICK ? 3 : 21 }],
  ["import", { n: N, rounds: QUICK ? 1 : 5 }],
  ["catalogOps", { n: N, gets: QUICK ? 200 : 1000, usage: QUICK ? 50 : 300, resolveRounds: QUICK ? 10 : 100 }],
  ["discovery", { n: N, rounds: QUICK ? 3 : 15 }],
  ...(args.has("--no-100k") ? [] : [["discovery", { n: QUICK ? 5000 : 100000, rounds: QUICK ? 2 : 3 }]]),
];
// --only=discovery runs both sizes; --only=discovery_100000 one of them.
const PLAN = ONLY.length ? FULL_PLAN.filter(([name, o]) => ONLY.includes(name) || ONLY.includes(`${name}_${o.n}`)) : FULL_PLAN;
// A name that matches nothing (a typo) would silently leave only the cold start: refuse it.
const KNOWN = new Set(["cold", ...FULL_PLAN.flatMap(([name, o]) => [name, `${name}_${o.n}`])]);
const unknown = ONLY.filter((n) => !KNOWN.has(n));
if (unknown.length) {
  console.error(`--only: unknown ${unknown.join(", ")}; known: ${[...KNOWN].join(", ")}`);
  process.exit(2);
}
const COLD_RUNS = QUICK ? 3 : 9;

// ------------------------------------------------------------------------------ drivers
const CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--no-first-run", "--disable-sync", "--disable-quic"];

async function chromiumDriver(base) {
  const profile = await mkdtemp(path.join(tmpdir(), "wt-bench-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROME_ARGS });
  let version = null;
  return {
    name: "chromium",
    async run(name, options) {
      const page = await ctx.newPage();
      page.on("pageerror", (e) => console.error("  page error:", e.message));
      await page.goto(`${base}/bench/index.html`);
      await page.waitForFunction(() => window.ready || window.loadError, null, { timeout: 60000 });
      version ??= await page.evaluate(() => navigator.userAgent);
      const out = await page.evaluate(([n, o]) => window.bench.run(n, o), [name, options]);
      await page.close();
      return out;
    },
    version: () => `Chromium ${ctx.browser()?.version() ?? (version?.match(/Chrome\/([\d.]+)/) || [])[1]} (${execFileSync(CHROMIUM, ["--version"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim()})`,
    async close() { await ctx.close(); await rm(profile, { recursive: true, force: true }); },
  };
}

async function freePort() {
  return new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
}

async function firefoxDriver(base) {
  const port = await freePort();
  const gd = spawn(GECKODRIVER, ["--port", String(port), "--host", "127.0.0.1"], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const call = async (method, p, body) => {
    const res = await fetch(url + p, { method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body) });
    const j = await res.json();
    if (j.value && j.value.error) throw new Error(`webdriver ${p}: ${j.value.error}: ${j.value.message}`);
    return j.value;
  };
  for (let i = 0; ; i++) {
    try { await call("GET", "/status"); break; } catch (e) { if (i > 100) throw e; await new Promise((r) => setTimeout(r, 100)); }
  }
  const profile = await mkdtemp(path.join(tmpdir(), "wt-bench-firefox-"));
  const s = await call("POST", "/session", { capabilities: { alwaysMatch: { browserName: "firefox", "moz:firefoxOptions": {
    binary: FIREFOX, args: ["-headless", "-profile", profile],
    prefs: { "dom.indexedDB.warningQuota": 4096, "browser.shell.checkDefaultBrowser": false } } } } });
  const sid = s.sessionId;
  await call("POST", `/session/${sid}/timeouts`, { script: 3_600_000, pageLoad: 60_000 });
  return {
    name: "firefox",
    async run(name, options) {
      await call("POST", `/session/${sid}/url`, { url: "about:blank" });
      await call("POST", `/session/${sid}/url`, { url: `${base}/bench/index.html` });
      return call("POST", `/session/${sid}/execute/async`, {
        script: `const [n, o, done] = arguments;
          const go = () => window.ready ? window.bench.run(n, o).then(done, (e) => done({ error: String(e) }))
            : window.loadError ? done({ error: window.loadError }) : setTimeout(go, 10);
          go();`,
        args: [name, options],
      });
    },
    version: () => `Firefox ${s.capabilities.browserVersion} (${execFileSync(FIREFOX, ["--version"]).toString().trim()})`,
    async close() {
      try { await call("DELETE", `/session/${sid}`); } catch {}
      gd.kill();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------ stats and tables
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const fmt = (x, d = 1) => x == null || Number.isNaN(x) ? "-" : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 10 ? d : Math.max(d, 2));
const ms = (x) => x == null ? "-" : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString("en-US");

function table(header, rows, left = 1) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => "| " + r.map((c, i) => (i < left ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(" | ") + " |";
  return [line(header), "| " + w.map((x, i) => (i < left ? "-".repeat(x) : "-".repeat(x - 1) + ":")).join(" | ") + " |", ...rows.map(line)].join("\n");
}

/** Rows of contestants: median, p95?, throughput, and time ratio against each peer. */
function raceTable(times, { unitCount, unit, peers, p95 = false }) {
  // WebDriver returns object keys sorted: restore the contestants' order
  times = Object.fromEntries((times.order || Object.keys(times)).map((k) => [k, times[k]]));
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const header = ["contestant", "median ms", ...(p95 ? ["p95 ms"] : []), `${unit}/s`, ...peers.map((p) => `time ÷ ${p.label}`)];
  const rows = Object.entries(times).map(([k, v]) => [k, ms(med[k]), ...(p95 ? [ms(pct(v, 95))] : []), fmt(unitCount / (med[k] / 1000)),
    ...peers.map((p) => (k === p.key ? "1.00" : (med[k] / med[p.key]).toFixed(2)))]);
  return { header, rows, med };
}

// ------------------------------------------------------------------------------ per browser
async function runBrowser(driver, report) {
  const R = { browser: driver.name, results: {}, tables: [], targets: [] };
  const out = (s) => { console.log(s); R.tables.push(s); };
  const target = (what, goal, measured, met) => { R.targets.push({ target: what, goal, measured, met }); };
  // Cold start first, one fresh page each, on a browser that has written nothing yet: run
  // after the 100,000-row set-up it measured the storage process still settling those writes
  // (469 ms instead of 26-36: BENCHMARKS.md, "Targets of issue 4").
  process.stderr.write(`[${driver.name}] cold start x ${COLD_RUNS} ...\n`);
  const colds = [];
  for (let i = 0; i < COLD_RUNS; i++) colds.push(await driver.run("cold", {}));
  R.results.cold = colds;
  const bad = colds.find((c) => c.error);
  if (bad) out(`\ncold: ERROR ${bad.error}`);
  else {
    const col = (k) => colds.map((c) => c[k]);
    const rows = [
      ["init: fetch + compile + instantiate .wasm", ms(median(col("initMs"))), ms(Math.max(...col("initMs")))],
      ["open catalog (new IndexedDB database)", ms(median(col("openNewMs"))), ms(Math.max(...col("openNewMs")))],
      ["init + open", ms(median(col("totalMs"))), ms(Math.max(...col("totalMs")))],
      ["re-open (existing database)", ms(median(col("reopenMs"))), ms(Math.max(...col("reopenMs")))],
    ];
    out(`\n### 4. Cold start, ${COLD_RUNS} fresh pages, no HTTP cache (${driver.name})\n\n` + table(["step", "median ms", "max ms"], rows));
    target("cold start <= 100 ms", "<= 100 ms", `${ms(median(col("totalMs")))} ms (init ${ms(median(col("initMs")))} + open ${ms(median(col("openNewMs")))})`, median(col("totalMs")) <= 100);
  }
  for (const [name, options] of PLAN) {
    const key = name === "discovery" ? `discovery_${options.n}` : name;
    const t0 = Date.now();
    process.stderr.write(`[${driver.name}] ${key} ...`);
    // A benchmark that fails (a browser refusing a 100,000-row database, say) is reported and
    // the run goes on: the other results and the JSON file are still written.
    let r;
    try {
      r = await driver.run(name, options);
    } catch (e) {
      r = { error: String(e && e.message || e).slice(0, 500) };
    }
    process.stderr.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    R.results[key] = r;
    if (r.error) { out(`\n${key}: ERROR ${r.error}\n${r.details || ""}`); continue; }
    if (name === "validation") {
      const t = raceTable(r.times, { unitCount: r.n, unit: "rows", peers: [{ key: "ajv", label: "ajv" }, { key: "zod 4 safeParse", label: "zod" }] });
      out(`\n### 1. Validation of ${r.n.toLocaleString("en-US")} template drafts (${driver.name})\n` +
        `avg ${r.avgBytes} B of JSON each, ${r.invalid} invalid; validators disagreeing on ok/not-ok: ${r.disagreements.length}; ` +
        `ajv compile ${ms(r.ajvCompileMs)} ms (not timed below); ${r.rounds} rounds\n\n` + table(t.header, t.rows) +
        `\n\nOne draft with a \`__proto__\` key in default_params (not in the timed set): validateTemplate → ${r.protoCase.validateTemplate}; ` +
        `validateMany(JSON text) → ${r.protoCase.validateManyText}; validateMany(array) → ${r.protoCase.validateManyArray}; ajv ok=${r.protoCase.ajv}; zod ok=${r.protoCase.zod}` +
        (Object.keys(r.breakdown).length ? `\n\nWhere the time goes (one pass over the ${r.n.toLocaleString("en-US")} drafts): ` + Object.entries(r.breakdown).map(([k, v]) => `${k} ${ms(v)} ms`).join("; ") : ""));
      const best = Math.min(t.med["package validateMany(array)"], t.med["package validateMany(JSON text)"]);
      target("validation >= zod 4", "time ÷ zod <= 1", `${(best / t.med["zod 4 safeParse"]).toFixed(2)} (best package path)`, best <= t.med["zod 4 safeParse"]);
      target("validation >= ajv", "time ÷ ajv <= 1", `${(best / t.med.ajv).toFixed(2)} (best package path)`, best <= t.med.ajv);
    } else if (name === "hashing") {
      const sub = "canonicalize + subtle.digest (sequential await)", nob = "canonicalize + noble sha256";
      const t = raceTable(r.times, { unitCount: r.n, unit: "hashes", peers: [{ key: sub, label: "subtle" }, { key: nob, label: "noble" }] });
      const L = r.large;
      const lt = L.times.order.map((k) => [k, L.times[k]]).map(([k, v]) => [k, ms(median(v)), fmt(L.bytes / 1e6 / (median(v) / 1000), 1)]);
      out(`\n### 2. config_hash of ${r.n.toLocaleString("en-US")} templates (${driver.name})\n` +
        `hash mismatches between the three: ${r.mismatches}; ${r.rounds} rounds\n\n` + table(t.header, t.rows) +
        `\n\nWhere the time goes (medians, ms, same ${r.n.toLocaleString("en-US")} configurations): ` + r.breakdown.order.map((k) => `${k} ${ms(median(r.breakdown[k]))}`).join("; ") +
        `\n\nOne large default_params (${(L.bytes / 1024).toFixed(0)} KiB canonical; all agree: ${L.agree})\n\n` + table(["contestant", "median ms", "MB/s"], lt));
      const p = t.med["package configHash"];
      target("hash >= 5x canonicalize + subtle", "time ÷ subtle <= 0.20", (p / t.med[sub]).toFixed(2), p <= t.med[sub] / 5);
      target("hash >= canonicalize + noble", "time ÷ noble <= 1", (p / t.med[nob]).toFixed(2), p <= t.med[nob]);
    } else if (name === "import") {
      const raw = "raw IndexedDB put loop (1 tx)", dx = "Dexie bulkPut";
      const t = raceTable(r.times, { unitCount: r.n, unit: "rows", peers: [{ key: raw, label: "raw floor" }, { key: dx, label: "Dexie" }] });
      out(`\n### 3a. IndexedDB import of ${r.n.toLocaleString("en-US")} templates (${driver.name})\n` +
        `exported bundle ${(r.bundleBytes / 1e6).toFixed(1)} MB; rows written: ${JSON.stringify(r.counts)}; same stores and indexes in all three; ${r.rounds} rounds\n\n` + table(t.header, t.rows) +
        `\n\nIn-memory checks importAll has to make, timed alone (medians, ms): ` + r.checks.order.map((k) => `${k} ${ms(median(r.checks[k]))}`).join("; "));
      const p = t.med["package importAll"];
      target("import within 1.25x of raw IndexedDB", "time ÷ raw <= 1.25", (p / t.med[raw]).toFixed(2), p <= 1.25 * t.med[raw]);
      target("import faster than Dexie bulkPut", "time ÷ Dexie < 1", (p / t.med[dx]).toFixed(2), p < t.med[dx]);
    } else if (name === "catalogOps") {
      const usageRate = r.usage.count / (r.usage.ms / 1000);
      const rows = [
        [`get by id (${r.getTimes.length} random ids)`, ms(median(r.getTimes)), ms(pct(r.getTimes, 95)), fmt(1000 / median(r.getTimes))],
        [`  raw IndexedDB get (floor)`, ms(median(r.rawGet)), ms(pct(r.rawGet, 95)), fmt(1000 / median(r.rawGet))],
        [`resolve, ${r.chain.depth}-level chain (${r.chain.provenance} params)`, ms(median(r.chain.times)), ms(pct(r.chain.times, 95)), fmt(1000 / median(r.chain.times))],
        [`chain, ${r.chain.depth} levels`, ms(median(r.chain.chainTimes)), ms(pct(r.chain.chainTimes, 95)), fmt(1000 / median(r.chain.chainTimes))],
        [`recordUsage x ${r.usage.count} (sequential)`, ms(r.usage.ms / r.usage.count), "-", fmt(usageRate)],
      ];
      out(`\n### 3b. Catalog operations with ${r.n.toLocaleString("en-US")} stored templates (${driver.name})\n` +
        `usage_count after: ${r.usage.counted}${r.chain.error ? `; chain stopped: ${r.chain.error}` : ""}\n\n` + table(["operation", "median ms", "p95 ms", "ops/s"], rows));
      target("get p50 <= 0.5 ms", "<= 0.5 ms", `${ms(median(r.getTimes))} ms (p95 ${ms(pct(r.getTimes, 95))})`, median(r.getTimes) <= 0.5);
      target("resolve of 16 levels <= 2 ms", "<= 2 ms", `${ms(median(r.chain.times))} ms at ${r.chain.depth} levels`, median(r.chain.times) <= 2 && r.chain.depth === 16);
      target("recordUsage per second (no target)", "-", `${fmt(usageRate)}/s`, null);
    } else if (name === "discovery") {
      const rows = [
        ["discover popular, 20 items, page 1", ms(median(r.times)), ms(pct(r.times, 95))],
        ["discover popular, 20 items, offset 100", ms(median(r.pageTimes)), ms(pct(r.pageTimes, 95))],
        ["first discover after open", ms(r.firstMs), "-"],
        r.rawGetAllPublic.error
          ? [`  raw getAll of public latest rows: refused (${r.rawGetAllPublic.error.slice(0, 40)})`, "-", "-"]
          : [`  raw getAll of public latest rows (${r.rawGetAllPublic.candidates})`, ms(median(r.rawGetAllPublic.times)), "-"],
        [`  raw ordered-index cursor, 20 rows + count (design sketch)`, ms(median(r.orderedIndex.times)), ms(pct(r.orderedIndex.times, 95))],
        [`  raw ordered-index getAll(range, 20) + count (design sketch)`, ms(median(r.orderedIndex.getAll20)), ms(pct(r.orderedIndex.getAll20, 95))],
        [`    of which getAll(range, 20) alone`, ms(median(r.orderedIndex.rows20)), ms(pct(r.orderedIndex.rows20, 95))],
        [`    of which count() of public latest alone`, ms(median(r.orderedIndex.counts)), ms(pct(r.orderedIndex.counts, 95))],
      ];
      out(`\n### 3c. Discovery with ${r.n.toLocaleString("en-US")} stored templates (${driver.name})\n` +
        `visible to the viewer: ${r.total.toLocaleString("en-US")} (public latest of ~1000 owners + own 2% + built-ins); set-up (raw writes) ${(r.fillMs / 1000).toFixed(1)} s\n\n` +
        table(["operation", "median ms", "p95 ms"], rows));
      if (r.n >= 100000) target("discovery page <= 20 ms at 100,000", "<= 20 ms", `${ms(median(r.times))} ms`, median(r.times) <= 20);
      else target(`discovery page at ${r.n.toLocaleString("en-US")} (target is at 100,000)`, "<= 20 ms", `${ms(median(r.times))} ms`, median(r.times) <= 20);
    }
  }
  report.browsers.push({ ...R, version: driver.version() });
}

async function sizes() {
  const pkg = path.join(ROOT, "pkg");
  const wasm = await readFile(path.join(pkg, "workflow_templates_bg.wasm"));
  // What a browser loads: the entry, slim.js (the guarded API), loader.js, the glue and its snippets.
  const glueFiles = ["workflow_templates.js", "slim.js", "loader.js", "bindings.js"].map((f) => path.join(pkg, f)).filter((f) => existsSync(f));
  const walk = async (d) => { for (const e of await readdir(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) await walk(p); else if (p.endsWith(".js")) glueFiles.push(p); } };
  if (existsSync(path.join(pkg, "snippets"))) await walk(path.join(pkg, "snippets"));
  const glue = Buffer.concat(await Promise.all(glueFiles.map((f) => readFile(f))));
  const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
  const br = (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }).length;
  const coreFile = path.join(pkg, "core", "workflow_templates_core_bg.wasm");
  const core = existsSync(coreFile) ? await readFile(coreFile) : null;
  return { wasm: { raw: wasm.length, gzip: gz(wasm), brotli: br(wasm) },
    coreWasm: core && { raw: core.length, gzip: gz(core), brotli: br(core) }, glue: { files: glueFiles.map((f) => path.relative(ROOT, f)), raw: glue.length, gzip: gz(glue), brotli: br(glue) } };
}

// ------------------------------------------------------------------------------ main
if (!existsSync(path.join(ROOT, "pkg/workflow_templates_bg.wasm"))) {
  console.error("pkg/ is not built: run `bash scripts/setup.sh && bash scripts/build.sh` first.");
  process.exit(2);
}
await buildPeers(ROOT);
// the package's boundary walk (js/convert.js, copied by wasm-bindgen into pkg/snippets/)
const convertFile = (await readdir(path.join(ROOT, "pkg"), { recursive: true })).find((f) => f.endsWith("convert.js"));
// (only the validation benchmark times it; a plan without it, --only=cold say, runs the cold start alone)
for (const [name, o] of PLAN) if (name === "validation") o.convertUrl = convertFile ? "/pkg/" + convertFile.split(path.sep).join("/") : null;
const { server, base } = await startServer(ROOT);
const cpuModel = ((await readFile("/proc/cpuinfo", "utf8")).match(/model name\s*:\s*(.*)/) || [])[1] || cpus()[0]?.model;
const report = {
  date: new Date().toISOString(), command: `npm run bench${process.argv.length > 2 ? " -- " + process.argv.slice(2).join(" ") : ""}`, quick: QUICK,
  machine: { nproc: Number(execFileSync("nproc").toString().trim()), cpu: cpuModel, memGiB: +(((await readFile("/proc/meminfo", "utf8")).match(/MemTotal:\s*(\d+)/)[1] / 1048576).toFixed(1)),
    node: process.version, loadavg: (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ") },
  git: (() => { try { return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim(); } catch { return null; } })(),
  size: await sizes(), browsers: [],
};
const S = report.size;
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const sizeTable = `### 5. Size (pkg/)\n\n` + table(["file", "raw", "gzip -9", "brotli q11"], [
  ["workflow_templates_bg.wasm", kib(S.wasm.raw), kib(S.wasm.gzip), kib(S.wasm.brotli)],
  ...(S.coreWasm ? [["core/workflow_templates_core_bg.wasm", kib(S.coreWasm.raw), kib(S.coreWasm.gzip), kib(S.coreWasm.brotli)]] : []),
  [`JS glue (${S.glue.files.length} files)`, kib(S.glue.raw), kib(S.glue.gzip), kib(S.glue.brotli)],
]);
console.log(`machine: ${report.machine.nproc} CPUs, ${report.machine.cpu}, load ${report.machine.loadavg}\n`);
console.log(sizeTable);
try {
  for (const b of browsers) {
    const driver = b === "firefox" ? await firefoxDriver(base) : await chromiumDriver(base);
    try { await runBrowser(driver, report); } finally { await driver.close(); }
  }
} finally {
  server.close();
}
report.targets = [
  { target: ".wasm <= 150 KB gzipped", goal: "<= 150 KiB", measured: kib(S.wasm.gzip), met: S.wasm.gzip <= 150 * 1024, browser: "-" },
  ...report.browsers.flatMap((b) => b.targets.map((t) => ({ ...t, browser: b.browser }))),
];
const tt = table(["target", "browser", "goal", "measured", "met"], report.targets.map((t) => [t.target, t.browser, t.goal, t.measured, t.met == null ? "-" : t.met ? "met" : "MISSED"]), 5);
console.log("\n### Targets of issue 4\n\n" + tt);
report.sizeTable = sizeTable; report.targetsTable = tt;
await mkdir(path.join(ROOT, "bench/results"), { recursive: true });
// latest.json is the full run BENCHMARKS.md reads; a quick or partial (--only) run does not replace it.
const file = path.join(ROOT, QUICK ? "bench/results/quick.json" : ONLY.length ? "bench/results/partial.json" : "bench/results/latest.json");
await writeFile(file, JSON.stringify(report, null, 1) + "\n");
console.log(`\nbrowsers: ${report.browsers.map((b) => b.version).join("; ")}\nwritten: ${path.relative(ROOT, file)}`);
