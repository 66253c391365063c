#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the server's tests, from Debian's `postgresql` package.
# It installs nothing: when the binaries are missing it fails and says what to install.
#
#   scripts/postgres.sh start   # initdb in a temp dir + pg_ctl start on 127.0.0.1; prints the URL
#   scripts/postgres.sh url     # prints the URL of the running cluster
#   scripts/postgres.sh stop    # stops the cluster and deletes its directory
#
# Environment: WT_PG_PORT (default 55432), WT_PG_DIR (default /tmp/wt-postgres-$WT_PG_PORT),
# WT_PG_BINDIR (the directory of initdb/pg_ctl; default: the newest /usr/lib/postgresql/*/bin).
# As root the cluster runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

PORT="${WT_PG_PORT:-55432}"
DIR="${WT_PG_DIR:-/tmp/wt-postgres-$PORT}"
DB=wt_test
URL="postgres://postgres@127.0.0.1:$PORT/$DB"

bindir() {
  local d
  if [ -n "${WT_PG_BINDIR:-}" ]; then
    if [ -x "$WT_PG_BINDIR/initdb" ] && [ -x "$WT_PG_BINDIR/pg_ctl" ]; then
      echo "$WT_PG_BINDIR"
      return 0
    fi
    echo "postgres.sh: WT_PG_BINDIR=$WT_PG_BINDIR has no initdb/pg_ctl" >&2
    return 1
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  echo "postgres.sh: PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb)." >&2
  echo "postgres.sh: install them with: apt-get install -y postgresql" >&2
  return 1
}

# as_pg CMD...: runs CMD as the postgres user when we are root, else as ourselves.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "postgres.sh: running as root but there is no 'postgres' user (is the postgresql package installed?)" >&2
      return 1
    fi
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  local bin
  bin=$(bindir) || return 1
  [ -f "$DIR/data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
  local bin
  bin=$(bindir)
  if running; then
    echo "$URL"
    return 0
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
  as_pg "$bin/initdb" -D "$DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    echo "postgres.sh: initdb failed" >&2
    return 1
  }
  as_pg "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || {
    cat "$DIR/server.log" >&2 || true
    echo "postgres.sh: pg_ctl start failed" >&2
    return 1
  }
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAt -c "CREATE DATABASE $DB" >/dev/null
  echo "$URL"
}

stop() {
  local bin
  bin=$(bindir) || return 0
  if [ -f "$DIR/data/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url)
    if running; then echo "$URL"; else echo "postgres.sh: no cluster running on port $PORT" >&2; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
