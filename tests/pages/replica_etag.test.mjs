// Revalidating a held copy the replica stores differently from the server's representation
// (docs/replica.md "Reads"): the tag derived from the held copy then never equals the server's
// ETag, so every revalidation of an unchanged record cost a full 200. The replica keeps the
// server's own ETag with the copy its answer left and sends it while the held copy is still
// that one: one 200, then 304s.
//
//   node --test tests/pages/replica_etag.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run, patchAs, api as serverApi } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-etag", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The server API as user `u` (replica_page.mjs `api`). */
const api = (u, ...rest) => serverApi(serverUrl, u, ...rest);

test("a held copy stored unlike the server's representation (a newer version held here keeps it not latest) is revalidated with the server's own ETag: one 200, then 304", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // Only revalidations bring news (no stream, empty feed pages).
  net.blockStream = true;
  net.quietFeed = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const v1 = await api(users[1], "POST", "/v1/templates", { name: `Lineage ${Date.now()}`, workflow_type: "plain", is_public: true });
  const v2 = await api(users[1], "POST", `/v1/templates/${v1.id}/versions`, { patch: { description: "v2" } });
  // The replica holds v2 (the latest then); the owner deletes it: v1 is the latest again.
  assert.equal(await run(p, async (cat, direct, id) => (await cat.get(id)).version, v2.id), 2);
  await api(users[1], "DELETE", `/v1/templates/${v2.id}`);
  // v1 comes in while v2 is still held here, so the replica stores it as not latest: its
  // derived tag is not the server's for the same, unchanged record.
  const first = await run(p, async (cat, direct, id) => { const t = await cat.get(id); return [t.version, t.is_latest]; }, v1.id);
  assert.deepEqual(first, [1, false]);
  const statuses = async () => {
    net.statuses.length = 0;
    await run(p, async (cat, direct, id) => (await cat.get(id)).id, v1.id);
    // Conditional GETs only: the revalidation (a plain GET of the path, as a fetch or a pull
    // beside it sends, is not what this counts).
    const revalidated = () => net.statuses.filter(([m, path, , inm]) => m === "GET" && path === `/v1/templates/${v1.id}` && inm !== null);
    for (let i = 0; i < 40 && !revalidated().length; i++) await sleep(50);
    await sleep(200);
    return revalidated().map(([, , s]) => s);
  };
  const seen = [];
  for (let i = 0; i < 3; i++) seen.push(...(await statuses()));
  assert.deepEqual(seen, [200, 304, 304], "one full answer, then the server's own tag matches");
  await p.close();
});

// F5: a 200 whose copy the replica refuses (reported once, endpoint "pull") still stores
// etag:<id> = { tag: the NEW server tag, local: the OLD held copy's tag } (js/pull.js
// revalidate: `rows` is built from whatever copy is held after applyKnown), so every later
// revalidation sends the new tag with the old copy held: 304, and the change never arrives.
test("a 200 whose copy the replica refuses keeps no server tag: the next revalidations still bring the change (review of rep9, F5)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  net.blockStream = true;
  net.quietFeed = true;
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await run(p, async (cat, direct) => (await direct.create({ name: `Public ${Date.now()}`, workflow_type: "plain", is_public: true })).id);
  assert.equal(await run(p, async (cat, direct, id) => (await cat.get(id)).description, t), "");
  await sleep(500);
  let mangle = false;
  await p.route(`${serverUrl}/v1/templates/${t}`, async (route) => {
    if (!mangle || route.request().method() !== "GET") return route.fallback();
    const resp = await route.fetch();
    if (resp.status() !== 200) return route.fulfill({ response: resp });
    // One answer the replica cannot take (a field this version does not know; any refused apply does it).
    return route.fulfill({ response: resp, body: JSON.stringify({ ...(await resp.json()), zzz_unknown: 1 }) });
  });
  await patchAs(serverUrl, users[1], t, { description: "changed on the server" });
  mangle = true;
  await run(p, async (cat, direct, id) => (await cat.get(id)).id, t);
  for (let i = 0; i < 40 && !(await run(p, async () => window.events.some((e) => e.kind === "rejected"))); i++) await sleep(50);
  assert.ok(await run(p, async () => window.events.some((e) => e.kind === "rejected")), "the refused copy was reported");
  mangle = false;
  net.statuses.length = 0;
  let seen = "";
  for (let i = 0; i < 4 && seen !== "changed on the server"; i++) {
    seen = await run(p, async (cat, direct, id) => (await cat.get(id)).description, t);
    await sleep(400);
  }
  const gets = net.statuses.filter(([m, path]) => m === "GET" && path === `/v1/templates/${t}`).map(([, , s]) => s);
  assert.equal(seen, "changed on the server", `the held copy stays old: revalidations answered ${JSON.stringify(gets)}`);
  await p.close();
});
