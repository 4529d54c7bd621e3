# The README's two commands: `make demo` (the main job on the bundled sample, no AWS
# account) and `make test` (everything the tests need, then the tests). CI runs `make test`.
PYTHON ?= python3
VENV := .venv
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1

.PHONY: demo test lint bench bench-audit

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.demo: $(VENV)/.core
	$(VENV)/bin/pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.dev: $(VENV)/.core
	@echo "make: installing the test dependencies into $(VENV) (aws-cdk-lib, cdk-nag, moto, pytest, ...; a few minutes the first time)"
	$(VENV)/bin/pip install --quiet -e ".[dev,cdk]"
	touch $@

demo: $(VENV)/.demo
	@echo "\$$ tablesafe check fixtures/sample-cdk.out"
	@$(VENV)/bin/tablesafe check fixtures/sample-cdk.out || \
		echo "(exit code $$?: the sample app has unsafe tables on purpose; see fixtures/sample-app/app.py)"
	@echo
	@echo "\$$ tablesafe audit --demo --output-dir tablesafe-audit/demo"
	@$(VENV)/bin/tablesafe audit --demo --output-dir tablesafe-audit/demo || \
		echo "(exit code $$?: the demo account has unsafe tables on purpose)"
	@echo
	@echo "Next:"
	@echo "  open tablesafe-audit/demo/report.html        the audit report (blueprints and runbooks beside it)"
	@echo "  . $(VENV)/bin/activate                         puts tablesafe on PATH (or run $(VENV)/bin/tablesafe)"
	@echo "  tablesafe check path/to/cdk.out              after cdk synth in your CDK app"
	@echo "  tablesafe lint path/to/app                   your CDK source files, no synth (pre-commit)"
	@echo "  tablesafe rules                              every rule, why it matters and how to fix it"

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	@echo "make: the checkov tests run the real checkov CLI from its own venv (.venv-checkov: checkov pins an old boto3); the first run installs it (1-2 min)"
	@bash scripts/checkov-venv.sh >/dev/null
	$(VENV)/bin/python -m pytest

bench: $(VENV)/.core
	$(VENV)/bin/python benchmarks/bench_check.py

# tablesafe audit vs Prowler on a local moto server, and the 10/s rate-limit run (~12 min;
# the first run also installs Prowler into .venv-prowler, ~7 min).
bench-audit: $(VENV)/.demo
	bash scripts/prowler-venv.sh >/dev/null
	$(VENV)/bin/python benchmarks/bench_audit.py
