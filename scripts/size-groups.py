#!/usr/bin/env python3
"""Groups twiggy's item sizes (twiggy top -f csv of a named build, scripts/size-profile.sh) by
where the code comes from, and diffs two builds by item name with the hashes taken out.

  python3 scripts/size-groups.py groups A.csv            bytes per group
  python3 scripts/size-groups.py diff A.csv B.csv [n]     the n largest changes by name (B - A)
  python3 scripts/size-groups.py data named.wasm          data segments: text (printable runs:
                                                          messages, names) vs the rest (tables)
"""
import csv, re, sys
from collections import defaultdict

HASH = re.compile(r"::h[0-9a-f]{16}")
CRATE = re.compile(r"\[[0-9a-f]{16}\]")

def rows(path):
    with open(path) as f:
        for r in csv.DictReader(f):
            name = r["Name"]
            if name == '"function names" subsection' or name.startswith('"function names"'):
                continue
            yield CRATE.sub("", HASH.sub("", name)), int(r["ShallowSize"])

# The first rule that matches names the group (the order matters: a serde item of a catalog
# type counts as serde).
GROUPS = [
    ("data", r"^data segment"),
    ("core catalog: methods inlined into wasm::dispatch::local", r"wasm::dispatch::local"),
    ("future_to_promise closures (facade async bodies)", r"^js_sys::futures::future_to_promise|wasm_bindgen_futures"),
    ("exported function shims", r"shim$|^__wbg|^__wbindgen|^templatecatalog_|externref"),
    ("runtime: replica", r"browser::replica"),
    ("store adapters: AnyStore dispatch (browser)", r"wasm::store::|workflow_templates::browser::"),
    ("store adapters: IndexedDB", r"store::indexeddb"),
    ("store adapters: memory", r"store::memory"),
    ("store adapters: local", r"store::local"),
    ("store adapters: js", r"store::js"),
    ("store contract / page", r"workflow_templates::store::"),
    ("wasm facade: replica", r"wasm::replica"),
    ("wasm facade: other", r"workflow_templates::wasm::"),
    ("JS value boundary (jsval: walk, to_js/from_js, error objects)", r"workflow_templates::jsval::"),
    ("zmij (shortest float digits: RFC 8785 numbers, serde_json's writer)", r"zmij"),
    ("core catalog: replica (apply_remote)", r"catalog::replica"),
    ("core catalog: create_id", r"catalog::create_id"),
    ("core catalog: other", r"workflow_templates::catalog::"),
    ("serde derives of our types", r"workflow_templates::.*(Deserialize|Serialize|__FieldVisitor|__Visitor)"),
    ("serde_json", r"serde_json|serde_core|serde::|<serde"),
    ("validation, inheritance, hash, model", r"workflow_templates::(validate|inherit|hash|model|builtin|error|sort)"),
    ("core::fmt / panics / float formatting", r"core::fmt|fmt::|<f64 as|<f32 as|core::panicking|core::unicode|core::num::flt2dec|ryu|dtoa|Debug|Display"),
    ("BTreeMap / BTreeSet", r"btree"),
    ("hashbrown / HashMap", r"hashbrown|HashMap|HashSet|RandomState|sip"),
    ("sort", r"core::slice::sort"),
    ("alloc / Vec / String", r"alloc::|dlmalloc|<alloc|core::ptr::drop_in_place|RawVec"),
    ("wasm-bindgen / js-sys / web-sys", r"wasm_bindgen|js_sys|web_sys|gloo"),
    ("sha2 / ulid / getrandom", r"sha2|ulid|getrandom"),
    ("other", r""),
]
COMPILED = [(g, re.compile(p)) for g, p in GROUPS]

def group_of(name):
    for g, p in COMPILED:
        if p.search(name):
            return g
    return "other"

def groups(path):
    out = defaultdict(int)
    for name, size in rows(path):
        out[group_of(name)] += size
    return out

def by_name(path):
    out = defaultdict(int)
    for name, size in rows(path):
        out[name] += size
    return out

def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def segments(path):
    """(size, printable bytes) of each active data segment of a wasm file."""
    b = open(path, "rb").read()
    i, out = 8, []
    while i < len(b):
        sid = b[i]
        size, i = leb(b, i + 1)
        end = i + size
        if sid == 11:
            n, j = leb(b, i)
            for _ in range(n):
                flag, j = leb(b, j)
                if flag == 2:
                    _, j = leb(b, j)
                if flag in (0, 2):
                    while b[j] != 0x0B:
                        j += 1
                    j += 1
                ln, j = leb(b, j)
                d = b[j : j + ln]
                j += ln
                out.append((ln, sum(len(t) for t in re.findall(rb"[ -~\n]{6,}", d))))
        i = end
    return out


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "data":
        text = tables = 0
        for size, printable in segments(sys.argv[2]):
            text += printable
            tables += size - printable
        print(f"text (runs of >= 6 printable bytes: messages, field names, panic texts): {text:,} B; the rest (float parse/format and Unicode tables, constants): {tables:,} B")
    if cmd == "groups":
        gs = [groups(p) for p in sys.argv[2:]]
        names = [g for g, _ in GROUPS]
        for g in names:
            vals = [x.get(g, 0) for x in gs]
            print(f"{g:55s}" + "".join(f"{v:>10,}" for v in vals) + (f"{vals[-1]-vals[0]:>+10,}" if len(vals) > 1 else ""))
        tot = [sum(x.values()) for x in gs]
        print(f"{'total (items)':55s}" + "".join(f"{v:>10,}" for v in tot))
    elif cmd == "diff":
        a, b = by_name(sys.argv[2]), by_name(sys.argv[3])
        n = int(sys.argv[4]) if len(sys.argv) > 4 else 60
        d = [(b.get(k, 0) - a.get(k, 0), k) for k in set(a) | set(b)]
        d.sort(key=lambda x: -abs(x[0]))
        for delta, k in d[:n]:
            print(f"{delta:>+8,} {a.get(k,0):>8,} {b.get(k,0):>8,}  {k[:170]}")
