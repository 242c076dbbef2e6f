# Two commands do everything on a fresh machine:
#   make run    set up, migrate, load demo data and serve http://127.0.0.1:5000 (SQLite)
#   make test   set up and run the whole test suite (SQLite; `make test-pg` for PostgreSQL)

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
FLASK   = $(VENV)/bin/flask --app app
TEST_PG_URL ?= postgresql://127.0.0.1:5432/test
HOST   ?= 127.0.0.1
PORT   ?= 5000
SUDO    = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: icu run install install-dev translations extract-messages browser bench-tools lint test test-sqlite test-pg ci clean

$(VENV)/.installed: requirements.txt | icu
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -f -d translations -D messages

extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k _lp:1c,2 -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching

# The web server and the background-job worker together; Ctrl+C stops both.
run: install
	LMS_ENV=development $(FLASK) lms init
	LMS_ENV=development $(FLASK) lms seed-demo
	@echo "Open http://$(HOST):$(PORT) and log in with one of the demo accounts above."
	LMS_ENV=development $(FLASK) lms worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	LMS_ENV=development $(FLASK) run --host $(HOST) --port $(PORT)

# PyICU (Vietnamese alphabetical order) builds against the system's ICU.
icu:
	@pkg-config --exists icu-i18n 2>/dev/null && command -v g++ >/dev/null 2>&1 || ( $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libicu-dev pkg-config g++ )

# Browser tests use Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || ( $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium )

# Load generator for bench/pages.py (Debian's wrk); benchmarks are not part of the test run.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || ( $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk )

# Style (ruff) and the architecture of DESIGN.md (import-linter, see .importlinter).
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: install-dev browser lint
	$(PY) -m pytest

test-sqlite: test

test-pg: install-dev browser
	TEST_DATABASE_URL=$(TEST_PG_URL) $(PY) -m pytest

ci: test test-pg

clean:
	rm -rf $(VENV) instance/*.sqlite3 translations/*/LC_MESSAGES/*.mo
