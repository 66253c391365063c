// Speed of two builds of the package side by side in Node (issue 12: a size lever is kept only
// if it is not slower; BENCHMARKS.md "Size: what each change bought"). Each argument is a
// directory written by scripts/size-profile.sh (`target/size/<name>`): its `plain/m.js` glue
// (wasm-bindgen `--target web`) is loaded with the optimised `shipped.wasm` through `initSync`.
// The builds run interleaved (A, B, A, B, ...) in one process; each prints the median of its
// rounds per task and B's median / A's median.
//
//   node scripts/size-speed.mjs target/size/full-base target/size/full-talc [rounds]
//
// Tasks (a core build runs the first six only):
//   validateMany   the JSON text of 5,000 complete records (bench/data.js), { complete: true }
//   resolveRecords a 16-level chain (leaf first), 500 times
//   configHash     of 5,000 records' configurations; of one holding 10,000 non-integer numbers, x 20
//   canonicalJson  of 5,000 records' configurations; of the one holding 10,000 numbers, x 20
//   import 1,000   a memory catalog opened, importAll of 1,000 records (a quarter deriving), closed
//   get x 1,000    every imported record read by id (memory catalog)
//   discover x 40  text-filtered pages of the memory catalog, each sort, offsets 0-180
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as data from "../bench/data.js";

const [dirA, dirB, roundsArg] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error("usage: node scripts/size-speed.mjs DIR_A DIR_B [rounds]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 7);

async function load(dir) {
  const wt = await import(pathToFileURL(resolve(dir, "plain/m.js")).href);
  wt.initSync({ module: readFileSync(resolve(dir, "shipped.wasm")) });
  return wt;
}

const U = data.userId(1);
const now = () => performance.now();

function tasks(wt) {
  const recs = data.records(5000, { owner: () => U, hash: (r) => wt.configHash(data.configOf(r)) });
  const text = JSON.stringify(recs);
  const floats = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 7 * (i % 3 ? 1e-3 : 1e5));
  // A chain of 16: record i derives from record i + 1 (leaf first, root last).
  // Every member has the root's type, tools and retrievers (a valid lineage, SPEC section 7).
  const kin = (r, base) => ({ ...r, workflow_type: base.workflow_type, required_tools: base.required_tools, required_retrievers: base.required_retrievers });
  const chain = recs.slice(0, 16).map((r, i) => ({ ...kin(r, recs[15]), base_template_id: i < 15 ? recs[i + 1].id : null }));
  for (const r of chain) r.config_hash = wt.configHash(data.configOf(r));
  // 1,000 records for import, every fourth deriving from the record before it.
  const bundleRecs = recs.slice(0, 1000).map((r, i) => (i % 4 === 3 ? { ...kin(r, recs[i - 1]), base_template_id: recs[i - 1].id } : { ...r }));
  for (const r of bundleRecs) r.config_hash = wt.configHash(data.configOf(r));
  const bundle = { format_version: 1, exported_at: new Date().toISOString(), owner_id: U, workflow_templates: bundleRecs, template_specs: [], ratings: [], builtin_stats: [] };
  const out = {
    validateMany: () => {
      const res = wt.validateMany(text, { complete: true });
      if (res.length !== recs.length || !res.every((x) => x.ok)) throw new Error("validateMany: unexpected result");
    },
    resolveRecords: () => {
      for (let i = 0; i < 500; i++) wt.resolveRecords(chain);
    },
    "configHash x 5,000": () => {
      for (const r of recs) wt.configHash(data.configOf(r));
    },
    // RFC 8785 number formatting: 10,000 non-integer numbers per hash.
    "configHash floats": () => {
      for (let i = 0; i < 20; i++) wt.configHash({ ...data.configOf(recs[i]), default_params: { xs: floats } });
    },
    "canonicalJson x 5,000": () => {
      for (const r of recs) wt.canonicalJson(data.configOf(r));
    },
    "canonicalJson floats": () => {
      for (let i = 0; i < 20; i++) wt.canonicalJson({ ...data.configOf(recs[i]), default_params: { xs: floats } });
    },
  };
  if (wt.TemplateCatalog) {
    let cat = null;
    out["import 1,000"] = async () => {
      if (cat) cat.close();
      cat = await wt.TemplateCatalog.open({ userId: U, storage: "memory" });
      const rep = await cat.importAll(bundle);
      if (rep.templates !== bundleRecs.length) throw new Error("import: " + JSON.stringify(rep));
    };
    out["get x 1,000"] = async () => {
      for (const r of bundleRecs) await cat.get(r.id);
    };
    // Text filters take the full-scan page (`store::page::scan_page`: match, sort, slice).
    out["discover x 40"] = async () => {
      for (const sort of ["popular", "rating", "recent", "name"]) {
        for (let i = 0; i < 10; i++) await cat.discover({ text: "a", sort, limit: 20, offset: i * 20 });
      }
    };
  }
  return out;
}

const builds = [];
for (const dir of [dirA, dirB]) builds.push({ dir, t: tasks(await load(dir)), times: {} });
for (let round = 0; round < rounds; round++) {
  for (const b of round % 2 ? [...builds].reverse() : builds) {
    for (const [name, fn] of Object.entries(b.t)) {
      const t = now();
      await fn();
      (b.times[name] ??= []).push(now() - t);
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// Per task: each build's median, the ratio of the medians, and the median of the rounds' own
// ratios (B's time over A's in the same round: the machine's load moves both alike).
for (const name of Object.keys(builds[0].times)) {
  const [a, b] = builds.map((x) => median(x.times[name]));
  const paired = median(builds[1].times[name].map((t, i) => t / builds[0].times[name][i]));
  console.log(`${name.padEnd(20)} A ${a.toFixed(1).padStart(8)} ms   B ${b.toFixed(1).padStart(8)} ms   B/A ${(b / a).toFixed(3)}   paired ${paired.toFixed(3)}`);
}
console.log(`A = ${dirA}, B = ${dirB}, ${rounds} rounds, medians`);
// An open catalog may keep Node's event loop alive (a channel, a timer): end here.
process.exit(0);
