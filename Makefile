# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data
INDEX_DIR ?= var/index
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test bench install install-test browser fonts haproxy build clean

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

# Debian's HAProxy for the cluster test (a primary, two replicas and the load
# balancer in network namespaces) and the load-balancer benchmark; without it (or
# without root) they skip and say why.
haproxy:
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy iproute2) >/dev/null 2>&1 \
	      || echo "haproxy could not be installed: the cluster test will skip"; \
	  else echo "haproxy missing and not root: the cluster test will skip"; fi; }

build: $(STAMP)
	$(BIN)/policy-search build --data-dir $(DATA_DIR) --index-dir $(INDEX_DIR) --if-missing

run: build
	$(BIN)/policy-search serve --index-dir $(INDEX_DIR) --host $(HOST) --port $(PORT)

test: $(STAMP) browser fonts haproxy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache
