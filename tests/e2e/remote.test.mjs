// The editor against the reference server (`npm run start:remote` does this by hand): the page
// opened with ?remote=URL acts as the server's users, and what one user saves on the server is
// there for the other user's view (public) and not there (private). Needs the server binary:
// cargo build -p workflow-templates-server (scripts/test.sh builds it before this step).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, startServer, startBrowser, ready, createTemplate, go, shot } from "./harness.mjs";

const BIN = process.env.WT_SERVER_BIN || join(root, "target/debug/workflow-templates-server");
let pages, browser, server, serverUrl, dir, users;

before(async () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: cargo build -p workflow-templates-server`);
  pages = await startServer();
  browser = await startBrowser();
  dir = await mkdtemp(join(tmpdir(), "wt-e2e-remote-"));
  const db = `sqlite://${dir}/e2e.db`;
  users = ["Alice", "Bob"].map((name) => {
    const u = JSON.parse(execFileSync(BIN, ["user", "create", "--db", db, "--name", name], { encoding: "utf8" }).trim().split("\n").pop());
    return { name, user_id: u.user_id, token: u.token };
  });
  const origin = new URL(pages.url).origin;
  server = spawn(BIN, ["serve", "--db", db, "--port", "0", "--cors-origin", origin], { stdio: ["ignore", "pipe", "inherit"] });
  serverUrl = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => { out += d; const m = /listening on (http:\/\/[0-9.:]+)/.exec(out); if (m) resolve(m[1]); });
    server.on("exit", (c) => reject(new Error(`server exited ${c}: ${out}`)));
  });
});

after(async () => {
  server?.kill("SIGTERM");
  await browser?.close();
  await pages?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function editorOnServer() {
  const ctx = await browser.browser.newContext({ viewport: { width: 1280, height: 860 } });
  // Only the page and the server: nothing else leaves the machine; the users file is the test's.
  await ctx.route((u) => !u.href.startsWith(pages.url) && !u.href.startsWith(serverUrl), (r) => r.abort());
  await ctx.route(/remote-users\.local\.json/, (r) => r.fulfill({ contentType: "application/json", body: JSON.stringify(users) }));
  const page = await ctx.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  await page.goto(`${pages.url}?remote=${encodeURIComponent(serverUrl)}#/browse`);
  await ready(page);
  return page;
}

test("the editor works on the server: storage badge, create, and access control between users", async () => {
  const page = await editorOnServer();
  assert.equal(await page.evaluate(() => document.body.dataset.storage), "remote");
  assert.match(await page.textContent("#storage-badge"), /server/);
  const shared = await createTemplate(page, { name: "On the server", isPublic: true, params: '{"temperature": 0.2}' });
  const secret = await createTemplate(page, { name: "Alice only" });
  await shot(page, "remote-template");
  // Bob sees the public one, not the private one.
  await page.getByLabel("Acting as").selectOption(users[1].user_id);
  // The switch re-routes once it has opened Bob's catalog: wait for that, not the old page.
  await page.waitForFunction((id) => document.body.dataset.user === id && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, users[1].user_id);
  await go(page, `#/t/${shared}`);
  assert.match(await page.textContent("#view"), /On the server/);
  await go(page, `#/t/${secret}`);
  assert.match(await page.textContent("#view"), /NOT_FOUND/);
  // And it is really on the server: the package, in Node, over HTTP.
  const res = await fetch(`${serverUrl}/v1/templates/${shared}`, { headers: { authorization: `Bearer ${users[1].token}` } });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).name, "On the server");
  assert.deepEqual(page.errors.map(String), []);
});

