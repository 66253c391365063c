// The offline replica's reads against the reference server (issue 15 "Reads answer from the
// replica at once and revalidate in the background"): a record the replica holds answers at
// once, even while the server is slow, and is revalidated behind the answer (a conditional GET
// with If-None-Match for one template, 304 when unchanged; the change feed from the kept cursor
// for a lineage's versions, labels and by-name reads); a changed copy reaches `subscribe` as
// `external: true`. What the replica does not hold still comes from the server, and is kept.
//
//   node --test tests/pages/replica_reads.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run, api as serverApi } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-reads", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

/** A request of user `u` to the server from outside the page: the parsed answer. */
/** The server API as user `u` (replica_page.mjs `api`). */
const api = (u, ...rest) => serverApi(serverUrl, u, ...rest);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The `ETag` the server gives user `u` for `path` now. */
async function etagOf(u, path) {
  const res = await fetch(`${serverUrl}${path}`, { headers: { Authorization: `Bearer ${u.token}` } });
  assert.equal(res.status, 200);
  return res.headers.get("etag");
}

/** Polls `f` (run in the page) until `ok(value)` or `ms` pass; the last value. */
async function until(p, f, arg, ok, ms = 8000) {
  const end = Date.now() + ms;
  let v;
  do {
    v = await run(p, f, arg);
    if (ok(v)) return v;
    await sleep(150);
  } while (Date.now() < end);
  return v;
}

test("a held template of another user answers at once and is revalidated with If-None-Match (304 unchanged; a changed copy reaches subscribe as external)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // The feed says nothing (no stream, empty pages): only the revalidation can bring the change.
  net.blockStream = true;
  net.quietFeed = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await api(users[1], "POST", "/v1/templates", { name: `Theirs ${Date.now()}`, workflow_type: "plain", is_public: true, description: "first" });
  const first = await run(p, async (cat, direct, id) => (await cat.get(id)).description, t.id);
  assert.equal(first, "first");
  await sleep(300);
  net.seen.length = 0;
  net.statuses.length = 0;
  assert.equal(await run(p, async (cat, direct, id) => (await cat.get(id)).description, t.id), "first");
  // Only conditional GETs are the read's revalidation (a pull's re-read, should one run beside
  // it, is a plain GET of the same path: not counted).
  const revalidated = () => net.statuses.filter(([m, path, , inm]) => m === "GET" && path === `/v1/templates/${t.id}` && inm !== null);
  await until(p, () => null, null, () => revalidated().length > 0, 4000);
  const asked = net.seen.filter(([m, path, inm]) => m === "GET" && path === `/v1/templates/${t.id}` && inm !== null);
  // The tag of the held copy, derived exactly: the server's ETag of the same representation.
  assert.deepEqual(asked.map(([, , inm]) => inm), [await etagOf(users[1], `/v1/templates/${t.id}`)], JSON.stringify(net.seen));
  assert.deepEqual(revalidated().map(([, , s]) => s), [304]);

  const changed = await api(users[1], "PATCH", `/v1/templates/${t.id}`, { description: "second" }, t.updated_at);
  await run(p, () => { window.events.length = 0; });
  net.stallNow();
  const quick = await run(p, (cat, direct, id) => Promise.race([cat.get(id).then((x) => x.description), new Promise((r) => setTimeout(() => r("timeout"), 2000))]), t.id);
  net.unstall();
  assert.equal(quick, "first", "a held record answers from the replica while the server is slow");
  const heard = await until(p, () => window.events.filter((e) => e.kind === "template" && e.external === true).map((e) => e.id), null, (ids) => ids.includes(t.id));
  assert.ok(heard.includes(t.id), `no external event for ${t.id}: ${JSON.stringify(heard)}`);
  const now = await run(p, async (cat, direct, id) => { const x = await cat.get(id); return [x.description, x.updated_at]; }, t.id);
  assert.deepEqual(now, ["second", changed.updated_at]);
  await p.close();
});

test("a held copy's statistics are refreshed by revalidation after another user's recordUsage (the ETag names them); unchanged afterwards: one 304", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // Only the revalidation can bring the change (no stream, empty feed pages).
  net.blockStream = true;
  net.quietFeed = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await api(users[1], "POST", "/v1/templates", { name: `Used ${Date.now()}`, workflow_type: "plain", is_public: true });
  const stats = (cat, direct, id) => cat.get(id).then((x) => [x.usage_count, x.rating_count, x.rating, x.updated_at]);
  assert.deepEqual(await run(p, stats, t.id), [0, 0, null, t.updated_at]);
  await sleep(300);
  // Another user's use and rating: statistics move, updated_at does not.
  await api(users[1], "POST", `/v1/templates/${t.id}/usage`, { success: true, responseTimeMs: 20 });
  await api(users[0], "PUT", `/v1/templates/${t.id}/rating`, { stars: 3 });
  await run(p, () => { window.events.length = 0; });
  assert.deepEqual(await run(p, stats, t.id), [0, 0, null, t.updated_at], "the held copy answers at once");
  const fresh = await until(p, stats, t.id, (v) => v[0] === 1, 6000);
  assert.deepEqual(fresh, [1, 1, 3, t.updated_at], "revalidation brought the new statistics");
  const heard = await run(p, () => window.events.filter((e) => e.kind === "template" && e.external === true).map((e) => e.id));
  assert.ok(heard.includes(t.id), `a statistics change reaches subscribe as external: ${JSON.stringify(heard)}`);
  // Unchanged since: the next revalidation costs one 304.
  await sleep(300);
  net.seen.length = 0;
  net.statuses.length = 0;
  await run(p, stats, t.id);
  const revalidated = () => net.statuses.filter(([m, path, , inm]) => m === "GET" && path === `/v1/templates/${t.id}` && inm !== null);
  await until(p, () => null, null, () => revalidated().length > 0, 4000);
  assert.deepEqual(revalidated().map(([, , s]) => s), [304], JSON.stringify(net.seen));
  await p.close();
});

