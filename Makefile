# Two commands do all the set-up (see README):
#   make demo   - the daemon against the built-in paper exchange
#   make test   - the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rebalanced demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check daemon adapters tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run_all

# kill -9 + restart under random paper-exchange faults (not in the default suite)
CYCLES ?= 100
chaos: $(STAMP)
	$(BIN)/python -m tests.runtime.chaos --cycles $(CYCLES)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
