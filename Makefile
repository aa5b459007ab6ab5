# Casebridge: `make run` serves the demo firm, `make test` runs every check.
# Both create .venv and install the pinned dependencies on first use.

.PHONY: run test lint typecheck bench bench-ledger bench-costs bench-bridge bench-settlement bench-bank bench-pi bench-exports clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

lint:
	@scripts/bootstrap.sh dev && .venv/bin/ruff check . && .venv/bin/lint-imports

typecheck:
	@scripts/bootstrap.sh dev && CASEBRIDGE_ENV=development .venv/bin/mypy src config

# Flags for the benches (bench/README.md), e.g. BENCH_ARGS="--backend sqlite", or for a run
# beside another one: BENCH_ARGS="--db-prefix alice --port 8201".
BENCH_ARGS ?=

bench: bench-ledger bench-costs bench-bridge bench-settlement bench-bank

bench-ledger:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/ledger.py $(BENCH_ARGS)

bench-costs:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/costs_management.py $(BENCH_ARGS)

bench-bridge:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/bridge_costs.py $(BENCH_ARGS)

bench-settlement:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/bridge_settlement.py $(BENCH_ARGS)

bench-bank:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/bank_match.py $(BENCH_ARGS)

bench-pi:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/pi_depth.py $(BENCH_ARGS)

bench-exports:
	@scripts/bootstrap.sh dev && .venv/bin/python bench/exports.py $(BENCH_ARGS)

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
