# The README's commands. A fresh machine needs only Python 3.11, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: demo test ui status lint clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)  ## run the whole hub on a synthetic world; prints where its outputs are
	$(BIN)/ketenbrug demo

# The portal's browser tests drive the operating system's Chromium, never a downloaded one.
$(CHROMIUM):
	@if command -v apt-get >/dev/null; then \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y --no-install-recommends \
			chromium chromium-driver || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update \
			&& $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y --no-install-recommends \
			chromium chromium-driver; }; \
	else echo "install Chromium from your system's packages ($(CHROMIUM))"; exit 1; fi

test: $(INSTALLED) $(CHROMIUM) lint  ## the whole test suite (what CI runs)
	$(BIN)/pytest

ui: $(INSTALLED)  ## the Dagster UI and the portal, on the demo's instance and warehouse
	$(BIN)/ketenbrug ui

status: $(INSTALLED)
	$(BIN)/ketenbrug status

lint: $(INSTALLED)  ## ruff, mypy on the Python packages, sqlfluff on dbt_project/
	$(BIN)/ruff check .
	$(BIN)/mypy
	KETENBRUG_WAREHOUSE=$$(mktemp -d)/lint.duckdb DBT_SEND_ANONYMOUS_USAGE_STATS=false \
		$(BIN)/sqlfluff lint dbt_project

clean:  ## remove everything the demo wrote (keys included)
	rm -rf var dbt_project/target dbt_project/logs
