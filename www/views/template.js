// One template: edit with live validation, inheritance, versions, usage and rating.
import {
  h, $, CATEGORIES, WORKFLOW_TYPES, TYPE_HELP, label, pill, stars, fmtNumber, fmtDate, splitList,
  errorBanner, toast, modal, plainError, violationText,
} from "../ui.js";
import { jsonEditor } from "../jsonedit.js";
import { rememberText, recallText } from "../keyorder.js";
import { inheritedPanel, leaves, show } from "./inherited.js";
import { navigate, route } from "../app.js";
import { versionsTab } from "./versions.js";
import { changedFields } from "../sync.js";

export const name = "template";
let current = null;

const TABS = [
  ["edit", "Edit"],
  ["inheritance", "Inheritance"],
  ["versions", "Versions"],
  ["stats", "Usage & rating"],
];

export async function render(app, params) {
  const { catalog } = app;
  const record = params.id ? await catalog.get(params.id) : null;
  const base = !record && params.base ? await catalog.get(params.base) : null;
  const canEdit = !record || (record.owner_id === app.userId && !record.is_builtin && record.is_latest);
  current = { app, record, params, dirty: false };

  const title = record ? record.name : base ? `Derive from ${base.name}` : "New template";
  const head = h("div", { class: "page-head template-head" },
    h("div", {},
      h("p", { class: "crumbs" }, h("a", { href: "#/browse" }, "Templates"), " / "),
      h("h1", { id: "template-title" }, title),
      record ? h("p", { class: "meta" },
        record.is_builtin ? pill("built-in", "builtin") : record.is_public ? pill("public", "public") : pill("private", "private"), " ",
        pill(label(record.category)), " ", pill(record.workflow_type, `type-${record.workflow_type}`), " ",
        h("span", { class: "muted" }, `version ${record.version}${record.is_latest ? " (latest)" : ""} · owner ${record.owner_id === app.userId ? "you" : app.userName(record.owner_id)} · edited ${fmtDate(record.updated_at)}`)) : null),
    record ? h("div", { class: "head-actions" }, h("a", { class: "btn", href: `#/new?base=${record.id}` }, "Derive a new template")) : null);

  const tabs = record ? h("nav", { class: "tabs", "aria-label": "Template sections" },
    TABS.map(([key, text]) => h("a", { href: `#/t/${record.id}${key === "edit" ? "" : `/${key}`}`, "aria-current": params.tab === key ? "page" : null, id: `tab-${key}` }, text))) : null;

  let body;
  if (!record || params.tab === "edit") body = await editTab(app, record, base, canEdit);
  else if (params.tab === "inheritance") body = await inheritanceTab(app, record);
  else if (params.tab === "versions") body = await versionsTab(app, record, current);
  else body = await statsTab(app, record);

  const liveNote = h("div", { id: "live-note", "aria-live": "polite" });
  current.liveNote = liveNote;
  return h("section", { class: "template" }, head, tabs, liveNote, body);
}

// ---- edit ---------------------------------------------------------------------------------

async function baseOptions(app, record, selected) {
  const items = [];
  for (let offset = 0; offset < 500; offset += 100) {
    const page = await app.catalog.discover({ sort: "name", limit: 100, offset });
    items.push(...page.items);
    if (offset + 100 >= page.total) break;
  }
  const options = items.filter((t) => !record || t.id !== record.id);
  if (selected && !options.some((t) => t.id === selected)) {
    try { options.unshift(await app.catalog.get(selected)); } catch { options.unshift({ id: selected, name: `(unavailable) ${selected}`, version: 0 }); }
  }
  return options;
}

