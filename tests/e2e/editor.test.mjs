// The template editor through the UI: create with live validation and hashes, refused saves keep
// the draft, derive and inheritance, versions and diff, rating and usage, read-only built-ins,
// delete. Run: node --test tests/e2e/   (needs the build in pkg/)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, go, shot, createTemplate, text, waitText, hashOf, noPageErrors } from "./harness.mjs";

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

test("create from scratch with live validation, located JSON errors and live hashes", async () => {
  await go(page, "#/new");
  const name = page.getByLabel("Name", { exact: true });
  await name.fill("Rust reviewer");
  await page.getByLabel("Workflow type").selectOption("tools");
  // tools needs at least one tool: the violation appears next to the field as we type
  await waitText(page, "#err-workflow_type", "WORKFLOW_TYPE_MISMATCH");
  assert.match(await text(page, "#validation-summary"), /1 problem/);
  await page.getByLabel("Required tools").fill("code_interpreter");
  await waitText(page, "#validation-summary", "No problems found");
  assert.equal(await text(page, "#err-workflow_type"), "");

  // config_hash updates live with the parameters
  const hash1 = await text(page, "#config-hash");
  assert.match(hash1, /^[0-9a-f]{64}$/);
  const params = page.getByLabel("Default parameters (JSON object)");
  await params.fill('{\n  "model": {\n    "temperature": 0.2,\n  }\n}');
  // a JSON syntax error is located by line and column, and the gutter marks the line
  await waitText(page, "#t-default_params-error", /line 4, column 3/);
  assert.match(await text(page, "#t-default_params-error"), /trailing comma/);
  assert.equal(await text(page, ".gutter span.bad"), "4");
  assert.equal(await page.getAttribute("#t-default_params", "aria-invalid"), "true");
  await shot(page, "editor-json-error");
  await params.fill('{\n  "model": {\n    "temperature": 0.2\n  },\n  "focus": "unsafe code"\n}');
  await waitText(page, "#validation-summary", "No problems found");
  const hash2 = await text(page, "#config-hash");
  assert.match(hash2, /^[0-9a-f]{64}$/);
  assert.notEqual(hash2, hash1);
  assert.equal(await text(page, "#resolved-hash"), hash2, "no base: resolved hash = config_hash");

  // a violation deep inside the params is shown with its path
  await params.fill('{ "model": { "temperature": 1e300 } }');
  await waitText(page, "#t-default_params-error", "default_params.model.temperature");
  await params.fill('{\n  "model": {\n    "temperature": 0.2\n  },\n  "focus": "unsafe code"\n}');

  // the name field: emptied -> TOO_SHORT next to it
  await name.fill("");
  await waitText(page, "#err-name", "TOO_SHORT");
  assert.equal(await page.getAttribute("#t-name", "aria-invalid"), "true");
  await name.fill("Rust reviewer");
  await page.getByLabel("Tags").fill("rust, review");
  await waitText(page, "#validation-summary", "No problems found");
  await shot(page, "editor-new");

  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.equal(await text(page, "#template-title"), "Rust reviewer");
  assert.equal(await text(page, "#config-hash"), hash2, "the saved config_hash is the one shown live");
  assert.equal(await page.inputValue("#t-tags"), "rust, review");
  noPageErrors(assert, page);
});

