// The offline replica keeps other users' templates within a bound (docs/replica.md "Lineages
// of other users"; issue 15 review): copies read one by one (`get`, chain links) or heard from
// the feed are dropped least recently used first, like adopted lineages, except a base in the
// chain of something kept and a record with queued writes; dropping one is not a delete
// (nothing reaches `subscribe`: the record still exists on the server); `lineage:` meta rows
// from before the bound (value `true`) are counted and dropped by it.
//
//   node --test tests/pages/replica_bounds.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run, api as serverApi } from "./replica_page.mjs";

let base, browser, serverUrl, users;
// users[0] reads in the first tests; users[2] and users[3] each in one later test (a replica
// of their own: nothing the earlier tests left, own templates or ratings, counts there).
pageSuite("wt-replica-bounds", (s) => ({ base, browser, serverUrl, users } = s), { users: 4 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The server API as user `u` (replica_page.mjs `api`). */
const api = (u, ...rest) => serverApi(serverUrl, u, ...rest);

/** Calls test hook `name(n, k)` of js/pull.js as the page's package loaded it; its type. */
async function hook(p, name, n, k) {
  const snippet = readdirSync(new URL("../../pkg/snippets/", import.meta.url)).find((d) => existsSync(new URL(`../../pkg/snippets/${d}/js/pull.js`, import.meta.url)));
  return p.evaluate(async ({ path, name, n, k }) => { const m = await import(path); m[name]?.(n, k); return typeof m[name]; }, { path: `/pkg/snippets/${snippet}/js/pull.js`, name, n, k });
}

const publicOf = (name, extra = {}) => api(users[1], "POST", "/v1/templates", { name: `${name} ${Date.now()}`, workflow_type: "plain", is_public: true, ...extra });

/** External template deletes heard by the page's replica. */
const deletes = (p) => run(p, () => window.events.filter((e) => e.kind === "template" && e.op === "delete").map((e) => e.id));

test("copies of other users' templates read one by one or heard from the feed are bounded (LRU); a needed base and a queued record stay; dropping one is no delete event", async () => {
  // Made before the replica opens: the feed (from the open on) does not name them, so only
  // the reads below bring them, in order.
  const [a, b, c, d, f] = [await publicOf("A"), await publicOf("B"), await publicOf("C"), await publicOf("D"), await publicOf("F")];
  const e = await publicOf("E", { base_template_id: f.id });
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 1);
  const hooked = await hook(p, "setCopyLimitForTests", 3);
  // Ratings are kept queued (the server answers 503 to them: retried, never dropped).
  net.answer = (r) => (r.method() === "PUT" && new URL(r.url()).pathname.endsWith("/rating") ? { status: 503, body: JSON.stringify({ code: "STORAGE_UNAVAILABLE", message: "busy" }) } : null);
  const got = [];
  const read = async (id) => {
    got.push(await run(p, (cat, direct, id) => cat.get(id).then((t) => t.id, (x) => x.code), id));
    await sleep(60);
  };
  await read(a.id);
  const mine = await run(p, async (cat, direct, base) => { const t = await cat.create({ name: `Mine on A ${Date.now()}`, workflow_type: "plain", base_template_id: base }); await cat.sync().catch(() => {}); return t.id; }, a.id);
  assert.equal(typeof mine, "string", JSON.stringify(mine));
  await read(b.id);
  assert.equal(await run(p, (cat, direct, id) => cat.rate(id, 4).then(() => "ok", (x) => x.code), b.id), "ok");
  await read(c.id);
  await read(d.id);
  await read(e.id); // with its base F
  assert.deepEqual(got, [a.id, b.id, c.id, d.id, e.id]);
  // Reads of kept copies mark them read (at most once a second each): one by one, in order.
  await sleep(1100);
  const held = async (ids) => {
    const out = [];
    for (const id of ids) {
      out.push(await run(p, (cat, direct, id) => cat.get(id).then((t) => t.id, (x) => x.code), id));
      await sleep(20);
    }
    return out;
  };
  net.online = false;
  // Newest three: E, F (E's base), D. Older: A (the base of the user's own), B (a queued rating) stay; C goes.
  assert.deepEqual(await held([a.id, b.id, c.id, d.id, e.id, f.id]), [a.id, b.id, "NOT_FOUND", d.id, e.id, f.id]);
  assert.deepEqual(await run(p, (cat, direct, id) => cat.resolve(id).then((r) => r.chain.map((l) => l.id), (x) => x.code), e.id), [e.id, f.id], "E resolves offline (its base held)");
  assert.deepEqual(await deletes(p), [], "dropping a kept copy is not an external delete");
  net.online = true;

  // Heard from the feed: another user's new public template is kept, within the feed's own
  // bound: no copy the user read goes for it (B, its rating pushed now, stays: rated).
  net.answer = null;
  assert.equal(await run(p, async (cat) => { await cat.sync(); return (await cat.pending()).length; }), 0);
  const g = await publicOf("G");
  const heard = await (async () => {
    for (let i = 0; i < 80; i++) {
      const ids = await run(p, () => window.events.filter((x) => x.kind === "template" && x.external === true && x.op === "create").map((x) => x.id));
      if (ids.includes(g.id)) return true;
      await sleep(100);
    }
    return false;
  })();
  assert.ok(heard, "G heard live");
  await sleep(500);
  net.online = false;
  assert.deepEqual(await held([a.id, b.id, d.id, e.id, f.id, g.id]), [a.id, b.id, d.id, e.id, f.id, g.id]);
  assert.deepEqual(await deletes(p), [], "no delete event for an eviction");
  assert.equal(hooked, "function");
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("lineage: meta rows from before the bound (value true), and copies held before it without a row, are counted and dropped by it", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 1);
  const [x, y, z] = [await publicOf("Old X"), await publicOf("New Y"), await publicOf("Old Z")];
  assert.deepEqual(await run(p, (cat, direct, ids) => Promise.all(ids.map((id) => cat.get(id).then((t) => t.id))), [x.id, y.id, z.id]), [x.id, y.id, z.id]);
  await sleep(300);
  // X as a replica from before the bound held it: a `lineage:` row with value true, no other
  // row; Z as a copy held before copies were counted (no row at all, the one-time count not done).
  const meta = (a) => p.evaluate(async ({ dbName, put, del }) => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open(dbName); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const tx = db.transaction(["replica_meta"], "readwrite");
    const s = tx.objectStore("replica_meta");
    for (const [key, value] of put ?? []) s.put({ key, value });
    for (const key of del ?? []) s.delete(key);
    const rows = await new Promise((res) => { const r = s.getAll(IDBKeyRange.bound("lineage:", "lineage:\uffff")); r.onsuccess = () => res(r.result); });
    await new Promise((res) => { tx.oncomplete = res; });
    db.close();
    return rows.map((r) => [r.key, r.value]);
  }, { dbName, ...a });
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  assert.deepEqual(await meta({ put: [[`lineage:${x.id}`, true]], del: [`copy:${x.id}`, `copy:${z.id}`, "copies-counted"] }), [[`lineage:${x.id}`, true]]);
  const hooked = await hook(p, "setCopyLimitForTests", 1);
  const reopened = await p.evaluate(async ({ serverUrl, a, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
    window.events = [];
    window.cat.subscribe((e) => window.events.push(e));
    return "ok";
  }, { serverUrl, a: users[0], dbName });
  assert.equal(reopened, "ok");
  let rows;
  for (let i = 0; i < 40; i++) {
    rows = await meta({});
    if (!rows.length) break;
    await sleep(100);
  }
  assert.deepEqual(rows, [], "the old row is gone");
  net.online = false;
  const after = await run(p, async (cat, direct, ids) => Promise.all(ids.map((id) => cat.get(id).then((t) => t.id, (e) => e.code))), [x.id, y.id, z.id]);
  // X and Z were counted (over the bound of 1 with Y) and dropped, read longest ago.
  assert.deepEqual(after, ["NOT_FOUND", y.id, "NOT_FOUND"]);
  assert.deepEqual(await deletes(p), []);
  assert.equal(hooked, "function");
  await run(p, (cat) => cat.close());
  await p.close();
});

test("an adopted lineage dropped by the bound is not heard as a delete (the record still exists on the server)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const hooked = await hook(p, "setLineageLimitForTests", 1);
  const [x, y] = [await publicOf("Lineage X"), await publicOf("Lineage Y")];
  for (const t of [x, y]) {
    net.seen.length = 0;
    assert.deepEqual(await run(p, (cat, direct, id) => cat.versions(id).then((l) => l.map((v) => v.id)), t.id), [t.id]);
    // The adoption behind the read (versions, then labels): done when both were asked.
    for (let i = 0; i < 80 && !net.seen.some(([m, path]) => m === "GET" && path === `/v1/templates/${t.id}/labels`); i++) await sleep(50);
    await sleep(600);
  }
  net.online = false;
  assert.deepEqual(await run(p, (cat, direct, ids) => Promise.all(ids.map((id) => cat.get(id).then((t) => t.id, (e) => e.code))), [x.id, y.id]), ["NOT_FOUND", y.id], "X was dropped");
  assert.deepEqual(await deletes(p), [], "no external delete for an eviction");
  assert.equal(hooked, "function");
  await hook(p, "setLineageLimitForTests");
  await p.close();
});