async function editTab(app, record, base, canEdit) {
  const { wt, catalog } = app;
  const src = record ?? {
    name: "", description: "", workflow_type: base?.workflow_type ?? "plain", category: base?.category ?? "custom",
    default_params: base ? {} : { model: { name: "gpt-4o", temperature: 0.7 } }, required_tools: null, required_retrievers: null,
    base_template_id: base?.id ?? null, is_public: false, tags: null, extra_metadata: null, estimated_complexity: null,
  };
  const bases = await baseOptions(app, record, src.base_template_id);

  const errs = {};
  const fieldBox = (key, lbl, control, hint) => {
    errs[key] = h("div", { class: "field-error", id: `err-${key}`, "aria-live": "polite" });
    control.setAttribute("aria-describedby", `${hint ? `hint-${key} ` : ""}err-${key}`);
    return h("div", { class: "field", dataset: { field: key } },
      h("label", { for: control.id }, lbl), control,
      hint ? h("p", { class: "hint", id: `hint-${key}` }, hint) : null, errs[key]);
  };
  const f = {
    name: h("input", { id: "t-name", type: "text", value: src.name, autocomplete: "off", required: true }),
    description: h("textarea", { id: "t-description", rows: 3, value: src.description }),
    workflow_type: h("select", { id: "t-workflow_type" }, WORKFLOW_TYPES.map((t) => h("option", { value: t }, TYPE_HELP[t]))),
    category: h("select", { id: "t-category" }, CATEGORIES.map((c) => h("option", { value: c }, label(c)))),
    base_template_id: h("select", { id: "t-base_template_id" }, h("option", { value: "" }, "none (a root template)"),
      bases.map((t) => h("option", { value: t.id }, `${t.name}${t.is_builtin ? " (built-in)" : ""}${t.version > 1 ? ` v${t.version}` : ""}`))),
    is_public: h("input", { id: "t-is_public", type: "checkbox", checked: src.is_public }),
    required_tools: h("input", { id: "t-required_tools", type: "text", value: (src.required_tools ?? []).join(", "), autocomplete: "off", placeholder: "e.g. web_search, code_interpreter" }),
    required_retrievers: h("input", { id: "t-required_retrievers", type: "text", value: (src.required_retrievers ?? []).join(", "), autocomplete: "off", placeholder: "e.g. vector_store" }),
    tags: h("input", { id: "t-tags", type: "text", value: (src.tags ?? []).join(", "), autocomplete: "off", placeholder: "comma separated" }),
    estimated_complexity: h("input", { id: "t-estimated_complexity", type: "number", min: 0, step: 1, value: src.estimated_complexity ?? "" }),
  };
  f.workflow_type.value = src.workflow_type;
  f.category.value = src.category;
  f.base_template_id.value = src.base_template_id ?? "";
  const params = jsonEditor({ id: "t-default_params", label: "Default parameters (JSON object)", hint: "Merged over the base template's parameters: objects merge key by key, a null removes an inherited key. With a base, {} keeps everything it inherits (listed under “What this template inherits”).", rows: 12 });
  const meta = jsonEditor({ id: "t-extra_metadata", label: "Extra metadata (JSON object, optional)", allowEmpty: true, rows: 4 });
  // The package returns objects with sorted keys; show them as the user typed them when that
  // text still means the stored value (www/keyorder.js).
  const typed = (field) => (record ? recallText(record.id, field, record[field]) : null);
  const paramsText = typed("default_params"), metaText = typed("extra_metadata");
  if (paramsText) params.setText(paramsText); else params.set(src.default_params);
  if (metaText) meta.setText(metaText); else meta.set(src.extra_metadata);
  const rememberTyped = (id) => {
    rememberText(id, "default_params", params.textarea.value);
    rememberText(id, "extra_metadata", meta.textarea.value);
  };
  errs.default_params = null; errs.extra_metadata = null;

  const general = h("div", { id: "form-problem", "aria-live": "assertive" });
  // What the base chain supplies, read-only, updated with the draft (catalog.preview).
  const inherited = inheritedPanel(catalog);
  const configHashOut = h("output", { id: "config-hash", class: "hash" });
  const resolvedHashOut = h("output", { id: "resolved-hash", class: "hash" });
  const summary = h("div", { id: "validation-summary", class: "validation", "aria-live": "polite" });
  const saveBtn = h("button", { type: "submit", class: "btn primary", id: "save" }, record ? "Save changes" : "Create template");
  const versionBtn = record ? h("button", { type: "button", class: "btn", id: "save-version" }, "Save as new version…") : null;
  const deleteBtn = record ? h("button", { type: "button", class: "btn danger ghost", id: "delete" }, "Delete…") : null;

  const form = h("form", { class: "editor", id: "template-form", novalidate: true, "aria-label": "Template fields" },
    h("div", { class: "card form-main" },
      general,
      !canEdit ? h("div", { class: "banner info", id: "readonly-note" }, record.is_builtin
        ? "Built-in templates are read-only. Use “Derive a new template” to make your own version."
        : !record.is_latest ? "This is an older version; only the latest version can be edited."
          : "This template belongs to someone else, so it is read-only for you. You can derive from it, rate it and record runs.") : null,
      fieldBox("name", "Name", f.name),
      fieldBox("description", "Description", f.description),
      h("div", { class: "row" },
        fieldBox("workflow_type", "Workflow type", f.workflow_type),
        fieldBox("category", "Category", f.category)),
      fieldBox("base_template_id", "Base template (inherits from)", f.base_template_id, "Parameters, tools and retrievers of the base are inherited."),
      h("div", { class: "row" },
        fieldBox("required_tools", "Required tools", f.required_tools, "Separated by commas or spaces. Inherited tools are added."),
        fieldBox("required_retrievers", "Required retrievers", f.required_retrievers, "Separated by commas or spaces.")),
      params.root,
      inherited.root,
      h("div", { class: "row" },
        fieldBox("tags", "Tags", f.tags, "Comma separated, up to 32."),
        fieldBox("estimated_complexity", "Estimated complexity", f.estimated_complexity, "A whole number, optional.")),
      h("div", { class: "field check", dataset: { field: "is_public" } },
        f.is_public, h("label", { for: "t-is_public" }, "Public: every user can see and derive from it"),
        (errs.is_public = h("div", { class: "field-error", id: "err-is_public" }))),
      meta.root),
    h("aside", { class: "card side", "aria-label": "Hashes and actions" },
      h("h2", {}, "Configuration"),
      h("dl", { class: "hashes" },
        h("dt", {}, "config_hash"), h("dd", {}, configHashOut),
        h("dt", {}, "resolved hash"), h("dd", {}, resolvedHashOut)),
      h("p", { class: "hint" }, "Both update as you type. The resolved hash covers the effective configuration after inheritance."),
      summary,
      canEdit ? h("div", { class: "actions stack" }, saveBtn, versionBtn, deleteBtn) : null));

  const controls = Object.values(f);
  if (!canEdit) { for (const c of controls) c.disabled = true; params.disabled = true; meta.disabled = true; }

  // -- live draft, validation and hashes
  function draft() {
    const p = params.get();
    const m = meta.get();
    const complexity = f.estimated_complexity.value.trim();
    const d = {
      name: f.name.value.trim(),
      description: f.description.value,
      workflow_type: f.workflow_type.value,
      category: f.category.value,
      base_template_id: f.base_template_id.value || null,
      is_public: f.is_public.checked,
      required_tools: splitList(f.required_tools.value),
      required_retrievers: splitList(f.required_retrievers.value),
      tags: splitList(f.tags.value, { commasOnly: true }),
      estimated_complexity: complexity === "" ? null : Number(complexity),
      default_params: p.ok ? p.value : {},
      extra_metadata: m.ok ? m.value : null,
    };
    return { d, parse: { default_params: p.ok ? null : p.error, extra_metadata: m.ok ? null : m.error } };
  }

  // A new template shows field errors once a field was touched or a save was tried.
  const touched = new Set();
  let showAll = Boolean(record);
  const visible = (key) => showAll || touched.has(key);
  {
    for (const [key, control] of Object.entries(f)) control.addEventListener("input", () => touched.add(key));
    params.textarea.addEventListener("input", () => touched.add("default_params"));
    meta.textarea.addEventListener("input", () => touched.add("extra_metadata"));
  }
  function showViolations(violations, parse = {}) {
    for (const [key, box] of Object.entries(errs)) {
      if (!box) continue;
      box.replaceChildren();
      const control = f[key];
      control?.removeAttribute("aria-invalid");
      control?.closest(".field")?.classList.remove("invalid");
    }
    const byField = { default_params: [], extra_metadata: [] };
    const unplaced = [];
    for (const v of violations) {
      const top = v.field.split(/[.[]/)[0];
      if (top in byField) { if (visible(top)) byField[top].push(v); }
      else if (errs[top]) {
        if (!visible(top)) continue;
        errs[top].append(h("p", {}, `${v.message} `, h("span", { class: "code" }, v.code)));
        f[top]?.setAttribute("aria-invalid", "true");
        f[top]?.closest(".field")?.classList.add("invalid");
      } else unplaced.push(v);
    }
    params.show(parse.default_params, byField.default_params);
    meta.show(parse.extra_metadata, byField.extra_metadata);
    // Like the fields, the summary lists a new template's problems once their field was touched
    // (or a save was tried): no "must not be empty" before the user typed anything.
    const shown = violations.filter((v) => {
      const top = v.field.split(/[.[]/)[0];
      return !(top in byField || errs[top]) || visible(top);
    });
    const waiting = violations.length - shown.length;
    const problems = shown.length + (parse.default_params ? 1 : 0) + (parse.extra_metadata ? 1 : 0);
    summary.replaceChildren(problems > 0
      ? h("div", {}, h("p", { class: "bad" }, `${problems} problem${problems === 1 ? "" : "s"} to fix:`),
        h("ul", {}, [
          ...(parse.default_params ? [h("li", {}, h("code", {}, "default_params"), `: JSON error at line ${parse.default_params.line}`)] : []),
          ...(parse.extra_metadata ? [h("li", {}, h("code", {}, "extra_metadata"), `: JSON error at line ${parse.extra_metadata.line}`)] : []),
          ...shown.map((v) => h("li", {}, violationText(v)))]))
      : waiting > 0 ? h("p", { class: "hint", id: "not-checked" }, "Fill in the fields; what needs fixing shows here as you go.")
        : h("p", { class: "ok" }, "✓ No problems found."));
    saveBtn.disabled = false;
  }

  let seq = 0;
  async function refresh() {
    const mySeq = ++seq;
    const { d, parse } = draft();
    const result = wt.validateTemplate(d);
    const violations = [...result.violations];
    let chash = null;
    try { chash = wt.configHash(d); } catch { /* shown as — */ }
    let rhash = null;
    let resolution = null;
    if (!parse.default_params) {
      try {
        // The package resolves the unsaved draft with the same rules as a save (preview).
        const r = await catalog.preview(d, record && canEdit ? record.id : undefined);
        rhash = r.resolved_hash;
        resolution = r;
        if (d.base_template_id) {
          // Workflow-type consistency is checked on the effective configuration.
          const effCheck = wt.validateTemplate({ name: "x", ...r.effective });
          for (const v of effCheck.violations) if (v.code === "WORKFLOW_TYPE_MISMATCH") violations.push({ ...v, message: `${v.message} (after inheritance)` });
        }
      } catch (e) {
        if (e?.code && e.code !== "VALIDATION_FAILED") violations.push({ field: "base_template_id", code: e.code, message: plainError(e).plain });
      }
    }
    const inheritance = d.base_template_id && resolution ? await inherited.compute(resolution, d) : null;
    if (mySeq !== seq) return;
    inherited.paint(d, inheritance);
    configHashOut.textContent = chash ?? "— (fix the configuration first)";
    resolvedHashOut.textContent = rhash ?? "—";
    configHashOut.title = chash ?? ""; resolvedHashOut.title = rhash ?? "";
    showViolations(violations, parse);
    form.dataset.valid = String(violations.length === 0 && !parse.default_params && !parse.extra_metadata);
  }
  form.addEventListener("input", () => { current.dirty = canEdit; refresh(); });
  form.addEventListener("change", () => refresh());
  await refresh();
  current.refresh = refresh;

  // -- saving
  function showSaveError(e, retry) {
    general.replaceChildren();
    const violations = e?.details?.violations;
    if (Array.isArray(violations)) showViolations(violations, draft().parse);
    if (e?.code === "CONFLICT") {
      general.append(errorBanner(e,
        h("button", { type: "button", class: "btn", id: "conflict-reload", onclick: () => { current.dirty = false; app.focusHeading = false; route(); } }, "Reload the saved version (discard my edits)"),
        h("button", { type: "button", class: "btn primary", id: "conflict-overwrite", onclick: async () => {
          const latest = await catalog.get(record.id).catch(() => null);
          if (latest) { record.updated_at = latest.updated_at; retry(); }
        } }, "Overwrite with my version")));
      // Say what the other writer changed, compared with the copy this edit started from.
      catalog.get(record.id).then((latest) => {
        const changed = changedFields(latest, record);
        general.querySelector(".banner")?.insertBefore(h("p", { id: "conflict-fields" },
          changed.length ? `Changed there: ${changed.join(", ")}.` : "The other change did not touch the fields you edit here."),
        general.querySelector(".banner .actions"));
      }).catch(() => {});
    } else {
      general.append(errorBanner(e));
    }
    general.querySelector(".banner")?.scrollIntoView({ block: "nearest" });
    toast(`Not saved: ${plainError(e).plain} (${e?.code ?? "ERROR"}). Your draft is kept.`, "error");
  }

  async function save() {
    showAll = true;
    await refresh();
    general.replaceChildren();
    const { d, parse } = draft();
    if (parse.default_params || parse.extra_metadata) {
      const which = parse.default_params ? "default_params" : "extra_metadata";
      const err = parse[which];
      general.append(errorBanner({ code: "VALIDATION_FAILED", message: `${which}: JSON error at line ${err.line}, column ${err.column}: ${err.message}` }));
      return;
    }
    saveBtn.disabled = true;
    try {
      if (!record) {
        const created = await catalog.create(d);
        rememberTyped(created.id);
        current.dirty = false;
        toast(`Created “${created.name}”.`, "ok");
        navigate(`#/t/${created.id}`);
      } else {
        const saved = await catalog.update(record.id, d, { ifMatch: record.updated_at });
        rememberTyped(saved.id);
        app.ownWrites.add(saved.updated_at);
        current.dirty = false;
        toast(`Saved “${saved.name}”.`, "ok");
        app.focusHeading = false;
        await route();
      }
    } catch (e) {
      showSaveError(e, save);
    } finally {
      saveBtn.disabled = false;
    }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); save(); });

  versionBtn?.addEventListener("click", async function newVersion() {
    const changelog = h("textarea", { id: "changelog", name: "changelog", rows: 3, required: true });
    const data = await modal("Save as a new version", [
      h("p", {}, `Version ${record.version + 1} will be created with your edits; version ${record.version} stays in the history.`),
      h("label", { for: "changelog" }, "What changed (changelog)"), changelog], { submit: "Create version" });
    if (!data) return;
    const { d } = draft();
    const attempt = async () => {
      try {
        const v = await catalog.newVersion(record.id, d, String(data.get("changelog")), { ifMatch: record.updated_at });
        rememberTyped(v.id);
        current.dirty = false;
        toast(`Version ${v.version} created.`, "ok");
        navigate(`#/t/${v.id}`);
      } catch (e) { showSaveError(e, attempt); }
    };
    attempt();
  });

  deleteBtn?.addEventListener("click", async () => {
    const ok = await modal("Delete this template?", h("p", {}, `“${record.name}” version ${record.version} will be deleted. This cannot be undone.`), { submit: "Delete", danger: true });
    if (!ok) return;
    try {
      await catalog.delete(record.id);
      current.dirty = false;
      toast(`Deleted “${record.name}”.`, "ok");
      navigate("#/browse");
    } catch (e) { showSaveError(e, () => {}); }
  });

  return form;
}

