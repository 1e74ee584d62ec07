# GAN Lab: two commands on a fresh machine — `make book` and `make test`.
# Both create .venv if it is missing and install labkit with its book and dev extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint book bench clean-book clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check labkit tests
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check labkit tests

# Executes every notebook (profile: $$LABKIT_PROFILE, else cpu without a GPU) and builds HTML.
# Executed notebooks are cached by jupyter-cache, so a rebuild with nothing changed is quick.
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html
	@echo "Open _build/html/index.html"

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Throughput of the training path (writes bench/bench.json and bench/bench.md); ≤ 10 min on 2 CPUs.
bench: $(STAMP)
	$(BIN)/labkit bench --out bench
