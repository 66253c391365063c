// Shared setup of the replica's end-to-end tests (issue 15): the reference server process on a
// SQLite file (restartable on its port), its users and tokens, and browser contexts whose way to
// the server goes through one route that the test can close ("offline": every new request to
// the server's origin is aborted as a lost connection; the page's own origin stays reachable, so
// pages reload) and that counts the requests each page makes. Not a test file itself.
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { before, after, afterEach } from "node:test";
import { root, startServer, startBrowser } from "./harness.mjs";

export const BIN = process.env.WT_SERVER_BIN || join(root, "target/debug/workflow-templates-server");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The reference server on a fresh SQLite file, serving pages from `origin` (CORS). */
export class Server {
  async start(origin, names = ["Alice", "Bob"]) {
    assert.ok(existsSync(BIN), `${BIN} is missing: cargo build -p workflow-templates-server`);
    this.origin = origin;
    this.dir = await mkdtemp(join(tmpdir(), "wt-e2e-replica-"));
    this.file = `${this.dir}/replica.db`;
    this.db = `sqlite://${this.file}`;
    this.users = names.map((name) => {
      const u = JSON.parse(execFileSync(BIN, ["user", "create", "--db", this.db, "--name", name], { encoding: "utf8" }).trim().split("\n").pop());
      return { name, user_id: u.user_id, token: u.token };
    });
    await this.#serve(0);
    return this;
  }

  #serve(port) {
    const child = spawn(BIN, ["serve", "--db", this.db, "--port", String(port), "--cors-origin", this.origin, "--log", "warn"],
      { stdio: ["ignore", "pipe", "inherit"] });
    this.child = child;
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
        if (m) { this.url = m[1]; resolve(); }
      });
      child.on("exit", (c) => reject(new Error(`server exited ${c}: ${out}`)));
    });
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); });
  }

  /** Stops and starts again on the same port: open change streams end (a route cannot cut them). */
  restart() {
    return this.#withStopped(async () => {});
  }

  /** Copies the database aside (server stopped meanwhile): `restoreBackup()` puts it back. */
  async backup() {
    await this.#withStopped(async () => {
      for (const f of await this.#files()) await copyFile(join(this.dir, f), join(this.dir, `backup-${f}`));
    });
  }

  /** Puts the database of `backup()` back (a restored server: its change feed is behind its clients' cursors). */
  async restoreBackup() {
    await this.#withStopped(async () => {
      for (const f of await this.#files()) await rm(join(this.dir, f), { force: true });
      for (const f of (await readdir(this.dir)).filter((x) => x.startsWith("backup-"))) await copyFile(join(this.dir, f), join(this.dir, f.slice("backup-".length)));
    });
  }

  async #files() {
    return (await readdir(this.dir)).filter((f) => f.startsWith("replica.db"));
  }

  async #withStopped(f) {
    const port = Number(new URL(this.url).port);
    await this.stop();
    await f();
    for (let i = 0; ; i++) {
      try {
        await this.#serve(port);
        return;
      } catch (e) {
        if (i >= 20) throw e;
        await sleep(200);
      }
    }
  }

  async close() {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** One more token for `userId` (server CLI). */
  newToken(userId) {
    return JSON.parse(execFileSync(BIN, ["token", "create", "--user", userId, "--db", this.db], { encoding: "utf8" }).trim().split("\n").pop()).token;
  }

  /** Revokes `token`: its row leaves api_tokens (there is no CLI for it; the server keeps SHA-256 of tokens). */
  revoke(token) {
    execFileSync("python3", ["-c", [
      "import sqlite3, hashlib, sys",
      "c = sqlite3.connect(sys.argv[1], timeout=30)",
      "n = c.execute('DELETE FROM api_tokens WHERE token_hash = ?', (hashlib.sha256(sys.argv[2].encode()).hexdigest(),)).rowcount",
      "c.commit()",
      "assert n == 1, n",
    ].join("\n"), this.file, token]);
  }

  /** A request as another client (Node): { status, body }. */
  async api(token, method, path, body) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, etag: res.headers.get("etag") };
  }
}

/**
 * A browser context (own storage) for one user's tabs: nothing leaves the machine, the server's
 * origin goes through `net` (offline flag, request log, answers to lose). Tabs open a path of
 * the pages server that is no file (its plain 404 page): an empty page of that origin, served
 * from loopback (a page fulfilled by a route has no address, and Chromium's local network
 * access checks then refuse its requests to the loopback server).
 */
export async function client(browser, pagesUrl, server) {
  const ctx = await browser.newContext();
  const net = { offline: false, log: [], lose: null };
  await ctx.route((u) => !u.href.startsWith(pagesUrl) && !u.href.startsWith(`${server.url}/`), (r) => r.abort());
  await ctx.route((u) => u.href.startsWith(`${server.url}/`), async (route) => {
    const req = route.request();
    if (req.method() !== "OPTIONS") {
      let page = null;
      try { page = req.frame().page(); } catch { /* a worker's request */ }
      net.log.push({ method: req.method(), url: new URL(req.url()), headers: req.headers(), page, offline: net.offline });
    }
    if (net.offline) return route.abort("internetdisconnected");
    if (req.method() !== "OPTIONS" && net.lose?.(req)) {
      // The server applies the request; its answer never reaches the page.
      await route.fetch().catch(() => {});
      return route.abort("connectionreset");
    }
    return route.continue();
  });
  return { ctx, net, pagesUrl };
}

