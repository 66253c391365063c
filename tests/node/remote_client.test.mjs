// The remote adapter's HTTP client (js/remote.js) at its own layer: the endpoint table against
// the server's contract (server/openapi.yaml), and the generic call's retry classes, headers and
// error mapping against a local HTTP server that answers what each case needs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { ENDPOINTS, remoteCall } from "../../js/remote.js";

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

test("every endpoint row names an operation of server/openapi.yaml; keyed rows are POSTs the server deduplicates", () => {
  const ops = operations();
  assert.ok(Object.keys(ops).length > 20, "openapi.yaml was read");
  for (const [name, [method, path, retry]] of Object.entries(ENDPOINTS)) {
    const op = ops[path]?.[method.toLowerCase()];
    assert.notEqual(op, undefined, `${name}: ${method} ${path} is not in openapi.yaml`);
    if (retry === "keyed") {
      assert.equal(method, "POST", name);
      assert.match(op, /IdempotencyKey/, `${name}: the server does not take an Idempotency-Key there`);
    }
    if (method === "PATCH") assert.equal(retry, "once", `${name}: a repeated PATCH would report a spurious CONFLICT`);
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

test("PATCH, removeLabel and a request with If-Match are sent once; 4 tries at most otherwise", async () => {
  for (const [name, args] of [["update", { id: "T", body: {} }], ["removeLabel", { id: "T", label: "prod" }], ["setLabel", { id: "T", label: "prod", ifMatch: "2026-01-01T00:00:00.000Z" }]]) {
    const got = await run(name, args, [[503, ""], [200, "{}"]]);
    assert.equal(got.seen.length, 1, name);
    assert.equal(got.error.code, "NETWORK", name);
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
  assert.deepEqual((await run("get", { id: "T" }, [[412, env("WHATEVER")]])).error, { code: "CONFLICT", message: "m WHATEVER", details: { x: 1 } });
  assert.deepEqual((await run("get", { id: "T" }, [[404, env("NOT_FOUND")]])).error, { code: "NOT_FOUND", message: "m NOT_FOUND", details: { x: 1 } });
  assert.equal((await run("get", { id: "T" }, [[500, "<html>"]])).error.code, "NETWORK");
  assert.equal((await run("get", { id: "T" }, [[200, "{not json"]])).error.code, "NETWORK");
  const q = await run("discover", { query: { tags: ["a b", "c"], owner: null, limit: 5 } }, [[200, "{}"]]);
  assert.equal(q.seen[0].url, "/v1/templates?tags=a%20b&tags=c&limit=5");
  const gone = await run("delete", { id: "T" }, [[204, ""]]);
  assert.equal(gone.value, null);
  assert.deepEqual(gone.events, [["template", "delete", "T"]]);
});
