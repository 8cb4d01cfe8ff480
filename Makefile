PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint asyncapi bench bench-quick clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
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

clean:
	rm -rf $(VENV) .ots build *.egg-info
