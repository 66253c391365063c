// The offline replica's engine when the server answers a queued write "not now" (issue 15: a
// failed push is retried on a timer with backoff, not only on the next write; other clients'
// changes keep arriving): the held write waits max(backoff, Retry-After) before it is sent
// again, whatever the live feed brings meanwhile, and then goes without any new event
// (docs/replica.md "Offline open, tokens, retries").
//
//   node --test tests/pages/replica_hold.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run } from "./replica_page.mjs";
import { createServer } from "node:http";
import { remoteCall, retryAfterMs } from "../../js/remote.js";

let base, browser, serverUrl, users;
pageSuite("wt-replica-hold", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const busy = JSON.stringify({ error: { code: "STORAGE_UNAVAILABLE", message: "database busy", details: null } });

/**
 * Answers the first `n` PATCHes of template `id` with 503 + `Retry-After: <seconds>` (exposed
 * to the page's origin, as CORS needs: Fetch "CORS-safelisted response-header name" does not
 * list it); everything else goes to replica_page's router. `times`: when each PATCH came (ms;
 * pass one array to several pages of a replica to count their PATCHes together).
 */
async function holdPatches(p, id, n, seconds, times = []) {
  await p.route(`${serverUrl}/v1/templates/${id}`, (route) => {
    if (route.request().method() !== "PATCH") return route.fallback();
    times.push(Date.now());
    if (times.length > n) return route.fallback();
    return route.fulfill({
      status: 503,
      headers: { "access-control-allow-origin": base, "access-control-expose-headers": "Retry-After", "content-type": "application/json", "retry-after": String(seconds) },
      body: busy,
    });
  });
  return times;
}

test("Retry-After: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3), anything else ignored", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  assert.equal(retryAfterMs("2", now), 2000);
  assert.equal(retryAfterMs(" 120 ", now), 120000);
  assert.equal(retryAfterMs("0", now), 0);
  assert.equal(retryAfterMs("Mon, 30 Nov 2026 12:00:05 GMT", now), 5000);
  assert.equal(retryAfterMs("Mon, 30 Nov 2026 11:59:00 GMT", now), 0, "a date in the past: at once");
  for (const bad of [null, undefined, "", "-1", "1.5", "soon", "2 s"]) assert.equal(retryAfterMs(bad, now), null, String(bad));
  // Several values (repeated headers, joined by fetch): the first.
  assert.equal(retryAfterMs("120, 5", now), 120000);
  assert.equal(retryAfterMs("Mon, 30 Nov 2026 12:00:05 GMT, Mon, 30 Nov 2026 12:00:09 GMT", now), 5000);
  // However long: never shorter than asked (callers cut it).
  assert.equal(retryAfterMs("99999999999999999999999", now), Number.MAX_SAFE_INTEGER);
});

