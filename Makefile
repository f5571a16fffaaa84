# mepipe: `make demo` runs the main job on synthetic data, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEMO   ?= demo
# what ruff checks; mypy reads its files from pyproject.toml
LINTED := mepipe pipelines tests bench cli.py docs/figures.py

.PHONY: help install demo test doccheck lint bench docs constraints clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip -c constraints.txt setuptools wheel
	@# opencv-contrib-python-headless replaces the plain wheel, which a venv made before may hold
	$(PIP) uninstall -q -y opencv-python-headless opencv-python 2>/dev/null || true
	$(PIP) install -q -c constraints.txt -e '.[train,cluster,dev,docs]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install mepipe with all extras

demo: $(STAMP)  ## synthesise small datasets, build, preview and train on them
	$(PY) -m mepipe.demo --out $(DEMO)

test: $(STAMP)  ## run the test suite
	$(VENV)/bin/pytest -q

doccheck: $(STAMP)  ## run every command line of the README and the docs on small synthetic releases
	$(PY) -m tests.doccheck

lint: $(STAMP)  ## ruff check, ruff format --check and mypy: all must be clean
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

bench: $(STAMP)  ## run the benchmarks (ratios against baselines measured in the same run)
	$(PY) -m bench

# -E: read every page again, so docstrings changed since the last build are checked too
# (an incremental build would not re-emit their warnings)
docs: $(STAMP)  ## build the documentation site into docs/_build/html (warnings are errors)
	@# the API pages are generated anew: a module renamed since the last build leaves a stale page
	rm -rf docs/api/generated
	$(VENV)/bin/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

# the hand-kept pins above the marker stay; below it, every other distribution the venv
# resolved to (runtime, extras and their dependencies), so an upstream release cannot
# change what CI installs. Run after moving a range in setup.cfg, then make test.
constraints: $(STAMP)  ## rewrite constraints.txt's resolved pins from the installed venv
	sed '/^# --- resolved/q' constraints.txt > constraints.txt.new
	$(PIP) freeze --exclude-editable | sed 's/+cpu$$//' \
	  | grep -v -i -E "^($$(sed -n '/^# --- resolved/q;s/^\([A-Za-z0-9_.-]*\)[=<>].*/\1/p' constraints.txt | paste -sd'|'))==" \
	  >> constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:  ## remove the venv and generated data
	rm -rf $(VENV) $(DEMO) bench/out *.egg-info docs/_build docs/api/generated
