// Keeps the JSON text a user typed for a template's objects (default_params, extra_metadata) so
// the editor shows their key order after a save and a reload. The package stores and returns
// objects with their keys sorted (serde_json's default map); the hash is over RFC 8785 canonical
// JSON either way. This is display only: a remembered text is used only while it still parses
// to exactly the stored value, so a change made elsewhere (another tab, user or import) shows
// the stored value as it is. Kept in this browser's localStorage, the most recent 200 texts;
// without localStorage nothing is remembered. See README "Template editor".
const KEY = "workflow-templates-editor.json-text";
const LIMIT = 200;

function load() {
  try {
    const raw = localStorage.getItem(KEY);
    const data = raw ? JSON.parse(raw) : {};
    return data && typeof data === "object" && !Array.isArray(data) ? data : {};
  } catch { return {}; }
}

/** True when two JSON values are equal, object key order aside. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** Number of object members in a JSON value. */
function members(v) {
  if (Array.isArray(v)) return v.reduce((n, x) => n + members(x), 0);
  if (v === null || typeof v !== "object") return 0;
  return Object.values(v).reduce((n, x) => n + 1 + members(x), 0);
}

/** The value `text` means, or undefined when it is not JSON or repeats a key in an object:
 * JSON.parse keeps the last of repeated keys, so such a text would show a value that is not
 * stored. Every `"string":` outside a string is a key (a left-to-right scan over valid JSON
 * consumes strings whole), so more keys in the text than members in the value means a repeat. */
function meaning(text) {
  let value;
  try { value = JSON.parse(text); } catch { return undefined; }
  const keys = [...text.matchAll(/"(?:[^"\\]|\\.)*"(\s*:)?/g)].filter((m) => m[1] !== undefined).length;
  return keys === members(value) ? value : undefined;
}

/** Remembers `text` as the way `field` of template `id` was typed. */
export function rememberText(id, field, text) {
  if (!id || typeof text !== "string" || text.trim() === "" || meaning(text) === undefined) return;
  const data = load();
  const slot = `${id}/${field}`;
  delete data[slot]; // re-inserted last: the newest
  data[slot] = text;
  const slots = Object.keys(data);
  for (const old of slots.slice(0, Math.max(0, slots.length - LIMIT))) delete data[old];
  try { localStorage.setItem(KEY, JSON.stringify(data)); } catch { /* not remembered */ }
}

/** The text to show for `value` (field `field` of template `id`): the remembered text when it
 * still means `value`, else null (show the stored value). */
export function recallText(id, field, value) {
  const text = load()[`${id}/${field}`];
  if (typeof text !== "string") return null;
  const meant = meaning(text);
  return meant !== undefined && jsonEqual(meant, value) ? text : null;
}
