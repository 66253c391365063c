// The offline replica's engine against the reference server, its failure paths: a local write
// whose outbox entry cannot be marked done afterwards (the app's answer and the push agree), and
// a follower catalog closed while its sync() waits for the leader (no 60 s timer left behind).
//
//   node --test tests/pages/replica_engine.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-engine", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

test("a local write whose outbox entry cannot be marked done afterwards succeeds, and its entry is pushed at the next sync", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Marked ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  net.online = false;
  const out = await run(p, async (cat, direct, t) => {
    // The outbox refuses the "done" mark (a quota or a closing database, at that very moment).
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (v, ...rest) {
      if (this.name === "replica_outbox" && v && v.ready === true) throw new DOMException("injected failure", "QuotaExceededError");
      return put.call(this, v, ...rest);
    };
    let answer;
    try {
      answer = await cat.update(t.id, { description: "made while the mark failed" }).then((r) => r.description, (e) => e.code);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    return { answer, local: (await cat.get(t.id)).description, pending: (await cat.pending()).map((e) => e.endpoint) };
  }, t);
  assert.deepEqual(out, { answer: "made while the mark failed", local: "made while the mark failed", pending: ["update"] });
  net.online = true;
  const synced = await run(p, async (cat, direct, id) => {
    // (Pushed by this sync or by the one the reconnection started: well before the 30 s after
    // which an unmarked entry of a dead tab is pushed.)
    const started = Date.now();
    await cat.sync();
    return { pending: (await cat.pending()).length, server: (await direct.get(id)).description, fast: Date.now() - started < 10000 };
  }, t.id);
  assert.deepEqual(synced, { pending: 0, server: "made while the mark failed", fast: true });
  await p.close();
});

test("a follower's sync() waiting for the leader ends when the follower closes (STORAGE_UNAVAILABLE, no timer left)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const r = await p.evaluate(async ({ serverUrl, u, dbName }) => {
    window.follower = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token, replica: { dbName } });
    return "ok";
  }, { serverUrl, u: users[0], dbName });
  assert.equal(r, "ok");
  // The leader's sync hangs on the server; the follower asks it, then closes.
  net.stallNow();
  const out = await p.evaluate(async () => {
    const started = Date.now();
    const waiting = window.follower.sync().then(() => "synced", (e) => e.code);
    await new Promise((r) => setTimeout(r, 300));
    window.follower.close();
    const answer = await Promise.race([waiting, new Promise((r) => setTimeout(() => r("still waiting"), 3000))]);
    return { answer, ms: Date.now() - started };
  });
  net.unstall();
  assert.equal(out.answer, "STORAGE_UNAVAILABLE", JSON.stringify(out));
  await p.close();
});

/** The replica's meta rows (js/outbox.js META) whose key starts with one of `prefixes`. */
function metaRows(p, dbName, prefixes) {
  return p.evaluate(({ dbName, prefixes }) => new Promise((resolve, reject) => {
    const r = indexedDB.open(dbName);
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const db = r.result;
      const all = db.transaction("replica_meta").objectStore("replica_meta").getAll();
      all.onsuccess = () => {
        db.close();
        resolve(all.result.map((x) => x.key).filter((k) => prefixes.some((pre) => k.startsWith(pre))).sort());
      };
      all.onerror = () => reject(all.error);
    };
  }), { dbName, prefixes });
}

test("meta rows do not grow without bound: a deleted template's known value and alias go, and only the latest label alias is kept", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const a = await cat.create({ name: `Pruned ${Date.now()}`, workflow_type: "plain" });
    const b = await cat.newVersion(a.id, { description: "b" }, "b");
    await cat.update(b.id, { description: "edited" });
    await cat.setLabel(a.id, "prod");
    await cat.sync();
    const l = await cat.labels(a.id);
    await cat.setLabel(b.id, "prod");
    await cat.sync();
    return { a: a.id, b: b.id, l: l.length };
  });
  assert.equal(t.l, 1, JSON.stringify(t));
  const before = await metaRows(p, dbName, [`known:${t.b}`, "labelalias:prod "]);
  assert.equal(before.filter((k) => k.startsWith("labelalias:prod ")).length, 1, `one label alias: ${JSON.stringify(before)}`);
  assert.ok(before.includes(`known:${t.b}`), JSON.stringify(before));
  const done = await run(p, async (cat, direct, id) => {
    await cat.removeLabel(id, "prod");
    await cat.delete(id);
    await cat.sync();
    return { pending: (await cat.pending()).length, server: await direct.get(id).then(() => "there", (e) => e.code) };
  }, t.b);
  assert.deepEqual(done, { pending: 0, server: "NOT_FOUND" });
  assert.deepEqual(await metaRows(p, dbName, [`known:${t.b}`, `alias:${t.b}`, `lineage:${t.b}`]), []);
  await p.close();
});

