"""``service.health``: do the health and ops endpoints svc-infra mounts answer?

``/ping`` (always mounted by ``easy_service_app``), ``/_ops/*``
(``add_probes``), ``/_health/*`` (``add_health_routes``) and ``/_sql/health``
(``add_sql_health``). A 503 from one of them names the dependency that is down:
the service itself is up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._http import transport_failure
from svc_nb._redact import scrub
from svc_nb._report import Finding, Status
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._client import ServiceClient
from svc_nb.service._wiring import Wiring, is_health_path

__all__ = ["HealthResult", "check_health"]

CHECK = "service.health"
# Over HTTP the routes are not visible: the paths svc-infra's helpers mount by default.
HTTP_CANDIDATES = (
    "/ping",
    "/_ops/live",
    "/_ops/ready",
    "/_health/live",
    "/_health/ready",
    "/_sql/health",
)
_MAX_PATHS = 8
_EXCERPT = 160

_HEALTH: dict[C, Explanation] = {
    C.NO_HEALTH_ROUTE: Explanation(
        Status.WARN,
        "no health endpoint answers",
        "{detail}",
        "Mount svc-infra's probes: easy_service_app (mounts /ping), add_probes(app) for "
        "/_ops/live|ready|startup, add_sql_health(app) for /_sql/health.",
    ),
    C.UNHEALTHY: Explanation(
        Status.FAIL,
        "the service answers, but {failing}",
        "{detail}\nThe app itself is up: what fails is what that endpoint checks (the database, "
        "Redis, …).",
        "Check the dependency it names: await svc_nb.db.check(), await svc_nb.cache.check().",
    ),
}


@dataclass(frozen=True)
class HealthResult:
    finding: Finding
    reachable: bool


def _paths(client: ServiceClient, wiring: Wiring | None) -> list[str]:
    if wiring is None:
        return list(HTTP_CANDIDATES)
    seen: list[str] = []
    for path in wiring.paths("GET"):
        trimmed = path.rstrip("/") or "/"
        if is_health_path(trimmed) and trimmed not in seen:
            seen.append(trimmed)
    return seen[:_MAX_PATHS]


async def _get(client: ServiceClient, path: str) -> tuple[str, Any]:
    try:
        return path, await client.request("GET", path)
    except client.errors as exc:
        return path, exc


async def check_health(client: ServiceClient, wiring: Wiring | None) -> HealthResult:
    """GET every health endpoint at once; the first transport failure means the service is down."""
    paths = _paths(client, wiring)
    if not paths:
        detail = "The app mounts none of svc-infra's health or ops routes."
        return HealthResult(explain(CHECK, C.NO_HEALTH_ROUTE, _HEALTH, detail=detail), True)
    answers = await asyncio.gather(*(_get(client, p) for p in paths))
    for path, answer in answers:
        if isinstance(answer, BaseException):
            finding = transport_failure(
                CHECK, answer, client.url(path), client.deadline.timeout, data={"path": path}
            )
            return HealthResult(finding, False)
    mounted = [(p, r) for p, r in answers if client.in_process or r.status_code != 404]
    codes = {p: r.status_code for p, r in mounted}
    if not mounted:
        detail = f"Tried {', '.join(paths)}: each answered 404."
        return HealthResult(explain(CHECK, C.NO_HEALTH_ROUTE, _HEALTH, detail=detail), True)
    failing = [(p, r) for p, r in mounted if r.status_code >= 400]
    if failing:
        shown = ", ".join(f"GET {p} answered {r.status_code}" for p, r in failing)
        detail = "\n".join(f"{p}: {scrub(r.text[:_EXCERPT])}" for p, r in failing)
        finding = explain(
            CHECK, C.UNHEALTHY, _HEALTH, data={"status_codes": codes}, failing=shown, detail=detail
        )
        return HealthResult(finding, True)
    shown = ", ".join(f"{p} {code}" for p, code in codes.items())
    return HealthResult(
        Finding(
            CHECK, Status.OK, f"health endpoints answer: {shown}", data={"status_codes": codes}
        ),
        True,
    )
