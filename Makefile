.PHONY: run test setup lint bench

run:  ## set up, migrate, load demo data, serve on 127.0.0.1:8000
	bash scripts/run.sh

test:  ## set up and run the whole test suite (pytest ARGS="-k s1" to narrow)
	bash scripts/test.sh $(ARGS)

setup:
	bash scripts/setup.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:  ## needs PostgreSQL and Redis (see README)
	.venv/bin/python bench/run.py