test("a new version of an adopted lineage heard from the feed joins the lineage, not the bounded copies", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 1);
  // No copy may be kept outside a lineage: a version taken for a copy would go at once.
  const hooked = await hook(p, "setCopyLimitForTests", 0);
  const v1 = await publicOf("Lineage L");
  net.seen.length = 0;
  assert.deepEqual(await run(p, (cat, direct, id) => cat.versions(id).then((l) => l.map((v) => v.id)), v1.id), [v1.id]);
  for (let i = 0; i < 80 && !net.seen.some(([m, path]) => m === "GET" && path === `/v1/templates/${v1.id}/labels`); i++) await sleep(50);
  await sleep(600);
  const v2 = await api(users[1], "POST", `/v1/templates/${v1.id}/versions`, { patch: { description: "v2" } });
  assert.equal(await run(p, async (cat) => { await cat.sync(); return "ok"; }), "ok");
  net.online = false;
  assert.deepEqual(await run(p, (cat, direct, id) => cat.versions(id).then((l) => l.map((v) => v.id), (e) => e.code), v1.id), [v2.id, v1.id]);
  assert.equal(hooked, "function");
  await p.close();
});

test("a copy the user rated is never dropped by the bound: the rating stays offline with it (review finding 1)", async () => {
  // Made before the replica opens: only the reads below bring them.
  const [a, b, c] = [await publicOf("Rated A"), await publicOf("Read B"), await publicOf("Read C")];
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 2, 1);
  const hooked = await hook(p, "setCopyLimitForTests", 1);
  const rated = await run(p, async (cat, direct, id) => {
    await cat.get(id);
    await cat.rate(id, 4);
    await cat.sync();
    return { pending: (await cat.pending()).length, ratings: (await cat.exportAll()).ratings.map((r) => [r.template_id, r.stars]) };
  }, a.id);
  assert.deepEqual(rated, { pending: 0, ratings: [[a.id, 4]] });
  // Two more copies read after A, over a bound of 1: A (rated, nothing queued) must stay.
  for (const t of [b, c]) {
    assert.equal(await run(p, (cat, direct, id) => cat.get(id).then((t) => t.id, (x) => x.code), t.id), t.id);
    await sleep(1100);
  }
  net.online = false;
  const offline = await run(p, async (cat, direct, ids) => ({
    held: await Promise.all(ids.map((id) => cat.get(id).then((t) => t.id, (x) => x.code))),
    ratings: (await cat.exportAll()).ratings.map((r) => [r.template_id, r.stars]),
  }), [a.id, b.id, c.id]);
  assert.deepEqual(offline, { held: [a.id, "NOT_FOUND", c.id], ratings: [[a.id, 4]] }, JSON.stringify(offline));
  assert.deepEqual(await deletes(p), []);
  assert.equal(hooked, "function");
  await hook(p, "setCopyLimitForTests");
  await p.close();
});

