# Two entry points for a fresh machine (Python 3.9+ and the package registries):
#   make all    set up .venv, then `spacy project run all` on the shipped sample corpus
#   make test   set up .venv (and chromium for the browser test), then the test suite (what CI runs)
VENV ?= .venv
PYTHON := $(VENV)/bin/python
CONLL_DIR ?= assets/conll2003

.PHONY: all test conll03 setup browser

all: $(VENV)/.installed
	$(PYTHON) -m spacy project run all

test: $(VENV)/.installed browser
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# chromium + chromedriver for the serve page's browser test (Debian packages, as root)
browser:
	@bash scripts/install_browser.sh

conll03: $(VENV)/.installed
	$(PYTHON) -m spacy project run conll03 . --vars.conll_dir $(CONLL_DIR)

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@
