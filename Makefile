# Two entry points (README): `make demo` and `make test`. Both set up everything themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: all venv system-deps test lint typecheck pytest demo bench cddl clean

all: test

$(BIN)/.installed: setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

system-deps:
	sh scripts/system-deps.sh

lint: venv
	$(BIN)/ruff check zte_uxip tests bench scripts

typecheck: venv
	$(BIN)/mypy

# The whole suite on SQLite, then the server's tests again on a PostgreSQL 15 cluster they start.
pytest: venv system-deps
	$(BIN)/pytest $(PYTEST_ARGS)
	ZTE_UXIP_TEST_STORE=postgresql $(BIN)/pytest tests/server $(PYTEST_ARGS)

test: lint typecheck pytest

cddl: venv
	$(BIN)/python -m zte_uxip.wire.cddl > docs/schema.cddl

demo: venv system-deps
	$(BIN)/python scripts/demo.py

bench: venv system-deps
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo

# Re-record tests/fixtures/nl80211-hwsim from the real kernel (boots the hwsim VM, ~20 s warm).
# After a model change: write the migration (the tests fail while one is missing).
.PHONY: migrations
migrations: venv
	$(BIN)/python scripts/makemigrations.py

.PHONY: wifi-fixtures
wifi-fixtures: venv system-deps
	$(BIN)/python tests/vm/record_fixtures.py
