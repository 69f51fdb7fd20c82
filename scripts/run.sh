#!/usr/bin/env bash
# Set up, migrate, load the demo data and serve on http://127.0.0.1:8000/ (SQLite by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DEBUG=${DEBUG:-1}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# QR codes and messages link to SITE_URL: by default the address served here.
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py seed_demo
.venv/bin/python manage.py compilemessages -v 0 >/dev/null 2>&1 || true
echo "Open http://$HOST:$PORT/ and log in as desk / demo12345"
exec .venv/bin/python manage.py runserver "$HOST:$PORT"
