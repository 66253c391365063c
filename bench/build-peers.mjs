// Bundles the peers (ajv, zod, canonicalize, @noble/hashes, dexie) into one ES module for the
// page: bench/.build/peers.js. Production mode, minified, as an app would ship them.
import { build } from "esbuild";
import path from "node:path";

export async function buildPeers(root) {
  await build({
    entryPoints: [path.join(root, "bench/peers.entry.js")],
    outfile: path.join(root, "bench/.build/peers.js"),
    bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true,
    define: { "process.env.NODE_ENV": '"production"' }, logLevel: "warning",
  });
}
