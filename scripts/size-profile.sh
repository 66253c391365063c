#!/usr/bin/env bash
# Size profile (issue 12, BENCHMARKS.md "Size: what each change bought"): builds the release
# wasm (full, or the core with CORE=1), runs the build's wasm-bindgen and wasm-opt twice (once
# as shipped, once with the name section kept: `--keep-debug`, `-g`), prints the shipped size
# (raw, gzip -9 by Node's zlib as scripts/build.sh does) and writes twiggy's reports of the
# named build to target/size/<name>.{top,dominators,monos}.txt and <name>.csv (every item, for
# scripts/size-groups.py).
#
#   bash scripts/size-profile.sh [label]      CORE=1 bash scripts/size-profile.sh [label]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac
label=${1:-now}
FEATURES=(
  --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
)
if [ "${CORE:-0}" = 1 ]; then
  dir=target/wasm-core name=core-$label flags=(--no-default-features)
else
  dir=target name=full-$label flags=()
fi
cargo build --quiet --lib --release --target wasm32-unknown-unknown --target-dir "$dir" "${flags[@]}"
raw=$dir/wasm32-unknown-unknown/release/workflow_templates.wasm
out=target/size/$name
rm -rf "$out" && mkdir -p "$out/plain" "$out/named"
wasm-bindgen --target web --out-dir "$out/plain" --out-name m "$raw"
wasm-bindgen --target web --keep-debug --out-dir "$out/named" --out-name m "$raw"
node_modules/.bin/wasm-opt --merge-similar-functions -Oz --converge --strip-debug --strip-producers "${FEATURES[@]}" "$out/plain/m_bg.wasm" -o "$out/shipped.wasm"
node_modules/.bin/wasm-opt --merge-similar-functions -Oz --converge -g --strip-producers "${FEATURES[@]}" "$out/named/m_bg.wasm" -o "$out/named.wasm"
node -e '
  const b = require("fs").readFileSync(process.argv[1]);
  const gz = require("zlib").gzipSync(b, { level: 9 }).length;
  console.log(`${process.argv[2]}: ${b.length.toLocaleString("en")} B raw, ${gz.toLocaleString("en")} B / ${(gz / 1024).toFixed(1)} KiB gzip -9`);
' "$out/shipped.wasm" "$name"
twiggy top -n 400 "$out/named.wasm" > "$out.top.txt"
twiggy top -f csv "$out/named.wasm" > "$out.csv"   # for scripts/size-groups.py
twiggy dominators -d 3 -r 400 "$out/named.wasm" > "$out.dominators.txt" 2>/dev/null || true
twiggy monos -m 60 -n 400 "$out/named.wasm" > "$out.monos.txt" 2>/dev/null || true
echo "twiggy: $out.{top,dominators,monos}.txt, $out.csv (python3 scripts/size-groups.py groups $out.csv)"
