// A tiny static server for the demo page: www/ at /, the built package pkg/ at /pkg/.
// Loopback only. PORT picks the port (default 8080; 0 picks a free one).
//
//   node scripts/serve.mjs          (npm start checks the port, then runs setup and build first)

import { createServer } from "node:http";
import { open, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { HOST as host, portFrom, portAdvice } from "./port.mjs";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const mounts = [
  ["/pkg/", join(root, "pkg")],
  ["/", join(root, "www")],
];
const parsed = portFrom(process.env.PORT);
if (parsed.error) {
  console.error(`serve: ${parsed.error}`);
  process.exit(1);
}
const port = parsed.value;

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".ts": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
};

function send(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(`${status} ${text}\n`);
}

/** The file a request path maps to, or null when the path is not acceptable. */
function locate(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  // Refuse traversal outright (raw or percent-encoded), backslashes and NUL bytes.
  if (path.includes("\0") || path.includes("\\") || path.split("/").includes("..")) return null;
  if (path === "/pkg") path = "/pkg/";
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    let rel = path.slice(prefix.length);
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = resolve(dir, rel);
    if (file !== dir && !file.startsWith(dir + sep)) return null; // belt and braces
    return file;
  }
  return null;
}

const server = createServer(async (req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "Method Not Allowed");
  }
  const urlPath = (req.url ?? "/").split("?")[0].split("#")[0];
  const file = locate(urlPath);
  if (file === null) return send(res, 403, "Forbidden");
  let handle;
  try {
    const info = await stat(file);
    if (!info.isFile()) return send(res, 404, "Not Found");
    handle = await open(file, "r");
    res.writeHead(200, {
      "content-type": MIME[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": info.size,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") return res.end();
    const stream = handle.createReadStream();
    handle = undefined; // the stream closes it
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  } catch (e) {
    if (e && e.code === "ENOENT") return send(res, 404, "Not Found");
    return send(res, 500, "Internal Server Error");
  } finally {
    await handle?.close();
  }
  console.log(`${req.method} ${urlPath}`);
});

server.on("error", (e) => {
  console.error(`serve: ${portAdvice(port, e)}`);
  process.exit(1);
});
server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`serve: http://${host}:${actual}/  (www/ at /, pkg/ at /pkg/; Ctrl-C stops)`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
