// The offline replica against the reference server (server/, SQLite, started here on
// 127.0.0.1) in real headless Chromium: push, pull, conflicts and their resolutions, the
// server's view of what was pushed. Going offline = failing every request to the server's
// origin with `page.route` (the page's own origin still loads). The editor-level flows (reload
// offline, two tabs, two users live, a revoked token, eviction) are tests/e2e/replica.test.mjs.
//
//   node --test tests/pages/replica_server.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, patchAs, openReplica, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-srv", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

const page = () => replicaPage(browser, serverUrl, base);
const patch = (user, id, body) => patchAs(serverUrl, user, id, body);
const open = (p, u = 0, d = u) => openReplica(p, serverUrl, users, u, d);

test("offline writes reach the server once each, in order, under the replica's ids", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, (cat) => cat.create({ name: "Pushed online", workflow_type: "plain", is_public: false }));
  assert.equal(t.error, undefined, JSON.stringify(t));
  const first = await run(p, (cat) => cat.sync());
  assert.equal(first.error, undefined, JSON.stringify(first));
  assert.deepEqual(await run(p, async (cat, direct, id) => (await direct.get(id)).name, t.id), "Pushed online");

  net.online = false;
  const offline = await run(p, async (cat, direct, t) => {
    const cur = await cat.get(t.id);
    const u = await cat.update(t.id, { description: "edited offline" }, { ifMatch: cur.updated_at });
    const rated = await cat.rate(t.id, 5);
    const made = await cat.create({ name: "Made offline", workflow_type: "plain" });
    const v2 = await cat.newVersion(made.id, { description: "v2 offline" });
    return { u, rated, made, v2, pending: (await cat.pending()).map((e) => e.endpoint), sync: await cat.sync().catch((e) => e.code) };
  }, t);
  assert.deepEqual(offline.pending, ["update", "rate", "create", "newVersion"]);
  assert.equal(offline.sync, "NETWORK");

  net.online = true;
  net.writes.length = 0;
  const synced = await run(p, (cat) => cat.sync());
  assert.equal(synced.error, undefined, JSON.stringify(synced));
  assert.equal(synced.pushed, 4);
  assert.deepEqual(synced.conflicts, []);
  assert.deepEqual(synced.rejected, []);
  assert.deepEqual(net.writes, [`PATCH /v1/templates/${t.id}`, `PUT /v1/templates/${t.id}/rating`, "POST /v1/templates", `POST /v1/templates/${offline.made.id}/versions`]);
  const onServer = await run(p, async (cat, direct, ids) => ({
    t: await direct.get(ids.t),
    made: (await direct.versions(ids.made)).map((v) => [v.id, v.version]),
    v2: (await direct.versions(ids.made))[0].description,
    mine: (await direct.discover({ owner: ids.owner, latestOnly: false, includeBuiltin: false, limit: 100 })).items.map((x) => x.name).sort(),
    pending: await cat.pending(),
    local: await cat.get(ids.t),
  }), { t: t.id, made: offline.made.id, owner: users[0].user_id });
  assert.equal(onServer.t.description, "edited offline");
  assert.equal(onServer.t.rating, 5);
  assert.deepEqual(onServer.made, [[offline.v2.id, 2], [offline.made.id, 1]]);
  assert.equal(onServer.v2, "v2 offline");
  assert.deepEqual(onServer.mine, ["Made offline", "Made offline", "Pushed online"]);
  assert.deepEqual(onServer.pending, []);
  // The replica now holds the server's copies (timestamps, aggregates); the updated_at the app
  // got from its own last write before the push is still a valid ifMatch (nothing else changed
  // the record meanwhile).
  assert.equal(onServer.local.rating, 5);
  assert.equal(onServer.local.updated_at, onServer.t.updated_at);
  assert.notEqual(offline.rated.updated_at, onServer.t.updated_at);
  const again = await run(p, async (cat, direct, a) => {
    const u = await cat.update(a.id, { description: "after the sync" }, { ifMatch: a.ifMatch });
    await cat.sync();
    return { local: u.description, server: (await direct.get(a.id)).description, pending: (await cat.pending()).length };
  }, { id: t.id, ifMatch: offline.rated.updated_at });
  assert.deepEqual(again, { local: "after the sync", server: "after the sync", pending: 0 });
  // A second sync pushes nothing.
  assert.equal((await run(p, (cat) => cat.sync())).pushed, 0);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("another device's edit made meanwhile is a conflict, not an overwrite; both resolutions", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Contested ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return cat.get(t.id);
  });
  for (const choice of ["keep-remote", "overwrite"]) {
    net.online = false;
    const mine = await run(p, async (cat, direct, t) => {
      const cur = await cat.get(t.id);
      return cat.update(t.id, { description: `mine ${Math.random()}` }, { ifMatch: cur.updated_at });
    }, t);
    // Another device (here: this test process, straight to the server) edits meanwhile.
    const theirs = await patch(users[0], t.id, { description: `theirs ${Math.random()}` });
    net.online = true;
    const synced = await run(p, (cat) => cat.sync());
    assert.equal(synced.error, undefined, JSON.stringify(synced));
    assert.equal(synced.pushed, 0);
    assert.deepEqual(synced.conflicts.map((c) => [c.id, c.local.description, c.remote.description]), [[t.id, mine.description, theirs.description]]);
    const event = await run(p, (cat, direct, id) => window.events.find((e) => e.kind === "conflict" && e.id === id), t.id);
    assert.equal(event.remote.description, theirs.description);
    // Not overwritten on the server; the replica keeps the local edit until resolved.
    assert.equal(await run(p, async (cat, direct, id) => (await direct.get(id)).description, t.id), theirs.description);
    assert.equal((await run(p, (cat) => cat.pending())).length, 1);
    // The pull after the push saw the other device's change, and left the local edit alone.
    assert.equal(await run(p, async (cat, direct, id) => (await cat.get(id)).description, t.id), mine.description);
    assert.equal(await run(p, (cat, direct, a) => cat.resolveConflict(a.id, a.choice).then(() => "done"), { id: t.id, choice }), "done");
    await run(p, (cat) => cat.sync());
    const after = await run(p, async (cat, direct, id) => ({ local: (await cat.get(id)).description, server: (await direct.get(id)).description, pending: (await cat.pending()).length, conflicts: (await cat.sync()).conflicts.length }), t.id);
    const want = choice === "keep-remote" ? theirs.description : mine.description;
    assert.deepEqual(after, { local: want, server: want, pending: 0, conflicts: 0 }, choice);
    await p.evaluate(() => { window.events = []; });
  }
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("another user's public change is heard live and kept; a new replica pulls what the user owns", async () => {
  const { p } = await page();
  await open(p, 0, 1);
  // Another user publishes: the replica's subscribers hear it and it can be read offline.
  const theirs = await run(p, (cat, direct) => direct.create({ name: `Public ${Date.now()}`, workflow_type: "plain", is_public: true }));
  await p.waitForFunction((id) => window.events.some((e) => e.id === id && e.external), theirs.id, { timeout: 15000 });
  assert.equal(await run(p, async (cat, direct, id) => (await cat.get(id)).name, theirs.id), theirs.name);
  // The user's own records from elsewhere arrive in a fresh replica by its first full pull.
  const mine = await run(p, async (cat) => {
    const t = await cat.create({ name: `Owned ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  await run(p, (cat) => cat.close());
  const second = await p.evaluate(async ({ serverUrl, a, id, theirs }) => {
    const c = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName: `fresh-${Date.now()}` } });
    try {
      const name = (await c.get(id)).name;
      // Rating another user's public template this replica never read (not in its pull): it
      // is brought from the server first, rated locally, and the rating is pushed.
      const rated = await c.rate(theirs, 3).then((t) => t.rating, (e) => e.code);
      await c.sync(); // (the leader may have pushed it already: what counts is the server's copy)
      return { name, rated, pending: (await c.pending()).length };
    } finally {
      c.close();
    }
  }, { serverUrl, a: users[0], id: mine.id, theirs: theirs.id });
  assert.deepEqual(second, { name: mine.name, rated: 3, pending: 0 });
  assert.equal(await run(p, async (cat, direct, id) => (await direct.get(id)).rating, theirs.id), 3);
  await run(p, (cat, direct) => direct.close());
  await p.close();
});

test("a local edit made while the pull re-reads the record is a conflict, not an overwrite of the other device's edit", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Race ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    await new Promise((r) => setTimeout(r, 1500)); // the feed is connected
    return cat.get(t.id);
  });
  const heldP = new Promise((res) => { net.held = res; });
  net.hold = t.id;
  await patch(users[0], t.id, { description: "theirs" });
  await Promise.race([heldP, new Promise((_, rej) => setTimeout(() => rej(new Error("the pull never re-read the record")), 10000))]);
  // The pull holds the server copy in flight; the user saves the copy they see (the old one).
  const mine = await run(p, async (cat, direct, id) => {
    const cur = await cat.get(id);
    return cat.update(id, { description: "mine" }, { ifMatch: cur.updated_at });
  }, t.id);
  assert.equal(mine.description, "mine", JSON.stringify(mine));
  net.release();
  await new Promise((r) => setTimeout(r, 2000));
  const out = await run(p, async (cat, direct, id) => {
    let s = null;
    try { s = await cat.sync(); } catch (e) { s = { error: e.code }; }
    return { sync: s, server: (await direct.get(id)).description, local: (await cat.get(id)).description, conflicts: window.events.filter((e) => e.kind === "conflict").map((e) => e.id) };
  }, t.id);
  assert.equal(out.server, "theirs", `the other device's edit was overwritten without a conflict: ${JSON.stringify(out)}`);
  assert.equal(out.local, "mine", JSON.stringify(out));
  assert.deepEqual(out.conflicts, [t.id], JSON.stringify(out));
  await p.close();
});

test("keep-remote of a conflicted offline newVersion: the local version goes, the other device's comes, the pull goes on", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Versions ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return cat.get(t.id);
  });
  net.online = false;
  const mine = await run(p, (cat, direct, id) => cat.newVersion(id, { description: "mine v2" }, "mine"), t.id);
  // Another device makes version 2 meanwhile.
  const auth = { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" };
  const res = await fetch(`${serverUrl}/v1/templates/${t.id}/versions`, { method: "POST", headers: auth, body: JSON.stringify({ patch: { description: "theirs v2" }, changelog: "theirs" }) });
  const theirs = await res.json();
  net.online = true;
  const first = await run(p, async (cat) => { try { return await cat.sync(); } catch (e) { return { error: e.code, message: e.message }; } });
  assert.equal(first.error, undefined, `a server record the replica cannot store stopped the sync: ${JSON.stringify(first)}`);
  assert.deepEqual(first.conflicts.map((c) => c.id), [t.id], JSON.stringify(first));
  const after = await run(p, async (cat, direct, a) => {
    await cat.resolveConflict(a.id, "keep-remote");
    let s; try { s = await cat.sync(); } catch (e) { s = { error: e.code, message: e.message }; }
    const local = (await cat.versions(a.id)).map((v) => [v.id, v.version, v.is_latest]);
    return { s, local, pending: (await cat.pending()).length };
  }, { id: t.id });
  assert.equal(after.s.error, undefined, JSON.stringify(after));
  assert.equal(after.pending, 0, JSON.stringify(after));
  assert.ok(!after.local.some((v) => v[0] === mine.id), `the dropped version stays in the replica: ${JSON.stringify(after)}`);
  assert.ok(after.local.some((v) => v[0] === theirs.id && v[2] === true), `the other device's version is missing: ${JSON.stringify(after)}`);
  await p.close();
});

test("a queued create whose id the server refuses for good (taken meanwhile) ends as rejected, not a kept conflict", async () => {
  const { p, net } = await page();
  await open(p);
  net.online = false;
  const mine = await run(p, (cat) => cat.create({ name: `Taken id ${Date.now()}`, workflow_type: "plain" }));
  // Another user's record takes that id first (the server refuses it from then on: 409, expected "absent").
  const auth = { Authorization: `Bearer ${users[1].token}`, "Content-Type": "application/json" };
  const res = await fetch(`${serverUrl}/v1/templates?id=${mine.id}`, { method: "POST", headers: auth, body: JSON.stringify({ name: `Squatter ${Date.now()}`, workflow_type: "plain" }) });
  assert.equal(res.status, 201);
  net.online = true;
  const out = await run(p, async (cat, direct, id) => {
    let s; try { s = await cat.sync(); } catch (e) { s = { error: e.code, message: e.message }; }
    let local; try { local = (await cat.get(id)).name; } catch (e) { local = e.code; }
    return { s, local, pending: (await cat.pending()).length, rejected: window.events.filter((e) => e.kind === "rejected").map((e) => [e.id, e.error.code]) };
  }, mine.id);
  assert.equal(out.s.error, undefined, JSON.stringify(out));
  assert.deepEqual(out.s.conflicts, [], JSON.stringify(out));
  // (the leader's own sync on reconnection may be the one that met it: the event tells)
  assert.deepEqual(out.rejected, [[mine.id, "CONFLICT"]], JSON.stringify(out));
  assert.equal(out.pending, 0, JSON.stringify(out));
  assert.equal(out.local, "NOT_FOUND", JSON.stringify(out));
  await p.close();
});

test("a replica database of another user is refused with a coded error; their queued writes are never pushed with this token", async () => {
  const { p, net } = await page();
  const dbName = `wt-replica-srv-shared-${Date.now()}`;
  await p.evaluate(async ({ serverUrl, a, dbName }) => {
    window.ca = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    await new Promise((r) => setTimeout(r, 500));
  }, { serverUrl, a: users[0], dbName });
  net.online = false;
  const id = await p.evaluate(async () => { const t = await window.ca.create({ name: "Alice private draft", workflow_type: "plain" }); window.ca.close(); return t.id; });
  net.online = true;
  const res = await p.evaluate(async ({ serverUrl, b, dbName }) => {
    try {
      await window.wt.TemplateCatalog.open({ userId: b.user_id, storage: "remote", baseUrl: serverUrl, token: b.token, replica: { dbName } });
      return { opened: true };
    } catch (e) {
      return { opened: false, code: e.code, message: e.message };
    }
  }, { serverUrl, b: users[1], dbName });
  assert.deepEqual([res.opened, res.code], [false, "INVALID_ARGUMENT"], JSON.stringify(res));
  // Alice's write is still queued for her, nowhere on the server.
  const alice = await p.evaluate(async ({ serverUrl, a, dbName }) => {
    const c = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    const s = await c.sync();
    c.close();
    return s;
  }, { serverUrl, a: users[0], dbName });
  assert.ok(alice.pushed <= 1 && alice.rejected.length === 0, JSON.stringify(alice));
  const onServer = await fetch(`${serverUrl}/v1/templates/${id}`, { headers: { Authorization: `Bearer ${users[0].token}` } });
  assert.equal((await onServer.json()).owner_id, users[0].user_id);
  await p.close();
});

test("sync() right after open in the only tab runs there at once (no question to a leader that does not exist)", async () => {
  const { p } = await page();
  const r = await p.evaluate(async ({ serverUrl, a }) => {
    const c = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName: `wt-replica-srv-first-${Date.now()}` } });
    const t0 = Date.now();
    try { const s = await c.sync(); return { s, ms: Date.now() - t0 }; } catch (e) { return { code: e.code, message: e.message, ms: Date.now() - t0 }; } finally { c.close(); }
  }, { serverUrl, a: users[0] });
  assert.equal(r.code, undefined, JSON.stringify(r));
  assert.ok(r.ms < 10000, JSON.stringify(r));
  await p.close();
});

