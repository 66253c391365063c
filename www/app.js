// The template editor: a single page over the workflow-templates package (plain ES modules, no
// build step). Hash routes keep every view linkable and reload-proof:
//   #/browse[?label=L]  #/popular  #/new  #/new?base=ID  #/t/ID[/inheritance|/versions|/stats]
//   #/specs  #/specs/new  #/specs/ID  #/data
import init, * as wt from "/pkg/workflow_templates.js";
import { h, $, $$, toast, errorBanner, modal } from "./ui.js";
import * as browse from "./views/browse.js";
import * as popular from "./views/popular.js";
import * as template from "./views/template.js";
import * as specs from "./views/specs.js";
import * as data from "./views/data.js";
import { followSync, onSyncEvent } from "./sync.js";

/** Demo users to act as (access control is per user id). Against a server (`?remote=URL`)
 * they are the server's users from remote-users.local.json, written by `npm run start:remote`. */
export let USERS = [
  { id: "01JD0000000000000000000001", name: "Alice" },
  { id: "01JD0000000000000000000002", name: "Bob" },
  { id: "01JD0000000000000000000003", name: "Carol" },
];
const USER_KEY = "workflow-templates-editor.user";
// The acting user is remembered in localStorage when the browser allows it.
const remembered = {
  get() { try { return localStorage.getItem(USER_KEY); } catch { return null; } },
  set(id) { try { localStorage.setItem(USER_KEY, id); } catch { /* not remembered */ } },
};

export const app = {
  wt,
  catalog: null,
  userId: null,
  storage: null,
  view: null, // the active view module
  ownWrites: new Set(), // updated_at values this tab wrote (its own change events are not "from elsewhere")
  unsubscribe: null,
  userName(id) {
    if (id === "00000000000000000000000000") return "built-in";
    return USERS.find((u) => u.id === id)?.name ?? id.slice(-6);
  },
};

/** `?remote=URL`: the editor works on the reference server instead of this browser's storage,
 * through an offline replica in IndexedDB (it keeps working while the server is away; issue 15).
 * `&replica=0`: online only, every read and write a request (README "Template editor"). */
const REMOTE = new URLSearchParams(location.search).get("remote");
const REPLICA = REMOTE !== null && new URLSearchParams(location.search).get("replica") !== "0";
let tokens = new Map();

async function loadRemoteUsers() {
  const res = await fetch("remote-users.local.json", { cache: "no-store" });
  if (!res.ok) throw Object.assign(new Error("remote-users.local.json is missing: start with `npm run start:remote`"), { code: "UNAUTHORIZED" });
  const users = await res.json();
  USERS = users.map((u) => ({ id: u.user_id, name: u.name }));
  tokens = new Map(users.map((u) => [u.user_id, u.token]));
}

/** Opens the catalog: IndexedDB by default, then localStorage, then memory (with a notice);
 * the server when the page was opened with `?remote=URL`. */
async function openCatalog(userId) {
  if (REMOTE) {
    const catalog = await wt.TemplateCatalog.open({ userId, storage: "remote", baseUrl: REMOTE, token: tokens.get(userId), ...(REPLICA ? { replica: true } : {}) });
    return { catalog, storage: "remote", tried: [] };
  }
  const tried = [];
  for (const storage of ["indexeddb", "local", "memory"]) {
    try {
      const catalog = await wt.TemplateCatalog.open({ userId, storage });
      return { catalog, storage, tried };
    } catch (e) {
      if (e?.code !== "STORAGE_UNAVAILABLE") throw e;
      tried.push({ storage, message: e.message });
    }
  }
  throw new Error("no storage available");
}

function showStorageNotice(storage, tried) {
  const notice = $("#storage-notice");
  const badge = $("#storage-badge");
  const names = { indexeddb: "IndexedDB", local: "localStorage", memory: "memory only", remote: `server ${REMOTE}` };
  badge.textContent = names[storage];
  badge.className = `pill storage-${storage}`;
  document.body.dataset.storage = storage;
  if (tried.length === 0) { notice.hidden = true; return; }
  notice.hidden = false;
  notice.replaceChildren(
    h("p", {}, h("strong", {}, storage === "memory"
      ? "Your templates are kept in memory only: they are lost when you reload or close this tab, other tabs do not see them, and each acting user has a separate store."
      : `Saving to ${names[storage]} instead of IndexedDB.`),
      " ", h("code", { class: "code" }, "STORAGE_UNAVAILABLE")),
    h("p", { class: "detail" }, tried.map((t) => `${names[t.storage]}: ${t.message}`).join(" · ")));
}

/** On browser storage (IndexedDB, localStorage) this browser holds the only copy, and a server's
 * replica holds the only copy of the changes not yet sent: ask for persistent storage (the
 * browser may decide by itself or ask the user), show the answer, and say what may be lost when
 * the browser may still delete it (issue 15). */
async function showPersistence(storage, userId) {
  const badge = $("#persist-badge");
  const notice = $("#persist-notice");
  badge.hidden = true;
  notice.hidden = true;
  delete document.body.dataset.persisted;
  const replica = storage === "remote" && app.replica;
  if (storage !== "indexeddb" && storage !== "local" && !replica) return;
  const persisted = (await wt.TemplateCatalog.storagePersisted()) || (await wt.TemplateCatalog.requestPersistentStorage());
  if (app.userId !== userId || app.storage !== storage) return; // switched meanwhile
  document.body.dataset.persisted = String(persisted);
  badge.hidden = false;
  badge.textContent = persisted ? "persistent" : "not persistent";
  badge.className = `pill ${persisted ? "persist-yes" : "persist-no"}`;
  notice.hidden = persisted;
  if (!persisted && replica) {
    notice.replaceChildren(h("p", {},
      "The browser did not grant persistent storage: it may delete this browser's copy of the server's templates to free space, with your changes not yet sent to the server (Safari does after 7 days without a visit). They are sent as soon as the server answers."));
  } else if (!persisted) {
    notice.replaceChildren(h("p", {},
      "The browser did not grant persistent storage: it may delete your templates to free space (Safari does after 7 days without a visit). ",
      h("a", { href: "#/data" }, "Export"), " them now and then to keep a copy."));
  }
}

