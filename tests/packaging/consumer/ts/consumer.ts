// Compiled with tsc --strict, skipLibCheck false, for each moduleResolution, with and without
// the DOM lib (tests/packaging/packaging.test.mjs writes the tsconfig).
import init, { TemplateCatalog, validateTemplate, WorkflowTemplateError, type ErrorCode, type WorkflowTemplate } from "workflow-templates";

export async function use(): Promise<string> {
  await init();
  const result = validateTemplate({ name: "x", workflow_type: "rag" });
  const first: string | undefined = result.violations[0]?.code;
  const catalog: TemplateCatalog = await TemplateCatalog.open({ userId: "01JD0000000000000000000001", storage: "memory" });
  const made: WorkflowTemplate = await catalog.create({ name: "Typed", workflow_type: "plain" });
  const persistent: boolean = (await TemplateCatalog.storagePersisted()) || (await TemplateCatalog.requestPersistentStorage());
  // @ts-expect-error: the answer is a boolean, not a string
  const notText: string = await TemplateCatalog.storagePersisted();
  void persistent, notText;
  try {
    await catalog.get("nope");
  } catch (e) {
    if (e instanceof WorkflowTemplateError) {
      // e.code narrows to the union: a misspelt code would not compile.
      const code: ErrorCode | "NOT_INITIALIZED" = e.code;
      // @ts-expect-error: not a code of the union
      const wrong: typeof e.code = "NOT_A_CODE";
      void wrong;
      if (e.code === "NOT_FOUND") return `${first} ${made.id} ${code}`;
    }
  }
  return String(first);
}
