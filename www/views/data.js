// Export everything the acting user owns to a JSON file, and import such a file.
import { h, $, errorBanner, toast, download, plainError } from "../ui.js";

export const name = "data";

export async function render(app) {
  const report = h("div", { id: "import-report", "aria-live": "polite" });
  const exportInfo = h("p", { id: "export-info", class: "muted", "aria-live": "polite" });
  const file = h("input", { type: "file", id: "import-file", accept: "application/json,.json" });

  async function doExport() {
    try {
      const bundle = await app.catalog.exportAll();
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
      const filename = `workflow-templates-${app.userName(app.userId).toLowerCase()}-${stamp}.json`;
      download(filename, JSON.stringify(bundle, null, 2));
      exportInfo.textContent = `Exported ${bundle.workflow_templates.length} templates, ${bundle.template_specs.length} specs, ${bundle.ratings.length} ratings and ${bundle.builtin_stats.length} built-in statistics to ${filename}.`;
      toast("Export ready.", "ok");
    } catch (e) { exportInfo.replaceChildren(errorBanner(e)); }
  }

  async function doImport() {
    report.replaceChildren();
    const chosen = file.files?.[0];
    if (!chosen) { report.append(errorBanner({ code: "INVALID_ARGUMENT", message: "Choose a JSON file first." })); return; }
    let bundle;
    try { bundle = JSON.parse(await chosen.text()); } catch (e) {
      report.append(errorBanner({ code: "INVALID_ARGUMENT", message: `${chosen.name} is not valid JSON: ${e.message}` }));
      return;
    }
    try {
      const r = await app.catalog.importAll(bundle);
      report.append(h("div", { class: "banner ok", role: "status", id: "import-ok" },
        h("p", {}, h("strong", {}, `Imported ${chosen.name}.`)),
        h("ul", {},
          h("li", {}, `${r.templates} template${r.templates === 1 ? "" : "s"}`),
          h("li", {}, `${r.specs} spec${r.specs === 1 ? "" : "s"}`),
          h("li", {}, `${r.ratings} rating${r.ratings === 1 ? "" : "s"}`),
          h("li", {}, `${r.builtin_stats} built-in statistic${r.builtin_stats === 1 ? "" : "s"}`))));
      toast("Import finished.", "ok");
    } catch (e) {
      const violations = e?.details?.violations ?? [];
      const names = new Map();
      for (const [key, list] of [["workflow_templates", bundle?.workflow_templates], ["template_specs", bundle?.template_specs]]) {
        if (Array.isArray(list)) list.forEach((rec, i) => names.set(`${key}[${i}]`, rec?.name));
      }
      report.append(h("div", { class: "banner error", role: "alert", id: "import-refused", dataset: { code: e?.code ?? "ERROR" } },
        h("p", {}, h("strong", {}, `Nothing was imported from ${chosen.name}: `), e?.code === "VALIDATION_FAILED" ? "some records in the file have problems." : plainError(e).plain, " ", h("code", { class: "code" }, e?.code ?? "ERROR")),
        h("p", { class: "detail" }, "An import is all or nothing: fix the records below (or export again) and retry."),
        violations.length ? h("table", { class: "grid" },
          h("caption", {}, `${violations.length} record problem${violations.length === 1 ? "" : "s"}`),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Record"), h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Problem"), h("th", { scope: "col" }, "Code"))),
          h("tbody", {}, violations.map((v) => {
            const m = /^([a-z_]+\[\d+\])\.?(.*)$/.exec(v.field);
            const nice = m ? m[1].replace(/^workflow_templates\[(\d+)\]$/, (_, i) => `template #${Number(i) + 1}`).replace(/^template_specs\[(\d+)\]$/, (_, i) => `spec #${Number(i) + 1}`) : "";
            const rec = m ? `${nice}${names.get(m[1]) ? ` “${names.get(m[1])}”` : ""}` : v.field || "(bundle)";
            return h("tr", {}, h("td", {}, rec), h("td", {}, h("code", {}, m ? m[2] || "(record)" : "")), h("td", {}, v.message), h("td", {}, h("code", {}, v.code)));
          }))) : h("p", { class: "detail" }, e?.message ?? String(e))));
    }
  }

  return h("section", { class: "data" },
    h("div", { class: "page-head" }, h("h1", {}, "Import & export"),
      h("p", { class: "lede" }, `Everything ${app.userName(app.userId)} owns: templates (all versions), specs, ratings and the statistics kept for built-ins.`)),
    h("div", { class: "two" },
      h("section", { class: "card" }, h("h2", {}, "Export"),
        h("p", {}, "Download a JSON file you can import again here or in another browser."),
        h("button", { type: "button", class: "btn primary", id: "export", onclick: doExport }, "Export to a JSON file"), exportInfo),
      h("section", { class: "card" }, h("h2", {}, "Import"),
        h("p", {}, "Every record is checked (hashes, references, names) before anything is written; a file with any problem is refused as a whole."),
        h("div", { class: "field" }, h("label", { for: "import-file" }, "Export file (.json)"), file),
        h("button", { type: "button", class: "btn primary", id: "import", onclick: doImport }, "Import"))),
    report);
}