// In memory mode every open() is a separate, empty store: keep each user's catalog for the
// lifetime of the tab so switching back and forth loses nothing.
const memoryCatalogs = new Map();

async function switchUser(userId) {
  app.unsubscribe?.();
  if (app.storage !== "memory") app.catalog?.close();
  app.catalog = null;
  const opened = memoryCatalogs.has(userId)
    ? { catalog: memoryCatalogs.get(userId), storage: "memory", tried: app.tried }
    : await openCatalog(userId);
  const { catalog, storage, tried } = opened;
  if (storage === "memory") memoryCatalogs.set(userId, catalog);
  app.tried = tried;
  app.catalog = catalog;
  app.userId = userId;
  app.storage = storage;
  app.replica = storage === "remote" && REPLICA;
  remembered.set(userId);
  $("#user-select").value = userId;
  document.body.dataset.user = userId;
  showStorageNotice(storage, tried);
  showPersistence(storage, userId).catch((e) => console.warn("persistent storage:", e));
  followSync(app);
  app.unsubscribe = catalog.subscribe((event) => {
    try {
      if (!onSyncEvent(app, event)) app.view?.onChange?.(event);
    } catch (e) { console.error(e); }
  });
}

function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, "") || "browse";
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Asks before unsaved template edits are thrown away; resolves true to go ahead. */
async function okToLeave() {
  if (!app.view?.isDirty?.()) return true;
  const ok = await modal("Discard your unsaved edits?",
    h("p", {}, "This template has changes that are not saved yet. Leaving now throws them away."),
    { submit: "Discard and leave", cancel: "Keep editing", danger: true });
  if (ok) app.view?.discard?.();
  return Boolean(ok);
}

let routedHash = null;
async function onHashChange() {
  if (location.hash === routedHash) return;
  if (app.view?.isDirty?.()) {
    const target = location.hash;
    history.replaceState(null, "", routedHash || "#/browse"); // stay until the user decides
    if (!(await okToLeave())) return;
    location.hash = target;
    return;
  }
  route();
}

/** Puts a view's state into the route without routing again (a filter typed on the page). */
export function replaceRoute(hash) {
  if (location.hash === hash) return;
  history.replaceState(null, "", hash);
  routedHash = location.hash;
  document.body.dataset.route = location.hash;
}

let routeToken = 0;
export async function route() {
  const token = ++routeToken;
  routedHash = location.hash;
  document.body.dataset.ready = "false";
  const { parts, query } = parseRoute();
  const [head, a, b] = parts;
  let view = browse;
  let params = {};
  if (!head || head === "browse") params = { query };
  else if (head === "popular") view = popular;
  else if (head === "new") { view = template; params = { id: null, base: query.get("base"), tab: "edit" }; }
  else if (head === "t" && a) { view = template; params = { id: a, tab: b ?? "edit" }; }
  else if (head === "specs") { view = specs; params = { id: a ?? null }; }
  else if (head === "data") view = data;
  const section = view === template ? "browse" : (head ?? "browse");
  for (const link of $$("#main-nav a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  app.view?.leave?.();
  app.view = view;
  const container = $("#view");
  container.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await view.render(app, params);
    if (token !== routeToken) return;
    container.replaceChildren(content);
  } catch (e) {
    if (token !== routeToken) return;
    if (!e?.code) console.error(e); // package errors are shown in the banner; bugs also go to the console
    container.replaceChildren(h("section", { class: "card" }, errorBanner(e), h("p", {}, h("a", { href: "#/browse" }, "Back to templates"))));
  }
  document.body.dataset.view = view.name ?? head;
  document.body.dataset.route = location.hash; // tests wait for ready + the route they expect
  document.body.dataset.ready = "true";
  const heading = container.querySelector("h1, h2");
  if (heading && app.focusHeading) { heading.tabIndex = -1; heading.focus({ preventScroll: false }); }
  app.focusHeading = true;
}

app.reroute = () => { app.focusHeading = false; route(); };

async function main() {
  const select = $("#user-select");
  try {
    if (REMOTE) {
      await loadRemoteUsers();
      $(".foot").textContent = `Validation, hashing and inheritance run in the workflow-templates WebAssembly package here and on the server at ${REMOTE}, which stores everything.`;
    }
    for (const u of USERS) select.append(h("option", { value: u.id }, `${u.name} · …${u.id.slice(-4)}`));
    await init();
    const saved = remembered.get();
    await switchUser(USERS.some((u) => u.id === saved) ? saved : USERS[0].id);
  } catch (e) {
    $("#view").replaceChildren(errorBanner(e));
    document.body.dataset.ready = "error";
    return;
  }
  select.addEventListener("change", async () => {
    if (!(await okToLeave())) { select.value = app.userId; return; }
    await switchUser(select.value);
    toast(`Now acting as ${app.userName(select.value)}.`);
    await route();
  });
  window.addEventListener("hashchange", onHashChange);
  // Reloading or closing the tab with unsaved template edits asks first.
  window.addEventListener("beforeunload", (event) => {
    if (app.view?.isDirty?.()) { event.preventDefault(); event.returnValue = ""; }
  });
  await route();
}

main();
