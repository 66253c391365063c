// Hostile option objects for TemplateCatalog.open. Kept in a file of its own (node --test runs
// each file in its own process) because a failure here surfaces as an exception escaping from a
// microtask of the wasm instance, which would otherwise be charged to unrelated tests.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as wt from "../../pkg/node.mjs"; // the Node entry: loads the wasm by itself


const { TemplateCatalog } = wt;
const CODES = new Set(wt.errorCodes());

/** Runs `call` and reports how it ended: a synchronous throw, a settlement of the Promise it
 * returned, or none within `ms`; exceptions that escape to the process meanwhile are collected. */
async function outcome(call, ms = 1000) {
  const escaped = [];
  const onUncaught = (e) => escaped.push(e);
  process.on("uncaughtException", onUncaught);
  try {
    let p;
    try {
      p = call();
    } catch (e) {
      return { sync: e, escaped };
    }
    const timer = new Promise((resolve) => setTimeout(() => resolve({ pending: true }), ms));
    const settled = await Promise.race([p.then((value) => ({ value }), (error) => ({ error })), timer]);
    await new Promise((r) => setTimeout(r, 20)); // let stray microtasks and ticks run
    return { ...settled, escaped };
  } finally {
    process.off("uncaughtException", onUncaught);
  }
}

function assertRejectedWith(o, code, what) {
  assert.equal(o.sync, undefined, `${what}: threw synchronously: ${o.sync}`);
  assert.deepEqual(o.escaped.map(String), [], `${what}: exceptions escaped to the process`);
  assert.ok(!o.pending, `${what}: the Promise never settled`);
  assert.ok("error" in o, `${what}: resolved`);
  assert.ok(o.error instanceof Error, `${what}: rejection is not an Error`);
  assert.ok(CODES.has(o.error.code), `${what}: code ${o.error.code}`);
  assert.equal(o.error.code, code, `${what}: ${o.error.message}`);
}

test("options read through throwing getters reject with INVALID_ARGUMENT", async () => {
  const boom = () => {
    throw new Error("getter says no");
  };
  assertRejectedWith(await outcome(() => TemplateCatalog.open({ get userId() { return boom(); } })), "INVALID_ARGUMENT", "userId getter");
  // A storage getter that throws reads as "not given" (the default, memory): accepted either way,
  // as long as nothing throws synchronously or escapes.
  const o = await outcome(() => TemplateCatalog.open({ userId: wt.newId(), get storage() { return boom(); } }));
  assert.equal(o.sync, undefined);
  assert.deepEqual(o.escaped, []);
  assert.ok(!o.pending);
  assert.ok("value" in o ? o.value instanceof TemplateCatalog : CODES.has(o.error.code), "storage getter");
  assertRejectedWith(await outcome(() => TemplateCatalog.open(new Proxy({ userId: wt.newId() }, { get: boom }))), "INVALID_ARGUMENT", "Proxy get trap");
});

test("a Proxy whose ownKeys trap throws rejects with INVALID_ARGUMENT (no escaped exception, no hang)", async () => {
  // store.rs `open` lists the option keys with js_sys::Object::keys, which is not a `catch`
  // import: the trap's exception unwinds through wasm inside a future_to_promise task.
  const proxy = new Proxy({}, { ownKeys() { throw new Error("ownKeys says no"); } });
  assertRejectedWith(await outcome(() => TemplateCatalog.open(proxy)), "INVALID_ARGUMENT", "ownKeys trap");
  // the instance still works afterwards
  const cat = await TemplateCatalog.open({ userId: wt.newId(), storage: "memory" });
  const t = await cat.create({ name: "After the trap", workflow_type: "plain" });
  assert.deepEqual(await cat.get(t.id), t);
});

test("a revoked Proxy as options rejects with a coded error", async () => {
  const r = Proxy.revocable({}, {});
  r.revoke();
  const o = await outcome(() => TemplateCatalog.open(r.proxy));
  assert.equal(o.sync, undefined, `threw synchronously: ${o.sync}`);
  assert.deepEqual(o.escaped.map(String), []);
  assert.ok(!o.pending, "never settled");
  assert.ok("error" in o && o.error instanceof Error && CODES.has(o.error.code), `not a coded rejection: ${o.error}`);
});

test("hostile option values reject with INVALID_ARGUMENT", async () => {
  const user = wt.newId();
  for (const [what, opts] of [
    ["BigInt userId", { userId: 1n }],
    ["Symbol userId", { userId: Symbol("u") }],
    ["object userId", { userId: { toString: () => user } }],
    ["lone surrogate userId", { userId: "\uD800" }],
    ["a function", () => ({ userId: user })],
    ["an array", [user]],
  ]) {
    assertRejectedWith(await outcome(() => TemplateCatalog.open(opts)), "INVALID_ARGUMENT", what);
  }
});

