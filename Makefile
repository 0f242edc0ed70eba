# Each target bootstraps .venv; a stamp per extra set avoids reinstalling on every run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[plot,progress,fast]"
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,dev]"
	@touch $@

demo: $(VENV)/.stamp-demo
	$(BIN)/backproplab demo --out demo-output

test: $(VENV)/.stamp-test
	$(BIN)/python -m pytest

# PyTorch is an optional reference: `$(BIN)/pip install torch==2.13.0` to include it.
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset for this command alone so that OpenBLAS uses the
# processor's own kernel (the results record which one ran); tests and CI keep the machine's setting.
# `make bench ONLY=1,4` runs those workloads alone (numbers or short names, see `backproplab bench --help`)
# and prints their table without touching benchmarks/results.
bench: $(VENV)/.stamp-test
ifdef ONLY
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py --only $(ONLY)
else
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/real_data.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/diagnosis.py
endif

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-output .pytest_cache
