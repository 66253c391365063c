// Page-level storage tests in a real headless Chromium (npm playwright-core driving Debian's
// /usr/bin/chromium): the package loaded by a page served from 127.0.0.1, as apps load it.
// Data survives a reload and a closed-and-reopened page; two pages see each other's changes;
// a stale edit in one page gets CONFLICT; a Worker uses the catalog; the localStorage quota
// case keeps what was stored before.
//
//   node --test tests/pages/          (after scripts/build.sh)

import { test } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";

let base, browser;
pageSuite("wt-pages", (s) => ({ base, browser } = s));

async function page() {
  const p = await browser.newPage();
  p.on("pageerror", (e) => console.error("page error:", e));
  await p.goto(`${base}/tests/pages/fixture.html`);
  await p.waitForFunction(() => window.ready === true);
  return p;
}

const USER = "01J0PAGE000000000000000001";
let dbCounter = 0;
const freshDb = () => `wt-pages-${Date.now()}-${dbCounter++}`;

/** Runs `f(wt, cat, arg)` in the page against a catalog opened with `options`. */
function inCatalog(p, options, f, arg) {
  return p.evaluate(
    async ({ options, src, arg }) => {
      const cat = await window.wt.TemplateCatalog.open(options);
      try {
        return await new Function("wt", "cat", "arg", `return (${src})(wt, cat, arg);`)(window.wt, cat, arg);
      } catch (e) {
        return { error: e.code || String(e), message: e.message };
      } finally {
        cat.close();
      }
    },
    { options, src: f.toString(), arg },
  );
}

test("IndexedDB is the default and data survives a reload and a closed-and-reopened page", async () => {
  const dbName = freshDb();
  const p = await page();
  const made = await inCatalog(p, { userId: USER, dbName }, async (wt, cat) => {
    const t = await cat.create({ name: "Survivor", workflow_type: "plain", default_params: { temperature: 0.3 } });
    const v2 = await cat.newVersion(t.id, { description: "second" }, "more");
    await cat.recordUsage(v2.id, { success: true, responseTimeMs: 9 });
    return { storage: cat.storage, id: t.id, v2: v2.id };
  });
  assert.equal(made.storage, "indexeddb");
  await p.reload();
  await p.waitForFunction(() => window.ready === true);
  const afterReload = await inCatalog(p, { userId: USER, dbName }, async (wt, cat, ids) => {
    const v = await cat.versions(ids.id);
    return { versions: v.map((x) => x.version), usage: (await cat.get(ids.v2)).usage_count };
  }, made);
  assert.deepEqual(afterReload, { versions: [2, 1], usage: 1 });
  await p.close();
  const q = await page();
  const reopened = await inCatalog(q, { userId: USER, dbName }, async (wt, cat, ids) => (await cat.get(ids.v2)).description, made);
  assert.equal(reopened, "second");
  await q.close();
});

