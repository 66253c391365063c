// Loopback static server for the benchmark pages: /bench/ (with the esbuild bundle of the peers
// in /bench/.build/) and the built package at /pkg/. Nothing else is served; nothing is cached
// (cache-control: no-store), so every cold-start run fetches and compiles the .wasm anew.
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm", ".json": "application/json",
};

export async function startServer(root) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const p = path.posix.normalize(decodeURIComponent(url.pathname));
    if (p.includes("..") || !(p.startsWith("/pkg/") || p.startsWith("/bench/"))) return res.writeHead(404).end();
    try {
      const body = await readFile(path.join(root, p));
      res.writeHead(200, { "content-type": TYPES[path.extname(p)] || "application/octet-stream", "cache-control": "no-store",
        // cross-origin isolation: finer performance.now() (5 us in Chromium instead of 100 us)
        "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}
