// Browse and discover: filters, sort, paging over catalog.discover().
import { h, $, CATEGORIES, WORKFLOW_TYPES, label, pill, stars, fmtNumber, fmtDate, splitList, errorBanner } from "../ui.js";

export const name = "browse";
const PAGE = 12;
const state = { text: "", category: "", workflowType: "", tags: "", scope: "all", sort: "popular", offset: 0 };
let current = null; // { app, results }

/** A template's card; `heading` is the level its title takes under the page's outline (h2 on
 * the list, h3 under a category's h2 on Popular): no skipped level. */
export function templateCard(app, t, { heading = "h2" } = {}) {
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
    t.tags?.length ? h("p", { class: "tags" }, t.tags.map((tag) => h("span", { class: "tag" }, `#${tag}`))) : null,
    h("div", { class: "tcard-foot" },
      h("span", { class: "stat", title: "uses" }, `${fmtNumber(t.usage_count)} uses`),
      h("span", { class: "stat rating", title: "rating" }, t.rating_count ? `${stars(t.rating)} (${t.rating_count})` : "not rated"),
      h("a", { class: "btn small ghost", href: `#/new?base=${t.id}`, "aria-label": `Derive a new template from ${t.name}` }, "Derive")));
}

export async function render(app) {
  current = { app };
  const field = (lbl, control) => h("div", { class: "filter" }, h("label", { for: control.id }, lbl), control);
  const text = h("input", { type: "search", id: "f-text", value: state.text, placeholder: "name or description", autocomplete: "off" });
  const category = h("select", { id: "f-category" }, h("option", { value: "" }, "any"), CATEGORIES.map((c) => h("option", { value: c }, label(c))));
  const type = h("select", { id: "f-type" }, h("option", { value: "" }, "any"), WORKFLOW_TYPES.map((c) => h("option", { value: c }, c)));
  const tags = h("input", { type: "text", id: "f-tags", value: state.tags, placeholder: "e.g. rust, review", autocomplete: "off" });
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
    state.tags = tags.value; state.scope = scope.value; state.sort = sort.value; state.offset = 0;
    clearTimeout(timer);
    timer = setTimeout(load, debounce ? 200 : 0);
  };
  for (const el of [text, tags]) el.addEventListener("input", () => changed(true));
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
  current.reload = load;
  await load();

  return h("section", { class: "browse" },
    h("div", { class: "page-head" },
      h("h1", {}, "Templates"),
      h("a", { class: "btn primary", href: "#/new" }, "+ New template")),
    h("form", { class: "filters card", role: "search", "aria-label": "Filter templates", onsubmit: (e) => e.preventDefault() },
      field("Search", text), field("Category", category), field("Workflow type", type),
      field("Tags (all must match)", tags), field("Show", scope), field("Sort by", sort)),
    problem, summary, list,
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, pageInfo, next));
}

export function onChange() { current?.reload?.(); }
export function leave() { current = null; }
export { fmtDate };
