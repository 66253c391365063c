// An example storage adapter for `TemplateCatalog.open({ userId, storage: adapter })`: every
// record in a Map, in memory. It implements the whole `StorageAdapter` contract (see the
// README, "Writing a storage adapter"); the conformance suite runs against it, so it is also a
// tested reference for adapters over other stores (a server, SQLite in OPFS, ...).
//
// The contract in short:
//   get(table, key)      -> { rev, record } | null
//   find(table, where)   -> [{ rev, record }, ...]  every record matching all fields of `where`
//                           (returning more is allowed: the catalog filters again)
//   commit(writes)       -> applies every write or none. A write is
//                           { table, key, expect: "absent" | "any" | <rev>, record | null };
//                           rev becomes previous rev + 1 (1 when new). Reject with an Error whose
//                           `code` is "CONFLICT" when an expectation fails, "NAME_TAKEN" when two
//                           latest templates would share owner_id and lowercase trimmed name.

export function nameKey(name) {
  return String(name).trim().toLowerCase();
}

function matches(record, where) {
  for (const [field, want] of Object.entries(where)) {
    const have = field === "name_key" ? nameKey(record.name) : record[field];
    if (have !== want) return false;
  }
  return true;
}

function fail(code, message, details) {
  return Object.assign(new Error(message), { code, details });
}

export class MapAdapter {
  constructor() {
    this.tables = new Map(); // table -> Map(key -> { rev, record })
  }

  table(name) {
    if (!this.tables.has(name)) this.tables.set(name, new Map());
    return this.tables.get(name);
  }

  async get(table, key) {
    const row = this.table(table).get(key);
    return row ? structuredClone(row) : null;
  }

  async find(table, where) {
    const out = [];
    for (const row of this.table(table).values()) {
      if (matches(row.record, where)) out.push(structuredClone(row));
    }
    return out;
  }

  async commit(writes) {
    // Work on copies of the touched tables; swap them in only when every check passed.
    const next = new Map();
    const copy = (t) => {
      if (!next.has(t)) next.set(t, new Map(this.table(t)));
      return next.get(t);
    };
    for (const w of writes) {
      const rows = copy(w.table);
      const current = rows.get(w.key);
      const ok =
        w.expect === "any" ||
        (w.expect === "absent" && !current) ||
        (typeof w.expect === "number" && current && current.rev === w.expect);
      if (!ok) {
        throw fail("CONFLICT", `${w.table}/${w.key} changed`, {
          id: w.key,
          expected: w.expect === "absent" ? "absent" : w.expect === "any" ? "any" : `rev ${w.expect}`,
          actual: current ? `rev ${current.rev}` : "absent",
        });
      }
      if (w.record === null) rows.delete(w.key);
      else rows.set(w.key, { rev: current ? current.rev + 1 : 1, record: structuredClone(w.record) });
    }
    const templates = next.get("workflow_templates");
    if (templates) {
      const seen = new Set();
      for (const { record } of templates.values()) {
        if (!record.is_latest) continue;
        const k = `${record.owner_id}\u0000${nameKey(record.name)}`;
        if (seen.has(k)) throw fail("NAME_TAKEN", `a template named ${JSON.stringify(record.name)} already exists`, { name: record.name });
        seen.add(k);
      }
    }
    for (const [t, rows] of next) this.tables.set(t, rows);
  }
}
