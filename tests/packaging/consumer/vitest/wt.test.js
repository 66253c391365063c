import { test, expect } from "vitest";
import * as wt from "workflow-templates";
import { check } from "../check.js";

test("workflow-templates works in Vitest's node environment with no loading code", async () => {
  const result = await check(wt);
  console.log("RESULT " + result);
  expect(result).toContain("WORKFLOW_TYPE_MISMATCH");
});
