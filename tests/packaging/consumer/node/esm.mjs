// Node ESM with no loading code.
import { validateTemplate, TemplateCatalog, WorkflowTemplateError } from "workflow-templates";
import * as wt from "workflow-templates";
import { check } from "../check.js";

if (typeof validateTemplate !== "function" || typeof TemplateCatalog.open !== "function") throw new Error("named exports missing");
// Node has no IndexedDB: the default storage says what to pass.
const e = await TemplateCatalog.open({ userId: "01JD0000000000000000000001" }).then(() => null, (x) => x);
if (!(e instanceof WorkflowTemplateError) || e.code !== "STORAGE_UNAVAILABLE" || !e.message.includes('storage: "memory"')) {
  throw new Error(`default storage in Node: ${e}`);
}
console.log("RESULT " + (await check(wt)));
