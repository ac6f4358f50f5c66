# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# Both create the virtual environment they need (.venv, Python 3.13) on first use.

SHELL := /bin/bash
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

# Any installed Python 3.13.x (python3.13 on PATH, or the newest pyenv has); name another with
# `make test PYTHON=/path/to/python3.13`.
PYTHON_BOOT := $(shell PYTHON="$(PYTHON)" scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# sam build finds python3.13 on PATH: the venv's interpreter.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# sam build packs the functions for the template's architecture (arm64). The tests import and run
# what it packs, so they also need the same build for this machine's architecture.
HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/')
HOST_BUILD := .aws-sam/build-$(HOST_ARCH)

.PHONY: help venv lint validate build build-host test unit integration demo invoke bench fuzz \
	goldens goldens-regex locale-data clean checkov replay-dlq phone-table offline-start \
	offline-stop sign-inbound time-zone-table campaign-sim

# Every target says what it does in a `## ` comment on its own line (`target: ... ## what`);
# `make help` lists them (tests/unit/test_makefile.py checks every .PHONY target has one).
help: ## this list: every target and what it does
	@echo "make <target> [NAME=value ...]; FAST=1 skips the tests marked slow (pytest -m 'not slow')"
	@grep -hE '^[A-Za-z][A-Za-z0-9_-]*:[^=]*## ' $(firstword $(MAKEFILE_LIST)) | \
		sed -E 's/^([^:]*):[^#]*## (.*)$$/\1\t\2/' | \
		awk -F '\t' '{ printf "  make %-14s %s\n", $$1, $$2 }'

# (on standard error: `make invoke`'s standard output is its result alone, even on a fresh clone)
$(STAMP): requirements-dev.txt layers/connector/requirements.txt
	@test -n "$(PYTHON_BOOT)" || scripts/find-python >/dev/null
	@echo "creating $(VENV) and installing requirements-dev.txt" >&2
	@test -x $(BIN)/python || $(PYTHON_BOOT) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
	@touch $(STAMP)

venv: $(STAMP) ## create .venv (Python 3.13) with requirements-dev.txt (every target does it first)

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The connector (template.yaml), its nested operations application, and the examples stack.
TEMPLATES := template.yaml operations/template.yaml examples/template.yaml
validate: $(STAMP) ## sam validate --lint of every template (connector, operations, examples)
	@for t in $(TEMPLATES); do $(BIN)/sam validate --lint --region $(AWS_DEFAULT_REGION) -t $$t || exit 1; done

# sam build ships sources only, and Lambda's code directories are read-only: without bytecode in
# the artifact, every cold start compiles every module it imports (boto3, twilio, powertools...),
# several times the cost of loading them. Unchecked-hash .pyc stay valid whatever timestamps the
# deployment package gives the sources.
COMPILE := $(BIN)/python -m compileall -q -j 0 --invalidation-mode unchecked-hash

build: $(STAMP) ## sam build for the template's arm64, compiled to bytecode (.aws-sam/build)
	$(BIN)/sam build --cached --parallel
	$(COMPILE) .aws-sam/build
	@test -f .aws-sam/build/ConnectorLayer/python/twilio_connector/__init__.py \
		|| { echo "the built layer does not contain the twilio_connector package" >&2; exit 1; }
	@echo "built layer contains twilio_connector"

# The same functions and layer, built for this machine (identical but for compiled extensions),
# so that tests and `make invoke` run exactly what sam build packs. Built again only when a source
# changed (a file added or removed changes its folder's time); sam build's output goes to standard
# error, so that `make -s invoke ... | jq` reads the result alone. (The template's copy sits in
# .aws-sam/: the nested application's Location, operations/template.yaml, becomes ../operations/.)
HOST_BUILT := $(HOST_BUILD)/.built
BUILD_SOURCES := template.yaml operations/template.yaml $(shell find layers functions -name __pycache__ -prune -o -print)

build-host: $(HOST_BUILT) ## the same build for this machine, which the tests and make invoke run

$(HOST_BUILT): $(STAMP) $(BUILD_SOURCES)
	@echo "sam build for $(HOST_ARCH) into $(HOST_BUILD)" >&2
	@mkdir -p .aws-sam
	@sed -E -e 's/\barm64\b/$(HOST_ARCH)/g' -e 's#^( +Location: )([a-z])#\1../\2#' template.yaml \
		> .aws-sam/template-$(HOST_ARCH).yaml
	@$(BIN)/sam build --cached --parallel --template-file .aws-sam/template-$(HOST_ARCH).yaml \
		--base-dir . --build-dir $(HOST_BUILD) --cache-dir .aws-sam/cache-$(HOST_ARCH) >&2
	@$(COMPILE) $(HOST_BUILD) >&2
	@touch $@

# pytest on the given paths, against the host build; FAST=1: without the tests marked slow;
# PYTEST_ARGS: more of pytest's options (-k ..., --durations=20, -x).
PYTEST = @BUILT_FUNCTIONS=$(HOST_BUILD) $(BIN)/python -m pytest $(if $(FAST),-m "not slow") \
	$(PYTEST_ARGS) $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; exit $$rc

unit: $(STAMP) ## pytest tests/unit: no build, no servers (PYTEST_ARGS=, FAST=1)
	$(call PYTEST,tests/unit)

integration: build build-host ## pytest tests/integration, against the builds (PYTEST_ARGS=, FAST=1)
	$(call PYTEST,tests/integration)

test: lint validate build build-host ## lint, validate, both builds, then every test (what CI runs)
	$(call PYTEST,tests)

demo: build-host ## run the connector offline (moto + Twilio emulator) and print the result
	$(BIN)/python -m local.demo
	BUILT_FUNCTIONS=$(HOST_BUILD) $(BIN)/python -m local.demo_workflow

# Like `sam local invoke FN -e EVENT`, without Docker or an AWS/Twilio account: the function as
# sam build packs it, in a clean interpreter, against moto and the Twilio emulator. Standard output
# is the result alone. EVENT=- (or no EVENT) reads the event from standard input; PARAMS overrides
# template parameters (sam's --parameter-overrides syntax); STEPS=file.json runs a list of
# {function, event} in order against the same stand-ins. In an offline session (offline-start),
# every invocation runs against the session's stand-ins (NO_SESSION=1: stand-ins of its own).
INVOKE_ARGS = $(if $(STEPS),--steps $(STEPS),$(FN) $(or $(EVENT),-))
invoke: $(if $(FN)$(STEPS),$(HOST_BUILT)) ## one function, one event, offline: FN=SendSmsFunction EVENT=events/send_sms.json [PARAMS='Name=Value ...'], or STEPS=file.json
	@test -n "$(FN)$(STEPS)" || { echo "usage: make invoke FN=SendSmsFunction EVENT=events/send_sms.json [PARAMS='Name=Value ...'] | STEPS=events/steps/schedule_then_cancel.json" >&2; exit 2; }
	@$(BIN)/python -m local.invoke $(INVOKE_ARGS) --build-dir $(HOST_BUILD) $(if $(NO_SESSION),--no-session) \
		--parameter-overrides "$$PARAMS"

# An offline session (local/session.py): moto, the emulator and the warm functions stay up in the
# background, answering Lambda's Invoke API like `sam local start-lambda` (PORT=3001: on that
# port; a free one otherwise), until offline-stop.
offline-start: $(HOST_BUILT) ## keep the offline stand-ins running between make invoke runs [PARAMS=, PORT=]
	@$(BIN)/python -m local.session start --build-dir $(HOST_BUILD) --parameter-overrides "$$PARAMS" \
		$(if $(PORT),--port $(PORT))

offline-stop: $(STAMP) ## stop the offline session
	@$(BIN)/python -m local.session stop

# A signed inbound webhook event of your own (local/sign_inbound.py); OUT=file, ROUTE=/status,
# PUBLIC_URL= (the PublicWebhookUrl the function runs with).
sign-inbound: $(STAMP) ## BODY='Body=Order Number 1' [ROUTE=, PUBLIC_URL=, OUT=]: a signed inbound event
	@$(BIN)/python -m local.sign_inbound --body "$$BODY" --route "$(or $(ROUTE),/sms)" \
		--public-url "$$PUBLIC_URL" --out "$$OUT"

# Cold starts are measured in an interpreter holding only the layer's requirements, as in Lambda
# (the dev environment carries the SAM CLI's dependencies, which make boto3 heavier to import).
LAMBDA_VENV := .venv-lambda
# The cold start's comparison, a hand-written boto3 + twilio + jinja2 handler, finds jinja2 here
# beside the layer (the layer does not ship it).
HANDWRITTEN := jinja2==3.1.6 markupsafe==3.0.4
$(LAMBDA_VENV)/.installed: layers/connector/requirements.txt Makefile
	@test -n "$(PYTHON_BOOT)" || scripts/find-python >/dev/null
	@test -x $(LAMBDA_VENV)/bin/python || $(PYTHON_BOOT) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r layers/connector/requirements.txt
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
		--target $(LAMBDA_VENV)/handwritten $(HANDWRITTEN)
	@touch $@

bench: $(STAMP) $(LAMBDA_VENV)/.installed build-host ## benchmarks (not part of make test)
	$(BIN)/python -m local.bench --lambda-python $(LAMBDA_VENV)/bin/python

fuzz: $(STAMP) ## 10,000 fuzzed events per handler (make test runs a small profile)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -q -p no:logging -p no:cacheprovider

# Goldens come only from the reference engine: Debian's libfreemarker-java, installed on demand.
# The locale data comes from the same JDK first: what Java 17 formats with where Babel differs.
goldens: locale-data ## render the template corpus with Apache FreeMarker (Java 17, apt-get)
	$(BIN)/python -m local.goldens.freemarker

# Corrections to Babel's CLDR 41 from Java 17's own (CLDR 39) formats, for the template engine:
# layers/connector/twilio_connector/freemarker/cldr_java17.json (needs a JDK 17: javac, java).
locale-data: $(STAMP) ## the templates' locale data corrections from Java 17 (make goldens runs it)
	$(BIN)/python -m local.goldens.locale_data

# checkov pins an old boto3, so it lives in a virtual environment of its own; ~30 s a run, so
# it is not part of `make test`. Every finding is fixed or suppressed in its template with its
# reason (Metadata: checkov: skip).
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -n "$(PYTHON_BOOT)" || scripts/find-python >/dev/null
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON_BOOT) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

