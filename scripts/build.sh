#!/usr/bin/env bash
# Builds the npm package into pkg/: the wasm once (cargo, release), wasm-bindgen's JS glue for
# two targets from it (`web` for browsers and bundlers, `nodejs` for Node: a fraction of a second
# each), wasm-opt from the npm package `binaryen`, then scripts/package.mjs assembles the entries,
# types and package.json (README.md "Packaging"); checks the result and prints its size.
#
#   bash scripts/build.sh            (run scripts/setup.sh once before, or use `npm run build`)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac

GEN=target/wasm-bindgen
WASM=$GEN/web/workflow_templates_bg.wasm
WASM_OPT=node_modules/.bin/wasm-opt
if [ ! -x "$WASM_OPT" ]; then
  echo "build: $WASM_OPT is missing; run bash scripts/setup.sh (or npm ci) first" >&2
  exit 1
fi

# Two builds in one tree at once (say `npm start` and `npm test`) would both rewrite pkg/:
# take turns.
mkdir -p target
exec 9>target/build.lock
if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
  echo "build: waiting for another build in this tree to finish"
  flock 9
fi

start=$SECONDS
echo "build: cargo build --release --target wasm32-unknown-unknown"
cargo build --quiet --lib --release --target wasm32-unknown-unknown
RAW=target/wasm32-unknown-unknown/release/workflow_templates.wasm
rm -rf "$GEN"
for t in web nodejs; do
  wasm-bindgen --target "$t" --out-dir "$GEN/$t" --out-name workflow_templates "$RAW"
done
# Both targets get the same wasm (the glue differs, not the module): one file ships.
cmp -s "$GEN/web/workflow_templates_bg.wasm" "$GEN/nodejs/workflow_templates_bg.wasm" \
  || { echo "build: wasm-bindgen made different wasm for web and nodejs" >&2; exit 1; }

# The features rustc >= 1.87 enables by default for wasm32-unknown-unknown (wasm-bindgen's
# externref table needs reference-types; memory.copy/fill need bulk memory). Every browser
# the package supports has them all.
FEATURES=(
  --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
)
raw_before=$(stat -c %s "$WASM")
echo "build: wasm-opt -Oz ($("$WASM_OPT" --version))"
OPT=$(mktemp "$WASM.XXXXXX")
trap 'rm -f "$OPT"' EXIT
"$WASM_OPT" -Oz "${FEATURES[@]}" --strip-debug --strip-producers "$WASM" -o "$OPT"
# Validate the optimised module with binaryen (features from its target_features section
# only, plus the list above) and with V8 (what Node and Chromium will run).
if ! out=$("$WASM_OPT" "${FEATURES[@]}" "$OPT" 2>&1); then
  echo "$out" | head -n 40 >&2
  echo "build: binaryen says the optimised wasm is invalid" >&2
  exit 1
fi
node -e '
  const bytes = require("fs").readFileSync(process.argv[1]);
  try {
    new WebAssembly.Module(bytes);
  } catch (e) {
    console.error("build: V8 says the optimised wasm is invalid: " + e.message);
    process.exit(1);
  }
' "$OPT"
chmod 644 "$OPT"
mv "$OPT" "$WASM"

# Assemble into a fresh directory, then swap it in (a served pkg/ is never half written).
node scripts/package.mjs target/pkg-next "$GEN/web" "$GEN/nodejs" "$WASM"
rm -rf pkg
mv target/pkg-next pkg
# The Node entry must load by itself (no loading code) and answer.
node -e '
  const wt = require("./pkg/node.cjs");
  if (wt.validateTemplate({ name: "x", workflow_type: "plain" }).ok !== true) throw new Error("build: pkg/node.cjs does not validate");
'
WASM=pkg/workflow_templates_bg.wasm

node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import zlib from "node:zlib";
  const [file, before] = process.argv.slice(1);
  const bytes = readFileSync(file);
  const rows = [["wasm (before wasm-opt)", Number(before)], ["wasm", bytes.length],
    ["wasm gzip -9", zlib.gzipSync(bytes, { level: 9 }).length]];
  if (typeof zlib.brotliCompressSync === "function") {
    rows.push(["wasm brotli q11", zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length]);
  }
  const js = readFileSync(file.replace(/workflow_templates_bg\.wasm$/, "bindings.js"));
  rows.push(["js glue", js.length], ["js glue gzip -9", zlib.gzipSync(js, { level: 9 }).length]);
  console.log("build: pkg/" + file.split("/").pop());
  for (const [what, n] of rows) {
    console.log("  " + what.padEnd(24) + String(n).padStart(9) + " B " + (n / 1024).toFixed(1).padStart(8) + " KiB");
  }
' "$WASM" "$raw_before"
echo "build: done in $((SECONDS - start)) s"
