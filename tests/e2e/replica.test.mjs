// The offline replica of a remote catalog (issue 15; docs/replica.md; README "Replica"): a real
// server process (SQLite), real Chromium (playwright-core). A page goes offline when the route
// of its browser context aborts every new request to the server's origin (the page's own origin
// stays up, so it reloads offline); open change streams are ended by restarting the server on
// its port, since a route cannot cut a stream already open. Writes made offline apply at once,
// wait in the outbox, survive a reload, and reach the server exactly once; a conflicting edit
// made elsewhere is reported, not overwritten; tabs share one feed connection and one pusher;
// another user's public change arrives live; a revoked token keeps the outbox; a deleted
// replica is rebuilt by a full pull.
//
//   node --test tests/e2e/replica.test.mjs   (after scripts/build.sh and
//                                             cargo build -p workflow-templates-server)
import { test } from "node:test";
import assert from "node:assert/strict";
import { replicaSuite, recordFeed, goOffline, tab, openIn, call, code, events, until, synced, sleep } from "./replica-harness.mjs";

const suite = replicaSuite((s) => {
  server = s.server;
  [alice, bob] = server.users;
});
let server, alice, bob;
const newClient = () => suite.newClient();

const options = (user, extra = {}) => ({ userId: user.user_id, storage: "remote", baseUrl: server.url, token: user.token, replica: true, ...extra });
const posts = (log, path) => log.filter((r) => r.method === "POST" && r.url.pathname === path && !r.offline);
const ids = (list) => list.map((c) => (typeof c === "string" ? c : c.id));
const state = (page) => page.evaluate(() => { const { state, pending } = window.cat.syncState(); return { state, pending }; });
const noErrors = (...ps) => { for (const p of ps) assert.deepEqual(p.errors.map(String), []); };

