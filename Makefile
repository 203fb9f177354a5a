# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest postgres chromium bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@# mypy cannot follow the editable install's import hook: it reads the four folders as
	@# syncledger.<folder> through these links (pyproject: [tool.mypy] mypy_path).
	mkdir -p $(VENV)/typing-root/syncledger
	for d in core adapters projections audit; do ln -sfn ../../../$$d $(VENV)/typing-root/syncledger/$$d; done
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syncledger demo

test: $(STAMP) postgres chromium lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Three workers, one test file each at a time: most of the time goes to real-process
# tests waiting on servers and workers, so this roughly halves the wall time on 2 cores.
pytest: $(STAMP)
	$(BIN)/pytest -n 3 --dist loadfile

# PostgreSQL server binaries from Debian packages when none are present.
postgres:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "postgresql: server binaries present"; \
	else \
		echo "postgresql: installing server from Debian packages"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# Chromium from Debian packages for the console's browser test (Playwright drives it;
# no browser is ever downloaded by Playwright itself).
chromium:
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: present"; \
	else \
		echo "chromium: installing from Debian packages"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# bench/replay.py --postgres-events 1000000 (PostgreSQL at scale, ~20 min) is run by hand.
bench: $(STAMP)
	$(BIN)/python bench/append.py
	$(BIN)/python bench/append.py --cluster
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/push.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/calls.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/reconcile.py

clean:
	rm -rf $(VENV) .syncledger .pytest_cache .mypy_cache .ruff_cache
