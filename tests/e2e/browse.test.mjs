// Browse and discover through the UI: filters (category, workflow type, tags, text, owner),
// sorting, paging, and the popular-by-category view.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openEditor, go, shot, createTemplate, text, waitText, noPageErrors } from "./harness.mjs";

let server, browser, page;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
  ({ page } = await openEditor(browser.browser, server.url));
  // three templates of our own next to the ten built-ins
  await createTemplate(page, { name: "Alpha helper", category: "programming", tags: "rust, review", description: "Reviews Rust pull requests" });
  await createTemplate(page, { name: "Beta writer", category: "creative", tags: "poetry" });
  await createTemplate(page, { name: "Zeta search", type: "rag", retrievers: "vector_store", category: "research", tags: "rust" });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const names = (page) => page.$$eval("#results .tcard .tcard-title", (els) => els.map((e) => e.textContent.trim()));
/** Waits for the summary to say exactly `expected` ("3 templates found" must not match "13 …"). */
const settle = async (page, expected) => waitText(page, "#results-summary",
  expected instanceof RegExp ? expected : new RegExp(`^${expected}$`));
async function resetFilters(page) {
  await page.getByLabel("Search", { exact: true }).fill("");
  await page.getByLabel("Tags (all must match)", { exact: true }).fill("");
  for (const [label, value] of [["Category", ""], ["Workflow type", ""], ["Show", "all"]]) {
    await page.getByLabel(label, { exact: true }).selectOption(value);
  }
  await settle(page, "13 templates found");
}

test("pages through everything the user can see", async () => {
  await go(page, "#/browse");
  await settle(page, "13 templates found");
  assert.equal(await text(page, "#page-info"), "1–12 of 13");
  assert.equal((await names(page)).length, 12);
  assert.equal(await page.isDisabled("#page-prev"), true);
  await shot(page, "browse");
  await page.getByRole("button", { name: "Next →" }).click();
  await waitText(page, "#page-info", "13–13 of 13");
  assert.equal((await names(page)).length, 1);
  assert.equal(await page.isDisabled("#page-next"), true);
  await page.getByRole("button", { name: "← Previous" }).click();
  await waitText(page, "#page-info", "1–12 of 13");
  noPageErrors(assert, page);
});

test("filters by text, category, workflow type, tags and owner", async () => {
  await go(page, "#/browse");
  await resetFilters(page);
  await page.getByLabel("Search", { exact: true }).fill("analyst");
  await settle(page, "2 templates found");
  assert.deepEqual((await names(page)).sort(), ["Data Analyst", "Research Analyst"]);
  await page.getByLabel("Search", { exact: true }).fill("pull requests"); // matches the description
  await settle(page, "1 template found");
  assert.deepEqual(await names(page), ["Alpha helper"]);
  await page.getByLabel("Search", { exact: true }).fill("");

  await page.getByLabel("Category", { exact: true }).selectOption("programming");
  await settle(page, "2 templates found");
  assert.deepEqual((await names(page)).sort(), ["Alpha helper", "Code Assistant"]);
  await page.getByLabel("Category", { exact: true }).selectOption("");

  await page.getByLabel("Workflow type", { exact: true }).selectOption("rag");
  await settle(page, "4 templates found");
  const rag = await names(page);
  assert.ok(rag.includes("Zeta search") && rag.includes("Document Q&A") && !rag.includes("Alpha helper"), rag.join());
  await page.getByLabel("Workflow type", { exact: true }).selectOption("");

  await page.getByLabel("Tags (all must match)", { exact: true }).fill("rust");
  await settle(page, "2 templates found");
  await page.getByLabel("Tags (all must match)", { exact: true }).fill("rust, review");
  await settle(page, "1 template found");
  assert.deepEqual(await names(page), ["Alpha helper"]);
  await page.getByLabel("Tags (all must match)", { exact: true }).fill("");

  await page.getByLabel("Show", { exact: true }).selectOption("mine");
  await settle(page, "3 templates found");
  await page.getByLabel("Show", { exact: true }).selectOption("builtin");
  await settle(page, "10 templates found");
  await page.getByLabel("Show", { exact: true }).selectOption("all");
  await page.getByLabel("Search", { exact: true }).fill("no such thing at all");
  await settle(page, "0 templates found");
  assert.match(await text(page, "#results"), /No template matches/);
  await page.getByLabel("Search", { exact: true }).fill("");
  noPageErrors(assert, page);
});

test("sorts by name, recent, popular and rating", async () => {
  await go(page, "#/browse");
  await resetFilters(page);
  await page.getByLabel("Sort by", { exact: true }).selectOption("name");
  await waitText(page, "#results .tcard .tcard-title", "Alpha helper");
  const byName = await names(page);
  assert.deepEqual(byName, [...byName].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  await page.getByLabel("Sort by", { exact: true }).selectOption("recent");
  await waitText(page, "#results .tcard .tcard-title", "Zeta search");

  // one run and one rating make "Beta writer" the most used and the best rated
  await page.getByRole("link", { name: "Beta writer", exact: true }).click();
  await page.waitForSelector("#template-form");
  await page.getByRole("link", { name: "Usage & rating" }).click();
  await page.waitForSelector("#usage-form");
  await page.getByRole("button", { name: "Record run" }).click();
  await waitText(page, "#stat-uses", /^1$/);
  await page.locator("label.star", { hasText: "5 stars" }).click();
  await page.getByRole("button", { name: "Save rating" }).click();
  await waitText(page, "#stat-rating", "5.0");
  await go(page, "#/browse");
  await page.getByLabel("Sort by", { exact: true }).selectOption("popular");
  await waitText(page, "#results .tcard .tcard-title", "Beta writer");
  await page.getByLabel("Sort by", { exact: true }).selectOption("rating");
  await waitText(page, "#results .tcard .tcard-title", "Beta writer");
  assert.match(await text(page, '#results .tcard:first-child .rating'), /5\.0 \(1\)/);
  noPageErrors(assert, page);
});

test("popular by category shows every category", async () => {
  await go(page, "#/popular");
  for (const heading of ["general", "customer support", "programming", "research", "custom"]) {
    assert.ok(await page.getByRole("heading", { name: heading, exact: true }).isVisible(), heading);
  }
  const general = await text(page, 'section[aria-labelledby="cat-general"]');
  assert.match(general, /General Assistant/);
  assert.match(general, /Document Q&A/);
  await shot(page, "popular");
  noPageErrors(assert, page);
});