test("another user's lineage read once from the server is kept: versions, labels and by-name reads answer at once, revalidated by the feed", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // No live stream: the news comes only from the pull a read starts.
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const name = `Lineage ${Date.now()}`;
  const v1 = await api(users[1], "POST", "/v1/templates", { name, workflow_type: "plain", is_public: true });
  await api(users[1], "PUT", `/v1/templates/${v1.id}/labels/prod`);
  const owner = users[1].user_id;
  // With `a.within`: "timeout" unless all four answer within that many ms.
  const reads = (cat, direct, a) => Promise.race([Promise.all([
    cat.versions(a.id).then((l) => l.map((v) => v.id)),
    cat.labels(a.id).then((l) => l.map((x) => [x.label, x.template_id])),
    cat.getByName(a.name, { owner: a.owner }).then((x) => x.id),
    cat.resolveByName(a.name, { owner: a.owner, label: "prod" }).then((x) => x.id),
  ]), new Promise((r) => a.within && setTimeout(() => r("timeout"), a.within))]);
  const arg = { id: v1.id, name, owner };
  net.seen.length = 0;
  const online = await run(p, reads, arg);
  assert.deepEqual(online, [[v1.id], [["prod", v1.id]], v1.id, v1.id], JSON.stringify(online));
  assert.ok(net.seen.some(([m, path]) => m === "GET" && path === `/v1/templates/${v1.id}/versions`), "a lineage not held is asked of the server");
  await sleep(800);
  const v2 = await api(users[1], "POST", `/v1/templates/${v1.id}/versions`, { patch: { description: "v2" }, changelog: "v2" });
  await run(p, () => { window.events.length = 0; });
  net.stallNow();
  const quick = await run(p, reads, { ...arg, within: 2000 });
  net.unstall();
  assert.deepEqual(quick, [[v1.id], [["prod", v1.id]], v1.id, v1.id], `held reads answer at once from the replica: ${JSON.stringify(quick)}`);
  // The reads started a pull from the kept cursor: the new version arrives, as an external change.
  const heard = await until(p, () => window.events.filter((e) => e.kind === "template" && e.external === true).map((e) => e.id), null, (ids) => ids.includes(v2.id));
  assert.ok(heard.includes(v2.id), JSON.stringify(heard));
  net.online = false;
  const offline = await run(p, reads, arg);
  assert.deepEqual(offline, [[v2.id, v1.id], [["prod", v1.id]], v2.id, v1.id], JSON.stringify(offline));
  await p.close();
});

test("a catalog closed while it keeps another user's lineage sends no request after close()", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const v1 = await api(users[1], "POST", "/v1/templates", { name: `Closed ${Date.now()}`, workflow_type: "plain", is_public: true });
  // Only the lineage's versions requests are counted: a pull running beside the read may also
  // fetch the template itself as a feed copy (seen in CI: 3 requests under the prefix).
  const asked = () => net.seen.filter(([m, x]) => m === "GET" && x === `/v1/templates/${v1.id}/versions`).length;
  net.stallNow();
  await run(p, (cat, direct, id) => { window.read = cat.versions(id).then((l) => l.length, (e) => e.code); }, v1.id);
  for (let i = 0; i < 100 && asked() < 1; i++) await sleep(50);
  // The read's request goes through; the lineage's adoption behind it is held at its first request.
  net.unstall();
  net.stallNow();
  for (let i = 0; i < 100 && asked() < 2; i++) await sleep(50);
  assert.equal(asked(), 2, JSON.stringify(net.seen));
  assert.equal(await run(p, () => window.read), 1);
  await run(p, (cat) => { cat.close(); });
  const n = net.seen.length;
  net.unstall();
  await sleep(1500);
  assert.deepEqual(net.seen.slice(n).filter(([, x]) => !x.startsWith("/v1/changes")), [], "no request after close()");
  await p.close();
});