test("two pages see each other's changes, and a stale edit gets CONFLICT", async () => {
  const dbName = freshDb();
  const a = await page();
  const b = await page();
  // Page B listens.
  await b.evaluate(async ({ USER, dbName }) => {
    window.cat = await window.wt.TemplateCatalog.open({ userId: USER, dbName });
    window.cat.subscribe((e) => window.events.push(e));
  }, { USER, dbName });
  const t = await inCatalog(a, { userId: USER, dbName }, async (wt, cat) => cat.create({ name: "Shared", workflow_type: "plain" }));
  await b.waitForFunction((id) => window.events.some((e) => e.id === id && e.op === "create"), t.id, { timeout: 5000 });
  const event = await b.evaluate((id) => window.events.find((e) => e.id === id), t.id);
  assert.deepEqual(event, { kind: "template", op: "create", id: t.id, external: true });
  // B reads it, A edits, B's edit from the stale copy is refused.
  const seenByB = await b.evaluate((id) => window.cat.get(id), t.id);
  await inCatalog(a, { userId: USER, dbName }, async (wt, cat, t) => cat.update(t.id, { description: "A first" }, { ifMatch: t.updated_at }), t);
  const stale = await b.evaluate(async (t) => {
    try {
      await window.cat.update(t.id, { description: "B stale" }, { ifMatch: t.updated_at });
      return "saved";
    } catch (e) {
      return e.code;
    }
  }, seenByB);
  assert.equal(stale, "CONFLICT");
  assert.equal(await b.evaluate((id) => window.cat.get(id).then((x) => x.description), t.id), "A first");
  // Usage from both pages at once loses nothing.
  await Promise.all([
    inCatalog(a, { userId: USER, dbName }, async (wt, cat, id) => { for (let i = 0; i < 10; i++) await cat.recordUsage(id, { success: true, responseTimeMs: 1 }); }, t.id),
    b.evaluate(async (id) => { await Promise.all(Array.from({ length: 10 }, () => window.cat.recordUsage(id, { success: true, responseTimeMs: 1 }))); }, t.id),
  ]);
  assert.equal(await b.evaluate((id) => window.cat.get(id).then((x) => x.usage_count), t.id), 20);
  await a.close();
  await b.close();
});

test("a dedicated Worker uses the catalog on the same IndexedDB database", async () => {
  const dbName = freshDb();
  const p = await page();
  const seed = await inCatalog(p, { userId: USER, dbName }, async (wt, cat) => cat.create({ name: "From the page", workflow_type: "plain" }));
  const reply = await p.evaluate(({ USER, dbName, seenId }) => new Promise((resolve) => {
    const w = new Worker("/tests/pages/worker.js", { type: "module" });
    w.onmessage = (m) => resolve(m.data);
    w.onerror = (e) => resolve({ ok: false, message: e.message });
    w.postMessage({ userId: USER, dbName, name: "From the worker", seenId });
  }), { USER, dbName, seenId: seed.id });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.equal(reply.storage, "indexeddb");
  assert.equal(reply.seen, "From the page");
  const back = await inCatalog(p, { userId: USER, dbName }, async (wt, cat, id) => (await cat.get(id)).name, reply.id);
  assert.equal(back, "From the worker");
  await p.close();
});

/** Opens a localStorage catalog over `stored` (text put under its key first): the open's error code (or "opened") and whether the text was left as it was. */
async function openLocalOver(stored) {
  const dbName = freshDb();
  const p = await page();
  const r = await p.evaluate(async ({ USER, dbName, stored }) => {
    localStorage.setItem(`workflow-templates:${dbName}`, stored);
    let code;
    try {
      await window.wt.TemplateCatalog.open({ userId: USER, dbName, storage: "local" });
      code = "opened";
    } catch (e) {
      code = e.code;
    }
    return { code, kept: localStorage.getItem(`workflow-templates:${dbName}`) === stored };
  }, { USER, dbName, stored });
  await p.close();
  return r;
}

test("localStorage holding something unreadable under our key: INTEGRITY, and it is not overwritten", async () => {
  assert.deepEqual(await openLocalOver("{not json"), { code: "INTEGRITY", kept: true });
});

test("localStorage: a write past the quota fails with STORAGE_QUOTA and earlier data stays readable", async () => {
  const dbName = freshDb();
  const p = await page();
  const early = await inCatalog(p, { userId: USER, dbName, storage: "local" }, async (wt, cat) => cat.create({ name: "Early", workflow_type: "plain" }));
  // Fill the origin's localStorage to the brim with other data.
  const filled = await p.evaluate(() => {
    const chunk = "x".repeat(64 * 1024);
    let i = 0;
    for (let size = chunk.length; size >= 16; size = Math.floor(size / 2)) {
      try {
        for (;;) localStorage.setItem(`filler-${i++}`, chunk.slice(0, size));
      } catch {
        // full at this chunk size; try smaller ones
      }
    }
    return i;
  });
  assert.ok(filled > 10, "the filler wrote something");
  const refused = await inCatalog(p, { userId: USER, dbName, storage: "local" }, async (wt, cat) => {
    return cat.create({ name: "Too big", workflow_type: "plain", default_params: { blob: "y".repeat(100000) } });
  });
  assert.equal(refused.error, "STORAGE_QUOTA", JSON.stringify(refused));
  await p.reload();
  await p.waitForFunction(() => window.ready === true);
  const still = await inCatalog(p, { userId: USER, dbName, storage: "local" }, async (wt, cat, id) => {
    const page = await cat.discover({ includeBuiltin: false });
    return { early: (await cat.get(id)).name, names: page.items.map((t) => t.name) };
  }, early.id);
  assert.deepEqual(still, { early: "Early", names: ["Early"] });
  await p.evaluate(() => localStorage.clear());
  await p.close();
});