test("a device clock 10 minutes fast: the replica's ids follow the server's clock and its creates reach the server", async () => {
  const { p } = await page();
  await p.evaluate(() => { const real = Date.now.bind(Date); Date.now = () => real() + 10 * 60 * 1000; });
  const r = await p.evaluate(async ({ serverUrl, a }) => {
    const c = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName: `wt-replica-srv-clock-${Date.now()}` } });
    const ev = [];
    c.subscribe((e) => ev.push(e));
    const t = await c.create({ name: `Fast clock ${Math.random()}`, workflow_type: "plain" });
    const v = await c.newVersion(t.id, { description: "v2" }, "v2");
    let s; try { s = await c.sync(); } catch (e) { s = { error: e.code, message: e.message }; }
    const direct = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token });
    let onServer; try { onServer = (await direct.versions(t.id)).map((x) => x.id).sort(); } catch (e) { onServer = e.code; }
    c.close();
    return { s, ids: [t.id, v.id].sort(), onServer, rejected: ev.filter((e) => e.kind === "rejected").map((e) => e.error.code) };
  }, { serverUrl, a: users[0] });
  assert.deepEqual(r.rejected, [], JSON.stringify(r));
  assert.deepEqual(r.onServer, r.ids, JSON.stringify(r));
  await p.close();
});

