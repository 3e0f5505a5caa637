#!/usr/bin/env bash
# Starts the demo: migrates, loads the demo data, then runs the FHIR sandbox, the payment sandbox, a
# Celery worker and beat beside the web server. Ctrl-C, SIGTERM or SIGHUP to this script (or to `make
# run`), or any one of them exiting, stops all of them within a few seconds.
#
#   PORTAL_HOST, PORTAL_PORT  where the web server listens (default 127.0.0.1:8000)
#   FHIR_SANDBOX_PORT         where the sandbox listens on 127.0.0.1 (default 8900); the demo health
#                             systems in the database are pointed there on every start
#   PAYMENT_SANDBOX_PORT      where the payment sandbox (a stand-in card processor) listens on 127.0.0.1
#                             (default 8910); PAYMENT_API_KEY and PAYMENT_WEBHOOK_SECRET default to
#                             demo values shared by it and the portal
#   PORTAL_VAR_DIR            the SQLite database, the task queue and the sandbox data (default var)
#   PY                        the Python of the virtual environment (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
HOST=${PORTAL_HOST:-127.0.0.1}
PORT=${PORTAL_PORT:-8000}
SANDBOX_PORT=${FHIR_SANDBOX_PORT:-8900}
PAYMENT_PORT=${PAYMENT_SANDBOX_PORT:-8910}
VAR=${PORTAL_VAR_DIR:-var}
for port in "$PORT" "$SANDBOX_PORT" "$PAYMENT_PORT"; do
  [[ $port =~ ^[0-9]+$ ]] || { echo "run-demo: a port must be a number, not '$port'" >&2; exit 2; }
done
if [ "$PORT" -eq "$SANDBOX_PORT" ] || [ "$PORT" -eq "$PAYMENT_PORT" ] || [ "$SANDBOX_PORT" -eq "$PAYMENT_PORT" ]; then
  echo "run-demo: PORTAL_PORT ($PORT), FHIR_SANDBOX_PORT ($SANDBOX_PORT) and PAYMENT_SANDBOX_PORT ($PAYMENT_PORT)" \
    "must all differ" >&2
  exit 2
fi

# Every process below (seed_demo included) reads the sandbox's address from here, so the demo
# health systems in the database, the web server and the worker all agree with where it listens.
export FHIR_SANDBOX_PORT=$SANDBOX_PORT FHIR_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
# Likewise the card processor: the portal's payment adapter talks to the payment sandbox with this key, and
# checks the sandbox's webhooks with this secret (demo values, public by design, never Stripe's).
export PAYMENT_SANDBOX_PORT=$PAYMENT_PORT PAYMENT_API_BASE="http://127.0.0.1:$PAYMENT_PORT"
export PAYMENT_API_KEY=${PAYMENT_API_KEY:-sk_test_demo}
export PAYMENT_WEBHOOK_SECRET=${PAYMENT_WEBHOOK_SECRET:-whsec_demo_only_not_secret}

sandbox=      # the FHIR sandbox's process, stopped last
payment_sandbox=  # the payment sandbox's process, stopped last too
services=()   # the web server, worker and beat
stopping=
# Each one leads a process group of its own (set -m below), so that a group holds a service and its children.
alive() {  # is any process (zombies aside) left in these groups?
  if ! command -v ps >/dev/null; then
    for group in "$@"; do kill -0 -- "-$group" 2>/dev/null && return 0; done
    return 1
  fi
  ps -A -o pgid= -o stat= | awk -v groups=" $* " \
    'index(groups, " " $1 " ") && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}
stop_and_wait() {  # deadline, then process group leaders: one SIGTERM each, then wait for their groups
  local deadline=$1
  shift
  [ $# -eq 0 ] && return
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  while alive "$@" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
}
stop() {
  [ -n "$stopping" ] && return
  stopping=1
  trap '' INT TERM HUP  # a second Ctrl-C must not abandon the services half-stopped
  local deadline=$((SECONDS + ${DEMO_STOP_SECONDS:-10}))
  local all=("${services[@]}" ${sandbox:+"$sandbox"} ${payment_sandbox:+"$payment_sandbox"})
  [ ${#all[@]} -eq 0 ] && return
  # The sandboxes go last: a sync (or a charge) the worker cancels gets its request in flight answered, not retried.
  stop_and_wait "$deadline" "${services[@]}"
  stop_and_wait "$deadline" ${sandbox:+"$sandbox"} ${payment_sandbox:+"$payment_sandbox"}
  # Whatever still runs past the deadline (a stuck process, an orphaned child) goes with its whole group.
  if alive "${all[@]}"; then
    echo "run-demo: stopping took over ${DEMO_STOP_SECONDS:-10} s; killing what is left." >&2
    for pid in "${all[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  fi
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM HUP
trap stop EXIT

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo  # idempotent; re-points the demo health systems at this sandbox port

# The sandbox plays the demo family's three health systems (Riverside, Lakeside, St. Mary's). It
# accepts the portal's callback at each address a browser may use to reach this web server.
redirects=()
for name in "$HOST" localhost 127.0.0.1; do
  uri="http://$name:$PORT/records/callback/"
  [[ " ${redirects[*]} " == *" --redirect-uri $uri "* ]] || redirects+=(--redirect-uri "$uri")
done
"$PY" -m fhir_sandbox.demo "$VAR/sandbox" "${redirects[@]}" >/dev/null
# Rosa and Alex start with their outside hospital's records, so the record pages show something at once.
"$PY" manage.py seed_demo_records "$VAR/sandbox"

# Job control puts each service in a process group of its own: a Ctrl-C reaches only this script
# (and make), which stops each service once and in order, rather than racing them all at once.
set -m
"$PY" -m fhir_sandbox --config "$VAR/sandbox/config.json" --host 127.0.0.1 --port "$SANDBOX_PORT" --quiet &
sandbox=$!
# The payment sandbox plays the card processor: test cards on its own payment page, webhooks to the portal.
"$PY" -m payment_sandbox --host 127.0.0.1 --port "$PAYMENT_PORT" --api-key "$PAYMENT_API_KEY" \
  --webhook-url "http://127.0.0.1:$PORT/billing/webhooks/payments/" --webhook-secret "$PAYMENT_WEBHOOK_SECRET" --quiet &
payment_sandbox=$!
# A SIGTERM makes the worker give running tasks a short grace, then cancel them (a cancelled task is
# acknowledged late, so it goes back to the queue) instead of waiting for them to finish, which was
# minutes for a sync. Gossip, mingle and heartbeats serve clusters of workers; each adds to the stop.
REMAP_SIGTERM=SIGQUIT CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT=${CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT:-1} \
  WORKER_EXIT_DEADLINE_SECONDS=${WORKER_EXIT_DEADLINE_SECONDS:-4} \
  "$PY" -m celery -A portal worker --loglevel=warning --concurrency=2 --pool=prefork --queues=celery,audit \
  --without-gossip --without-mingle --without-heartbeat &
services+=($!)
"$PY" -m celery -A portal beat --loglevel=warning &
services+=($!)
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
services+=($!)
set +m

echo
echo "  Family Health Portal: http://$HOST:$PORT/  (Ctrl-C stops the web server, sandboxes, worker and beat)"
echo "  Demo logins are listed in README.md; every password is demo-portal-2026."
echo "  The FHIR sandbox (three demo health systems) answers at $FHIR_SANDBOX_URL/"
echo "  The payment sandbox (test cards, no real money) answers at $PAYMENT_API_BASE/"
echo

status=0
wait -n || status=$?
echo "run-demo: a demo process exited (status $status); stopping the others." >&2
exit "$status"
