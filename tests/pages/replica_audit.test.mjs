// Issue 15 sentences the other replica suites did not prove (audit of branch audit15, AUDIT
// rows 3, 8, 31, 40): what a first open keeps offline (specs, ratings, labels, the built-ins'
// statistics, all versions), what a sync of an unchanged catalog costs, a first pull cut short
// (nothing kept, no `complete` marker), and a device clock far behind (the cursor is the
// server's, never the client's clock). Task fix15: the schema step that builds the queued-id
// index and shuts the release before it out, and the server clock learned again by a page
// opened without the server.
//
//   node --test tests/pages/replica_audit.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, patchAs, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-audit", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

/** The parts of an export bundle a replica must hold, in a comparable order. */
function held(bundle) {
  const by = (k) => (a, b) => String(a[k]).localeCompare(String(b[k]));
  return {
    templates: bundle.workflow_templates.map((t) => [t.id, t.version, t.is_latest, t.updated_at, t.usage_count, t.rating_count]).sort(),
    specs: bundle.template_specs.map((s) => [s.id, s.updated_at]).sort(),
    ratings: [...bundle.ratings].sort(by("template_id")),
    labels: [...bundle.template_labels].sort(by("label")),
    builtin_stats: [...bundle.builtin_stats].sort(by("template_id")),
  };
}

test("a first open keeps what the user needs offline: the replica's export offline equals the server's (all versions, specs, ratings, labels, built-in statistics)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  // Made on the server by another device of the user (the plain remote catalog `direct`).
  const server = await run(p, async (cat, direct) => {
    const t = await direct.create({ name: `Kept ${Date.now()}`, workflow_type: "plain", is_public: true });
    const v2 = await direct.newVersion(t.id, { description: "second" }, "v2");
    await direct.setLabel(v2.id, "prod");
    await direct.rate(v2.id, 4);
    const spec = await direct.createSpec({ name: `Spec ${Date.now()}`, workflow_type: "plain", description: "kept offline" });
    const builtin = (await direct.discover({ includeBuiltin: true, limit: 100 })).items.find((x) => x.is_builtin);
    await direct.recordUsage(builtin.id, { success: true, responseTimeMs: 5, tokens: 3 });
    await direct.rate(builtin.id, 5);
    return { bundle: await direct.exportAll(), spec: spec.id, builtin: builtin.id };
  });
  assert.equal(server.error, undefined, JSON.stringify(server));
  assert.ok(server.bundle.template_specs.length && server.bundle.template_labels.length && server.bundle.builtin_stats.length && server.bundle.ratings.length >= 2, "the server's export has each part");
  // A fresh replica of the user (first open: full pull), then the server goes away.
  const r = await p.evaluate(async ({ serverUrl, a }) => {
    window.fresh = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName: `wt-audit-fresh-${Date.now()}` } });
    await window.fresh.sync();
    return "ok";
  }, { serverUrl, a: users[0] });
  assert.equal(r, "ok");
  net.online = false;
  const offline = await p.evaluate(async ({ spec, builtin }) => {
    const c = window.fresh;
    return { bundle: await c.exportAll(), spec: (await c.getSpec(spec)).description, builtin: (await c.get(builtin)).usage_count, state: c.syncState().state };
  }, server);
  assert.deepEqual(held(offline.bundle), held(server.bundle));
  assert.equal(offline.spec, "kept offline");
  assert.ok(offline.builtin >= 1, JSON.stringify(offline));
  await p.evaluate(() => { window.fresh.close(); window.cat.close(); window.direct.close(); });
  await p.close();
});

