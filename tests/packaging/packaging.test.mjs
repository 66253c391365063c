// Packaging tests: `npm pack` of the built pkg/, installed into a throwaway consumer project
// (tests/packaging/consumer copied to target/packaging/consumer), where each consumer must run
// and check a real result (tests/packaging/consumer/check.js): Node ESM, Node CommonJS (without
// require(esm)), Vitest, a Vite build and a webpack 5 build (no config) loaded in headless
// Chromium with a module Worker (and the Vite dev server), an esbuild bundle, a plain <script type="module"> page with a
// module Worker, and tsc --strict (skipLibCheck false) for three module resolutions with and
// without the DOM lib. Run after `bash scripts/build.sh`:
//
//   node --test tests/packaging/packaging.test.mjs     (or ONLY=packaging bash scripts/test.sh)
//
// The consumer's dependencies are pinned by its package-lock.json and installed once (npm's
// cache, --prefer-offline); reruns only reinstall the tarball.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { root, startBrowser } from "../e2e/harness.mjs";

const run = promisify(execFile);
// PKG_DIR: another package folder to test (say, an older layout, to see these tests fail).
const PKG = process.env.PKG_DIR ?? join(root, "pkg");
const WORK = join(root, "target", "packaging");
const APP = join(WORK, "consumer");
const BIN = join(APP, "node_modules", ".bin");
const npmFlags = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];
let tarball;
let packed;

