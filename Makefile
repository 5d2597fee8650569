# The book in two commands: `make book` and `make test`. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-deps
NODE_STAMP := node_modules/.installed
# Extra arguments for `thalbook build`, e.g. make book ARGS="--params params/sensitivity.yml"
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup book html pdf test test-fast check-data audit bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(SYSTEM_STAMP): scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	@mkdir -p $(VENV) && touch $@

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(SYSTEM_STAMP) $(STAMP) $(NODE_STAMP) ## create .venv, install pinned packages and system packages

book: setup ## execute the chapters and build _build/html and _build/pdf/book.pdf
	$(BIN)/thalbook build --format all $(ARGS)

html: setup ## build the HTML book only
	$(BIN)/thalbook build --format html $(ARGS)

pdf: setup ## build the PDF book only
	$(BIN)/thalbook build --format pdf $(ARGS)

test: setup ## run the whole test suite (builds the book, drives a browser)
	$(BIN)/python -m pytest

test-fast: setup ## run the unit tests only
	$(BIN)/python -m pytest tests/unit src/thalbook

check-data: setup ## validate the data package
	$(BIN)/thalbook check-data

audit: setup ## print the consistency audit of every published number
	$(BIN)/thalbook audit

bench: setup ## measure build times against Jupyter Book's own execution
	$(BIN)/python benchmarks/run.py

clean: ## remove the build directory (not the virtual environment)
	rm -rf _build
