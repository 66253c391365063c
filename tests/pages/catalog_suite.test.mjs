// One catalog-level suite of behaviours, run in a real headless Chromium page against every
// storage a JS app can pick: IndexedDB, localStorage, memory, a JS adapter object, and the
// remote adapter talking to the reference server (server/, SQLite) started here on 127.0.0.1.
// Record-level conformance of the local adapters is tests/conformance (Rust, three engines);
// this suite is what the remote adapter is held to, beside the others, through the public API.
//
//   node --test tests/pages/catalog_suite.test.mjs   (after scripts/build.sh; the server binary
//   comes from WT_SERVER_BIN or target/debug/workflow-templates-server)

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { pageSuite } from "./harness.mjs";

let base, browser, serverUrl, users;
pageSuite("wt-suite", (s) => ({ base, browser, serverUrl, users } = s), { served: ["/pkg/", "/tests/pages/", "/examples/"], users: 2 });

let counter = 0;
/** Two open-option objects (two users) on one shared store of `kind`. */
function optionsFor(kind) {
  const dbName = `wt-suite-${Date.now()}-${counter++}`;
  const u = ["01J0SV1TE000000000000000A1", "01J0SV1TE000000000000000B2"];
  switch (kind) {
    case "remote":
      return users.map((x) => ({ userId: x.user_id, storage: "remote", baseUrl: serverUrl, token: x.token }));
    case "adapter":
      return u.map((userId) => ({ userId, storage: "shared-adapter", dbName }));
    default:
      return u.map((userId) => ({ userId, storage: kind, dbName }));
  }
}

/** Runs `f(cats, wt)` in a fresh page with one catalog per option object. */
async function inPage(opts, f) {
  const p = await browser.newPage();
  await p.goto(`${base}/tests/pages/fixture.html`);
  await p.waitForFunction(() => window.ready === true);
  try {
    return await p.evaluate(async ({ opts, src }) => {
      const { MapAdapter } = await import("/examples/map-adapter.js");
      const shared = new MapAdapter();
      const cats = [];
      for (const o of opts) cats.push(await window.wt.TemplateCatalog.open(o.storage === "shared-adapter" ? { userId: o.userId, storage: shared } : o));
      const code = async (promise) => {
        try {
          await promise;
          return "resolved";
        } catch (e) {
          return e instanceof Error ? e.code : `not an Error: ${e}`;
        }
      };
      return await new Function("cats", "wt", "code", `return (${src})(cats, wt, code);`)(cats, window.wt, code);
    }, { opts, src: f.toString() });
  } finally {
    await p.close();
  }
}

const KINDS = ["indexeddb", "local", "memory", "adapter", "remote"];

