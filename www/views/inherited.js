// The editor's read-only "What this template inherits" panel: every effective parameter, tool
// and retriever of a draft (the package's catalog.preview result) with the template that
// supplied it, so a derived draft that starts as {} with no tools still shows what it will have.
import { h } from "../ui.js";

export function show(value) { return JSON.stringify(value); }
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** [JSON pointer, value] of every leaf of an object (empty objects are leaves). */
export function leaves(obj, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(obj)) {
    const path = `${prefix}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    if (isObject(v) && Object.keys(v).length) out.push(...leaves(v, path));
    else out.push([path, v]);
  }
  return out;
}

/** The panel for one editor: { root, compute(resolution, draft), paint(draft, view) }. */
export function inheritedPanel(catalog) {
  const root = h("section", { class: "inherited", id: "inherited", "aria-labelledby": "inherited-title", hidden: true });
  const ancestors = new Map(); // id -> Promise<record | null>: each ancestor's own tools and retrievers
  const ancestor = (id) => {
    if (!ancestors.has(id)) ancestors.set(id, catalog.get(id).catch(() => null));
    return ancestors.get(id);
  };
  /** The supplier of every effective value of a preview: { leafId, names, params, tools, retrievers }. */
  async function compute(r, d) {
    const leafId = r.chain.find((c) => c.level === 0)?.id ?? r.id;
    const names = new Map(r.chain.map((c) => [c.id, c.name]));
    const rootFirst = [...r.chain].sort((x, y) => y.level - x.level).filter((c) => c.id !== leafId);
    const records = (await Promise.all(rootFirst.map((c) => ancestor(c.id)))).filter(Boolean);
    // Lists are a union, root first (SPEC section 5): the supplier is the first that names it.
    const supplier = (key, item) => records.find((t) => (t[key] ?? []).includes(item))?.id ?? leafId;
    return {
      leafId, names,
      params: leaves(r.effective.default_params).map(([path, value]) => ({ path, value, from: r.provenance[path] ?? leafId })),
      tools: r.effective.required_tools.map((t) => ({ item: t, from: supplier("required_tools", t) })),
      retrievers: r.effective.required_retrievers.map((t) => ({ item: t, from: supplier("required_retrievers", t) })),
      baseName: names.get(d.base_template_id) ?? d.base_template_id,
    };
  }
  function paint(d, view) {
    root.hidden = !d.base_template_id;
    if (root.hidden) { root.replaceChildren(); return; }
    const title = h("h2", { id: "inherited-title" }, view ? `What this template inherits from ${view.baseName}` : "What this template inherits");
    if (!view) {
      root.replaceChildren(title, h("p", { class: "hint", id: "inherited-stale" }, "Shown again once the base and the parameters above are valid."));
      return;
    }
    const from = (id) => (id === view.leafId
      ? h("span", { class: "from own" }, "set here")
      : h("span", { class: "from" }, "from ", h("strong", {}, view.names.get(id) ?? id)));
    const own = view.params.filter((p) => p.from === view.leafId).length;
    const list = (key, items, none) => (items.length
      ? h("ul", { class: "inherited-list", id: `inherited-${key}` }, items.map((t) => h("li", { dataset: { from: t.from === view.leafId ? "own" : "inherited" } },
        h("code", {}, t.item), " ", from(t.from))))
      : h("p", { class: "muted", id: `inherited-${key}` }, none));
    root.replaceChildren(title,
      h("p", { class: "hint" }, "Read-only: the effective configuration after inheritance, as it would be saved now. Your parameters above merge over the inherited ones; your tools and retrievers are added to theirs."),
      h("table", { class: "grid", id: "inherited-params" },
        h("caption", {}, `Effective parameters: ${view.params.length - own} inherited, ${own} set here`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Parameter"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Where it comes from"))),
        h("tbody", {}, view.params.length ? view.params.map((p) => h("tr", { dataset: { path: p.path, from: p.from === view.leafId ? "own" : "inherited" } },
          h("th", { scope: "row" }, h("code", {}, p.path)), h("td", {}, h("code", {}, show(p.value))), h("td", {}, from(p.from))))
          : h("tr", {}, h("td", { colspan: 3 }, "No parameters.")))),
      h("div", { class: "row" },
        h("div", {}, h("h3", { class: "sub" }, "Effective tools"), list("tools", view.tools, "No tools.")),
        h("div", {}, h("h3", { class: "sub" }, "Effective retrievers"), list("retrievers", view.retrievers, "No retrievers."))));
  }

  return { root, compute, paint };
}
