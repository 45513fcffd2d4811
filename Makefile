# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Prometheus counters of every process (web, worker) in one folder, emptied at each start (README "Operations").
PROMETHEUS_MULTIPROC_DIR ?= $(abspath var/prometheus)

.PHONY: venv run demo test lint bench migrate clean api-contract staging staging-down vendor-charts

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

# The robot on embedded defaults: SQLite under var/, no Redis needed. honcho runs the Procfile:
# daphne on $(HOST):$(PORT) and a Celery worker with embedded beat polling WordPress on schedule.
run: migrate
	DEBUG=1 $(BIN)/python manage.py collectstatic --noinput -v0
	DEBUG=1 $(BIN)/python manage.py local_api_key --base-url http://$(HOST):$(PORT)  # created on first start
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR) && rm -f $(PROMETHEUS_MULTIPROC_DIR)/*.db
	DEBUG=1 HOST=$(HOST) PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile -p $(PORT)

# The development WordPress feed on loopback and the robot pointed at it (offline demo).
DEVFEED_PORT ?= 8201
demo: migrate
	DEBUG=1 $(BIN)/python manage.py collectstatic --noinput -v0
	DEBUG=1 $(BIN)/python manage.py local_api_key --base-url http://$(HOST):$(PORT)
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR) && rm -f $(PROMETHEUS_MULTIPROC_DIR)/*.db
	DEBUG=1 HOST=$(HOST) PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) DEVFEED_PORT=$(DEVFEED_PORT) WP_BASE_URL=http://127.0.0.1:$(DEVFEED_PORT) WP_TIMEZONE= \
		WP_POLL_SECONDS=$${WP_POLL_SECONDS:-60} WP_FAST_POLL_SECONDS=$${WP_FAST_POLL_SECONDS:-2} \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile.demo -p $(PORT)

# The production arrangement on this machine (deploy/README.md): nginx over TLS, 2 web (Granian), 2 daphne, 2 Celery
# workers, 2 beats, PostgreSQL (STAGING_DATABASE_URL, db tr_staging) and Redis (STAGING_REDIS_URL, db 6), the
# development feed as WordPress, under a private supervisord; everything under var/staging (STAGING_DIR).
staging: venv
	$(BIN)/python -m deploy.staging up

staging-down:
	$(BIN)/python -m deploy.staging down

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=tradingrobot.test_settings $(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

# Schemathesis against a live server with a key of every scope (CI runs it after make test).
api-contract: venv
	BIN=$(BIN) .ci/api_contract.sh

# The live page's chart library, reproduced from the pinned dashboard/vendor/package.json and package-lock.json
# (the only step that needs npm; CI and runtime use the committed files, checked by tests/dashboard/test_vendored.py).
CHARTS_DIR := dashboard/static/dashboard/vendor
vendor-charts:
	cd dashboard/vendor && npm ci --no-audit --no-fund --ignore-scripts
	cp dashboard/vendor/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js $(CHARTS_DIR)/
	cp dashboard/vendor/node_modules/lightweight-charts/LICENSE $(CHARTS_DIR)/LICENSE
	cp dashboard/vendor/NOTICE $(CHARTS_DIR)/NOTICE  # the package does not ship the project's NOTICE file
	cd $(CHARTS_DIR) && sha256sum -c SHA256SUMS

bench: venv
	$(BIN)/python bench/api_load.py

clean:
	rm -rf $(VENV) var
