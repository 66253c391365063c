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
  page.setDefaultTimeout(20_000); // generous: the machine is shared with Rust builds
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  page.on("console", (m) => { if (m.type() === "error") page.errors.push(new Error(m.text())); });
  // Nothing from the internet: any request off 127.0.0.1 is aborted.
  await ctx.route((u) => !u.href.startsWith(url) && !u.protocol.startsWith("blob") && !u.protocol.startsWith("data"), (r) => r.abort());
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  return { page, context: ctx };
}

export async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
}

export async function go(page, hash) {
  await page.evaluate((h) => {
    if (location.hash === h) return;
    document.body.dataset.ready = "false";
    location.hash = h;
  }, hash);
  // A view left with unsaved edits (say, by a failed test) asks first: discard them.
  const state = await page.waitForFunction(() => (document.querySelector("dialog[open]") ? "dialog"
    : document.body.dataset.ready === "true" && document.body.dataset.route === location.hash ? "ready" : false));
  if ((await state.jsonValue()) === "dialog") {
    await page.getByRole("button", { name: "Discard and leave" }).click();
    await ready(page);
  }
}

export async function shot(page, name) {
  await mkdir(shots, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true, style: "#toast { display: none; }" });
}

/** The storage the page ended up using: "indexeddb", "local" or "memory". */
export const storageOf = (page) => page.evaluate(() => document.body.dataset.storage);

/** The hash route of the page, e.g. "#/t/01J...". */
export const hashOf = (page) => page.evaluate(() => location.hash);

/**
 * Creates a template through the editor form (like a user would) and returns its id.
 * `base` is the id of a template to derive from (opened via its Derive link route).
 */
export async function createTemplate(page, { name, type, category, tools, retrievers, params, tags, isPublic, base, description } = {}) {
  await go(page, base ? `#/new?base=${base}` : "#/new");
  await page.getByLabel("Name", { exact: true }).fill(name);
  if (description) await page.getByLabel("Description", { exact: true }).fill(description);
  if (type) await page.getByLabel("Workflow type").selectOption(type);
  if (category) await page.getByLabel("Category").selectOption(category);
  if (tools) await page.getByLabel("Required tools").fill(tools);
  if (retrievers) await page.getByLabel("Required retrievers").fill(retrievers);
  if (params !== undefined) await page.getByLabel("Default parameters (JSON object)").fill(params);
  if (tags) await page.getByLabel("Tags").fill(tags);
  if (isPublic) await page.getByLabel(/^Public/).check();
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  return (await hashOf(page)).split("/")[2];
}

/** Text of an element, trimmed; "" when absent. */
export async function text(page, selector) {
  const el = await page.$(selector);
  return el ? (await el.innerText()).trim() : "";
}

/** Waits until `selector`'s text matches `pattern` (a RegExp or substring). */
export async function waitText(page, selector, pattern, timeout = 15_000) {
  const source = pattern instanceof RegExp ? pattern.source : pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const flags = pattern instanceof RegExp ? pattern.flags : "";
  await page.waitForFunction(([sel, src, fl]) => {
    const el = document.querySelector(sel);
    return el && new RegExp(src, fl).test(el.innerText);
  }, [selector, source, flags], { timeout });
}

/** Fails when the page logged an error or threw. */
export function noPageErrors(assert, page) {
  assert.deepEqual(page.errors.map(String), []);
}
