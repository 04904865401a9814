#!/usr/bin/env bash
# Install everything svc_nb needs on a fresh machine and start the local services.
# Idempotent: safe to run before every main-job or test run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_packages=()
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || apt_packages+=(postgresql)
if [ ${#apt_packages[@]} -gt 0 ]; then
  log "installing Debian packages: ${apt_packages[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

# Chromium drives the browser tests; without it they skip with a reason (pytest -ra),
# so a failed install must not stop the run.
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium for the browser tests"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; } \
    || log "WARNING: Chromium could not be installed; the browser tests will be skipped (see pytest -ra)"
fi

PYTHON=${PYTHON:-python3}
log "installing svc_nb with its lab and dev extras"
"$PYTHON" -m pip install -q --disable-pip-version-check -e ".[dev,lab]"
# The quick tests also run on Python 3.13 (svc_nb supports 3.11+; 3.12 changed asyncio.run).
if PY313=$(bash scripts/find_python.sh 3.13); then
  log "installing svc_nb with its dev extra for $PY313"
  "$PY313" -m pip install -q --disable-pip-version-check -e ".[dev]"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  log "starting PostgreSQL"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort | tail -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
# The tests use database `test` on the local server; create it if this machine lacks it.
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null 2>&1 || true
fi
"$PYTHON" -m ipykernel install --user --name python3 >/dev/null 2>&1 || true
log "ready"