/** Closes the way to the server (and ends open streams by restarting the server). */
export async function goOffline(net, server) {
  net.offline = true;
  await server.restart();
}

/** A tab of `c` on an empty page of the pages origin; `openIn` it for a catalog. */
export async function tab(c) {
  const page = await c.ctx.newPage();
  page.setDefaultTimeout(30_000);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  if (process.env.WT_E2E_CONSOLE) page.on("console", (m) => console.log(`[page] ${m.text()}`));
  await page.goto(`${c.pagesUrl}replica-test-page`);
  return page;
}

/**
 * Opens `window.cat` in `page` with `options`, subscribed (events in window.events); resolves
 * "opened" or the error's code.
 */
export function openIn(page, options) {
  return page.evaluate(async (o) => {
    const wt = await import("/pkg/workflow_templates.js");
    await wt.default();
    window.wt = wt;
    window.events = window.events ?? [];
    try {
      window.cat = await wt.TemplateCatalog.open(o);
    } catch (e) {
      window.openError = e;
      console.warn("open:", e?.code, e?.message);
      return e?.code ?? `not coded: ${e}`;
    }
    window.cat.subscribe((e) => window.events.push(e));
    return "opened";
  }, options);
}

/** `window.cat[method](...args)` in the page; rejects with the error's code in the message. */
export function call(page, method, ...args) {
  return page.evaluate(async ([m, a]) => {
    try {
      return await window.cat[m](...a);
    } catch (e) {
      throw new Error(`${m}: ${e?.code ?? "no code"}: ${e?.message ?? e}`);
    }
  }, [method, args]);
}

/** The code `window.cat[method](...args)` rejects with, or "resolved". */
export function code(page, method, ...args) {
  return page.evaluate(async ([m, a]) => {
    try {
      await window.cat[m](...a);
      return "resolved";
    } catch (e) {
      return e?.code ?? `not coded: ${e}`;
    }
  }, [method, args]);
}

export const events = (page) => page.evaluate(() => window.events);

/** Polls `probe()` until it returns a truthy value (then resolves with it) or `ms` pass. */
export async function until(probe, ms, what) {
  const start = Date.now();
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() - start > ms) assert.fail(`not within ${ms} ms: ${what}; last: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

/** Asks `page` to sync until its outbox is empty (a push cut by a lost answer is tried again). */
export async function synced(page, ms = 30_000) {
  await until(async () => {
    await page.evaluate(() => window.cat.sync().catch(() => null));
    return (await call(page, "pending")).length === 0;
  }, ms, "the outbox empties");
}

/**
 * The common frame of a replica e2e suite: before all, the pages server, Chromium and the
 * reference server with users `names`, then `ready(s)`; after each test, its browser contexts close (no tab of an
 * earlier test keeps a feed or a pusher running); after all, the rest. `s.newClient()` makes a
 * context (see `client`) that closes with its test.
 */
export function replicaSuite(ready, names = ["Alice", "Bob"]) {
  const s = { pages: null, browser: null, server: null, contexts: [] };
  before(async () => {
    s.pages = await startServer();
    s.browser = await startBrowser();
    s.server = await new Server().start(new URL(s.pages.url).origin, names);
    ready(s);
  });
  afterEach(async () => {
    for (const c of s.contexts.splice(0)) await c.ctx.close().catch(() => {});
  });
  after(async () => {
    await s.browser?.close();
    await s.server?.close();
    await s.pages?.stop();
  });
  s.newClient = async () => {
    const c = await client(s.browser.browser, s.pages.url, s.server);
    s.contexts.push(c);
    return c;
  };
  return s;
}

/**
 * Records, in every page of context `ctx`, the bodies of the change feed's answers as the page
 * reads them (`window.feedBodies`: the JSON of each GET /v1/changes page and the text of each
 * Server-Sent Events stream, chunk by chunk), by wrapping `fetch` before any script runs.
 */
export function recordFeed(ctx) {
  return ctx.addInitScript(() => {
    const real = window.fetch;
    window.feedBodies = [];
    window.fetch = async (input, init) => {
      const res = await real(input, init);
      const url = String(typeof input === "string" ? input : input?.url ?? "");
      if (!/\/v1\/changes(\/stream)?(\?|$)/.test(url) || !res.body) return res;
      const [mine, theirs] = res.body.tee();
      (async () => {
        const reader = mine.pipeThrough(new TextDecoderStream()).getReader();
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            window.feedBodies.push(value);
          }
        } catch {
          // the stream was cut: what came is recorded
        }
      })();
      return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
  });
}
