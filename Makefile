# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-all bench soak lint typecheck deps test-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

deps: $(STAMP)

# `npm ci`: installs exactly the lock (which holds every platform's optional anvil binary package) and never
# rewrites it, so `make test` leaves the work tree clean.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# The DNS resolver the feed tests load the RPZ into (a Debian package; CI runs as root).
/usr/sbin/unbound:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends unbound
	-$(SUDO) systemctl disable --now unbound 2>/dev/null

test-deps: $(STAMP) $(NODE_STAMP) /usr/sbin/unbound

run: $(STAMP)
	$(BIN)/registry db upgrade
	$(BIN)/registry serve

test: test-deps
	$(BIN)/pytest -m "not slow" -p no:cacheprovider

# The soak runs on PostgreSQL: the local server unless REGISTRY_TEST_POSTGRES_URL says otherwise.
soak: test-deps
	REGISTRY_TEST_POSTGRES_URL=$${REGISTRY_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -m slow -p no:cacheprovider

/usr/bin/wrk:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends wrk

# PostgreSQL figures (COPY baseline) use the local server unless REGISTRY_TEST_POSTGRES_URL says otherwise.
bench: test-deps /usr/bin/wrk
	REGISTRY_TEST_POSTGRES_URL=$${REGISTRY_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check registry chains blocklist tests bench
	$(BIN)/ruff format --check registry chains blocklist tests bench
	$(BIN)/mypy registry chains blocklist

clean:
	rm -rf $(VENV) node_modules var/*.sqlite3*
