# settlesim: one-command set-up, demo and tests on a fresh machine
# (Python >= 3.11, Node 20, npm, make).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
SLITHER_VENV := $(VENV)/slither
SLITHER_STAMP := $(SLITHER_VENV)/.installed
CHROMIUM  ?= $(shell command -v chromium 2>/dev/null)

.PHONY: setup demo demo-chain test test-fast lint slither compile gas-report bench clean browser

setup: $(PIP_STAMP) $(NPM_STAMP)

# headless Chromium (Debian package) for the tests that open reports in a real browser
browser:
	@if [ -z "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; \
	fi

$(PIP_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# slither in its own environment: the 'slither' dependency group of pyproject.toml (its
# web3 < 8 requirement excludes the project's web3 8)
slither: $(SLITHER_STAMP)

$(SLITHER_STAMP): pyproject.toml | $(PIP_STAMP)
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SLITHER_VENV)/bin/python -m pip install --quiet $$($(PY) -c 'import tomllib; \
		print(*tomllib.load(open("pyproject.toml", "rb"))["dependency-groups"]["slither"])')
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: setup
	$(VENV)/bin/settlesim run baseline --payments 3000 --out out/demo
	$(PY) scripts/timeline_gallery.py --out out/demo/timelines

demo-chain: setup
	$(PY) scripts/onchain_demo.py

test: setup slither browser
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/pytest -p no:cacheprovider

test-fast: setup
	$(VENV)/bin/pytest -m "not integration and not slow"

lint: setup slither
	$(VENV)/bin/ruff check settlement sim scripts tests benchmarks
	$(VENV)/bin/mypy sim settlement
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m settlement.static_analysis

compile: setup
	$(VENV)/bin/settlesim compile

gas-report: setup
	$(VENV)/bin/settlesim gas-report

bench: setup
	$(PY) benchmarks/bench_chain.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
