// What got in a new user's way (issue 14, "The editor"): what a derived template inherits, the
// chain in words, the diff apart from bookkeeping, typed key order, Format on read-only
// templates, errors before typing, the statistics tiles.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, go, shot, createTemplate, text, waitText, hashOf, ready, noPageErrors } from "./harness.mjs";

const CODE_ASSISTANT = "00000000000000000000000003";
let server, browser, page;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
  ({ page } = await openEditor(browser.browser, server.url));
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Rows of the inherited-parameters table: { path: "from text" }. */
const inheritedRows = (p) => p.$$eval("#inherited-params tbody tr[data-path]", (rows) =>
  Object.fromEntries(rows.map((r) => [r.dataset.path, `${r.dataset.from}: ${r.cells[2].innerText.trim()}`])));

test("deriving shows what is inherited (parameters, tools, retrievers), read-only, each with its source", async () => {
  await go(page, `#/new?base=${CODE_ASSISTANT}`);
  await page.waitForSelector("#inherited-params");
  assert.match(await text(page, "#inherited-title"), /inherits from Code Assistant/);
  assert.equal(await page.inputValue("#t-default_params"), "{}", "the draft itself still starts empty");
  const rows = await inheritedRows(page);
  assert.equal(rows["/model/temperature"], "inherited: from Code Assistant");
  assert.equal(rows["/run_tests"], "inherited: from Code Assistant");
  assert.match(await text(page, "#inherited-params"), /\/model\/name\s+"gpt-4o"\s+from Code Assistant/);
  assert.match(await text(page, "#inherited-tools"), /code_interpreter from Code Assistant[\s\S]*repo_search from Code Assistant/);
  assert.equal(await text(page, "#inherited-retrievers"), "No retrievers.");
  assert.equal(await page.$$eval("#inherited input, #inherited textarea, #inherited select, #inherited button", (els) => els.length), 0, "read-only");

  // edits show up live: an override is "set here", an added tool too
  await page.getByLabel("Default parameters (JSON object)").fill('{ "model": { "temperature": 0.5 } }');
  await page.getByLabel("Required tools").fill("web_search");
  await waitText(page, "#inherited-params", /\/model\/temperature\s+0\.5\s+set here/);
  await waitText(page, "#inherited-tools", /web_search set here/);
  assert.match(await text(page, "#inherited-params caption"), /4 inherited, 1 set here/);
  await shot(page, "editor-inherited");

  // two levels: each value names the template that supplied it
  await page.getByLabel("Name", { exact: true }).fill("Middle coder");
  await page.getByLabel("Workflow type").selectOption("tools");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create template" }).click();
  await ready(page);
  const middle = (await hashOf(page)).split("/")[2];
  await go(page, `#/new?base=${middle}`);
  await waitText(page, "#inherited-params", /temperature\s+0\.5\s+from Middle coder/);
  assert.match(await text(page, "#inherited-params"), /\/run_tests\s+true\s+from Code Assistant/);
  assert.match(await text(page, "#inherited-tools"), /repo_search from Code Assistant[\s\S]*web_search from Middle coder/);
  // no base: nothing to show
  await page.getByLabel("Base template (inherits from)").selectOption("");
  await page.waitForSelector("#inherited", { state: "hidden" });
  noPageErrors(assert, page);
});

