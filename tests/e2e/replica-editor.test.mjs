// The editor on the server (`?remote=URL`) works through the replica (issue 15): its badge says
// online / offline / syncing / N pending, it keeps working while the server is away (also across
// a reload), what was queued reaches the server when it answers again, and a conflict found by
// the sync offers the same choice as a conflict between tabs. Offline = the context's route
// aborts requests to the server's origin (tests/e2e/replica-harness.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ready, createTemplate, go, shot } from "./harness.mjs";
import { replicaSuite, goOffline, until } from "./replica-harness.mjs";

const suite = replicaSuite((s) => {
  ({ server, pages } = s);
  [alice] = server.users;
});
let server, pages, alice;

/** The editor on the server as Alice, in a fresh context (its own replica). */
async function editor() {
  const c = await suite.newClient();
  await c.ctx.route(/remote-users\.local\.json/, (r) => r.fulfill({ contentType: "application/json", body: JSON.stringify(server.users) }));
  const page = await c.ctx.newPage();
  page.setDefaultTimeout(30_000);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  await page.goto(`${pages.url}?remote=${encodeURIComponent(server.url)}#/browse`);
  await ready(page);
  return { c, page };
}

const badge = (page) => page.evaluate(() => { const b = document.querySelector("#sync-badge"); return b.hidden ? null : b.textContent.trim(); });
async function waitBadge(page, re, ms = 20_000) {
  let said = null;
  try {
    await until(async () => re.test((said = await badge(page)) ?? ""), ms, `the sync badge matches ${re}`);
  } catch (e) {
    e.message += ` (it says ${JSON.stringify(said)})`;
    throw e;
  }
}
/** The engine retries on the browser's `online` event (and on a timer): no need to wait out the backoff. */
const backOnline = async (c, page) => { c.net.offline = false; await page.evaluate(() => window.dispatchEvent(new Event("online"))); };

test("the editor keeps working while the server is away: badge offline, N pending, a reload offline, then online again with the write on the server", async () => {
  const { c, page } = await editor();
  assert.equal(await page.evaluate(() => document.body.dataset.storage), "remote");
  await waitBadge(page, /^online$/);
  await goOffline(c.net, server);
  const id = await createTemplate(page, { name: "Written on a train", description: "offline" });
  await waitBadge(page, /^offline · 1 pending$/);
  await shot(page, "replica-offline");
  // A reload while the server is still away: the editor opens from the replica.
  await page.reload();
  await ready(page);
  await go(page, `#/t/${id}`);
  assert.match(await page.textContent("#view"), /Written on a train/);
  await waitBadge(page, /^offline · 1 pending$/);
  await backOnline(c, page);
  await waitBadge(page, /^online$/);
  const res = await server.api(alice.token, "GET", `/v1/templates/${id}`);
  assert.equal(res.status, 200);
  assert.equal(res.body.name, "Written on a train");
  assert.deepEqual(page.errors.map(String), []);
});

test("a conflict found by the sync is shown with the tab conflict's choice; both answers work", async () => {
  const { c, page } = await editor();
  const ids = [];
  for (const name of ["Theirs wins", "Mine wins"]) ids.push(await createTemplate(page, { name }));
  await waitBadge(page, /^online$/);
  await goOffline(c.net, server);
  for (const id of ids) {
    await go(page, `#/t/${id}`);
    await page.getByLabel("Description", { exact: true }).fill("my offline edit");
    await page.evaluate(() => { document.body.dataset.ready = "false"; });
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    assert.equal((await server.api(alice.token, "PATCH", `/v1/templates/${id}`, { description: "their edit" })).status, 200);
  }
  await waitBadge(page, /^offline · 2 pending$/);
  await backOnline(c, page);
  for (const id of ids) await page.waitForSelector(`#sync-notice [data-conflict="${id}"]`, { timeout: 20_000 });
  const notice = await page.textContent(`#sync-notice [data-conflict="${ids[0]}"]`);
  assert.match(notice, /Theirs wins/);
  assert.match(notice, /Changed there: description/);
  await shot(page, "replica-conflict");
  // The same two choices as a conflict between tabs.
  const [keep, overwrite] = [`#sync-notice [data-conflict="${ids[0]}"] [data-action="keep-remote"]`, `#sync-notice [data-conflict="${ids[1]}"] [data-action="overwrite"]`];
  assert.equal((await page.textContent(keep)).trim(), "Reload the saved version (discard my edits)");
  assert.equal((await page.textContent(overwrite)).trim(), "Overwrite with my version");
  await page.click(keep);
  await page.click(overwrite);
  await page.waitForFunction(() => document.querySelector("#sync-notice").hidden);
  await until(async () => (await server.api(alice.token, "GET", `/v1/templates/${ids[1]}`)).body.description === "my offline edit", 20_000, "mine overwrites on the server");
  assert.equal((await server.api(alice.token, "GET", `/v1/templates/${ids[0]}`)).body.description, "their edit");
  await go(page, `#/t/${ids[0]}`);
  assert.equal(await page.getByLabel("Description", { exact: true }).inputValue(), "their edit");
  await waitBadge(page, /^online$/);
  assert.deepEqual(page.errors.map(String), []);
});

test("the server's answer to this editor's own save is not shown as a change made elsewhere", async () => {
  const { page } = await editor();
  await waitBadge(page, /^online$/);
  const id = await createTemplate(page, { name: "My own save" });
  await waitBadge(page, /^online$/);
  await page.getByLabel("Description", { exact: true }).fill("edited here");
  await page.evaluate(() => { document.body.dataset.ready = "false"; });
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  await waitBadge(page, /^online$/);
  await new Promise((r) => setTimeout(r, 1500)); // the push answers and the feed's news arrive
  assert.equal(await page.$("#changed-elsewhere"), null, await page.textContent("#view"));
  assert.equal((await server.api(alice.token, "GET", `/v1/templates/${id}`)).body.description, "edited here");
  // And a second save from the same view is no CONFLICT.
  await page.getByLabel("Description", { exact: true }).fill("edited twice");
  await page.getByRole("button", { name: "Save changes" }).click();
  await until(async () => (await server.api(alice.token, "GET", `/v1/templates/${id}`)).body.description === "edited twice", 15_000, "the second save on the server");
  assert.equal(await page.$("#general-problem .banner.error, .banner.error[data-code='CONFLICT']"), null);
  assert.deepEqual(page.errors.map(String), []);
});
