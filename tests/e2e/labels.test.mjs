// Labels, rollback and fetch by name through the editor (issue 14, "The editor"): the Versions
// tab's badges, Set label… (validation, move with If-Match, CONFLICT), removal, a delete refused
// with HAS_LABELS, Restore this version…, read-only viewers, live updates from another tab, the
// Templates list's label filter (#/browse?label=…) and Open by name.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, go, ready, createTemplate, text, waitText, hashOf, noPageErrors, shot, storageOf } from "./harness.mjs";

const BOB = "01JD0000000000000000000002";
const CAROL = "01JD0000000000000000000003";
const ALICE = "01JD0000000000000000000001";
let server, browser, page, context;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
  ({ page, context } = await openEditor(browser.browser, server.url));
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const row = (version) => `#version-table tr[data-version="${version}"]`;
const badge = (version, label) => `${row(version)} .label-badge[data-label="${label}"]`;
const badges = (p, version) => p.$$eval(`${row(version)} .label-badge`, (els) => els.map((e) => e.dataset.label));

/** Version 2 of a new template made from the Versions tab; returns [v1 id, v2 id]. */
async function twoVersions(p, name, params = '{ "a": 1 }', params2 = null) {
  const v1 = await createTemplate(p, { name, params });
  await go(p, `#/t/${v1}`);
  if (params2) await p.getByLabel("Default parameters (JSON object)").fill(params2);
  await p.getByRole("button", { name: "Save as new version…" }).click();
  await p.fill("#changelog", "second");
  await p.evaluate(() => { document.body.dataset.ready = "false"; });
  await p.getByRole("button", { name: "Create version" }).click();
  await p.waitForFunction((old) => location.hash.startsWith("#/t/") && !location.hash.includes(old) && document.body.dataset.ready === "true", v1);
  const v2 = (await hashOf(p)).split("/")[2];
  return [v1, v2];
}

/** Opens Set label… on `version`'s row, types `name`, submits. */
async function setLabel(p, version, name) {
  await p.click(`${row(version)} [data-action="set-label"]`);
  await p.fill("#label-name", name);
  await p.click("#label-submit");
}

async function actAs(p, userId) {
  await p.evaluate(() => { document.body.dataset.ready = "false"; });
  await p.selectOption("#user-select", userId);
  await ready(p);
}

test("set a label (checked before submit), move it to another version, remove it", async () => {
  const [, v2] = await twoVersions(page, "Label flow");
  await go(page, `#/t/${v2}/versions`);
  assert.deepEqual(await badges(page, 1), []);
  // names the package would refuse are explained before any write
  await page.click(`${row(1)} [data-action="set-label"]`);
  await page.fill("#label-name", "Prod!");
  await waitText(page, "#label-check", /lowercase letters, digits/);
  await page.fill("#label-name", "latest");
  await waitText(page, "#label-check", /reserved/);
  await page.click("#label-submit");
  assert.equal(await page.getAttribute("#label-name", "aria-invalid"), "true");
  assert.ok(await page.$("dialog#label-dialog[open]"), "a refused name keeps the dialog open");
  await page.fill("#label-name", "production");
  await waitText(page, "#label-check", /Adds “production” to version 1/);
  await page.click("#label-submit");
  await page.waitForSelector(badge(1, "production"));
  assert.ok(!(await page.$("dialog")), "the dialog closed");

  // the dialog lists the lineage's labels; choosing one moves it (badge leaves version 1)
  await page.click(`${row(2)} [data-action="set-label"]`);
  assert.deepEqual(await page.$$eval("#label-options option", (os) => os.map((o) => o.value)), ["production"]);
  assert.match(await text(page, "#label-hint"), /production \(v1\)/);
  await page.fill("#label-name", "production");
  await waitText(page, "#label-check", /Moves “production” from version 1 to version 2/);
  await page.click("#label-submit");
  await page.waitForSelector(badge(2, "production"));
  assert.deepEqual(await badges(page, 1), []);
  await shot(page, "versions-labels");

  // removing asks first, then the badge goes
  await page.getByRole("button", { name: "Remove label production from version 2" }).click();
  await page.getByRole("button", { name: "Remove label", exact: true }).click();
  await page.waitForFunction((sel) => !document.querySelector(sel), badge(2, "production"));
  assert.deepEqual(await badges(page, 2), []);
  noPageErrors(assert, page);
});

