VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= demo-out

.PHONY: install test lint bench demo demo-zh clean worker-image

# The project's own bytecode, as pip writes it for a non-editable install: every CLI
# start and every Beam worker imports ~60 of these modules, and compiling them from
# source is paid at each start where Python may not write bytecode itself
# (PYTHONDONTWRITEBYTECODE, a read-only checkout). Stale files are ignored by Python.
COMPILE = $(PY) -m compileall -q albert_data pipelines vocab

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,test,lint]"
	$(COMPILE)
	touch $(STAMP)

test: install
	$(PY) -m pytest -n 2 --dist worksteal -q tests

lint: install
	$(VENV)/bin/ruff check albert_data pipelines vocab tests benchmarks
	$(VENV)/bin/ruff format --check albert_data pipelines vocab tests benchmarks

bench: install
	$(COMPILE)
	$(PY) benchmarks/run.py

demo: install
	OUT=$(OUT) bash scripts/demo.sh en

demo-zh: install
	OUT=$(OUT)-zh bash scripts/demo.sh zh

IMAGE ?= albert-data-worker:latest
BEAM_VERSION ?= $(shell $(PY) -c "import apache_beam; print(apache_beam.__version__)" 2>/dev/null || echo 2.77.0)
worker-image:
	docker build -f scripts/worker.Dockerfile --build-arg BEAM_VERSION=$(BEAM_VERSION) -t $(IMAGE) .

clean:
	rm -rf $(VENV) $(OUT) $(OUT)-zh bench-out *.egg-info
