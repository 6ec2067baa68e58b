#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the pinned dependencies (only when they changed).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
STAMP="$VENV/.installed"

find_python() {
  for candidate in "${PYTHON310:-}" python3.10 "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/"3.10*/bin/python3.10 | tr ' ' '\n' | tail -1)" /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY="$(find_python)"; then
    echo "error: Python 3.10 is needed (Rasa 3.6 supports 3.8-3.10)." >&2
    echo "       Install it (e.g. 'pyenv install 3.10' or your system's python3.10 package)," >&2
    echo "       or point PYTHON310 at its interpreter, then run this again." >&2
    exit 1
  fi
  echo "==> Creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

if [ ! -f "$STAMP" ] || [ requirements/constraints.txt -nt "$STAMP" ] \
   || [ requirements/requirements.in -nt "$STAMP" ] || [ requirements/dev.in -nt "$STAMP" ]; then
  echo "==> Installing dependencies into $VENV (first time: about 3 minutes, ~3 GB)"
  "$VENV/bin/python" -m pip install --upgrade --progress-bar on "pip<25" wheel
  "$VENV/bin/python" -m pip install --progress-bar on \
    -r requirements/requirements.in -r requirements/dev.in -c requirements/constraints.txt
  "$VENV/bin/python" -m pip check
  touch "$STAMP"
else
  echo "==> Dependencies are up to date ($VENV)"
fi

# Browser tests drive Debian's Chromium with playwright (playwright's own browser download cannot
# work here). Install it when missing and we may (root with apt-get); otherwise say what to do.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium is not installed; browser tests will fail. Install it: sudo apt-get install chromium" >&2
  fi
fi

# The browser tests check that Rasa's own web chat widget (npm package rasa-webchat 1.x) works
# with our server unchanged. Its lib/index.js is a self-contained bundle: take it from the
# registry's package, without its 590 build dependencies.
RASA_WEBCHAT_VERSION=1.0.1
if [ ! -f "tests/browser/rasa-webchat/$RASA_WEBCHAT_VERSION/lib/index.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> Fetching rasa-webchat@$RASA_WEBCHAT_VERSION from the npm registry (browser tests)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "rasa-webchat@$RASA_WEBCHAT_VERSION" >/dev/null && tar xzf rasa-webchat-*.tgz)
    mkdir -p "tests/browser/rasa-webchat/$RASA_WEBCHAT_VERSION"
    cp -r "$tmp/package/lib" "$tmp/package/LICENSE" "tests/browser/rasa-webchat/$RASA_WEBCHAT_VERSION/"
    rm -rf "$tmp"
  else
    echo "warning: npm is missing; the rasa-webchat browser test will fail. Install Node.js and npm." >&2
  fi
fi
