#!/usr/bin/env bash
# Installs everything the build and the tests need, and skips whatever is already in place.
# Safe to run again and again, as root on a fresh Debian 12 machine that has rustup, cargo,
# node, npm and python3, with no terminal (CI). Long install output goes to target/setup.log;
# on a failure its tail is printed.
#
#   bash scripts/setup.sh
#
# The wasm-bindgen-cli version is never chosen here: it is read from Cargo.lock (scripts/build.sh
# runs cargo and wasm-bindgen itself: no wasm-pack).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac
export DEBIAN_FRONTEND=noninteractive

mkdir -p target
LOG="$ROOT/target/setup.log"
: >"$LOG"

say() { printf 'setup: %s\n' "$*"; }

# run_logged DESCRIPTION COMMAND...: runs COMMAND with its output in the log; on failure
# prints the log's tail and stops.
run_logged() {
  local what=$1 start=$SECONDS
  shift
  say "$what ..."
  printf '\n===== %s: %s\n' "$what" "$*" >>"$LOG"
  if ! "$@" </dev/null >>"$LOG" 2>&1; then
    say "FAILED: $what (last lines of $LOG follow)"
    tail -n 60 "$LOG" | sed 's/^/  | /'
    exit 1
  fi
  say "$what done ($((SECONDS - start)) s)"
}

# as_root COMMAND...: runs COMMAND as root (directly when we are root, else through sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

APT_UPDATED=0
# apt_install PACKAGE...: apt-get update (once per run), then install.
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    run_logged "apt-get update" as_root apt-get update
    APT_UPDATED=1
  fi
  run_logged "apt-get install $*" as_root apt-get install -y --no-install-recommends "$@"
}

need() {
  command -v "$1" >/dev/null 2>&1 || { say "missing required command: $1 ($2)"; exit 1; }
}
need cargo "install Rust with rustup"
need rustup "install Rust with rustup"
need node "install Node.js >= 20"
need npm "install npm"
need python3 "install Python 3"

# ---- Rust target ---------------------------------------------------------------------------
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rust target wasm32-unknown-unknown: present"
else
  run_logged "rustup target add wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown
fi

# ---- wasm-bindgen-cli at exactly the version in Cargo.lock --------------------------------
if [ ! -f Cargo.lock ]; then
  run_logged "cargo generate-lockfile" cargo generate-lockfile
fi
WB_VERSION=$(awk '
  /^\[\[package\]\]/ { name = "" }
  /^name = / { gsub(/"/, "", $3); name = $3 }
  /^version = / && name == "wasm-bindgen" { gsub(/"/, "", $3); print $3; exit }
' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
  say "could not read the wasm-bindgen version from Cargo.lock"
  exit 1
fi
have_wb() {
  command -v wasm-bindgen >/dev/null 2>&1 && command -v wasm-bindgen-test-runner >/dev/null 2>&1 \
    && [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$WB_VERSION" ] \
    && [ "$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" = "$WB_VERSION" ]
}
if have_wb; then
  say "wasm-bindgen-cli $WB_VERSION: present"
else
  # No --locked: one of its locked dependencies is not served by the registry mirror here.
  run_logged "cargo install wasm-bindgen-cli $WB_VERSION (about 4 minutes)" \
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
  have_wb || { say "wasm-bindgen $WB_VERSION still not on PATH after install"; exit 1; }
fi

# What the tests need beyond the build (browsers, drivers, PostgreSQL); `npm start` sets
# SETUP_FOR=start and skips them.
if [ "${SETUP_FOR:-test}" = test ]; then

# ---- Chromium + ChromeDriver (Debian packages) ---------------------------------------------
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say "chromium + chromedriver: present"
else
  apt_install chromium chromium-driver
fi

# ---- Firefox + geckodriver, WebKit + WebKitWebDriver (the other two engines) ----------------
if [ -x /usr/bin/firefox-esr ]; then
  say "firefox-esr: present"
else
  apt_install firefox-esr
fi
if [ -x /usr/bin/WebKitWebDriver ] && command -v xvfb-run >/dev/null; then
  say "webkit2gtk-driver + xvfb: present"
else
  apt_install webkit2gtk-driver xvfb xauth
fi
if command -v geckodriver >/dev/null; then
  say "geckodriver: present ($(geckodriver --version 2>/dev/null | head -n1))"
else
  run_logged "cargo install geckodriver (about 2 minutes)" cargo install geckodriver
fi

# ---- PostgreSQL (the reference server's tests start a throwaway cluster) ------------------
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "postgresql: present"
else
  apt_install postgresql
fi

fi

# ---- npm dev dependencies ------------------------------------------------------------------
# node_modules is stale when package.json or package-lock.json changed since the last install.
STAMP=node_modules/.workflow-templates-setup
want_stamp=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -d node_modules ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ]; then
  say "node_modules: up to date"
else
  if [ -f package-lock.json ]; then
    run_logged "npm ci" npm ci --no-audit --no-fund
  else
    run_logged "npm install" npm install --no-audit --no-fund
    want_stamp=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
  fi
  echo "$want_stamp" >"$STAMP"
fi

if [ "${SETUP_FOR:-test}" = test ]; then
# ---- Python oracle for the test vectors ----------------------------------------------------
if python3 -c 'import rfc8785' >/dev/null 2>&1; then
  say "python rfc8785: present"
else
  if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3-pip
  fi
  # A Debian-managed python3 refuses plain pip installs (PEP 668); there fall back to
  # --break-system-packages, which is what a throwaway CI machine wants.
  if python3 -c 'import sys; sys.exit(0 if sys.prefix == sys.base_prefix and __import__("os").path.exists(__import__("sysconfig").get_path("stdlib") + "/EXTERNALLY-MANAGED") else 1)'; then
    run_logged "pip install rfc8785" python3 -m pip install --disable-pip-version-check --break-system-packages rfc8785
  else
    run_logged "pip install rfc8785" python3 -m pip install --disable-pip-version-check rfc8785
  fi
  python3 -c 'import rfc8785' || { say "rfc8785 still not importable"; exit 1; }
fi

# ---- Schemathesis (scripts/schemathesis.sh) in its own cached virtualenv ---------------------
# A venv keeps its many dependencies out of the system Python; it lives in the user's cache,
# so worktrees and CI reruns share it. SCHEMATHESIS_SPEC pins the version range.
ST_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/wt-schemathesis/venv"
ST_SPEC="${SCHEMATHESIS_SPEC:-schemathesis>=4.32,<5}"
if "$ST_VENV/bin/python" -c 'import schemathesis, sys; sys.exit(0 if schemathesis.__version__.startswith("4.") else 1)' >/dev/null 2>&1; then
  say "schemathesis: present ($("$ST_VENV/bin/schemathesis" --version 2>/dev/null))"
else
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  rm -rf "$ST_VENV"
  run_logged "python3 -m venv $ST_VENV" python3 -m venv "$ST_VENV"
  run_logged "pip install $ST_SPEC" "$ST_VENV/bin/pip" install --disable-pip-version-check "$ST_SPEC"
  "$ST_VENV/bin/schemathesis" --version || { say "schemathesis still not runnable"; exit 1; }
fi
fi

say "ready (wasm-bindgen $WB_VERSION, $(/usr/bin/chromium --version 2>/dev/null | head -n1), node $(node --version))"