test("offline: create, update, rate and record usage apply at once and are queued; a reload offline keeps them; back online each reaches the server exactly once", async () => {
  const c = await newClient();
  const page = await tab(c);
  // No replica yet: opening offline cannot work.
  c.net.offline = true;
  assert.notEqual(await openIn(page, options(alice)), "opened");
  c.net.offline = false;
  assert.equal(await openIn(page, options(alice)), "opened");
  const { body: head } = await server.api(alice.token, "GET", "/v1/changes?since=now");
  await call(page, "create", { name: "Made online", workflow_type: "plain", is_public: true });
  await synced(page);
  // The copy the edits start from: after the push it carries the server's timestamps.
  const base = (await call(page, "discover", { text: "Made online", includeBuiltin: false })).items[0];
  const known = (await server.api(alice.token, "GET", `/v1/templates/${base.id}`)).body;
  assert.equal(base.updated_at, known.updated_at);

  await goOffline(c.net, server);
  const made = await call(page, "create", { name: "Made offline", workflow_type: "plain", tags: ["offline"] });
  const edited = await call(page, "update", base.id, { description: "edited offline" }, { ifMatch: base.updated_at });
  await call(page, "rate", base.id, 4);
  await call(page, "recordUsage", base.id, { success: true, responseTimeMs: 12, tokens: 5 });
  assert.equal(edited.description, "edited offline");
  // A write the server would refuse for a rule is refused here too, and not queued.
  assert.equal(await code(page, "create", { name: "", workflow_type: "plain" }), "VALIDATION_FAILED");
  assert.equal(await code(page, "create", { name: "MADE OFFLINE", workflow_type: "plain" }), "NAME_TAKEN");
  assert.equal(await code(page, "update", base.id, { description: "stale" }, { ifMatch: base.updated_at }), "CONFLICT");
  const queued = await call(page, "pending");
  assert.deepEqual(queued.map((e) => e.endpoint), ["create", "update", "rate", "recordUsage"]);
  assert.equal(queued[0].id, made.id, "a create keeps the id the replica gave it");
  assert.ok(queued.every((e, i) => i === 0 || e.seq > queued[i - 1].seq), "in order");
  assert.equal(new Set(queued.map((e) => e.key)).size, 4, "one Idempotency-Key each");
  await until(() => page.evaluate(() => window.cat.syncState().state === "offline"), 20_000, "syncState says offline");
  assert.deepEqual(await state(page), { state: "offline", pending: 4 });
  // Reads answer from the replica.
  assert.equal((await call(page, "get", made.id)).name, "Made offline");
  const found = await call(page, "discover", { tags: ["offline"] });
  assert.equal(found.offline, true);
  assert.deepEqual(found.items.map((t) => t.id), [made.id]);

  // Reload while offline: the replica opens from its kept identity; data and outbox are there.
  await page.reload();
  assert.equal(await openIn(page, options(alice)), "opened");
  assert.equal((await call(page, "get", made.id)).name, "Made offline");
  assert.equal((await call(page, "get", base.id)).description, "edited offline");
  assert.deepEqual(await call(page, "pending"), queued);
  // Another token (not the one the replica was opened with) does not open it offline.
  assert.notEqual(await openIn(await tab(c), options(alice, { token: `${alice.token}x` })), "opened");

  // Back online. The server applies the first push of the create and of the usage but their
  // answers are lost: the retries carry the same key and id, and nothing is applied twice.
  const lost = new Set();
  c.net.lose = (req) => {
    const p = new URL(req.url()).pathname;
    const first = req.method() === "POST" && (p === "/v1/templates" || p.endsWith("/usage")) && !lost.has(p);
    if (first) lost.add(p);
    return first;
  };
  const mark = c.net.log.length;
  c.net.offline = false;
  await synced(page);
  assert.equal(lost.size, 2, "both answers were lost once");
  const creates = posts(c.net.log.slice(mark), "/v1/templates");
  assert.ok(creates.length >= 2, "the create was sent again");
  for (const r of creates) {
    assert.equal(r.url.searchParams.get("id"), made.id);
    assert.equal(r.headers["idempotency-key"], queued[0].key);
  }
  const patch = c.net.log.slice(mark).find((r) => r.method === "PATCH" && r.url.pathname === `/v1/templates/${base.id}` && !r.offline);
  assert.equal(patch.headers["if-match"], `"${known.updated_at}"`, "If-Match is the server's updated_at of the copy the edit was made from");

  // The server holds each write once.
  const { body: bundle } = await server.api(alice.token, "GET", "/v1/export");
  assert.deepEqual(bundle.workflow_templates.filter((t) => t.name === "Made offline").map((t) => t.id), [made.id]);
  const onServer = (await server.api(alice.token, "GET", `/v1/templates/${base.id}`)).body;
  assert.deepEqual([onServer.description, onServer.usage_count, onServer.rating_count, onServer.rating], ["edited offline", 1, 1, 4]);
  // The feed, read with a second token of Alice: one put of the created template (a replay writes nothing).
  const second = server.newToken(alice.user_id);
  const { body: feed } = await server.api(second, "GET", `/v1/changes?since=${head.cursor}`);
  assert.equal(feed.changes.filter((ch) => ch.kind === "template" && ch.id === made.id).length, 1, JSON.stringify(feed.changes));
  assert.equal(feed.changes.filter((ch) => ch.kind === "rating" && ch.id === base.id).length, 1);
  // And the replica now holds the server's copies.
  assert.equal((await call(page, "get", made.id)).updated_at, (await server.api(alice.token, "GET", `/v1/templates/${made.id}`)).body.updated_at);
  assert.deepEqual(await state(page), { state: "online", pending: 0 });
  noErrors(page);
});

