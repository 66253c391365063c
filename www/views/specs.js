// Template specs: list, create, edit, delete, instantiate.
import { h, $, WORKFLOW_TYPES, TYPE_HELP, pill, fmtDate, splitList, errorBanner, toast, modal, plainError, violationText } from "../ui.js";
import { jsonEditor } from "../jsonedit.js";
import { navigate, route } from "../app.js";

export const name = "specs";
let current = null;

export async function render(app, { id }) {
  current = { app };
  const specs = await app.catalog.listSpecs();
  const list = h("section", { class: "card spec-list" },
    h("div", { class: "label-row" }, h("h2", {}, "Your specs"), h("a", { class: "btn primary", href: "#/specs/new", id: "new-spec" }, "+ New spec")),
    specs.length === 0 ? h("p", { class: "muted", id: "no-specs" }, "No specs yet. A spec is a lightweight recipe that turns into a template when you instantiate it.")
      : h("ul", { class: "spec-items", id: "spec-items" }, specs.map((s) => h("li", { class: s.id === id ? "current" : "", dataset: { id: s.id } },
        h("a", { href: `#/specs/${s.id}`, "aria-current": s.id === id ? "true" : null }, s.name),
        h("span", { class: "meta" }, pill(s.workflow_type, `type-${s.workflow_type}`), ` used ${s.usage_count}×`, s.base_template_name ? ` · base “${s.base_template_name}”` : "")))));
  const detail = id ? await specEditor(app, id === "new" ? null : await app.catalog.getSpec(id))
    : h("section", { class: "card empty-detail" }, h("p", { class: "muted" }, "Choose a spec on the left, or create a new one."));
  return h("section", { class: "specs" },
    h("div", { class: "page-head" }, h("h1", {}, "Template specs"),
      h("p", { class: "lede" }, "Specs are private recipes. Instantiating one creates a template from it (its base is looked up by name).")),
    h("div", { class: "master-detail" }, list, detail));
}