test("a sync of an unchanged catalog asks only GET /v1/changes from the kept cursor (a small empty page), no export, no re-read", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 1, 1);
  const made = await run(p, async (cat) => {
    const t = await cat.create({ name: `Quiet ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    await cat.sync(); // the echo of the push, pulled
    return t;
  });
  assert.equal(made.error, undefined, JSON.stringify(made));
  const pages = [];
  p.on("response", async (res) => {
    const u = new URL(res.url());
    if (u.pathname === "/v1/changes") pages.push({ since: u.searchParams.get("since"), body: await res.text().catch(() => "") });
  });
  const mark = net.seen.length;
  const r = await run(p, (cat) => cat.sync());
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.deepEqual([r.pushed, r.pulled], [0, 0]);
  // What this sync sent (the live stream, held open by the feed, is not the sync's).
  const sent = net.seen.slice(mark).filter(([, path]) => path !== "/v1/changes/stream");
  assert.ok(sent.length >= 1, "the sync asked the server");
  assert.deepEqual(sent.filter(([m, path]) => !(m === "GET" && path === "/v1/changes")), [], JSON.stringify(sent));
  await new Promise((res) => setTimeout(res, 200)); // the response bodies
  assert.ok(pages.length >= 1);
  for (const pg of pages) {
    assert.notEqual(pg.since, "now", "from the kept cursor, not a full pull");
    assert.deepEqual(JSON.parse(pg.body).changes, [], pg.body);
    assert.ok(pg.body.length < 200, `a small answer: ${pg.body.length} bytes`);
  }
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("a first pull cut short (the export unreachable) keeps nothing and leaves no complete marker; the next sync pulls everything", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const mine = await (await fetch(`${serverUrl}/v1/templates`, {
    method: "POST", headers: { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: `Before the cut ${Date.now()}`, workflow_type: "plain" }),
  })).json();
  // The export fails as a proxy's bare 404 would (a refusal, not retried within the call).
  net.answer = (r) => (new URL(r.url()).pathname === "/v1/export" ? { status: 404, type: "text/plain", body: "no" } : null);
  const dbName = `wt-audit-cut-${Date.now()}`;
  const first = await p.evaluate(async ({ serverUrl, a, dbName }) => {
    window.cut = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    return window.cut.sync().then(() => "synced", (e) => e.code);
  }, { serverUrl, a: users[0], dbName });
  assert.notEqual(first, "synced");
  net.online = false;
  const meta = (key) => p.evaluate(({ dbName, key }) => new Promise((resolve, reject) => {
    const req = indexedDB.open(dbName);
    req.onsuccess = () => {
      const g = req.result.transaction("replica_meta").objectStore("replica_meta").get(key);
      g.onsuccess = () => { resolve(g.result ?? null); req.result.close(); };
      g.onerror = () => reject(g.error);
    };
    req.onerror = () => reject(req.error);
  }), { dbName, key });
  assert.equal(await meta("complete"), null, "no complete marker after a cut pull");
  const before = await p.evaluate(async () => (await window.cut.exportAll()).workflow_templates.length);
  assert.equal(before, 0, "nothing of the export is kept half");
  net.answer = null;
  net.online = true;
  const after = await p.evaluate(async (id) => {
    await window.cut.sync();
    return (await window.cut.exportAll()).workflow_templates.some((t) => t.id === id);
  }, mine.id);
  assert.equal(after, true);
  assert.notEqual(await meta("complete"), null);
  await p.evaluate(() => window.cut.close());
  await p.close();
});

test("a device clock a day behind: writes made offline reach the server and another device's changes still arrive (the cursor is the server's)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await p.evaluate(() => { const real = Date.now.bind(Date); Date.now = () => real() - 24 * 3600 * 1000; });
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Slow clock ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  net.online = false;
  await run(p, (cat, direct, id) => cat.update(id, { description: "made offline, a day behind" }), t.id);
  // Meanwhile another user publishes (the server's clock: later than anything this device says).
  const theirs = await (await fetch(`${serverUrl}/v1/templates`, {
    method: "POST", headers: { Authorization: `Bearer ${users[1].token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: `Elsewhere ${Date.now()}`, workflow_type: "plain", is_public: true }),
  })).json();
  net.online = true;
  const r = await run(p, async (cat, direct, a) => {
    const s = await cat.sync();
    await cat.sync();
    return { pushed: s.pushed, rejected: s.rejected, theirs: (await cat.get(a.theirs)).name, pending: (await cat.pending()).length };
  }, { id: t.id, theirs: theirs.id });
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.deepEqual([r.theirs, r.pending, r.rejected], [theirs.name, 0, []]);
  const onServer = await (await fetch(`${serverUrl}/v1/templates/${t.id}`, { headers: { Authorization: `Bearer ${users[0].token}` } })).json();
  assert.equal(onServer.description, "made offline, a day behind");
  // Heard from the feed, not fetched by the read: the replica held it before `get` (offline now).
  net.online = false;
  assert.equal(await run(p, async (cat, direct, id) => (await cat.get(id)).name, theirs.id), theirs.name);
  net.online = true;
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("schema step 007_replica_queued_index builds the queued-id index of a replica a release of schema 6 left (its entries, no index rows), and shuts that release out; a pull of the upgraded replica then leaves the queued record alone", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const migrations = readFileSync(new URL("../../src/store/indexeddb/migrations.json", import.meta.url), "utf8");
  const idb = `${base}/pkg/${readdirSync(new URL("../../pkg/snippets/", import.meta.url)).map((d) => `snippets/${d}/js/idb.js`).find((f) => existsSync(new URL(`../../pkg/${f}`, import.meta.url)))}`;
  const r = await p.evaluate(async ({ idb, migrations }) => {
    const { idbOpen } = await import(idb);
    const dbName = `wt-schema6-${Math.random()}`;
    const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    // The database as the release of schema 6 made it, and its outbox as that release wrote it:
    // entries and next-seq, no `queued:<id>` rows (and one stale row the step must not keep).
    const old = await idbOpen(dbName, 6, migrations, () => {});
    const tx = old.transaction(["replica_outbox", "replica_meta"], "readwrite");
    const s = tx.objectStore("replica_outbox");
    s.add({ seq: 1, key: "K1", endpoint: "update", args: { id: "01J0000000000000000000000A", body: { description: "x" } }, id: null, target: null, at: 0, ready: true });
    s.add({ seq: 2, key: "K2", endpoint: "rate", args: { id: "01J0000000000000000000000A", rating: 3 }, id: null, target: null, at: 0, ready: true });
    s.add({ seq: 3, key: "K3", endpoint: "newVersion", args: { id: "01J0000000000000000000000B", patch: {} }, id: "01J0000000000000000000000C", target: "01J0000000000000000000000B", at: 0, ready: true });
    tx.objectStore("replica_meta").put({ key: "queued:01J0000000000000000000000Z", value: { n: 1, rates: 0 } });
    await new Promise((res) => { tx.oncomplete = res; });
    let closed = false;
    old.onversionchange = () => { closed = true; old.close(); };
    // This release opens it (a plain IndexedDB catalog: the same schema and steps).
    const cat = await window.wt.TemplateCatalog.open({ userId: "01J000000000000000000000AB", storage: "indexeddb", dbName });
    cat.close();
    const db = await req(indexedDB.open(dbName));
    const rows = await req(db.transaction("replica_meta").objectStore("replica_meta").getAll());
    const version = db.version;
    db.close();
    // The old release asks for its version: refused.
    const again = await req(indexedDB.open(dbName, 6)).then((d) => { d.close(); return "opened"; }, (e) => e.name);
    return { version, closed, again, rows: rows.map((x) => [x.key, x.value]) };
  }, { idb, migrations });
  assert.deepEqual(r, {
    version: 7,
    closed: true,
    again: "VersionError",
    // Every meta row: the index, and no marker (nothing reads one; docs/replica.md).
    rows: [
      ["queued:01J0000000000000000000000A", { n: 2, rates: 1 }],
      ["queued:01J0000000000000000000000B", { n: 1, rates: 0 }],
      ["queued:01J0000000000000000000000C", { n: 1, rates: 0 }],
    ],
  });

  // A real replica of the user as the release of schema 6 left it: its records, cursor and
  // identity, an edit and a rating queued offline, no index rows (made by this release, then
  // copied row by row into a database made at version 6 by that schema's steps).
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Schema 6 ${Date.now()}`, workflow_type: "plain", description: "original" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  net.online = false;
  assert.equal(await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "queued at schema 6" });
    await cat.rate(id, 2);
    cat.close();
    return "queued";
  }, t.id), "queued");
  const old6 = await p.evaluate(async ({ idb, migrations, dbName }) => {
    const { idbOpen } = await import(idb);
    const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const from = await req(indexedDB.open(dbName));
    const name = `${dbName}-schema6`;
    const to = await idbOpen(name, 6, migrations, () => {});
    const copied = {};
    for (const store of from.objectStoreNames) {
      const rows = (await req(from.transaction(store).objectStore(store).getAll())).filter((r) => !(store === "replica_meta" && String(r.key).startsWith("queued")));
      const tx = to.transaction(store, "readwrite");
      for (const r of rows) tx.objectStore(store).put(r);
      await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
      copied[store] = rows.length;
    }
    const version = to.version;
    from.close();
    to.close();
    return { name, version, outbox: copied.replica_outbox };
  }, { idb, migrations, dbName });
  assert.deepEqual([old6.version, old6.outbox], [6, 2], JSON.stringify(old6));
  // Another device edits the template; this release opens the copy (step 007 runs) and syncs:
  // the pull brings the change but keeps the queued local edit, whose push is the conflict.
  net.online = true;
  await patchAs(serverUrl, users[0], t.id, { description: "theirs" });
  const after = await p.evaluate(async ({ serverUrl, a, name, id }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName: name } });
    const s = await window.cat.sync().catch((e) => ({ error: e.code }));
    const db = await new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const rows = await new Promise((res) => { const r = db.transaction("replica_meta").objectStore("replica_meta").getAll(IDBKeyRange.bound("queued", "queued\uffff")); r.onsuccess = () => res(r.result); });
    const version = db.version;
    db.close();
    return { version, conflicts: (s.conflicts ?? []).map((c) => c.id), error: s.error ?? null, local: (await window.cat.get(id)).description, index: rows.map((r) => [r.key, r.value]) };
  }, { serverUrl, a: users[0], name: old6.name, id: t.id });
  assert.deepEqual(after, { version: 7, conflicts: [t.id], error: null, local: "queued at schema 6", index: [[`queued:${t.id}`, { n: 1, rates: 0 }]] });
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("a page opened without the server and with no kept clock offset (a replica from before it) learns the server's clock at the server's first answer: its ids are then not a day ahead", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // This device's clock runs a day ahead of the server's.
  await p.evaluate(() => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + 24 * 3600 * 1000;
  });
  const dbName = await openReplica(p, serverUrl, users, 1, 1);
  assert.equal(await run(p, async (cat) => { await cat.sync(); cat.close(); return "ok"; }), "ok");
  // As a replica kept by a release before the offset was kept: no meta `clock-offset`.
  const meta = (drop) => p.evaluate(async ({ dbName, drop }) => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open(dbName); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const tx = db.transaction("replica_meta", drop ? "readwrite" : "readonly");
    const s = tx.objectStore("replica_meta");
    const row = await new Promise((res) => { const r = s.get("clock-offset"); r.onsuccess = () => res(r.result?.value ?? null); });
    if (drop) s.delete("clock-offset");
    await new Promise((res) => { tx.oncomplete = res; });
    db.close();
    return row;
  }, { dbName, drop });
  const kept = await meta(true);
  assert.ok(kept && kept.offset < -23 * 3600 * 1000, `the first open kept the server's clock: ${JSON.stringify(kept)}`);
  net.online = false;
  assert.equal(await p.evaluate(async ({ serverUrl, a, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    return "opened";
  }, { serverUrl, a: users[1], dbName }), "opened");
  net.online = true;
  await run(p, (cat) => cat.sync().catch(() => null));
  let learned = null;
  for (let i = 0; i < 100 && !learned; i++) { learned = await meta(false); if (!learned) await new Promise((r) => setTimeout(r, 50)); }
  assert.ok(learned && learned.offset < -23 * 3600 * 1000, `the server's clock learned again at its first answer: ${JSON.stringify(learned)}`);
  const made = await run(p, async (cat) => (await cat.create({ name: `Learned clock ${Math.random()}`, workflow_type: "plain" })).id);
  const timeOf = (id) => [...id.slice(0, 10).toUpperCase()].reduce((n, ch) => n * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".indexOf(ch), 0);
  assert.ok(Math.abs(timeOf(made) - Date.now()) < 5 * 60 * 1000, `id ${made} is ${Math.round((timeOf(made) - Date.now()) / 60000)} min from the server's clock`);
  // Pushed (by this sync or the one the write started), not held for its id's time part.
  const s = await run(p, async (cat) => cat.sync().then(async (r) => ({ rejected: r.rejected.length, pending: (await cat.pending()).length }), (e) => ({ error: e.code, message: e.message })));
  assert.deepEqual(s, { rejected: 0, pending: 0 });
  const res = await fetch(`${serverUrl}/v1/templates/${made}`, { headers: { Authorization: `Bearer ${users[1].token}` } });
  assert.equal(res.status, 200, await res.text());
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

// A lost answer of a conditional write: the resend replays (server-side Idempotency-Key on
// PATCH, branch idem15); these were kept conflicts before.
test("an update whose answer was lost (the server applied it) is not a conflict when sent again: its server copy already holds the edit", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 1, 1);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Lost answer ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  // The first PATCH reaches the server, its answer never reaches the page; the resend carries the
  // entry's Idempotency-Key, so the server answers its first answer (not a 412 against its own
  // success).
  let lost = 0;
  await p.route(`${serverUrl}/v1/templates/${t.id}`, async (route) => {
    if (route.request().method() !== "PATCH" || lost++) return route.fallback();
    await route.fetch().catch(() => {});
    return route.abort("connectionreset");
  });
  const r = await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "applied once", tags: ["b", "a"] });
    const first = await cat.sync().then(() => "synced", (e) => e.code);
    const again = await cat.sync();
    return { first, conflicts: again.conflicts.length, events: window.events.filter((e) => e.kind === "conflict").length, pending: (await cat.pending()).length, local: (await cat.get(id)).description, server: (await direct.get(id)).description };
  }, t.id);
  assert.equal(lost, 2, "sent twice: the lost one and the resend");
  assert.deepEqual({ ...r, first: undefined }, { first: undefined, conflicts: 0, events: 0, pending: 0, local: "applied once", server: "applied once" }, JSON.stringify(r));
  // Another device's different edit is still a conflict.
  const other = await run(p, async (cat, direct, id) => {
    const cur = await direct.get(id);
    await direct.update(id, { description: "theirs" }, { ifMatch: cur.updated_at });
    return "ok";
  }, t.id);
  assert.equal(other, "ok");
  net.online = false;
  await run(p, (cat, direct, id) => cat.update(id, { description: "mine" }), t.id);
  net.online = true;
  const c = await run(p, async (cat) => (await cat.sync()).conflicts.map((x) => x.remote?.description));
  assert.deepEqual(c, ["theirs"]);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("an update whose answer was lost is not a conflict when the server normalised what it stored (a name or tags with spaces around them)", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Lost answer ${Date.now()}`, workflow_type: "plain", tags: ["x"] });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  // The first PATCH reaches the server (applied) but its answer is lost on the way back.
  let lost = 0;
  await p.route(`${serverUrl}/v1/templates/${t.id}`, async (route) => {
    if (route.request().method() === "PATCH" && lost++ === 0) {
      await route.fetch();
      return route.abort("connectionreset");
    }
    return route.fallback();
  });
  const name = `  Spaced ${Date.now()}  `;
  const r = await run(p, async (cat, direct, a) => {
    const local = await cat.update(a.id, { name: a.name, tags: [" a ", "b "] });
    const first = await cat.sync().then(() => "synced", (e) => e.code);
    const second = await cat.sync().then((s) => ({ conflicts: s.conflicts.map((c) => c.id) }), (e) => ({ error: e.code }));
    return { local: [local.name, local.tags], first, second, pending: (await cat.pending()).length };
  }, { id: t.id, name });
  assert.equal(lost >= 2, true, `the resend came: ${lost}`);
  assert.deepEqual(r.local, [name.trim(), ["a", "b"]], "the core stores them trimmed");
  // The resend is answered by the server's replay of its first answer: no conflict.
  assert.deepEqual(r.second, { conflicts: [] }, JSON.stringify(r));
  assert.equal(r.pending, 0, JSON.stringify(r));
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});
