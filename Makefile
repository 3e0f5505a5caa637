# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint check-compose messages bench clean

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $(STAMP)

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.env:
	$(PY) scripts/write_dev_env.py .env

# PORTAL_HOST, PORTAL_PORT and FHIR_SANDBOX_PORT come from the environment (README.md, "Ports").
# exec: the script is make's own child, so a SIGTERM to make reaches it (make forwards SIGTERM to its
# children) and it stops every process it started; Ctrl-C reaches make and the script alike.
run: $(STAMP) .env
	exec scripts/run-demo.sh

test: $(STAMP) node_modules/axe-core/axe.min.js
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

check-compose:
	docker-compose --env-file .env.production.example config -q

messages: $(STAMP)
	$(PY) manage.py makemessages -l es --no-obsolete --add-location file
	$(PY) manage.py makemessages -l es -d djangojs --no-obsolete --add-location file --ignore=node_modules --ignore=staticfiles
	$(PY) manage.py compilemessages -l es --ignore=.venv --ignore=node_modules

clean:
	rm -rf var staticfiles .pytest_cache

# Benchmarks need Postgres (COPY is the yardstick); they use a database of their own, made anew.
BENCH_DATABASE_URL ?= postgres://root@127.0.0.1:5432/portal_bench
# bench/record_pages.py keeps its databases between runs (loading 10,000,000 rows takes minutes); see its docstring.
# bench/staff_inbox.py keeps portal_bench_inbox (100,000 threads) the same way.
bench: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(PY) bench/ingest.py
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(PY) bench/record_pages.py
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(PY) bench/message_outbox.py
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(PY) bench/staff_inbox.py
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(PY) bench/slot_search.py
