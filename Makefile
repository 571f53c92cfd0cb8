PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit install clean bench system-deps fuzz web-assets

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,hsm,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/keystead init --if-needed
	$(BIN)/keystead serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy
	for example in examples/*/; do $(BIN)/mypy --strict "$$example" || exit 1; done

# Debian packages the tests use (rsyslogd for the syslog export sinks, SoftHSM2 for the
# pkcs11:// master key). Installed when missing and running as root; otherwise those tests
# skip with a reason.
SOFTHSM2_LIB ?= /usr/lib/softhsm/libsofthsm2.so
system-deps:
	@command -v rsyslogd >/dev/null 2>&1 || test -x /usr/sbin/rsyslogd \
	  || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	         echo "system-deps: installing rsyslog"; \
	         apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsyslog; \
	       else \
	         echo "system-deps: rsyslogd not found and not root: run 'sudo apt-get install rsyslog'" \
	              "or the syslog export tests will skip"; \
	       fi; }
	@test -f $(SOFTHSM2_LIB) && command -v softhsm2-util >/dev/null 2>&1 \
	  || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	         echo "system-deps: installing softhsm2"; \
	         apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends softhsm2; \
	       else \
	         echo "system-deps: SoftHSM2 not found and not root: run 'sudo apt-get install softhsm2'" \
	              "or the pkcs11:// master key tests will skip"; \
	       fi; }

unit: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck unit

# The OpenAPI contract fuzzed longer than in `make test` (tests/http/test_openapi_fuzz.py):
# more examples per operation and the stateful phase (chains of calls using the ids that
# answers return). FUZZ_EXAMPLES=500 make fuzz for a deeper run.
FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	KEYSTEAD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KEYSTEAD_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	  $(BIN)/pytest -p no:cacheprovider -rA tests/http/test_openapi_fuzz.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Refresh the dashboard's vendored htmx and uPlot from the npm registry (needs the network;
# not part of `make test`). Versions are pinned in scripts/web_assets.py; see static/vendor/VENDOR.md.
web-assets: $(STAMP)
	$(BIN)/python scripts/web_assets.py