test("a 403 without the server's coded error body (a proxy, a WAF) is a transient failure: the held copy is kept, not deleted", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const x = await api(users[1], "POST", "/v1/templates", { name: `Behind a WAF ${Date.now()}`, workflow_type: "plain", is_public: true });
  assert.equal(await run(p, (cat, direct, id) => cat.get(id).then((t) => t.id), x.id), x.id);
  await sleep(500);
  // Every GET of that template now meets an HTML 403 from something in between.
  let refused = 0;
  let ahead = 0;
  net.answer = (r) => {
    const url = new URL(r.url());
    if (r.method() === "GET" && url.pathname === `/v1/templates/${x.id}`) {
      refused++;
      return { status: 403, type: "text/html", body: "<html><body><h1>403 Forbidden</h1>Request blocked.</body></html>" };
    }
    return null;
  };
  const name = (cat, direct, id) => cat.get(id).then((t) => t.name, (e) => e.code);
  // 1. The revalidation behind a held read.
  assert.equal(await run(p, name, x.id), x.name);
  for (let i = 0; i < 40 && refused < 1; i++) await sleep(50);
  await sleep(300);
  assert.ok(refused >= 1, "the revalidation was not sent");
  // 2. The pull's re-read of a change the feed names.
  await api(users[1], "PATCH", `/v1/templates/${x.id}`, { description: "changed" }, x.updated_at);
  await run(p, (cat) => cat.sync().catch(() => null));
  // 3. A full pull (after CURSOR_AHEAD) re-reading the held template of another user.
  const inner = net.answer;
  net.answer = (r) => {
    const url = new URL(r.url());
    const since = url.searchParams.get("since");
    if (!ahead && r.method() === "GET" && url.pathname === "/v1/changes" && since && since !== "now" && url.searchParams.get("limit") === "500") {
      ahead++;
      return { status: 400, body: JSON.stringify({ error: { code: "INVALID_ARGUMENT", message: "cursor is ahead of this feed", details: { reason: "CURSOR_AHEAD", head: "0" } } }) };
    }
    return inner(r);
  };
  await run(p, async (cat) => { await cat.sync().catch(() => null); await cat.sync().catch(() => null); });
  assert.equal(ahead, 1, "the pull never met CURSOR_AHEAD");
  net.online = false;
  assert.equal(await run(p, name, x.id), x.name, "the held copy was deleted");
  assert.ok(refused >= 3, `refused ${refused}`);
  await p.close();
});

test("adopted lineages are bounded: the least recently read goes first; a base of the user's own template is kept", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  await openReplica(p, serverUrl, users, 0, 1);
  // The test hook of js/pull.js (the module the page's package loaded): a small bound.
  const snippet = readdirSync(new URL("../../pkg/snippets/", import.meta.url)).find((d) => existsSync(new URL(`../../pkg/snippets/${d}/js/pull.js`, import.meta.url)));
  const hook = await p.evaluate(async (path) => { const m = await import(path); m.setLineageLimitForTests?.(2); return typeof m.setLineageLimitForTests; }, `/pkg/snippets/${snippet}/js/pull.js`);
  const stamp = Date.now();
  const made = [];
  for (const n of ["A", "B", "C", "D"]) made.push(await api(users[1], "POST", "/v1/templates", { name: `Bounded ${n} ${stamp}`, workflow_type: "plain", is_public: true }));
  const [a, b, c, d] = made;
  // The user's own template deriving from A (so A is a needed base).
  const mine = await run(p, async (cat, direct, base) => { await cat.get(base); const t = await cat.create({ name: `Mine on A ${Date.now()}`, workflow_type: "plain", base_template_id: base }); await cat.sync(); return t.id; }, a.id);
  assert.equal(typeof mine, "string", JSON.stringify(mine));
  for (const t of made) {
    net.seen.length = 0;
    const ids = await run(p, (cat, direct, id) => cat.versions(id).then((l) => l.map((v) => v.id), (e) => e.code), t.id);
    assert.deepEqual(ids, [t.id]);
    // The adoption behind the read (versions, then labels): done when both were asked.
    for (let i = 0; i < 80 && !net.seen.some(([m, x]) => m === "GET" && x === `/v1/templates/${t.id}/labels`); i++) await sleep(50);
    await sleep(600);
  }
  net.online = false;
  const offline = await run(p, async (cat, direct, a) => {
    const get = (id) => cat.get(id).then((t) => t.id, (e) => e.code);
    const versions = (id) => cat.versions(id).then((l) => l.map((v) => v.id), (e) => e.code);
    return {
      held: [await versions(a.c), await versions(a.d)],
      dropped: await get(a.b),
      base: await get(a.a),
      resolved: await cat.resolve(a.mine).then((r) => typeof r === "object", (e) => e.code),
    };
  }, { a: a.id, b: b.id, c: c.id, d: d.id, mine });
  assert.deepEqual(offline, { held: [[c.id], [d.id]], dropped: "NOT_FOUND", base: a.id, resolved: true }, JSON.stringify(offline));
  assert.equal(hook, "function");
  await p.close();
});
