// Specs (list, create, edit, delete, instantiate) and export/import with its report.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startServer, startBrowser, openEditor, go, shot, createTemplate, text, waitText, hashOf, noPageErrors, shots } from "./harness.mjs";

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

const label = (name) => page.getByLabel(name, { exact: true });

test("specs: create with live validation, edit, instantiate, delete", async () => {
  await go(page, "#/specs");
  assert.match(await text(page, "#no-specs"), /No specs yet/);
  await page.getByRole("link", { name: "+ New spec" }).click();
  await page.waitForSelector("#spec-form");
  await label("Name").fill("Reviewer recipe");
  await label("Workflow type").selectOption("rag");
  await waitText(page, "#serr-workflow_type", "WORKFLOW_TYPE_MISMATCH");
  await label("Workflow type").selectOption("tools");
  await label("Base template name (optional)").fill("Code Assistant");
  await label("Tags").fill("review");
  await page.getByLabel("Default parameters (JSON object)").fill('{ "model": { "temperature": 0.1 } ');
  await waitText(page, "#s-default_params-error", /line 1, column \d+/);
  await page.getByLabel("Default parameters (JSON object)").fill('{ "model": { "temperature": 0.1 } }');
  await waitText(page, "#spec-summary", "No problems found");
  await page.getByRole("button", { name: "Create spec" }).click();
  await page.waitForFunction(() => /^#\/specs\/[0-9A-Z]{26}$/.test(location.hash) && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.match(await text(page, "#spec-items"), /Reviewer recipe/);

  await label("Description").fill("Strict reviews");
  await page.getByRole("button", { name: "Save spec" }).click();
  await waitText(page, "#toast", "Saved spec");
  await page.waitForFunction(() => document.querySelector("#s-description")?.value === "Strict reviews");
  await shot(page, "specs");

  await page.getByRole("button", { name: "Instantiate…" }).click();
  await label("Template name").fill("Reviewer from spec");
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/t/") && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.equal(await text(page, "#template-title"), "Reviewer from spec");
  assert.equal(await page.inputValue("#t-base_template_id"), "00000000000000000000000003");
  assert.equal(await page.inputValue("#t-description"), "Strict reviews");

  // a second instantiation with the same name is refused in plain words, with its code
  await go(page, "#/specs");
  await page.getByRole("link", { name: "Reviewer recipe" }).click();
  await page.waitForSelector("#spec-form");
  assert.match(await text(page, "#spec-form"), /Used 1×/);
  await page.getByRole("button", { name: "Instantiate…" }).click();
  await label("Template name").fill("Reviewer from spec");
  await page.getByRole("button", { name: "Create template" }).click();
  await waitText(page, "#spec-problem", "NAME_TAKEN");

  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.waitForFunction(() => location.hash === "#/specs" && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  await page.waitForSelector("#no-specs");
  noPageErrors(assert, page);
});

test("export to a JSON file and import it back, with a clear report of refusals", async () => {
  await createTemplate(page, { name: "Exported one", params: '{ "x": 1 }', tags: "export" });
  await go(page, "#/data");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export to a JSON file" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^workflow-templates-alice-.*\.json$/);
  const file = join(shots, "..", "export.json");
  await download.saveAs(file);
  const bundle = JSON.parse(await readFile(file, "utf8"));
  assert.ok(bundle.workflow_templates.some((t) => t.name === "Exported one"));
  await waitText(page, "#export-info", /Exported \d+ templates/);

  // a good file: imported (records already present are replaced)
  await page.setInputFiles("#import-file", file);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await waitText(page, "#import-report", /Imported export\.json/);
  assert.match(await text(page, "#import-ok"), new RegExp(`${bundle.workflow_templates.length} templates?`));

  // a tampered file: refused as a whole, each problem listed with record, field and code
  const bad = structuredClone(bundle);
  const target = bad.workflow_templates.find((t) => t.name === "Exported one");
  target.default_params = { x: 2 }; // config_hash no longer matches
  bad.workflow_templates.push({ ...target, id: "01JD00000000000000000000ZZ", name: "" });
  const badFile = join(shots, "..", "tampered.json");
  await writeFile(badFile, JSON.stringify(bad));
  await page.setInputFiles("#import-file", badFile);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.waitForSelector("#import-refused");
  const report = await text(page, "#import-refused");
  assert.match(report, /Nothing was imported from tampered\.json/);
  assert.match(report, /VALIDATION_FAILED/);
  assert.match(report, /HASH_MISMATCH/);
  assert.match(report, /template #\d+ “Exported one”/);
  assert.match(report, /TOO_SHORT/);
  await shot(page, "import-report");

  // not JSON at all
  await writeFile(badFile, "{ nope");
  await page.setInputFiles("#import-file", badFile);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await waitText(page, "#import-report", /not valid JSON/);

  // the refused import changed nothing
  await go(page, "#/browse");
  await label("Search").fill("Exported one");
  await waitText(page, "#results-summary", "1 template found");
  await page.getByRole("link", { name: "Exported one", exact: true }).click();
  await page.waitForSelector("#t-default_params");
  assert.deepEqual(JSON.parse(await page.inputValue("#t-default_params")), { x: 1 });
  assert.ok((await hashOf(page)).startsWith("#/t/"));
  noPageErrors(assert, page);
});