async function sh(cmd, args, opts = {}) {
  try {
    return await run(cmd, args, { cwd: APP, maxBuffer: 64 << 20, timeout: 240_000, ...opts });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${e.stdout ?? ""}\n${e.stderr ?? ""}\n${e.message}`);
  }
}

function result(stdout) {
  const line = stdout.split("\n").find((l) => l.includes("RESULT "));
  assert.ok(line, `no RESULT line in:\n${stdout}`);
  return line.slice(line.indexOf("RESULT ") + 7);
}

before(async () => {
  assert.ok(existsSync(join(PKG, "package.json")), `${PKG} is missing: run bash scripts/build.sh first`);
  mkdirSync(WORK, { recursive: true });
  const { stdout } = await sh("npm", ["pack", PKG, "--json", "--pack-destination", WORK, "--loglevel=error"], { cwd: WORK });
  packed = JSON.parse(stdout)[0];
  tarball = join(WORK, packed.filename);
  console.log(`tarball ${packed.filename}: ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${packed.files.length} files`);
  // The consumer's own files, fresh; node_modules stays while its package-lock.json does.
  cpSync(join(root, "tests", "packaging", "consumer"), APP, { recursive: true });
  for (const d of ["vite-page/dist", "web/dist", "webpack/dist", "esbuild/dist", "core/dist"]) rmSync(join(APP, d), { recursive: true, force: true });
  const stamp = createHash("sha256").update(readFileSync(join(APP, "package-lock.json"))).digest("hex");
  const stampFile = join(APP, "node_modules", ".packaging-stamp");
  if (!existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp) {
    // npm install, not npm ci: npm ci refuses this lock over an optional Windows-only dependency
    // of vite that the registry here does not list (npm 11); the lock still pins every version.
    await sh("npm", ["install", ...npmFlags]);
    writeFileSync(stampFile, stamp);
  }
  await sh("npm", ["install", "--no-save", ...npmFlags, tarball]);
});

test("npm pack lists only what users need", () => {
  const files = packed.files.map((f) => f.path).sort();
  const expected = ["LICENSE-APACHE", "LICENSE-MIT", "README.md", "bindings.js", "loader.js", "node.cjs", "node.d.cts", "node.d.mts",
    "node.mjs", "package.json", "slim.d.ts", "slim.js", "workflow_templates.d.ts", "workflow_templates.js", "workflow_templates_bg.wasm",
    // workflow-templates/core: the same shape around its own wasm
    ...["bindings.js", "loader.js", "node.cjs", "node.d.cts", "node.d.mts", "node.mjs", "slim.d.ts", "slim.js", "workflow_templates_core.d.ts",
      "workflow_templates_core.js", "workflow_templates_core_bg.wasm"].map((f) => `core/${f}`)];
  const isSnippet = (f) => /^(core\/)?snippets\//.test(f);
  assert.deepEqual(files.filter((f) => !isSnippet(f)), expected.sort());
  const snippets = (dir) => files.filter((f) => f.startsWith(`${dir}snippets/`)).map((f) => f.replace(/^(core\/)?snippets\/[^/]+\//, "")).sort();
  assert.deepEqual(snippets(""), ["js/convert.js", "js/hold.js", "js/idb.js", "js/outbox.js", "js/pull.js", "js/push.js", "js/remote.js", "js/replica.js", "js/storage.js"]);
  assert.deepEqual(snippets("core/"), ["js/convert.js"], "the core has no storage code");
  const manifest = JSON.parse(readFileSync(join(APP, "node_modules", "workflow-templates", "package.json"), "utf8"));
  assert.equal(manifest.repository, undefined, "no placeholder repository");
  assert.ok(manifest.engines.node && manifest.sideEffects && manifest.exports["./package.json"] && manifest.exports["./workflow_templates_bg.wasm"]);
  assert.ok(manifest.exports["./core"].node.import.types && manifest.exports["./core"].browser.types && manifest.exports["./core/workflow_templates_core_bg.wasm"]);
});

// SPEC section 15's budgets are 60 KiB (core) and 150 KiB (full) gzip; not met (BENCHMARKS.md
// "Where issue 12 ends" says where every KiB left goes). These ceilings, ~3 KiB above the sizes
// reached (88.7 and 342.2 KiB), keep them from growing back unnoticed: a change that needs more
// raises them in the same commit, with its row in BENCHMARKS.md.
const CORE_CEILING_KIB = 92;
const FULL_CEILING_KIB = 346;
test(`workflow-templates/core: its wasm at most ${CORE_CEILING_KIB} KiB gzip, under half the full one (at most ${FULL_CEILING_KIB} KiB)`, () => {
  const dir = join(APP, "node_modules", "workflow-templates");
  const gz = (f) => gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
  const core = gz("core/workflow_templates_core_bg.wasm");
  const full = gz("workflow_templates_bg.wasm");
  console.log(`wasm gzip: core ${(core / 1024).toFixed(1)} KiB, full ${(full / 1024).toFixed(1)} KiB`);
  assert.ok(core <= CORE_CEILING_KIB * 1024, `core wasm is ${core} B gzipped`);
  assert.ok(full <= FULL_CEILING_KIB * 1024, `full wasm is ${full} B gzipped`);
  assert.ok(core * 2 < full, "the core wasm holds catalog code");
});

test("workflow-templates/core in Node ESM, no loading code", async () => {
  const { stdout } = await sh(process.execPath, ["node/core.mjs"]);
  console.log(`core node esm: ${result(stdout)}`);
});

test("workflow-templates/core in Node CommonJS, no loading code, without require(esm)", async () => {
  const flags = process.features.require_module !== undefined || /^v(2[2-9]|20\.(19|[2-9]\d))/.test(process.version) ? ["--no-experimental-require-module"] : [];
  const { stdout } = await sh(process.execPath, [...flags, "node/core.cjs"]);
  console.log(`core node cjs: ${result(stdout)}`);
});

test("Node ESM: import with no loading code", async () => {
  const { stdout } = await sh(process.execPath, ["node/esm.mjs"]);
  console.log(`node esm: ${result(stdout)}`);
});

test("Node CommonJS: require with no loading code and without require(esm)", async () => {
  const flags = process.features.require_module !== undefined || /^v(2[2-9]|20\.(19|[2-9]\d))/.test(process.version) ? ["--no-experimental-require-module"] : [];
  const { stdout } = await sh(process.execPath, [...flags, "node/cjs.cjs"]);
  console.log(`node cjs ${flags.join(" ")}: ${result(stdout)}`);
});

test("Vitest (node environment)", async () => {
  const { stdout } = await sh(join(BIN, "vitest"), ["run", "--dir", "vitest", "--reporter=verbose"], { env: { ...process.env, CI: "true" } });
  console.log(`vitest: ${result(stdout)}`);
});

for (const tsc of [["typescript 5.9", () => join(BIN, "tsc")], ["typescript (repository)", () => join(root, "node_modules", ".bin", "tsc")]]) {
  for (const resolution of ["bundler", "node16", "nodenext"]) {
    for (const dom of [true, false]) {
      test(`tsc --strict, skipLibCheck false, ${tsc[0]}, moduleResolution ${resolution}, ${dom ? "with" : "without"} the DOM lib`, async () => {
        const name = `tsconfig.${resolution}.${dom ? "dom" : "nodom"}.json`;
        cpSync(join(APP, "ts", "consumer.ts"), join(APP, "ts", "consumer.mts"));
        writeFileSync(join(APP, "ts", name), JSON.stringify({
          compilerOptions: {
            strict: true, skipLibCheck: false, noEmit: true, target: "es2022", types: [],
            module: resolution === "bundler" ? "esnext" : resolution, moduleResolution: resolution,
            lib: dom ? ["es2022", "dom"] : ["es2022"],
          },
          // consumer.ts is CommonJS under node16/nodenext (require types), consumer.mts ESM.
          files: ["consumer.ts", "consumer.mts", "slim.mts", "core.mts"],
        }));
        await sh(tsc[1](), ["-p", join("ts", name)]);
      });
    }
  }
}

// ---- browsers -------------------------------------------------------------------------------
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
let server;
let base;
let chromium;

async function browser() {
  if (!server) {
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
      const file = join(APP, path.endsWith("/") ? path + "index.html" : path);
      if (!file.startsWith(APP) || !existsSync(file)) return res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${server.address().port}`;
    chromium = await startBrowser();
  }
  return chromium.browser;
}

