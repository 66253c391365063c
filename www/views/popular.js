// Popular by category: the top public templates of each category (catalog.popularByCategory).
import { h, CATEGORIES, label } from "../ui.js";
import { templateCard } from "./browse.js";

export const name = "popular";
let current = null;

export async function render(app) {
  const grid = h("div", { class: "popular-grid" });
  async function load() {
    const byCategory = await app.catalog.popularByCategory(3);
    grid.replaceChildren(...CATEGORIES.map((c) => {
      const items = byCategory[c] ?? [];
      return h("section", { class: "category", "aria-labelledby": `cat-${c}` },
        h("h2", { id: `cat-${c}` }, label(c)),
        items.length ? h("ol", { class: "cards compact" }, items.map((t) => templateCard(app, t, { heading: "h3" })))
          : h("p", { class: "muted" }, "No public template yet."));
    }));
  }
  current = { load };
  await load();
  return h("section", {},
    h("div", { class: "page-head" }, h("h1", {}, "Popular by category"),
      h("p", { class: "lede" }, "The three most used public templates of every category, built-ins included.")),
    grid);
}

export function onChange() { current?.load?.(); }
export function leave() { current = null; }
