// Review of branch audit15 (issue 15): faults found by the reviewer, each as a test that fails
// on the branch's code as reviewed (90f0b2a). See LEAD-FINDINGS.md of the branch. (R4, the lost
// answer's normalised fields, waits in /work/notes/s8/lost-answer.test.mjs.txt for the server's
// Idempotency-Key on PATCH: task fix15.)
//
//   node --test tests/pages/replica_review15.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";
import { replicaPage, openReplica, patchAs, run } from "./replica_page.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-replica-review15", (s) => ({ base, browser, serverUrl, users } = s), { users: 2 });

test("an update whose 412 'counts as pushed' (its fields equal the server's) does not let the next queued update of the record overwrite another device's edit without a conflict", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  // `cat`: this device's replica; `direct`: another device of the same user.
  await openReplica(p, serverUrl, users, 0, 0);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Chained ${Date.now()}`, workflow_type: "plain", description: "original" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  // Offline here: two edits of the record, the first one a rename.
  net.online = false;
  const name = `Renamed ${Date.now()}`;
  assert.equal(await run(p, async (cat, direct, a) => {
    await cat.update(a.id, { name: a.name });
    await cat.update(a.id, { description: "mine" });
    return (await cat.pending()).length;
  }, { id: t.id, name }), 2);
  // Meanwhile (this device still offline) the other device makes the same rename and also
  // changes the description: the description is a real conflict this device has never seen.
  const theirs = await patchAs(serverUrl, users[0], t.id, { name, description: "theirs" });
  assert.equal(theirs.description, "theirs", JSON.stringify(theirs));
  net.online = true;
  const s = await run(p, (cat) => cat.sync().then((r) => ({ conflicts: r.conflicts.map((c) => c.id) }), (e) => ({ error: e.code })));
  const server = await run(p, (cat, direct, id) => direct.get(id), t.id);
  // The other device's description must not be overwritten silently: the second update (made
  // on "original", not on "theirs") is a conflict, as it was before the first one's 412 was
  // counted as pushed.
  assert.equal(server.description, "theirs", `the other device's edit was overwritten without a conflict; sync: ${JSON.stringify(s)}`);
  assert.ok((s.conflicts ?? []).includes(t.id), `no conflict reported: ${JSON.stringify(s)}`);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});

test("after a 412 'counted as pushed', the app's ifMatch from its own offline write is stale when another device also changed another field (never an overwrite of the other device's edit)", async () => {
  const { p, net } = await replicaPage(browser, serverUrl, base);
  await openReplica(p, serverUrl, users, 0, 1);
  const t = await run(p, async (cat) => {
    const t = await cat.create({ name: `Alias ${Date.now()}`, workflow_type: "plain", description: "original" });
    await cat.sync();
    return t;
  });
  assert.equal(t.error, undefined, JSON.stringify(t));
  net.online = false;
  const name = `Renamed ${Date.now()}`;
  // The app renames offline and keeps the answer's updated_at for its next save (its form
  // still shows description "original").
  const mine = await run(p, (cat, direct, a) => cat.update(a.id, { name: a.name }), { id: t.id, name });
  assert.equal(mine.error, undefined, JSON.stringify(mine));
  // Another device makes the same rename and changes the description.
  await patchAs(serverUrl, users[0], t.id, { name, description: "theirs" });
  net.online = true;
  const s = await run(p, (cat) => cat.sync().then((r) => r.conflicts.length, (e) => e.code));
  // The app saves its form, made on the copy its own write returned: that copy is not the
  // server's (its description changed elsewhere), so the save must not reach the server as an
  // overwrite (CONFLICT here, or queued behind the kept conflict as before the branch).
  const saved = await run(p, (cat, direct, a) => cat.update(a.id, { description: "from the form" }, { ifMatch: a.at }).then(() => "accepted", (e) => e.code), { id: t.id, at: mine.updated_at });
  await run(p, (cat) => cat.sync().catch(() => null));
  const server = await (await fetch(`${serverUrl}/v1/templates/${t.id}`, { headers: { Authorization: `Bearer ${users[0].token}` } })).json();
  assert.equal(server.description, "theirs", `another device's edit overwritten through the alias: first sync ${JSON.stringify(s)}, save ${saved}`);
  await run(p, (cat, direct) => { cat.close(); direct.close(); });
  await p.close();
});
