#!/usr/bin/env bash
# Bounded schemathesis run against /api/schema/ of a real server on 127.0.0.1 (called by .ci/run).
# Fresh SQLite database with the demo data, a manager's token, a few examples per operation;
# fails on any 5xx, any undocumented status code and any answer that does not match the schema.
#
#   bash tests/schemathesis_run.sh            # MAX_EXAMPLES=20 by default
#   SCHEMATHESIS=/path/to/st bash tests/schemathesis_run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${MAX_EXAMPLES:-20}
st=${SCHEMATHESIS:-.venv/bin/schemathesis}
if [ ! -x "$st" ]; then
  echo "schemathesis_run: installing schemathesis==$SCHEMATHESIS_VERSION into .venv"
  .venv/bin/python -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

workdir=$(mktemp -d)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite:///$workdir/schemathesis.sqlite3"
export PUBLIC_LOOKUP_RATE_PER_IP=100000 NOTIFICATION_BACKEND=workflows.notify.LocmemBackend
unset REDIS_URL CACHE_URL
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_demo >/dev/null
token=$(.venv/bin/python manage.py shell -c "
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
print(Token.objects.get_or_create(user=get_user_model().objects.get(username='manager'))[0].key)
" | tail -n 1)

.venv/bin/gunicorn service_center.wsgi:application --bind "127.0.0.1:$port" --workers 2 \
  --log-level warning >"$workdir/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

status=0
timeout 600 "$st" run "http://127.0.0.1:$port/api/schema/" \
  --header "Authorization: Token $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --phases examples,coverage,fuzzing \
  --request-timeout 20 \
  --workers 2 \
  --seed 1 \
  --generation-database none \
  --no-color ${ST_EXTRA_ARGS:-} || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis_run: FAILED (exit $status); server log:"
  tail -n 50 "$workdir/server.log"
fi
exit "$status"
