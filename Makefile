# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# Both create the virtual environment they need (.venv, Python 3.13) on first use.

SHELL := /bin/bash
export PYENV_VERSION ?= 3.13.0
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

PYTHON_BOOT ?= $(shell command -v python3.13 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# sam build finds python3.13 on PATH: the venv's interpreter.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv lint validate build test unit demo bench fuzz clean

help:
	@echo "make demo   run the connector offline (moto + Twilio emulator) and print the result"
	@echo "make test   ruff, sam validate --lint, sam build, pytest"
	@echo "make bench  benchmarks (not part of make test)"
	@echo "make fuzz   10,000 fuzzed events per handler (make test runs a small profile)"

$(STAMP): requirements-dev.txt layers/connector/requirements.txt
	@if [ -z "$(PYTHON_BOOT)" ]; then echo "python3.13 not found (install it, or set PYTHON_BOOT=/path/to/python3.13)" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON_BOOT) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

validate: $(STAMP)
	$(BIN)/sam validate --lint --region $(AWS_DEFAULT_REGION)

build: $(STAMP)
	$(BIN)/sam build --cached --parallel
	@test -f .aws-sam/build/ConnectorLayer/python/twilio_connector/__init__.py \
		|| { echo "the built layer does not contain the twilio_connector package" >&2; exit 1; }
	@echo "built layer contains twilio_connector"

unit: $(STAMP)
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; exit $$rc

test: lint validate build unit

demo: $(STAMP)
	$(BIN)/python -m local.demo

# Cold starts are measured in an interpreter holding only the layer's requirements, as in Lambda
# (the dev environment carries the SAM CLI's dependencies, which make boto3 heavier to import).
LAMBDA_VENV := .venv-lambda
$(LAMBDA_VENV)/.installed: layers/connector/requirements.txt
	@test -x $(LAMBDA_VENV)/bin/python || $(PYTHON_BOOT) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r layers/connector/requirements.txt
	@touch $@

bench: $(STAMP) $(LAMBDA_VENV)/.installed
	$(BIN)/python -m local.bench --lambda-python $(LAMBDA_VENV)/bin/python

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -q -p no:logging -p no:cacheprovider

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache $(LAMBDA_VENV)
