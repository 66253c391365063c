// The offline replica and the change feed (issue 15 "a feed disconnect and resume misses
// nothing"; the `CURSOR_AHEAD` trap): a real server process (SQLite), real Chromium
// (playwright-core). The feed is cut by closing the way to the server and restarting it (open
// streams end; tests/e2e/replica-harness.mjs); a restored server database leaves the replica's
// cursor ahead of the server's feed.
//
//   node --test tests/e2e/replica-feed.test.mjs   (after scripts/build.sh and
//                                                  cargo build -p workflow-templates-server)
import { test } from "node:test";
import assert from "node:assert/strict";
import { replicaSuite, goOffline, tab, openIn, call, events, until, synced, sleep } from "./replica-harness.mjs";

const suite = replicaSuite((s) => {
  server = s.server;
  [alice, bob] = server.users;
});
let server, alice, bob;

const options = (user) => ({ userId: user.user_id, storage: "remote", baseUrl: server.url, token: user.token, replica: true });
const api = async (user, method, path, body, ifMatch) => {
  const r = ifMatch
    ? await fetch(`${server.url}${path}`, { method, headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json", "If-Match": `"${ifMatch}"` }, body: JSON.stringify(body) }).then(async (res) => ({ status: res.status, body: await res.json() }))
    : await server.api(user.token, method, path, body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
/** The records `ids` as the replica holds them (read with the server unreachable) and as the server has them (Alice's view). */
async function bothSides(c, page, ids) {
  c.net.offline = true;
  const local = await page.evaluate(async (ids) => Promise.all(ids.map((id) => window.cat.get(id).catch((e) => e.code))), ids);
  c.net.offline = false;
  const remote = await Promise.all(ids.map(async (id) => {
    const r = await server.api(alice.token, "GET", `/v1/templates/${id}`);
    return r.status === 200 ? r.body : r.body?.error?.code;
  }));
  return { local, remote };
}
const external = async (page, ids) => (await events(page)).filter((e) => e.external === true && e.kind === "template" && ids.includes(e.id));

test("a feed cut and resumed misses nothing: each change made meanwhile arrives exactly once, and the replica equals the server", async () => {
  const c = await suite.newClient();
  const page = await tab(c);
  assert.equal(await openIn(page, options(alice)), "opened");
  const held = await api(bob, "POST", "/v1/templates", { name: "Bob's before the cut", workflow_type: "plain", is_public: true });
  await until(async () => (await external(page, [held.id])).length > 0, 10_000, "Bob's template heard live");
  assert.equal((await call(page, "get", held.id)).name, held.name);
  await synced(page);
  await until(async () => c.net.log.some((r) => r.url.pathname === "/v1/changes/stream" && !r.offline), 10_000, "the stream connects");

  await goOffline(c.net, server);
  await page.evaluate(() => { window.events.length = 0; });
  // Meanwhile: Bob creates two and edits the held one; another device of Alice's creates one.
  const b1 = await api(bob, "POST", "/v1/templates", { name: "Bob's while cut 1", workflow_type: "plain", is_public: true });
  const b2 = await api(bob, "POST", "/v1/templates", { name: "Bob's while cut 2", workflow_type: "plain", is_public: true });
  const edited = await api(bob, "PATCH", `/v1/templates/${held.id}`, { description: "edited while cut" }, held.updated_at);
  const a1 = await api(alice, "POST", "/v1/templates", { name: "Alice's other device", workflow_type: "plain" });
  const ids = [b1.id, b2.id, held.id, a1.id];
  await sleep(500);
  assert.deepEqual(await external(page, ids), [], "nothing can arrive while the way to the server is closed");

  c.net.offline = false;
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  await until(async () => new Set((await external(page, ids)).map((e) => e.id)).size === ids.length, 30_000, "every change made during the cut");
  // The stream resumed from the kept cursor (Last-Event-ID), not from the head.
  await until(async () => c.net.log.some((r) => r.url.pathname === "/v1/changes/stream" && !r.offline && r.headers["last-event-id"]), 10_000, "a resumed stream");
  await sleep(1500);
  const heard = (await external(page, ids)).map((e) => e.id);
  assert.deepEqual([...heard].sort(), [...ids].sort(), `each change exactly once: ${JSON.stringify(heard)}`);
  assert.equal(edited.description, "edited while cut");
  const { local, remote } = await bothSides(c, page, ids);
  assert.deepEqual(local, remote, "the replica holds the server's copies");
  assert.deepEqual((await events(page)).filter((e) => e.kind === "rejected"), []);
});

test("CURSOR_AHEAD (the server's database restored from a backup): the replica resyncs by a full pull and ends equal to the server", async () => {
  const c = await suite.newClient();
  const page = await tab(c);
  assert.equal(await openIn(page, options(alice)), "opened");
  const kept = await call(page, "create", { name: "Made before the backup", workflow_type: "plain", tags: ["restore"] });
  await synced(page);
  await server.backup();
  // After the backup: more of Alice's records, which the restored server will not have.
  const lost = await call(page, "create", { name: "Made after the backup", workflow_type: "plain", tags: ["restore"] });
  await call(page, "update", kept.id, { description: "edited after the backup" });
  await synced(page);
  const bobs = await api(bob, "POST", "/v1/templates", { name: "Bob's after the backup", workflow_type: "plain", is_public: true, tags: ["restore"] });
  await until(async () => (await external(page, [bobs.id])).length > 0, 10_000, "Bob's template heard");
  // The server comes back from the backup: its feed is behind the replica's cursor.
  c.net.offline = true;
  await server.restoreBackup();
  c.net.offline = false;
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  await until(async () => {
    await page.evaluate(() => window.cat.sync().catch(() => null));
    const l = await page.evaluate((ids) => Promise.all(ids.map((id) => window.cat.get(id).then(() => "held", (e) => e.code))), [lost.id, bobs.id]);
    return l.every((x) => x === "NOT_FOUND");
  }, 30_000, "the full pull drops what the restored server no longer has");
  const { local, remote } = await bothSides(c, page, [kept.id]);
  assert.deepEqual(local, remote, "the replica holds the restored server's copy");
  assert.equal(local[0].description, "", "the edit made after the backup is gone with it");
  c.net.offline = true;
  const found = await call(page, "discover", { tags: ["restore"], includeBuiltin: false, limit: 10 });
  c.net.offline = false;
  assert.deepEqual(found.items.map((t) => t.id), [kept.id]);
  // The feed goes on from the restored server's head: a change made now arrives.
  const after = await api(bob, "POST", "/v1/templates", { name: "Bob's after the restore", workflow_type: "plain", is_public: true });
  await until(async () => (await external(page, [after.id])).length > 0, 20_000, "a change after the resync");
});