// ---- inheritance --------------------------------------------------------------------------

async function inheritanceTab(app, record) {
  const res = await app.catalog.resolve(record.id);
  const names = new Map(res.chain.map((c) => [c.id, c]));
  const who = (id) => {
    const link = names.get(id);
    return h("a", { href: `#/t/${id}/inheritance`, class: id === record.id ? "self" : "" }, link ? `${link.name}${id === record.id ? " (this)" : ""}` : id);
  };
  const rows = leaves(res.effective.default_params).sort(([a], [b]) => a.localeCompare(b));
  const children = await app.catalog.derived(record.id);
  // One direction, in words: the root on the left, this template last; each derives from the
  // one before it (the package numbers levels from the leaf, which reads backwards here).
  const rootFirst = [...res.chain].sort((x, y) => y.level - x.level);
  // Tools and retrievers are a union, root first: each belongs to the first template naming it.
  const records = await Promise.all(rootFirst.map((c) => (c.id === record.id ? record : app.catalog.get(c.id).catch(() => null))));
  const listed = (items, key) => (items.length ? items.map((item, i) => {
    const by = records.find((t) => t && (t[key] ?? []).includes(item));
    return [i ? ", " : "", item, by && rootFirst.length > 1 ? h("span", { class: "from" }, ` (${by.id === record.id ? "this template" : by.name})`) : null];
  }) : "none");
  const role = (c, i) => (rootFirst.length === 1 ? "a root template: it inherits nothing"
    : i === 0 ? "root" : `derives from ${rootFirst[i - 1].name}`);
  return h("div", { class: "inherit" },
    h("section", { class: "card" },
      h("h2", {}, "Inheritance chain"),
      h("p", { class: "hint", id: "chain-hint" }, rootFirst.length === 1 ? "This template has no base."
        : `From the root to this template, ${rootFirst.length} templates: each merges its parameters over those of the one before it.`),
      h("ol", { class: "chain", id: "chain", "aria-describedby": "chain-hint" }, rootFirst.map((c, i) =>
        h("li", { class: c.id === record.id ? "current" : "", "aria-current": c.id === record.id ? "true" : null },
          h("span", { class: "chip" }, who(c.id), h("span", { class: "role" }, role(c, i)))))),
      h("h3", { class: "sub" }, "Derived from this version"),
      children.length ? h("ul", { class: "derived", id: "derived" }, children.map((c) => h("li", {}, h("a", { href: `#/t/${c.id}/inheritance` }, c.name), " ", h("span", { class: "muted" }, `v${c.version} · ${c.owner_id === app.userId ? "yours" : app.userName(c.owner_id)}`))))
        : h("p", { class: "muted", id: "derived" }, "No template you can see derives from it yet.")),
    h("section", { class: "card" },
      h("h2", {}, "Effective configuration"),
      h("dl", { class: "kv" },
        h("dt", {}, "Workflow type"), h("dd", {}, pill(res.effective.workflow_type, `type-${res.effective.workflow_type}`)),
        h("dt", {}, "Tools"), h("dd", { id: "eff-tools" }, listed(res.effective.required_tools, "required_tools")),
        h("dt", {}, "Retrievers"), h("dd", { id: "eff-retrievers" }, listed(res.effective.required_retrievers, "required_retrievers")),
        h("dt", {}, "Resolved hash"), h("dd", {}, h("code", { class: "hash", id: "inherit-resolved-hash" }, res.resolved_hash)),
        h("dt", {}, "config_hash"), h("dd", {}, h("code", { class: "hash" }, record.config_hash))),
      h("table", { class: "grid", id: "provenance" },
        h("caption", {}, "Effective parameters and the template that supplied each"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Parameter"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Supplied by"))),
        h("tbody", {}, rows.length ? rows.map(([path, value]) => h("tr", { dataset: { path } },
          h("th", { scope: "row" }, h("code", {}, path)), h("td", {}, h("code", {}, show(value))), h("td", {}, who(res.provenance[path]))))
          : h("tr", {}, h("td", { colspan: 3 }, "No parameters."))))));
}

