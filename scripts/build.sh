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
# The features rustc >= 1.87 enables by default for wasm32-unknown-unknown (wasm-bindgen's
# externref table needs reference-types; memory.copy/fill need bulk memory). Every browser
# the package supports has them all.
FEATURES=(
  --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
)
# wasm-opt passes (BENCHMARKS.md "What each change bought" measured the alternatives;
# --merge-similar-functions: -1.9 KiB gzip of the full entry, row F).
WASM_OPT_FLAGS=(--merge-similar-functions -Oz --converge --strip-debug --strip-producers)
OPT=""
trap 'rm -f "$OPT"' EXIT
mkdir -p "$GEN"

# build_wasm NAME TARGET_DIR [cargo flags...]: cargo build, wasm-bindgen's glue for `web` and
# `nodejs` in $GEN/NAME-{web,nodejs}/ (out-name NAME), wasm-opt, and checks of the optimised
# module. Each build has its own target directory: a cdylib's output file does not depend on
# the features, so building both feature sets in one directory would re-link each every time.
build_wasm() {
  local name=$1 dir=$2
  shift 2
  echo "build: cargo build --release --target wasm32-unknown-unknown --target-dir $dir $* ($name)"
  cargo build --quiet --lib --release --target wasm32-unknown-unknown --target-dir "$dir" "$@"
  local raw=$dir/wasm32-unknown-unknown/release/workflow_templates.wasm
  local wasm=$GEN/$name-web/${name}_bg.wasm
  # Skip work already done: the same module from cargo, the same script and the same tools
  # give the same glue and the same optimised wasm (wasm-opt is most of a rebuild's time).
  local key
  key=$( { sha256sum "$raw" scripts/build.sh; "$WASM_OPT" --version; wasm-bindgen --version; } | sha256sum | cut -c1-64)
  if [ "${FORCE_BUILD:-0}" != 1 ] && [ -f "$GEN/$name.key" ] && [ "$(cat "$GEN/$name.key")" = "$key" ] \
    && [ -f "$wasm" ] && [ -f "$GEN/$name-nodejs/$name.js" ] && [ -f "$GEN/$name.raw-size" ]; then
    echo "build: $name unchanged since the last build: wasm-bindgen and wasm-opt skipped (FORCE_BUILD=1 redoes them)"
    return
  fi
  rm -rf "$GEN/$name-web" "$GEN/$name-nodejs" "$GEN/$name.key"
  for t in web nodejs; do
    wasm-bindgen --target "$t" --out-dir "$GEN/$name-$t" --out-name "$name" "$raw"
  done
  # Both targets get the same wasm (the glue differs, not the module): one file ships.
  cmp -s "$wasm" "$GEN/$name-nodejs/${name}_bg.wasm" \
    || { echo "build: wasm-bindgen made different wasm for web and nodejs ($name)" >&2; exit 1; }
  stat -c %s "$wasm" > "$GEN/$name.raw-size"
  echo "build: wasm-opt ${WASM_OPT_FLAGS[*]} ($("$WASM_OPT" --version))"
  OPT=$(mktemp "$wasm.XXXXXX")
  "$WASM_OPT" "${WASM_OPT_FLAGS[@]}" "${FEATURES[@]}" "$wasm" -o "$OPT"
  # Validate the optimised module with binaryen (features from its target_features section
  # only, plus the list above) and with V8 (what Node and Chromium will run).
  if ! out=$("$WASM_OPT" "${FEATURES[@]}" "$OPT" 2>&1); then
    echo "$out" | head -n 40 >&2
    echo "build: binaryen says the optimised wasm is invalid ($name)" >&2
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
  mv "$OPT" "$wasm"
  echo "$key" > "$GEN/$name.key"
}

build_wasm workflow_templates target
# The storage-free core of `workflow-templates/core` (Cargo feature `catalog` left out).
build_wasm workflow_templates_core target/wasm-core --no-default-features

# Assemble into a fresh directory, then swap it in (a served pkg/ is never half written).
node scripts/package.mjs target/pkg-next "$GEN/workflow_templates-web" "$GEN/workflow_templates-nodejs" \
  "$GEN/workflow_templates-web/workflow_templates_bg.wasm"
node scripts/package.mjs target/pkg-next/core "$GEN/workflow_templates_core-web" "$GEN/workflow_templates_core-nodejs" \
  "$GEN/workflow_templates_core-web/workflow_templates_core_bg.wasm" core
rm -rf pkg
mv target/pkg-next pkg
# The Node entry must load by itself (no loading code) and answer.
node -e '
  for (const entry of ["./pkg/node.cjs", "./pkg/core/node.cjs"]) {
    const wt = require(entry);
    if (wt.validateTemplate({ name: "x", workflow_type: "plain" }).ok !== true) throw new Error("build: " + entry + " does not validate");
  }
'

# Sizes of both wasm files (SPEC section 15 budgets: full <= 150 KiB gzip, core <= 60 KiB).
node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import zlib from "node:zlib";
  const kib = (n) => (n / 1024).toFixed(1).padStart(8) + " KiB";
  const [gen, ...entries] = process.argv.slice(1);
  for (const [file, name, budget] of [[entries[0], "workflow_templates", 150], [entries[1], "workflow_templates_core", 60]]) {
    const bytes = readFileSync(file);
    const before = Number(readFileSync(`${gen}/${name}.raw-size`, "utf8"));
    const gzip = zlib.gzipSync(bytes, { level: 9 }).length;
    const rows = [["wasm (before wasm-opt)", before], ["wasm", bytes.length], ["wasm gzip -9", gzip]];
    rows.push(["wasm brotli q11", zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length]);
    const js = readFileSync(file.replace(/[^/]*_bg\.wasm$/, "bindings.js"));
    rows.push(["js glue", js.length], ["js glue gzip -9", zlib.gzipSync(js, { level: 9 }).length]);
    const over = gzip > budget * 1024 ? ` (over the ${budget} KiB budget)` : ` (budget ${budget} KiB)`;
    console.log("build: " + file + over);
    for (const [what, n] of rows) console.log("  " + what.padEnd(24) + String(n).padStart(9) + " B " + kib(n));
  }
' "$GEN" pkg/workflow_templates_bg.wasm pkg/core/workflow_templates_core_bg.wasm
echo "build: done in $((SECONDS - start)) s"