test("moving a label someone else moved meanwhile is CONFLICT, in words, with a reload", async () => {
  assert.notEqual(await storageOf(page), "memory", "needs storage that two tabs share, but the page fell back to memory");
  const [v1, v2] = await twoVersions(page, "Conflicting label");
  await go(page, `#/t/${v2}/versions`);
  await setLabel(page, 2, "staging");
  await page.waitForSelector(badge(2, "staging"));
  // the dialog reads the label now; another tab moves it before this one submits
  await page.click(`${row(1)} [data-action="set-label"]`);
  await page.fill("#label-name", "staging");
  const other = await context.newPage();
  await other.goto(`${server.url}#/t/${v1}/versions`);
  await ready(other);
  await setLabel(other, 1, "staging");
  await other.waitForSelector(badge(1, "staging"));
  await other.click(`${row(2)} [data-action="set-label"]`);
  await other.fill("#label-name", "staging");
  await other.click("#label-submit");
  await other.waitForSelector(badge(2, "staging"));
  await other.close();
  await page.click("#label-submit");
  await waitText(page, "#label-problem", /changed elsewhere/);
  assert.match(await text(page, "#label-problem"), /CONFLICT/);
  await page.click("#label-reload");
  await page.waitForFunction(() => !document.querySelector("dialog"));
  await page.waitForSelector(badge(2, "staging"));
  noPageErrors(assert, page);
});

test("a label set in another tab shows up in this one's Versions tab", async () => {
  assert.notEqual(await storageOf(page), "memory", "needs storage that two tabs share, but the page fell back to memory");
  const [, v2] = await twoVersions(page, "Live labels");
  await go(page, `#/t/${v2}/versions`);
  const other = await context.newPage();
  await other.goto(`${server.url}#/t/${v2}/versions`);
  await ready(other);
  await setLabel(other, 1, "canary");
  await other.waitForSelector(badge(1, "canary"));
  await page.waitForSelector(badge(1, "canary"), { timeout: 10_000 });
  await other.getByRole("button", { name: "Remove label canary from version 1" }).click();
  await other.getByRole("button", { name: "Remove label", exact: true }).click();
  await page.waitForFunction((sel) => !document.querySelector(sel), badge(1, "canary"), { timeout: 10_000 });
  await other.close();
  noPageErrors(assert, page);
});

test("deleting a labelled version is refused with HAS_LABELS naming the labels", async () => {
  const id = await createTemplate(page, { name: "Pinned in production" });
  await go(page, `#/t/${id}/versions`);
  await setLabel(page, 1, "production");
  await page.waitForSelector(badge(1, "production"));
  await go(page, `#/t/${id}`);
  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await waitText(page, "#form-problem", "HAS_LABELS");
  assert.match(await text(page, "#form-problem .has-labels"), /Labels on it: production/);
  assert.match(await text(page, "#form-problem"), /Versions tab/);
  assert.equal(await hashOf(page), `#/t/${id}`, "still there");
  noPageErrors(assert, page);
});

test("restore an older version: a new latest with the old configuration and the default changelog", async () => {
  const [v1, v2] = await twoVersions(page, "Restorable", '{ "temperature": 0.1 }', '{ "temperature": 0.9 }');
  await go(page, `#/t/${v2}/versions`);
  const oldHash = await page.getAttribute(`${row(1)} code.hash-short`, "title");
  const newHash = await page.getAttribute(`${row(2)} code.hash-short`, "title");
  assert.notEqual(oldHash, newHash);
  assert.equal(await page.$(`${row(2)} [data-action="restore"]`), null, "no restore on the latest version");
  await page.click(`${row(1)} [data-action="restore"]`);
  assert.equal(await page.inputValue("#restore-changelog"), `Restored version 1 (${v1})`);
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Restore", exact: true }).click();
  await page.waitForFunction((old) => /^#\/t\/[0-9A-Z]{26}$/.test(location.hash) && !location.hash.includes(old) && document.body.dataset.ready === "true"
    && document.body.dataset.route === location.hash, v2);
  const v3 = (await hashOf(page)).split("/")[2];
  assert.notEqual(v3, v1);
  assert.equal(await text(page, "#config-hash"), oldHash, "the new latest has version 1's configuration");
  assert.match(await text(page, ".template-head .meta"), /version 3 \(latest\)/);
  await go(page, `#/t/${v3}/versions`);
  assert.match(await text(page, `${row(3)} td:nth-child(3)`), new RegExp(`Restored version 1 \\(${v1}\\)`));
  noPageErrors(assert, page);
});

