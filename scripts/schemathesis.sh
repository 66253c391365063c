#!/usr/bin/env bash
# Schemathesis (PyPI `schemathesis` 4.x, installed by scripts/setup.sh into a cached venv)
# against the reference server: every check, examples + coverage + fuzzing + the stateful phase
# (openapi.yaml's `links`), bounded examples (ST_MAX_EXAMPLES, default 8), on a fresh SQLite
# database with a fresh user token. What is configured away, and why, is in
# server/schemathesis.toml. No example database is kept between runs (`--generation-database
# none`), so a run depends only on the seed. Exit status: non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac

ST="${SCHEMATHESIS:-${XDG_CACHE_HOME:-$HOME/.cache}/wt-schemathesis/venv/bin/schemathesis}"
if [ ! -x "$ST" ]; then
  echo "schemathesis.sh: $ST is missing: run scripts/setup.sh" >&2
  exit 1
fi
"$ST" --version

cargo build -p workflow-templates-server --bins
bin=target/debug/workflow-templates-server
work=$(mktemp -d /tmp/wt-schemathesis.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db="sqlite://$work/st.db"
token=$("$bin" user create --db "$db" --name schemathesis | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$bin" serve --db "$db" --port 0 --log warn > "$work/stdout" 2> "$work/server.log" &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/stdout")
[ -n "$url" ] || { echo "schemathesis.sh: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
echo "schemathesis.sh: server at $url (log: $work/server.log)"

status=0
# Run from the temporary directory: Schemathesis keeps a cache of crashes in ./.schemathesis,
# which must neither land in the repository nor carry over to the next run.
root=$PWD
(cd "$work" && "$ST" --config-file "$root/server/schemathesis.toml" run "$root/server/openapi.yaml" \
  --url "$url" \
  -H "Authorization: Bearer $token" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${ST_MAX_EXAMPLES:-8}" \
  --seed "${ST_SEED:-1313}" \
  --workers 1 \
  --generation-database none \
  --request-timeout 10 \
  --suppress-health-check too_slow,filter_too_much \
  --report junit --report-dir "$root/target/schemathesis" "$@") || status=$?
if grep -q -E 'panicked|INTEGRITY' "$work/server.log"; then
  echo "schemathesis.sh: the server logged a panic or an integrity error:" >&2
  grep -E 'panicked|INTEGRITY' "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"
