// Node CommonJS with no loading code (run with --no-experimental-require-module: nothing may
// rely on require(esm), which Node 20 before 20.19 lacks).
const wt = require("workflow-templates");
const { version } = require("workflow-templates/package.json");

(async () => {
  const { check } = await import("../check.js");
  console.log(`RESULT ${version}: ${await check(wt)}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
