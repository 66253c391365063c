// Review of branch audit15 (issue 15): faults found by the reviewer, each as a test that fails
// on the branch's code as reviewed (90f0b2a). See LEAD-FINDINGS.md of the branch. (R4, the lost
// answer's normalised fields, waits in /work/notes/s8/lost-answer.test.mjs.txt for the server's
// Idempotency-Key on PATCH: task fix15.)
//
//   node --test tests/pages/replica_review15.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, patchAs, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-review15", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

test("an update whose 412 'counts as pushed' (its fields equal the server's) does not let the next queued update of the record overwrite another device's edit without a conflict", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // `cat`: this device's replica; `direct`: another device of the same user.
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Chained ${Date.now()}`, workflow_type: "plain", description: "original" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  // Offline here: two edits of the record, the first one a rename.
  net.online = false;
  const name = `Renamed ${Date.now()}`;
  assert.equal(await run(p, async (cat, direct, a) => {
    await cat.update(a.id, { name: a.name });
    await cat.update(a.id, { description: "mine" });
    return (await cat.pending()).length;
  }, { id: t.id, name }), 2);
  // Meanwhile (this device still offline) the other device makes the same rename and also
  // changes the description: the description is a real conflict this device has never seen.
  const theirs = await patchAs(serverUrl, users[0], t.id, { name, description: "theirs" });
  assert.equal(theirs.description, "theirs", JSON.stringify(theirs));
  net.online = true;
  const s = await run(p, (cat) => cat.sync().then((r) => ({ conflicts: r.conflicts.map((c) => c.id) }), (e) => ({ error: e.code })));
  const server = await run(p, (cat, direct, id) => direct.get(id), t.id);
  // The other device's description must not be overwritten silently: the second update (made
  // on "original", not on "theirs") is a conflict, as it was before the first one's 412 was
  // counted as pushed.
  assert.equal(server.description, "theirs", `the other device's edit was overwritten without a conflict; sync: ${JSON.stringify(s)}`);
  assert.ok((s.conflicts ?? []).includes(t.id), `no conflict reported: ${JSON.stringify(s)}`);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("a tab of the previous release (schema 6, no queued-id index) cannot queue a write that a pull of this release then overwrites", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 1);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Old tab ${Date.now()}`, workflow_type: "plain", description: "original" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  // The server holds every write (503, Retry-After one hour): queued entries stay queued, the
  // syncs only pull (docs/replica.md "A held write waits for its time").
  const busy = JSON.stringify({ error: { code: "STORAGE_UNAVAILABLE", message: "busy", details: null } });
  net.answer = (r) => (r.method() !== "GET" && r.method() !== "OPTIONS" ? { status: 503, body: busy, headers: { "retry-after": "3600", "access-control-expose-headers": "Retry-After" } } : null);
  // A tab still running the release before this branch (its database at schema version 6, the
  // version it knows; it closes its connection on `versionchange`) queues an edit of the
  // record, as that release's OutboxStore.append does: the entry and `next-seq`, no index row.
  const old = await p.evaluate(async ({ dbName, id }) => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open(dbName, 6); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); }).catch((e) => e);
    if (!(db instanceof IDBDatabase)) return { refused: db?.name ?? String(db) };
    db.onversionchange = () => db.close();
    try {
      const tx = db.transaction(["replica_outbox", "replica_meta"], "readwrite");
      const s = tx.objectStore("replica_outbox");
      const m = tx.objectStore("replica_meta");
      const get = (r) => new Promise((res) => { r.onsuccess = () => res(r.result); });
      const last = await get(s.openCursor(null, "prev"));
      const next = (await get(m.get("next-seq")))?.value;
      const known = (await get(m.get(`known:${id}`)))?.value ?? null;
      const seq = Math.max(last ? last.key + 1 : 1, Number.isInteger(next) ? next : 1);
      s.add({ key: `01JZZZZZZZZZZZZZZZZZZZZZ${String(seq).padStart(2, "0").slice(-2)}`, endpoint: "update", args: { id, body: { description: "old tab's edit" } }, id: null, target: null, at: Date.now(), ready: true, known, seq });
      m.put({ key: "next-seq", value: seq + 1 });
      await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
      db.close();
      return { queued: seq };
    } catch (e) {
      db.close();
      return { refused: e.name };
    }
  }, { dbName, id: t.id });
  if (old.refused) {
    // The fix this test accepts: the older release is shut out of the replica (a schema
    // version it does not know), so it queues nothing the index does not count.
    assert.match(old.refused, /VersionError|InvalidStateError/, JSON.stringify(old));
  } else {
    // It queued: then this release must leave the record alone at its pulls (the entry is in
    // the outbox) rather than overwrite it with another device's copy.
    // Another device of the user edits the record on the server.
    await patchAs(serverUrl, users[0], t.id, { description: "theirs" });
    await run(p, (cat) => cat.sync().catch(() => null));
    const r = await run(p, async (cat, direct, id) => ({ pending: (await cat.pending()).map((x) => x.endpoint), local: (await cat.get(id)).description }), t.id);
    assert.ok(r.pending.includes("update"), JSON.stringify(r));
    assert.notEqual(r.local, "theirs", `a pull overwrote the record of a queued write: ${JSON.stringify(r)}`);
  }
  net.answer = null;
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("a template created offline on a replica reopened without the server (device clock a day fast) is pushed at the next sync, not held until the server's clock catches up", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // This device's clock runs a day ahead of the server's (the mirror of replica_audit's device
  // a day behind), the whole time: the replica's first open saw the server's Date.
  await p.evaluate(() => {
    const real = Date.now.bind(Date);
    window.realNow = real;
    Date.now = () => real() + 24 * 3600 * 1000;
  });
  const dbName = await openReplica(p, serverUrl, users, 0, 1);
  assert.equal(await run(p, async (cat) => { await cat.sync(); cat.close(); return "ok"; }), "ok");
  // The app is reopened while the server is unreachable (no Date header in this session yet).
  net.online = false;
  const made = await p.evaluate(async ({ serverUrl, a, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    const t = await window.cat.create({ name: `Fast clock ${window.realNow()}`, workflow_type: "plain" });
    return { id: t.id, pending: (await window.cat.pending()).length };
  }, { serverUrl, a: users[0], dbName });
  assert.equal(made.pending, 1, JSON.stringify(made));
  // Back online: the write is pushed now, not held (with every write queued behind it) until
  // the server's clock reaches its id's time part less 5 minutes (a day).
  net.online = true;
  const s = await run(p, (cat) => cat.sync().then((r) => ({ rejected: r.rejected.map((x) => x.error.code) }), (e) => ({ error: e.code, message: e.message })));
  const res = await fetch(`${serverUrl}/v1/templates/${made.id}`, { headers: { Authorization: `Bearer ${users[0].token}` } });
  // And a template created once the server answers again (this page is online now): its id is
  // never more than 5 minutes ahead of the server's clock.
  const later = await run(p, async (cat) => (await cat.create({ name: `Fast clock later ${Math.random()}`, workflow_type: "plain" })).id);
  const timeOf = (id) => [...id.slice(0, 10).toUpperCase()].reduce((n, ch) => n * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".indexOf(ch), 0);
  const serverNow = Date.parse(res.headers.get("date"));
  const first = { status: res.status, text: await res.text() };
  assert.ok(timeOf(later) <= serverNow + 5 * 60 * 1000, `an id made online is ${Math.round((timeOf(later) - serverNow) / 60000)} min ahead of the server's clock: the server refuses it`);
  assert.equal(first.status, 200, `the offline create was not pushed: sync ${JSON.stringify(s)}; server ${first.status} ${first.text}`);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("after a 412 'counted as pushed', the app's ifMatch from its own offline write is stale when another device also changed another field (never an overwrite of the other device's edit)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Alias ${Date.now()}`, workflow_type: "plain", description: "original" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  net.online = false;
  const name = `Renamed ${Date.now()}`;
  // The app renames offline and keeps the answer's updated_at for its next save (its form
  // still shows description "original").
  const mine = await run(p, (cat, direct, a) => cat.update(a.id, { name: a.name }), { id: t.id, name });
  assert.equal(mine.error, undefined, JSON.stringify(mine));
  // Another device makes the same rename and changes the description.
  await patchAs(serverUrl, users[0], t.id, { name, description: "theirs" });
  net.online = true;
  const s = await run(p, (cat) => cat.sync().then((r) => r.conflicts.length, (e) => e.code));
  // The app saves its form, made on the copy its own write returned: that copy is not the
  // server's (its description changed elsewhere), so the save must not reach the server as an
  // overwrite (CONFLICT here, or queued behind the kept conflict as before the branch).
  const saved = await run(p, (cat, direct, a) => cat.update(a.id, { description: "from the form" }, { ifMatch: a.at }).then(() => "accepted", (e) => e.code), { id: t.id, at: mine.updated_at });
  await run(p, (cat) => cat.sync().catch(() => null));
  const server = await (await fetch(`${serverUrl}/v1/templates/${t.id}`, { headers: { Authorization: `Bearer ${users[0].token}` } })).json();
  assert.equal(server.description, "theirs", `another device's edit overwritten through the alias: first sync ${JSON.stringify(s)}, save ${saved}`);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});
