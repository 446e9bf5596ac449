# `make up` runs the whole service; `make test` runs the checks (ruff, mypy) and the tests. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= archive.db

.PHONY: up test bench bench-reliability lint clean browser demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,fleet,encoder]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/narrative-archive up --db $(DB)

# Headless Chromium for the browser test: Debian's package, installed once when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	    else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; } || \
	  echo "chromium could not be installed: the browser test will be skipped"

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/narrative-archive check
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/rematch.py
	$(BIN)/python benchmarks/import.py --articles 100000 --coverage 0.05
	$(BIN)/python benchmarks/crawl.py --pages 10000
	$(BIN)/python benchmarks/matcher.py && $(BIN)/python benchmarks/worker.py
	$(BIN)/python benchmarks/stance.py && $(BIN)/python benchmarks/citations.py
	$(BIN)/python benchmarks/stories.py --index-size 1000000
	$(BIN)/python benchmarks/datasette.py $(if $(ARTICLES),--articles $(ARTICLES))
	$(BIN)/python benchmarks/backfill.py
	$(BIN)/python benchmarks/hostile_memory.py && $(BIN)/python benchmarks/admission.py

# Reliability harnesses (docs/reliability.md): kill -9 of crawls, a long import beside crawls
# and Datasette.
bench-reliability: $(STAMP)
	$(BIN)/python benchmarks/kill_crawl.py
	$(BIN)/python benchmarks/busy_writer.py

clean:
	rm -rf $(VENV) *.egg-info

# A demo archive of synthetic articles, and screenshots taken from it: in build/ (gitignored)
# unless asked, e.g. `make demo SCREENSHOTS=docs/screenshots` to retake the README's.
# The demo archive lives in build/demo/ with its own captures/ (never the captures/ of an
# archive.db in the repository).
SCREENSHOTS ?= build/screenshots
DEMO_DB ?= build/demo/demo.db
demo: $(STAMP)
	$(BIN)/python datasette/demo.py $(DEMO_DB) --screenshots $(SCREENSHOTS)
