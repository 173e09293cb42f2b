# Two front doors: `make run` (the service on its embedded default) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format install install-dev clean-data i18n system-deps screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	PORT=$(PORT) $(BIN)/footage serve

# ruff, ruff-format and mypy --strict on app/, as .pre-commit-config.yaml lists them (the git hook runs the same).
lint: install-dev
	$(BIN)/pre-commit run --all-files

# Debian tools the tests use for real: pdftotext reads the PDF reports back; Debian's chromium is the browser
# Playwright drives (never `playwright install`).
SYSTEM_PACKAGES := $(if $(shell command -v pdftotext),,poppler-utils) $(if $(wildcard /usr/bin/chromium),,chromium)
system-deps:
	@if [ -n "$(strip $(SYSTEM_PACKAGES))" ]; then \
	  (apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null 2>&1) || \
	  (apt-get update -q >/dev/null && apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null); fi

test: install-dev lint system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-data:
	rm -rf storage/data

# Re-extract translatable strings and merge them into the Vietnamese and English catalogues.
i18n: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k gettext -k ngettext -o app/web/i18n/messages.pot .
	for l in vi en; do \
	  if [ -f app/web/i18n/$$l/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i app/web/i18n/messages.pot -d app/web/i18n -l $$l --no-fuzzy-matching; \
	  else $(BIN)/pybabel init -i app/web/i18n/messages.pot -d app/web/i18n -l $$l; fi; \
	done

# Screenshots of each page for the README, taken by the browser test on its way through the flow.
screenshots: install-dev system-deps
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/web/test_browser_flow.py tests/web/test_every_page.py tests/web/test_appeal_pages.py
