PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint asyncapi bench bench-quick clean messages

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml gateway/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ./gateway --config-settings editable_mode=compat
	touch $(STAMP)

run: install
	$(BIN)/ots run

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

asyncapi: install
	$(BIN)/ots asyncapi > contracts/asyncapi.json

bench: install
	for b in intake dispatch recording metrics publish soak; do $(BIN)/python bench/$$b.py || exit 1; done

bench-quick: install
	for b in intake dispatch recording metrics publish soak; do $(BIN)/python bench/$$b.py --quick || exit 1; done

CONSOLE_I18N := services/intake/console/i18n

# The console's messages: extract them from its templates and code, update both catalogues
# (then translate the new Indonesian entries; tests/browser/test_console_catalogues.py checks).
messages: install
	$(BIN)/pybabel extract -F $(CONSOLE_I18N)/babel.cfg -k N_ --no-location --omit-header -o $(CONSOLE_I18N)/messages.pot services/intake/console
	$(BIN)/pybabel update -i $(CONSOLE_I18N)/messages.pot -d $(CONSOLE_I18N) -D messages --ignore-obsolete --no-wrap
clean:
	rm -rf $(VENV) .ots build *.egg-info
