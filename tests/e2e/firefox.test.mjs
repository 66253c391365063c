// The editor's main flows in Firefox: browse, create, edit + save, derive, versions, and what
// IndexedDB keeps across a reload; no console error or page error on the way, no request off
// the local server. Debian's firefox-esr driven by npm puppeteer-core over WebDriver BiDi
// (playwright-core drives only its own Firefox builds). FIREFOX=path overrides the browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import puppeteer from "puppeteer-core";
import { startServer } from "./harness.mjs";

const FIREFOX = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
const CODE_ASSISTANT = "00000000000000000000000003";
let server, browser, page;
const problems = []; // console errors, page errors, requests off the server

const ready = () => page.waitForFunction(() => document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, { timeout: 20_000 });
async function go(hash) {
  await page.evaluate((h) => { document.body.dataset.ready = "false"; location.hash = h; }, hash);
  await ready();
}
const text = (sel) => page.$eval(sel, (el) => el.innerText.trim());
const waitText = (sel, re) => page.waitForFunction((s, src) => new RegExp(src).test(document.querySelector(s)?.innerText ?? ""), { timeout: 20_000 }, sel, re.source);
/** Replaces a field's text the way typing does (input events), for inputs and textareas. */
const fill = (sel, value) => page.locator(sel).fill(value);
async function submitAndWait(buttonSel, leaving) {
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.click(buttonSel);
  await page.waitForFunction((old) => location.hash.startsWith("#/t/") && (!old || !location.hash.includes(old))
    && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, { timeout: 20_000 }, leaving ?? "");
  return page.evaluate(() => location.hash.split("/")[2]);
}

before(async () => {
  assert.ok(existsSync(FIREFOX), `${FIREFOX} is missing (apt-get install firefox-esr, or set FIREFOX)`);
  server = await startServer();
  browser = await puppeteer.launch({ browser: "firefox", executablePath: FIREFOX, headless: true });
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message ?? e}`));
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(server.url) && !/^(blob|data):/.test(url)) problems.push(`request off the server: ${url}`);
  });
  await page.setViewport({ width: 1280, height: 860 });
  await page.goto(`${server.url}#/browse`);
  await ready();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("Firefox: the editor opens on IndexedDB and browses the built-ins", async () => {
  assert.equal(await page.evaluate(() => document.body.dataset.storage), "indexeddb");
  assert.equal(await text("#storage-badge"), "IndexedDB");
  await waitText("#results", /Code Assistant/);
  await fill("#f-text", "research");
  await page.waitForFunction(() => [...document.querySelectorAll("#results .tcard-title")].map((e) => e.textContent).join("|") === "Research Analyst");
  await fill("#f-text", "");
  assert.deepEqual(problems, []);
});

test("Firefox: create, edit + save, derive, versions, and everything is still there after a reload", async () => {
  // create
  await go("#/new");
  await fill("#t-name", "Firefox flow");
  await fill("#t-default_params", '{ "zeta": 1, "alpha": 2 }');
  await waitText("#validation-summary", /No problems found/);
  const id = await submitAndWait("#save");
  assert.equal(await text("#template-title"), "Firefox flow");
  assert.equal(await page.$eval("#t-default_params", (t) => t.value), '{ "zeta": 1, "alpha": 2 }', "typed key order kept");

  // edit + save
  await fill("#t-description", "Edited in Firefox.");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.click("#save");
  await ready();
  assert.equal(await page.$eval("#t-description", (t) => t.value), "Edited in Firefox.");

  // derive from a built-in: the inherited configuration shows while editing
  await go(`#/new?base=${CODE_ASSISTANT}`);
  await waitText("#inherited-params", /\/run_tests\s+true\s+from Code Assistant/);
  await fill("#t-name", "Firefox child");
  await page.select("#t-workflow_type", "tools");
  await fill("#t-default_params", '{ "model": { "temperature": 0.4 } }');
  await waitText("#inherited-params", /temperature\s+0\.4\s+set here/);
  const child = await submitAndWait("#save");
  await go(`#/t/${child}/inheritance`);
  assert.match(await text("#chain"), /^Code Assistant\s+root[\s\S]*Firefox child \(this\)\s+derives from Code Assistant$/);

  // a new version with a changelog; the diff lists the change apart from bookkeeping
  await go(`#/t/${id}`);
  await fill("#t-description", "Second version.");
  await page.click("#save-version");
  await page.waitForSelector("dialog[open] #changelog");
  await fill("#changelog", "from Firefox");
  const v2 = await submitAndWait("dialog[open] button[type=submit]", id);
  await go(`#/t/${v2}/versions`);
  await waitText("#version-table", /v2[\s\S]*from Firefox[\s\S]*v1/);
  assert.match(await text("#diff-table"), /\/description\s+"Edited in Firefox\."\s+"Second version\."/);

  // reload: IndexedDB kept all of it
  await page.reload();
  await ready();
  await go(`#/t/${v2}`);
  assert.equal(await text("#template-title"), "Firefox flow");
  assert.match(await text(".template-head .meta"), /version 2 \(latest\)/);
  assert.equal(await page.$eval("#t-default_params", (t) => t.value), '{ "zeta": 1, "alpha": 2 }');
  await go(`#/t/${child}`);
  assert.equal(await text("#template-title"), "Firefox child");
  await go("#/browse");
  await page.select("#f-scope", "mine");
  await page.waitForFunction(() => /2 templates found/.test(document.querySelector("#results-summary")?.textContent ?? ""));
  assert.deepEqual(problems, []);
});
