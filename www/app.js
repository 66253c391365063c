// Demo page: load the wasm package and list the built-in templates.
import init, { builtinTemplates } from "/pkg/workflow_templates.js";

const $ = (selector) => document.querySelector(selector);
const status = $("#status");

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function label(value) {
  return value.replaceAll("_", " ");
}

function fillSelect(select, values) {
  for (const value of [...new Set(values)].sort()) {
    select.append(new Option(label(value), value));
  }
}

function render(templates) {
  const text = $("#filter-text").value.trim().toLowerCase();
  const category = $("#filter-category").value;
  const type = $("#filter-type").value;
  const shown = templates.filter((t) =>
    (!category || t.category === category) &&
    (!type || t.workflow_type === type) &&
    (!text || t.name.toLowerCase().includes(text) || t.description.toLowerCase().includes(text)));

  const body = $("#templates tbody");
  body.replaceChildren();
  for (const t of shown) {
    const row = body.insertRow();
    row.dataset.id = t.id;
    const name = cell(row, "", "name");
    name.append(Object.assign(document.createElement("strong"), { textContent: t.name }));
    name.append(Object.assign(document.createElement("small"), { textContent: t.id }));
    const cat = cell(row, "");
    cat.append(Object.assign(document.createElement("span"), { className: "pill", textContent: label(t.category) }));
    const wt = cell(row, "");
    wt.append(Object.assign(document.createElement("span"), { className: `pill type-${t.workflow_type}`, textContent: t.workflow_type }));
    cell(row, t.description, "description");
  }
  $("#templates").hidden = false;
  $("#empty").hidden = shown.length > 0;
  status.textContent = `${shown.length} of ${templates.length} built-in templates`;
}

try {
  await init();
  const templates = builtinTemplates();
  fillSelect($("#filter-category"), templates.map((t) => t.category));
  fillSelect($("#filter-type"), templates.map((t) => t.workflow_type));
  for (const id of ["#filter-text", "#filter-category", "#filter-type"]) {
    $(id).addEventListener("input", () => render(templates));
  }
  render(templates);
  document.body.dataset.ready = "true";
} catch (e) {
  status.textContent = `Could not load the package: ${e && e.message ? e.message : e}. Run npm run build first.`;
  status.classList.add("error");
  document.body.dataset.ready = "error";
}
