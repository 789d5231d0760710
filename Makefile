# `make run` and `make test` are the two commands of API.md; both need only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two workers: the suite is mostly waiting on databases and live servers.
PYTEST_ARGS ?= -n 2

.PHONY: run test lint format migrate bench faults port-free

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

# Refuse a taken port before touching the database (atm_project/port_check.py).
port-free: $(VENV)/.installed
	$(BIN)/python -m atm_project.port_check

run: port-free migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	exec $(BIN)/gunicorn --config atm_project/gunicorn_conf.py atm_project.wsgi

test: $(VENV)/.installed-dev
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Load and fault harness (bench/, docs/performance.md). Both need DATABASE_URL=postgres://...;
# they work in their own databases (atm_bench*) on that server and refuse SQLite.
bench: $(VENV)/.installed-dev
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run

faults: $(VENV)/.installed-dev
	$(BIN)/python -m bench.faults