test("the inheritance chain reads one way in words, and its arrows are visible", async () => {
  const mid = await createTemplate(page, { name: "Chain middle", base: CODE_ASSISTANT, params: '{ "a": 1 }' });
  const leaf = await createTemplate(page, { name: "Chain leaf", base: mid, params: '{ "b": 2 }', tools: "web_search" });
  await go(page, `#/t/${leaf}/inheritance`);
  const chain = await text(page, "#chain");
  assert.match(chain, /^Code Assistant\s+root[\s\S]*Chain middle\s+derives from Code Assistant[\s\S]*Chain leaf \(this\)\s+derives from Chain middle$/);
  assert.doesNotMatch(chain + await text(page, "#chain-hint"), /level/i, "no bare level numbers");
  assert.match(await text(page, "#chain-hint"), /From the root to this template, 3 templates/);
  // the effective lists say where each entry comes from too
  assert.equal(await text(page, "#eff-tools"), "code_interpreter (Code Assistant), repo_search (Code Assistant), web_search (this template)");
  // every arrow (including the one before the current template) contrasts with what is behind it
  const contrasts = await page.$$eval("#chain li + li", (items) => items.map((li) => {
    const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    let el = li, bg = "rgba(0, 0, 0, 0)";
    while (el && /rgba\(.*, 0\)|transparent/.test(bg)) { bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
    const [a, b] = [lum(rgb(getComputedStyle(li, "::before").color)), lum(rgb(bg))].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  }));
  assert.equal(contrasts.length, 2);
  await shot(page, "inheritance-chain");
  for (const c of contrasts) assert.ok(c >= 4.5, `arrow contrast ${c.toFixed(2)} < 4.5`);
  noPageErrors(assert, page);
});

test("the version diff lists the template's changes apart from the catalog's bookkeeping", async () => {
  const id = await createTemplate(page, { name: "Diff split", params: '{ "t": 1 }' });
  await go(page, `#/t/${id}`);
  await page.getByLabel("Description", { exact: true }).fill("Now described.");
  await page.getByRole("button", { name: "Save as new version…" }).click();
  await page.fill("#changelog", "describe it");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create version" }).click();
  await page.waitForFunction((old) => !location.hash.includes(old) && document.body.dataset.ready === "true", id);
  const v2 = (await hashOf(page)).split("/")[2];
  await go(page, `#/t/${v2}/versions`);
  await page.waitForSelector("#diff-table");
  assert.match(await text(page, "#diff-table caption"), /^1 change to the template/);
  const changed = await page.$$eval("#diff-table tbody th", (ths) => ths.map((t) => t.innerText.trim()));
  assert.deepEqual(changed, ["/description"]);
  const kept = await page.$$eval("#diff-bookkeeping-table tbody th", (ths) => ths.map((t) => t.textContent.trim())); // folded: textContent
  for (const path of ["/id", "/version", "/is_latest", "/changelog"]) assert.ok(kept.includes(path), `${path} is bookkeeping`);
  assert.ok(!kept.includes("/description"));
  assert.match(await text(page, "#diff-bookkeeping summary"), /^Bookkeeping kept by the catalog: \d+ fields \(.*changelog/);

  // a version with no authored change: said in words, bookkeeping still available
  await page.getByRole("button", { name: "+ New version…" }).click();
  await page.fill("#nv-changelog", "same again");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create version" }).click();
  await page.waitForFunction((old) => !location.hash.includes(old) && document.body.dataset.ready === "true", v2);
  await page.waitForSelector("#diff-out #diff-none");
  assert.match(await text(page, "#diff-none"), /No change to the template's configuration or description/);
  assert.equal(await page.$("#diff-table"), null);
  assert.ok(await page.$("#diff-bookkeeping"));
  noPageErrors(assert, page);
});

test("saving keeps the key order the user typed, across a reload; a change made elsewhere shows as stored", async () => {
  const typed = '{\n  "zeta": 1,\n  "model": { "temperature": 0.2, "name": "x" },\n  "10": "ten",\n  "alpha": [3, 1]\n}';
  const meta = '{ "z": true, "a": null }';
  await go(page, "#/new");
  await page.getByLabel("Name", { exact: true }).fill("Key order");
  await page.getByLabel("Default parameters (JSON object)").fill(typed);
  await page.getByLabel("Extra metadata (JSON object, optional)").fill(meta);
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  const id = (await hashOf(page)).split("/")[2];
  assert.equal(await page.inputValue("#t-default_params"), typed);
  assert.equal(await page.inputValue("#t-extra_metadata"), meta);
  // edit + save keeps the new text too
  const edited = typed.replace('"zeta": 1', '"zeta": 2');
  await page.getByLabel("Default parameters (JSON object)").fill(edited);
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Save changes" }).click();
  await ready(page);
  await waitText(page, "#validation-summary", "No problems found");
  assert.equal(await page.inputValue("#t-default_params"), edited);
  await page.reload();
  await ready(page);
  assert.equal(await page.inputValue("#t-default_params"), edited, "kept after a reload");
  // a new version made from the Versions tab has the same content: the text carries over
  await go(page, `#/t/${id}/versions`);
  await page.getByRole("button", { name: "+ New version…" }).click();
  await page.fill("#nv-changelog", "same content");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create version" }).click();
  await page.waitForFunction((old) => !location.hash.includes(old) && document.body.dataset.ready === "true", id);
  const latest = (await hashOf(page)).split("/")[2];
  await go(page, `#/t/${latest}`);
  assert.equal(await page.inputValue("#t-default_params"), edited, "carried over to the new version");

  // stored canonically: a change made elsewhere is shown as the package returns it
  await page.evaluate(async (tid) => {
    const { app } = await import("/app.js");
    const t = await app.catalog.get(tid);
    await app.catalog.update(tid, { default_params: { ...t.default_params, zeta: 3 } }, { ifMatch: t.updated_at });
  }, latest);
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.reload();
  await ready(page);
  const shown = await page.inputValue("#t-default_params");
  assert.deepEqual(JSON.parse(shown), { ...JSON.parse(edited), zeta: 3 });
  assert.notEqual(shown, edited.replace('"zeta": 2', '"zeta": 3'), "the remembered text is not used once it means something else");
  noPageErrors(assert, page);
});

test("a typed text with a repeated key is not kept: what shows is what is stored (nothing hidden in the text)", async () => {
  // JSON.parse keeps the last of repeated keys; showing the raw text would show a value that is
  // not stored (say, to another acting user of this browser viewing a public template).
  await go(page, "#/new");
  await page.getByLabel("Name", { exact: true }).fill("Repeated key");
  await page.getByLabel("Default parameters (JSON object)").fill('{ "b": 1, "a": "not stored", "a": 2 }');
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  const shown = await page.inputValue("#t-default_params");
  assert.doesNotMatch(shown, /not stored/);
  assert.deepEqual(JSON.parse(shown), { a: 2, b: 1 });
  noPageErrors(assert, page);
});

test("Format is hidden on read-only templates; errors wait until the user typed or saved", async () => {
  await go(page, `#/t/${CODE_ASSISTANT}`);
  assert.equal(await page.getAttribute("#t-default_params", "readonly"), "");
  assert.equal(await page.getByRole("button", { name: "Format" }).count(), 0, "no Format button on a built-in");
  await go(page, "#/new");
  assert.equal(await page.getByRole("button", { name: "Format" }).first().isVisible(), true, "Format shows on an editable template");

  // a new form: nothing is reported before the user types
  await page.waitForSelector("#validation-summary p");
  assert.doesNotMatch(await text(page, "#validation-summary"), /must not be empty|to fix/);
  assert.equal(await text(page, "#err-name"), "");
  // a save attempt shows the problem, once, without the field named twice
  await page.getByRole("button", { name: "Create template" }).click();
  await waitText(page, "#validation-summary", /1 problem to fix/);
  const summary = await text(page, "#validation-summary");
  assert.match(summary, /name must not be empty/);
  assert.doesNotMatch(summary, /name\s+name/);
  // the same for a violation inside the parameters
  await page.getByLabel("Name", { exact: true }).fill("Fine");
  await page.getByLabel("Default parameters (JSON object)").fill('{ "model": { "temperature": 1e300 } }');
  await waitText(page, "#t-default_params-error", "default_params.model.temperature");
  assert.doesNotMatch(await text(page, "#t-default_params-error") + await text(page, "#validation-summary"),
    /default_params\.model\.temperature\s+default_params\.model\.temperature/);
  await go(page, "#/browse"); // leaves with "Discard and leave"

  // the spec form too
  await go(page, "#/specs/new");
  await page.waitForSelector("#spec-summary");
  assert.equal(await text(page, "#serr-name"), "");
  assert.doesNotMatch(await text(page, "#spec-summary"), /to fix/);
  await page.getByRole("button", { name: "Create spec" }).click();
  await waitText(page, "#serr-name", /must not be empty/);
  assert.match(await text(page, "#spec-summary"), /1 problem to fix/);
  await go(page, "#/browse");
  noPageErrors(assert, page);
});

test("statistics tiles: every value on one line inside its tile, wide or narrow", async () => {
  const id = await createTemplate(page, { name: "Tile check" });
  await go(page, `#/t/${id}/stats`);
  await page.check("#star-4", { force: true });
  await page.click("#rate");
  await waitText(page, "#stat-rating", "4.0");
  await page.click("#record-run");
  await page.waitForFunction(() => document.querySelector("#stat-last-used")?.textContent !== "never");
  for (const width of [1280, 1000, 760, 390]) {
    await page.setViewportSize({ width, height: 900 });
    const bad = await page.$$eval(".stat-tile", (tiles) => tiles.map((t) => {
      const v = t.querySelector(".v");
      const lines = Math.round(v.getBoundingClientRect().height / parseFloat(getComputedStyle(v).lineHeight || "20"));
      const tb = t.getBoundingClientRect(), vb = v.getBoundingClientRect();
      return { id: v.id, lines, clipped: v.scrollWidth > v.clientWidth + 1, outside: vb.right > tb.right + 1 };
    }).filter((x) => x.lines > 1 || x.clipped || x.outside));
    assert.deepEqual(bad, [], `at ${width}px`);
    if (width === 1280 || width === 390) await shot(page, `stats-tiles-${width}`);
  }
  await page.setViewportSize({ width: 1280, height: 860 });
  noPageErrors(assert, page);
});