test("another client's edit made meanwhile is a conflict, not overwritten; keep-remote and overwrite both resolve it", async () => {
  const c = await newClient();
  const page = await tab(c);
  assert.equal(await openIn(page, options(alice, { replica: { dbName: "wt-e2e-conflicts" } })), "opened");
  const one = await call(page, "create", { name: "Conflict one", workflow_type: "plain" });
  const two = await call(page, "create", { name: "Conflict two", workflow_type: "plain" });
  const calm = await call(page, "create", { name: "No conflict", workflow_type: "plain" });
  await synced(page);

  await goOffline(c.net, server);
  await call(page, "update", one.id, { description: "mine 1" });
  await call(page, "update", two.id, { description: "mine 2" });
  await call(page, "update", calm.id, { description: "mine 3" });
  for (const [t, d] of [[one, "theirs 1"], [two, "theirs 2"]]) {
    assert.equal((await server.api(alice.token, "PATCH", `/v1/templates/${t.id}`, { description: d })).status, 200);
  }
  c.net.offline = false;
  const result = await call(page, "sync");
  assert.deepEqual(ids(result.conflicts).sort(), [one.id, two.id].sort());
  // Reported as events with both copies.
  const heard = await until(async () => {
    const cs = (await events(page)).filter((e) => e.kind === "conflict");
    return cs.length >= 2 && cs;
  }, 10_000, "two conflict events");
  for (const [t, n] of [[one, 1], [two, 2]]) {
    const e = heard.find((x) => x.id === t.id);
    assert.equal(e.local.description, `mine ${n}`);
    assert.equal(e.remote.description, `theirs ${n}`);
  }
  // Not overwritten on either side; the other write went through.
  assert.equal((await server.api(alice.token, "GET", `/v1/templates/${one.id}`)).body.description, "theirs 1");
  assert.equal((await server.api(alice.token, "GET", `/v1/templates/${calm.id}`)).body.description, "mine 3");
  assert.equal((await call(page, "get", one.id)).description, "mine 1", "the pull keeps the local edit while it is queued");
  assert.deepEqual((await call(page, "pending")).map((e) => e.args?.id ?? e.id).sort(), [one.id, two.id].sort());

  await call(page, "resolveConflict", one.id, "keep-remote");
  assert.equal((await call(page, "get", one.id)).description, "theirs 1");
  await call(page, "resolveConflict", two.id, "overwrite");
  await synced(page);
  assert.equal((await server.api(alice.token, "GET", `/v1/templates/${two.id}`)).body.description, "mine 2");
  assert.equal((await server.api(alice.token, "GET", `/v1/templates/${one.id}`)).body.description, "theirs 1");
  assert.equal((await call(page, "get", two.id)).description, "mine 2");
  assert.deepEqual((await call(page, "sync")).conflicts, []);
  noErrors(page);
});

test("two tabs of one user: one feed connection, one pusher, one shared outbox; each change applied once; the other tab takes over", async () => {
  const c = await newClient();
  const [t1, t2] = [await tab(c), await tab(c)];
  for (const p of [t1, t2]) assert.equal(await openIn(p, options(alice, { replica: { dbName: "wt-e2e-tabs" } })), "opened");
  const streams = (p) => c.net.log.filter((r) => r.page === p && r.url.pathname === "/v1/changes/stream").length;
  await until(async () => streams(t1) + streams(t2) > 0, 10_000, "a feed connection");
  await sleep(1500);
  const [leader, follower] = streams(t1) > 0 ? [t1, t2] : [t2, t1];
  assert.equal(streams(follower), 0, "only one tab holds the feed connection");

  await goOffline(c.net, server);
  const a = await call(follower, "create", { name: "From the follower", workflow_type: "plain", is_public: true });
  const b = await call(leader, "create", { name: "From the leader", workflow_type: "plain", is_public: true });
  for (const p of [t1, t2]) {
    const shared = await until(async () => { const q = await call(p, "pending"); return q.length === 2 && q; }, 10_000, "both writes in the shared outbox");
    assert.deepEqual(shared.map((e) => e.id), [a.id, b.id]);
  }
  c.net.offline = false;
  await synced(leader);
  await until(async () => (await call(follower, "pending")).length === 0, 10_000, "the follower sees the outbox empty");
  const sent = posts(c.net.log, "/v1/templates");
  assert.deepEqual(sent.map((r) => r.url.searchParams.get("id")).sort(), [a.id, b.id].sort(), "each write sent once");
  assert.ok(sent.every((r) => r.page === leader), "by the leader only");
  const { body: bundle } = await server.api(alice.token, "GET", "/v1/export");
  assert.equal(bundle.workflow_templates.filter((t) => t.name.startsWith("From the ")).length, 2);
  assert.equal((await call(follower, "get", a.id)).name, "From the follower");

  // Bob's public change reaches both tabs once each.
  const news = (await server.api(bob.token, "POST", "/v1/templates", { name: "Bob for both tabs", workflow_type: "plain", is_public: true })).body;
  for (const p of [t1, t2]) await until(async () => (await events(p)).some((e) => e.external && e.id === news.id), 10_000, "Bob's change in each tab");
  await sleep(1000);
  for (const p of [t1, t2]) assert.equal((await events(p)).filter((e) => e.external && e.id === news.id && e.kind === "template").length, 1);

  // The leader closes: the other tab takes the feed over, and hears the next change.
  await leader.close();
  await until(async () => streams(follower) > 0, 15_000, "the follower connects the feed");
  const later = (await server.api(bob.token, "POST", "/v1/templates", { name: "Bob after the handover", workflow_type: "plain", is_public: true })).body;
  await until(async () => (await events(follower)).some((e) => e.external && e.id === later.id), 10_000, "the next change in the new leader");
  noErrors(follower);
});

