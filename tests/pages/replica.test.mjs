// The offline replica's engine parts that need no real server (issue 15; the end-to-end tests
// with the reference server are tests/e2e/replica.test.mjs): real headless Chromium, real
// IndexedDB and Web Locks. The "server" is the test's request routing on the page: it answers
// GET /v1/me (and an empty first pull) when asked to, and otherwise fails every request as a
// network error, which is what an unreachable server looks like to the page.
//
//   node --test tests/pages/replica.test.mjs          (after scripts/build.sh)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";

const USER = "01J0RPCA000000000000000001";
const TOKEN = "replica-page-token";

let base, browser;
pageSuite("wt-replica", (s) => ({ base, browser } = s));

let n = 0;
const fresh = () => `wt-replica-page-${Date.now()}-${n++}`;

/**
 * A page whose "server" (`${base}/srv`) is the routing below: `net.online` answers /v1/me and an
 * empty first pull; every other request (and every request while offline) fails as a network
 * error. `net.seen` lists "METHOD path?query" of each request that reached the routing.
 */
async function page() {
  const p = await browser.newPage();
  p.on("pageerror", (e) => console.error("page error:", e));
  const net = { online: true, seen: [], user: USER, exported: [] };
  await p.route(`${base}/srv/**`, (route) => {
    const req = route.request();
    const url = new URL(req.url());
    net.seen.push(`${req.method()} ${url.pathname.slice(4)}${url.search}`);
    const json = (status, body) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
    if (!net.online) return route.abort("internetdisconnected");
    if (url.pathname === "/srv/v1/me") return json(200, { user_id: net.user });
    if (url.pathname === "/srv/v1/changes" && url.searchParams.get("since") === "now") return json(200, { changes: [], cursor: "7", more: false });
    if (url.pathname === "/srv/v1/changes") return json(200, { changes: [], cursor: url.searchParams.get("since") ?? "7", more: false });
    if (url.pathname === "/srv/v1/export") return json(200, { format_version: 1, workflow_templates: net.exported, template_specs: [], ratings: [], builtin_stats: [], template_labels: [] });
    return route.abort("internetdisconnected");
  });
  await p.goto(`${base}/tests/pages/fixture.html`);
  await p.waitForFunction(() => window.ready === true);
  return { p, net };
}

/** Opens a replica catalog in the page as `window.cat`: "ok" or the error code. */
function open(p, dbName, extra = {}) {
  return p.evaluate(async ({ base, USER, TOKEN, dbName, extra }) => {
    try {
      window.cat = await window.wt.TemplateCatalog.open({ userId: USER, storage: "remote", baseUrl: `${base}/srv`, token: TOKEN, replica: { dbName }, ...extra });
      window.events = [];
      window.cat.subscribe((e) => window.events.push(e));
      return "ok";
    } catch (e) {
      return e.code || String(e);
    }
  }, { base, USER, TOKEN, dbName, extra });
}

/** Runs `f(cat, arg)` in the page; a rejection comes back as `{ error: code }`. */
function run(p, f, arg) {
  return p.evaluate(async ({ src, arg }) => {
    try {
      return await new Function("cat", "arg", `return (${src})(cat, arg);`)(window.cat, arg);
    } catch (e) {
      return { error: e.code || String(e), message: e.message };
    }
  }, { src: f.toString(), arg });
}

