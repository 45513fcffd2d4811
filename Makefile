# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv run test lint bench migrate clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

# The robot on embedded defaults: SQLite under var/, no Redis needed.
run: migrate
	DEBUG=1 $(BIN)/python manage.py collectstatic --noinput -v0
	DEBUG=1 $(BIN)/daphne -b $(HOST) -p $(PORT) tradingrobot.asgi:application

lint: venv
	$(BIN)/ruff check .
	DJANGO_SETTINGS_MODULE=tradingrobot.test_settings $(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

bench: venv
	$(BIN)/python bench/api_load.py

clean:
	rm -rf $(VENV) var