// ---- usage and rating ---------------------------------------------------------------------

async function statsTab(app, record) {
  const statsBox = h("div", { id: "stats" });
  const problem = h("div", { "aria-live": "assertive" });
  function paint(t) {
    const cell = (k, v, id) => h("div", { class: "stat-tile" }, h("span", { class: "k" }, k), h("strong", { class: "v", id }, v));
    statsBox.replaceChildren(h("div", { class: "tiles" },
      cell("Uses", fmtNumber(t.usage_count), "stat-uses"),
      cell("Success rate", t.success_rate === null ? "—" : `${Math.round(t.success_rate * 100)}%`, "stat-success"),
      cell("Avg response", t.avg_response_time_ms === null ? "—" : `${fmtNumber(t.avg_response_time_ms)} ms`, "stat-time"),
      cell("Tokens used", fmtNumber(t.total_tokens_used), "stat-tokens"),
      cell("Avg tokens / use", fmtNumber(t.avg_tokens_per_use, 1), "stat-avg-tokens"),
      cell("Total cost", `$${fmtNumber(t.total_cost, 4)}`, "stat-cost"),
      cell("Rating", t.rating_count ? `${stars(t.rating)}` : "not rated", "stat-rating"),
      cell("Ratings", fmtNumber(t.rating_count), "stat-rating-count"),
      cell("Last used", fmtDate(t.last_used_at), "stat-last-used")));
  }
  paint(record);
  current.paintStats = async () => paint(await app.catalog.get(record.id));

  const starInputs = [1, 2, 3, 4, 5].map((n) => h("label", { class: "star" },
    h("input", { type: "radio", name: "stars", value: n, id: `star-${n}` }), h("span", { "aria-hidden": "true" }, "★"), h("span", { class: "sr-only" }, `${n} star${n > 1 ? "s" : ""}`)));
  const rateForm = h("form", { class: "card", id: "rate-form", onsubmit: async (e) => {
    e.preventDefault();
    const chosen = new FormData(rateForm).get("stars");
    if (!chosen) { problem.replaceChildren(errorBanner({ code: "INVALID_ARGUMENT", message: "Choose 1 to 5 stars first." })); return; }
    try { paint(await app.catalog.rate(record.id, Number(chosen))); problem.replaceChildren(); toast(`Rated ${chosen} stars.`, "ok"); }
    catch (err) { problem.replaceChildren(errorBanner(err)); }
  } },
  h("h2", {}, "Rate"),
  h("fieldset", { class: "stars" }, h("legend", {}, "Your rating (one per user; rating again replaces it)"), starInputs),
  h("button", { type: "submit", class: "btn primary", id: "rate" }, "Save rating"));

  const num = (id, lbl, attrs) => h("div", { class: "filter" }, h("label", { for: id }, lbl), h("input", { id, type: "number", min: 0, required: true, ...attrs }));
  const usageForm = h("form", { class: "card", id: "usage-form", onsubmit: async (e) => {
    e.preventDefault();
    const run = {
      success: $("#u-success", usageForm).value === "yes",
      responseTimeMs: Number($("#u-time", usageForm).value || 0),
      tokens: Number($("#u-tokens", usageForm).value || 0),
      cost: Number($("#u-cost", usageForm).value || 0),
    };
    try { paint(await app.catalog.recordUsage(record.id, run)); problem.replaceChildren(); toast("Run recorded.", "ok"); }
    catch (err) { problem.replaceChildren(errorBanner(err)); }
  } },
  h("h2", {}, "Record a run"),
  h("div", { class: "row4" },
    h("div", { class: "filter" }, h("label", { for: "u-success" }, "Outcome"), h("select", { id: "u-success" }, h("option", { value: "yes" }, "succeeded"), h("option", { value: "no" }, "failed"))),
    num("u-time", "Response time (ms)", { value: 1200, step: 1 }),
    num("u-tokens", "Tokens", { value: 800, step: 1 }),
    num("u-cost", "Cost ($)", { value: 0.002, step: "any" })),
  h("button", { type: "submit", class: "btn primary", id: "record-run" }, "Record run"));

  return h("div", { class: "stats" }, problem, h("section", { class: "card" }, h("h2", {}, "Statistics"), statsBox), h("div", { class: "two" }, rateForm, usageForm));
}

