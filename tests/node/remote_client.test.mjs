// The remote adapter's HTTP client (js/remote.js) at its own layer: the endpoint table against
// the server's contract (server/openapi.yaml), and the generic call's retry classes, headers and
// error mapping against a local HTTP server that answers what each case needs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { ENDPOINTS, RemoteClient, remoteCall, sleep } from "../../js/remote.js";

/** openapi.yaml's operations: { "/v1/path": { get: "block text", ... } } (indentation-based). */
function operations() {
  const text = readFileSync(new URL("../../server/openapi.yaml", import.meta.url), "utf8");
  const ops = {};
  let path = null, method = null;
  for (const line of text.split("\n")) {
    let m;
    if ((m = /^  (\/v1\/\S*):\s*$/.exec(line))) { path = m[1]; ops[path] = {}; method = null; }
    else if (/^\S/.test(line)) path = null;
    else if (path && (m = /^    (get|put|post|patch|delete):\s*$/.exec(line))) { method = m[1]; ops[path][method] = ""; }
    else if (path && method && /^      /.test(line)) ops[path][method] += line + "\n";
  }
  return ops;
}

test("every endpoint row names an operation of server/openapi.yaml; every write is keyed, and keyed rows are operations the server deduplicates", () => {
  const ops = operations();
  assert.ok(Object.keys(ops).length > 20, "openapi.yaml was read");
  for (const [name, [method, path, retry, events = []]] of Object.entries(ENDPOINTS)) {
    const op = ops[path]?.[method.toLowerCase()];
    assert.notEqual(op, undefined, `${name}: ${method} ${path} is not in openapi.yaml`);
    if (retry === "keyed") assert.match(op, /IdempotencyKey/, `${name}: the server does not take an Idempotency-Key there`);
    // Issue 15: a write repeated after a lost answer (a retry, an outbox replay) must be
    // recognised by the server, else it reports a spurious CONFLICT / NOT_FOUND or applies twice.
    if (events.length > 0) assert.equal(retry, "keyed", `${name}: a write without an Idempotency-Key`);
  }
});