checkov: $(CHECKOV_VENV)/.installed ## checkov's security checks of every template (not in make test)
	$(CHECKOV_VENV)/bin/checkov $(addprefix -f ,$(TEMPLATES)) --framework cloudformation secrets \
		--compact --quiet --skip-download

# The dead-letter replay (docs/operations.md), against the deployed stack STACK (samconfig's
# stack_name by default) or the queue QUEUE_URL, with the caller's AWS credentials and region
# (AWS_PROFILE, AWS_DEFAULT_REGION; AWS_ENDPOINT_URL for moto). DRY_RUN=1 publishes and deletes nothing.
STACK ?= twilio-connector
replay-dlq: $(STAMP) ## publish the inbound dead-letter queue's events again (STACK=, QUEUE_URL=, DRY_RUN=1)
	@PYTHONPATH=layers/connector POWERTOOLS_TRACE_DISABLED=true POWERTOOLS_SERVICE_NAME=replay-dlq \
		$(BIN)/python -m twilio_connector.replay \
		$(if $(QUEUE_URL),--queue-url $(QUEUE_URL),--stack $(STACK)) $(if $(DRY_RUN),--dry-run)

# The trigger-pattern goldens come from java.util.regex itself (needs a JDK 17: javac, java);
# make test compares against the committed file without Java.
goldens-regex: $(STAMP) ## re-record the trigger-pattern goldens with Java 17 (javac)
	$(BIN)/python -m local.goldens.java_regex

