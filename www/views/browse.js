// Browse and discover: filters, sort, paging over catalog.discover().
import { h, CATEGORIES, WORKFLOW_TYPES, label, pill, stars, fmtNumber, fmtDate, splitList, errorBanner, plainError } from "../ui.js";
import { navigate, replaceRoute } from "../app.js";
import { labelProblem } from "./versions.js";

export const name = "browse";
const PAGE = 12;
const state = { text: "", category: "", workflowType: "", tags: "", label: "", scope: "all", sort: "popular", offset: 0 };
// The label filter looks at up to this many lineages matching the other filters (README
// "Template editor": discover has no label filter, so each lineage's labels() is read).
const LABEL_SCAN = 500;
let current = null; // { app, results }

/** A template's card; `heading` is the level its title takes under the page's outline (h2 on
 * the list, h3 under a category's h2 on Popular): no skipped level. */
export function templateCard(app, t, { heading = "h2", labelled = null } = {}) {
  const mine = t.owner_id === app.userId;
  const visibility = t.is_builtin ? pill("built-in", "builtin") : t.is_public ? pill("public", "public") : pill("private", "private");
  return h("li", { class: "tcard", dataset: { id: t.id } },
    h("div", { class: "tcard-head" },
      h(heading, { class: "tcard-title" }, h("a", { href: `#/t/${t.id}` }, t.name)),
      visibility),
    h("p", { class: "meta" },
      pill(label(t.category)), " ", pill(t.workflow_type, `type-${t.workflow_type}`),
      " ", h("span", { class: "muted" }, `v${t.version} · ${t.is_builtin ? "built-in" : mine ? "yours" : `by ${app.userName(t.owner_id)}`}`)),
    h("p", { class: "desc" }, t.description || h("span", { class: "muted" }, "No description.")),
    labelled ? h("p", { class: "card-label" }, h("span", { class: "label-badge" }, h("span", { class: "sr-only" }, "label "), labelled.label), " ",
      h("a", { href: `#/t/${labelled.template_id}` }, `on version ${labelled.version}`)) : null,
    t.tags?.length ? h("p", { class: "tags" }, t.tags.map((tag) => h("span", { class: "tag" }, `#${tag}`))) : null,
    h("div", { class: "tcard-foot" },
      h("span", { class: "stat", title: "uses" }, `${fmtNumber(t.usage_count)} uses`),
      h("span", { class: "stat rating", title: "rating" }, t.rating_count ? `${stars(t.rating)} (${t.rating_count})` : "not rated"),
      h("a", { class: "btn small ghost", href: `#/new?base=${t.id}`, "aria-label": `Derive a new template from ${t.name}` }, "Derive")));
}

/** Every lineage matching `options` (up to LABEL_SCAN) whose labels include `wanted`, with
 * that label's row: one discover per 100 lineages, then one labels() per lineage, 8 at a time. */
async function withLabel(app, options, wanted) {
  const items = [];
  let total = 0;
  for (let offset = 0; offset < LABEL_SCAN; offset += 100) {
    const page = await app.catalog.discover({ ...options, limit: 100, offset });
    items.push(...page.items);
    total = page.total;
    if (offset + 100 >= page.total) break;
  }
  const found = [];
  for (let i = 0; i < items.length; i += 8) {
    const rows = await Promise.all(items.slice(i, i + 8).map((t) => (wanted === "latest"
      ? [{ label: "latest", template_id: t.id, version: t.version }] // reserved: every lineage has it
      : app.catalog.labels(t.id).catch(() => []))));
    rows.forEach((list, k) => {
      const hit = list.find((l) => l.label === wanted);
      if (hit) found.push({ t: items[i + k], hit });
    });
  }
  return { found, scanned: items.length, total };
}

