# GAN Lab: three commands on a fresh machine — `make lab` (JupyterLab on the chapters),
# `make book` and `make test`. Each creates .venv if it is missing and installs labkit with the
# extras it needs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint book bench reliability student clean-book clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# Unit and papermill tests, plus nbval running every notebook top to bottom as a student would
# (at the smoke profile): each notebook is executed in full twice, no more. Two pytest-xdist
# workers, each test file (and each notebook) on one worker, one torch thread each (the two
# workers share the two cores).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check labkit tests tools
	$(BIN)/lint-imports
	LABKIT_PROFILE=smoke OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests --nbval-lax notebooks \
		--ignore=notebooks/student -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check labkit tests tools
	$(BIN)/lint-imports

# Executes every notebook (profile: $$LABKIT_PROFILE, else full on a GPU, cpu without) and
# builds HTML. Executed notebooks are cached by jupyter-cache, so a rebuild with nothing changed
# is quick. That cache is keyed on the notebooks' text only, so it is dropped when the profile
# changes (a smoke build must never pass for a cpu one) or labkit's code does (the book shows
# what the current code produces): then every chapter is executed again.
PROFILE := $(or $(LABKIT_PROFILE),auto)
LABKIT_HASH = $(shell cat pyproject.toml $$(find labkit -name '*.py' | LC_ALL=C sort) | sha256sum | cut -c1-16)
book: $(STAMP)
	@mkdir -p _build
	@if [ "$$(cat _build/.profile 2>/dev/null)" != "$(PROFILE)" ] || \
	    [ "$$(cat _build/.labkit 2>/dev/null)" != "$(LABKIT_HASH)" ]; then \
		if [ -d _build/.jupyter_cache ]; then echo "make book: the profile or labkit changed" \
			"since the last build; every chapter is executed again."; fi; \
		rm -rf _build/.jupyter_cache; echo "$(PROFILE)" > _build/.profile; \
		echo "$(LABKIT_HASH)" > _build/.labkit; fi
	$(BIN)/jupyter-book build . --builder html
	@echo "Open _build/html/index.html"

# Checks the book `make book` built (it does not build it): opens every page in headless Chromium
# (Debian's package, installed here when missing and run as root) and fails on a broken image, a
# figure the notebook produced that its page lacks, or an unrendered math/citation role; writes a
# full-page screenshot of each page to _build/screenshots/. Not part of `make test`.
CHROMIUM ?= /usr/bin/chromium
.PHONY: check-book
check-book: $(STAMP)
	@test -f _build/html/index.html || \
		{ echo "check-book: no built book in _build/html; run 'make book' first."; exit 2; }
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "check-book: $(CHROMIUM) is missing; install Debian's Chromium first:"; \
			echo "  sudo apt-get update && sudo apt-get install -y chromium"; exit 2; fi; }
	$(BIN)/python tools/check_book.py --html _build/html --screenshots _build/screenshots \
		--chromium $(CHROMIUM)

# The third everyday command: JupyterLab on notebooks/, to work through the chapters with their
# live widgets. Creates .venv if it is missing and installs labkit with its lab extra (the book's
# kernel and ipywidgets, and JupyterLab); prints the URL to open. No browser is opened where
# there is no display, and as root (containers, CI) JupyterLab needs --allow-root to start.
# More options: make lab LAB_ARGS="--port=9999".
LAB_STAMP := $(VENV)/.installed-lab
LAB_ARGS  ?=
LAB_FLAGS  = --ServerApp.root_dir=notebooks \
	$(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser) \
	$(if $(filter 0,$(shell id -u)),--allow-root)
.PHONY: lab check-lab
lab: $(LAB_STAMP)
	@echo "make lab: JupyterLab on notebooks/; open the URL with its token printed below" \
		"(Ctrl-C twice stops it)."
	$(BIN)/jupyter lab $(strip $(LAB_FLAGS)) $(LAB_ARGS)

$(LAB_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab]"
	@touch $@

# The widgets proven live: starts JupyterLab on a free port with a token, runs chapters 1, 2, 4
# and 5 at the smoke profile with a live kernel in headless Chromium (as check-book, offline),
# moves every widget's controls and fails unless its image changes; the live training view must
# redraw during training. Screenshots before and after: _build/lab-screenshots/. Not part of
# `make test` (about 5 to 7 minutes on 2 shared cores).
check-lab: $(STAMP)
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "check-lab: $(CHROMIUM) is missing; install Debian's Chromium first:"; \
			echo "  sudo apt-get update && sudo apt-get install -y chromium"; exit 2; fi; }
	$(BIN)/python tools/check_lab.py --screenshots _build/lab-screenshots --chromium $(CHROMIUM)

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The student editions (notebooks/student/) and the exercises' test files, from the chapter
# notebooks (tools/assign.py; make test fails when they are out of date).
student: $(STAMP)
	$(BIN)/python tools/assign.py

# The reliability suite with 20 kill -9 trials (make test runs 4): kill, resume, compare.
reliability: $(STAMP)
	OMP_NUM_THREADS=1 LABKIT_KILL_TRIALS=20 $(BIN)/python -m pytest tests/test_reliability.py -v

# Throughput of the training path (writes bench/bench.json and bench/bench.md); ≤ 10 min on 2 CPUs.
bench: $(STAMP)
	$(BIN)/labkit bench --out bench