test("a create refused for its id's time part (the device clock jumped after open) stays queued and in the replica", async () => {
  const { p } = await page();
  const r = await p.evaluate(async ({ serverUrl, a }) => {
    const c = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName: `wt-replica-srv-jump-${Date.now()}` } });
    const ev = [];
    c.subscribe((e) => ev.push(e));
    const real = Date.now.bind(Date);
    Date.now = () => real() + 10 * 60 * 1000;
    const t = await c.create({ name: `Jumped clock ${Math.random()}`, workflow_type: "plain" });
    let s; try { s = await c.sync(); } catch (e) { s = { error: e.code, message: e.message }; }
    let local; try { local = (await c.get(t.id)).id; } catch (e) { local = e.code; }
    const pending = (await c.pending()).map((x) => x.id);
    c.close();
    return { s, id: t.id, local, pending, rejected: ev.filter((e) => e.kind === "rejected").map((e) => e.error.code) };
  }, { serverUrl, a: users[0] });
  assert.deepEqual(r.rejected, [], JSON.stringify(r));
  assert.equal(r.local, r.id, JSON.stringify(r));
  assert.deepEqual(r.pending, [r.id], JSON.stringify(r));
  assert.equal(r.s.error, "INVALID_ARGUMENT", JSON.stringify(r));
  await p.close();
});

