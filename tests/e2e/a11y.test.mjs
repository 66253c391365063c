// Keyboard use, labels for screen readers, and layouts at laptop and phone widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
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
    for (const [route, name] of [["#/browse", "browse"], [`#/t/${id}`, "editor"], [`#/t/${id}/inheritance`, "inheritance"], [`#/t/${id}/stats`, "stats"], [`#/t/${id}/versions`, "versions"], ["#/specs/new", "specs"], ["#/data", "data"]]) {
      await go(page, route);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${route} scrolls sideways by ${overflow}px at ${label} width`);
      if (label === "phone" || name === "editor") await shot(page, `${label}-${name}`);
    }
    noPageErrors(assert, page);
    await context.close();
  });
}

// ---- axe-core: WCAG 2.1 A/AA on every route and tab, light and dark ---------------------------
// axe-core comes from node_modules (devDependency) and is injected into the page: nothing from
// the network. Best-practice rules (heading order, landmarks) run too.
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** Violations of the page as it is now: [{ rule, impact, where: "route", targets }]. */
async function axeViolations(page, where) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ rule: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  }, AXE_TAGS);
  return found.map((v) => ({ where, ...v }));
}

for (const colorScheme of ["light", "dark"]) {
  test(`axe-core finds no WCAG 2.1 AA (or best-practice) violation on any route or tab (${colorScheme})`, async () => {
    const context = await browser.browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme });
    const { page } = await openEditor(browser.browser, server.url, { context });
    const id = await createTemplate(page, { name: "Axe base", type: "tools", tools: "web_search", params: '{ "a": 1 }', isPublic: true });
    const child = await createTemplate(page, { name: "Axe child", base: id, params: '{ "b": 2 }' });
    // a second version (so the diff shows) and a rating (so the statistics show values)
    await go(page, `#/t/${child}`);
    await page.getByRole("button", { name: "Save as new version…" }).click();
    await page.fill("#changelog", "second");
    await page.getByRole("button", { name: "Create version" }).click();
    await page.waitForFunction((old) => location.hash.startsWith("#/t/") && !location.hash.includes(old) && document.body.dataset.ready === "true", child);
    const v2 = (await page.evaluate(() => location.hash)).split("/")[2];
    await go(page, `#/t/${v2}/stats`);
    await page.check("#star-4", { force: true });
    await page.click("#rate");
    await page.waitForFunction(() => /4\.0/.test(document.querySelector("#stat-rating")?.textContent ?? ""));
    await go(page, "#/specs/new");
    await page.getByLabel("Name", { exact: true }).fill("Axe spec");
    await page.getByRole("button", { name: "Create spec" }).click();
    await page.waitForFunction(() => /^#\/specs\/[0-9A-Z]{26}$/.test(location.hash) && document.body.dataset.ready === "true");
    const spec = await page.evaluate(() => location.hash);

    const routes = ["#/browse", "#/popular", "#/new", `#/new?base=${id}`, `#/t/${v2}`, `#/t/${v2}/inheritance`,
      `#/t/${v2}/versions`, `#/t/${v2}/stats`, `#/t/${child}`, "#/t/00000000000000000000000003", "#/t/00000000000000000000000003/inheritance",
      "#/specs", "#/specs/new", spec, "#/data"];
    const all = [];
    for (const route of routes) {
      await go(page, route);
      all.push(...await axeViolations(page, route));
    }
    // labels: a badge with its remove button, the Set label dialog open with a refused name,
    // the Restore dialog, the label filter and an Open by name error
    await go(page, `#/t/${v2}/versions`);
    await page.click(`#version-table tr[data-version="2"] [data-action="set-label"]`);
    await page.fill("#label-name", "production");
    await page.click("#label-submit");
    await page.waitForSelector(`#version-table tr[data-version="2"] .label-badge[data-label="production"]`);
    await page.click(`#version-table tr[data-version="1"] [data-action="set-label"]`);
    await page.fill("#label-name", "Not OK");
    await page.click("#label-submit");
    await page.waitForSelector("#label-name[aria-invalid=true]");
    all.push(...await axeViolations(page, "Set label dialog"));
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => !document.querySelector("dialog"));
    all.push(...await axeViolations(page, "versions with a label"));
    await page.click(`#version-table tr[data-version="1"] [data-action="restore"]`);
    await page.waitForSelector("#restore-changelog");
    all.push(...await axeViolations(page, "Restore dialog"));
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => !document.querySelector("dialog"));
    await go(page, "#/browse?label=production");
    await page.waitForSelector(".card-label .label-badge");
    await page.fill("#obn-name", "No such template");
    await page.click("#obn-open");
    await page.waitForSelector("#obn-problem .banner");
    all.push(...await axeViolations(page, "#/browse?label=production, Open by name NOT_FOUND"));
    // states that only show after input: field errors, a JSON error
    await go(page, "#/new");
    await page.getByLabel("Name", { exact: true }).fill("x");
    await page.getByLabel("Name", { exact: true }).fill("");
    await page.getByLabel("Default parameters (JSON object)").fill("{ nope");
    await page.waitForSelector("#t-name[aria-invalid=true]");
    all.push(...await axeViolations(page, "#/new with errors"));
    assert.deepEqual(all, [], `${all.length} violations:\n${all.map((v) => `${v.where} ${v.rule} (${v.impact}): ${v.targets.join(" | ")}`).join("\n")}`);
    noPageErrors(assert, page);
    await context.close();
  });
}
