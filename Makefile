# The two commands a newcomer needs: `make run` and `make test`. Everything else supports them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Connections the kernel holds for daphne before it accepts them (Twisted's default is 50): a
# reconnect storm of thousands must not find the queue full. Capped by net.core.somaxconn.
LISTEN_BACKLOG ?= 4096
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: bench-auth help install install-dev run stack stack-tls bench bench-quick test soak catch-up-property lint format check clean

help:
	@echo "make run     set up and serve the product on http://$(HOST):$(PORT) (SQLite, no servers needed)"
	@echo "make test    run the whole suite (uses PostgreSQL/Redis/RabbitMQ when their URLs are set)"
	@echo "make stack   web, Celery worker and beat with honcho, on DATABASE_URL/REDIS_URL/CELERY_BROKER_URL"
	@echo "make stack-tls  the same behind nginx with TLS on https://localhost:8443, WEB_PROCESSES daphnes"
	@echo "make bench   benchmarks against this machine's ceilings (bench-quick: a short run)"
	@echo "make lint    ruff, ruff format --check, mypy and makemigrations --check"
	@echo "make format  apply ruff's fixes and formatting"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The embedded default: SQLite under var/, in-memory channel layer, and Celery's worker and beat
# inside the server process on the in-memory transport.
run: export DEBUG ?= true
run: export EMBEDDED_CELERY ?= true
run: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_users
	@echo ""
	@echo "  Chat server on  http://$(HOST):$(PORT)/"
	@echo "  API docs        http://$(HOST):$(PORT)/api/docs/"
	@echo "  Admin           http://$(HOST):$(PORT)/admin/"
	@echo "  Health          http://$(HOST):$(PORT)/healthz"
	@echo ""
	$(BIN)/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=$(LISTEN_BACKLOG) \
		--websocket-max-message-size 65536 chatproject.asgi:application

# The full stack (web, worker, beat from the Procfile) on the services that the environment names.
# Served over plain http on this machine: no redirect to https.
stack: export SECURE_SSL_REDIRECT ?= false
stack: install-dev
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/honcho start

# The production shape (deploy/README.md): nginx terminating TLS (a self-signed certificate made
# at start, or TLS_CERT/TLS_KEY) in front of WEB_PROCESSES daphnes (2), a Celery worker and beat,
# on DATABASE_URL/REDIS_URL/CELERY_BROKER_URL, which must be set. Needs nginx (apt-get install
# nginx). `make stack-tls WEB_PROCESSES=4 SERVER_NAME=chat.example.com`.
stack-tls: install-dev
	BIN=$(BIN) deploy/stack.sh

# Benchmarks need PostgreSQL, Redis and RabbitMQ on 127.0.0.1 and a quiet machine.
$(VENV)/.installed-bench: bench/requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r bench/requirements.txt
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --quick

# What checking an access token costs per request, ours against SimpleJWT's own, on the local
# PostgreSQL's chat_bench_auth database (made and migrated here).
BENCH_AUTH_DB = postgres://postgres@127.0.0.1:5432/chat_bench_auth
bench-auth: $(VENV)/.installed-bench
	createdb -h 127.0.0.1 -U postgres chat_bench_auth 2>/dev/null || true
	DATABASE_URL=$(BENCH_AUTH_DB) DEBUG=true $(BIN)/python manage.py migrate -v0
	DATABASE_URL=$(BENCH_AUTH_DB) DEBUG=false ALLOWED_HOSTS=127.0.0.1 \
	SECRET_KEY=bench-only-secret-key-0123456789abcdef0123456789abcdef \
	$(BIN)/python bench/auth_check.py

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# The soak (tests/soak) alone and longer: `make test` runs it for 240 s, this for half an hour.
# Needs DATABASE_URL (PostgreSQL) and REDIS_URL. `make soak SOAK_SECONDS=7200` for longer.
soak: export SOAK_SECONDS ?= 1800
soak: install-dev
	$(BIN)/pytest tests/soak -s $(PYTEST_ARGS)

# The catch-up property (tests/realtime/test_catch_up_property.py) with many more runs than
# `make test` gives it. Needs DATABASE_URL (PostgreSQL) and REDIS_URL.
catch-up-property: export CATCH_UP_EXAMPLES ?= 100
catch-up-property: export CATCH_UP_STEPS ?= 80
catch-up-property: install-dev
	$(BIN)/pytest tests/realtime/test_catch_up_property.py --timeout=0 $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint test

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