test("a rating made on another device is re-read alone (GET /v1/templates/{id}/rating), not with the whole export", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Rated elsewhere ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  net.seen.length = 0;
  // Another device of the same user rates it (outside the page).
  const res = await fetch(`${serverUrl}/v1/templates/${t.id}/rating`, { method: "PUT", headers: { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" }, body: JSON.stringify({ stars: 3 }) });
  assert.equal(res.status, 200);
  let mine = null;
  for (let i = 0; i < 60 && !mine; i++) {
    await new Promise((r) => setTimeout(r, 150));
    mine = await run(p, async (cat, direct, id) => (await cat.exportAll()).ratings.find((r) => r.template_id === id) ?? null, t.id);
  }
  assert.equal(mine?.stars, 3, JSON.stringify(mine));
  assert.deepEqual(net.seen.filter(([m, path]) => m === "GET" && path === "/v1/export"), [], "no export downloaded for one rating");
  assert.ok(net.seen.some(([m, path]) => m === "GET" && path === `/v1/templates/${t.id}/rating`), JSON.stringify(net.seen));
  await p.close();
});

test("a push of n queued writes reads O(n) outbox rows, not O(n^2)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // With the live stream on: the echoes of the pushed writes arrive during the push and run
  // the pulls of further syncs, which must not make the outbox reads grow with n per entry
  // either. (n = 200: before rep8 about 20 to 40 rows were read per entry; 6 per entry fails
  // that clearly.)
  await openReplica(p, serverUrl, users, 0, 0);
  const n = 200;
  net.online = false;
  const queued = await run(p, async (cat, direct, n) => {
    const t = await cat.create({ name: `Counted ${Date.now()}`, workflow_type: "plain" });
    for (let i = 0; i < n - 1; i++) await cat.recordUsage(t.id, { success: true, responseTimeMs: 1 });
    return (await cat.pending()).length;
  }, n);
  assert.equal(queued, n);
  // Rows the outbox store hands out from now on (the push runs only once the server answers).
  await run(p, async () => {
    window.outboxRows = 0;
    const getAll = IDBObjectStore.prototype.getAll;
    window.restoreGetAll = () => { IDBObjectStore.prototype.getAll = getAll; };
    IDBObjectStore.prototype.getAll = function (...a) {
      const req = getAll.apply(this, a);
      if (this.name === "replica_outbox") req.addEventListener("success", () => { window.outboxRows += req.result.length; });
      return req;
    };
  });
  net.online = true;
  const rows = await run(p, async () => {
    await cat.sync();
    window.restoreGetAll();
    return { rows: window.outboxRows, pending: (await cat.pending()).length };
  });
  assert.equal(rows.pending, 0);
  assert.ok(rows.rows < 6 * n, `outbox rows read for ${n} entries: ${rows.rows}`);
  await p.close();
});

test("a rating the pull re-reads does not overwrite the user's rating queued while that re-read was on the way", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Raced rating ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  // Another device of the same user rates it 3 (outside the page).
  const res = await fetch(`${serverUrl}/v1/templates/${t.id}/rating`, { method: "PUT", headers: { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" }, body: JSON.stringify({ stars: 3 }) });
  assert.equal(res.status, 200);
  const path = `/v1/templates/${t.id}/rating`;
  const asked = () => net.seen.filter(([m, x]) => m === "GET" && x === path).length;
  // The pull's requests go one gate at a time until its re-read of the rating waits at one.
  net.stallNow();
  await run(p, (cat) => { window.synced = cat.sync().then(() => "synced", (e) => e.code); });
  for (let i = 0; i < 400 && asked() < 1; i++) {
    net.unstall();
    net.stallNow();
    await new Promise((r) => setTimeout(r, 25));
  }
  // (At least this pull's re-read: another sync queued behind an earlier kick may re-read it too.)
  assert.ok(asked() >= 1, JSON.stringify(net.seen));
  // Meanwhile the user rates it 5 here; its push fails (the server is in trouble): it stays queued.
  net.answer = (r) => (r.method() === "PUT" ? { status: 503, body: JSON.stringify({ error: { code: "STORAGE_UNAVAILABLE", message: "down" } }) } : null);
  await run(p, (cat, direct, id) => cat.rate(id, 5), t.id);
  net.unstall();
  const out = await run(p, async (cat, direct, id) => {
    await window.synced;
    return { pending: (await cat.pending()).length, stars: (await cat.exportAll()).ratings.find((r) => r.template_id === id)?.stars };
  }, t.id);
  assert.deepEqual(out, { pending: 1, stars: 5 }, "the queued rating stays the replica's");
  await p.close();
});

test("an outbox sequence number is never used twice, also after the highest entry was removed (a push reads later appends by key range)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  net.online = false;
  const { readdirSync, existsSync } = await import("node:fs");
  const snippet = readdirSync(new URL("../../pkg/snippets/", import.meta.url)).find((d) => existsSync(new URL(`../../pkg/snippets/${d}/js/outbox.js`, import.meta.url)));
  const seqs = await p.evaluate(async ({ path, dbName }) => {
    const { OutboxStore } = await import(path);
    const o = await OutboxStore.open(dbName);
    // Not ready and fresh: no push would send them (and the page is offline).
    const entry = () => ({ key: crypto.randomUUID(), endpoint: "update", args: { id: "none" }, at: Date.now(), ready: false });
    const a = await o.append(entry());
    const b = await o.append(entry());
    await o.remove([b]);
    const c = await o.append(entry());
    await o.remove([a, c]);
    o.close();
    return [a, b, c];
  }, { path: `/pkg/snippets/${snippet}/js/outbox.js`, dbName });
  assert.equal(seqs[1], seqs[0] + 1);
  assert.ok(seqs[2] > seqs[1], `a removed highest number was used again: ${seqs}`);
  await p.close();
});

test("a pull reads no outbox entry to leave queued records alone: it asks only about the records the feed names (n queued, pulls of m changes)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 1);
  const n = 200;
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Queued behind ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  net.online = false;
  assert.equal(await run(p, async (cat, direct, a) => {
    for (let i = 0; i < a.n; i++) await cat.recordUsage(a.id, { success: true, responseTimeMs: 1 });
    return (await cat.pending()).length;
  }, { n, id: t.id }), n);
  // The server holds every write for an hour (503 + Retry-After): the outbox stays whole, and
  // the syncs the feed's news start only pull (docs/replica.md "A held write waits for its time").
  const busy = JSON.stringify({ error: { code: "STORAGE_UNAVAILABLE", message: "busy", details: null } });
  net.answer = (r) => (r.method() !== "GET" && r.method() !== "OPTIONS" ? { status: 503, body: busy, headers: { "retry-after": "3600", "access-control-expose-headers": "Retry-After" } } : null);
  net.online = true;
  assert.equal((await run(p, (cat) => cat.sync().then(() => "synced", (e) => e.code))), "NETWORK");
  await run(p, () => {
    window.outboxRows = 0;
    const getAll = IDBObjectStore.prototype.getAll;
    window.restoreGetAll = () => { IDBObjectStore.prototype.getAll = getAll; };
    IDBObjectStore.prototype.getAll = function (...a) {
      const req = getAll.apply(this, a);
      if (this.name === "replica_outbox") req.addEventListener("success", () => { window.outboxRows += req.result.length; });
      return req;
    };
  });
  // Another user publishes m templates: each reaches the replica through a pull.
  const m = 5;
  const made = [];
  for (let i = 0; i < m; i++) {
    const res = await fetch(`${serverUrl}/v1/templates`, { method: "POST", headers: { Authorization: `Bearer ${users[1].token}`, "Content-Type": "application/json" }, body: JSON.stringify({ name: `News ${i} ${Date.now()}`, workflow_type: "plain", is_public: true }) });
    made.push((await res.json()).id);
  }
  await p.waitForFunction((ids) => ids.every((id) => window.events.some((e) => e.id === id && e.external)), made, { timeout: 20000 });
  const rows = await run(p, async () => { window.restoreGetAll(); return window.outboxRows; });
  // Before: every pull read the whole outbox (n rows) once or twice per page of changes.
  assert.equal(rows, 0, `outbox rows read by the pulls of ${m} changes with ${n} queued: ${rows}`);
  assert.equal(await run(p, async (cat) => (await cat.pending()).length), n, "still queued");
  net.answer = null;
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("an open of a replica runs no readwrite transaction: the queued-id index is built by schema step 007, not at every open (offline, writes queued)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Opened ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t;
  });
  net.online = false;
  assert.equal(await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "queued" });
    await cat.rate(id, 2);
    cat.close();
    return "queued";
  }, t.id), "queued");
  // Every transaction the reopen starts until open() resolves, by mode and stores (a readwrite
  // one over the outbox or meta waits behind every other tab's write).
  const r = await p.evaluate(async ({ serverUrl, a, dbName }) => {
    const log = [];
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
      log.push([mode ?? "readonly", [].concat(stores).join(",")]);
      return transaction.call(this, stores, mode, ...rest);
    };
    try {
      window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    } finally {
      IDBDatabase.prototype.transaction = transaction;
    }
    return { opened: log.length > 0, writes: log.filter(([mode]) => mode !== "readonly"), pending: (await window.cat.pending()).map((e) => e.endpoint) };
  }, { serverUrl, a: users[0], dbName });
  assert.deepEqual(r, { opened: true, writes: [], pending: ["update", "rate"] });
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});
