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

/** The editor on the server as Alice, in a fresh context (its own replica); `init` runs in each
 * page before the editor's scripts (Playwright's addInitScript). */
async function editor(init = null, arg = null) {
  const c = await suite.newClient();
  if (init) await c.ctx.addInitScript(init, arg);
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

/** Records every text the sync badge is given (`window.__badges`), also one shown for a moment. */
function recordBadges() {
  window.__badges = [];
  const watch = () => {
    const b = document.querySelector("#sync-badge");
    if (!b) return void setTimeout(watch, 20);
    const own = Object.getOwnPropertyDescriptor(Node.prototype, "textContent");
    Object.defineProperty(b, "textContent", {
      get() { return own.get.call(this); },
      set(v) { window.__badges.push(String(v)); own.set.call(this, v); },
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
}

test("the editor keeps working while the server is away: badge offline, N pending, a reload offline, then online again with the write on the server", async () => {
  const { c, page } = await editor(recordBadges);
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
  // While it sent the queued write and pulled, the badge said so (issue 15: online / offline /
  // syncing / N pending); the states seen since the reload, in order.
  const seen = await page.evaluate(() => window.__badges);
  const away = seen.lastIndexOf("offline · 1 pending");
  assert.ok(away >= 0 && seen.slice(away).includes("syncing · 1 pending"), JSON.stringify(seen));
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

test("the editor on the server asks for persistent storage for its replica; refused: it says what may be lost", async () => {
  // The replica holds the writes not yet sent: an evicted one loses them (issue 15, last trap).
  const stub = (grant) => {
    window.__persistCalls = [];
    navigator.storage.persisted = () => { window.__persistCalls.push("persisted"); return Promise.resolve(false); };
    navigator.storage.persist = () => { window.__persistCalls.push("persist"); return Promise.resolve(grant); };
  };
  const { c, page } = await editor(stub, false);
  await page.waitForFunction(() => document.body.dataset.persisted !== undefined);
  assert.equal(await page.evaluate(() => document.body.dataset.storage), "remote");
  assert.deepEqual(await page.evaluate(() => window.__persistCalls), ["persisted", "persist"]);
  assert.equal((await page.textContent("#persist-badge")).trim(), "not persistent");
  assert.ok(await page.isVisible("#persist-notice"));
  assert.match(await page.textContent("#persist-notice"), /not yet sent to the server/);
  await c.ctx.close();
  // Granted: the badge says so and there is no notice.
  const granted = await editor(stub, true);
  await granted.page.waitForFunction(() => document.body.dataset.persisted !== undefined);
  assert.equal((await granted.page.textContent("#persist-badge")).trim(), "persistent");
  assert.equal(await granted.page.isVisible("#persist-notice"), false);
  assert.deepEqual(granted.page.errors.map(String), []);
});
