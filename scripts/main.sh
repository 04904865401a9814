#!/usr/bin/env bash
# Set up a fresh machine, execute every bundled notebook against the local services
# (executed .ipynb + HTML into build/notebooks/), then print `svc-nb doctor`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export SQL_URL=${SQL_URL:-postgresql://postgres@127.0.0.1:5432/test}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
python3 scripts/run_notebooks.py --out build/notebooks
echo
svc-nb doctor || status=$?
exit "${status:-0}"
