PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit install clean bench system-deps fuzz web-assets browser-test-assets

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,mysql,hsm,dev]'
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
# pkcs11:// master key, Chromium for the browser tests of the dashboard). Installed when
# missing and running as root; otherwise those tests skip with a reason.
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
	@test -x /usr/bin/chromium \
	  || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	         echo "system-deps: installing chromium"; \
	         apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	       else \
	         echo "system-deps: /usr/bin/chromium not found and not root: run 'sudo apt-get install chromium'" \
	              "or the browser tests (tests/web/browser) will skip"; \
	       fi; }

# axe-core, the accessibility checker the browser tests inject into each page, vendored
# from the npm registry (tests only: it does not ship). Needs npm; refreshes the file,
# its licence and VENDOR.md (version, sha256).
AXE_VERSION ?= 4.14.1
AXE_DIR = tests/web/browser/vendor
browser-test-assets:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT \
	  && (cd "$$tmp" && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar xzf axe-core-$(AXE_VERSION).tgz) \
	  && mkdir -p $(AXE_DIR) \
	  && cp "$$tmp/package/axe.min.js" $(AXE_DIR)/axe.min.js \
	  && cp "$$tmp/package/LICENSE" $(AXE_DIR)/LICENSE.axe-core \
	  && sum=$$(sha256sum $(AXE_DIR)/axe.min.js | cut -d' ' -f1) \
	  && printf '%s\n' \
	    '# Vendored for the browser tests' '' \
	    'Refreshed by `make browser-test-assets` (`AXE_VERSION=x.y.z make browser-test-assets` for another version).' \
	    'Used by tests only (injected into each page by `kit.axe_report`); nothing here ships in the package.' '' \
	    '| file | package | version | licence | sha256 |' \
	    '|---|---|---|---|---|' \
	    "| axe.min.js | npm \`axe-core\` (\`package/axe.min.js\`) | $(AXE_VERSION) | MPL-2.0 (LICENSE.axe-core) | \`$$sum\` |" \
	    > $(AXE_DIR)/VENDOR.md \
	  && echo "browser-test-assets: axe-core $(AXE_VERSION) sha256 $$sum"

# Four workers on two cores: most of the suite waits on servers, browsers and
# databases rather than the CPU. A module's tests stay on one worker (its servers are
# module fixtures); a test that hangs fails after 10 minutes instead of the whole run.
# PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 4
unit: $(STAMP) system-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --timeout 600

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