test("IndexedDB rows of the wrong shape (each way a stored row can be wrong): INTEGRITY on reading that row, the others still read", async () => {
  const dbName = freshDb();
  const p = await page();
  const ids = await inCatalog(p, { userId: USER, dbName }, async (wt, cat) => {
    const a = await cat.create({ name: "Shape A", workflow_type: "plain", tags: ["t"] });
    const b = await cat.create({ name: "Shape B", workflow_type: "plain" });
    return { a: a.id, b: b.id };
  });
  const out = await p.evaluate(async ({ USER, dbName, ids }) => {
    const done = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const withDb = async (f) => {
      const db = await done(indexedDB.open(dbName));
      try {
        return await f(db);
      } finally {
        db.close();
      }
    };
    const store = (db, mode) => db.transaction("workflow_templates", mode).objectStore("workflow_templates");
    const original = await withDb((db) => done(store(db, "readonly").get(ids.a)));
    const put = (row) => withDb((db) => done(store(db, "readwrite").put(row)));
    const shapes = {
      "version 1.5": (r) => { r.record.version = 1.5; },
      "usage_count negative": (r) => { r.record.usage_count = -1; },
      "name a number": (r) => { r.record.name = 7; },
      "tags holding a number": (r) => { r.record.tags = ["t", 1]; },
      "default_params an array": (r) => { r.record.default_params = []; },
      "is_public a string": (r) => { r.record.is_public = "yes"; },
      "config_hash missing": (r) => { delete r.record.config_hash; },
      "an unknown member": (r) => { r.record.secret = "x"; },
      "workflow_type as a one-key object": (r) => { r.record.workflow_type = { plain: null }; },
      "rev a string": (r) => { r.rev = "1"; },
    };
    const results = {};
    for (const [what, mutate] of Object.entries(shapes)) {
      const row = structuredClone(original);
      mutate(row);
      await put(row);
      const cat = await window.wt.TemplateCatalog.open({ userId: USER, dbName });
      try {
        results[what] = [await cat.get(ids.a).then(() => "read", (e) => e.code), await cat.get(ids.b).then((t) => t.name, (e) => e.code)];
      } finally {
        cat.close();
      }
    }
    await put(original);
    const cat = await window.wt.TemplateCatalog.open({ userId: USER, dbName });
    try {
      results.restored = (await cat.get(ids.a)).name;
    } finally {
      cat.close();
    }
    return results;
  }, { USER, dbName, ids });
  const restored = out.restored;
  delete out.restored;
  assert.equal(Object.keys(out).length, 10);
  for (const [what, r] of Object.entries(out)) assert.deepEqual(r, ["INTEGRITY", "Shape B"], what);
  assert.equal(restored, "Shape A");
  await p.close();
});

test("localStorage holding a catalog with a record of the wrong shape: INTEGRITY, and it is not overwritten", async () => {
  const stored = JSON.stringify({ format: 1, stamp: "s", data: { templates: [{ rev: 1, record: { id: 5 } }], specs: [], ratings: [], builtin_stats: [] } });
  assert.deepEqual(await openLocalOver(stored), { code: "INTEGRITY", kept: true });
});
