# Two entry points do all the set-up on a fresh machine (Python >= 3.11 and make):
#   make demo   index the sample articles and ask a question, on the embedded defaults
#   make test   lint, type-check and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DEMO_DATA ?= ./data/demo
QUESTION ?= How should I evaluate a retrieval-augmented generation system?
# Answered from the sample's card export + original article pair (knowledge/sample/exports/),
# which has no URL: the citation names title and publisher, with no link.
EXPORT_QUESTION ?= Why do general methods that use more computation win in AI research?

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

demo: $(STAMP)
	CURATOR_DATA_DIR=$(DEMO_DATA) CURATOR_KNOWLEDGE__SOURCES=knowledge/sample $(VENV)/bin/curator reindex
	CURATOR_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/curator ask "$(QUESTION)"
	CURATOR_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/curator ask "$(EXPORT_QUESTION)"

lint: $(STAMP)
	$(VENV)/bin/ruff check knowledge bot tests bench
	$(VENV)/bin/ruff format --check knowledge bot tests bench
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
