# The two commands a newcomer needs:   make run   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
CODE := bot actions channels nlu/components bench
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run test test-core setup train lint eval crossval lock clean

run: setup train            ## set up, train if needed, start everything, chat in the terminal
	$(PY) -m bot run

test: setup train lint      ## set up, train if needed, lint, run the whole test suite
	$(PY) -m pytest

test-core: setup            ## only the fast core tests: real (embedded) Redis, a fake bot, no Rasa
	$(PY) -m pytest tests/core tests/test_structure.py

setup:                      ## create the virtualenv and install pinned dependencies
	@scripts/setup.sh

train: setup                ## train the model only if training data or config changed
	@$(PY) -m bot train

lint: setup                 ## ruff (lint and format), mypy, and the layers contract (import-linter)
	$(PY) -m ruff check $(CODE) tests
	$(PY) -m ruff format --check $(CODE) tests
	$(PY) -m mypy $(CODE)
	$(VENV)/bin/lint-imports

eval: setup train           ## accuracy on the held-out test cases
	$(PY) -m bench.nlu_eval --cases tests/data/heldout_fi.yml --cases tests/data/heldout_sv.yml --cases tests/data/heldout_en.yml

crossval: setup             ## compare NLU pipelines by cross-validation (slow)
	$(PY) -m bench.nlu_crossval

lock:                       ## re-resolve dependencies and rewrite requirements/constraints.txt
	rm -rf .venv-lock && python3.10 -m venv .venv-lock
	.venv-lock/bin/pip install -r requirements/requirements.in -r requirements/dev.in
	.venv-lock/bin/pip freeze > requirements/constraints.txt && rm -rf .venv-lock

clean:                      ## remove trained models and runtime data (not the virtualenv)
	rm -rf models var results