test("labels, restore and Open by name on the server (the same UI over the remote storage)", async () => {
  const page = await editorOnServer();
  await page.getByLabel("Acting as").selectOption(users[0].user_id);
  await page.waitForFunction((id) => document.body.dataset.user === id && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, users[0].user_id);
  const v1 = await createTemplate(page, { name: "Server labelled", isPublic: true, params: '{"temperature": 0.1}' });
  await go(page, `#/t/${v1}/versions`);
  await page.click("#new-version");
  await page.fill("#nv-changelog", "second");
  await page.getByRole("button", { name: "Create version" }).click();
  await page.waitForFunction((old) => location.hash.endsWith("/versions") && !location.hash.includes(old) && document.body.dataset.ready === "true", v1);
  await page.click(`#version-table tr[data-version="1"] [data-action="set-label"]`);
  await page.fill("#label-name", "production");
  await page.click("#label-submit");
  await page.waitForSelector(`#version-table tr[data-version="1"] .label-badge[data-label="production"]`);
  await page.click(`#version-table tr[data-version="1"] [data-action="restore"]`);
  await page.getByRole("button", { name: "Restore", exact: true }).click();
  await page.waitForFunction(() => /^#\/t\/[0-9A-Z]{26}$/.test(location.hash) && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash);
  assert.match(await page.textContent(".template-head .meta"), /version 3 \(latest\)/);
  // Bob: the badge, no controls; the label filter and Open by name find Alice's version 1
  await page.getByLabel("Acting as").selectOption(users[1].user_id);
  await page.waitForFunction((id) => document.body.dataset.user === id && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, users[1].user_id);
  await go(page, `#/t/${v1}/versions`);
  await page.waitForSelector(`#version-table tr[data-version="1"] .label-badge[data-label="production"]`);
  assert.equal(await page.$$eval("#version-table [data-action], #version-table .badge-x", (els) => els.length), 0);
  await go(page, "#/browse?label=production");
  await page.waitForFunction((id) => [...document.querySelectorAll("#results .tcard")].some((c) => c.querySelector(".card-label a")?.getAttribute("href") === `#/t/${id}`), v1);
  await page.fill("#obn-name", "Server labelled");
  await page.fill("#obn-pick", "production");
  await page.click("#obn-open");
  await page.waitForFunction((id) => location.hash === `#/t/${id}` && document.body.dataset.ready === "true", v1);
  assert.deepEqual(page.errors.map(String), []);
});

test("Bob's editor shows Alice's edit of a public template live (the server's change feed)", async () => {
  const page = await editorOnServer();
  await page.getByLabel("Acting as").selectOption(users[1].user_id);
  await page.waitForFunction((id) => document.body.dataset.user === id && document.body.dataset.ready === "true" && document.body.dataset.route === location.hash, users[1].user_id);
  // Alice works from another client (here: plain HTTP from Node).
  const alice = { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" };
  const made = await fetch(`${serverUrl}/v1/templates`, { method: "POST", headers: alice, body: JSON.stringify({ name: "Watched live", workflow_type: "plain", is_public: true }) });
  assert.equal(made.status, 201);
  const { id } = await made.json();
  await go(page, `#/t/${id}`);
  assert.equal(await page.$("#changed-elsewhere"), null);
  await new Promise((r) => setTimeout(r, 300)); // the feed connected when the editor subscribed; margin for a loaded machine
  const edited = await fetch(`${serverUrl}/v1/templates/${id}`, { method: "PATCH", headers: alice, body: JSON.stringify({ description: "Edited by Alice elsewhere" }) });
  assert.equal(edited.status, 200);
  const start = Date.now();
  await page.waitForSelector("#changed-elsewhere", { timeout: 5000 });
  // The description is shown in the (read-only) form: the repainted view has Alice's new one.
  const shows = () => [...document.querySelectorAll("#view input, #view textarea")].some((e) => e.value.includes("Edited by Alice elsewhere"))
    || document.querySelector("#view").textContent.includes("Edited by Alice elsewhere");
  await page.waitForFunction(shows, null, { timeout: 5000 });
  assert.ok(Date.now() - start < 3000, `shown after ${Date.now() - start} ms`);
  assert.match(await page.textContent("#changed-elsewhere"), /another tab or client of the server/);
  assert.deepEqual(page.errors.map(String), []);
});
