// Persistent storage (issue 15, last trap): the IndexedDB catalog holds the only copy of the
// user's templates and browsers evict storage that is not persistent. The package says whether
// storage is persistent and asks for it (TemplateCatalog.storagePersisted /
// requestPersistentStorage); the editor asks when it opens on IndexedDB, shows the answer, and
// reminds the user to export when the answer is no. The browser's answer is stubbed per
// context (headless Chromium decides by itself), and the stub records that it was asked.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, text, noPageErrors } from "./harness.mjs";

let server, browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A context whose navigator.storage answers persisted() with `already` and persist() with `grant`. */
async function stubbedContext(already, grant) {
  const context = await browser.browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addInitScript(([already, grant]) => {
    window.__persistCalls = [];
    const s = navigator.storage;
    s.persisted = () => { window.__persistCalls.push("persisted"); return Promise.resolve(already); };
    s.persist = () => { window.__persistCalls.push("persist"); return Promise.resolve(grant); };
  }, [already, grant]);
  return context;
}

test("the editor on IndexedDB asks for persistent storage; refused: it says so and reminds to export", async () => {
  const { page, context } = await openEditor(browser.browser, server.url, { context: await stubbedContext(false, false) });
  await page.waitForFunction(() => document.body.dataset.persisted !== undefined);
  assert.equal(await page.evaluate(() => document.body.dataset.storage), "indexeddb");
  assert.deepEqual(await page.evaluate(() => window.__persistCalls), ["persisted", "persist"]);
  assert.equal(await page.evaluate(() => document.body.dataset.persisted), "false");
  assert.equal(await text(page, "#persist-badge"), "not persistent");
  assert.ok(await page.isVisible("#persist-notice"));
  assert.match(await text(page, "#persist-notice"), /may delete[\s\S]*Export/);
  assert.equal(await page.getAttribute("#persist-notice a", "href"), "#/data");
  noPageErrors(assert, page);
  await context.close();
});

test("granted (or already persistent): the badge says persistent and there is no reminder", async () => {
  for (const [already, grant, calls] of [[false, true, ["persisted", "persist"]], [true, false, ["persisted"]]]) {
    const { page, context } = await openEditor(browser.browser, server.url, { context: await stubbedContext(already, grant) });
    await page.waitForFunction(() => document.body.dataset.persisted !== undefined);
    assert.deepEqual(await page.evaluate(() => window.__persistCalls), calls);
    assert.equal(await page.evaluate(() => document.body.dataset.persisted), "true");
    assert.equal(await text(page, "#persist-badge"), "persistent");
    assert.equal(await page.isVisible("#persist-notice"), false);
    noPageErrors(assert, page);
    await context.close();
  }
});

test("the package's answers: the browser's own, and false (never a rejection) without the API", async () => {
  const { page, context } = await openEditor(browser.browser, server.url);
  const answers = await page.evaluate(async () => {
    const { TemplateCatalog } = await import("/pkg/workflow_templates.js");
    const real = [await TemplateCatalog.storagePersisted(), await navigator.storage.persisted()];
    const asked = await TemplateCatalog.requestPersistentStorage();
    Object.defineProperty(navigator, "storage", { value: undefined, configurable: true });
    const missing = [await TemplateCatalog.storagePersisted(), await TemplateCatalog.requestPersistentStorage()];
    Object.defineProperty(navigator, "storage", { value: { persisted: () => Promise.reject(new Error("x")), persist() { throw new Error("y"); } }, configurable: true });
    const failing = [await TemplateCatalog.storagePersisted(), await TemplateCatalog.requestPersistentStorage()];
    return { real, asked: typeof asked, missing, failing };
  });
  assert.equal(answers.real[0], answers.real[1], "storagePersisted() is navigator.storage.persisted()");
  assert.equal(answers.asked, "boolean");
  assert.deepEqual(answers.missing, [false, false]);
  assert.deepEqual(answers.failing, [false, false]);
  await context.close();
});