async function load(path, origin) {
  const ctx = await (await browser()).newContext();
  try {
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) console.log(`  (${path}: HTTP ${r.status()} ${r.url()})`);
    });
    origin ??= base;
    await ctx.route((u) => !u.href.startsWith(origin), (r) => r.abort());
    await page.goto(origin + path);
    const handle = await page.waitForFunction(() => window.__result, null, { timeout: 60_000 });
    const out = await handle.jsonValue();
    assert.ok(out.ok, `${path}: ${out.error}\n${errors.join("\n")}`);
    assert.deepEqual(errors, [], `${path}: page errors`);
    return out.result;
  } finally {
    await ctx.close();
  }
}

after(async () => {
  if (chromium) await chromium.close();
  if (server) server.close();
});

test("Vite build (no config) of a page, served and run in Chromium", async () => {
  await sh(join(BIN, "vite"), ["build", "vite-page", "--base", "./", "--outDir", "dist", "--emptyOutDir", "--logLevel", "warn"]);
  console.log(`vite page: ${await load("/vite-page/dist/index.html")}`);
});

test("Vite build (no config) of a page with a module Worker, run in Chromium", async () => {
  await sh(join(BIN, "vite"), ["build", "web", "--base", "./", "--outDir", "dist", "--emptyOutDir", "--logLevel", "warn"]);
  console.log(`vite page + worker: ${await load("/web/dist/index.html")}`);
});

test("Vite dev server (no config) of a page, in Chromium", async () => {
  await browser();
  const { spawn } = await import("node:child_process");
  const vite = spawn(join(BIN, "vite"), ["vite-page", "--host", "127.0.0.1", "--port", "0", "--force"], { cwd: APP, stdio: ["ignore", "pipe", "pipe"], detached: false });
  try {
    const origin = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`vite dev did not start: ${out}`)), 30_000);
      const seen = (d) => {
        out += d;
        const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out.replace(/\x1b\[[0-9;]*m/g, ""));
        if (m) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${m[1]}`);
        }
      };
      vite.stdout.on("data", seen);
      vite.stderr.on("data", seen);
      vite.on("exit", (code) => reject(new Error(`vite dev exited ${code}: ${out}`)));
    });
    console.log(`vite dev: ${await load("/", origin)}`);
  } finally {
    vite.kill("SIGTERM");
  }
});

test("webpack 5 build (no config) run in Chromium, with a module Worker", async () => {
  await sh(join(BIN, "webpack"), ["--mode", "production"], { cwd: join(APP, "webpack") });
  console.log(`webpack: ${await load("/webpack/index.html")}`);
});

test("esbuild bundle: NOT_INITIALIZED before the one documented line, then it runs", async () => {
  await sh(join(BIN, "esbuild"), ["esbuild/main.js", "--bundle", "--format=esm", "--outdir=esbuild/dist", "--loader:.wasm=file", "--log-level=warning"]);
  console.log(`esbuild: ${await load("/esbuild/index.html")}`);
});

test("workflow-templates/core in an esbuild browser bundle: one await init(url), then real results", async () => {
  await sh(join(BIN, "esbuild"), ["core/main.js", "--bundle", "--format=esm", "--outdir=core/dist", "--loader:.wasm=file", "--log-level=warning"]);
  console.log(`core esbuild: ${await load("/core/index.html")}`);
});

test("plain <script type=\"module\"> page with a module Worker, no bundler", async () => {
  console.log(`plain page: ${await load("/plain/index.html")}`);
});
