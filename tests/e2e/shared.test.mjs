// Scenarios that need persistent storage shared between tabs (IndexedDB, or localStorage):
// reload persistence, live updates across two tabs, CONFLICT with reload/overwrite, and access
// control between acting users, and the fallbacks when IndexedDB (and localStorage) are missing.
// Should the page ever end up on memory storage, the shared-storage scenarios skip, saying why.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, go, shot, createTemplate, text, waitText, hashOf, noPageErrors, storageOf, ready } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const NEEDS = "needs persistent shared storage, but the page fell back to memory";

async function twoTabs() {
  const a = await openEditor(browser.browser, server.url);
  const b = await openEditor(browser.browser, server.url, { context: a.context });
  return { a: a.page, b: b.page, context: a.context };
}

test("the page opens IndexedDB by default, or says clearly what it fell back to", async () => {
  const { page, context } = await openEditor(browser.browser, server.url);
  const storage = await storageOf(page);
  assert.ok(["indexeddb", "local", "memory"].includes(storage));
  if (storage === "indexeddb") {
    assert.equal(await page.isHidden("#storage-notice"), true);
    assert.equal(await text(page, "#storage-badge"), "IndexedDB");
  } else {
    assert.match(await text(page, "#storage-notice"), /STORAGE_UNAVAILABLE/);
    if (storage === "memory") assert.match(await text(page, "#storage-notice"), /lost when you reload/);
  }
  noPageErrors(assert, page);
  await context.close();
});

