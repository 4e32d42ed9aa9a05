# ITA deadline bot — everything a fresh clone needs: `make run`, `make test`, `make bench`.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp

.PHONY: install run migrate test lint check-schedules bench faults prism clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) -m itabot db upgrade

## make run: create the virtualenv, install, migrate, start the bot on SQLite (http://127.0.0.1:8000)
run: migrate
	$(PY) bot.py

## Stoplight Prism (LINE's OpenAPI mock) for the integration tests, installed from npm locally.
node_modules/.bin/prism: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

prism: node_modules/.bin/prism

lint: install
	$(VENV)/bin/ruff check .

check-schedules: install
	$(PY) -m itabot schedules check

## make test: ruff + schedules check + pytest (PostgreSQL tests run when TEST_DATABASE_URL is set)
test: install prism lint check-schedules
	$(PY) -m pytest -q

## make bench: the benchmarks in benchmarks/ (figures printed and saved in benchmarks/results/)
bench: install prism
	$(PY) benchmarks/run_all.py

## make faults: the fault runs (killed workers, PostgreSQL stopped, SQLite read-only, fuzz, slow LINE)
faults: install
	$(PY) benchmarks/fault_runs.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