async function specEditor(app, spec) {
  const { wt, catalog } = app;
  const src = spec ?? { name: "", description: "", workflow_type: "plain", default_params: {}, required_tools: null, required_retrievers: null, base_template_name: null, tags: null, extra_metadata: null };
  const errs = {};
  const field = (key, lbl, control, hint) => {
    errs[key] = h("div", { class: "field-error", id: `serr-${key}`, "aria-live": "polite" });
    control.setAttribute("aria-describedby", `serr-${key}`);
    return h("div", { class: "field" }, h("label", { for: control.id }, lbl), control, hint ? h("p", { class: "hint" }, hint) : null, errs[key]);
  };
  const f = {
    name: h("input", { id: "s-name", type: "text", value: src.name, autocomplete: "off" }),
    description: h("textarea", { id: "s-description", rows: 2, value: src.description }),
    workflow_type: h("select", { id: "s-workflow_type" }, WORKFLOW_TYPES.map((t) => h("option", { value: t }, TYPE_HELP[t]))),
    base_template_name: h("input", { id: "s-base_template_name", type: "text", value: src.base_template_name ?? "", autocomplete: "off", placeholder: "e.g. Code Assistant", list: "base-names" }),
    required_tools: h("input", { id: "s-required_tools", type: "text", value: (src.required_tools ?? []).join(", "), autocomplete: "off" }),
    required_retrievers: h("input", { id: "s-required_retrievers", type: "text", value: (src.required_retrievers ?? []).join(", "), autocomplete: "off" }),
    tags: h("input", { id: "s-tags", type: "text", value: (src.tags ?? []).join(", "), autocomplete: "off" }),
  };
  f.workflow_type.value = src.workflow_type;
  const names = await catalog.discover({ sort: "name", limit: 100 });
  const datalist = h("datalist", { id: "base-names" }, names.items.map((t) => h("option", { value: t.name })));
  const params = jsonEditor({ id: "s-default_params", label: "Default parameters (JSON object)", rows: 8 });
  params.set(src.default_params);
  const meta = jsonEditor({ id: "s-extra_metadata", label: "Extra metadata (JSON object, optional)", allowEmpty: true, rows: 3 });
  meta.set(src.extra_metadata);
  const problem = h("div", { id: "spec-problem", "aria-live": "assertive" });
  const summary = h("p", { id: "spec-summary", class: "validation", "aria-live": "polite" });

  function draft() {
    const p = params.get();
    const m = meta.get();
    return {
      d: {
        name: f.name.value.trim(), description: f.description.value, workflow_type: f.workflow_type.value,
        base_template_name: f.base_template_name.value.trim() || null,
        required_tools: splitList(f.required_tools.value), required_retrievers: splitList(f.required_retrievers.value),
        tags: splitList(f.tags.value, { commasOnly: true }), default_params: p.ok ? p.value : {},
        extra_metadata: m.ok ? m.value : null,
      },
      parseError: p.ok ? null : p.error,
      metaError: m.ok ? null : m.error,
    };
  }
  // A new spec shows a field's problems once it was touched or a save was tried (as templates do).
  const touched = new Set();
  let showAll = Boolean(spec);
  const visible = (key) => showAll || touched.has(key);
  const unplaced = h("div", { id: "spec-unplaced" });
  function showViolations(violations, parseError, metaError = null) {
    for (const box of Object.values(errs)) box.replaceChildren();
    for (const c of Object.values(f)) c.removeAttribute("aria-invalid");
    unplaced.replaceChildren();
    const pv = [], mv = [];
    let shown = 0;
    for (const v of violations) {
      const top = v.field.split(/[.[]/)[0];
      const known = top === "default_params" || top === "extra_metadata" || errs[top];
      if (known && !visible(top)) continue;
      shown++;
      if (top === "default_params") pv.push(v);
      else if (top === "extra_metadata") mv.push(v);
      else if (errs[top]) { errs[top].append(h("p", {}, `${v.message} `, h("span", { class: "code" }, v.code))); f[top].setAttribute("aria-invalid", "true"); }
      else unplaced.append(h("p", { class: "bad" }, violationText(v)));
    }
    params.show(parseError, pv);
    meta.show(metaError, mv);
    const n = shown + (parseError ? 1 : 0) + (metaError ? 1 : 0);
    const waiting = n === 0 && violations.length > 0;
    summary.textContent = n ? `${n} problem${n === 1 ? "" : "s"} to fix.` : waiting ? "Fill in the fields; what needs fixing shows here as you go." : "✓ No problems found.";
    summary.className = `validation ${n ? "bad" : waiting ? "hint" : "ok"}`;
  }
  function refresh() {
    const { d, parseError, metaError } = draft();
    showViolations(wt.validateSpec(d).violations, parseError, metaError);
  }

  const form = h("form", { class: "card spec-form", id: "spec-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    showAll = true;
    refresh();
    problem.replaceChildren();
    const { d, parseError, metaError } = draft();
    if (parseError || metaError) {
      const [which, err] = parseError ? ["default_params", parseError] : ["extra_metadata", metaError];
      problem.append(errorBanner({ code: "VALIDATION_FAILED", message: `${which}: JSON error at line ${err.line}, column ${err.column}: ${err.message}` }));
      return;
    }
    try {
      if (spec) {
        await catalog.updateSpec(spec.id, d, { ifMatch: spec.updated_at });
        toast(`Saved spec “${d.name}”.`, "ok");
        navigate(`#/specs/${spec.id}`);
      } else {
        const created = await catalog.createSpec(d);
        toast(`Created spec “${created.name}”.`, "ok");
        navigate(`#/specs/${created.id}`);
      }
    } catch (err) {
      if (Array.isArray(err?.details?.violations)) showViolations(err.details.violations, null);
      problem.append(errorBanner(err));
    }
  } },
  h("h2", {}, spec ? `Spec: ${spec.name}` : "New spec"),
  spec ? h("p", { class: "muted" }, `Used ${spec.usage_count}× · last used ${fmtDate(spec.last_used_at)} · edited ${fmtDate(spec.updated_at)}`) : null,
  problem,
  unplaced,
  field("name", "Name", f.name),
  field("description", "Description", f.description),
  h("div", { class: "row" }, field("workflow_type", "Workflow type", f.workflow_type), field("base_template_name", "Base template name (optional)", f.base_template_name, "Resolved when instantiated: your own template of that name, else a built-in, else a single public one.")),
  h("div", { class: "row" }, field("required_tools", "Required tools", f.required_tools), field("required_retrievers", "Required retrievers", f.required_retrievers)),
  field("tags", "Tags", f.tags),
  params.root,
  meta.root,
  summary,
  datalist,
  h("div", { class: "actions" },
    h("button", { type: "submit", class: "btn primary", id: "save-spec" }, spec ? "Save spec" : "Create spec"),
    spec ? h("button", { type: "button", class: "btn", id: "instantiate", onclick: () => instantiate(app, spec, problem) }, "Instantiate…") : null,
    spec ? h("button", { type: "button", class: "btn danger ghost", id: "delete-spec", onclick: async () => {
      const ok = await modal("Delete this spec?", h("p", {}, `“${spec.name}” will be deleted. Templates made from it stay.`), { submit: "Delete", danger: true });
      if (!ok) return;
      try { await catalog.deleteSpec(spec.id); toast(`Deleted spec “${spec.name}”.`, "ok"); navigate("#/specs"); }
      catch (err) { problem.append(errorBanner(err)); }
    } }, "Delete…") : null));
  for (const [key, control] of Object.entries(f)) control.addEventListener("input", () => touched.add(key));
  params.textarea.addEventListener("input", () => touched.add("default_params"));
  meta.textarea.addEventListener("input", () => touched.add("extra_metadata"));
  form.addEventListener("input", () => { if (current) current.dirty = true; refresh(); });
  form.addEventListener("change", refresh);
  refresh();
  return form;
}

async function instantiate(app, spec, problem) {
  const nameInput = h("input", { id: "inst-name", name: "name", type: "text", value: spec.name, autocomplete: "off" });
  const publicBox = h("input", { id: "inst-public", name: "public", type: "checkbox" });
  const data = await modal("Instantiate spec", [
    h("p", {}, "Creates a new template from this spec. Template names must be unique among your templates."),
    h("label", { for: "inst-name" }, "Template name"), nameInput,
    h("p", { class: "check" }, publicBox, h("label", { for: "inst-public" }, "Public"))], { submit: "Create template" });
  if (!data) return;
  try {
    const t = await app.catalog.instantiateSpec(spec.id, { name: String(data.get("name")), is_public: data.get("public") === "on" });
    toast(`Created template “${t.name}” from the spec.`, "ok");
    navigate(`#/t/${t.id}`);
  } catch (err) {
    problem.replaceChildren(errorBanner(err));
    toast(`Not instantiated: ${plainError(err).plain}`, "error");
  }
}

export function onChange(event) {
  // Refresh the list with changes from other tabs, unless that would throw away a draft.
  if ((event.kind === "spec" || event.kind === "import") && current?.app && !current.dirty) {
    current.app.focusHeading = false;
    route();
  }
}
export function leave() { current = null; }