test("a reader sees another user's labels but no label or restore controls; built-ins have none", async () => {
  await actAs(page, BOB);
  const [, v2] = await twoVersions(page, "Bob public labelled");
  await go(page, `#/t/${v2}`);
  await page.getByLabel(/^Public/).check();
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Save changes" }).click();
  await ready(page);
  await go(page, `#/t/${v2}/versions`);
  await setLabel(page, 2, "production");
  await page.waitForSelector(badge(2, "production"));
  assert.ok(await page.$(`${row(2)} .badge-x`), "the owner has the remove button");
  await actAs(page, ALICE);
  await go(page, `#/t/${v2}/versions`);
  assert.deepEqual(await badges(page, 2), ["production"]);
  assert.equal(await page.$$eval("#version-table .badge-x, #version-table [data-action], #new-version", (els) => els.length), 0);
  await go(page, "#/t/00000000000000000000000002/versions");
  assert.equal(await page.$$eval("#version-table [data-action], #version-table .badge-x", (els) => els.length), 0);
  noPageErrors(assert, page);
});

test("the Templates list filters by label, and the filter is part of the route", async () => {
  const labelled = await createTemplate(page, { name: "Filter labelled one" });
  const plain = await createTemplate(page, { name: "Filter unlabelled one" });
  await go(page, `#/t/${labelled}/versions`);
  await setLabel(page, 1, "filter-me");
  await page.waitForSelector(badge(1, "filter-me"));
  await go(page, "#/browse?label=filter-me");
  await waitText(page, "#results-summary", /1 template found with the label “filter-me”/);
  const ids = await page.$$eval("#results .tcard", (cards) => cards.map((c) => c.dataset.id));
  assert.deepEqual(ids, [labelled]);
  assert.ok(!ids.includes(plain));
  assert.equal(await page.inputValue("#f-label"), "filter-me");
  assert.match(await text(page, "#results .card-label"), /filter-me on version 1/);
  // typing in the field puts it in the route
  await page.fill("#f-label", "nobody-has-this");
  await page.waitForFunction(() => location.hash === "#/browse?label=nobody-has-this");
  await waitText(page, "#results-summary", /^0 templates found/);
  await page.fill("#f-label", "");
  await page.waitForFunction(() => location.hash === "#/browse");
  await page.waitForFunction(() => !/with the label/.test(document.querySelector("#results-summary").textContent));
  // a text that is no label name says so
  await go(page, "#/browse?label=Bad%20Label");
  await waitText(page, "#results", /not a label name/);
  noPageErrors(assert, page);
});

test("Open by name: a label picks the version; NOT_FOUND and AMBIGUOUS_BASE in words", async () => {
  const [v1] = await twoVersions(page, "Support bot by name");
  await go(page, `#/t/${v1}/versions`);
  await setLabel(page, 1, "production");
  await page.waitForSelector(badge(1, "production"));
  await go(page, "#/browse");
  await page.fill("#obn-name", "support BOT by name");
  await page.fill("#obn-pick", "production");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.click("#obn-open");
  await page.waitForFunction((id) => location.hash === `#/t/${id}`, v1);
  await ready(page);
  assert.match(await text(page, ".template-head .meta"), /version 1 ·/);
  // without a label: the latest
  await go(page, "#/browse");
  await page.fill("#obn-name", "Support bot by name");
  await page.click("#obn-open");
  await page.waitForFunction((id) => location.hash.startsWith("#/t/") && location.hash !== `#/t/${id}`, v1);
  await ready(page);
  assert.match(await text(page, ".template-head .meta"), /version 2 \(latest\)/);
  // a label nobody set
  await go(page, "#/browse");
  await page.fill("#obn-name", "Support bot by name");
  await page.fill("#obn-pick", "staging");
  await page.click("#obn-open");
  await waitText(page, "#obn-problem", /No template named “Support bot by name” with the label “staging” that you can see/);
  assert.match(await text(page, "#obn-problem"), /NOT_FOUND/);
  // two other users' public templates of one name
  for (const user of [BOB, CAROL]) {
    await actAs(page, user);
    await createTemplate(page, { name: "Twice public", isPublic: true });
  }
  await actAs(page, ALICE);
  await go(page, "#/browse");
  await page.fill("#obn-name", "Twice public");
  await page.click("#obn-open");
  await waitText(page, "#obn-problem", /Several public templates are named “Twice public”/);
  assert.match(await text(page, "#obn-problem"), /AMBIGUOUS_BASE/);
  noPageErrors(assert, page);
});
