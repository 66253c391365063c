// The browser's HTTP proxy during the wasm-bindgen browser tests (scripts/wasm-test-runner.sh
// starts it and points the browser at it). It forwards each request the browser makes to the
// test runner's server on a fresh connection that carries `Connection: close`, so that server
// never holds a keep-alive connection open. Why: wasm-bindgen-test-runner serves the page with
// tiny_http 0.12, which gives each open connection a worker thread for the connection's whole
// life; a race in its thread pool can queue a new connection behind those busy workers, and
// then that connection's request is never read while the browser keeps the others open (the
// header of scripts/wasm-test-runner.sh has the evidence and the numbers).
//
// Usage: node scripts/wasm-page-proxy.mjs BASE_JSON OUT_JSON [DRIVER_URL DRIVER_PORT_FILE]
// Listens on 127.0.0.1, on a port the system picks; once it listens, writes OUT_JSON: the
// WebDriver capabilities of BASE_JSON (the repository's webdriver.json; {} when absent) plus
// this proxy for Chromium (`--proxy-server`, `--proxy-bypass-list=<-loopback>`: Chromium
// bypasses proxies for loopback unless told not to) and for Firefox (network.proxy.* prefs,
// `allow_hijacking_localhost` for the same reason). wasm-bindgen-test-runner reads OUT_JSON
// through WASM_BINDGEN_TEST_WEBDRIVER_JSON. The runner sends WebKit's driver no capabilities at
// all, so for WebKit DRIVER_URL names a running WebKitWebDriver: this process then also
// forwards WebDriver requests to it (its port goes to DRIVER_PORT_FILE, for
// SAFARIDRIVER_REMOTE) and adds the W3C `proxy` capability (manual, this proxy, no exceptions)
// to each new session. Only absolute-form requests to a loopback host are forwarded (what a
// browser sends to its proxy: `GET http://127.0.0.1:PORT/path`); anything else gets 403 and
// CONNECT gets 405, so nothing leaves the machine. WASM_PAGE_PROXY_LOG=FILE appends one line
// per forwarded request. Ends on SIGTERM or when its parent process is gone.
import http from "node:http";
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const LOG = process.env.WASM_PAGE_PROXY_LOG; // optional: one line per forwarded request

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade",
]);

function refuse(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain", connection: "close" });
  res.end(text + "\n");
}

const server = http.createServer((req, res) => {
  let target;
  try {
    target = new URL(req.url);
  } catch {
    return refuse(res, 403, "wasm-page-proxy: only absolute http:// URLs are forwarded");
  }
  if (target.protocol !== "http:" || !LOOPBACK.has(target.hostname)) {
    return refuse(res, 403, `wasm-page-proxy: ${target.host} is not a loopback host`);
  }
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  }
  headers.connection = "close";
  const upstream = http.request(
    {
      host: target.hostname.replace(/^\[|\]$/g, ""),
      port: target.port || 80,
      method: req.method,
      path: target.pathname + target.search,
      headers,
      agent: false, // one fresh connection per request
    },
    (up) => {
      const out = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name)) out[name] = value;
      }
      res.writeHead(up.statusCode, up.statusMessage, out);
      up.on("error", () => res.destroy());
      up.pipe(res);
      if (LOG) appendFileSync(LOG, `${req.method} ${req.url} ${up.statusCode}\n`);
    },
  );
  upstream.on("error", (e) => {
    if (!res.headersSent) refuse(res, 502, `wasm-page-proxy: ${e.message}`);
    else res.destroy(e);
  });
  // A browser may reset any connection (a page closed mid-load): an unhandled 'error' event
  // would end this process, and with it every later page load of the run.
  req.on("error", () => upstream.destroy());
  req.pipe(upstream);
});
server.on("connect", (req, socket) => {
  // Chromium sends CONNECT for its own https traffic and may reset the socket on the answer
  // (seen in CI: ECONNRESET on a raw socket with no listener ended the proxy).
  socket.on("error", () => socket.destroy());
  socket.end("HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n");
});
server.keepAliveTimeout = 120_000;

// The capabilities that send Chromium's and Firefox's page traffic through this proxy.
function withProxy(base, port) {
  const caps = structuredClone(base);
  const chrome = (caps["goog:chromeOptions"] ??= {});
  chrome.args = [
    ...(chrome.args ?? []).filter((a) => !/^--proxy-(server|bypass-list)=/.test(a)),
    `--proxy-server=http://127.0.0.1:${port}`,
    "--proxy-bypass-list=<-loopback>",
  ];
  const firefox = (caps["moz:firefoxOptions"] ??= {});
  firefox.prefs = {
    ...firefox.prefs,
    "network.proxy.type": 1, // manual
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": port,
    "network.proxy.no_proxies_on": "",
    "network.proxy.allow_hijacking_localhost": true,
  };
  return caps;
}

// A WebDriver pass-through to DRIVER_URL that adds this proxy to every new session.
function driverForwarder(driverUrl, port) {
  return http.createServer((req, res) => {
    const chunks = [];
    req.on("error", () => {});
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      let asked = null;
      if (req.method === "POST" && req.url === "/session") {
        try {
          asked = JSON.parse(body.toString("utf8") || "{}");
        } catch {
          // not JSON: the driver answers it with its own error
        }
      }
      if (asked && typeof asked === "object") {
        const caps = (asked.capabilities ??= {});
        caps.alwaysMatch = {
          ...caps.alwaysMatch,
          proxy: { proxyType: "manual", httpProxy: `127.0.0.1:${port}`, noProxy: [] },
        };
        body = Buffer.from(JSON.stringify(asked));
      }
      const headers = { ...req.headers, "content-length": String(body.length) };
      delete headers["transfer-encoding"];
      const up = http.request(new URL(req.url, driverUrl), { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.on("error", () => res.destroy());
        answer.pipe(res);
      });
      up.on("error", (e) => refuse(res, 502, `wasm-page-proxy: WebDriver ${driverUrl}: ${e.message}`));
      up.end(body);
    });
  });
}

const [baseJson, outJson, driverUrl, driverPortFile] = process.argv.slice(2);
if (!outJson || (driverUrl && !driverPortFile)) {
  console.error("usage: node scripts/wasm-page-proxy.mjs BASE_JSON OUT_JSON [DRIVER_URL DRIVER_PORT_FILE]");
  process.exit(2);
}
const base = existsSync(baseJson) ? JSON.parse(readFileSync(baseJson, "utf8")) : {};
server.listen(0, "127.0.0.1", () => {
  const port = server.address().port;
  const done = () => {
    writeFileSync(outJson + ".tmp", JSON.stringify(withProxy(base, port), null, 2) + "\n");
    renameSync(outJson + ".tmp", outJson); // the runner script waits for OUT_JSON to exist
  };
  if (!driverUrl) return done();
  const forwarder = driverForwarder(driverUrl, port);
  forwarder.listen(0, "127.0.0.1", () => {
    writeFileSync(driverPortFile, String(forwarder.address().port));
    done();
  });
});
process.on("SIGTERM", () => process.exit(0));
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
