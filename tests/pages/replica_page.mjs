// The page-side helpers of the replica suites (tests/pages/replica_server.test.mjs,
// tests/pages/replica_pull.test.mjs): a page whose requests to the reference server go through
// a switch (`net.online`, fake answers, a held GET), a replica opened in it, and a function run
// in it with `cat` and `direct` (a plain remote catalog of another device).

import assert from "node:assert/strict";

let n = 0;

/** A page with `net.online` deciding whether requests to the server get through. */
export async function replicaPage(browser, serverUrl, base) {
  const p = await browser.newPage();
  p.on("pageerror", (e) => console.error("page error:", e));
  // `hold`: the next GET of that template waits for `release()` (`held` is called when it comes).
  // `stall`: requests wait until `unstall()`. `seen`: [method, path, If-None-Match] of each
  // request; `statuses`: [method, path, status, If-None-Match] of each answer.
  const net = { online: true, writes: [], hold: null, held: null, release: null, blockStream: false, quietFeed: false, stall: null, seen: [], statuses: [] };
  net.unstall = () => { const s = net.stall; net.stall = null; s?.open(); };
  net.stallNow = () => { let open; const gate = new Promise((r) => { open = r; }); net.stall = { gate, open }; };
  p.on("response", (res) => {
    if (res.url().startsWith(serverUrl)) net.statuses.push([res.request().method(), new URL(res.url()).pathname, res.status(), res.request().headers()["if-none-match"] ?? null]);
  });
  await p.route(`${serverUrl}/**`, async (route) => {
    const r = route.request();
    const pathname = new URL(r.url()).pathname;
    net.seen.push([r.method(), pathname, r.headers()["if-none-match"] ?? null]);
    if (net.stall) await net.stall.gate;
    if (!net.online) return route.abort("internetdisconnected");
    // `blockStream`: the live stream fails (no news pushed); `quietFeed`: the pull's pages of
    // /v1/changes say nothing changed (the cursor it sent, unmoved).
    if (net.blockStream && pathname === "/v1/changes/stream") return route.abort("internetdisconnected");
    const since = new URL(r.url()).searchParams.get("since");
    if (net.quietFeed && pathname === "/v1/changes" && since && since !== "now") {
      return route.fulfill({ status: 200, headers: { "access-control-allow-origin": base, "content-type": "application/json" }, body: JSON.stringify({ changes: [], cursor: since, more: false }) });
    }
    const fake = net.answer?.(r);
    if (fake) return route.fulfill({ status: fake.status, headers: { "access-control-allow-origin": base, "content-type": fake.type ?? "application/json", ...(fake.headers ?? {}) }, body: fake.body });
    if (net.hold && r.method() === "GET" && new URL(r.url()).pathname === `/v1/templates/${net.hold}`) {
      net.hold = null;
      const gate = new Promise((res) => { net.release = res; });
      net.held?.();
      return gate.then(() => route.continue());
    }
    if (r.method() !== "GET" && r.method() !== "OPTIONS") net.writes.push(`${r.method()} ${new URL(r.url()).pathname}`);
    return route.continue();
  });
  await p.goto(`${base}/tests/pages/fixture.html`);
  await p.waitForFunction(() => window.ready === true);
  return { p, net };
}

/**
 * A request to the server at `serverUrl` as `u` from outside the page (JSON `body`, If-Match
 * `ifMatch` when given); asserts a 2xx; its JSON body, null for a 204.
 */
export async function api(serverUrl, u, method, path, body, ifMatch) {
  const headers = { Authorization: `Bearer ${u.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch) headers["If-Match"] = `"${ifMatch}"`;
  const res = await fetch(`${serverUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(res.status < 300, `${method} ${path} answered ${res.status}: ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
}

/** GET then PATCH (If-Match) of template `id` on the server as `user`, from outside the page. */
export async function patchAs(serverUrl, user, id, body) {
  const auth = { Authorization: `Bearer ${user.token}` };
  const cur = await (await fetch(`${serverUrl}/v1/templates/${id}`, { headers: auth })).json();
  const res = await fetch(`${serverUrl}/v1/templates/${id}`, {
    method: "PATCH", headers: { ...auth, "Content-Type": "application/json", "If-Match": `"${cur.updated_at}"` }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** Opens, in the page, `window.cat` (user `u`'s replica) and `window.direct` (a plain remote catalog of user `d`, another device). */
export async function openReplica(p, serverUrl, users, u = 0, d = u) {
  const dbName = `wt-replica-srv-${Date.now()}-${n++}`;
  const r = await p.evaluate(async ({ serverUrl, a, b, dbName }) => {
    try {
      window.cat = await window.wt.TemplateCatalog.open({ userId: a.user_id, storage: "remote", baseUrl: serverUrl, token: a.token, replica: { dbName } });
      window.direct = await window.wt.TemplateCatalog.open({ userId: b.user_id, storage: "remote", baseUrl: serverUrl, token: b.token });
      window.events = [];
      window.cat.subscribe((e) => window.events.push(e));
      return "ok";
    } catch (e) {
      return `${e.code}: ${e.message}`;
    }
  }, { serverUrl, a: users[u], b: users[d], dbName });
  assert.equal(r, "ok");
  return dbName;
}

export function run(p, f, arg) {
  return p.evaluate(async ({ src, arg }) => {
    try {
      return await new Function("cat", "direct", "arg", `return (${src})(cat, direct, arg);`)(window.cat, window.direct, arg);
    } catch (e) {
      return { error: e.code || String(e), message: e.message };
    }
  }, { src: f.toString(), arg });
}
