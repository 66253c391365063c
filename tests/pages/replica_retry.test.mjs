// The offline replica's engine when some queued writes keep failing for a time (issue 15: writes
// are retried on a timer with backoff; other clients' changes reach `subscribe` within a second
// or two): a write the server answers 5xx, 429 or "id ahead of the clock" stays queued, and the
// writes of other records, the live feed and the pull go on meanwhile (docs/replica.md
// "Offline open, tokens, retries").
//
//   node --test tests/pages/replica_retry.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-retry", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const coded = (code, message) => JSON.stringify({ error: { code, message, details: null } });

test("queued writes the server keeps refusing for a time (503, 429, an id ahead of its clock) stay queued while other writes go, the live feed delivers and sync() pulls", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const [t1, t2] = await run(p, async (cat) => {
    const a = await cat.create({ name: `Failing ${Date.now()}`, workflow_type: "plain" });
    const b = await cat.create({ name: `Passing ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return [a.id, b.id];
  });
  // One write endpoint of one record is in trouble on the server; the others answer.
  net.answer = (r) => {
    const url = new URL(r.url());
    if (r.method() === "PATCH" && url.pathname === `/v1/templates/${t1}`) return { status: 503, body: coded("STORAGE_UNAVAILABLE", "busy") };
    if (r.method() === "PUT" && url.pathname === `/v1/templates/${t1}/rating`) return { status: 429, body: coded("RATE_LIMITED", "slow down") };
    if (r.method() === "POST" && url.pathname === "/v1/templates" && (r.postData() ?? "").includes("Future ")) {
      return { status: 400, body: coded("INVALID_ARGUMENT", "id: its time part is 6 minutes ahead of the clock") };
    }
    return null;
  };
  const first = await run(p, async (cat, direct, [t1, t2]) => {
    await cat.update(t1, { description: "held back by the server" });
    await cat.rate(t1, 4);
    await cat.create({ name: `Future ${Date.now()}`, workflow_type: "plain" });
    await cat.update(t2, { description: "goes through" });
    const s = await cat.sync().then(() => "resolved", (e) => e.code);
    return { s, state: cat.syncState().state, pending: (await cat.pending()).map((x) => x.endpoint).sort(), server: (await direct.get(t2)).description, rejected: window.events.filter((e) => e.kind === "rejected").length };
  }, [t1, t2]);
  // The first failure is the rejection, after the rest of the outbox went (a 503 the client
  // retried a few times itself ends as NETWORK, the server having answered: state "online").
  assert.deepEqual(first, { s: "NETWORK", state: "online", pending: ["create", "rate", "update"], server: "goes through", rejected: 0 });

  // Another device of the user creates a template: the live feed brings it while the writes
  // above keep failing (and the retry timer keeps trying them).
  const live = await run(p, async (cat, direct) => (await direct.create({ name: `Elsewhere ${Date.now()}`, workflow_type: "plain" })).id);
  let heard = false;
  for (let i = 0; i < 40 && !heard; i++) {
    await sleep(125);
    heard = await run(p, (cat, direct, id) => window.events.some((e) => e.id === id && e.external === true), live);
  }
  assert.ok(heard, "the live feed delivered another client's template while a queued write keeps failing");

  // sync() pulls before it rejects: another device's edit is in the replica when it settles.
  const pulled = await run(p, async (cat, direct, t2) => {
    await direct.update(t2, { description: "edited elsewhere" });
    const s = await cat.sync().then(() => "resolved", (e) => e.code);
    const local = (await cat.get(t2)).description; // answered from the replica
    return { s, local, pending: (await cat.pending()).length };
  }, t2);
  assert.deepEqual(pulled, { s: "NETWORK", local: "edited elsewhere", pending: 3 });

  // The server recovers: everything queued goes, in order, nothing rejected.
  net.answer = null;
  const after = await run(p, async (cat, direct, t1) => {
    await cat.sync();
    return { pending: (await cat.pending()).length, server: (await direct.get(t1)).description, rejected: window.events.filter((e) => e.kind === "rejected").length };
  }, t1);
  assert.deepEqual(after, { pending: 0, server: "held back by the server", rejected: 0 });
  await p.close();
});
