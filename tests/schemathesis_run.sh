#!/usr/bin/env bash
# Bounded schemathesis run against /api/schema/ of a real server (called by .ci/run).
#
# PostgreSQL database `schemathesis_ci` (created and dropped here) with the demo data, served by
# gunicorn on 127.0.0.1. tests/schemathesis_support.py then walks one repair per transition (and
# one parts order per order transition) to the state it starts from, through the API, and writes
# the schemathesis config that pins every operation's identifiers to those records, so every
# operation gets valid requests as well as generated ones. Fails on any 5xx, any undocumented
# status code, any answer that does not match the schema, and any operation that never answered
# 2xx. Ends with one plain line: operations, how many answered 2xx, cases, 5xx.
#
#   bash tests/schemathesis_run.sh              # MAX_EXAMPLES=20 by default
#   SCHEMATHESIS_PG=postgres://user@host:5432 SCHEMATHESIS_DB=mine bash tests/schemathesis_run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${MAX_EXAMPLES:-20}
pg=${SCHEMATHESIS_PG:-postgres://postgres@127.0.0.1:5432}
db=${SCHEMATHESIS_DB:-schemathesis_ci}
st=${SCHEMATHESIS:-.venv/bin/schemathesis}
if [ ! -x "$st" ]; then
  echo "schemathesis_run: installing schemathesis==$SCHEMATHESIS_VERSION into .venv"
  .venv/bin/python -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
st=$(readlink -f "$st")

workdir=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  psql "$pg/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

psql "$pg/postgres" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
  -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="$pg/$db"
export SECRET_KEY="schemathesis-only-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')"
export DEBUG=0 NOTIFICATION_BACKEND=workflows.notify.LocmemBackend
# Fuzzing sends thousands of public lookups from one address, most with wrong digits.
export PUBLIC_LOOKUP_RATE_PER_IP=1000000 PUBLIC_LOOKUP_FAILURES_PER_TICKET=1000000
unset REDIS_URL CACHE_URL
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_demo >/dev/null

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# --limit-request-line 0: generated query strings pass gunicorn's 4 KB request line and reach
# the application, whose answers are what is under test.
.venv/bin/gunicorn service_center.wsgi:application --bind "127.0.0.1:$port" --workers 2 \
  --limit-request-line 0 --log-level warning >"$workdir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

.venv/bin/python tests/schemathesis_support.py "$base" "$workdir/schemathesis.toml"

status=0
# From the work directory: schemathesis keeps its cache and reports beside it, not in the repo.
(
  cd "$workdir"
  timeout 900 "$st" --config-file "$workdir/schemathesis.toml" run "$base/api/schema/" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --phases examples,coverage,fuzzing \
    --request-timeout 20 \
    --workers 2 \
    --seed 1 \
    --generation-database none \
    --report har --report-har-path "$workdir/requests.har" \
    --no-color ${ST_EXTRA_ARGS:-}
) 2>&1 | tee "$workdir/schemathesis.log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis_run: FAILED (exit $status); server log:"
  tail -n 50 "$workdir/server.log"
fi
.venv/bin/python tests/schemathesis_support.py summary "$base/api/schema/" \
  "$workdir/requests.har" "$workdir/schemathesis.log" || status=1
exit "$status"
