// The replica of a server catalog (`?remote=URL` opens it with `replica: true` unless `&replica=0`; issue 15): the
// top bar's sync badge (online / offline / syncing, and how many writes wait in the outbox) and
// the conflicts the sync reports. A conflict offers the same choice as a conflict between tabs
// (views/template.js): reload the saved version, or overwrite it with mine.
import { h, $, toast } from "./ui.js";

/** The fields a person edits: what a conflict says was changed on the other side. */
export const EDITED_FIELDS = ["name", "description", "workflow_type", "category", "default_params", "required_tools",
  "required_retrievers", "base_template_id", "is_public", "tags", "extra_metadata", "estimated_complexity"];

/** EDITED_FIELDS whose values differ between two copies of a template. */
export const changedFields = (a, b) => EDITED_FIELDS.filter((k) => JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k]));

const conflicts = new Map(); // "<recordKind> <id>" -> { id, recordKind, local, remote }

/** Paints the badge from `{ state, pending }` (hidden unless the catalog is a replica). */
export function paintSync(s) {
  const badge = $("#sync-badge");
  if (!s) {
    badge.hidden = true;
    delete document.body.dataset.sync;
    return;
  }
  const pending = Number(s.pending) || 0;
  badge.hidden = false;
  badge.textContent = pending > 0 ? `${s.state} · ${pending} pending` : s.state;
  badge.className = `pill sync-${s.state}`;
  badge.dataset.pending = String(pending);
  badge.title = {
    online: "Connected to the server: changes are sent at once and others' changes arrive live",
    offline: "The server cannot be reached: changes are kept in this browser and sent when it answers again",
    syncing: "Sending queued changes to the server and reading its news",
  }[s.state] ?? s.state;
  document.body.dataset.sync = s.state;
}

/** Starts following `app.catalog`'s sync state (call after each open). */
export function followSync(app) {
  conflicts.clear();
  paintConflicts(app);
  paintSync(app.replica ? app.catalog.syncState() : null);
}

/** A subscribe event of the catalog: sync state and conflicts are handled here. */
export function onSyncEvent(app, event) {
  if (event.kind === "sync") {
    paintSync({ state: event.state, pending: event.pending });
    return true;
  }
  if (event.kind === "conflict") {
    // One id may have a label conflict and a template conflict at once: kept apart.
    conflicts.set(`${event.recordKind ?? "template"} ${event.id}`, event);
    paintConflicts(app);
    return true;
  }
  return false;
}

function paintConflicts(app) {
  const notice = $("#sync-notice");
  notice.hidden = conflicts.size === 0;
  notice.replaceChildren(...[...conflicts.values()].map((c) => conflictBanner(app, c)));
}

function conflictBanner(app, { id, recordKind, local, remote }) {
  const name = local?.name ?? remote?.name ?? id;
  const changed = remote ? changedFields(local, remote) : [];
  const resolve = async (how, done) => {
    try {
      await app.catalog.resolveConflict(id, how, recordKind);
      conflicts.delete(`${recordKind ?? "template"} ${id}`);
      paintConflicts(app);
      if (how === "overwrite") app.catalog.sync().catch(() => {}); // send it now if the server answers
      toast(done, "ok");
      // The open view may show this template: show what is now saved.
      if (location.hash.includes(id)) app.reroute?.();
    } catch (e) {
      toast(`Not resolved: ${e?.message ?? e} (${e?.code ?? "ERROR"})`, "error");
    }
  };
  return h("div", { class: "banner warn", role: "alert", dataset: { conflict: id } },
    h("p", {}, h("strong", {}, `“${name}” was changed elsewhere while your edit waited to be sent. `),
      "Your edit is kept here and was not sent: choose which version to keep. ",
      h("a", { href: `#/t/${id}` }, "Open it")),
    h("p", { class: "conflict-fields" }, !remote ? "It was deleted or hidden there."
      : changed.length ? `Changed there: ${changed.join(", ")}.` : "The other change did not touch the fields you edit here."),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn", dataset: { action: "keep-remote" }, onclick: () => resolve("keep-remote", `Kept the saved version of “${name}”.`) },
        "Reload the saved version (discard my edits)"),
      h("button", { type: "button", class: "btn primary", dataset: { action: "overwrite" }, onclick: () => resolve("overwrite", `Your version of “${name}” will overwrite the saved one.`) },
        "Overwrite with my version")));
}
