#!/usr/bin/env bash
# All of the reference server's tests (cargo test -p workflow-templates-server): unit tests and
# the integration tests in server/tests/, which start real server processes on 127.0.0.1.
#
#   1 sqlite     always
#   2 postgres   the same tests with WT_TEST_POSTGRES_URL set, against a throwaway cluster
#                started by scripts/postgres.sh (and stopped afterwards). When PostgreSQL cannot
#                be started this step FAILS if CI=true (or WT_REQUIRE_POSTGRES=1), and is
#                reported as skipped otherwise. WT_TEST_POSTGRES_URL given from outside is used
#                as is (no cluster is started).
#
# Exit status: non-zero when any step failed. Prints "N passed, N failed, N skipped" last.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac

passed=0 failed=0 skipped=0
require_pg=0
if [ "${CI:-}" = true ] || [ "${WT_REQUIRE_POSTGRES:-0}" = 1 ]; then require_pg=1; fi

run_step() {
  local name=$1
  shift
  printf '\n==== server-test.sh: %s\n' "$name"
  if "$@"; then
    passed=$((passed + 1))
    printf '==== server-test.sh: %s passed\n' "$name"
  else
    failed=$((failed + 1))
    printf '==== server-test.sh: %s FAILED\n' "$name"
  fi
}

# Build once (the tests spawn the binary), so the two steps only run tests.
if ! cargo build -p workflow-templates-server --tests --bins; then
  echo "server-test.sh: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# (--skip postgres::: the conformance suite's PostgreSQL half only runs in the next step, so
# it is not counted as passed here.)
run_step sqlite env -u WT_TEST_POSTGRES_URL cargo test -p workflow-templates-server -- --skip postgres::

pg_started=0
cleanup() { if [ "$pg_started" = 1 ]; then bash scripts/postgres.sh stop || true; fi; }
trap cleanup EXIT

pg_url="${WT_TEST_POSTGRES_URL:-}"
if [ -z "$pg_url" ]; then
  if pg_url=$(bash scripts/postgres.sh start); then
    pg_started=1
  else
    pg_url=""
  fi
fi
if [ -n "$pg_url" ]; then
  run_step postgres env WT_TEST_POSTGRES_URL="$pg_url" cargo test -p workflow-templates-server
elif [ "$require_pg" = 1 ]; then
  echo "server-test.sh: PostgreSQL could not be started (see above) and CI=true: failing"
  failed=$((failed + 1))
else
  echo "server-test.sh: PostgreSQL could not be started: postgres step skipped (CI=true makes this a failure)"
  skipped=$((skipped + 1))
fi

printf '\n==== server-test.sh summary\n'
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
