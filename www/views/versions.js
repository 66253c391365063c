// A template's Versions tab: history with label badges, Set label…, label removal, Restore this
// version…, New version…, and the diff of two versions. Labels and rollback are the package's
// (setLabel / removeLabel / labels / restoreVersion, README "Decisions": Labels, Rollback).
import { h, pill, fmtDate, errorBanner, toast, modal, shortHash } from "../ui.js";
import { rememberText, recallText } from "../keyorder.js";
import { show } from "./inherited.js";
import { navigate } from "../app.js";

// The fields a user writes (TemplateDraft less changelog): a diff counts their changes as the
// template's; every other field (id, version, is_latest, config_hash, changelog, timestamps,
// usage and rating statistics) is bookkeeping the catalog keeps, listed apart.
const AUTHORED = new Set(["name", "description", "workflow_type", "category", "default_params", "required_tools",
  "required_retrievers", "base_template_id", "is_public", "tags", "extra_metadata", "estimated_complexity"]);
const authored = (path) => AUTHORED.has(path.split("/")[1]?.replaceAll("~1", "/").replaceAll("~0", "~"));

/** The package's rule for label names (SPEC section 6); checked here only to answer before a
 * round trip: the package checks again and its error is shown as it comes. */
export const LABEL_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export function labelProblem(name) {
  if (name === "") return "Type a label name.";
  if (name === "latest") return "“latest” is reserved: it always means the latest version.";
  if (!LABEL_RE.test(name)) {
    return "Use 1 to 64 characters: lowercase letters, digits, “_”, “.” and “-”, starting with a letter or digit.";
  }
  return null;
}

/** Plain words for a label write refused with CONFLICT, with a choice to reload. */
function conflictBanner(label, reload) {
  return h("div", { class: "banner error", role: "alert", id: "label-conflict", dataset: { code: "CONFLICT" } },
    h("p", {}, h("strong", {}, `The label “${label}” was changed elsewhere (perhaps in another tab) after this page read it, so nothing was changed. `),
      h("code", { class: "code" }, "CONFLICT")),
    h("p", {}, "Reload to see where it points now, then try again."),
    h("div", { class: "actions" }, h("button", { type: "button", class: "btn", id: "label-reload", onclick: reload }, "Reload the labels")));
}

