# Kopilka developer tasks (GNU make 4.3+). Run `make` or `make help` for a list.

PYTHON      ?= python3.11
VENV        := .venv
VENV_PY     := $(VENV)/bin/python
STAMP       := $(VENV)/.stamp
EMULATOR    := $(VENV_PY) scripts/emulator.py
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.PHONY: help venv test unit demo run openapi emulator-start emulator-stop clean

help: ## list targets
	@echo "Kopilka make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  %-15s %s\n", $$1, $$2}'
	@echo "Variables: PYTEST_ARGS='...' (extra pytest args), PYTHON=$(PYTHON)"

venv: $(STAMP) ## create/refresh .venv from requirements-dev.txt

# (Re)built when a requirements file changes or .venv/bin/python is missing
# or broken (then the stamp is forced out of date).
ifneq ($(shell test -x $(VENV_PY) && echo ok),ok)
.PHONY: $(STAMP)
endif
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV_PY) || { echo "$(PYTHON) -m venv --clear $(VENV)"; $(PYTHON) -m venv --clear $(VENV); }
	$(VENV_PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

test: venv ## full test suite against a private Firestore emulator
	$(EMULATOR) run -- $(VENV_PY) -m pytest -q $(PYTEST_ARGS)

unit: venv ## unit tests only (no emulator)
	$(VENV_PY) -m pytest -q tests/unit $(PYTEST_ARGS)

demo: venv ## run scripts/demo.py against a private Firestore emulator
	$(EMULATOR) run -- $(VENV_PY) -m scripts.demo

run: venv ## serve every function locally on the emulator (ports 8081+), with provider fakes
	$(EMULATOR) run -- $(VENV_PY) -m scripts.serve

openapi: venv ## regenerate openapi.json from the endpoint models
	$(VENV_PY) -m scripts.openapi

emulator-start: ## start a background emulator (state in .emulator/state.json)
	@python3 scripts/emulator.py start

emulator-stop: ## stop the background emulator
	@python3 scripts/emulator.py stop

clean: ## remove .venv, .emulator and caches
	-@if [ -f .emulator/state.json ]; then python3 scripts/emulator.py stop; fi
	rm -rf $(VENV) .emulator .pytest_cache .hypothesis .mypy_cache .ruff_cache
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