test("a held write waits for max(backoff, Retry-After): one request while the feed brings news, then the timer sends it without a new event", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t1 = await run(p, async (cat) => {
    const t = await cat.create({ name: `Held ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  // Retry-After 4 (not the reference server's 2): room for the feed's news on a loaded machine.
  const times = await holdPatches(p, t1, 1, 4);
  // The write is queued; the sync its write kicks sends it once: 503, Retry-After 4.
  await run(p, (cat, direct, id) => cat.update(id, { description: "after the hold" }).then(() => null), t1);
  for (let i = 0; i < 40 && times.length < 1; i++) await sleep(50);
  assert.equal(times.length, 1, "the kicked sync sent the write");
  // Another device of the user writes three times during the hold: each change heard is a
  // sync (the pull goes on), but the held write is not sent again before its Retry-After.
  const heard = await run(p, async (cat, direct) => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await direct.create({ name: `Elsewhere ${i} ${Date.now()}`, workflow_type: "plain" })).id);
      await new Promise((r) => setTimeout(r, 250));
    }
    for (let i = 0; i < 40 && !ids.every((id) => window.events.some((e) => e.id === id && e.external === true)); i++) await new Promise((r) => setTimeout(r, 50));
    return ids.every((id) => window.events.some((e) => e.id === id && e.external === true));
  });
  assert.ok(heard, "the live feed delivered the other device's templates during the hold");
  assert.ok(Date.now() - times[0] < 3900, "still inside the hold");
  assert.equal(times.length, 1, "no request of the held write per feed event");
  // No new event from here on: the timer sends it once the hold is over.
  for (let i = 0; i < 120 && times.length < 2; i++) await sleep(50);
  assert.equal(times.length, 2, "the timer sent the held write again without a new event");
  // Backoff alone would be 1 s after a first "not now".
  assert.ok(times[1] - times[0] >= 3900, `sent again ${times[1] - times[0]} ms after the 503 with Retry-After: 4`);
  const after = await run(p, async (cat, direct, id) => {
    // The push's sync ends (its pull) before the state settles.
    for (let i = 0; i < 60 && ((await cat.pending()).length || cat.syncState().state !== "online" || cat.syncState().pending); i++) await new Promise((r) => setTimeout(r, 50));
    return { pending: (await cat.pending()).length, server: (await direct.get(id)).description, state: cat.syncState() };
  }, t1);
  assert.deepEqual(after, { pending: 0, server: "after the hold", state: { state: "online", pending: 0 } });
  await p.close();
});

// Issue 15 (rep10): the hold lived in the leader tab's memory, so the tab that took over when
// the leader closed sent the held write at once, whatever its Retry-After said. It is kept in
// the replica's meta store (`hold`) and the new leader waits until its retryAt.
test("the hold survives a change of leader tab: the tab that takes over waits out the Retry-After the closed leader was told, then sends the write", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const t1 = await run(p, async (cat) => {
    const t = await cat.create({ name: `Held across tabs ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  // Tab B: the same replica, a follower while tab A leads.
  const { p: q } = await replicaPage(browser, serverUrl, base);
  const opened = await q.evaluate(async ({ serverUrl, u, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token, replica: { dbName } });
    window.direct = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token });
    return "ok";
  }, { serverUrl, u: users[0], dbName });
  assert.equal(opened, "ok");
  // The PATCHes of either tab, counted together: the first is 503 + Retry-After: 3.
  const times = [];
  await holdPatches(p, t1, 1, 3, times);
  await holdPatches(q, t1, 1, 3, times);
  const seq = await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "after the leader closed" });
    return (await cat.pending())[0].seq;
  }, t1);
  for (let i = 0; i < 60 && times.length < 1; i++) await sleep(50);
  assert.equal(times.length, 1, "tab A sent the write once");
  // Tab B hears of the hold from tab A (the state on the channel).
  const told = await run(q, async () => {
    for (let i = 0; i < 40 && !window.cat.syncState().held; i++) await new Promise((r) => setTimeout(r, 50));
    return window.cat.syncState().held ?? null;
  });
  assert.equal(told?.seq, seq);
  // Tab A closes: tab B leads (it takes the Web Lock and the feed).
  await p.close();
  const closed = Date.now();
  // Until retryAt (3 s after the 503) tab B pulls but does not send the held write.
  for (let i = 0; i < 120 && times.length < 2 && Date.now() - times[0] < 2900; i++) await sleep(25);
  assert.equal(times.length, 1, `tab B sent the held write ${times[1] - times[0]} ms after the 503 with Retry-After: 3 (${times[1] - closed} ms after tab A closed)`);
  const during = await run(q, async () => window.cat.syncState());
  assert.deepEqual({ seq: during.held?.seq, retryAt: during.held?.retryAt }, { seq, retryAt: told.retryAt }, "tab B tells the hold it took over");
  // Then it goes, without any new event, and the hold is over (its meta row gone).
  for (let i = 0; i < 120 && times.length < 2; i++) await sleep(50);
  assert.equal(times.length, 2, "tab B sent the held write once the hold was over");
  assert.ok(times[1] - times[0] >= 2900, `sent again ${times[1] - times[0]} ms after the 503 with Retry-After: 3`);
  const after = await run(q, async (cat, direct, { id, dbName }) => {
    for (let i = 0; i < 60 && ((await cat.pending()).length || cat.syncState().state !== "online" || cat.syncState().held); i++) await new Promise((r) => setTimeout(r, 50));
    const db = await new Promise((res, rej) => { const r = indexedDB.open(dbName); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const row = await new Promise((res) => { const r = db.transaction("replica_meta").objectStore("replica_meta").get("hold"); r.onsuccess = () => res(r.result ?? null); });
    db.close();
    return { pending: (await cat.pending()).length, server: (await direct.get(id)).description, state: cat.syncState(), row };
  }, { id: t1, dbName });
  assert.deepEqual(after, { pending: 0, server: "after the leader closed", state: { state: "online", pending: 0 }, row: null });
  await q.close();
});

