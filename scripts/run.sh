#!/usr/bin/env bash
# Set up, migrate, load the demo data and serve on http://127.0.0.1:8000/ (SQLite by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DEBUG=${DEBUG:-1}
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py seed_demo
.venv/bin/python manage.py compilemessages -v 0 >/dev/null 2>&1 || true
echo "Open http://${HOST:-127.0.0.1}:${PORT:-8000}/ and log in as desk / demo12345"
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