let server, base, script = [], seen = [];
before(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    const [status, body] = script.length ? script.shift() : [200, "{}"];
    if (status === "drop") return req.socket.destroy();
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

async function run(name, args, answers) {
  script = [...answers];
  seen = [];
  try {
    const [text, events] = await remoteCall(base, "tok", name, JSON.stringify(args));
    return { value: JSON.parse(text), events, seen };
  } catch (e) {
    return { error: JSON.parse(e), seen };
  }
}

test("repeatable requests are retried on 502-504 and dropped connections; a keyed POST keeps its Idempotency-Key", async () => {
  const got = await run("get", { id: "A/B" }, [[503, ""], ["drop"], [200, '{"id":"X"}']]);
  assert.deepEqual(got.value, { id: "X" });
  assert.equal(got.seen.length, 3);
  assert.equal(got.seen[0].url, "/v1/templates/A%2FB", "path arguments are encoded");
  assert.equal(got.seen[0].headers.authorization, "Bearer tok");
  const made = await run("create", { body: { name: "n" } }, [[502, ""], [201, '{"id":"NEW"}']]);
  assert.deepEqual(made.events, [["template", "create", "NEW"]]);
  const keys = made.seen.map((s) => s.headers["idempotency-key"]);
  assert.equal(keys.length, 2);
  assert.ok(keys[0] && keys[0] === keys[1], "one key per call, reused by its retries");
  const again = await run("create", { body: {} }, [[201, '{"id":"N2"}']]);
  assert.notEqual(again.seen[0].headers["idempotency-key"], keys[0], "a new call, a new key");
  const given = await run("create", { body: {}, idempotencyKey: "outbox-7" }, [[201, '{"id":"N3"}']]);
  assert.equal(given.seen[0].headers["idempotency-key"], "outbox-7");
});

test("PATCH, PUT and DELETE, with If-Match or not, are retried after a lost answer under one Idempotency-Key per call; 4 tries at most", async () => {
  const at = "2026-01-01T00:00:00.000Z";
  const writes = [
    ["update", { id: "T", body: {}, ifMatch: at }], ["delete", { id: "T", ifMatch: at }], ["rate", { id: "T", body: { stars: 3 } }],
    ["setLabel", { id: "T", label: "prod", ifMatch: at }], ["removeLabel", { id: "T", label: "prod", ifMatch: at }],
    ["updateSpec", { id: "S", body: {}, ifMatch: at }], ["deleteSpec", { id: "S" }],
  ];
  const keys = new Set();
  for (const [name, args] of writes) {
    const got = await run(name, args, [["drop"], [503, ""], [name.startsWith("delete") || name === "removeLabel" ? 204 : 200, name.startsWith("delete") || name === "removeLabel" ? "" : '{"id":"T"}']]);
    assert.equal(got.error, undefined, `${name}: ${JSON.stringify(got.error)}`);
    const sent = got.seen.map((s) => s.headers["idempotency-key"]);
    assert.equal(sent.length, 3, name);
    assert.ok(sent[0] && sent.every((k) => k === sent[0]), `${name}: one key, reused by the retries: ${sent}`);
    assert.ok(!keys.has(sent[0]), `${name}: a new call, a new key`);
    keys.add(sent[0]);
    if (args.ifMatch) assert.ok(got.seen.every((s) => s.headers["if-match"] === `"${at}"`), `${name}: the same If-Match on every try`);
    const given = await run(name, { ...args, idempotencyKey: "outbox-9" }, [[200, '{"id":"T"}']]);
    assert.equal(given.seen[0].headers["idempotency-key"], "outbox-9", `${name}: the caller's key (the replica's entry.key)`);
  }
  const withMatch = await run("update", { id: "T", body: {}, ifMatch: "2026-01-01T00:00:00.000Z" }, [[200, '{"id":"T"}']]);
  assert.equal(withMatch.seen[0].headers["if-match"], '"2026-01-01T00:00:00.000Z"');
  const down = await run("get", { id: "T" }, [[503, ""], [503, ""], [503, ""], [503, ""], [200, "{}"]]);
  assert.equal(down.seen.length, 4);
  assert.match(down.error.message, /503/);
});

test("answers: 401 UNAUTHORIZED and 412 CONFLICT whatever the body, else the envelope's code; queries repeat arrays and skip null", async () => {
  const env = (code) => JSON.stringify({ error: { code, message: `m ${code}`, details: { x: 1 } } });
  assert.equal((await run("get", { id: "T" }, [[401, "nope"]])).error.code, "UNAUTHORIZED");
  assert.deepEqual((await run("get", { id: "T" }, [[412, env("WHATEVER")]])).error, { code: "CONFLICT", message: "m WHATEVER", details: { x: 1 }, status: 412, envelope: false });
  assert.deepEqual((await run("get", { id: "T" }, [[404, env("NOT_FOUND")]])).error, { code: "NOT_FOUND", message: "m NOT_FOUND", details: { x: 1 }, status: 404, envelope: true });
  // A 403 / 404 without the server's error body (a proxy, a WAF): its nearest code, marked as
  // not the server's own (the replica never takes it for "gone": js/outbox.js goneOnServer).
  for (const status of [403, 404]) {
    const bare = (await run("get", { id: "T" }, [[status, "<html><h1>Forbidden</h1></html>"]])).error;
    assert.deepEqual([bare.code, bare.status, bare.envelope], [status === 403 ? "FORBIDDEN" : "NOT_FOUND", status, false]);
  }
  assert.equal((await run("get", { id: "T" }, [[500, "<html>"]])).error.code, "NETWORK");
  assert.equal((await run("get", { id: "T" }, [[200, "{not json"]])).error.code, "NETWORK");
  const q = await run("discover", { query: { tags: ["a b", "c"], owner: null, limit: 5 } }, [[200, "{}"]]);
  assert.equal(q.seen[0].url, "/v1/templates?tags=a%20b&tags=c&limit=5");
  const gone = await run("delete", { id: "T" }, [[204, ""]]);
  assert.equal(gone.value, null);
  assert.deepEqual(gone.events, [["template", "delete", "T"]]);
});

// ---- RemoteClient: the change feed against a fake feed server --------------------------------

/** A fake server: PATCH/DELETE /v1/templates/{id} add feed rows; GET /v1/changes(/stream). */
async function feedServer() {
  const f = { rows: [], streams: new Set(), reject: null, requests: [] };
  const send = (res, row) => res.write(`id: ${row.cursor}\nevent: change\ndata: ${JSON.stringify(row)}\n\n`);
  f.add = (kind, op, id) => {
    const row = { cursor: String(f.rows.length + 1), kind, op, id, at: new Date().toISOString() };
    f.rows.push(row);
    for (const s of f.streams) send(s, row);
  };
  const after = (since) => (since === "now" ? f.rows.length : Number(since ?? 0));
  f.server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    f.requests.push(`${req.method} ${url.pathname}`);
    const m = /^\/v1\/templates\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === "PATCH") {
      f.add("template", "put", m[1]);
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: m[1] }));
    }
    if (url.pathname.startsWith("/v1/changes") && f.reject) {
      const [status, body] = f.reject;
      return res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    }
    if (url.pathname === "/v1/changes") {
      const n = after(url.searchParams.get("since"));
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ changes: f.rows.slice(n), cursor: String(f.rows.length), more: false }));
    }
    if (url.pathname === "/v1/changes/stream") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": hello\n\n");
      for (const row of f.rows.slice(after(req.headers["last-event-id"] ?? url.searchParams.get("since")))) send(res, row);
      f.streams.add(res);
      req.on("close", () => f.streams.delete(res));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => f.server.listen(0, "127.0.0.1", r));
  f.base = `http://127.0.0.1:${f.server.address().port}`;
  f.close = () => { for (const s of f.streams) s.destroy(); f.server.close(); };
  return f;
}

