#!/usr/bin/env bash
# Create both environments and install their pinned dependencies (only when they changed):
#   .venv       a supported Python (3.12 or 3.13): gateway, channels, action server, CLI, tests
#   .venv-rasa  Python 3.10: Rasa 3.6 and what runs inside it (docs/runtime.md)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
RASA_VENV="${RASA_VENV:-.venv-rasa}"

# find_python MINOR...: the first interpreter of one of those 3.x versions: $PYTHON3XX, python3.X
# on PATH, pyenv's, then the usual system folders ($SYSTEM_PYTHON_DIRS).
SYSTEM_PYTHON_DIRS="${SYSTEM_PYTHON_DIRS:-/usr/bin /usr/local/bin}"
find_python() {
  for minor in "$@"; do
    local override="PYTHON3${minor}" system=()
    for dir in $SYSTEM_PYTHON_DIRS; do system+=("$dir/python3.${minor}"); done
    for candidate in "${!override:-}" "python3.${minor}" \
        "$(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)/versions/3.${minor}".*/bin/python3."${minor}" 2>/dev/null | tail -1)" \
        "${system[@]}"; do
      [ -n "$candidate" ] || continue
      if command -v "$candidate" >/dev/null 2>&1 \
          && "$candidate" -c "import sys, venv; assert sys.version_info[:2] == (3, ${minor})" 2>/dev/null; then
        command -v "$candidate"
        return 0
      fi
    done
  done
  return 1
}

# make_env DIR PYTHON-DESCRIPTION MINOR...
make_env() {
  local dir="$1" what="$2"
  shift 2
  if [ -x "$dir/bin/python" ]; then
    return 0
  fi
  local py
  if ! py="$(find_python "$@")"; then
    echo "error: $what is needed for $dir." >&2
    echo "       Install it (your system's python3.$1 package, or 'pyenv install 3.$1'), or point" >&2
    echo "       PYTHON3$1 at its interpreter, then run this again." >&2
    exit 1
  fi
  echo "==> Creating $dir with $py"
  "$py" -m venv "$dir"
}

# install DIR NOTE CONSTRAINTS REQUIREMENTS...: pip install when any input is newer than the stamp
install() {
  local dir="$1" note="$2" constraints="$3"
  shift 3
  local stamp="$dir/.installed" stale=""
  [ -f "$stamp" ] || stale=1
  for input in "$constraints" "$@"; do
    [ "$input" -nt "$stamp" ] && stale=1
  done
  if [ -z "$stale" ]; then
    echo "==> Dependencies are up to date ($dir)"
    return 0
  fi
  echo "==> Installing dependencies into $dir ($note)"
  "$dir/bin/python" -m pip install --upgrade --progress-bar on "pip<25" wheel
  local args=()
  for requirements in "$@"; do args+=(-r "$requirements"); done
  "$dir/bin/python" -m pip install --progress-bar on "${args[@]}" -c "$constraints"
  "$dir/bin/python" -m pip check
  touch "$stamp"
}

make_env "$VENV" "A supported Python (3.12 or 3.13)" 12 13
make_env "$RASA_VENV" "Python 3.10 (Rasa 3.6 supports 3.8-3.10)" 10
echo "==> $VENV: $("$VENV/bin/python" --version); $RASA_VENV: $("$RASA_VENV/bin/python" --version)"
install "$VENV" "first time about 1 minute, 0.8 GB" requirements/constraints.txt requirements/gateway.in requirements/dev.in
install "$RASA_VENV" "first time about 3 minutes, 2.8 GB" requirements/rasa-constraints.txt requirements/rasa.in

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

# tests/test_deploy.py renders the Kubernetes manifests with kubectl's kustomize (no cluster).
if ! command -v kubectl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing kubectl (renders deploy/k8s for the tests)"
    apt-get update -qq && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null; }
  else
    echo "warning: kubectl is not installed; tests/test_deploy.py will fail. Install kubectl (1.27 or newer)." >&2
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
