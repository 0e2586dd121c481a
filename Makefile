# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-all bench soak lint typecheck deps test-deps clean pango eval mutate

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

# WeasyPrint (evidence packs, reports) renders PDFs through Pango; DejaVu is the font with Cyrillic glyphs.
PANGO_DEBS := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
pango:
	@dpkg -s $(PANGO_DEBS) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(PANGO_DEBS); }

# The browser the console's tests drive: Debian's Chromium, through Playwright (no browser download).
/usr/bin/chromium:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium

# The Spark scoring engine's tests run PySpark in local mode: Java 17 and the PostgreSQL JDBC driver, from Debian.
/usr/bin/java:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends openjdk-17-jre-headless

/usr/share/java/postgresql.jar:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends libpostgresql-jdbc-java

test-deps: $(STAMP) $(NODE_STAMP) /usr/sbin/unbound pango /usr/bin/chromium /usr/bin/java /usr/share/java/postgresql.jar

run: $(STAMP) pango
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

# Typology quality (bench/eval.py): a laundering network generated from a seed, played on anvil, synced, rescored
# and screened; prints precision and recall per typology and the false positives on ordinary accounts.
eval: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m bench.eval

# Mutation testing of the core modules (mutmut, configured in pyproject.toml): not part of `make test`. Hours of both
# cores, so at the lowest priority; a module group past MUTATE_MINUTES (15) is stopped and reported as partial.
# `make mutate GROUPS="audit"` runs one group; results stay in mutants/ (git-ignored). README "Mutation testing".
mutate: $(STAMP)
	nice -n 19 $(BIN)/python -m tests.support.mutate $(GROUPS)

lint: $(STAMP)
	$(BIN)/ruff check registry chains blocklist tests bench
	$(BIN)/ruff format --check registry chains blocklist tests bench
	$(BIN)/mypy registry chains blocklist

clean:
	rm -rf $(VENV) node_modules var/*.sqlite3*