const until = async (what, ok, ms = 3000) => {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
};

test("feed: a write made with no feed running leaves no echo that swallows another client's change", async (t) => {
  const f = await feedServer();
  t.after(f.close);
  const X = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  const c = new RemoteClient(f.base, "tok");
  await c.call("update", JSON.stringify({ id: X, body: {} })); // no subscriber: no feed
  const got = [];
  c.startFeed((...e) => got.push(e));
  await until("the stream", () => f.streams.size === 1);
  f.add("template", "put", X); // another client edits X
  await until("the change", () => got.length === 1);
  assert.deepEqual(got, [["template", "update", X]]);
  c.stopFeed();
});

test("feed: an echo left when the feed stops does not swallow a change after it starts again", async (t) => {
  const f = await feedServer();
  t.after(f.close);
  const X = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  const c = new RemoteClient(f.base, "tok");
  const got = [];
  c.startFeed((...e) => got.push(e));
  await until("the stream", () => f.streams.size === 1);
  // The feed stops while this client's write is in flight: its echo never comes through it.
  const write = c.call("update", JSON.stringify({ id: X, body: {} }));
  c.stopFeed();
  await write;
  c.startFeed((...e) => got.push(e));
  await until("the new stream", () => f.streams.size === 1);
  f.add("template", "put", X);
  await until("the change", () => got.length === 1);
  assert.deepEqual(got, [["template", "update", X]]);
  // While the feed runs with a cursor, this client's own write is not delivered again.
  await c.call("update", JSON.stringify({ id: X, body: {} }));
  f.add("spec", "put", X);
  await until("the spec change", () => got.length === 2);
  assert.deepEqual(got[1], ["spec", "update", X], "the own write's echo was dropped, the next change delivered");
  c.stopFeed();
});

