// A JSON editing area: a monospace textarea with a line-number gutter, parse errors located by
// line and column (the gutter marks the line), and a Format button. Tab is left alone so the
// keyboard can still leave the field.
import { h, violationText } from "./ui.js";

/** Finds the first syntax error of `text` as JSON: { offset, line, column, message } or null. */
export function locateJsonError(text) {
  let i = 0;
  const fail = (message) => { throw Object.assign(new Error(message), { offset: i }); };
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  const describe = () => (i >= text.length ? "the end of the text" : `"${text[i]}"`);
  const literal = (word) => { if (text.startsWith(word, i)) i += word.length; else fail(`unexpected ${describe()}`); };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail("a line break or control character inside a string (use \\n)");
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("a bad \\u escape"); i += 5; continue; }
        if (!'"\\/bfnrt'.includes(text[i] ?? "")) fail("a bad escape sequence");
      }
      i++;
    }
    if (i >= text.length) fail("a string that is never closed (missing \")");
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(`unexpected ${describe()}`);
    i += m[0].length;
  };
  const value = (depth) => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++; ws();
      if (text[i] === "}") { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a "quoted" key, found ${describe()}`);
        string(); ws();
        if (text[i] !== ":") fail(`expected ":" after the key, found ${describe()}`);
        i++; value(depth + 1); ws();
        if (text[i] === ",") { i++; ws(); if (text[i] === "}") fail("a trailing comma before \"}\""); continue; }
        if (text[i] === "}") { i++; return; }
        fail(`expected "," or "}", found ${describe()}`);
      }
    } else if (c === "[") {
      i++; ws();
      if (text[i] === "]") { i++; return; }
      for (;;) {
        value(depth + 1); ws();
        if (text[i] === ",") { i++; ws(); if (text[i] === "]") fail("a trailing comma before \"]\""); continue; }
        if (text[i] === "]") { i++; return; }
        fail(`expected "," or "]", found ${describe()}`);
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c >= "0" && c <= "9")) number();
    else fail(`unexpected ${describe()}`);
  };
  try {
    value(0); ws();
    if (i < text.length) fail(`unexpected ${describe()} after the value`);
    return null;
  } catch (e) {
    const before = text.slice(0, e.offset);
    const line = before.split("\n").length;
    const column = e.offset - before.lastIndexOf("\n");
    return { offset: e.offset, line, column, message: e.message };
  }
}

/**
 * A JSON field. `options`: { id, label, hint, allowNull, onChange(value|undefined) }.
 * Returns { root, textarea, get(): { ok, value, error }, set(value), showViolations(list) }.
 */
export function jsonEditor({ id, label, hint, allowEmpty = false, rows = 10 }) {
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const textarea = h("textarea", {
    id, rows, spellcheck: "false", autocapitalize: "off", autocomplete: "off", wrap: "off",
    class: "code-input", "aria-describedby": `${id}-hint ${id}-error`,
  });
  const error = h("div", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  const format = h("button", { type: "button", class: "btn small ghost", onclick: () => {
    const r = read();
    if (r.ok && r.value !== undefined) { textarea.value = JSON.stringify(r.value, null, 2); sync(); textarea.dispatchEvent(new Event("input", { bubbles: true })); }
  } }, "Format");
  const root = h("div", { class: "field json-field" },
    h("div", { class: "label-row" }, h("label", { for: id }, label), format),
    h("div", { class: "code-box" }, gutter, textarea),
    h("p", { class: "hint", id: `${id}-hint` }, hint ?? ""),
    error);
  let badLine = 0;
  function sync() {
    const n = textarea.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: n }, (_, k) => h("span", { class: k + 1 === badLine ? "bad" : "" }, String(k + 1))));
    gutter.scrollTop = textarea.scrollTop;
  }
  textarea.addEventListener("input", sync);
  textarea.addEventListener("scroll", () => { gutter.scrollTop = textarea.scrollTop; });
  function read() {
    const text = textarea.value;
    if (text.trim() === "") return allowEmpty ? { ok: true, value: null } : { ok: true, value: {} };
    const located = locateJsonError(text);
    if (located) return { ok: false, error: located };
    return { ok: true, value: JSON.parse(text) };
  }
  return {
    root, textarea,
    get() {
      const r = read();
      badLine = r.ok ? 0 : r.error.line;
      sync();
      return r;
    },
    set(value) {
      textarea.value = value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
      badLine = 0;
      sync();
    },
    /** Shows `text` as it is (the caller made sure it is JSON for the value). */
    setText(text) {
      textarea.value = text;
      badLine = 0;
      sync();
    },
    /** Shows a parse error or a list of violations ({ field, code, message }) under the area. */
    show(parseError, violations = []) {
      error.replaceChildren();
      if (parseError) {
        error.append(h("p", {}, `JSON error at line ${parseError.line}, column ${parseError.column}: ${parseError.message}.`));
      }
      for (const v of violations) {
        error.append(h("p", {}, violationText(v), " ", h("span", { class: "code" }, v.code)));
      }
      const invalid = Boolean(parseError) || violations.length > 0;
      textarea.setAttribute("aria-invalid", invalid ? "true" : "false");
      root.classList.toggle("invalid", invalid);
    },
    set disabled(value) { textarea.readOnly = value; format.hidden = value; },
  };
}
