#!/usr/bin/env bash
# Set up a fresh machine (packages, services), then check everything CI checks:
# lint and types, the docs build, the whole test suite on Python 3.11, and the
# quick tests (not slow, browser or notebook) on Python 3.13 as well.
# Extra arguments go to the Python 3.11 pytest run (e.g. `-m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

step() { printf '\n[test] %s\n' "$*"; }
step "ruff check / ruff format --check"
python3 -m ruff check svc_nb tests benchmarks scripts notebooks
python3 -m ruff format --check svc_nb tests benchmarks scripts
step "mypy"
python3 -m mypy
step "mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 python3 -m mkdocs build --strict --quiet --site-dir build/site

step "pytest (Python 3.11, whole suite)"
python3 -m pytest "$@"

PY313=$(bash scripts/find_python.sh 3.13 || true)
if [ -n "$PY313" ]; then
  step "pytest (Python 3.13, quick tests)"
  "$PY313" -m pytest -q -m "not slow and not browser and not notebook" -p no:cacheprovider
else
  step "Python 3.13 not found: the 3.13 run is skipped"
fi
