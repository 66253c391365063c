// `npm start` and the demo server when the port is taken: a clear message that names PORT,
// before the setup and the build run (not a bare EADDRINUSE after them).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { root } from "./harness.mjs";

let busy, busyPort;
before(async () => {
  busy = createServer();
  await new Promise((r) => busy.listen(0, "127.0.0.1", r));
  busyPort = busy.address().port;
});
after(() => new Promise((r) => busy.close(r)));

/** Runs a command to its end: { code, out, ms }. Its own process group, so a timeout stops
 * whatever it started too (a broken check would let `npm start` go on to the build). */
function run(cmd, args, env) {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { out += d; });
    const timer = setTimeout(() => { process.kill(-child.pid, "SIGTERM"); reject(new Error(`${cmd} ${args.join(" ")} did not stop: ${out}`)); }, 30_000);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, out, ms: Date.now() - start }); });
  });
}

test("npm start with the port in use stops before setup and build, and says how to pick another (PORT)", async () => {
  const r = await run("npm", ["start", "--silent"], { PORT: String(busyPort) });
  assert.notEqual(r.code, 0);
  assert.match(r.out, new RegExp(`port ${busyPort} on 127\\.0\\.0\\.1 is already in use`));
  assert.match(r.out, new RegExp(`PORT=${busyPort + 1} npm start`));
  assert.doesNotMatch(r.out, /build:|setup:/, "neither setup nor the build ran");
  assert.doesNotMatch(r.out, /^Error: listen EADDRINUSE/m, "no bare stack trace");
});

test("check-port: a free port passes, PORT=0 passes, a non-number is refused in words", async () => {
  const free = createServer();
  await new Promise((r) => free.listen(0, "127.0.0.1", r));
  const port = free.address().port;
  await new Promise((r) => free.close(r));
  const script = join(root, "scripts", "check-port.mjs");
  assert.equal((await run(process.execPath, [script], { PORT: String(port) })).code, 0);
  assert.equal((await run(process.execPath, [script], { PORT: "0" })).code, 0);
  for (const bad of ["80a", "70000", "-1", "eighty"]) {
    const r = await run(process.execPath, [script], { PORT: bad });
    assert.equal(r.code, 1, bad);
    assert.match(r.out, /is not a port number/, bad);
  }
});

test("serve.mjs on a port in use explains itself too (the port can be taken between check and listen)", async () => {
  const r = await run(process.execPath, [join(root, "scripts", "serve.mjs")], { PORT: String(busyPort) });
  assert.equal(r.code, 1);
  assert.match(r.out, /serve: port \d+ on 127\.0\.0\.1 is already in use.*PORT=\d+ npm start/);
});
