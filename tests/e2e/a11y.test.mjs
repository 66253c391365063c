// Keyboard use, labels for screen readers, and layouts at laptop and phone widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, go, shot, createTemplate, text, noPageErrors } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Visible form controls without an accessible name (label, aria-label or aria-labelledby). */
const unlabelled = (page) => page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button, a[href]")]
  .filter((el) => el.offsetParent !== null || el.type === "radio")
  .filter((el) => {
    if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return false;
    if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return false;
    if ((el.tagName === "BUTTON" || el.tagName === "A") && el.textContent.trim()) return false;
    return true;
  })
  .map((el) => el.outerHTML.slice(0, 120)));

/** Presses Tab until the focused element matches `selector`; fails after `max` presses. */
async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

test("every control of every main view has an accessible name", async () => {
  const { page, context } = await openEditor(browser.browser, server.url);
  const id = await createTemplate(page, { name: "Labelled", params: '{ "a": 1 }' });
  for (const route of ["#/browse", "#/popular", "#/new", `#/t/${id}`, `#/t/${id}/inheritance`, `#/t/${id}/versions`, `#/t/${id}/stats`, "#/specs/new", "#/data", "#/t/00000000000000000000000002"]) {
    await go(page, route);
    assert.deepEqual(await unlabelled(page), [], route);
    const h1 = await page.$$eval("h1", (els) => els.length);
    assert.equal(h1, 1, `${route} has one h1`);
  }
  // field errors are tied to their fields for screen readers
  await go(page, "#/new");
  await page.getByLabel("Name", { exact: true }).fill("x");
  await page.getByLabel("Name", { exact: true }).fill("");
  await page.waitForSelector("#t-name[aria-invalid=true]");
  const describedBy = await page.getAttribute("#t-name", "aria-describedby");
  assert.ok(describedBy.split(" ").includes("err-name"));
  assert.match(await text(page, "#err-name"), /must not be empty/);
  noPageErrors(assert, page);
  await context.close();
});

test("keyboard only: open a template, create one, rate it", async () => {
  const { page, context } = await openEditor(browser.browser, server.url);
  // from the top of the page: skip link, then the nav, then the cards
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  await tabTo(page, 'a[href="#/t/00000000000000000000000003"]');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => location.hash === "#/t/00000000000000000000000003" && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.equal(await text(page, "#template-title"), "Code Assistant");

  await tabTo(page, 'a[href="#/new"], a[href="#/browse"]'); // nav is reachable
  await go(page, "#/new");
  await tabTo(page, "#t-name");
  await page.keyboard.type("Made with keys");
  await tabTo(page, "#t-workflow_type");
  await page.keyboard.press("ArrowDown"); // plain -> tools
  await tabTo(page, "#t-required_tools");
  await page.keyboard.type("web_search");
  await tabTo(page, "#t-default_params");
  await page.keyboard.press("Control+A");
  await page.keyboard.type('{ "k": 1 }');
  await tabTo(page, "#save");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.equal(await text(page, "#template-title"), "Made with keys");
  assert.equal(await page.inputValue("#t-workflow_type"), "tools");

  await tabTo(page, "#tab-stats");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#rate-form");
  await tabTo(page, "#star-1");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight"); // 3 stars
  await tabTo(page, "#rate");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /3\.0/.test(document.querySelector("#stat-rating")?.textContent ?? ""));

  // dialogs: Escape cancels, focus stays usable
  await go(page, "#/t/" + (await page.evaluate(() => location.hash.split("/")[2])));
  await page.getByRole("button", { name: "Save as new version…" }).focus();
  await page.keyboard.press("Enter");
  await page.waitForSelector("dialog[open]");
  assert.equal(await page.evaluate(() => document.activeElement.id), "changelog");
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector("dialog"));
  noPageErrors(assert, page);
  await context.close();
});

for (const [label, viewport] of [["laptop", { width: 1366, height: 768 }], ["phone", { width: 390, height: 844 }]]) {
  test(`readable at ${label} width (${viewport.width}px): no sideways scrolling`, async () => {
    const { page, context } = await openEditor(browser.browser, server.url, { viewport });
    const id = await createTemplate(page, { name: "Narrow check", base: "00000000000000000000000002", params: '{ "model": { "temperature": 0.3 } }' });
    for (const [route, name] of [["#/browse", "browse"], [`#/t/${id}`, "editor"], [`#/t/${id}/inheritance`, "inheritance"], [`#/t/${id}/stats`, "stats"], ["#/specs/new", "specs"], ["#/data", "data"]]) {
      await go(page, route);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${route} scrolls sideways by ${overflow}px at ${label} width`);
      if (label === "phone" || name === "editor") await shot(page, `${label}-${name}`);
    }
    noPageErrors(assert, page);
    await context.close();
  });
}
