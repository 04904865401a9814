"""PostgreSQL: connection-URL diagnosis and staged connection checks.

- :func:`parse_url` reads a URL the way libpq, asyncpg and SQLAlchemy would
  (no I/O, linear in the URL's length) and names each mistake with its fix.
- :func:`check` walks the connection in stages — TCP per host,
  start-up/authentication through asyncpg, server version/latency/TLS,
  capacity — so that one call says *which* of the guide's five causes (server
  down, bad URL, network, pool exhausted, SSL mismatch) it is.
- :func:`pool_headroom` says how many worker processes a pool fits;
  :func:`activity` shows who holds the connections, stuck sessions flagged.

Every non-ok finding carries a :class:`DbCause` code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Report
    from svc_nb.db._activity import ACTIVITY_COLUMNS, Activity, activity
    from svc_nb.db._causes import DbCause
    from svc_nb.db._check import check, pool_headroom
    from svc_nb.db._model import (
        DEFAULT_PORT,
        IDLE_IN_TRANSACTION_AFTER_S,
        SSL_MODES,
        SVC_INFRA_MAX_OVERFLOW,
        SVC_INFRA_POOL_SIZE,
    )
    from svc_nb.db._url import parse_url

__all__ = [
    "ACTIVITY_COLUMNS",
    "DEFAULT_PORT",
    "IDLE_IN_TRANSACTION_AFTER_S",
    "SSL_MODES",
    "SVC_INFRA_MAX_OVERFLOW",
    "SVC_INFRA_POOL_SIZE",
    "Activity",
    "DbCause",
    "activity",
    "check",
    "parse_url",
    "pool_headroom",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


async def _diagnose(environ: Mapping[str, str], timeout: float) -> Report:
    from svc_nb.db._check import diagnose_db

    return await diagnose_db(environ, timeout)


register_check("db", _diagnose, order=20, waits=True)
