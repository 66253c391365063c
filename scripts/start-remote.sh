#!/usr/bin/env bash
# `npm run start:remote`: the reference server on SQLite (./workflow-templates.db) at
# http://127.0.0.1:8787 and the template editor against it at http://127.0.0.1:8080/?remote=...
#
# On the first run it creates three users on the server (Alice, Bob, Carol) and writes their ids
# and tokens to www/remote-users.local.json (git-ignored; the editor reads it to act as them).
# Environment: WT_DB (default sqlite://workflow-templates.db), WT_SERVER_PORT (8787), PORT (8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac

SETUP_FOR=start bash scripts/setup.sh
bash scripts/build.sh
cargo build -p workflow-templates-server --bins
BIN=target/debug/workflow-templates-server
DB=${WT_DB:-sqlite://workflow-templates.db}
SERVER_PORT=${WT_SERVER_PORT:-8787}
PAGE_PORT=${PORT:-8080}
USERS=www/remote-users.local.json

"$BIN" migrate up --db "$DB" >/dev/null
if [ ! -s "$USERS" ]; then
  {
    printf '['
    sep=''
    for name in Alice Bob Carol; do
      printf '%s' "$sep"
      "$BIN" user create --db "$DB" --name "$name" | tail -n 1 | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
          const u = JSON.parse(s); process.stdout.write(JSON.stringify({ name: process.argv[1], user_id: u.user_id, token: u.token }));
        });' "$name"
      sep=','
    done
    printf ']\n'
  } > "$USERS.tmp"
  mv "$USERS.tmp" "$USERS"
  echo "start-remote: created users Alice, Bob and Carol ($USERS)"
fi

"$BIN" serve --db "$DB" --port "$SERVER_PORT" --cors-origin "http://127.0.0.1:$PAGE_PORT" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM
echo "start-remote: editor on the server: http://127.0.0.1:$PAGE_PORT/?remote=http://127.0.0.1:$SERVER_PORT"
PORT=$PAGE_PORT node scripts/serve.mjs
