// workflow-templates/slim is an ES module (for apps that load the wasm themselves).
import init, { initSync, validateTemplate, type InitInput } from "workflow-templates/slim";

export async function load(source: InitInput): Promise<boolean> {
  await init(source);
  if (source instanceof Uint8Array) initSync(source);
  return validateTemplate({ name: "x", workflow_type: "plain" }).ok;
}
