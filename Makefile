# Two entry points for a fresh machine: `make report` and `make test`.
# Both create .venv on first use. The CPU build of torch is installed first,
# so that pip does not pull a multi-GB CUDA build on a CPU-only machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0

.PHONY: setup report predict test lint bench clean

$(BIN)/turing-grids: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

setup: $(BIN)/turing-grids

report: setup
	$(BIN)/turing-grids report --out docs

predict: setup
	$(BIN)/turing-grids predict --encoding dos --width 0.12 --surround-scale 2

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
