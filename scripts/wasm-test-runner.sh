#!/usr/bin/env bash
# Cargo's runner for the browser tests (CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER, set by
# scripts/test.sh): wasm-bindgen-test-runner, with the browser's page traffic sent through
# scripts/wasm-page-proxy.mjs; run again (at most five times more) only when the test
# page never loaded its scripts, i.e. no test ran at all.
#
# Why the proxy. The runner serves the test page with rouille 3.6 over tiny_http 0.12. tiny_http
# hands each accepted connection to a pool task that reads that connection's requests until the
# client closes it, i.e. a browser's keep-alive connection holds a worker for the whole page
# life. Its TaskPool::spawn queues the task instead of starting a thread while `waiting_tasks`
# is non-zero, but a woken idle worker only decrements `waiting_tasks` after it gets the queue
# lock back: when the browser opens its 5th and 6th parallel connections (the module graph: the
# glue plus eight js/ snippets) before the woken workers got the lock, those tasks wait behind
# workers that never end, and those connections' requests are never read (seen with `ss`: the
# request bytes sit in the server socket's Recv-Q). The page stays at "Loading scripts...", and
# the runner waits out its page-load budget (300 s: module scripts hold the load event). More
# snippet files, more parallel connections, more hangs. Reproduced without a browser: 6 parallel
# keep-alive GETs of the snippets (a fresh runner each time) left requests unanswered in 5 of 14
# cold loads (4 times storage.js and pull.js, the 5th and 6th connections); the same GETs with
# `Connection: close`: 0 of 12. The proxy keeps the browser's keep-alive connections for itself
# and sends each request upstream on a fresh connection with `Connection: close`, so every
# tiny_http task ends as soon as it has read its one request and no task is ever stuck behind it.
#
# How each engine is pointed at the proxy: Chromium by `--proxy-server` and Firefox by its
# network.proxy prefs, both in the capabilities the proxy writes (WASM_BINDGEN_TEST_WEBDRIVER_JSON);
# WebKit by the W3C `proxy` capability, which the proxy process adds on its way to a
# WebKitWebDriver this script starts (SAFARIDRIVER_REMOTE), as the runner sends WebKit none.
#
# Cold loads of tests/wasm_smoke.rs (fresh runner, fresh browser each, on 2 shared cores; a hang
# is no test result within 40-45 s, a pass takes 5-30 s), wasm-bindgen-test-runner alone -> this
# script (no restart was needed in any "after" run):
#   Chromium  7 of 20 hung -> 0 of 20
#   Firefox  11 of 20 hung -> 0 of 20 (all 13 page requests through the proxy each time)
#   WebKit    9 of 20 hung -> 0 of 20 (likewise)
# `ONLY=browser bash scripts/test.sh` (six test binaries per engine): 0 restarts.
#
# Last resort: a run that shows no test output within LOAD_S seconds is stopped and started
# again (at most 6 attempts). A run in which any test started is never repeated: its result
# stands. WT_WASM_PAGE_PROXY=0 turns the proxy off (to measure without it).
set -uo pipefail
LOAD_S=${WT_WASM_LOAD_TIMEOUT:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
proxy_pid='' driver_pid=''
cleanup() {
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; fi
  if [ -n "$driver_pid" ]; then
    pkill -P "$driver_pid" 2>/dev/null
    kill "$driver_pid" 2>/dev/null
    wait "$driver_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The runner picks GECKODRIVER first, then SAFARIDRIVER, then CHROMEDRIVER (headless.rs).
engine=chrome
if [ -n "${GECKODRIVER:-}" ]; then engine=firefox; elif [ -n "${SAFARIDRIVER:-}" ]; then engine=webkit; fi

if [ "${WT_WASM_PAGE_PROXY:-1}" = 1 ]; then
  proxy_args=("${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-webdriver.json}" "$work/webdriver.json")
  if [ "$engine" = webkit ]; then
    # The runner sends WebKitWebDriver no capabilities: the driver is started here and reached
    # through the proxy process, which adds the `proxy` capability to the session.
    wd_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
    "$SAFARIDRIVER" --port="$wd_port" --replace-on-new-session > "$work/driver.log" 2>&1 &
    driver_pid=$!
    for ((i = 0; i < 100; i++)); do
      (exec 3<> "/dev/tcp/127.0.0.1/$wd_port") 2>/dev/null && break
      sleep 0.1
    done
    proxy_args+=("http://127.0.0.1:$wd_port" "$work/driver.port")
  fi
  node "$here/wasm-page-proxy.mjs" "${proxy_args[@]}" &
  proxy_pid=$!
  for ((i = 0; i < 100; i++)); do
    [ -e "$work/webdriver.json" ] || ! kill -0 "$proxy_pid" 2>/dev/null && break
    sleep 0.1
  done
  if [ -e "$work/webdriver.json" ]; then
    export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$work/webdriver.json"
    if [ "$engine" = webkit ]; then export SAFARIDRIVER_REMOTE="http://127.0.0.1:$(cat "$work/driver.port")"; fi
  else
    echo "wasm-test-runner.sh: scripts/wasm-page-proxy.mjs did not start; the browser talks to the runner directly"
    kill "$proxy_pid" 2>/dev/null
    proxy_pid=''
  fi
fi

for attempt in 1 2 3 4 5 6; do
  # Without its proxy no page can load: another attempt would only wait out LOAD_S again.
  if [ -n "$proxy_pid" ] && ! kill -0 "$proxy_pid" 2>/dev/null; then
    echo "wasm-test-runner.sh: scripts/wasm-page-proxy.mjs has ended (its error is above); no further attempt"
    exit 1
  fi
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
