// Node ESM: `workflow-templates/core` with no loading code, beside the main entry.
import * as core from "workflow-templates/core";
import { validateTemplate, WorkflowTemplateError } from "workflow-templates/core";
import * as full from "workflow-templates";
import { checkCore } from "../core/check.js";

if (typeof validateTemplate !== "function" || typeof WorkflowTemplateError !== "function") throw new Error("named exports missing");
console.log("RESULT " + checkCore(core, full));
