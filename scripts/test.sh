#!/usr/bin/env bash
# Set up a fresh machine (packages, services) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec python3 -m pytest "$@"
