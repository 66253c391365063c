// Dropping one queued write of an offline replica (`discardPending(seq)`, README "Offline
// replica"): a write the server refuses for good, or one the user no longer wants, leaves the
// outbox with the later writes of its record built on it; the local copy it made does not stay
// as if the server had it (its record is re-read from the server at the next pull: a create
// never sent goes, an edit is undone). Asked in any tab, it runs in the tab that pushes.
//
//   node --test tests/pages/replica_discard.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run, patchAs } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-discard", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

test("discardPending(seq): coded errors for a bad or unknown seq; drops the write and the later writes of its record (not the counters), the local copy is re-read at the next pull, across tabs", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const t1 = await run(p, async (cat) => {
    const t = await cat.create({ name: `Kept ${Date.now()}`, workflow_type: "plain", description: "server copy" });
    await cat.sync();
    return t.id;
  });
  net.online = false;
  const queued = await run(p, async (cat, direct, t1) => {
    const x = await cat.create({ name: `Never sent ${Date.now()}`, workflow_type: "plain" });
    await cat.update(t1, { description: "first edit" });
    await cat.rate(t1, 4);
    await cat.update(t1, { description: "second edit" });
    await cat.setLabel(x.id, "prod");
    return { x: x.id, pending: (await cat.pending()).map((e) => [e.seq, e.endpoint]) };
  }, t1);
  assert.deepEqual(queued.pending.map(([, e]) => e), ["create", "update", "rate", "update", "setLabel"]);
  const [sCreate, sUpdate1, sRate, sUpdate2, sLabel] = queued.pending.map(([s]) => s);
  // Bad seqs: INVALID_ARGUMENT; a seq nothing has: NOT_FOUND. Nothing dropped.
  const errors = await run(p, async (cat) => {
    const out = [];
    for (const s of ["1", 0, -1, 1.5, NaN, null, undefined, 2 ** 53, {}]) out.push(await cat.discardPending(s).then(() => "resolved", (e) => e.code));
    out.push(await cat.discardPending(999999).then(() => "resolved", (e) => e.code));
    // Off a replica nothing is queued: NOT_FOUND (a bad seq is still INVALID_ARGUMENT).
    const memory = await window.wt.TemplateCatalog.open({ userId: "01J0ABCDEFGHJKMNPQRSTVWXYZ", storage: "memory" });
    const off = [await memory.discardPending(1).then(() => "resolved", (e) => [e.code, e.details?.kind]), await memory.discardPending(0).then(() => "resolved", (e) => e.code)];
    return { out, off, pending: (await cat.pending()).length };
  });
  assert.deepEqual(errors, { out: [...Array(9).fill("INVALID_ARGUMENT"), "NOT_FOUND"], off: [["NOT_FOUND", "pending"], "INVALID_ARGUMENT"], pending: 5 });
  // The first edit of t1 goes with the second (built on it); the rating stays (it merges).
  const one = await run(p, async (cat, direct, { s, t1 }) => ({ dropped: await cat.discardPending(s), pending: (await cat.pending()).map((e) => e.endpoint), local: (await cat.get(t1)).description }), { s: sUpdate1, t1 });
  assert.deepEqual(one.dropped, [sUpdate1, sUpdate2]);
  assert.deepEqual(one.pending, ["create", "rate", "setLabel"]);
  assert.equal(one.local, "second edit", "offline, the local copy keeps the edit until the next pull re-reads it");
  // A second tab of the same replica (a follower) drops the create: its label write goes with it.
  const q = await browser.newPage();
  await q.goto(`${base}/tests/pages/fixture.html`);
  await q.waitForFunction(() => window.ready === true);
  const fromTab = await q.evaluate(async ({ serverUrl, u, dbName, seq }) => {
    const cat = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token, replica: { dbName } });
    try {
      const dropped = await cat.discardPending(seq);
      const again = await cat.discardPending(seq).then(() => "resolved", (e) => e.code);
      return { dropped, again, pending: (await cat.pending()).map((e) => e.endpoint) };
    } finally {
      cat.close();
    }
  }, { serverUrl, u: users[0], dbName, seq: sCreate });
  await q.close();
  assert.deepEqual(fromTab, { dropped: [sCreate, sLabel], again: "NOT_FOUND", pending: ["rate"] });
  // Back online: the rating goes; the replica takes the server's copy of t1 back and forgets
  // the template the server never had. The server got neither the edits nor the create.
  net.online = true;
  const after = await run(p, async (cat, direct, { t1, x }) => {
    const s = await cat.sync();
    return {
      pushed: s.pushed, rejected: s.rejected.length, conflicts: s.conflicts.length,
      local: (await cat.get(t1)).description,
      localX: await cat.get(x).then(() => "there", (e) => e.code),
      server: (await direct.get(t1)).description,
      serverX: await direct.get(x).then(() => "there", (e) => e.code),
      rating: (await direct.exportAll()).ratings.find((r) => r.template_id === t1)?.stars,
      // Nothing the re-reads brought was refused (endpoint "pull" events).
      refused: window.events.filter((e) => e.kind === "rejected").map((e) => [e.endpoint, e.id, e.error?.code]),
    };
  }, { t1, x: queued.x });
  assert.deepEqual(after, { pushed: 1, rejected: 0, conflicts: 0, local: "server copy", localX: "NOT_FOUND", server: "server copy", serverX: "NOT_FOUND", rating: 4, refused: [] });
  await p.close();
});