# E.164 numbers are checked from a table of phonenumbers' metadata, without importing it (cold
# start); tests/unit/test_phone_table.py fails until this is run after a phonenumbers upgrade.
phone-table: $(STAMP) ## regenerate the E.164 length table from phonenumbers (after upgrading it)
	$(BIN)/python -m local.phone_table

# The campaign's quiet hours read a recipient's time zones from a table of phonenumbers' time zone
# data (the layer's phonenumberslite leaves it out): the full package's wheel, read, not installed.
time-zone-table: $(STAMP) ## regenerate the campaign's time zone table from phonenumbers
	@mkdir -p .aws-sam/phonenumbers
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps \
		"phonenumbers==$$($(BIN)/python -c 'import phonenumbers; print(phonenumbers.__version__)')" \
		-d .aws-sam/phonenumbers
	$(BIN)/python -m local.time_zone_table --wheel-dir .aws-sam/phonenumbers

# The campaign, paced, at scale: the shipped state machine in moto's interpreter against the
# emulator with per-sender throughput, on a fast clock (local/campaign_sim.py); its last line
# is one JSON object. RECIPIENTS=100000 SENDER_MPS=10 [SPEED=...]
RECIPIENTS ?= 2000
SENDER_MPS ?= 10
campaign-sim: build-host ## the paced campaign simulated at scale: RECIPIENTS=100000 SENDER_MPS=10 [SPEED=]
	BUILT_FUNCTIONS=$(HOST_BUILD) $(BIN)/python -m local.campaign_sim --recipients $(RECIPIENTS) \
		--sender-mps $(SENDER_MPS) $(if $(SPEED),--speed $(SPEED))

clean: ## remove the builds, caches and the bench's and checkov's environments
	rm -rf .aws-sam .pytest_cache .ruff_cache $(LAMBDA_VENV) $(CHECKOV_VENV)
