// Small DOM and UI helpers shared by every view. No framework: see README "Template editor".

/** h("div", { class: "x", onclick }, child, "text", [more]) builds an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export const CATEGORIES = [
  "general", "customer_support", "programming", "research", "data_analysis", "creative",
  "educational", "business", "custom",
];
export const WORKFLOW_TYPES = ["plain", "tools", "rag", "full"];
export const TYPE_HELP = {
  plain: "plain: no tools, no retrievers",
  tools: "tools: at least one tool, no retrievers",
  rag: "rag: at least one retriever, no tools",
  full: "full: at least one tool and one retriever",
};
export const BUILTIN_OWNER = "00000000000000000000000000";

export const label = (value) => String(value).replaceAll("_", " ");

/** Plain-words explanation of every error code of the package. */
const PLAIN = {
  VALIDATION_FAILED: "Some fields need fixing before this can be saved.",
  NOT_FOUND: "That item does not exist, or it is private to another user.",
  FORBIDDEN: "You are not allowed to change this item: only its owner can.",
  NAME_TAKEN: "You already have a template with this name. Pick another name.",
  CONFLICT: "This was changed elsewhere (perhaps in another tab) after you opened it.",
  INHERITANCE_CYCLE: "The chosen base would make the template inherit from itself.",
  INHERITANCE_TOO_DEEP: "The inheritance chain would be longer than 16 templates.",
  BASE_NOT_FOUND: "The base template cannot be found (or you cannot see it).",
  AMBIGUOUS_BASE: "More than one public template has that base name; make the name unique.",
  BUILTIN_READ_ONLY: "Built-in templates are read-only. Derive your own copy to change it.",
  HAS_DERIVED: "Other templates derive from this one, so it cannot be deleted yet.",
  HAS_LABELS: "Labels point at this version, so it cannot be deleted yet: move or remove them on the Versions tab first.",
  INTEGRITY: "Stored data failed its integrity check (its config hash does not match).",
  STORAGE_QUOTA: "The browser's storage is full. Delete something or export and clear data.",
  STORAGE_UNAVAILABLE: "Browser storage is not available here.",
  NETWORK: "The server could not be reached.",
  UNAUTHORIZED: "You are not signed in, or your session expired.",
  INVALID_ARGUMENT: "The request was not understood (an argument was invalid).",
};

/** A violation for people: its field in code, then the message without saying the field twice
 * (most package messages start with the field path already). */
export function violationText(v) {
  const field = v.field || "(record)";
  const message = v.message ?? "";
  return message.startsWith(`${v.field} `) && v.field
    ? [h("code", {}, field), message.slice(v.field.length)]
    : [h("code", {}, field), `: ${message}`];
}

export function plainError(error) {
  const code = error?.code ?? "ERROR";
  return { code, plain: PLAIN[code] ?? "Something went wrong.", detail: error?.message ?? String(error) };
}

/** A banner element for an error: plain words, the code, the technical message. */
export function errorBanner(error, ...actions) {
  const { code, plain, detail } = plainError(error);
  const extra = [];
  const derived = error?.details?.derived;
  if (code === "HAS_DERIVED" && Array.isArray(derived)) {
    extra.push(h("p", {}, `Derived: ${derived.map((d) => (typeof d === "string" ? d : d.name ?? d.id)).join(", ")}`));
  }
  const labels = error?.details?.labels;
  if (code === "HAS_LABELS" && Array.isArray(labels)) {
    extra.push(h("p", { class: "has-labels" }, `Labels on it: ${labels.map((l) => (typeof l === "string" ? l : l.label)).join(", ")}`));
  }
  return h("div", { class: "banner error", role: "alert", dataset: { code } },
    h("p", {}, h("strong", {}, plain), " ", h("code", { class: "code" }, code)),
    h("p", { class: "detail" }, detail),
    extra,
    actions.length ? h("div", { class: "actions" }, actions) : null);
}

let toastTimer;
/** A short message in the polite live region at the bottom of the screen. */
export function toast(message, kind = "info") {
  const box = $("#toast");
  box.textContent = message;
  box.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.classList.remove("show"); box.textContent = ""; }, 4000);
}

/** Opens a modal <dialog>; resolves with the submitted FormData, or null on cancel. */
export function modal(title, body, { submit = "OK", cancel = "Cancel", danger = false } = {}) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog", class: "modal-form" },
      h("h2", { id: "modal-title" }, title),
      body,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn", value: "cancel", onclick: () => { dialog.close("cancel"); } }, cancel),
        h("button", { type: "submit", class: danger ? "btn danger" : "btn primary", value: "ok" }, submit)));
    const dialog = h("dialog", { "aria-labelledby": "modal-title" }, form);
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      const data = dialog.returnValue === "ok" ? new FormData(form) : null;
      dialog.remove();
      resolve(data);
    });
    dialog.showModal();
  });
}

export function fmtDate(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function stars(rating) {
  if (rating === null || rating === undefined) return "not rated";
  return `${"★".repeat(Math.round(rating))}${"☆".repeat(5 - Math.round(rating))} ${rating.toFixed(1)}`;
}

export function pill(text, cls = "") {
  return h("span", { class: `pill ${cls}` }, text);
}

/** Splits "a, b  c" into ["a","b","c"]; empty input gives null. */
export function splitList(text, { commasOnly = false } = {}) {
  const parts = text.split(commasOnly ? /,/ : /[,\s]+/).map((s) => s.trim()).filter((s) => s !== "");
  return parts.length ? parts : null;
}

export function shortHash(hash) {
  return hash ? `${hash.slice(0, 12)}…` : "—";
}

export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