// ---- live updates from other tabs ---------------------------------------------------------

/** Where a change from elsewhere came from: on the server, any other client (the change feed). */
const elsewhere = (app) => (app.storage === "remote" ? "elsewhere (another tab or client of the server)" : "in another tab");

export async function onChange(event) {
  const c = current;
  // A label moved (here or in another tab): the event names the version it points (pointed)
  // at, maybe not this one, so the Versions tab repaints its badges whatever the id.
  if (event.kind === "label") { await c?.refreshLabels?.(); return; }
  if (!c?.record || (event.id && event.id !== c.record.id && event.kind !== "import")) return;
  let fresh;
  try { fresh = await c.app.catalog.get(c.record.id); } catch (e) {
    c.liveNote?.replaceChildren(h("div", { class: "banner warn" }, "This template was deleted or hidden by a change elsewhere. ", h("a", { href: "#/browse" }, "Back to templates")));
    return;
  }
  if (c !== current) return;
  if (fresh.updated_at === c.record.updated_at || c.app.ownWrites.has(fresh.updated_at)) { await c.paintStats?.(); return; }
  // The same content under a new stamp is no change to show: the server's answer to this tab's
  // own write (a replica stores the server's timestamps once its push is answered) or counters.
  // The shown copy takes the new stamp, so the next save's If-Match is the current one.
  if (changedFields(fresh, c.record).length === 0 && fresh.version === c.record.version && fresh.is_latest === c.record.is_latest) {
    c.record.updated_at = fresh.updated_at;
    await c.paintStats?.();
    return;
  }
  if (c.dirty) {
    c.liveNote?.replaceChildren(h("div", { class: "banner warn", id: "changed-elsewhere" },
      h("strong", {}, `This template was changed ${elsewhere(c.app)}. `), "Your unsaved edits are kept; saving will ask whether to overwrite."));
  } else {
    c.app.focusHeading = false;
    await route();
    $("#live-note")?.replaceChildren(h("div", { class: "banner info", id: "changed-elsewhere" }, `Updated with changes made ${elsewhere(c.app)}.`));
  }
}

export function leave() { current = null; }
export function isDirty() { return Boolean(current?.dirty); }
export function discard() { if (current) current.dirty = false; }