test("writes made offline are queued in call order, with their ids, and survive closing and reopening offline", async () => {
  const dbName = fresh();
  const { p, net } = await page();
  assert.equal(await open(p, dbName), "ok");
  assert.equal(await run(p, (cat) => cat.storage), "remote");
  net.online = false;
  const made = await run(p, async (cat) => {
    const t = await cat.create({ name: "Offline one", workflow_type: "plain" });
    const u = await cat.update(t.id, { description: "edited offline" }, { ifMatch: t.updated_at });
    const rated = await cat.rate(t.id, 4);
    const v2 = await cat.newVersion(t.id, { description: "v2" }, "second");
    const spec = await cat.createSpec({ name: "Offline spec", workflow_type: "plain" });
    return { t, u, rated, v2, spec, pending: await cat.pending() };
  });
  assert.equal(made.error, undefined, JSON.stringify(made));
  const q = made.pending;
  assert.deepEqual(q.map((e) => e.endpoint), ["create", "update", "rate", "newVersion", "createSpec"]);
  assert.ok(q.every((e, i) => i === 0 || e.seq > q[i - 1].seq), "seq increases in call order");
  assert.equal(new Set(q.map((e) => e.key)).size, 5, "one Idempotency-Key per write");
  assert.ok(q.every((e) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(e.key)), "keys are ULIDs");
  // A create claims the id the replica gave the record; the server is asked for that id.
  assert.equal(q[0].id, made.t.id);
  assert.equal(q[0].args.query.id, made.t.id);
  assert.equal(q[3].id, made.v2.id);
  assert.equal(q[3].args.id, made.t.id);
  assert.equal(q[4].id, made.spec.id);
  assert.equal(q[1].target, made.t.id);
  assert.deepEqual(q[1].args.body, { description: "edited offline" });
  // The local writes ran the core's rules and are read back from the replica.
  assert.equal(made.u.description, "edited offline");
  assert.equal(made.rated.rating, 4);
  await run(p, (cat) => cat.close());
  await p.close();

  // Reopen while the server is unreachable: the identity kept from the last /v1/me opens it.
  const second = await page();
  second.net.online = false;
  assert.equal(await open(second.p, dbName), "ok");
  // The leader tries at once, fails, and waits out its backoff.
  await second.p.waitForFunction(() => window.events.some((e) => e.kind === "sync" && e.state === "offline"), null, { timeout: 15000 });
  const after = await run(second.p, async (cat, ids) => ({
    pending: (await cat.pending()).map((e) => [e.seq, e.endpoint, e.id]),
    t: (await cat.get(ids.t)).description,
    versions: (await cat.versions(ids.t)).map((v) => v.version),
    state: cat.syncState(),
  }), { t: made.t.id });
  assert.deepEqual(after.pending, q.map((e) => [e.seq, e.endpoint, e.id]));
  // Subscribers heard the sync state: offline with the 5 queued writes.
  const heard = await second.p.evaluate(() => window.events.filter((e) => e.kind === "sync"));
  assert.ok(heard.some((e) => e.op === "state" && e.state === "offline" && e.pending === 5 && e.id === null && e.external === false), JSON.stringify(heard));
  assert.equal(after.t, "edited offline");
  assert.deepEqual(after.versions, [2, 1]);
  // (The leader retries on its backoff timer: "syncing" for a moment, then "offline" again.)
  assert.ok(["offline", "syncing"].includes(after.state.state), JSON.stringify(after.state));
  assert.equal(after.state.pending, 5);
  // sync() while unreachable: NETWORK, and nothing is lost.
  const synced = await run(second.p, async (cat) => ({ s: await cat.sync().catch((e) => e.code), n: (await cat.pending()).length }));
  assert.deepEqual(synced, { s: "NETWORK", n: 5 });
  // discover answers from the replica and says so.
  const page1 = await run(second.p, (cat) => cat.discover({ text: "Offline" }));
  assert.equal(page1.offline, true);
  assert.deepEqual(page1.items.map((t) => t.name), ["Offline one"]);
  await run(second.p, (cat) => cat.close());
  await second.p.close();
});

test("a write the local rules refuse leaves no outbox entry", async () => {
  const { p, net } = await page();
  assert.equal(await open(p, fresh()), "ok");
  net.online = false;
  const out = await run(p, async (cat) => {
    const codes = [];
    const t = await cat.create({ name: "Only one", workflow_type: "plain" });
    for (const f of [
      () => cat.create({ name: "Only one", workflow_type: "plain" }), // name taken
      () => cat.create({ workflow_type: "plain" }), // no name
      () => cat.create({ name: "Bad", workflow_type: "nope" }),
      () => cat.update(t.id, { description: "stale" }, { ifMatch: "2000-01-01T00:00:00.000Z" }),
      () => cat.update("01J0NNNE000000000000000001", { description: "x" }),
      () => cat.rate(t.id, 7),
      () => cat.delete("01J0NNNE000000000000000001"),
      () => cat.createSpec({ workflow_type: "plain" }),
      () => cat.setLabel(t.id, "latest"),
    ]) {
      codes.push(await f().then(() => "resolved", (e) => e.code));
    }
    return { codes, pending: (await cat.pending()).map((e) => e.endpoint) };
  });
  assert.deepEqual(out.codes, ["NAME_TAKEN", "VALIDATION_FAILED", "VALIDATION_FAILED", "CONFLICT", "NOT_FOUND", "VALIDATION_FAILED", "NOT_FOUND", "VALIDATION_FAILED", "INVALID_ARGUMENT"]);
  assert.deepEqual(out.pending, ["create"]);
  await run(p, (cat) => cat.close());
  await p.close();
});