for (const kind of KINDS) {
  describe(`catalog over ${kind}`, () => {
    test("CRUD, versions, and a stale ifMatch is CONFLICT with nothing written", async () => {
      const r = await inPage(optionsFor(kind), async ([a], wt, code) => {
        const name = `Suite ${wt.newId()}`;
        const t = await a.create({ name, workflow_type: "plain", default_params: { temperature: 0.5 } });
        const got = await a.get(t.id);
        const u = await a.update(t.id, { description: "edited" }, { ifMatch: t.updated_at });
        const stale = await code(a.update(t.id, { description: "stale" }, { ifMatch: t.updated_at }));
        const staleVersion = await code(a.newVersion(t.id, {}, "x", { ifMatch: t.updated_at }));
        const v2 = await a.newVersion(t.id, { default_params: { temperature: 0.1 } }, "colder", { ifMatch: u.updated_at });
        const versions = (await a.versions(t.id)).map((v) => [v.version, v.is_latest]);
        const diff = (await a.diff(t.id, v2.id)).map((c) => c.path);
        const dup = await code(a.create({ name: name.toUpperCase(), workflow_type: "plain" }));
        const missing = await code(a.get(wt.newId()));
        const hashOk = got.config_hash === wt.configHash(got);
        return { storage: a.storage, same: got.id === t.id, desc: (await a.get(t.id)).description, stale, staleVersion, versions, diff, dup, missing, hashOk };
      });
      assert.equal(r.storage, kind === "adapter" ? "adapter" : kind);
      assert.deepEqual(r, { ...r, same: true, desc: "edited", stale: "CONFLICT", staleVersion: "CONFLICT", dup: "NAME_TAKEN", missing: "NOT_FOUND", hashOk: true });
      assert.deepEqual(r.versions, [[2, true], [1, false]]);
      assert.ok(r.diff.some((p) => p.includes("temperature")), JSON.stringify(r.diff));
    });

    test("discovery filters, pages and orders; popular by category", async () => {
      const r = await inPage(optionsFor(kind), async ([a], wt) => {
        const tag = `t${wt.newId().slice(-8).toLowerCase()}`;
        for (let i = 0; i < 7; i++) {
          const t = await a.create({ name: `Page ${tag} ${i}`, workflow_type: "plain", category: "programming", is_public: true, tags: [tag] });
          for (let k = 0; k < i % 3; k++) await a.recordUsage(t.id, { success: true, responseTimeMs: 5 });
        }
        const byName = [];
        for (const offset of [0, 3, 6]) byName.push(...(await a.discover({ tags: [tag], sort: "name", limit: 3, offset })).items.map((t) => t.name));
        const popular = (await a.discover({ tags: [tag], sort: "popular", limit: 7 })).items.map((t) => t.usage_count);
        const total = (await a.discover({ tags: [tag], limit: 1 })).total;
        const text = (await a.discover({ text: `PAGE ${tag.toUpperCase()} 3`, includeBuiltin: false })).total;
        const byCat = await a.popularByCategory(3);
        return { byName, popular, total, text, programming: byCat.programming.length };
      });
      assert.deepEqual(r.byName, Array.from({ length: 7 }, (_, i) => r.byName[0].replace(/ 0$/, ` ${i}`)));
      assert.deepEqual(r.popular, [...r.popular].sort((x, y) => y - x));
      assert.equal(r.popular[0], 2);
      assert.equal(r.total, 7);
      assert.equal(r.text, 1);
      assert.ok(r.programming >= 1 && r.programming <= 3);
    });

    test("concurrent usage loses no increment; ratings of two users average", async () => {
      const r = await inPage(optionsFor(kind), async ([a, other], wt) => {
        // Two memory catalogs never share a store: there both writers are one catalog.
        const b = a.storage === "memory" ? a : other;
        const t = await a.create({ name: `Busy ${wt.newId()}`, workflow_type: "plain", is_public: true });
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).recordUsage(t.id, { success: i % 4 !== 0, responseTimeMs: 10, tokens: 2 })));
        await Promise.all([a.rate(t.id, 5), b.rate(t.id, 3)]);
        const g = await a.get(t.id);
        return { usage: g.usage_count, tokens: g.total_tokens_used, rating: g.rating, ratings: g.rating_count };
      });
      assert.deepEqual({ usage: r.usage, tokens: r.tokens }, { usage: 20, tokens: 40 });
      if (kind !== "memory") assert.deepEqual({ rating: r.rating, ratings: r.ratings }, { rating: 4, ratings: 2 });
    });

    test("access control between two users; subscribe hears this catalog's writes", async () => {
      const r = await inPage(optionsFor(kind), async ([a, b], wt, code) => {
        const events = [];
        // Every event, external ones too: on storage "remote" the change feed must not deliver
        // this catalog's own writes again (tests/e2e/feed.test.mjs forces the races).
        const off = a.subscribe((e) => events.push(`${e.kind}:${e.op}${e.external ? ":external" : ""}`));
        const secret = await a.create({ name: `Secret ${wt.newId()}`, workflow_type: "plain", is_public: false });
        const open = await a.create({ name: `Open ${wt.newId()}`, workflow_type: "plain", is_public: true });
        off();
        await a.update(open.id, { description: "after unsubscribe" });
        return {
          events,
          bSecret: await code(b.get(secret.id)),
          bOpen: (await b.get(open.id).catch((e) => ({ name: e.code }))).name === open.name,
          bEdit: await code(b.update(open.id, { description: "not mine" })),
          bDelete: await code(b.delete(open.id)),
          builtin: await code(a.update("00000000000000000000000001", { description: "x" })),
          bad: await code(a.create({ name: "", workflow_type: "plain" })),
        };
      });
      assert.deepEqual(r.events, ["template:create", "template:create"]);
      assert.equal(r.builtin, "BUILTIN_READ_ONLY");
      assert.equal(r.bad, "VALIDATION_FAILED");
      if (kind === "memory") return;
      assert.deepEqual({ bSecret: r.bSecret, bOpen: r.bOpen, bEdit: r.bEdit, bDelete: r.bDelete }, { bSecret: "NOT_FOUND", bOpen: true, bEdit: "FORBIDDEN", bDelete: "FORBIDDEN" });
    });

    test("boundary problems (a lone surrogate key, a BigInt) are VALIDATION_FAILED beside the other rules; nothing is written", async () => {
      const r = await inPage(optionsFor(kind), async ([a], wt) => {
        const t = await a.create({ name: `Edge ${wt.newId()}`, workflow_type: "plain" });
        const spec = await a.createSpec({ name: `Edge spec ${wt.newId()}`, workflow_type: "plain" });
        const before = await a.exportAll();
        delete before.exported_at;
        const extra = { ["k\uD800"]: 1, n: 10n };
        const bad = { name: "", workflow_type: "agent", extra_metadata: extra };
        const found = async (promise) => {
          try {
            await promise;
            return "resolved";
          } catch (e) {
            return e.code === "VALIDATION_FAILED" ? e.details.violations.map((v) => `${v.field} ${v.code}`).sort() : e.code;
          }
        };
        const i = before.workflow_templates.findIndex((x) => x.id === t.id);
        const bundle = { ...before, workflow_templates: before.workflow_templates.map((x) => (x.id === t.id ? { ...x, name: "", extra_metadata: extra } : x)) };
        const out = {
          create: await found(a.create(bad)),
          update: await found(a.update(t.id, bad)),
          newVersion: await found(a.newVersion(t.id, { workflow_type: "agent", extra_metadata: extra })),
          createSpec: await found(a.createSpec(bad)),
          updateSpec: await found(a.updateSpec(spec.id, bad)),
          instantiateSpec: await found(a.instantiateSpec(spec.id, bad)),
          importAll: await found(a.importAll(bundle)),
        };
        const after = await a.exportAll();
        delete after.exported_at;
        return { out, i, same: JSON.stringify(after) === JSON.stringify(before) };
      });
      const at = (p) => [`${p}extra_metadata["k\\ud800"] LONE_SURROGATE`, `${p}extra_metadata.n TYPE`];
      const all = [...at(""), "name TOO_SHORT", "workflow_type INVALID_ENUM"].sort();
      assert.deepEqual(r.out, {
        create: all,
        update: all,
        newVersion: [...at(""), "workflow_type INVALID_ENUM"].sort(),
        createSpec: all,
        updateSpec: all,
        instantiateSpec: all,
        importAll: [...at(`workflow_templates[${r.i}].`), `workflow_templates[${r.i}].name TOO_SHORT`].sort(),
      });
      assert.equal(r.same, true, "nothing may be written");
    });

    test("preview of an unsaved draft equals resolve once saved", async () => {
      const r = await inPage(optionsFor(kind), async ([a], wt, code) => {
        const base = await a.create({ name: `PB ${wt.newId()}`, workflow_type: "plain", default_params: { m: { x: 1, y: 2 } } });
        const d = { name: `PC ${wt.newId()}`, workflow_type: "plain", base_template_id: base.id, default_params: { m: { y: 3 } } };
        const p = await a.preview(d);
        const saved = await a.create(d);
        const r = await a.resolve(saved.id);
        return {
          same: p.resolved_hash === r.resolved_hash && JSON.stringify(p.effective) === JSON.stringify(r.effective),
          cycle: await code(a.preview({ base_template_id: saved.id }, base.id)),
        };
      });
      assert.deepEqual(r, { same: true, cycle: "INHERITANCE_CYCLE" });
    });

    test("registry: labels with ifMatch, HAS_LABELS, versions with labels, fetch by name, rollback", async () => {
      const r = await inPage(optionsFor(kind), async ([a, b], wt, code) => {
        const name = `Registry ${wt.newId()}`;
        const events = [];
        // This catalog's own events only: on remote the change feed may also report a moved
        // label's old version (external), depending on when its stream delivers.
        const off = a.subscribe((e) => { if (!e.external) events.push(`${e.kind}:${e.op}`); });
        const v1 = await a.create({ name, workflow_type: "plain", is_public: true, default_params: { v: 1 } });
        const v2 = await a.newVersion(v1.id, { default_params: { v: 2 } }, "second");
        const l = await a.setLabel(v1.id, "production");
        const moved = await a.setLabel(v2.id, "production", { ifMatch: l.updated_at });
        const stale = await code(a.setLabel(v1.id, "production", { ifMatch: l.updated_at }));
        const badName = await code(a.setLabel(v1.id, "../x"));
        const held = await code(a.delete(v2.id));
        const labelled = (await a.versions(v1.id, { withLabels: true })).map((v) => [v.record.version, v.labels]);
        const plain = (await a.versions(v1.id)).map((v) => v.version);
        const byLabel = (await a.getByName(name.toLowerCase(), { label: "production" })).id === v2.id;
        const byVersion = (await a.getByName(name, { version: 1, owner: a.userId })).id === v1.id;
        const resolved = (await a.resolveByName(name, { label: "production" })).effective.default_params;
        const staleRestore = await code(a.restoreVersion(v1.id, { ifMatch: v1.updated_at }));
        const restored = await a.restoreVersion(v1.id, { ifMatch: v2.updated_at });
        // Two memory catalogs never share a store: there is no other user to ask.
        const shared = a.storage !== "memory";
        const othersSee = shared ? (await b.labels(v1.id)).map((x) => x.label) : null;
        const othersSet = shared ? await code(b.setLabel(v1.id, "mine")) : null;
        const removed = await a.removeLabel(v2.id, "production", { ifMatch: moved.updated_at });
        const gone = await code(a.removeLabel(v2.id, "production"));
        off();
        return {
          label: [l.label, l.template_id === v1.id, l.version],
          moved: moved.template_id === v2.id,
          stale, badName, held, labelled, plain, byLabel, byVersion, resolved, staleRestore,
          restored: [restored.version, restored.config_hash === v1.config_hash, restored.changelog === `Restored version 1 (${v1.id})`],
          othersSee, othersSet, removed: removed === undefined, gone,
          labelEvents: events.filter((e) => e.startsWith("label:")).length,
        };
      });
      assert.deepEqual(r, {
        ...r,
        label: ["production", true, 1], moved: true, stale: "CONFLICT", badName: "INVALID_ARGUMENT", held: "HAS_LABELS",
        labelled: [[2, ["production"]], [1, []]], plain: [2, 1], byLabel: true, byVersion: true, resolved: { v: 2 },
        staleRestore: "CONFLICT", restored: [3, true, true], removed: true, gone: "NOT_FOUND",
      });
      assert.equal(r.labelEvents, 3, "set, move, remove (a failed write emits nothing)");
      if (kind !== "memory") assert.deepEqual({ othersSee: r.othersSee, othersSet: r.othersSet }, { othersSee: ["production"], othersSet: "FORBIDDEN" });
    });

    test("specs, instantiate, export and an all-or-nothing import", async () => {
      const r = await inPage(optionsFor(kind), async ([a], wt, code) => {
        const base = await a.create({ name: `Base ${wt.newId()}`, workflow_type: "plain" });
        const spec = await a.createSpec({ name: `Spec ${wt.newId()}`, workflow_type: "plain", base_template_name: base.name });
        const made = await a.instantiateSpec(spec.id, { name: `Made ${wt.newId()}` });
        const bundle = await a.exportAll();
        const broken = structuredClone(bundle);
        broken.workflow_templates[0].config_hash = "0".repeat(64);
        return {
          parent: made.base_template_id === base.id,
          specUsage: (await a.getSpec(spec.id)).usage_count,
          listed: (await a.listSpecs()).some((s) => s.id === spec.id),
          exported: bundle.workflow_templates.length >= 2,
          brokenImport: await code(a.importAll(broken)),
        };
      });
      assert.deepEqual(r, { parent: true, specUsage: 1, listed: true, exported: true, brokenImport: r.brokenImport });
      assert.ok(["VALIDATION_FAILED", "INTEGRITY", "NAME_TAKEN", "CONFLICT"].includes(r.brokenImport), r.brokenImport);
    });
  });
}
