# Two commands do all the set-up (see README):
#   make demo   - the daemon against the built-in paper exchange
#   make test   - the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-dates lint typecheck bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rebalanced demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The suite again under each shifted clock the dates issue names (libfaketime): 400 days
# ahead, a Saturday, a US market holiday, both DST change days, New Year's Eve 23:59 in
# New York. One shift: .ci/shifted-clock WHEN [pytest args]. CI runs +400d on every run.
DATE_SHIFTS ?= +400d saturday 2027-07-05T15:00:00Z 2027-03-14T12:00:00Z \
	2027-11-07T12:00:00Z 2027-12-31T23:59:00-05:00
test-dates: $(STAMP)
	@for w in $(DATE_SHIFTS); do .ci/shifted-clock $$w || exit 1; done

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