/** Meta row `key` of replica database `dbName`, read in page `p` (null when absent). */
function metaRow(p, dbName, key, put) {
  return p.evaluate(async ({ dbName, key, put }) => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open(dbName); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const tx = db.transaction("replica_meta", put === undefined ? "readonly" : "readwrite");
    const store = tx.objectStore("replica_meta");
    if (put !== undefined) store.put({ key, value: put });
    const row = await new Promise((res) => { const r = store.get(key); r.onsuccess = () => res(r.result?.value ?? null); });
    await new Promise((res) => { tx.oncomplete = res; });
    db.close();
    return row;
  }, { dbName, key, put });
}

test("the kept hold (meta `hold`) is written when a write is held and deleted when it is dropped; a tab that takes over believes a row only while its write is queued, and for at most RETRY_AFTER_MAX_MS", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const t1 = await run(p, async (cat) => {
    const t = await cat.create({ name: `Kept hold ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  const times = await holdPatches(p, t1, 100, 30);
  const seq = await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "dropped" });
    return (await cat.pending())[0].seq;
  }, t1);
  for (let i = 0; i < 60 && times.length < 1; i++) await sleep(50);
  const row = await metaRow(p, dbName, "hold");
  assert.equal(row?.seq, seq, JSON.stringify(row));
  assert.ok(row.until - times[0] > 25000 && row.until - times[0] < 35000, `until ${row.until - times[0]} ms after the 503 with Retry-After: 30`);
  assert.deepEqual({ failures: row.failures, retryAt: row.held.retryAt }, { failures: 1, retryAt: new Date(row.until).toISOString() });
  assert.deepEqual(await run(p, async (cat, direct, seq) => cat.discardPending(seq), seq), [seq]);
  assert.equal(await metaRow(p, dbName, "hold"), null, "dropping the held write deletes the kept hold");
  // Rows the next leader must not believe: one whose write is gone (it is deleted and the
  // writes go at once), one asking for 10 days (cut at 1 h from the reading tab's now).
  await run(p, async (cat) => { cat.close(); return null; });
  await metaRow(p, dbName, "hold", { seq: 999999, until: Date.now() + 600000, failures: 3, held: { seq: 999999 } });
  const reopened = await p.evaluate(async ({ serverUrl, u, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token, replica: { dbName } });
    return window.cat.syncState().held ?? null;
  }, { serverUrl, u: users[0], dbName });
  assert.equal(reopened, null);
  for (let i = 0; i < 40 && (await metaRow(p, dbName, "hold")) !== null; i++) await sleep(50);
  assert.equal(await metaRow(p, dbName, "hold"), null, "a row whose write is not queued is deleted");
  const sent = times.length;
  await run(p, async (cat, direct, id) => cat.update(id, { description: "held again" }).then(() => null), t1);
  for (let i = 0; i < 60 && times.length === sent; i++) await sleep(50);
  assert.equal(times.length, sent + 1, "the write went at once (no hold believed)");
  const held = await metaRow(p, dbName, "hold");
  await run(p, async (cat) => { cat.close(); return null; });
  await metaRow(p, dbName, "hold", { ...held, until: Date.now() + 10 * 86400000 });
  const before = Date.now();
  const cut = await p.evaluate(async ({ serverUrl, u, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token, replica: { dbName } });
    for (let i = 0; i < 40 && !window.cat.syncState().held; i++) await new Promise((r) => setTimeout(r, 50));
    return window.cat.syncState().held ?? null;
  }, { serverUrl, u: users[0], dbName });
  const wait = Date.parse(cut?.retryAt) - before;
  assert.ok(cut?.seq === held.seq && wait <= 3600000 + 5000 && wait > 3500000, `retryAt ${cut?.retryAt}: ${wait} ms ahead`);
  await run(p, async (cat) => { cat.close(); return null; });
  await p.close();
});

test("a 502-504 whose last attempt came with the server's coded error body: NETWORK whose message names the status and the server's code and message, the body kept whole in `server`", async () => {
  let script = [];
  const seen = [];
  const srv = createServer((req, res) => {
    seen.push(req.method);
    const [status, body, headers = {}] = script.shift() ?? [200, "{}"];
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${srv.address().port}`;
  const call = async (name, args, answers) => {
    script = [...answers];
    seen.length = 0;
    try {
      return await remoteCall(url, "tok", name, JSON.stringify(args));
    } catch (e) {
      return { ...JSON.parse(e), tries: seen.length };
    }
  };
  try {
    const body = JSON.stringify({ error: { code: "STORAGE_UNAVAILABLE", message: "database busy", details: { reason: "LOCKED" } } });
    const server = { code: "STORAGE_UNAVAILABLE", message: "database busy", details: { reason: "LOCKED" } };
    // A GET retried four times, the last answer coded.
    assert.deepEqual(await call("get", { id: "T" }, [[503, ""], [503, body], [502, ""], [503, body]]),
      { code: "NETWORK", message: "GET /v1/templates/{id}: the server answered 503 STORAGE_UNAVAILABLE: database busy", details: null, status: 503, envelope: false, server, tries: 4 });
    // A PATCH: keyed (issue 15), so retried as a GET is, the last answer coded.
    assert.deepEqual(await call("update", { id: "T", body: {} }, [[503, body], [503, body], [503, body], [503, body]]),
      { code: "NETWORK", message: "PATCH /v1/templates/{id}: the server answered 503 STORAGE_UNAVAILABLE: database busy", details: null, status: 503, envelope: false, server, tries: 4 });
    // The last attempt had no body (a gateway): no `server`, the status kept.
    const bare = await call("get", { id: "T" }, [[503, body], [503, body], [503, body], [504, "<html>"]]);
    assert.deepEqual(bare, { code: "NETWORK", message: "GET /v1/templates/{id}: the server answered 504", details: null, status: 504, envelope: false, tries: 4 });
    // With Retry-After: not retried within the call, the delay passed up with the server's error.
    assert.deepEqual(await call("create", { body: {} }, [[503, body, { "retry-after": "3" }]]),
      { code: "NETWORK", message: "POST /v1/templates: the server answered 503 STORAGE_UNAVAILABLE: database busy", details: null, status: 503, envelope: false, retryAfter: 3000, server, tries: 1 });
  } finally {
    srv.close();
  }
});

test("the app's sync() during a hold sends the held write at once and rejects with the server's words (NETWORK, its status, code and message); syncState().held tells which write, what the server said and when it goes again", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t1 = await run(p, async (cat) => {
    const t = await cat.create({ name: `Held twice ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  const times = await holdPatches(p, t1, 2, 30);
  const seq = await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "asked for" });
    return (await cat.pending())[0].seq;
  }, t1);
  for (let i = 0; i < 40 && times.length < 1; i++) await sleep(50);
  const asked = await run(p, async (cat) => {
    const e = await cat.sync().then(() => null, (e) => ({ code: e.code, message: e.message, error: e instanceof Error }));
    return { e, held: cat.syncState().held };
  });
  assert.equal(times.length, 2, "the app's sync() sent the held write at once");
  assert.equal(asked.e.code, "NETWORK");
  assert.ok(asked.e.error, "an Error");
  assert.match(asked.e.message, /answered 503 STORAGE_UNAVAILABLE: database busy/);
  const retryAt = Date.parse(asked.held.retryAt);
  assert.ok(retryAt - times[1] > 25000 && retryAt - times[1] < 35000, `retryAt ${asked.held.retryAt} is Retry-After (30 s) after the second send`);
  assert.deepEqual({ ...asked.held, retryAt: undefined }, { seq, endpoint: "update", id: t1, status: 503, error: { code: "STORAGE_UNAVAILABLE", message: "database busy", details: null }, retryAt: undefined });
  // The server is fine again: the app's sync() sends it, the hold ends.
  const done = await run(p, async (cat, direct, id) => {
    await cat.sync();
    return { state: cat.syncState(), server: (await direct.get(id)).description };
  }, t1);
  assert.deepEqual(done, { state: { state: "online", pending: 0 }, server: "asked for" });
  assert.equal(times.length, 3);
  await p.close();
});

// F7: the reference server sends Retry-After on every 503 but does not expose it to a page of
// another origin (server/src/http.rs:433 EXPOSE_HEADERS = "ETag, Date"), so a cross-origin
// replica never sees it (docs/replica.md says so) and the headline feature is inert there.
test("the reference server exposes Retry-After to the CORS origin it serves (review of rep9, F7)", async () => {
  const res = await fetch(`${serverUrl}/v1/me`, { headers: { Origin: base, Authorization: `Bearer ${users[0].token}` } });
  const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase();
  assert.match(exposed, /retry-after/, `Access-Control-Expose-Headers: ${exposed}`);
});

// F8: a plain remote call (no replica, nothing holds it) used to absorb one transient 503 by its
// in-call retry; now any 502-504 with Retry-After rejects at once (the reference server puts
// Retry-After: 2 on every 503), and only where the header is readable (Node, same origin): the
// same catalog retries cross-origin and fails at once same-origin.
test("a plain remote GET still gets past one transient 503 that carries Retry-After: 2, waiting it out (review of rep9, F8)", async () => {
  const script = [[503, busy, { "retry-after": "2" }], [200, JSON.stringify({ id: "01J0ABCDEFGHJKMNPQRSTVWXYZ" })]];
  let n = 0;
  const srv = createServer((req, res) => { const [s, b, h = {}] = script[n++] ?? [200, "{}"]; res.writeHead(s, { "content-type": "application/json", ...h }); res.end(b); });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  try {
    const r = await remoteCall(`http://127.0.0.1:${srv.address().port}`, "tok", "get", JSON.stringify({ id: "01J0ABCDEFGHJKMNPQRSTVWXYZ" })).then((x) => x[0], (e) => JSON.parse(e).code);
    assert.equal(r, JSON.stringify({ id: "01J0ABCDEFGHJKMNPQRSTVWXYZ" }), `after ${n} request(s)`);
  } finally {
    srv.close();
  }
});

// F9: delay-seconds is 1*DIGIT (RFC 9110 section 10.2.3): a valid but huge value is ignored
// (null: the 1 s backoff applies) while a smaller huge one is cut at 1 h: asking for a longer
// wait gets a sooner retry. Several headers ("120, 5", as fetch joins them) are ignored too.
test("a longer Retry-After never means a sooner retry (review of rep9, F9)", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  const long = retryAfterMs("99999999999", now);
  const longer = retryAfterMs("9999999999999", now);
  assert.ok(longer !== null && longer >= long, `"99999999999" -> ${long}, "9999999999999" -> ${longer}`);
});

// F6: any status with a body code "UNAUTHORIZED" is taken as a refused token (js/remote.js
// answer: the body's code wins for every status but 401/412): a 500 or 503-without-retry from
// a buggy or hostile server stops the replica for good (syncState().error, no feed, sync()
// refused) until the catalog is reopened.
test("a 500 whose body says UNAUTHORIZED does not stop the replica: only a 401 is a refused token (review of rep9, F6)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `U ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  net.answer = (r) => (r.method() === "PATCH" ? { status: 500, body: JSON.stringify({ error: { code: "UNAUTHORIZED", message: "internal error" } }) } : null);
  const first = await run(p, async (cat, direct, id) => {
    await cat.update(id, { description: "x" });
    return cat.sync().then(() => "ok", (e) => e.code);
  }, t);
  net.answer = null;
  const after = await run(p, async (cat) => ({ again: await cat.sync().then(() => "ok", (e) => e.code), state: cat.syncState() }));
  assert.notEqual(first, "UNAUTHORIZED", "a 500 is not a refused token");
  assert.deepEqual({ again: after.again, error: after.state.error ?? null, pending: after.state.pending }, { again: "ok", error: null, pending: 0 }, JSON.stringify({ first, after }));
  await p.close();
});

test("a leader closed while its write is on the way (no answer, no hold kept): the tab that takes over waits one backoff step before sending it again", async () => {
  const { p } = await replicaPage(browser, serverUrl, base);
  const dbName = await openReplica(p, serverUrl, users, 0, 0);
  const id = await run(p, async (cat) => {
    const t = await cat.create({ name: `Unfinished send ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return t.id;
  });
  const { p: q } = await replicaPage(browser, serverUrl, base);
  assert.equal(await q.evaluate(async ({ serverUrl, u, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token, replica: { dbName } });
    window.direct = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token });
    return "ok";
  }, { serverUrl, u: users[0], dbName }), "ok");
  // Tab A's PATCH never gets an answer (the server may have applied it, or be in trouble);
  // tab B's go through. `times`: when each tab's PATCH came.
  const times = { a: [], b: [] };
  await p.route(`${serverUrl}/v1/templates/${id}`, (route) => {
    if (route.request().method() !== "PATCH") return route.fallback();
    times.a.push(Date.now());
    return new Promise(() => {}); // no answer while tab A lives
  });
  await q.route(`${serverUrl}/v1/templates/${id}`, (route) => {
    if (route.request().method() === "PATCH") times.b.push(Date.now());
    return route.fallback();
  });
  await run(p, (cat, direct, id) => cat.update(id, { description: "sent by A, answered to B" }), id);
  for (let i = 0; i < 100 && !times.a.length; i++) await sleep(50);
  assert.equal(times.a.length, 1, "tab A sent the write");
  await p.close();
  const closed = Date.now();
  for (let i = 0; i < 200 && !times.b.length; i++) await sleep(25);
  assert.equal(times.b.length, 1, "tab B sent it");
  assert.ok(times.b[0] - closed >= 900, `tab B sent the write ${times.b[0] - closed} ms after tab A closed mid-send (one backoff step is 1 s)`);
  // Tab A's request may still reach the server as its page closes (a request left in a route
  // goes on): B's resend carries the entry's Idempotency-Key, so the server answers A's success
  // again, not a 412 (before server-side keys on PATCH: a kept conflict). B sent it once, a
  // backoff step late, and the server has it.
  const conflictKey = `conflict:template ${id}`;
  const after = await run(q, async (cat, direct, a) => {
    const kept = () => new Promise((res) => { const r = indexedDB.open(a.dbName); r.onsuccess = () => { const db = r.result; const g = db.transaction("replica_meta").objectStore("replica_meta").get(a.key); g.onsuccess = () => { db.close(); res(g.result?.value ?? null); }; }; });
    // (Its answer is applied after the server has it: up to 10 s on a loaded machine.)
    for (let i = 0; i < 200 && ((await cat.pending()).length || cat.syncState().held) && !(await kept()); i++) await new Promise((r) => setTimeout(r, 50));
    return { pending: (await cat.pending()).length, server: (await direct.get(a.id)).description };
  }, { id, dbName, key: conflictKey });
  const conflict = await metaRow(q, dbName, conflictKey);
  assert.deepEqual({ ...after, conflict }, { pending: 0, server: "sent by A, answered to B", conflict: null }, JSON.stringify({ times, conflict }));
  let mark = await metaRow(q, dbName, "sending");
  for (let i = 0; i < 100 && mark !== null; i++) { await sleep(50); mark = await metaRow(q, dbName, "sending"); }
  assert.equal(mark, null, "the mark is gone once a push ended");
  await q.close();
});