/** Open by name: catalog.getByName(name, { label } or { version }), errors in words. */
function openByName(app) {
  const nameIn = h("input", { id: "obn-name", type: "text", autocomplete: "off", required: true, placeholder: "e.g. Support bot" });
  const pickIn = h("input", { id: "obn-pick", type: "text", autocomplete: "off", placeholder: "e.g. production or 3" });
  const out = h("div", { id: "obn-problem", "aria-live": "assertive" });
  const say = (code, plain, detail) => out.replaceChildren(h("div", { class: "banner error", role: "alert", dataset: { code } },
    h("p", {}, h("strong", {}, plain), " ", h("code", { class: "code" }, code)), detail ? h("p", { class: "detail" }, detail) : null));
  const form = h("form", { class: "card open-by-name", id: "open-by-name", "aria-labelledby": "obn-title", onsubmit: async (e) => {
    e.preventDefault();
    const name = nameIn.value.trim();
    const pick = pickIn.value.trim();
    out.replaceChildren();
    if (!name) { say("INVALID_ARGUMENT", "Type the name of a template."); nameIn.focus(); return; }
    const options = {};
    if (/^[0-9]+$/.test(pick)) options.version = Number(pick);
    else if (pick) {
      const bad = labelProblem(pick);
      if (bad && pick !== "latest") { say("INVALID_ARGUMENT", `“${pick}” is neither a version number nor a label name.`, bad); return; }
      options.label = pick;
    }
    const what = options.version ? ` version ${options.version}` : options.label ? ` with the label “${options.label}”` : "";
    try {
      const found = await app.catalog.getByName(name, options);
      navigate(`#/t/${found.id}`);
    } catch (err) {
      if (err?.code === "NOT_FOUND") say("NOT_FOUND", `No template named “${name}”${what} that you can see.`, err.message);
      else if (err?.code === "AMBIGUOUS_BASE") say("AMBIGUOUS_BASE", `Several public templates are named “${name}” and none is yours or built-in, so the name alone does not say which.`, err.message);
      else say(plainError(err).code, plainError(err).plain, err?.message);
    }
  } },
  h("h2", { id: "obn-title" }, "Open by name"),
  h("div", { class: "row-inline" },
    h("div", { class: "filter" }, h("label", { for: "obn-name" }, "Name"), nameIn),
    h("div", { class: "filter" }, h("label", { for: "obn-pick" }, "Label or version (optional)"), pickIn),
    h("button", { type: "submit", class: "btn", id: "obn-open" }, "Open")),
  out);
  return form;
}

