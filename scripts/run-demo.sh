#!/usr/bin/env bash
# Starts the demo: a Celery worker and beat beside the web server, all stopped together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${PORTAL_HOST:-127.0.0.1}
PORT=${PORTAL_PORT:-8000}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The FHIR sandbox plays the demo family's three health systems (Riverside, Lakeside, St. Mary's).
SANDBOX_PORT=${FHIR_SANDBOX_PORT:-8900}
"$PY" -m fhir_sandbox.demo var/sandbox \
  --redirect-uri "http://$HOST:$PORT/records/callback/" --redirect-uri "http://localhost:$PORT/records/callback/" >/dev/null
"$PY" -m fhir_sandbox --config var/sandbox/config.json --host 127.0.0.1 --port "$SANDBOX_PORT" --quiet &
pids+=($!)

.venv/bin/celery -A portal worker --loglevel=warning --concurrency=2 --pool=prefork &
pids+=($!)
.venv/bin/celery -A portal beat --loglevel=warning &
pids+=($!)

echo
echo "  Family Health Portal: http://$HOST:$PORT/  (Ctrl-C stops the web server, worker and beat)"
echo "  Demo logins are listed in README.md; every password is demo-portal-2026."
echo "  The FHIR sandbox (three demo health systems) answers at http://127.0.0.1:$SANDBOX_PORT/"
echo
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"