test("templates and the acting user survive a reload", async (t) => {
  const { page, context } = await openEditor(browser.browser, server.url);
  if (await storageOf(page) === "memory") { await context.close(); assert.fail(NEEDS); }
  const id = await createTemplate(page, { name: "Persisted one", params: '{ "kept": true }', tags: "keep" });
  await page.reload();
  await ready(page);
  assert.equal(await hashOf(page), `#/t/${id}`);
  assert.equal(await text(page, "#template-title"), "Persisted one");
  assert.deepEqual(JSON.parse(await page.inputValue("#t-default_params")), { kept: true });
  await page.getByLabel("Acting as").selectOption("01JD0000000000000000000002") /* Bob */;
  await page.waitForFunction(() => document.body.dataset.user?.endsWith("2") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  await page.reload();
  await ready(page);
  assert.match(await page.$eval("#user-select", (s) => s.selectedOptions[0].textContent), /^Bob/);
  noPageErrors(assert, page);
  await context.close();
});

test("another tab's changes appear live", async (t) => {
  const { a, b, context } = await twoTabs();
  if (await storageOf(a) === "memory") { await context.close(); assert.fail(NEEDS); }
  await go(a, "#/browse");
  const id = await createTemplate(b, { name: "From tab B" });
  await waitText(a, "#results", "From tab B"); // no reload in tab A
  await go(a, `#/t/${id}`);
  await b.getByLabel("Description", { exact: true }).fill("edited in B");
  await b.getByRole("button", { name: "Save changes" }).click();
  await waitText(b, "#toast", "Saved");
  await a.waitForSelector("#changed-elsewhere");
  await a.waitForFunction(() => document.querySelector("#t-description")?.value === "edited in B");
  await shot(a, "live-update");
  noPageErrors(assert, a);
  noPageErrors(assert, b);
  await context.close();
});

test("CONFLICT: a clear message with the choice to reload or overwrite", async (t) => {
  const { a, b, context } = await twoTabs();
  if (await storageOf(a) === "memory") { await context.close(); assert.fail(NEEDS); }
  const id = await createTemplate(a, { name: "Contested" });
  await go(b, `#/t/${id}`);
  // B starts editing, then A saves first
  await b.getByLabel("Description", { exact: true }).fill("B's draft");
  await a.getByLabel("Description", { exact: true }).fill("A's version");
  await a.getByRole("button", { name: "Save changes" }).click();
  await waitText(a, "#toast", "Saved");
  await b.waitForSelector("#changed-elsewhere"); // B is told, its draft stays
  assert.equal(await b.inputValue("#t-description"), "B's draft");
  await b.getByRole("button", { name: "Save changes" }).click();
  await waitText(b, "#form-problem", "CONFLICT");
  assert.match(await text(b, "#form-problem"), /changed elsewhere/);
  await waitText(b, "#conflict-fields", "Changed there: description.");
  assert.equal(await b.inputValue("#t-description"), "B's draft");
  await shot(b, "conflict");
  // overwrite: B's draft wins, A follows live
  await b.getByRole("button", { name: "Overwrite with my version" }).click();
  await waitText(b, "#toast", "Saved");
  await a.waitForFunction(() => document.querySelector("#t-description")?.value === "B's draft");

  // and the other choice: reload the saved version
  await b.getByLabel("Description", { exact: true }).fill("B again");
  await a.getByLabel("Description", { exact: true }).fill("A again");
  await a.getByRole("button", { name: "Save changes" }).click();
  await b.waitForSelector("#changed-elsewhere");
  await b.getByRole("button", { name: "Save changes" }).click();
  await waitText(b, "#form-problem", "CONFLICT");
  await b.getByRole("button", { name: "Reload the saved version (discard my edits)" }).click();
  await b.waitForFunction(() => document.querySelector("#t-description")?.value === "A again");
  noPageErrors(assert, a);
  noPageErrors(assert, b);
  await context.close();
});

test("switching the acting user: private stays private, public can be derived", async (t) => {
  const { page, context } = await openEditor(browser.browser, server.url);
  if (await storageOf(page) === "memory") { await context.close(); assert.fail(NEEDS); }
  const secret = await createTemplate(page, { name: "Secret plan" });
  const shared = await createTemplate(page, { name: "Shared recipe", isPublic: true, params: '{ "tone": "warm" }' });
  await page.getByLabel("Acting as").selectOption("01JD0000000000000000000002") /* Bob */;
  await page.waitForFunction(() => document.body.dataset.user?.endsWith("2") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  await go(page, "#/browse");
  await page.getByLabel("Show", { exact: true }).selectOption("nobuiltin");
  await waitText(page, "#results", "Shared recipe");
  assert.doesNotMatch(await text(page, "#results"), /Secret plan/);
  await go(page, `#/t/${secret}`);
  await page.waitForSelector('.banner.error[data-code="NOT_FOUND"]');
  await shot(page, "access-not-found");
  await go(page, `#/t/${shared}`);
  assert.match(await text(page, "#readonly-note"), /belongs to someone else/);
  const copy = await createTemplate(page, { name: "Bob's copy", base: shared });
  await go(page, `#/t/${copy}/inheritance`);
  assert.match(await text(page, "#chain"), /Shared recipe[\s\S]*Bob's copy/);
  await page.getByLabel("Acting as").selectOption("01JD0000000000000000000001") /* Alice */;
  await page.waitForFunction(() => document.body.dataset.user?.endsWith("1") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  await page.waitForSelector('.banner.error[data-code="NOT_FOUND"]'); // Bob's private copy
  await go(page, `#/t/${secret}`);
  assert.equal(await text(page, "#template-title"), "Secret plan");
  noPageErrors(assert, page);
  await context.close();
});

test("without IndexedDB: falls back to localStorage, then memory, and says so", async () => {
  const ctx = await browser.browser.newContext();
  await ctx.addInitScript(() => { Object.defineProperty(window, "indexedDB", { value: undefined, configurable: true }); });
  const { page } = await openEditor(browser.browser, server.url, { context: ctx });
  assert.equal(await storageOf(page), "local");
  assert.match(await text(page, "#storage-notice"), /Saving to localStorage instead of IndexedDB[\s\S]*STORAGE_UNAVAILABLE/);
  assert.equal(await text(page, "#storage-badge"), "localStorage");
  const id = await createTemplate(page, { name: "Kept in localStorage" });
  await page.reload();
  await ready(page);
  assert.equal(await hashOf(page), `#/t/${id}`);
  assert.equal(await text(page, "#template-title"), "Kept in localStorage");
  noPageErrors(assert, page);
  await ctx.close();

  const bare = await browser.browser.newContext();
  await bare.addInitScript(() => {
    Object.defineProperty(window, "indexedDB", { value: undefined, configurable: true });
    Object.defineProperty(window, "localStorage", { get() { throw new DOMException("blocked", "SecurityError"); }, configurable: true });
  });
  const { page: mem } = await openEditor(browser.browser, server.url, { context: bare });
  assert.equal(await storageOf(mem), "memory");
  assert.match(await text(mem, "#storage-notice"), /memory only[\s\S]*lost when you reload/);
  await createTemplate(mem, { name: "Still works in memory" });
  await shot(mem, "storage-fallback");
  await bare.close();
});