test("opening: a token the server refuses is UNAUTHORIZED; unreachable with no kept identity for this token is NETWORK", async () => {
  const { p, net } = await page();
  const dbName = fresh();
  net.user = "01J0SMNE000000000000000001";
  assert.equal(await open(p, dbName), "UNAUTHORIZED");
  net.user = USER;
  net.online = false;
  assert.equal(await open(p, dbName), "NETWORK", "never opened online: nothing to open offline");
  net.online = true;
  assert.equal(await open(p, dbName), "ok");
  await run(p, (cat) => cat.close());
  net.online = false;
  assert.equal(await open(p, dbName, { token: "another-token" }), "NETWORK", "the kept identity is for the other token");
  assert.equal(await open(p, dbName), "ok");
  await run(p, (cat) => cat.close());
  await p.close();
});

test("Web Lock: only the leader tab pushes; a second catalog on the replica queues and hands its writes over", async () => {
  const dbName = fresh();
  const a = await page();
  const b = await page();
  assert.equal(await open(a.p, dbName), "ok");
  assert.equal(await open(b.p, dbName), "ok");
  a.net.online = b.net.online = false;
  a.net.seen.length = b.net.seen.length = 0;
  const t = await run(b.p, (cat) => cat.create({ name: "From the second tab", workflow_type: "plain" }));
  assert.equal(t.error, undefined);
  const pushOf = (seen) => seen.filter((s) => s.startsWith(`POST /v1/templates?id=${t.id}`)).length;
  // The leader (the first tab) pushes the second tab's write, with the id the replica gave it.
  for (let i = 0; i < 100 && pushOf(a.net.seen) === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(pushOf(a.net.seen) >= 1, `the leader pushed: ${a.net.seen}`);
  assert.equal(pushOf(b.net.seen), 0, `the second tab sent nothing: ${b.net.seen}`);
  // The second tab's sync() is run by the leader and answered over the channel (here: the
  // server is unreachable), long before the follower's own 60 s wait would give up.
  const started = Date.now();
  assert.equal(await run(b.p, (cat) => cat.sync().then(() => "resolved", (e) => e.code)), "NETWORK");
  assert.ok(Date.now() - started < 30000);
  // Both tabs see the one queued write.
  assert.deepEqual(await run(a.p, async (cat) => (await cat.pending()).map((e) => e.id)), [t.id]);
  // The leader goes away: the second tab takes the lock and pushes.
  await run(a.p, (cat) => cat.close());
  await a.p.close();
  await run(b.p, (cat) => cat.sync().catch(() => null));
  for (let i = 0; i < 100 && pushOf(b.net.seen) === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(pushOf(b.net.seen) >= 1, `the new leader pushed: ${b.net.seen}`);
  await run(b.p, (cat) => cat.close());
  await b.p.close();
});

test("a server record the replica refuses is left out; the others are kept and sync goes on", async () => {
  const { p, net } = await page();
  // Two well-formed records of this user (made by a memory catalog), one then corrupted.
  const [good, bad] = await p.evaluate(async (USER) => {
    const mem = await window.wt.TemplateCatalog.open({ userId: USER, storage: "memory" });
    const a = await mem.create({ name: "Good", workflow_type: "plain" });
    const b = await mem.create({ name: "Bad", workflow_type: "plain" });
    return [a, { ...b, config_hash: "0".repeat(64) }];
  }, USER);
  net.exported = [bad, good];
  assert.equal(await open(p, fresh()), "ok");
  const out = await run(p, async (cat, ids) => ({
    good: (await cat.get(ids.good)).name,
    bad: await cat.get(ids.bad).then(() => "held", (e) => e.code),
    sync: await cat.sync().then((r) => r.pushed, (e) => e.code),
  }), { good: good.id, bad: bad.id });
  assert.deepEqual(out, { good: "Good", bad: "NOT_FOUND", sync: 0 });
  await run(p, (cat) => cat.close());
  await p.close();
});
