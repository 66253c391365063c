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

test("a queued write the server keeps refusing for a time (503, 429, an id ahead of its clock) stays queued and every later write waits behind it, while the live feed delivers and sync() pulls", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 0);
  const [t1, t2, t3] = await run(p, async (cat) => {
    const a = await cat.create({ name: `Failing ${Date.now()}`, workflow_type: "plain" });
    const b = await cat.create({ name: `Waiting ${Date.now()}`, workflow_type: "plain" });
    const c = await cat.create({ name: `Edited elsewhere ${Date.now()}`, workflow_type: "plain" });
    await cat.sync();
    return [a.id, b.id, c.id];
  });
  // The server is in trouble with one write at a time: the update of t1 (503), then the rating
  // (429), then a create whose id is ahead of its clock; everything else answers.
  let trouble = "update";
  net.answer = (r) => {
    const url = new URL(r.url());
    if (trouble === "update" && r.method() === "PATCH" && url.pathname === `/v1/templates/${t1}`) return { status: 503, body: coded("STORAGE_UNAVAILABLE", "busy") };
    if ((trouble === "update" || trouble === "rating") && r.method() === "PUT" && url.pathname === `/v1/templates/${t1}/rating`) return { status: 429, body: coded("RATE_LIMITED", "slow down") };
    if (trouble !== "none" && r.method() === "POST" && url.pathname === "/v1/templates" && (r.postData() ?? "").includes("Future ")) {
      return { status: 400, body: coded("INVALID_ARGUMENT", "id: its time part is 6 minutes ahead of the clock") };
    }
    return null;
  };
  const first = await run(p, async (cat, direct, [t1, t2]) => {
    await cat.update(t1, { description: "held back by the server" });
    await cat.rate(t1, 4);
    const base = await cat.create({ name: `Future ${Date.now()}`, workflow_type: "plain" });
    // Derived from a create that is held: sent before it, the server would refuse it.
    const child = await cat.create({ name: `Child ${Date.now()}`, workflow_type: "plain", base_template_id: base.id });
    await cat.update(t2, { description: "waits its turn" });
    const s = await cat.sync().then(() => "resolved", (e) => e.code);
    return { s, state: cat.syncState().state, pending: (await cat.pending()).map((x) => x.endpoint), server: (await direct.get(t2)).description, rejected: window.events.filter((e) => e.kind === "rejected").length, ids: [base.id, child.id] };
  }, [t1, t2]);
  // The first failure is the rejection (a 503 the client retried a few times itself ends as
  // NETWORK, the server having answered: state "online"); nothing after it was sent.
  const [future, child] = first.ids;
  // ("syncing" when feed news that came during the sync started the next one at once.)
  assert.ok(["online", "syncing"].includes(first.state), `the server answered: not offline (${first.state})`);
  assert.deepEqual({ ...first, state: undefined, ids: undefined }, { s: "NETWORK", state: undefined, pending: ["update", "rate", "create", "create", "update"], server: "", rejected: 0, ids: undefined });
  // Another device of the user creates a template: the live feed brings it while the write
  // above keeps failing (and the retry timer keeps trying it).
  const live = await run(p, async (cat, direct) => (await direct.create({ name: `Elsewhere ${Date.now()}`, workflow_type: "plain" })).id);
  let heard = false;
  for (let i = 0; i < 40 && !heard; i++) {
    await sleep(125);
    heard = await run(p, (cat, direct, id) => window.events.some((e) => e.id === id && e.external === true), live);
  }
  assert.ok(heard, "the live feed delivered another client's template while a queued write keeps failing");
  // sync() pulls before it rejects: another device's edit of a record with nothing queued is
  // in the replica when it settles.
  const pulled = await run(p, async (cat, direct, t3) => {
    await direct.update(t3, { description: "edited elsewhere" });
    const s = await cat.sync().then(() => "resolved", (e) => e.code);
    return { s, local: (await cat.get(t3)).description, pending: (await cat.pending()).length };
  }, t3);
  assert.deepEqual(pulled, { s: "NETWORK", local: "edited elsewhere", pending: 5 });
  // The update goes; the rating is now refused for a time (429): it and what follows wait.
  trouble = "rating";
  const second = await run(p, async (cat) => ({ s: await cat.sync().then(() => "resolved", (e) => e.code), pending: (await cat.pending()).map((x) => x.endpoint) }));
  // (a 429 the client retried itself also ends as NETWORK, like the 503)
  assert.deepEqual(second, { s: "NETWORK", pending: ["rate", "create", "create", "update"] });
  // The rating goes; the create ahead of the clock is held, the derived one waits behind it.
  trouble = "clock";
  const third = await run(p, async (cat) => ({ s: await cat.sync().then(() => "resolved", (e) => e.code), pending: (await cat.pending()).map((x) => x.endpoint) }));
  assert.deepEqual(third, { s: "INVALID_ARGUMENT", pending: ["create", "create", "update"] });
  // The server recovers: everything queued goes, in order, nothing rejected.
  trouble = "none";
  const after = await run(p, async (cat, direct, [t1, t2, future, child]) => {
    await cat.sync();
    return {
      pending: (await cat.pending()).length,
      server: [(await direct.get(t1)).description, (await direct.get(t2)).description, (await direct.get(child)).base_template_id],
      held: (await direct.get(future)).id,
      rejected: window.events.filter((e) => e.kind === "rejected").length,
    };
  }, [t1, t2, future, child]);
  assert.deepEqual(after, { pending: 0, server: ["held back by the server", "waits its turn", future], held: future, rejected: 0 });
  await p.close();
});
