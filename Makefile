# Two commands set everything up: `make site` builds the site, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements.txt | cksum | cut -d' ' -f1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromium
PORT ?= 8000

.PHONY: site test validate serve preview browser bench clean lock

# Every package is pinned and checked against the SHA-256 in requirements.lock, and only wheels are taken, so no
# package's own build script runs here or in CI; a file that differs from the one locked stops the install.
$(STAMP): requirements.lock requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --only-binary :all: -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Regenerate requirements.lock from requirements.txt: every distribution of each pinned version with its SHA-256
# (all platforms' wheels, so the same lock installs here and on GitHub's runners). Versions already in the lock
# are kept unless requirements.txt asks otherwise; to move one, change requirements.txt or delete its lines first.
LOCK_TOOL := build/lock-tool
lock:
	$(PYTHON) -m venv $(LOCK_TOOL)
	$(LOCK_TOOL)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(LOCK_TOOL)/bin/uv pip compile requirements.txt --generate-hashes --python-version 3.11.7 \
		--custom-compile-command "make lock" --output-file requirements.lock --quiet

# Debian's Chromium for the browser tests; Playwright drives it, and downloads no browser of its own.
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

validate: $(STAMP)
	$(PY) -m build_scripts validate

site: $(STAMP)
	$(PY) -m build_scripts validate
	$(PY) -m build_scripts build

# The test files run in TEST_WORKERS processes (pytest-xdist), each file whole in one of them so that its fixtures
# are built once; CI has two cores. TEST_WORKERS=0 runs them all in this process.
TEST_WORKERS ?= 2
test: $(STAMP) browser
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile tests

serve: site
	@echo "Serving site/ on http://127.0.0.1:$(PORT)/"
	$(PY) -m http.server --directory site --bind 127.0.0.1 $(PORT)

# Serves the site and rebuilds it whenever a record, template, page or mkdocs.yml is saved; Ctrl-C stops.
preview: $(STAMP)
	$(PY) -m build_scripts preview --port $(PORT)

# Builds synthetic evidence at 100, 1,000 and 10,000 studies; results are appended to bench/results.jsonl.
# `make bench BENCH_ARGS=--with-tests` also times `make test`; `BENCH_ARGS="--studies 1000"` picks one size.
bench: $(STAMP) browser
	$(PY) -m tools.bench --studies 100 1000 10000 $(BENCH_ARGS)

clean:
	rm -rf build site
