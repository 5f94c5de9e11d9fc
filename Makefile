# Two entry points a fresh machine needs: `make quickstart` and `make test`.
# Each creates .venv from the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.txt
	# pose detection (extra 'pose'): mediapipe 0.10.21 declares numpy<2, which pip cannot solve
	# beside the pinned numpy 2.2; it imports and detects with it (tests/data/test_pose_detect.py),
	# so it goes in without its declared dependencies (absl-py, attrs, flatbuffers, protobuf 4
	# and matplotlib come from requirements.txt; jax, sentencepiece and sounddevice are unused)
	$(BIN)/pip install -q --no-deps mediapipe==0.10.21
	$(BIN)/pip install -q --no-deps -e .
	touch $@

.PHONY: venv quickstart test lint format
venv: $(BIN)/.installed

quickstart: venv
	$(BIN)/guided-pix2pix quickstart --out runs/quickstart

# the layering contracts (pyproject [tool.importlinter]) and the type checker run with the tests
test: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 tests

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format src tests benchmarks
