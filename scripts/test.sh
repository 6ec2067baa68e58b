#!/usr/bin/env bash
# The whole test suite in one command, one result: what Rasa imports is tested in Rasa's own
# environment (tests/rasa/, Python 3.10), everything else in the supported one (Python 3.12+).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
RASA_VENV="${RASA_VENV:-.venv-rasa}"

echo "==> tests/rasa in Rasa's environment ($("$RASA_VENV/bin/python" --version))"
"$RASA_VENV/bin/python" -m pytest --confcutdir=tests/rasa tests/rasa "$@"
rasa_status=$?
echo "==> the rest in the supported environment ($("$VENV/bin/python" --version))"
"$VENV/bin/python" -m pytest --ignore=tests/rasa "$@"
gateway_status=$?

describe() { [ "$1" = 0 ] && echo "passed" || echo "FAILED (exit $1)"; }
echo "==> tests: Rasa's environment $(describe $rasa_status); supported environment $(describe $gateway_status)"
[ "$rasa_status" = 0 ] && [ "$gateway_status" = 0 ]