test("copies only heard from the feed have their own bound, dropped before any copy the user read (review finding 3)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 3, 1);
  // Two copies read, one copy heard from the feed. A and B are heard from the feed too before
  // they are read: the feed's bound is wide while they are read (a feed copy dropped while the
  // test reads it would be fetched again as a read copy, or not, by timing), then narrowed.
  const hooked = await hook(p, "setCopyLimitForTests", 2, 10);
  const [a, b] = [await publicOf("Read A"), await publicOf("Read B")];
  for (const t of [a, b]) {
    assert.equal(await run(p, (cat, direct, id) => cat.get(id).then((t) => t.id, (x) => x.code), t.id), t.id);
    await sleep(300);
  }
  // Two public templates made anywhere, heard live one after the other (G first, so it is the
  // older copy even when both would come in one feed batch): G goes for H, A and B stay.
  const heardLive = async (id) => {
    for (let i = 0; i < 80; i++) {
      const heard = await run(p, () => window.events.filter((x) => x.kind === "template" && x.external === true && x.op === "create").map((x) => x.id));
      if (heard.includes(id)) return true;
      await sleep(100);
    }
    return false;
  };
  await hook(p, "setCopyLimitForTests", 2, 1);
  const g = await publicOf("Heard G");
  assert.ok(await heardLive(g.id), "G heard live");
  await sleep(300);
  const h = await publicOf("Heard H");
  assert.ok(await heardLive(h.id), "H heard live");
  await run(p, (cat) => cat.sync().then(() => "ok"));
  await sleep(300);
  net.online = false;
  const held = await run(p, (cat, direct, ids) => Promise.all(ids.map((id) => cat.get(id).then((t) => t.id, (x) => x.code))), [a.id, b.id, g.id, h.id]);
  assert.deepEqual(held, [a.id, b.id, "NOT_FOUND", h.id]);
  assert.deepEqual(await deletes(p), []);
  assert.equal(hooked, "function");
  await hook(p, "setCopyLimitForTests");
  await p.close();
});
