// The demo server's port, shared by scripts/serve.mjs and scripts/check-port.mjs.
export const HOST = "127.0.0.1";
export const DEFAULT_PORT = 8080;

/** PORT from the environment: { value } (0 = any free port) or { error } in plain words. */
export function portFrom(raw) {
  if (raw === undefined || raw === "") return { value: DEFAULT_PORT };
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65535) {
    return { error: `PORT=${JSON.stringify(raw)} is not a port number (0 to 65535; 0 picks a free one)` };
  }
  return { value: Number(raw) };
}

/** What to tell the user when listening on `port` failed with `error`. */
export function portAdvice(port, error) {
  const next = port >= 65535 ? 8081 : port + 1;
  if (error?.code === "EADDRINUSE") {
    return `port ${port} on ${HOST} is already in use (another server, or an earlier \`npm start\` still running). `
      + `Stop it, or choose another port: PORT=${next} npm start  (PORT=0 picks a free one)`;
  }
  if (error?.code === "EACCES") {
    return `not allowed to listen on port ${port} (ports below 1024 need privileges). Choose another: PORT=${next} npm start`;
  }
  return `cannot listen on ${HOST}:${port}: ${error?.message ?? error}`;
}
