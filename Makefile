# facility monitor — the targets CI calls are exactly the ones you call.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# Debian packages the integration tests run for real (servers, clients, headless browser).
SYSTEM_PACKAGES := mosquitto mosquitto-clients influxdb postgresql chromium
PYTEST_ARGS ?=

.PHONY: demo test lint unit integration bench install system-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "facility monitor needs Python 3.11+"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## Run broker, simulated fleet, gateway, alerts, API and dashboard in one process; the first
## start seeds HISTORY_DAYS of history (about 30 s for 90 days), later starts keep it.
HISTORY_DAYS ?= 90
demo: $(STAMP)
	$(BIN)/fm demo --history-days $(HISTORY_DAYS)

## Install the servers the integration tests need (apt-get, only when missing).
system-deps:
	@missing=""; \
	command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto || missing="$$missing mosquitto"; \
	command -v mosquitto_pub >/dev/null 2>&1 || missing="$$missing mosquitto-clients"; \
	command -v influxd >/dev/null 2>&1 || test -x /usr/bin/influxd || missing="$$missing influxdb"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The whole suite: lint, type check, unit and integration tests against real servers.
test: system-deps $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest -m 'not integration' $(PYTEST_ARGS)

integration: system-deps $(STAMP)
	$(BIN)/python -m pytest -m integration $(PYTEST_ARGS)

## Throughput and latency figures against baselines measured in the same run; `make bench
## SECTIONS="storm reports"` runs only those sections (storm, stores, reports, board).
bench: system-deps $(STAMP)
	$(BIN)/python -m benchmarks $(SECTIONS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