test("two users see each other's public changes live; a private one never reaches the other, not even its id; a feed cut misses nothing", async () => {
  const [ca, cb] = [await newClient(), await newClient()];
  // What Bob's page receives from the feed (pages and stream text), recorded as it reads it.
  await recordFeed(cb.ctx);
  const [pa, pb] = [await tab(ca), await tab(cb)];
  assert.equal(await openIn(pa, options(alice)), "opened");
  assert.equal(await openIn(pb, options(bob)), "opened");
  await until(async () => [ca, cb].every((c) => c.net.log.some((r) => r.url.pathname === "/v1/changes/stream")), 10_000, "both feeds connect");
  await sleep(500);
  const secret = await call(pa, "create", { name: "Alice's secret", workflow_type: "plain" });
  const open = await call(pa, "create", { name: "Alice shares", workflow_type: "plain", is_public: true });
  // Live: within 5 s on this shared 2-core machine (a second or two when it is idle).
  await until(async () => (await events(pb)).some((e) => e.external && e.id === open.id), 5000, "Alice's public create at Bob");
  assert.equal((await call(pb, "get", open.id)).name, "Alice shares");
  const bobs = await call(pb, "create", { name: "Bob shares", workflow_type: "plain", is_public: true });
  await until(async () => (await events(pa)).some((e) => e.external && e.id === bobs.id), 5000, "Bob's public create at Alice");
  await call(pb, "update", bobs.id, { description: "Bob edits" });
  await until(async () => (await events(pa)).filter((e) => e.external && e.id === bobs.id).length >= 2, 5000, "Bob's edit at Alice");
  assert.equal((await call(pa, "get", bobs.id)).description, "Bob edits");
  // Not even its id in anything the feed sent Bob (the record of it holds Alice's public one).
  const received = (await pb.evaluate(() => window.feedBodies)).join("");
  assert.ok(received.includes(open.id), "the recording holds what the feed sent Bob");
  assert.ok(!received.includes(secret.id), "the feed sent Bob the id of Alice's private template");
  assert.ok(!JSON.stringify(await events(pb)).includes(secret.id), "Bob heard of Alice's private template");
  assert.equal(await code(pb, "get", secret.id), "NOT_FOUND");

  // Alice's feed is cut; Bob's changes meanwhile arrive once each when she is back.
  await goOffline(ca.net, server);
  const away = [];
  for (let i = 0; i < 3; i++) away.push((await server.api(bob.token, "POST", "/v1/templates", { name: `While Alice is away ${i}`, workflow_type: "plain", is_public: true })).body.id);
  ca.net.offline = false;
  await pa.evaluate(() => window.dispatchEvent(new Event("online")));
  await until(async () => (await events(pa)).some((e) => e.external && e.id === away[2]), 20_000, "the changes made while Alice was away");
  await sleep(1000);
  // Each once (the replica re-reads a page's records in parallel: events follow the reads, not commit order).
  assert.deepEqual((await events(pa)).filter((e) => e.external && away.includes(e.id)).map((e) => e.id).sort(), [...away].sort(), "each once");
  for (const id of away) assert.equal((await call(pa, "get", id)).owner_id, bob.user_id);
  noErrors(pa, pb);
});

