# The two commands a newcomer needs:   make run   and   make test
# Two environments (docs/runtime.md): .venv, a supported Python, runs everything but Rasa;
# .venv-rasa, Python 3.10, runs Rasa 3.6 and what Rasa imports.
VENV ?= .venv
RASA_VENV ?= .venv-rasa
PY := $(VENV)/bin/python
RASA_PY := $(RASA_VENV)/bin/python
CODE := bot actions channels nlu/components bench
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run test test-core setup train lint eval crossval lock clean

run: setup train            ## set up, train if needed, start everything, chat in the terminal
	$(PY) -m bot run

test: setup train lint      ## set up, train if needed, lint, run the whole test suite (both environments)
	@scripts/test.sh

test-core: setup            ## only the fast core tests: real (embedded) Redis, a fake bot, no Rasa
	$(PY) -m pytest tests/core tests/test_structure.py

setup:                      ## create both virtualenvs and install their pinned dependencies
	@scripts/setup.sh

train: setup                ## train the model only if training data or config changed
	@$(PY) -m bot train

lint: setup                 ## ruff (lint and format), mypy, and the layers contract (import-linter)
	$(PY) -m ruff check $(CODE) tests
	$(PY) -m ruff format --check $(CODE) tests
	$(PY) -m mypy $(CODE)
	$(VENV)/bin/lint-imports

eval: setup train           ## accuracy on the held-out test cases
	$(RASA_PY) -m bench.nlu_eval --cases tests/data/heldout_fi.yml --cases tests/data/heldout_sv.yml --cases tests/data/heldout_en.yml

crossval: setup             ## compare NLU pipelines by cross-validation (slow)
	$(RASA_PY) -m bench.nlu_crossval

lock:                       ## re-resolve both environments and rewrite their constraint files
	rm -rf .venv-lock && $(VENV)/bin/python -m venv .venv-lock
	.venv-lock/bin/pip install "pip<25" && .venv-lock/bin/pip install -r requirements/gateway.in -r requirements/dev.in
	{ echo "# The supported environment (.venv), resolved from gateway.in and dev.in; \`make lock\` rewrites it."; \
	  .venv-lock/bin/pip freeze; } > requirements/constraints.txt && rm -rf .venv-lock
	rm -rf .venv-lock && $(RASA_PY) -m venv .venv-lock
	.venv-lock/bin/pip install "pip<25" && .venv-lock/bin/pip install -r requirements/rasa.in
	{ echo "# Rasa's environment (.venv-rasa, Python 3.10), resolved from rasa.in; \`make lock\` rewrites it."; \
	  .venv-lock/bin/pip freeze; } > requirements/rasa-constraints.txt && rm -rf .venv-lock

clean:                      ## remove trained models and runtime data (not the virtualenvs)
	rm -rf models var results
