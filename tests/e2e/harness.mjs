// Shared setup of the editor's end-to-end tests: the static server (scripts/serve.mjs on a free
// loopback port), Debian's Chromium through playwright-core (no browser download, no network),
// and small helpers. Screenshots go to test-artifacts/screenshots/.
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const shots = join(root, "test-artifacts", "screenshots");

export async function startServer() {
  await access(join(root, "pkg", "workflow_templates.js")).catch(() => {
    throw new Error("pkg/ is missing: run `bash scripts/build.sh` first");
  });
  const child = spawn(process.execPath, [join(root, "scripts", "serve.mjs")], {
    env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    child.stderr.on("data", (d) => { out += d; });
    child.on("exit", (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  return { url, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
}

export async function startBrowser() {
  const userDataDir = await mkdtemp(join(tmpdir(), "wt-e2e-"));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--no-first-run", "--disable-quic", "--disable-sync", "--disable-dev-shm-usage", `--user-data-dir=${userDataDir}`],
  }).catch(async () => chromium.launch({ // playwright refuses --user-data-dir in args on some versions
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--no-first-run", "--disable-quic", "--disable-sync", "--disable-dev-shm-usage"],
  }));
  return { browser, close: async () => { await browser.close(); await rm(userDataDir, { recursive: true, force: true }); } };
}

/** A fresh context (own storage) with a page on the editor; page errors fail the test. */
export async function openEditor(browser, url, { viewport = { width: 1280, height: 860 }, context } = {}) {
  const ctx = context ?? await browser.newContext({ viewport, acceptDownloads: true });
  const page = await ctx.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  page.on("console", (m) => { if (m.type() === "error") page.errors.push(new Error(m.text())); });
  // Nothing from the internet: any request off 127.0.0.1 is aborted.
  await ctx.route((u) => !u.href.startsWith(url) && !u.protocol.startsWith("blob") && !u.protocol.startsWith("data"), (r) => r.abort());
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, context: ctx };
}

export async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]');
}

export async function go(page, hash) {
  await page.evaluate((h) => { document.body.dataset.ready = "false"; location.hash = h; }, hash);
  await ready(page);
}

export async function shot(page, name) {
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** The storage the page ended up using: "indexeddb", "local" or "memory". */
export const storageOf = (page) => page.evaluate(() => document.body.dataset.storage);
