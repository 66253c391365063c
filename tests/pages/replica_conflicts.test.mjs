// Conflicts of the offline replica are kept by kind and id (issue 15 "Conflicts are never
// silent"; review finding 14): a label conflict and a template conflict on one version are two
// conflicts, neither overwrites the other, each is reported (sync's `conflicts`, a `conflict`
// event with `recordKind`) and resolved on its own (`resolveConflict(id, choice, kind)`).
//
//   node --test tests/pages/replica_conflicts.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, patchAs, openReplica, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-conflicts", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

test("a label conflict and a template conflict on one id are both kept, reported with their kind, and resolved one by one", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0);
  const t = await run(p, async (cat) => {
    const v1 = await cat.create({ name: `Both ${Date.now()}`, workflow_type: "plain" });
    const v2 = await cat.newVersion(v1.id, { description: "v2" });
    await cat.setLabel(v2.id, "prod");
    await cat.sync();
    return { v1: v1.id, v2: (await cat.get(v2.id)), label: (await cat.labels(v2.id)).find((x) => x.label === "prod") };
  });
  net.online = false;
  // Offline: the label is set again and the version edited, each on the copy held.
  const local = await run(p, async (cat, direct, t) => {
    await cat.setLabel(t.v2.id, "prod", { ifMatch: t.label.updated_at });
    await cat.update(t.v2.id, { description: "mine" }, { ifMatch: t.v2.updated_at });
    return (await cat.pending()).map((x) => x.endpoint);
  }, t);
  assert.deepEqual(local, ["setLabel", "update"]);
  // Another device moves the label and edits the same version meanwhile.
  const auth = { Authorization: `Bearer ${users[0].token}`, "Content-Type": "application/json" };
  const moved = await fetch(`${serverUrl}/v1/templates/${t.v1}/labels/prod`, { method: "PUT", headers: auth });
  assert.ok(moved.status < 300, await moved.text());
  const theirs = await patchAs(serverUrl, users[0], t.v2.id, { description: "theirs" });
  net.online = true;
  const synced = await run(p, (cat) => cat.sync().then((r) => r.conflicts.map((c) => [c.kind, c.id, c.endpoint]).sort()));
  assert.deepEqual(synced, [["labels", t.v2.id, "setLabel"], ["template", t.v2.id, "update"]], JSON.stringify(synced));
  const events = await run(p, () => window.events.filter((e) => e.kind === "conflict").map((e) => [e.recordKind, e.id]).sort());
  assert.deepEqual(events, [["labels", t.v2.id], ["template", t.v2.id]]);
  // Two kept on one id: the kind must be named.
  const ambiguous = await run(p, (cat, direct, id) => cat.resolveConflict(id, "keep-remote").then(() => "done"), t.v2.id);
  assert.equal(ambiguous.error, "INVALID_ARGUMENT", JSON.stringify(ambiguous));
  const bad = await run(p, (cat, direct, id) => cat.resolveConflict(id, "keep-remote", "nonsense").then(() => "done"), t.v2.id);
  assert.equal(bad.error, "INVALID_ARGUMENT", JSON.stringify(bad));
  // The label conflict alone: the server's label; the template conflict stays, its edit queued.
  const afterLabel = await run(p, async (cat, direct, id) => {
    await cat.resolveConflict(id, "keep-remote", "labels");
    const r = await cat.sync();
    return { conflicts: r.conflicts.map((c) => c.kind), pending: (await cat.pending()).map((x) => x.endpoint), prod: (await cat.labels(id)).find((l) => l.label === "prod")?.template_id ?? null };
  }, t.v2.id);
  assert.deepEqual(afterLabel, { conflicts: ["template"], pending: ["update"], prod: t.v1 });
  // One left: the kind may be left out (the shape before kinds).
  const done = await run(p, async (cat, direct, id) => {
    await cat.resolveConflict(id, "overwrite");
    const r = await cat.sync();
    return { conflicts: r.conflicts.length, pending: (await cat.pending()).length, server: (await direct.get(id)).description };
  }, t.v2.id);
  assert.deepEqual(done, { conflicts: 0, pending: 0, server: "mine" });
  assert.notEqual(theirs.description, "mine");
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("a template conflict neither holds back nor drops the uses and ratings queued after it (counters merge; review finding 2)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0);
  const t = await run(p, async (cat) => { const t = await cat.create({ name: `Used ${Date.now()}`, workflow_type: "plain" }); await cat.sync(); return await cat.get(t.id); });
  net.online = false;
  const queued = await run(p, async (cat, direct, t) => {
    await cat.update(t.id, { description: "mine" }, { ifMatch: t.updated_at });
    await cat.recordUsage(t.id, { success: true, responseTimeMs: 10 });
    await cat.rate(t.id, 5);
    return (await cat.pending()).map((x) => x.endpoint);
  }, t);
  assert.deepEqual(queued, ["update", "recordUsage", "rate"]);
  await patchAs(serverUrl, users[0], t.id, { description: "theirs" });
  net.online = true;
  const synced = await run(p, async (cat, direct, id) => {
    const r = await cat.sync();
    return { conflicts: r.conflicts.map((c) => [c.kind, c.endpoint]), pending: (await cat.pending()).map((x) => x.endpoint), server: await direct.get(id).then((x) => [x.usage_count, x.rating_count]) };
  }, t.id);
  // The use and the rating are sent although the edit before them conflicts.
  assert.deepEqual(synced, { conflicts: [["template", "update"]], pending: ["update"], server: [1, 1] }, JSON.stringify(synced));
  const res = await run(p, async (cat, direct, id) => {
    await cat.resolveConflict(id, "keep-remote");
    await cat.sync();
    return { pending: (await cat.pending()).length, server: await direct.get(id).then((x) => [x.usage_count, x.rating_count, x.description]) };
  }, t.id);
  assert.deepEqual(res, { pending: 0, server: [1, 1, "theirs"] });
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("a use first sent 89 days ago or more is not sent again (the server may have counted it and forgotten its Idempotency-Key): rejected, never counted twice (review finding 6)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 1);
  const t = await run(p, async (cat) => { const t = await cat.create({ name: `Old use ${Date.now()}`, workflow_type: "plain" }); await cat.sync(); return t.id; });
  // Its first send gets no answer the replica can use (a 503): kept, retried later.
  net.answer = (r) => (r.method() === "POST" && new URL(r.url()).pathname.endsWith("/usage") ? { status: 503, body: JSON.stringify({ code: "STORAGE_UNAVAILABLE", message: "busy" }) } : null);
  const first = await run(p, async (cat, direct, id) => { await cat.recordUsage(id, { success: true, responseTimeMs: 5 }); await cat.sync().catch(() => {}); return (await cat.pending()).map((x) => x.endpoint); }, t);
  assert.deepEqual(first, ["recordUsage"]);
  // The replica is closed while its outbox is edited (a close stops every retry and timer), and
  // the server keeps answering 503 until it is opened again: no retry of that first send, holding
  // the entry as read before the edit, can be counted. (Waiting for the retries to go quiet
  // instead failed once in a loaded run: a retry's backoff outlasted the wait.)
  await run(p, (cat) => { cat.close(); });
  // The replay comes 90 days after that first send (the first-sent time moved back in the outbox).
  const moved = await p.evaluate(async (dbName) => {
    const names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith(dbName));
    let n = 0;
    for (const name of names) {
      const db = await new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
      if (db.objectStoreNames.contains("replica_outbox")) {
        const tx = db.transaction(["replica_outbox"], "readwrite");
        const s = tx.objectStore("replica_outbox");
        const rows = await new Promise((res) => { const r = s.getAll(); r.onsuccess = () => res(r.result); });
        for (const x of rows) if (x.endpoint === "recordUsage") { s.put({ ...x, at: x.at - 90 * 86400000, ...(typeof x.sentAt === "number" ? { sentAt: x.sentAt - 90 * 86400000 } : {}) }); n += typeof x.sentAt === "number" ? 1 : 0; }
        await new Promise((res) => { tx.oncomplete = res; });
      }
      db.close();
    }
    return n;
  }, dbName);
  assert.equal(moved, 1, "the first send's time is kept on the entry");
  net.answer = null;
  const reopened = await p.evaluate(async ({ serverUrl, a, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    window.events = [];
    window.cat.subscribe((e) => window.events.push(e));
    return "ok";
  }, { serverUrl, a: users[1], dbName });
  assert.equal(reopened, "ok");
  // Read from the `rejected` events: a retry timer or the feed's reconnection may run the sync
  // that settles it just before this sync() (which then waits for that one and has nothing left).
  const r = await run(p, async (cat, direct, id) => {
    await cat.sync();
    return { rejected: window.events.filter((e) => e.kind === "rejected").map((x) => [x.endpoint, x.error.code, x.error.details?.reason]), pending: (await cat.pending()).length, server: (await direct.get(id)).usage_count };
  }, t);
  assert.deepEqual(r, { rejected: [["recordUsage", "CONFLICT", "IDEMPOTENCY_KEY_EXPIRED"]], pending: 0, server: 0 });
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});
