# The book in two commands: `make book` and `make test`. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
SYSTEM_STAMP := $(VENV)/.system-deps
TEST_SYSTEM_STAMP := $(VENV)/.system-deps-test
# Extra arguments for `thalbook build`, e.g. make book ARGS="--params params/sensitivity.yml"
ARGS ?=
# Extra arguments for `jupyter lab`, e.g. make lab LAB_ARGS="--no-browser --port=8899"
LAB_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup lab setup-test book html pdf test test-fast check-data audit bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(SYSTEM_STAMP): scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh book
	@mkdir -p $(VENV) && touch $@

$(TEST_SYSTEM_STAMP): scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh test
	@mkdir -p $(VENV) && touch $@

# The book needs the runtime lock only; the tests add the development lock (the same pins, plus
# the test tools). The chapter cache keys on the runtime lock, so a new test tool re-executes nothing.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(SYSTEM_STAMP) $(STAMP) ## create .venv with what building the book needs (runtime lock, LaTeX)

# The server's root is the project, so that the executed copies in _book/executed/ open too; the file
# browser starts in chapters/, where a chapter's kernel finds the project. Jupyter refuses to run as
# root (a container, a VM) without --allow-root.
lab: setup ## open the chapters in JupyterLab 4 with jupyterlab-myst (run a chapter to see its numbers)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --FileContentsManager.preferred_dir=chapters \
		$$(if [ "$$(id -u)" = 0 ]; then echo --allow-root; fi) $(LAB_ARGS)

setup-test: setup $(TEST_SYSTEM_STAMP) $(DEV_STAMP) ## add what the tests need (development lock, Chromium, poppler)

book: setup ## execute the chapters and build _book/html and _book/pdf/book.pdf
	$(BIN)/thalbook build --format all $(ARGS)

html: setup ## build the HTML book only
	$(BIN)/thalbook build --format html $(ARGS)

pdf: setup ## build the PDF book only
	$(BIN)/thalbook build --format pdf $(ARGS)

# One pytest-xdist worker per core, each test module in one worker, in the order tests/conftest.py
# gives them; the real book is built once for all workers. PYTEST_ARGS adds arguments, e.g.
# PYTEST_ARGS="-n 0 -x" (serially, stop at the first failure).
PYTEST_ARGS ?=
PARALLEL := -n auto --dist loadfile --no-loadscope-reorder

test: setup-test ## run the whole test suite (builds the book, drives a browser)
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

test-fast: setup-test ## run the unit tests only
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS) tests/unit src/thalbook

check-data: setup ## validate the data package
	$(BIN)/thalbook check-data

audit: setup ## print the consistency audit of every published number
	$(BIN)/thalbook audit

bench: setup-test ## measure build times against Jupyter Book's own execution
	$(BIN)/python benchmarks/run.py

.PHONY: metadata
metadata: $(STAMP) ## write repository.url of _config.yml into CITATION.cff and .zenodo.json
	$(BIN)/thalbook metadata

lock: setup-test ## regenerate requirements.txt and requirements-dev.txt from pyproject.toml (pip-tools)
	$(BIN)/pip-compile --quiet --upgrade --allow-unsafe --no-emit-find-links --no-emit-index-url --strip-extras \
		--output-file=requirements.txt pyproject.toml
	$(BIN)/pip-compile --quiet --upgrade --allow-unsafe --no-emit-find-links --no-emit-index-url --strip-extras \
		--extra=test --output-file=requirements-dev.txt pyproject.toml

clean: ## remove the build directory _book and Jupyter Book's _build (not the virtual environment)
	rm -rf _book _build
