// What every page suite starts: a static server for the built package and the test pages on
// 127.0.0.1, the reference server (SQLite in a temporary directory) with its users, and a
// headless Chromium with a profile of its own. Each returns a `close` that undoes it.

import assert from "node:assert/strict";
import http from "node:http";
import { spawn, execFileSync } from "node:child_process";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
export const SERVER_BIN = process.env.WT_SERVER_BIN || path.join(ROOT, "target/debug/workflow-templates-server");

/** Serves the files under `served` (path prefixes of the repository); `{ url, close }`. */
export async function servePages(served = ["/pkg/", "/tests/pages/"]) {
  const pages = http.createServer(async (req, res) => {
    const p = path.normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!served.some((s) => p.startsWith(s))) return res.writeHead(404).end();
    try {
      res.writeHead(200, { "content-type": TYPES[path.extname(p)] || "application/octet-stream" }).end(await readFile(path.join(ROOT, p)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => pages.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${pages.address().port}`, close: () => pages.close() };
}

/** The reference server on a fresh SQLite database, answering CORS for `origin`, with `n`
 * users (`{ user_id, token }`): `{ url, users, close }`. */
export async function startServer(origin, n = 2, prefix = "wt-pages-srv-") {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  assert.ok(existsSync(SERVER_BIN), `the server binary ${SERVER_BIN} is missing: cargo build -p workflow-templates-server`);
  const db = `sqlite://${dir}/remote.db`;
  const users = Array.from({ length: n }, () => JSON.parse(execFileSync(SERVER_BIN, ["user", "create", "--db", db], { encoding: "utf8" }).trim().split("\n").pop()));
  const server = spawn(SERVER_BIN, ["serve", "--db", db, "--port", "0", "--cors-origin", origin], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) resolve(m[1]);
    });
    server.on("exit", (c) => reject(new Error(`the server exited with ${c}: ${out}`)));
  });
  return { url, users, close: async () => { server.kill("SIGTERM"); await rm(dir, { recursive: true, force: true }); } };
}

/** Headless Chromium (Debian's, or $CHROMIUM) with a fresh profile: `{ browser, close }`. */
export async function launchChromium(prefix = "wt-pages-") {
  const profile = await mkdtemp(path.join(tmpdir(), prefix));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--no-first-run", "--disable-sync", "--disable-quic"],
  });
  return { browser, close: async () => { await browser.close(); await rm(profile, { recursive: true, force: true }); } };
}

/** Registers the `before`/`after` hooks of a page suite: the static server (`served`, as
 * `servePages`), Chromium and, with `users` > 0, the reference server with that many users;
 * `set` receives `{ base, browser, serverUrl, users }` once they run; `after` undoes them all. */
export function pageSuite(prefix, set, { served, users = 0 } = {}) {
  let pages, chrome, server;
  before(async () => {
    pages = await servePages(served);
    if (users) server = await startServer(pages.url, users, `${prefix}-srv-`);
    chrome = await launchChromium(`${prefix}-profile-`);
    set({ base: pages.url, browser: chrome.browser, serverUrl: server?.url, users: server?.users });
  });
  after(async () => {
    await chrome?.close();
    await server?.close();
    pages?.close();
  });
}
