# Kopilka developer tasks (GNU make 4.3+). Run `make` or `make help` for a list.

PYTHON      ?= python3.11
VENV        := .venv
VENV_PY     := $(VENV)/bin/python
STAMP       := $(VENV)/.stamp
EMULATOR    := $(VENV_PY) scripts/emulator.py
PYTEST_ARGS ?=
# Test workers (pytest-xdist): each keeps its own emulator projects; a file's tests stay on one
# worker and the browser tests share one (tests/conftest.py). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
XDIST       := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)
ENV         ?= dev
CHECKOV     := .venv-checkov
CHECKOV_VERSION := 3.3.30

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.PHONY: help venv lint test unit demo run kit openapi emulator-start emulator-stop clean package plan infra-check

help: ## list targets
	@echo "Kopilka make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  %-15s %s\n", $$1, $$2}'
	@echo "Variables: PYTEST_ARGS='...' (extra pytest args), PYTEST_WORKERS=$(PYTEST_WORKERS) (0: one process), PYTHON=$(PYTHON)"

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

lint: venv ## ruff and mypy over the code (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: venv ## make lint, then the full test suite against a private Firestore emulator, then checkov on infra/
	@$(MAKE) --no-print-directory lint
	$(EMULATOR) run -- $(VENV_PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)
	@if [ "$(SKIP_CHECKOV)" = 1 ]; then echo "infra-check skipped (SKIP_CHECKOV=1)"; else $(MAKE) --no-print-directory infra-check; fi

unit: venv ## every test that needs no emulator: pure tests and the in-memory half of the store contract
	env -u FIRESTORE_EMULATOR_HOST $(VENV_PY) -m pytest -q -m "not emulator" tests $(PYTEST_ARGS)

# The emulator when gcloud's component and Java 17+ are here, else (or with
# KOPILKA_STORE=memory) the in-memory store, said in one line.
demo: venv ## the Anna & Maria story in headless Chromium where installed, else over HTTP: on a private Firestore emulator, else on the in-memory store
	$(VENV_PY) -m scripts.demo $(if $(KOPILKA_STORE),--store $(KOPILKA_STORE))

run: venv ## every function, the provider fakes, the kit and the demo Tilda shop in one process on the emulator (ports 8081+; the snippet in .run/)
	$(EMULATOR) run -- $(VENV_PY) -m scripts.local_stack

kit: venv ## build the storefront kit: storefront/dist/kopilka-kit.<hash>.js and manifest.json (at most 25 KB gzipped)
	$(VENV_PY) -m scripts.kit

package: venv ## dist/<function>-<sha256>.zip per function + infra/packages.auto.tfvars.json
	$(VENV_PY) -m scripts.package

plan: package ## terraform init + plan for ENV=dev|prod (needs terraform, gcloud auth, TF_STATE_BUCKET)
	@test -n "$(TF_STATE_BUCKET)" || { echo "set TF_STATE_BUCKET=<GCS bucket for the Terraform state>"; exit 2; }
	terraform -chdir=infra init -reconfigure -backend-config="bucket=$(TF_STATE_BUCKET)" -backend-config="prefix=kopilka/$(ENV)"
	terraform -chdir=infra plan -var-file=envs/$(ENV).tfvars -out=$(ENV).tfplan

# checkov lives in its own venv: it ships its own `hcl2` module, which clashes with
# python-hcl2 in .venv (tests/infra). Installing it takes about 40 s, once.
$(CHECKOV)/.stamp:
	@test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv --clear $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install -q --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	@touch $@

infra-check: $(CHECKOV)/.stamp ## checkov over infra/ offline (skips with reasons in .checkov.yaml)
	$(CHECKOV)/bin/checkov -d infra --skip-download --quiet --config-file .checkov.yaml

openapi: venv ## regenerate openapi.json from the endpoint models
	$(VENV_PY) -m scripts.openapi

emulator-start: ## start a background emulator (state in .emulator/state.json)
	@python3 scripts/emulator.py start

emulator-stop: ## stop the background emulator
	@python3 scripts/emulator.py stop

clean: ## remove .venv, .emulator and caches
	-@if [ -f .emulator/state.json ]; then python3 scripts/emulator.py stop; fi
	rm -rf $(VENV) $(CHECKOV) dist .emulator .pytest_cache .hypothesis .mypy_cache .ruff_cache
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

# --- reliability ----------------------------------------------------------------------
.PHONY: audit reliability
AUDIT_ARGS ?=

audit: venv ## ledger audit against the background emulator (`make emulator-start` first; AUDIT_ARGS='--customer ID --limit N')
	@host=$$(python3 scripts/emulator.py status 2>/dev/null | sed -n 's/^FIRESTORE_EMULATOR_HOST=//p'); \
	  test -n "$$host" || { echo "no background emulator: run \`make emulator-start\` first (then load data with FIRESTORE_EMULATOR_HOST from \`python3 scripts/emulator.py status\`)"; exit 2; }; \
	  FIRESTORE_EMULATOR_HOST=$$host GOOGLE_CLOUD_PROJECT=$${GOOGLE_CLOUD_PROJECT:-kopilka-local} $(VENV_PY) -m scripts.ledger_audit $(AUDIT_ARGS)

reliability: venv ## reliability suite alone (storms, races, kills, store faults, fuzzing, ledger audit) on a private emulator
	$(EMULATOR) run -- $(VENV_PY) -m pytest -q -m reliability tests $(PYTEST_ARGS)

.PHONY: bench
bench: venv ## measure latency, store ops and cold start against a private emulator (bench/RESULTS.md)
	$(EMULATOR) run -- $(VENV_PY) -m bench.run

.PHONY: bench-scale
bench-scale: venv ## the 10x load run: seeding, steady mix, a hot promo code and partner, the sweep, the audit (sizes: KOPILKA_SCALE_* env vars; bench/SCALE.md)
	$(EMULATOR) run -- $(VENV_PY) -m bench.scale
