// The offline replica against the reference server, continued (tests/pages/replica_server.test.mjs
// has the push, conflicts and resolutions): what a full pull deletes, and label writes chained
// offline on an own earlier one.
//
//   node --test tests/pages/replica_pull.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, patchAs, openReplica, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-pull", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

test("a full pull (after CURSOR_AHEAD) deletes what the server no longer gives: an own template deleted elsewhere, another user's made private", async () => {
  const { p, net } = await page();
  await openReplica(p, serverUrl, users, 0, 1);
  const auth1 = { Authorization: `Bearer ${users[1].token}`, "Content-Type": "application/json" };
  const theirs = await (await fetch(`${serverUrl}/v1/templates`, { method: "POST", headers: auth1, body: JSON.stringify({ name: `Public then private ${Date.now()}`, workflow_type: "plain", is_public: true }) })).json();
  const mine = await run(p, async (cat, direct, id) => {
    const gone = await cat.create({ name: `Deleted elsewhere ${Date.now()}`, workflow_type: "plain" });
    const kept = await cat.create({ name: `Kept ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    const read = (await cat.get(id)).name; // another user's public template, now held here
    return { gone: gone.id, kept: kept.id, read };
  }, theirs.id);
  assert.equal(mine.read, theirs.name, JSON.stringify(mine));
  // While this replica does not hear the feed: the other user makes theirs private, another
  // device of this user deletes one of its templates; then the server's feed is behind the
  // replica's cursor (a restored database): CURSOR_AHEAD, so the next pull is a full one.
  net.online = false;
  await patchAs(serverUrl, users[1], theirs.id, { is_public: false });
  const del = await fetch(`${serverUrl}/v1/templates/${mine.gone}`, { method: "DELETE", headers: { Authorization: `Bearer ${users[0].token}` } });
  assert.ok(del.status < 300, `DELETE answered ${del.status}`);
  net.ahead = 0;
  net.answer = (r) => {
    const url = new URL(r.url());
    const since = url.searchParams.get("since");
    // Only the pull's own page (limit 500; the live feed's catch-up asks 1000).
    if (r.method() !== "GET" || url.pathname !== "/v1/changes" || !since || since === "now" || url.searchParams.get("limit") !== "500") return null;
    net.ahead++;
    net.answer = null;
    return { status: 400, body: JSON.stringify({ error: { code: "INVALID_ARGUMENT", message: "cursor is ahead of this feed", details: { reason: "CURSOR_AHEAD", head: "0" } } }) };
  };
  net.online = true;
  const synced = await run(p, async (cat) => { try { await cat.sync(); return await cat.sync(); } catch (e) { return { error: e.code, message: e.message }; } });
  assert.equal(synced.error, undefined, JSON.stringify(synced));
  assert.equal(net.ahead, 1, "the pull never met CURSOR_AHEAD");
  net.online = false;
  const offline = await run(p, async (cat, direct, a) => {
    const get = (id) => cat.get(id).then((t) => t.name, (e) => e.code);
    const page = await cat.discover({ includeBuiltin: false, limit: 100 });
    const found = page.items.map((t) => t.id);
    return { offline: page.offline === true, theirs: await get(a.theirs), gone: await get(a.gone), kept: await get(a.kept), found: [a.theirs, a.gone].map((id) => found.includes(id)) };
  }, { theirs: theirs.id, gone: mine.gone, kept: mine.kept });
  assert.deepEqual(offline, { offline: true, theirs: "NOT_FOUND", gone: "NOT_FOUND", kept: offline.kept, found: [false, false] }, JSON.stringify(offline));
  assert.ok(offline.kept.startsWith("Kept "), JSON.stringify(offline));
  await p.close();
});

test("label writes chained offline on an own earlier one are pushed with the server's updated_at (no spurious 412)", async () => {
  const { p, net } = await page();
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const v1 = await cat.create({ name: `Labelled ${Date.now()}`, workflow_type: "plain" });
    const v2 = await cat.newVersion(v1.id, { description: "v2" }, "v2");
    await cat.sync();
    return { v1: v1.id, v2: v2.id };
  });
  net.online = false;
  const offline = await run(p, async (cat, direct, a) => {
    const prod = await cat.setLabel(a.v1, "prod");
    const moved = await cat.setLabel(a.v2, "prod", { ifMatch: prod.updated_at });
    const canary = await cat.setLabel(a.v1, "canary");
    await cat.removeLabel(a.v1, "canary", { ifMatch: canary.updated_at });
    return { moved: moved.template_id, pending: (await cat.pending()).map((e) => e.endpoint) };
  }, t);
  assert.deepEqual(offline, { moved: t.v2, pending: ["setLabel", "setLabel", "setLabel", "removeLabel"] });
  net.online = true;
  const out = await run(p, async (cat, direct, a) => {
    let s; try { s = await cat.sync(); } catch (e) { s = { error: e.code, message: e.message }; }
    return {
      error: s.error ?? null,
      conflicts: window.events.filter((e) => e.kind === "conflict").map((e) => e.id),
      rejected: window.events.filter((e) => e.kind === "rejected").map((e) => e.error.code),
      pending: (await cat.pending()).length,
      server: (await direct.labels(a.v1)).map((l) => [l.label, l.template_id]),
    };
  }, t);
  assert.deepEqual(out, { error: null, conflicts: [], rejected: [], pending: 0, server: [["prod", t.v2]] });
  await p.close();
});

test("a full pull keeps the chains of the user's own derived templates: another user's public base and its base come with it, and a base no longer readable fails BASE_NOT_FOUND", async () => {
  const auth1 = { Authorization: `Bearer ${users[1].token}`, "Content-Type": "application/json" };
  const post = async (body) => (await fetch(`${serverUrl}/v1/templates`, { method: "POST", headers: auth1, body: JSON.stringify(body) })).json();
  const root = await post({ name: `Root ${Date.now()}`, workflow_type: "plain", is_public: true, description: "from the root" });
  const mid = await post({ name: `Mid ${Date.now()}`, workflow_type: "plain", is_public: true, base_template_id: root.id });
  const { p, net } = await page();
  await openReplica(p, serverUrl, users, 0, 0);
  const mine = await run(p, async (cat, direct, base) => {
    const m = await cat.create({ name: `Derived ${Date.now()}`, workflow_type: "plain", base_template_id: base });
    await cat.sync();
    return m.id;
  }, mid.id);
  assert.equal(typeof mine, "string", JSON.stringify(mine));
  // A fresh replica of the same user (first open, or one the browser evicted): a full pull.
  const { p: p2, net: net2 } = await page();
  await openReplica(p2, serverUrl, users, 0, 0);
  net2.online = false;
  const offline = await run(p2, async (cat, direct, id) => {
    const r = await cat.resolve(id).catch((e) => ({ error: e.code }));
    return r.error ?? [r.chain.map((l) => l.id), typeof r.resolved_hash];
  }, mine);
  assert.deepEqual(offline, [[mine, mid.id, root.id], "string"], "the full pull brought the bases of the user's own derived template");
  // A full pull (CURSOR_AHEAD) on the first replica while the base answers 404 (unreadable):
  // the derived template stays and its resolve fails with BASE_NOT_FOUND, as on the server.
  net.answer = (r) => {
    const url = new URL(r.url());
    if (r.method() === "GET" && url.pathname === `/v1/templates/${mid.id}`) return { status: 404, body: JSON.stringify({ error: { code: "NOT_FOUND", message: "no such template" } }) };
    if (r.method() === "GET" && url.pathname === "/v1/changes" && url.searchParams.get("limit") === "500" && !net.ahead) {
      net.ahead = 1;
      return { status: 400, body: JSON.stringify({ error: { code: "INVALID_ARGUMENT", message: "cursor is ahead of this feed", details: { reason: "CURSOR_AHEAD", head: "0" } } }) };
    }
    return null;
  };
  net.ahead = 0;
  const synced = await run(p, (cat) => cat.sync());
  assert.equal(synced.error, undefined, JSON.stringify(synced));
  assert.equal(net.ahead, 1);
  net.online = false;
  const after = await run(p, async (cat, direct, id) => [(await cat.get(id)).id, await cat.resolve(id).then(() => "resolved", (e) => e.code)], mine);
  assert.deepEqual(after, [mine, "BASE_NOT_FOUND"]);
  await p.close();
  await p2.close();
});

test("label ifMatch after a sync: the own write's value from before it and the value read after it (replica or server) are accepted, pushed without a 412", async () => {
  const { p, net } = await page();
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const v1 = await cat.create({ name: `Label sync ${Date.now()}`, workflow_type: "plain" });
    const v2 = await cat.newVersion(v1.id, { description: "v2" }, "v2");
    const v3 = await cat.newVersion(v2.id, { description: "v3" }, "v3");
    await cat.sync();
    return { v1: v1.id, v2: v2.id, v3: v3.id };
  });
  assert.equal(typeof t.v3, "string", JSON.stringify(t));
  net.online = false;
  const made = await run(p, async (cat, direct, a) => (await cat.setLabel(a.v1, "prod")).updated_at, t);
  net.online = true;
  const out = await run(p, async (cat, direct, a) => {
    const attempt = (f) => f().then((l) => l?.template_id ?? "done", (e) => e.code);
    const prod = (list) => list.find((l) => l.label === "prod").updated_at;
    await cat.sync();
    // The value the app's own write returned, before the sync replaced it with the server's.
    const first = await attempt(() => cat.setLabel(a.v2, "prod", { ifMatch: a.made }));
    const s1 = await cat.sync();
    // Read after that sync, from the replica and from the server: the same value, accepted.
    const read = prod(await cat.labels(a.v1));
    const server = prod(await direct.labels(a.v1));
    const second = await attempt(() => cat.setLabel(a.v3, "prod", { ifMatch: read }));
    const s2 = await cat.sync();
    // The own write's value after another write moved the label: stale.
    const stale = await attempt(() => cat.setLabel(a.v1, "prod", { ifMatch: a.made }));
    return { same: read === server, first, second, stale, conflicts: s1.conflicts.length + s2.conflicts.length, rejected: s1.rejected.length + s2.rejected.length, onServer: (await direct.labels(a.v1)).map((l) => [l.label, l.template_id]) };
  }, { ...t, made });
  assert.deepEqual(out, { same: true, first: t.v2, second: t.v3, stale: "CONFLICT", conflicts: 0, rejected: 0, onServer: [["prod", t.v3]] });
  await p.close();
});

test("label ifMatch: an own write's value stays valid when the same label name is pushed on another lineage after it", async () => {
  const { p, net, t, made } = await twoLineages("Label lineage");
  const out = await run(p, async (cat, direct, a) => {
    const attempt = (f) => f().then((l) => l?.template_id ?? "done", (e) => e.code);
    await cat.sync();
    // Another lineage's label of the same name, written and pushed after A's.
    await cat.setLabel(a.b, "prod");
    await cat.sync();
    const moved = await attempt(() => cat.setLabel(a.a2, "prod", { ifMatch: a.made }));
    const s = await cat.sync();
    return { moved, conflicts: s.conflicts.length, rejected: s.rejected.length, onServer: (await direct.labels(a.a)).map((l) => [l.label, l.template_id]) };
  }, { ...t, made });
  assert.deepEqual(out, { moved: t.a2, conflicts: 0, rejected: 0, onServer: [["prod", t.a2]] });
  await p.close();
});

test("label ifMatch: a queued write of the same label name on another lineage leaves an own write's value valid (no spurious CONFLICT)", async () => {
  const { p, net, t, made } = await twoLineages("Queued lineage");
  await run(p, (cat) => cat.sync());
  net.online = false;
  // Offline: B's label of the same name is queued, then A's label is moved with the value the
  // app's own (since pushed) write returned.
  const out = await run(p, async (cat, direct, a) => {
    const attempt = (f) => f().then((l) => l?.template_id ?? "done", (e) => e.code);
    const other = await attempt(() => cat.setLabel(a.b, "prod"));
    const moved = await attempt(() => cat.setLabel(a.a2, "prod", { ifMatch: a.made }));
    return { other, moved };
  }, { ...t, made });
  assert.deepEqual(out, { other: t.b, moved: t.a2 });
  net.online = true;
  const s = await run(p, async (cat, direct, a) => {
    const r = await cat.sync();
    return { conflicts: r.conflicts.length, rejected: r.rejected.length, a: (await direct.labels(a.a)).map((l) => [l.label, l.template_id]), b: (await direct.labels(a.b)).map((l) => [l.label, l.template_id]) };
  }, t);
  assert.deepEqual(s, { conflicts: 0, rejected: 0, a: [["prod", t.a2]], b: [["prod", t.b]] });
  await p.close();
});

function page() {
  return replicaPage(browser, serverUrl, base);
}

/** Lineages A (versions a, a2) and B of user 0, pushed; then, offline, label "prod" on A's first
 * version, pushed back online: `{ p, net, t: { a, a2, b }, made }` (`made`: that write's
 * `updated_at`, the value the app holds). */
async function twoLineages(prefix) {
  const { p, net } = await page();
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat, direct, prefix) => {
    const a = await cat.create({ name: `${prefix} A ${Date.now()}`, workflow_type: "plain" });
    const a2 = await cat.newVersion(a.id, { description: "a2" }, "a2");
    const b = await cat.create({ name: `${prefix} B ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return { a: a.id, a2: a2.id, b: b.id };
  }, prefix);
  assert.equal(typeof t.b, "string", JSON.stringify(t));
  net.online = false;
  const made = await run(p, async (cat, direct, a) => (await cat.setLabel(a.a, "prod")).updated_at, t);
  net.online = true;
  return { p, net, t, made };
}
