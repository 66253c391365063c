#!/usr/bin/env bash
# Cargo's runner for the browser tests (CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER, set by
# scripts/test.sh): wasm-bindgen-test-runner, run again (at most five times more) only when the test
# page never loaded its scripts, i.e. no test ran at all.
#
# Why: on a fresh runner, the runner's own HTTP server (rouille over tiny_http) sometimes never
# answers one of the page's parallel module requests (seen: a snippet such as storage.js pending
# forever in 1 of ~3 cold loads of the same page in headless Chromium, on a quiet machine, since
# the package has four JS snippets; the browser and our code are not involved: the request is
# never answered). The page then sits at "Loading scripts..." and the runner waits out its 300 s
# page-load budget. Here a run that shows no test output within LOAD_S seconds is stopped and
# started again. A run in which any test started is never repeated: its result stands.
set -uo pipefail
LOAD_S=${WT_WASM_LOAD_TIMEOUT:-60}
for attempt in 1 2 3 4 5 6; do
  log=$(mktemp)
  wasm-bindgen-test-runner "$@" > "$log" 2>&1 &
  pid=$!
  started=0
  for ((i = 0; i < LOAD_S * 4; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if grep -qE "^running [0-9]+ tests?|^test result|panicked" "$log"; then started=1; break; fi
    sleep 0.25
  done
  if [ "$started" = 1 ] || ! kill -0 "$pid" 2>/dev/null; then
    # Tests are running (or the runner already ended): stream the rest and keep its status.
    tail -n +1 -f --pid="$pid" "$log"
    wait "$pid"
    status=$?
    if [ "$status" -ne 0 ] && [ "$started" = 0 ] && grep -q "Loading scripts...Failed to detect test as having been run" "$log" && [ "$attempt" -lt 6 ]; then
      echo "wasm-test-runner.sh: the test page never loaded its scripts (no test ran); attempt $((attempt + 1)) of 6"
      rm -f "$log"
      continue
    fi
    rm -f "$log"
    exit "$status"
  fi
  # No test output within LOAD_S: the page is stuck loading. Stop the runner and its driver.
  pkill -P "$pid" 2>/dev/null
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  cat "$log"
  rm -f "$log"
  if [ "$attempt" -lt 6 ]; then
    echo "wasm-test-runner.sh: no test started within ${LOAD_S} s (the page never loaded its scripts); attempt $((attempt + 1)) of 6"
  fi
done
echo "wasm-test-runner.sh: the test page never loaded in 6 attempts"
exit 1