test("a refused save explains itself with its code and keeps the draft", async () => {
  await createTemplate(page, { name: "Taken name" });
  await go(page, "#/new");
  await page.getByLabel("Name", { exact: true }).fill("taken NAME");
  await page.getByLabel("Description", { exact: true }).fill("my long description that must survive");
  await page.getByLabel("Default parameters (JSON object)").fill('{ "keep": "me" }');
  await page.getByRole("button", { name: "Create template" }).click();
  await waitText(page, "#form-problem", "NAME_TAKEN");
  assert.match(await text(page, "#form-problem"), /already have a template with this name/);
  assert.equal(await hashOf(page), "#/new");
  assert.equal(await page.inputValue("#t-name"), "taken NAME");
  assert.equal(await page.inputValue("#t-description"), "my long description that must survive");
  assert.equal(await page.inputValue("#t-default_params"), '{ "keep": "me" }');
  await waitText(page, "#toast", "draft is kept");
  await shot(page, "editor-refused");

  // a save refused by validation: the catalog's violations land next to the fields
  await page.getByLabel("Name", { exact: true }).fill("Now valid");
  await page.getByLabel("Workflow type").selectOption("rag");
  await page.getByRole("button", { name: "Create template" }).click();
  await waitText(page, "#form-problem", "VALIDATION_FAILED");
  assert.match(await text(page, "#err-workflow_type"), /retriever/);
  assert.equal(await page.inputValue("#t-description"), "my long description that must survive");

  // leaving with unsaved edits asks first; "Keep editing" keeps everything
  await page.getByRole("link", { name: "Popular" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Discard your unsaved edits\?/);
  await dialog.getByRole("button", { name: "Keep editing" }).click();
  assert.equal(await hashOf(page), "#/new");
  assert.equal(await page.inputValue("#t-description"), "my long description that must survive");
  // so does switching the acting user
  await page.getByLabel("Acting as").selectOption("01JD0000000000000000000002");
  await dialog.getByRole("button", { name: "Keep editing" }).click();
  // The select goes back to the acting user once the dialog's answer is handled.
  await page.waitForFunction(() => document.querySelector("#user-select").value === "01JD0000000000000000000001", null, { timeout: 5000 });
  assert.equal(await page.inputValue("#user-select"), "01JD0000000000000000000001");
  assert.equal(await page.inputValue("#t-name"), "Now valid");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Templates" }).click();
  await dialog.getByRole("button", { name: "Discard and leave" }).click();
  await page.waitForFunction(() => location.hash === "#/browse" && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  noPageErrors(assert, page);
});

let derivedId;
test("derive from a built-in, see the chain, effective config and provenance", async () => {
  await go(page, "#/browse");
  await page.getByRole("link", { name: "Derive a new template from Code Assistant" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/new?base=") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.equal(await page.inputValue("#t-base_template_id"), CODE_ASSISTANT);
  assert.equal(await page.inputValue("#t-workflow_type"), "tools");
  await page.getByLabel("Name", { exact: true }).fill("Strict coder");
  await page.getByLabel("Default parameters (JSON object)").fill('{ "model": { "temperature": 0 }, "run_tests": null, "style": "terse" }');
  await waitText(page, "#validation-summary", "No problems found");
  const liveResolved = await text(page, "#resolved-hash");
  const liveConfig = await text(page, "#config-hash");
  assert.match(liveResolved, /^[0-9a-f]{64}$/);
  assert.notEqual(liveResolved, liveConfig, "with a base, the resolved hash differs");
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  derivedId = (await hashOf(page)).split("/")[2];

  await page.getByRole("link", { name: "Inheritance" }).click();
  await page.waitForSelector("#provenance");
  assert.match(await text(page, "#chain"), /Code Assistant[\s\S]*Strict coder/);
  assert.equal(await text(page, "#inherit-resolved-hash"), liveResolved, "the live resolved hash matched the package's");
  const row = async (path) => text(page, `#provenance tr[data-path="${path}"]`);
  assert.match(await row("/model/temperature"), /Strict coder \(this\)/);
  assert.match(await row("/model/name"), /Code Assistant/);
  assert.match(await row("/style"), /"terse"[\s\S]*Strict coder/);
  assert.equal(await row("/run_tests"), "", "an explicit null removed the inherited key");
  assert.match(await text(page, "#eff-tools"), /code_interpreter/);
  await shot(page, "inheritance");
  noPageErrors(assert, page);
});

test("versions: new version with a changelog, history, side-by-side diff", async () => {
  await go(page, `#/t/${derivedId}`);
  await page.getByLabel("Description", { exact: true }).fill("Reviews code strictly.");
  await page.getByLabel("Default parameters (JSON object)").fill('{ "model": { "temperature": 0.1 }, "run_tests": null, "style": "terse" }');
  await page.getByRole("button", { name: "Save as new version…" }).click();
  await page.getByLabel("What changed (changelog)").fill("Warmer and described");
  await page.getByRole("button", { name: "Create version" }).click();
  await page.waitForFunction((old) => location.hash.startsWith("#/t/") && !location.hash.includes(old) && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, derivedId);
  assert.match(await text(page, ".template-head .meta"), /version 2 \(latest\)/);
  const v2 = (await hashOf(page)).split("/")[2];

  await page.getByRole("link", { name: "Versions" }).click();
  await page.waitForSelector("#diff-table");
  const history = await text(page, "#version-table");
  assert.match(history, /v2[\s\S]*Warmer and described[\s\S]*v1/);
  const diff = await text(page, "#diff-table");
  assert.match(diff, /\/description\s+""\s+"Reviews code strictly\."/);
  assert.match(diff, /\/default_params\/model\/temperature\s+0\s+0\.1/);
  assert.doesNotMatch(diff, /\/changelog/, "bookkeeping is listed apart");
  assert.match(await page.$eval("#diff-bookkeeping-table", (t) => t.textContent), /\/changelog/);
  await shot(page, "versions-diff");
  // reverse the comparison
  await page.getByLabel("From").selectOption(v2);
  await page.getByLabel("To").selectOption(derivedId);
  await page.getByRole("button", { name: "Compare" }).click();
  await waitText(page, "#diff-table", /temperature\s+0\.1\s+0/);
  // the old version is read-only, the latest editable
  await page.getByRole("link", { name: "Open v1" }).click();
  await page.waitForSelector("#readonly-note");
  assert.match(await text(page, "#readonly-note"), /older version/);
  derivedId = v2;
  noPageErrors(assert, page);
});

test("rate and record runs, statistics update", async () => {
  await go(page, `#/t/${derivedId}/stats`);
  await page.waitForSelector("#stats");
  assert.equal(await text(page, "#stat-uses"), "0");
  await page.locator("label.star", { hasText: "4 stars" }).click();
  await page.getByRole("button", { name: "Save rating" }).click();
  await waitText(page, "#stat-rating", "4.0");
  assert.equal(await text(page, "#stat-rating-count"), "1");
  // a second rating by the same user replaces the first
  await page.locator("label.star", { hasText: "2 stars" }).click();
  await page.getByRole("button", { name: "Save rating" }).click();
  await waitText(page, "#stat-rating", "2.0");
  assert.equal(await text(page, "#stat-rating-count"), "1");

  await page.getByLabel("Response time (ms)").fill("1000");
  await page.getByLabel("Tokens").fill("500");
  await page.getByLabel("Cost ($)").fill("0.01");
  await page.getByRole("button", { name: "Record run" }).click();
  await waitText(page, "#stat-uses", /^1$/);
  assert.equal(await text(page, "#stat-success"), "100%");
  await page.getByLabel("Outcome").selectOption("no");
  await page.getByLabel("Response time (ms)").fill("3000");
  await page.getByLabel("Tokens").fill("800");
  await page.getByRole("button", { name: "Record run" }).click();
  await waitText(page, "#stat-uses", /^2$/);
  assert.equal(await text(page, "#stat-success"), "50%");
  assert.equal(await text(page, "#stat-time"), "2,000 ms");
  assert.equal(await text(page, "#stat-tokens"), "1,300");
  assert.equal(await text(page, "#stat-avg-tokens"), "650");
  assert.notEqual(await text(page, "#stat-last-used"), "never");
  await shot(page, "stats");
  // a built-in can be rated and run too
  await go(page, `#/t/${CODE_ASSISTANT}/stats`);
  await page.getByRole("button", { name: "Record run" }).click();
  await waitText(page, "#stat-uses", /^1$/);
  noPageErrors(assert, page);
});

test("built-ins are read-only; delete is refused while derived templates exist", async () => {
  await go(page, `#/t/${CODE_ASSISTANT}`);
  assert.match(await text(page, "#readonly-note"), /Built-in templates are read-only/);
  assert.equal(await page.isDisabled("#t-name"), true);
  assert.equal(await page.$("#save"), null);
  await shot(page, "builtin-readonly");

  const base = await createTemplate(page, { name: "Parent", params: '{ "a": 1 }' });
  const child = await createTemplate(page, { name: "Child", base });
  await go(page, `#/t/${base}`);
  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await waitText(page, "#form-problem", "HAS_DERIVED");
  assert.match(await text(page, "#form-problem"), /Other templates derive from this one/);
  await go(page, `#/t/${base}/inheritance`);
  assert.match(await text(page, "#derived"), /Child/);
  await go(page, `#/t/${child}`);
  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.waitForFunction(() => location.hash === "#/browse" && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  await go(page, `#/t/${child}`);
  await page.waitForSelector('.banner.error[data-code="NOT_FOUND"]');
  noPageErrors(assert, page);
});

test("names and descriptions are shown as text, never as markup", async () => {
  const name = `<img src=x onerror="window.__pwned=1"> & "quotes"`;
  const id = await createTemplate(page, { name, description: "<b>not bold</b>" });
  assert.equal(await text(page, "#template-title"), name);
  await go(page, "#/browse");
  await page.getByLabel("Search", { exact: true }).fill("quotes");
  await waitText(page, "#results-summary", "1 template found");
  assert.equal(await page.$$eval("#results img, #results b", (els) => els.length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await page.getByLabel("Search", { exact: true }).fill("");
  assert.ok(id);
  noPageErrors(assert, page);
});