test("storagePersisted / requestPersistentStorage resolve false (never reject) where navigator.storage is missing", async () => {
  assert.equal(globalThis.navigator?.storage, undefined, "Node has no StorageManager");
  assert.equal(await TemplateCatalog.storagePersisted(), false);
  assert.equal(await TemplateCatalog.requestPersistentStorage(), false);
});

test("replica where there is no IndexedDB (Node): STORAGE_UNAVAILABLE, before any request (tests/node/replica.test.mjs has the rest)", async () => {
  const { createServer } = await import("node:http");
  const seen = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const baseUrl = `http://127.0.0.1:${server.address().port}`;
    const e = await TemplateCatalog.open({ userId: wt.newId(), storage: "remote", baseUrl, token: "t", replica: true }).then(
      () => assert.fail("opened"), (e) => e);
    assert.equal(e.code, "STORAGE_UNAVAILABLE");
    assert.deepEqual(seen, []);
  } finally {
    server.close();
  }
});

test("ids that are not ULIDs ('.', '..', '%2e', '', other text) are INVALID_ARGUMENT alike on remote and memory, and the remote sends nothing", async () => {
  const { createServer } = await import("node:http");
  const user = wt.newId();
  const seen = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(req.url === "/v1/me" ? 200 : 418, { "content-type": "application/json" });
    res.end(JSON.stringify(req.url === "/v1/me" ? { user_id: user } : { error: { code: "TEAPOT", message: "reached the server" } }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const remote = await TemplateCatalog.open({ userId: user, storage: "remote", baseUrl: `http://127.0.0.1:${server.address().port}`, token: "t" });
    const local = await TemplateCatalog.open({ userId: user, storage: "memory" });
    seen.length = 0;
    for (const bad of [".", "..", "%2e", "%2E%2e", "", "x", "01ARZ3NDEKTSV4RRFFQ69G5FA", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAV/.."]) {
      for (const [name, call] of [
        ["setLabel", (c) => c.setLabel(bad, "rating")], ["removeLabel", (c) => c.removeLabel(bad, "rating")],
        ["get", (c) => c.get(bad)], ["delete", (c) => c.delete(bad)], ["rate", (c) => c.rate(bad, 3)],
        ["labels", (c) => c.labels(bad)], ["getSpec", (c) => c.getSpec(bad)], ["deleteSpec", (c) => c.deleteSpec(bad)],
        ["chain", (c) => c.chain(bad)], ["diff", (c) => c.diff(bad, bad)],
      ]) {
        for (const [where, c] of [["remote", remote], ["memory", local]]) {
          const e = await call(c).then(() => null, (e) => e);
          assert.equal(e?.code, "INVALID_ARGUMENT", `${where} ${name}(${JSON.stringify(bad)}): ${e?.code} ${e?.message}`);
        }
      }
    }
    assert.deepEqual(seen, [], "no request reached the server");
  } finally {
    server.close();
  }
});

test("remote subscribe: a CURSOR_AHEAD refusal is one storage/resync event and the feed goes on; another 4xx is one storage/error event", async () => {
  const { createServer } = await import("node:http");
  const user = wt.newId();
  const X = wt.newId();
  let streamAnswer = "ahead";
  const streams = new Set();
  const json = (res, status, v) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/v1/me") return json(res, 200, { user_id: user });
    if (url.pathname === "/v1/changes") return json(res, 200, { changes: [], cursor: "3", more: false });
    if (url.pathname === "/v1/changes/stream") {
      if (streamAnswer === "ahead") {
        streamAnswer = "ok";
        return json(res, 400, { error: { code: "INVALID_ARGUMENT", message: "ahead", details: { reason: "CURSOR_AHEAD", head: "3" } } });
      }
      if (streamAnswer === "forbidden") return json(res, 403, { error: { code: "FORBIDDEN", message: "no" } });
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`id: 4\nevent: change\ndata: ${JSON.stringify({ cursor: "4", kind: "template", op: "put", id: X, at: "2026-01-01T00:00:00Z" })}\n\n`);
      streams.add(res);
      return;
    }
    json(res, 404, { error: { code: "NOT_FOUND", message: "no" } });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const c = await TemplateCatalog.open({ userId: user, storage: "remote", baseUrl: `http://127.0.0.1:${server.address().port}`, token: "t" });
    const got = [];
    c.subscribe((e) => got.push(e));
    const wait = async (n) => {
      for (let i = 0; got.length < n; i++) {
        assert.ok(i < 300, `events so far: ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await wait(2);
    assert.deepEqual(got.slice(0, 2), [
      { kind: "storage", op: "resync", id: null, external: true },
      { kind: "template", op: "update", id: X, external: true },
    ]);
    streamAnswer = "forbidden";
    for (const s of streams) s.destroy();
    await wait(3);
    assert.deepEqual(got[2], { kind: "storage", op: "error", id: null, external: true });
    c.close();
  } finally {
    server.close();
  }
});
