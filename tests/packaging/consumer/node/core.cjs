// Node CommonJS: `workflow-templates/core` with no loading code (and without require(esm)).
const core = require("workflow-templates/core");
const full = require("workflow-templates");

(async () => {
  const { checkCore } = await import("../core/check.js");
  console.log(`RESULT ${checkCore(core, full)}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
