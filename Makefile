# Two commands do all the set-up on a fresh machine:
#   make demo   installs billbridge into .venv and runs the end-to-end demo (SQLite, no servers)
#   make test   installs the test extras and runs the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/billbridge demo

test: $(VENV)/.installed
	$(VENV)/bin/pytest -n 2 -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	for b in benchmarks/bench_*.py; do $(PY) $$b; done

clean:
	rm -rf $(VENV) billbridge-out billbridge-state.db*