/** The Set label… dialog for version `v`; resolves when it closes. */
function setLabelDialog(app, v, labels, done, reload) {
  const names = labels.map((l) => l.label);
  const input = h("input", { id: "label-name", name: "label", type: "text", list: "label-options", autocomplete: "off",
    spellcheck: "false", "aria-describedby": "label-hint label-check", maxlength: 64 });
  const check = h("p", { id: "label-check", class: "field-error", "aria-live": "polite" });
  const problem = h("div", { id: "label-problem", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "btn primary", id: "label-submit" }, "Set label");
  const form = h("form", { class: "modal-form", id: "label-form", novalidate: true },
    h("h2", { id: "label-dialog-title" }, `Set a label on version ${v.version}`),
    h("label", { for: "label-name" }, "Label name"), input,
    h("datalist", { id: "label-options" }, labels.map((l) => h("option", { value: l.label }, `now on version ${l.version}`))),
    h("p", { class: "hint", id: "label-hint" }, names.length
      ? `Labels of this template: ${labels.map((l) => `${l.label} (v${l.version})`).join(", ")}. Choosing one moves it here.`
      : "This template has no labels yet. An app can then fetch this version by name and label."),
    check, problem,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "Cancel"), submit));
  const dialog = h("dialog", { "aria-labelledby": "label-dialog-title", id: "label-dialog" }, form);
  let touched = false;
  const verdict = () => {
    const name = input.value.trim();
    const bad = labelProblem(name);
    const existing = labels.find((l) => l.label === name);
    check.className = bad ? "field-error" : "hint";
    check.textContent = bad && (touched || name !== "") ? bad
      : existing ? (existing.template_id === v.id ? `“${name}” is already on this version.` : `Moves “${name}” from version ${existing.version} to version ${v.version}.`)
        : name ? `Adds “${name}” to version ${v.version}.` : "";
    input.setAttribute("aria-invalid", String(Boolean(bad) && (touched || name !== "")));
    return { name, bad, existing };
  };
  input.addEventListener("input", () => { problem.replaceChildren(); verdict(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    touched = true;
    const { name, bad, existing } = verdict();
    if (bad) { input.focus(); return; }
    submit.disabled = true;
    try {
      // Moving a label sends the copy as read (If-Match); a new label has none to match.
      await app.catalog.setLabel(v.id, name, existing ? { ifMatch: existing.updated_at } : {});
      dialog.close();
      toast(`Label “${name}” now on version ${v.version}.`, "ok");
      done();
    } catch (err) {
      problem.replaceChildren(err?.code === "CONFLICT" ? conflictBanner(name, () => { dialog.close(); reload(); }) : errorBanner(err));
    } finally { submit.disabled = false; }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}

export async function versionsTab(app, record, state) {
  const owner = record.owner_id === app.userId && !record.is_builtin;
  const problem = h("div", { id: "versions-problem", "aria-live": "assertive" });
  const tbody = h("tbody");
  let versions = [];
  let labels = [];

  // Badges (and, for the owner, their controls) from versions({ withLabels }) + labels(): the
  // second gives each label's updated_at, the If-Match of a move or a removal.
  async function load() {
    const [withLabels, rows] = await Promise.all([
      app.catalog.versions(record.id, { withLabels: true }),
      app.catalog.labels(record.id),
    ]);
    versions = withLabels.map((x) => ({ ...x.record, labels: x.labels }));
    labels = rows;
  }
  async function repaint() {
    try { await load(); } catch (e) { problem.replaceChildren(errorBanner(e)); return; }
    tbody.replaceChildren(...versions.map(row));
  }
  const reload = () => { problem.replaceChildren(); repaint(); };

  function badge(v, name) {
    const row = labels.find((l) => l.label === name);
    const remove = owner ? h("button", { type: "button", class: "badge-x", "aria-label": `Remove label ${name} from version ${v.version}`, onclick: async () => {
      const ok = await modal(`Remove the label “${name}”?`, h("p", {}, `Apps asking for “${name}” will no longer find version ${v.version}.`), { submit: "Remove label", danger: true });
      if (!ok) return;
      try {
        await app.catalog.removeLabel(v.id, name, row ? { ifMatch: row.updated_at } : {});
        toast(`Label “${name}” removed.`, "ok");
        problem.replaceChildren();
        await repaint();
      } catch (e) { problem.replaceChildren(e?.code === "CONFLICT" ? conflictBanner(name, reload) : errorBanner(e)); }
    } }, "×") : null;
    return h("span", { class: "label-badge", dataset: { label: name } }, h("span", { class: "sr-only" }, "label "), name, remove);
  }

  function restore(v) {
    return async () => {
      const latest = versions[0];
      const fallback = `Restored version ${v.version} (${v.id})`;
      const changelog = h("textarea", { id: "restore-changelog", name: "changelog", rows: 2, value: fallback });
      const data = await modal(`Restore version ${v.version}?`, [
        h("p", {}, `Creates version ${latest.version + 1} with the configuration and description of version ${v.version}. The history is kept and labels stay where they are.`),
        h("label", { for: "restore-changelog" }, "Changelog"), changelog,
        h("p", { class: "hint" }, `Left empty, it is “${fallback}”.`)], { submit: "Restore" });
      if (!data) return;
      const text = String(data.get("changelog")).trim();
      try {
        const made = await app.catalog.restoreVersion(v.id, { changelog: text || undefined, ifMatch: latest.updated_at });
        for (const field of ["default_params", "extra_metadata"]) { // same content: the typed text carries over
          const typed = recallText(v.id, field, v[field]);
          if (typed) rememberText(made.id, field, typed);
        }
        toast(`Version ${v.version} restored as version ${made.version}.`, "ok");
        navigate(`#/t/${made.id}`);
      } catch (e) { problem.replaceChildren(errorBanner(e, h("button", { type: "button", class: "btn", onclick: reload }, "Reload the history"))); }
    };
  }

  function row(v) {
    const actions = owner ? [
      h("button", { type: "button", class: "btn small", dataset: { action: "set-label" }, onclick: () => setLabelDialog(app, v, labels, repaint, reload) }, "Set label…", h("span", { class: "sr-only" }, ` (version ${v.version})`)),
      v.is_latest ? null : h("button", { type: "button", class: "btn small", dataset: { action: "restore" }, onclick: restore(v) }, "Restore this version…", h("span", { class: "sr-only" }, ` (version ${v.version})`)),
    ] : [];
    return h("tr", { class: v.id === record.id ? "current" : "", dataset: { version: v.version, id: v.id } },
      h("td", {}, `v${v.version} `, v.is_latest ? pill("latest", "public") : null),
      h("td", { class: "labels" }, v.labels.map((name) => badge(v, name))),
      h("td", {}, v.changelog || h("span", { class: "muted" }, "—")),
      h("td", {}, fmtDate(v.updated_at)),
      h("td", {}, h("code", { title: v.config_hash, class: "hash-short" }, shortHash(v.config_hash))),
      h("td", { class: "row-actions" }, v.id === record.id ? h("span", { class: "muted" }, "viewing") : h("a", { href: `#/t/${v.id}` }, `Open v${v.version}`), " ", actions));
  }

  await load();
  tbody.replaceChildren(...versions.map(row));
  // Label events (this tab's or another's) repaint the badges in place (template.js onChange).
  state.refreshLabels = repaint;

  const opt = (v) => h("option", { value: v.id }, `v${v.version}${v.is_latest ? " (latest)" : ""} · ${fmtDate(v.updated_at)}`);
  const a = h("select", { id: "diff-a" }, versions.map(opt));
  const b = h("select", { id: "diff-b" }, versions.map(opt));
  if (versions.length > 1) { a.value = versions[1].id; b.value = versions[0].id; }
  const out = h("div", { id: "diff-out", "aria-live": "polite" });
  async function compare() {
    out.replaceChildren();
    try {
      const changes = await app.catalog.diff(a.value, b.value);
      const va = versions.find((v) => v.id === a.value), vb = versions.find((v) => v.id === b.value);
      if (changes.length === 0) { out.append(h("p", { id: "diff-none" }, "These two are identical.")); return; }
      const mine = changes.filter((c) => authored(c.path));
      const kept = changes.filter((c) => !authored(c.path));
      const table = (id, caption, rows) => h("table", { class: "grid diff", id },
        h("caption", {}, caption),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, `v${va.version}`), h("th", { scope: "col" }, `v${vb.version}`))),
        h("tbody", {}, rows.map((c) => h("tr", { class: `op-${c.op}` },
          h("th", { scope: "row" }, h("code", {}, c.path)),
          h("td", { class: "before" }, c.op === "add" ? h("em", {}, "absent") : h("code", {}, show(c.before))),
          h("td", { class: "after" }, c.op === "remove" ? h("em", {}, "absent") : h("code", {}, show(c.after)))))));
      out.append(mine.length
        ? table("diff-table", `${mine.length} change${mine.length === 1 ? "" : "s"} to the template (configuration and description)`, mine)
        : h("p", { id: "diff-none" }, "No change to the template's configuration or description; only the catalog's bookkeeping differs."));
      if (kept.length) {
        out.append(h("details", { class: "bookkeeping", id: "diff-bookkeeping" },
          h("summary", {}, `Bookkeeping kept by the catalog: ${kept.length} field${kept.length === 1 ? "" : "s"} (${kept.map((c) => c.path.split("/")[1]).filter((k, i, all) => all.indexOf(k) === i).join(", ")})`),
          table("diff-bookkeeping-table", "Fields the catalog sets (ids, version, timestamps, hash, changelog, statistics)", kept)));
      }
    } catch (e) { out.append(errorBanner(e)); }
  }
  const newVersionBtn = owner ? h("button", { type: "button", class: "btn", id: "new-version", onclick: async () => {
    const latest = versions[0];
    const data = await modal("New version", [h("p", {}, `Creates version ${latest.version + 1} from version ${latest.version} (edit it afterwards, or use “Save as new version” in the editor to include edits).`),
      h("label", { for: "nv-changelog" }, "Changelog"), h("textarea", { id: "nv-changelog", name: "changelog", rows: 3 })], { submit: "Create version" });
    if (!data) return;
    try {
      const v = await app.catalog.newVersion(latest.id, {}, String(data.get("changelog")), { ifMatch: latest.updated_at });
      for (const field of ["default_params", "extra_metadata"]) { // same content: the typed text carries over
        const typed = recallText(latest.id, field, latest[field]);
        if (typed) rememberText(v.id, field, typed);
      }
      toast(`Version ${v.version} created.`, "ok");
      navigate(`#/t/${v.id}/versions`);
    } catch (e) { out.replaceChildren(errorBanner(e)); }
  } }, "+ New version…") : null;
  if (versions.length > 1) await compare();
  return h("div", { class: "versions" },
    h("section", { class: "card" },
      h("div", { class: "label-row" }, h("h2", {}, "History"), newVersionBtn),
      h("p", { class: "hint", id: "labels-hint" }, owner
        ? "Labels (such as production or staging) name one version for apps: getByName(name, { label }). Set label… adds one or moves it here."
        : "Labels (such as production) name the version an app fetches; only the owner sets them."),
      problem,
      h("table", { class: "grid", id: "version-table" },
        h("thead", {}, h("tr", {}, ["Version", "Labels", "Changelog", "Edited", "config_hash"].map((t) => h("th", { scope: "col" }, t)), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        tbody)),
    h("section", { class: "card" },
      h("h2", {}, "Compare two versions"),
      versions.length < 2 ? h("p", { class: "muted" }, "There is only one version so far.") : h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); compare(); } },
        h("div", { class: "filter" }, h("label", { for: "diff-a" }, "From"), a), h("div", { class: "filter" }, h("label", { for: "diff-b" }, "To"), b),
        h("button", { type: "submit", class: "btn primary", id: "compare" }, "Compare")),
      out));
}

