"""The ``cors`` check of ``diagnose()``: a real preflight from the first allowed origin."""

from __future__ import annotations

from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Report, Status
from svc_nb.cors._causes import CorsCause as C
from svc_nb.cors._probe import preflight
from svc_nb.cors._rules import parse_origins_env

__all__ = ["diagnose_cors"]

# Leave diagnose()'s guard a little time past the probe's own timeout finding.
_GUARD_MARGIN_S = 0.1
_MIN_TIMEOUT_S = 0.1

_ENV: dict[C, Explanation] = {
    C.NOT_CONFIGURED: Explanation(
        Status.SKIP,
        "SVC_NB_SERVICE_URL not set, CORS not probed",
        "Set SVC_NB_SERVICE_URL to the API URL a page calls to send a real preflight.",
    ),
    C.NO_ORIGINS: Explanation(
        Status.SKIP,
        "no origin in CORS_ALLOW_ORIGINS to probe with",
        "{detail}",
        "Probe by hand: await svc_nb.cors.preflight(url, 'https://your-front-end')",
    ),
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


async def diagnose_cors(environ: Mapping[str, str], timeout: float) -> Report | Finding:
    url = environ.get("SVC_NB_SERVICE_URL", "").strip()
    if not url:
        return explain("cors", C.NOT_CONFIGURED, _ENV)
    origins = [o for o in parse_origins_env(environ.get("CORS_ALLOW_ORIGINS")) if o != "*"]
    if not origins:
        detail = (
            "CORS_ALLOW_ORIGINS is empty: unless add_security(cors_origins=…) sets origins in code, "
            "svc-infra adds no CORS middleware at all and every cross-origin call fails."
        )
        if environ.get("CORS_ALLOW_ORIGIN_REGEX", "").strip():
            detail = "Only CORS_ALLOW_ORIGIN_REGEX is set; give an explicit origin to probe."
        return explain("cors", C.NO_ORIGINS, _ENV, detail=detail)
    # The typical SPA call: a bearer token and a JSON body, which always need a preflight.
    return await preflight(
        url,
        origins[0],
        method="GET",
        headers={"Authorization": None, "Content-Type": "application/json"},
        credentials=_truthy(environ.get("CORS_ALLOW_CREDENTIALS")),
        timeout=max(timeout - _GUARD_MARGIN_S, _MIN_TIMEOUT_S),
    )
