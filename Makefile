# Two commands matter: `make demo` and `make test`. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PO := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: setup catalogs update-catalogs bytecode lint test test-fast demo run bench wheel clean

setup: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

catalogs: $(MO)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -D messages -d locales -l $*

# After changing a user-visible sentence: extract, merge, translate the new
# entries in locales/zh_Hans (English is filled from the source), compile.
update-catalogs: $(STAMP)
	$(PY) tools/catalogs.py update

# The project's bytecode compiled once, as a deployment does: where
# PYTHONDONTWRITEBYTECODE is set (as on this machine) every start of the bot
# would otherwise compile its modules from source again.
bytecode: $(STAMP)
	$(PY) -m compileall -q bot core scheduler migrations bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Two workers (pytest-xdist): the end-to-end tests mostly wait on servers and
# processes, so the suite takes about six minutes on this 2-core machine, not eleven.
test: setup lint
	$(PY) -m pytest -q -n 2

# While working: the tests that need no end-to-end bot, server or subprocess
# and are not slow (markers in pyproject.toml), in well under a minute.
# `make test` still runs everything.
test-fast: setup
	$(PY) -m pytest -q -m "not e2e and not slow"

demo: setup
	$(PY) -m bot demo

# The speed and memory targets, measured on this machine (~10 minutes):
# progress on stderr, one JSON object as the last line of stdout. Smaller:
# `$(PY) -m bench.run --quick` or `--patients N --burst N`.
bench: setup bytecode
	$(PY) -m bench.run

# The real bot: needs TELEGRAM_BOT_TOKEN (and DATABASE_URL for PostgreSQL).
run: setup bytecode
	@test -n "$$TELEGRAM_BOT_TOKEN" || { echo "make run needs TELEGRAM_BOT_TOKEN (see README: Running for real)"; exit 2; }
	$(PY) -m bot run

# The package a server installs (README: Running for real): dist/lupus_trial_bot-*.whl,
# with the catalogs compiled into it, the migrations and the charts' font.
# build/ goes first: setuptools never removes a module deleted since the last build.
wheel: $(STAMP)
	rm -rf build
	$(PY) -m pip wheel --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis $(MO)
