// A dedicated module worker for tests/pages/storage.test.mjs: the package without a window.
import init, * as wt from "/pkg/workflow_templates.js";

self.onmessage = async ({ data }) => {
  try {
    await init();
    const cat = await wt.TemplateCatalog.open({ userId: data.userId, dbName: data.dbName });
    const t = await cat.create({ name: data.name, workflow_type: "plain" });
    const seen = await cat.get(data.seenId);
    self.postMessage({ ok: true, storage: cat.storage, id: t.id, seen: seen.name });
  } catch (e) {
    self.postMessage({ ok: false, code: e && e.code, message: String(e && e.message) });
  }
};
