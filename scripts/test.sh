#!/usr/bin/env bash
# Set up (including Chromium for the browser tests, where apt is available) and run the tests.
# Extra arguments go to pytest. DATABASE_URL=postgres://... runs the suite on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_BROWSER=1 bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