test("a token revoked while offline: UNAUTHORIZED, the outbox kept; a new token of the same user pushes it", async () => {
  const c = await newClient();
  const token = server.newToken(alice.user_id);
  const user = { ...alice, token };
  const dbName = "wt-e2e-revoked";
  const page = await tab(c);
  assert.equal(await openIn(page, options(user, { replica: { dbName } })), "opened");
  await synced(page);
  await goOffline(c.net, server);
  const queued = await call(page, "create", { name: "Queued before the revocation", workflow_type: "plain" });
  server.revoke(token);
  c.net.offline = false;
  assert.equal(await code(page, "sync"), "UNAUTHORIZED");
  assert.deepEqual((await call(page, "pending")).map((e) => e.id), [queued.id], "the outbox is kept");
  // Opening with the refused token: UNAUTHORIZED (online), and the outbox is still kept.
  await page.reload();
  assert.equal(await openIn(page, options(user, { replica: { dbName } })), "UNAUTHORIZED");
  const fresh = { ...alice, token: server.newToken(alice.user_id) };
  assert.equal(await openIn(page, options(fresh, { replica: { dbName } })), "opened");
  assert.deepEqual((await call(page, "pending")).map((e) => e.id), [queued.id]);
  await synced(page);
  assert.equal((await server.api(fresh.token, "GET", `/v1/templates/${queued.id}`)).body.name, "Queued before the revocation");
  noErrors(page);
});

test("a replica deleted under the page (storage evicted) is rebuilt by a full pull", async () => {
  const c = await newClient();
  const page = await tab(c);
  assert.equal(await openIn(page, options(alice)), "opened");
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push((await call(page, "create", { name: `Evicted ${i}`, workflow_type: "plain", tags: ["evicted"] })).id);
  const v2 = await call(page, "newVersion", mine[0], { description: "second" }, "two");
  await synced(page);
  const names = await page.evaluate(() => indexedDB.databases().then((l) => l.map((d) => d.name)));
  assert.ok(names.includes(`wt-replica:${server.url}:${alice.user_id}`), JSON.stringify(names));
  // The browser evicts the origin's storage: every database goes, under the open catalog.
  const deleted = await page.evaluate(async () => {
    const all = await indexedDB.databases();
    const done = (name) => new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = () => resolve("deleted");
      req.onerror = () => resolve("error");
      setTimeout(() => resolve("blocked"), 10_000);
    });
    return Promise.all(all.map((d) => done(d.name)));
  });
  assert.ok(deleted.every((d) => d === "deleted"), `the open catalog lets the database go: ${deleted}`);
  // Meanwhile another client of Alice's creates one more.
  const elsewhere = (await server.api(alice.token, "POST", "/v1/templates", { name: "Evicted 3", workflow_type: "plain", tags: ["evicted"] })).body;
  await page.reload();
  assert.equal(await openIn(page, options(alice)), "opened");
  await synced(page);
  await goOffline(c.net, server);
  await page.reload();
  assert.equal(await openIn(page, options(alice)), "opened", "the rebuilt replica opens offline");
  const found = await call(page, "discover", { tags: ["evicted"], limit: 10 });
  assert.equal(found.offline, true);
  assert.deepEqual(found.items.map((t) => t.id).sort(), [...mine, elsewhere.id].filter((id) => id !== mine[0]).concat(v2.id).sort());
  assert.deepEqual((await call(page, "versions", v2.id)).map((v) => v.version), [2, 1], "all versions of the user's own templates");
  c.net.offline = false;
  noErrors(page);
});
