// The one setting Vite needs, and only for workers: its default worker format (iife) cannot hold
// the package's top-level await. Pages need no config.
export default { worker: { format: "es" } };