test("discarding the held write ends the hold: the writes behind it go at once", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const [t1, t2] = await run(p, async (cat) => {
    const a = await cat.create({ name: `Refused for good ${Date.now()}`, workflow_type: "plain" });
    const b = await cat.create({ name: `Behind it ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return [a.id, b.id];
  });
  // A server bug: every PATCH of t1 is a 500 for good.
  net.answer = (r) => (r.method() === "PATCH" && new URL(r.url()).pathname === `/v1/templates/${t1}` ? { status: 500, body: JSON.stringify({ error: { code: "INTEGRITY", message: "bug" } }) } : null);
  const held = await run(p, async (cat, direct, [t1, t2]) => {
    await cat.update(t1, { description: "never accepted" });
    await cat.update(t2, { description: "waits behind" });
    const s = await cat.sync().then(() => "resolved", (e) => e.code);
    return { s, held: cat.syncState().held?.seq ?? null, first: (await cat.pending())[0].seq };
  }, [t1, t2]);
  assert.deepEqual([held.s, held.held], ["INTEGRITY", held.first]);
  const out = await run(p, async (cat, direct, [t1, t2, seq]) => {
    const dropped = await cat.discardPending(seq);
    for (let i = 0; i < 60 && ((await cat.pending()).length || cat.syncState().state !== "online"); i++) await new Promise((r) => setTimeout(r, 50));
    return { dropped, pending: (await cat.pending()).length, held: cat.syncState().held ?? null, server: (await direct.get(t2)).description, local: (await cat.get(t1)).description };
  }, [t1, t2, held.first]);
  assert.deepEqual(out, { dropped: [held.first], pending: 0, held: null, server: "waits behind", local: "" });
  await p.close();
});

// F1: a newVersion whose patch derives from a discarded create names it in body.patch.base_template_id.
test("discarding a create drops a queued newVersion that derives from it (body.patch.base_template_id; review of rep9, F1)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const b = await run(p, async (cat) => {
    const t = await cat.create({ name: `B ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  net.online = false;
  const r = await run(p, async (cat, direct, b) => {
    const a = await cat.create({ name: `A ${Date.now()}`, workflow_type: "plain" });
    const v2 = await cat.newVersion(b, { base_template_id: a.id }, "derive from A");
    const pending = await cat.pending();
    const dropped = await cat.discardPending(pending[0].seq);
    return { v2: v2.id, dropped, left: (await cat.pending()).map((e) => e.endpoint) };
  }, b);
  assert.deepEqual(r.left, [], `a newVersion deriving from the discarded create stays queued: ${JSON.stringify(r)}`);
  await p.close();
});

// F2: ids are accepted in lowercase (src/wasm/args.rs id_arg passes the raw string on); the
// outbox keeps them as given, discardPending compares them case-sensitively.
test("discarding a create drops the queued rate, setLabel and derived create naming its id in lowercase (ids are canonical at the boundary; review of rep9, F2)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  net.online = false;
  const r = await run(p, async (cat) => {
    const a = await cat.create({ name: `A ${Date.now()}`, workflow_type: "plain" });
    await cat.rate(a.id.toLowerCase(), 5);
    await cat.setLabel(a.id.toLowerCase(), "prod");
    const d = await cat.create({ name: `D ${Date.now()}`, workflow_type: "plain", base_template_id: a.id.toLowerCase() });
    const pending = await cat.pending();
    const dropped = await cat.discardPending(pending[0].seq);
    return { a: a.id, d: d.id, dropped, left: (await cat.pending()).map((e) => [e.endpoint, e.args.id ?? e.args.body?.base_template_id]) };
  });
  assert.deepEqual(r.left, [], `writes naming the discarded create stay queued: ${JSON.stringify(r)}`);
  await p.close();
});

// F3: a label write drops every later label write of the same version, whatever the label;
// a content write drops a later delete of the record.
test("discarding setLabel(v, 'prod') keeps setLabel(v, 'staging'); discarding an edit keeps a later delete (review of rep9, F3)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const [t, u] = await run(p, async (cat) => {
    const t = await cat.create({ name: `T ${Date.now()}`, workflow_type: "plain" });
    const u = await cat.create({ name: `U ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return [t.id, u.id];
  });
  net.online = false;
  const r = await run(p, async (cat, direct, [t, u]) => {
    await cat.setLabel(t, "prod");
    await cat.setLabel(t, "staging");
    await cat.update(u, { description: "an edit" });
    await cat.delete(u);
    const pending = await cat.pending();
    const a = await cat.discardPending(pending[0].seq);
    const b = await cat.discardPending(pending[2].seq);
    return { a, b, left: (await cat.pending()).map((e) => [e.endpoint, e.args.label ?? null]) };
  }, [t, u]);
  assert.deepEqual(r.left, [["setLabel", "staging"], ["delete", null]], `independent writes dropped with the one discarded: ${JSON.stringify(r)}`);
  await p.close();
});

// F4: discarding a newVersion: the next pull re-reads the old version (server: latest) and the
// new one (server: 404). The lineage must end as on the server: the old version latest.
test("discarding a newVersion leaves the lineage as on the server, the old version latest (review of rep9, F4)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `L ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  net.online = false;
  const r0 = await run(p, async (cat, direct, t) => {
    await cat.newVersion(t, { description: "v2" }, "second");
    const pending = await cat.pending();
    return { dropped: await cat.discardPending(pending[0].seq) };
  }, t);
  assert.equal(r0.dropped.length, 1);
  net.online = true;
  const r = await run(p, async (cat, direct, t) => {
    await cat.sync();
    await cat.sync();
    const local = await cat.versions(t);
    const server = await direct.versions(t);
    const got = await cat.get(t);
    return {
      local: local.map((v) => [v.id === t ? "v1" : "other", v.is_latest]),
      server: server.map((v) => [v.id === t ? "v1" : "other", v.is_latest]),
      getLatest: got.is_latest,
    };
  }, t);
  assert.deepEqual(r.local, r.server, JSON.stringify(r));
  assert.equal(r.getLatest, true, JSON.stringify(r));
  await p.close();
});

// F2b (pre-existing, same root as F2): an offline edit addressed by a lowercase id is pushed
// without If-Match (entry.known read from known:<lowercase>), so another device's edit made
// meanwhile is overwritten silently instead of being reported as a conflict.
test("an offline update by a lowercase id over another device's edit is a conflict, not a silent overwrite (review of rep9, F2b)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `C ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  net.online = false;
  await run(p, async (cat, direct, id) => { await cat.update(id.toLowerCase(), { description: "mine, offline" }); return null; }, t);
  await patchAs(serverUrl, users[0], t, { description: "theirs, meanwhile" });
  net.online = true;
  const r = await run(p, async (cat, direct, id) => {
    const s = await cat.sync().catch((e) => ({ error: e.code }));
    return { conflicts: s.conflicts?.length ?? s, server: (await direct.get(id)).description };
  }, t);
  assert.deepEqual(r, { conflicts: 1, server: "theirs, meanwhile" });
  await p.close();
});