test("feed: CURSOR_AHEAD restarts from the head and tells subscribers once; another 4xx ends the feed with an error event", async (t) => {
  const f = await feedServer();
  t.after(f.close);
  const X = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  const c = new RemoteClient(f.base, "tok");
  const got = [];
  c.startFeed((...e) => got.push(e));
  await until("the stream", () => f.streams.size === 1);
  // The server's database is restored: every cursor past its head is refused until the
  // client starts again from `since=now`.
  f.reject = [400, { error: { code: "INVALID_ARGUMENT", message: "cursor ahead", details: { reason: "CURSOR_AHEAD", head: "0" } } }];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (url, init) => {
    if (String(url).includes("since=now")) f.reject = null; // the head is always readable
    return realFetch(url, init);
  };
  t.after(() => { globalThis.fetch = realFetch; });
  for (const s of f.streams) s.destroy(); // the stream drops; the reconnect is refused
  await until("the resync event", () => got.length === 1, 5000);
  assert.deepEqual(got[0], ["storage", "resync", undefined]);
  await until("the stream again", () => f.streams.size === 1, 5000);
  f.add("template", "put", X);
  await until("the change", () => got.length === 2);
  assert.deepEqual(got[1], ["template", "update", X]);
  // Another refusal: the feed ends, subscribers hear "error" once, and no request loops.
  f.reject = [403, { error: { code: "FORBIDDEN", message: "no" } }];
  globalThis.fetch = realFetch;
  for (const s of f.streams) s.destroy();
  await until("the error event", () => got.length === 3, 5000);
  assert.deepEqual(got[2], ["storage", "error", undefined]);
  const asked = f.requests.length;
  await sleep(1500);
  assert.equal(f.requests.length, asked, "a refused feed is not retried");
  assert.equal(c.feed, null);
});

test("feed: 429 (too many streams for this user) is retried with backoff, not the end of the feed", async (t) => {
  const f = await feedServer();
  t.after(f.close);
  const X = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  const c = new RemoteClient(f.base, "tok");
  const got = [];
  c.startFeed((...e) => got.push(e));
  await until("the stream", () => f.streams.size === 1);
  f.reject = [429, { error: { code: "INVALID_ARGUMENT", message: "too many streams", details: { reason: "TOO_MANY_STREAMS", limit: 8 } } }];
  for (const s of f.streams) s.destroy();
  const refused = f.requests.length;
  await until("a refused reconnect", () => f.requests.length > refused, 5000);
  f.reject = null; // another tab closed its stream
  await until("the stream again", () => f.streams.size === 1, 8000);
  f.add("template", "put", X);
  await until("the change", () => got.length === 1);
  assert.deepEqual(got, [["template", "update", X]], "no error event: the feed went on");
  c.stopFeed();
});

test("a retried DELETE whose first answer was lost reports success, not NOT_FOUND; a first-attempt 404 is still NOT_FOUND", async () => {
  const nf = JSON.stringify({ error: { code: "NOT_FOUND", message: "template T not found" } });
  for (const name of ["delete", "deleteSpec"]) {
    const got = await run(name, { id: "T" }, [["drop"], [404, nf]]);
    assert.equal(got.seen.length, 2, name);
    assert.equal(got.error, undefined, `${name}: ${JSON.stringify(got.error)}`);
    assert.equal(got.value, null);
    assert.equal((await run(name, { id: "T" }, [[404, nf]])).error.code, "NOT_FOUND", name);
  }
  assert.equal((await run("get", { id: "T" }, [["drop"], [404, nf]])).error.code, "NOT_FOUND", "only DELETE");
});

test("a path argument that is not one segment (\"\", \".\", \"..\", \"%2e\" forms) is refused before any request", async () => {
  for (const bad of ["", ".", "..", "%2e", "%2E%2e", ".%2e"]) {
    for (const [name, args] of [["get", { id: bad }], ["setLabel", { id: "T", label: bad }], ["setLabel", { id: bad, label: "rating" }]]) {
      const got = await run(name, args, [[200, "{}"]]);
      assert.equal(got.error?.code, "INVALID_ARGUMENT", `${name} ${JSON.stringify(args)}`);
      assert.equal(got.seen.length, 0, `${name} ${JSON.stringify(args)}: nothing sent`);
    }
  }
  const ok = await run("get", { id: "a.b" }, [[200, "{}"]]);
  assert.equal(ok.seen[0].url, "/v1/templates/a.b");
});
