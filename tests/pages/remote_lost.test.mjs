// A plain remote catalog (`storage: "remote"`, js/remote.js) whose write reached the reference
// server but whose answer was lost on the way back (issue 15: "retries resend what the server
// already applied"). Every write carries an Idempotency-Key, so its retry is answered the first
// answer (`Idempotent-Replayed: true`), with no spurious CONFLICT (a conditional write whose
// If-Match the first try moved) or NOT_FOUND (a DELETE whose record the first try removed),
// and applied once.
//
//   node --test tests/pages/remote_lost.test.mjs   (after scripts/build.sh and
//   cargo build -p workflow-templates-server; WT_SERVER_BIN overrides the binary)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-remote-lost", (s) => ({ base, browser, serverUrl, users } = s), { users: 1 });

/** A page with `window.cat` (a plain remote catalog); `net.lose = [method, path]` makes the next
 * such request reach the server and its answer be lost (the connection reset). */
async function lossyPage() {
  const p = await browser.newPage();
  p.on("pageerror", (e) => console.error("page error:", e));
  const net = { lose: null, sent: [] };
  await p.route(`${serverUrl}/**`, async (route) => {
    const r = route.request();
    const pathname = new URL(r.url()).pathname;
    if (r.method() === "OPTIONS") return route.continue();
    const lost = net.lose && net.lose[0] === r.method() && net.lose[1] === pathname;
    if (lost) net.lose = null;
    // The request goes through to the server either way; `replayed`: the server's header.
    const res = await route.fetch();
    net.sent.push({ method: r.method(), path: pathname, key: r.headers()["idempotency-key"] ?? null, ifMatch: r.headers()["if-match"] ?? null, status: res.status(), replayed: res.headers()["idempotent-replayed"] ?? null, lost });
    return lost ? route.abort("connectionreset") : route.fulfill({ response: res });
  });
  await p.goto(`${base}/tests/pages/fixture.html`);
  await p.waitForFunction(() => window.ready === true);
  const u = users[0];
  const opened = await p.evaluate(async ({ serverUrl, u }) => {
    try {
      window.cat = await window.wt.TemplateCatalog.open({ userId: u.user_id, storage: "remote", baseUrl: serverUrl, token: u.token });
      return "ok";
    } catch (e) {
      return `${e.code}: ${e.message}`;
    }
  }, { serverUrl, u });
  assert.equal(opened, "ok");
  return { p, net };
}

function run(p, f, arg) {
  return p.evaluate(async ({ src, arg }) => {
    try {
      return { value: await new Function("cat", "arg", `return (${src})(cat, arg);`)(window.cat, arg) };
    } catch (e) {
      return { error: e.code || String(e), message: e.message };
    }
  }, { src: f.toString(), arg });
}

/** Runs write `f` with its answer lost once; asserts it succeeded, was sent twice under one key
 * (and one If-Match), and that the second try was answered the stored first answer. */
async function lostOnce(p, net, method, path, f, arg) {
  net.sent = [];
  net.lose = [method, path];
  const got = await run(p, f, arg);
  assert.equal(got.error, undefined, `${method} ${path}: ${got.error}: ${got.message}`);
  const tries = net.sent.filter((s) => s.method === method && s.path === path);
  assert.equal(tries.length, 2, `${method} ${path}: sent again after the lost answer: ${JSON.stringify(net.sent)}`);
  assert.ok(tries[0].lost && !tries[1].lost);
  assert.ok(tries[0].key && tries[0].key === tries[1].key, `${method} ${path}: one Idempotency-Key: ${JSON.stringify(tries)}`);
  assert.equal(tries[1].ifMatch, tries[0].ifMatch, `${method} ${path}: the same If-Match`);
  assert.equal(tries[1].status, tries[0].status, `${method} ${path}: the first answer's status`);
  assert.equal(tries[1].replayed, "true", `${method} ${path}: the server answered its stored answer, applying nothing`);
  return got.value;
}

test("a lost answer of a PATCH with If-Match: the retry gets the first answer (no CONFLICT), applied once; the same for the other writes", async () => {
  const { p, net } = await lossyPage();
  const made = await run(p, async (cat) => {
    const v1 = await cat.create({ name: `Lost answers ${Date.now()}`, workflow_type: "plain", description: "v1" });
    const v2 = await cat.newVersion(v1.id, { description: "v2" }, "second");
    const label = await cat.setLabel(v1.id, "prod");
    const spec = await cat.createSpec({ name: `Lost spec ${Date.now()}`, workflow_type: "plain" });
    const gone = await cat.create({ name: `Lost delete ${Date.now()}`, workflow_type: "plain" });
    return { v1: v1.id, v2: v2.id, at: v2.updated_at, label: label.updated_at, spec: spec.id, specAt: spec.updated_at, gone: gone.id };
  });
  assert.equal(made.error, undefined, JSON.stringify(made));
  const { v1, v2, at, label, spec, specAt, gone } = made.value;

  // The PATCH of the issue: its If-Match is the copy it was made from, which its first try moved.
  const edited = await lostOnce(p, net, "PATCH", `/v1/templates/${v2}`, (cat, a) => cat.update(a.v2, { description: "edited once" }, { ifMatch: a.at }), { v2, at });
  assert.equal(edited.description, "edited once");
  const stored = await run(p, (cat, id) => cat.get(id), v2);
  assert.equal(stored.value.updated_at, edited.updated_at, "the server holds the first try's write, and no other");

  const moved = await lostOnce(p, net, "PUT", `/v1/templates/${v2}/labels/prod`, (cat, a) => cat.setLabel(a.v2, "prod", { ifMatch: a.label }), { v2, label });
  assert.equal(moved.version, 2);
  await lostOnce(p, net, "DELETE", `/v1/templates/${v1}/labels/prod`, (cat, a) => cat.removeLabel(a.v1, "prod", { ifMatch: a.moved }), { v1, moved: moved.updated_at });
  assert.deepEqual((await run(p, (cat, id) => cat.labels(id), v1)).value, []);

  const rated = await lostOnce(p, net, "PUT", `/v1/templates/${v2}/rating`, (cat, id) => cat.rate(id, 4), v2);
  assert.equal(rated.rating_count, 1);

  const specEdited = await lostOnce(p, net, "PATCH", `/v1/specs/${spec}`, (cat, a) => cat.updateSpec(a.spec, { description: "spec edited once" }, { ifMatch: a.specAt }), { spec, specAt });
  assert.equal(specEdited.description, "spec edited once");
  await lostOnce(p, net, "DELETE", `/v1/specs/${spec}`, (cat, id) => cat.deleteSpec(id), spec);
  await lostOnce(p, net, "DELETE", `/v1/templates/${gone}`, (cat, id) => cat.delete(id), gone);
  assert.equal((await run(p, (cat, id) => cat.get(id), gone)).error, "NOT_FOUND");
  await p.close();
});
