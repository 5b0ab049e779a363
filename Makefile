VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= demo-out

.PHONY: install test lint bench demo demo-zh clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,test,lint]"
	touch $(STAMP)

test: install
	$(PY) -m pytest -n 2 -q tests

lint: install
	$(VENV)/bin/ruff check albert_data pipelines vocab tests benchmarks
	$(VENV)/bin/ruff format --check albert_data pipelines vocab tests benchmarks

bench: install
	$(PY) benchmarks/run.py

demo: install
	OUT=$(OUT) bash scripts/demo.sh en

demo-zh: install
	OUT=$(OUT)-zh bash scripts/demo.sh zh

clean:
	rm -rf $(VENV) $(OUT) $(OUT)-zh bench-out *.egg-info