export async function render(app, params = {}) {
  current = { app };
  // The label filter is part of the route (#/browse?label=production), so it can be linked.
  state.label = params.query?.get("label") ?? "";
  const field = (lbl, control) => h("div", { class: "filter" }, h("label", { for: control.id }, lbl), control);
  const text = h("input", { type: "search", id: "f-text", value: state.text, placeholder: "name or description", autocomplete: "off" });
  const category = h("select", { id: "f-category" }, h("option", { value: "" }, "any"), CATEGORIES.map((c) => h("option", { value: c }, label(c))));
  const type = h("select", { id: "f-type" }, h("option", { value: "" }, "any"), WORKFLOW_TYPES.map((c) => h("option", { value: c }, c)));
  const tags = h("input", { type: "text", id: "f-tags", value: state.tags, placeholder: "e.g. rust, review", autocomplete: "off" });
  const labelIn = h("input", { type: "text", id: "f-label", value: state.label, placeholder: "e.g. production", autocomplete: "off", spellcheck: "false" });
  const scope = h("select", { id: "f-scope" },
    h("option", { value: "all" }, "everything I can see"),
    h("option", { value: "mine" }, "mine only"),
    h("option", { value: "builtin" }, "built-in only"),
    h("option", { value: "nobuiltin" }, "without built-ins"));
  const sort = h("select", { id: "f-sort" },
    h("option", { value: "popular" }, "most used"), h("option", { value: "rating" }, "best rated"),
    h("option", { value: "recent" }, "recently edited"), h("option", { value: "name" }, "name"));
  category.value = state.category; type.value = state.workflowType; scope.value = state.scope; sort.value = state.sort;
  const list = h("ul", { class: "cards", id: "results", "aria-label": "Templates" });
  const summary = h("p", { class: "summary", id: "results-summary", role: "status" });
  const prev = h("button", { type: "button", class: "btn", id: "page-prev" }, "← Previous");
  const next = h("button", { type: "button", class: "btn", id: "page-next" }, "Next →");
  const pageInfo = h("span", { class: "page-info", id: "page-info" });
  const problem = h("div");

  let timer;
  const changed = (debounce) => {
    state.text = text.value; state.category = category.value; state.workflowType = type.value;
    state.tags = tags.value; state.label = labelIn.value.trim(); state.scope = scope.value; state.sort = sort.value; state.offset = 0;
    clearTimeout(timer);
    replaceRoute(state.label ? `#/browse?label=${encodeURIComponent(state.label)}` : "#/browse");
    timer = setTimeout(load, debounce ? 200 : 0);
  };
  for (const el of [text, tags, labelIn]) el.addEventListener("input", () => changed(true));
  for (const el of [category, type, scope, sort]) el.addEventListener("change", () => changed(false));
  prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); load(); });
  next.addEventListener("click", () => { state.offset += PAGE; load(); });

  let loadSeq = 0;
  async function load() {
    const mine = ++loadSeq; // a slower, older query must not overwrite a newer one
    const options = { sort: state.sort, limit: PAGE, offset: state.offset };
    if (state.text.trim()) options.text = state.text.trim();
    if (state.category) options.category = state.category;
    if (state.workflowType) options.workflowType = state.workflowType;
    const tagList = splitList(state.tags, { commasOnly: true });
    if (tagList) options.tags = tagList;
    if (state.scope === "mine") { options.owner = app.userId; options.includeBuiltin = false; }
    if (state.scope === "builtin") options.owner = "00000000000000000000000000";
    if (state.scope === "nobuiltin") options.includeBuiltin = false;
    problem.replaceChildren();
    try {
      if (state.label) { await loadLabelled(mine, options); return; }
      const page = await app.catalog.discover(options);
      if (mine !== loadSeq) return;
      if (page.items.length === 0 && page.total > 0 && state.offset > 0) { state.offset = 0; return load(); }
      list.replaceChildren(...page.items.map((t) => templateCard(app, t)));
      if (page.items.length === 0) list.append(h("li", { class: "empty" }, "No template matches these filters."));
      const from = page.total ? page.offset + 1 : 0;
      const to = page.offset + page.items.length;
      summary.textContent = `${page.total} template${page.total === 1 ? "" : "s"} found`;
      pageInfo.textContent = page.total ? `${from}–${to} of ${page.total}` : "";
      prev.disabled = page.offset === 0;
      next.disabled = to >= page.total;
    } catch (e) {
      problem.replaceChildren(errorBanner(e));
    }
  }
  // With a label: the matching lineages are collected, filtered by their labels and paged here.
  async function loadLabelled(mine, options) {
    const bad = labelProblem(state.label);
    if (bad && state.label !== "latest") {
      if (mine !== loadSeq) return;
      list.replaceChildren(h("li", { class: "empty" }, `“${state.label}” is not a label name. ${bad}`));
      summary.textContent = "0 templates found"; pageInfo.textContent = ""; prev.disabled = true; next.disabled = true;
      return;
    }
    const { found, scanned, total } = await withLabel(app, { ...options, limit: undefined, offset: undefined }, state.label);
    if (mine !== loadSeq) return;
    if (state.offset >= found.length && state.offset > 0) state.offset = 0;
    const pageItems = found.slice(state.offset, state.offset + PAGE);
    list.replaceChildren(...pageItems.map(({ t, hit }) => templateCard(app, t, { labelled: hit })));
    if (pageItems.length === 0) list.append(h("li", { class: "empty" }, `No template matches these filters with the label “${state.label}”.`));
    summary.textContent = `${found.length} template${found.length === 1 ? "" : "s"} found with the label “${state.label}”${scanned < total ? ` (among the first ${scanned} of ${total}; narrow the other filters to see the rest)` : ""}`;
    const to = state.offset + pageItems.length;
    pageInfo.textContent = found.length ? `${state.offset + 1}–${to} of ${found.length}` : "";
    prev.disabled = state.offset === 0;
    next.disabled = to >= found.length;
  }
  current.reload = load;
  await load();

  return h("section", { class: "browse" },
    h("div", { class: "page-head" },
      h("h1", {}, "Templates"),
      h("a", { class: "btn primary", href: "#/new" }, "+ New template")),
    h("form", { class: "filters card", role: "search", "aria-label": "Filter templates", onsubmit: (e) => e.preventDefault() },
      field("Search", text), field("Category", category), field("Workflow type", type),
      field("Tags (all must match)", tags), field("Label", labelIn), field("Show", scope), field("Sort by", sort)),
    openByName(app),
    problem, summary, list,
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, pageInfo, next));
}

export function onChange() { current?.reload?.(); }
export function leave() { current = null; }
export { fmtDate };