test("an ifMatch from an own write followed by another write of the record is stale (CONFLICT, as on plain IndexedDB)", async () => {
  const { p } = await page();
  await open(p);
  const r = await run(p, async (cat) => {
    const t = await cat.create({ name: `Alias ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    const t1 = await cat.get(t.id);
    const a = await cat.update(t.id, { description: "A" }, { ifMatch: t1.updated_at }); // view A's copy
    await cat.sync();
    const b0 = await cat.get(t.id); // view B reads A's write
    const b = await cat.update(t.id, { description: "B" }, { ifMatch: b0.updated_at });
    await cat.sync();
    const out = {};
    // view A, still holding its own copy `a`, saves again: B's write came in between
    try { await cat.update(t.id, { description: "A2 overwrites B" }, { ifMatch: a.updated_at }); out.stale = "accepted"; } catch (e) { out.stale = e.code; }
    // view B's copy is the latest own write: still good after the push
    try { out.latest = (await cat.update(t.id, { description: "B2" }, { ifMatch: b.updated_at })).description; } catch (e) { out.latest = e.code; }
    return out;
  });
  assert.deepEqual(r, { stale: "CONFLICT", latest: "B2" });
  await p.close();
});

test("online: deriving from another user's public template found by discover (its whole chain fetched), resolving it, pushing it", async () => {
  const { p } = await page();
  const auth = { Authorization: `Bearer ${users[1].token}`, "Content-Type": "application/json" };
  const post = async (body) => (await fetch(`${serverUrl}/v1/templates`, { method: "POST", headers: auth, body: JSON.stringify(body) })).json();
  const root = await post({ name: `Public root ${Date.now()}`, workflow_type: "plain", is_public: true, default_params: { temperature: 0.3 } });
  const base = await post({ name: `Public base ${Date.now()}`, workflow_type: "plain", is_public: true, base_template_id: root.id });
  await open(p);
  const r = await run(p, async (cat, direct, id) => {
    const out = {};
    out.found = (await cat.discover({ text: "Public base", includeBuiltin: false })).items.some((t) => t.id === id);
    try {
      const d = await cat.create({ name: `Derived ${Date.now()}`, workflow_type: "plain", base_template_id: id });
      out.chain = (await cat.chain(d.id)).map((l) => l.level);
      out.temperature = (await cat.resolve(d.id)).effective.default_params?.temperature ?? null;
      await cat.sync();
      out.onServer = (await direct.get(d.id)).base_template_id === id;
    } catch (e) { out.error = `${e.code}: ${e.message}`; }
    return out;
  }, base.id);
  assert.deepEqual(r, { found: true, chain: [0, 1, 2], temperature: 0.3, onServer: true });
  await p.close();
});

test("a 5xx with a coded body keeps the write queued (retried); a proxy's 4xx without one is a refusal, not NETWORK", async () => {
  const { p, net } = await page();
  await open(p);
  const first = await run(p, async (cat) => {
    await cat.sync();
    return null;
  });
  assert.equal(first, null);
  net.answer = (r) => (r.method() === "POST" && new URL(r.url()).pathname === "/v1/templates"
    ? { status: 500, body: JSON.stringify({ error: { code: "INTEGRITY", message: "the server's store failed a check", details: null } }) }
    : null);
  const a = await run(p, async (cat) => {
    const t = await cat.create({ name: `Kept on 500 ${Date.now()}`, workflow_type: "plain" });
    let s; try { s = await cat.sync(); } catch (e) { s = { error: e.code }; }
    return { id: t.id, s, pending: (await cat.pending()).length, rejected: window.events.filter((e) => e.kind === "rejected").length };
  });
  assert.deepEqual([a.s.error, a.pending, a.rejected], ["INTEGRITY", 1, 0], JSON.stringify(a));
  net.answer = (r) => (r.method() === "POST" && new URL(r.url()).pathname === "/v1/templates"
    ? { status: 413, type: "text/html", body: "<html>413 Request Entity Too Large</html>" }
    : null);
  const b = await run(p, async (cat) => {
    let s; try { s = await cat.sync(); } catch (e) { s = { error: e.code }; }
    return { s, state: cat.syncState().state, pending: (await cat.pending()).length, rejected: window.events.filter((e) => e.kind === "rejected").map((e) => e.error.code) };
  });
  assert.equal(b.s.error, undefined, JSON.stringify(b));
  assert.equal(b.pending, 0, JSON.stringify(b));
  assert.equal(b.state, "online", JSON.stringify(b));
  assert.equal(b.rejected.length, 1, JSON.stringify(b));
  assert.notEqual(b.rejected[0], "NETWORK", JSON.stringify(b));
  await p.close();
});

test("keep-remote while the server's copy was never read does not delete the local record", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Unknown remote ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return cat.get(t.id);
  });
  net.online = false;
  await run(p, (cat, direct, id) => cat.update(id, { description: "mine" }), t.id);
  await patch(users[0], t.id, { description: "theirs" });
  // Back: the PATCH is refused (412) but the GET of the server's copy fails (a 400 without a body: not retried).
  net.answer = (r) => (r.method() === "GET" && new URL(r.url()).pathname === `/v1/templates/${t.id}` ? { status: 400, type: "text/plain", body: "" } : null);
  net.online = true;
  const c = await run(p, async (cat) => { try { return await cat.sync(); } catch (e) { return { error: e.code }; } });
  assert.deepEqual(c.conflicts?.map((x) => x.id), [t.id], JSON.stringify(c));
  net.answer = null;
  net.online = false;
  const r = await run(p, async (cat, direct, id) => {
    let resolved; try { await cat.resolveConflict(id, "keep-remote"); resolved = "done"; } catch (e) { resolved = e.code; }
    let local; try { local = (await cat.get(id)).description; } catch (e) { local = e.code; }
    return { resolved, local };
  }, t.id);
  assert.deepEqual(r, { resolved: "NETWORK", local: "mine" });
  await p.close();
});

test("changes passed over while a record had queued writes are re-read once they are settled (keep-remote brings the labels too)", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Stale ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return cat.get(t.id);
  });
  net.online = false;
  await run(p, (cat, direct, id) => cat.update(id, { description: "mine" }), t.id);
  // Another device labels the template and edits it.
  const label = await fetch(`${serverUrl}/v1/templates/${t.id}/labels/prod`, { method: "PUT", headers: { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" }, body: JSON.stringify({ version_id: t.id }) });
  assert.ok(label.status < 300, `PUT label answered ${label.status}: ${await label.text()}`);
  await patch(users[0], t.id, { description: "theirs" });
  net.online = true;
  const r = await run(p, async (cat, direct, id) => {
    try { await cat.sync(); } catch { /* the conflict */ }
    await cat.resolveConflict(id, "keep-remote");
    await cat.sync();
    await cat.sync();
    return { labels: (await cat.labels(id)).map((l) => l.label), description: (await cat.get(id)).description };
  }, t.id);
  assert.deepEqual(r, { labels: ["prod"], description: "theirs" });
  await p.close();
});

test("a queued delete of a record already deleted on the server (another device, or a replay after the key expired) is done, not rejected", async () => {
  const { p, net } = await page();
  await open(p);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Deleted twice ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return cat.get(t.id);
  });
  net.online = false;
  await run(p, (cat, direct, id) => cat.delete(id), t.id);
  const gone = await fetch(`${serverUrl}/v1/templates/${t.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${users[0].token}` } });
  assert.ok(gone.status < 300, `DELETE answered ${gone.status}`);
  net.online = true;
  const r = await run(p, async (cat) => {
    try { await cat.sync(); } catch (e) { return { error: e.code }; }
    return { pending: (await cat.pending()).length, rejected: window.events.filter((e) => e.kind === "rejected").map((e) => e.error.code) };
  });
  assert.deepEqual(r, { pending: 0, rejected: [] });
  await p.close();
});
