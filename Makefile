# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data
INDEX_DIR ?= var/index
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test bench install install-test browser fonts build clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(STAMP)

# Debian's Chromium for the browser tests; where it cannot be installed the
# browser tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null 2>&1 \
	      || echo "chromium could not be installed: browser tests will skip"; \
	  else echo "chromium missing and not root: browser tests will skip"; fi; }

# A TrueType CJK font for the tests that typeset report text into a PDF;
# without it those tests skip and say why.
fonts:
	@test -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei) >/dev/null 2>&1 \
	      || echo "fonts-wqy-zenhei could not be installed: PDF tests will skip"; \
	  else echo "fonts-wqy-zenhei missing and not root: PDF tests will skip"; fi; }

build: $(STAMP)
	$(BIN)/policy-search build --data-dir $(DATA_DIR) --index-dir $(INDEX_DIR) --if-missing

run: build
	$(BIN)/policy-search serve --index-dir $(INDEX_DIR) --host $(HOST) --port $(PORT)

test: $(STAMP) browser fonts
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache
