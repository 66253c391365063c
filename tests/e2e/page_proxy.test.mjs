// scripts/wasm-page-proxy.mjs, the HTTP proxy every wasm-bindgen browser test page loads
// through (scripts/wasm-test-runner.sh): it forwards a browser's loopback requests, refuses the
// rest, and outlives connections the browser resets. A proxy that dies leaves every later test
// page of the run unable to load (seen in CI: a CONNECT socket reset with no error listener).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./harness.mjs";

let proxy, proxyPort, exited = null, upstream, upstreamPort, dir;

before(async () => {
  upstream = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`upstream saw ${req.method} ${req.url}`);
  });
  await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamPort = upstream.address().port;
  dir = mkdtempSync(join(tmpdir(), "wt-page-proxy-"));
  const out = join(dir, "caps.json");
  proxy = spawn(process.execPath, [join(root, "scripts/wasm-page-proxy.mjs"), join(dir, "none.json"), out], { stdio: "inherit" });
  proxy.on("exit", (code) => { exited = code; });
  for (let i = 0; !existsSync(out); i++) {
    assert.ok(i < 200 && exited === null, "the proxy wrote its capabilities");
    await new Promise((r) => setTimeout(r, 50));
  }
  const arg = JSON.parse(readFileSync(out, "utf8"))["goog:chromeOptions"].args.find((a) => a.startsWith("--proxy-server="));
  proxyPort = Number(new URL(arg.slice("--proxy-server=".length)).port);
});

after(async () => {
  proxy?.kill("SIGTERM");
  await new Promise((r) => upstream.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A request through the proxy, as a browser sends it (absolute-form URL): { status, body }. */
function viaProxy(url) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: proxyPort, path: url, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Opens a connection, sends `text`, and resets it (TCP RST) after `ms`. */
function sendAndReset(text, ms) {
  return new Promise((resolve) => {
    const s = net.connect(proxyPort, "127.0.0.1");
    s.on("error", () => {});
    s.on("close", resolve);
    s.on("connect", () => {
      s.write(text);
      setTimeout(() => s.resetAndDestroy(), ms);
    });
  });
}

test("forwards a loopback request and refuses other hosts and CONNECT", async () => {
  const ok = await viaProxy(`http://127.0.0.1:${upstreamPort}/page?x=1`);
  assert.deepEqual(ok, { status: 200, body: "upstream saw GET /page?x=1" });
  assert.equal((await viaProxy("http://example.com/")).status, 403);
  const connect = await new Promise((resolve) => {
    const s = net.connect(proxyPort, "127.0.0.1", () => s.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
    let got = "";
    s.on("data", (d) => { got += d; });
    s.on("close", () => resolve(got));
  });
  assert.match(connect, /^HTTP\/1\.1 405 /);
});

test("connections the browser resets (CONNECT, a request half sent) do not end the proxy", async () => {
  const resets = [];
  for (let i = 0; i < 10; i++) {
    resets.push(sendAndReset("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", i % 2 ? 0 : 5));
    resets.push(sendAndReset(`POST http://127.0.0.1:${upstreamPort}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\npartial`, i % 2 ? 0 : 5));
  }
  await Promise.all(resets);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(exited, null, "the proxy is still running");
  const ok = await viaProxy(`http://127.0.0.1:${upstreamPort}/after`);
  assert.deepEqual(ok, { status: 200, body: "upstream saw GET /after" });
});
