// Dev helper: evaluates the function in argv[2] (a file exporting default async (wt, peers) => ...) in Chromium.
import { startServer } from "./serve.mjs";
import { chromium } from "playwright-core";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildPeers } from "./build-peers.mjs";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
await buildPeers(ROOT);
const { server, base } = await startServer(ROOT);
const profile = await mkdtemp(path.join(tmpdir(), "wt-probe-"));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"] });
const page = await ctx.newPage();
page.on("console", (m) => console.log("console:", m.text()));
page.on("pageerror", (e) => console.log("pageerror:", e));
await page.goto(`${base}/bench/index.html`);
await page.waitForFunction(() => window.ready || window.loadError);
console.log(await page.evaluate(() => window.loadError));
const src = (await import("node:fs")).readFileSync(process.argv[2], "utf8");
const out = await page.evaluate(async (src) => { try { return await (new Function("b", `return (${src})(b)`))(window.bench); } catch (e) { return "ERR " + (e.code || "") + " " + e.message + " " + JSON.stringify(e.details)?.slice(0, 2000); } }, src);
console.log(typeof out === "string" ? out : JSON.stringify(out, null, 1));
await ctx.close(); server.close();
