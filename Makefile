# settlesim: one-command set-up, demo and tests on a fresh machine
# (Python >= 3.11, Node 20, npm, make).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: setup demo test test-fast lint compile gas-report bench clean

setup: $(PIP_STAMP) $(NPM_STAMP)

$(PIP_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: setup
	$(PY) scripts/onchain_demo.py

test: setup
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/pytest -p no:cacheprovider

test-fast: setup
	$(VENV)/bin/pytest -m "not integration and not slow"

lint: setup
	$(VENV)/bin/ruff check settlement sim scripts tests benchmarks

compile: setup
	$(VENV)/bin/settlesim compile

gas-report: setup
	$(VENV)/bin/settlesim gas-report

bench: setup
	$(PY) benchmarks/bench_chain.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
