"""``compare``: the environments of several services side by side, and what breaks between them.

Some failures exist only between services: the worker cannot decrypt the
subscription secrets the API stored, tokens one service issues are rejected by
another, the worker polls another Redis than the API enqueues into, staging's
``SQL_URL`` points at production. Each service's settings are resolved the way
svc-infra resolves them (``settings_from_environ``), then compared pair by
pair according to who does what (``roles``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._explain import explain
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._compare_explain import EXPLAIN
from svc_nb.env._compare_inputs import load_service
from svc_nb.env._compare_judge import JUDGES, ROLES, Judge, Roles, judge_roles, names
from svc_nb.env._compare_settings import ServiceSettings
from svc_nb.env._compare_view import Grid, build_grid
from svc_nb.env._explanations import finding

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ROLES", "Comparison", "compare"]

C = EnvCause
_ALL = frozenset(ROLES)


class Comparison(ReprMixin):
    """Several services' settings side by side (``frame``) and what breaks between them (``report``)."""

    def __init__(
        self,
        settings: Mapping[str, ServiceSettings | None],
        report: Report,
        roles: Roles,
        roles_assumed: bool,
    ) -> None:
        self._settings = dict(settings)
        self._grid: Grid = build_grid(self._settings)
        self.report = report
        self.roles: dict[str, tuple[str, ...]] = {
            name: tuple(r for r in ROLES if r in held) for name, held in roles.items()
        }
        self.roles_assumed = roles_assumed

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self._settings)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per setting, one column per service; differing cells start with ``≠``."""
        return self._grid.frame()

    @property
    def differs(self) -> pd.DataFrame:
        """The same shape as :attr:`frame`: True where a cell is marked as differing."""
        return self._grid.differs()

    @property
    def differing(self) -> list[str]:
        """The settings (row keys such as ``jwt_secret``) on which the services differ."""
        return self._grid.differing_settings()

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def worst(self) -> Status:
        return self.report.worst

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": list(self.services),
            "roles": {name: list(held) for name, held in self.roles.items()},
            "roles_assumed": self.roles_assumed,
            "settings": self._grid.to_dict(),
            "report": self.report.to_dict(),
        }

    def __str__(self) -> str:
        head = f"{len(self.services)} services: {names(self.services, 20)}"
        return f"{head}\n{self._grid.render_text()}\n\n{self.report.render_text(colour=False)}"

    def __repr__(self) -> str:
        return (
            f"<Comparison of {len(self.services)} services: worst={self.worst.value}, "
            f"differing={self.differing}>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>{len(self.services)} services compared</b>"
            f"{self._grid.render_html()}{self.report._repr_html_()}</div>"
        )


# -- roles --------------------------------------------------------------------------


def _role_set(service: str, value: Any) -> frozenset[str]:
    items: Iterable[Any] = (value,) if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(value, bytes | Mapping):
        raise ArgumentTypeError(
            f"compare(roles=...): the roles of {service!r} must be a role name or a list of "
            f"them ({', '.join(ROLES)}), not {type(value).__name__}"
        )
    held: set[str] = set()
    for item in items:
        if item in ("all", "*"):
            held.update(ROLES)
        elif item in _ALL:
            held.add(item)
        else:
            raise ArgumentValueError(
                f"compare(roles=...): {str(item)[:40]!r} (for {service!r}) is not a role; "
                f"roles are {', '.join(ROLES)} (or 'all')"
            )
    return frozenset(held)


def _roles(services: list[str], roles: Any) -> tuple[dict[str, frozenset[str]], bool, list[str]]:
    """(role set by service, assumed?, services not listed in ``roles``)."""
    if roles is None:
        return {name: _ALL for name in services}, True, []
    if not isinstance(roles, Mapping):
        raise ArgumentTypeError(
            "compare(roles=...) takes a mapping of service name to roles, e.g. "
            "{'api': ['issues_tokens', 'enqueues'], 'worker': ['worker']}"
        )
    strangers = [name for name in roles if name not in services]
    if strangers:
        raise ArgumentValueError(
            f"compare(roles=...) names {', '.join(map(repr, strangers[:5]))}, which is not a "
            f"service being compared ({', '.join(services[:10])})"
        )
    unlisted = [name for name in services if name not in roles]
    held = {name: _role_set(name, roles[name]) if name in roles else _ALL for name in services}
    return held, False, unlisted


# -- the comparison -------------------------------------------------------------------


def _check_services(services: Any) -> list[str]:
    if not isinstance(services, Mapping):
        raise ArgumentTypeError(
            "compare() takes a mapping of service name to environment, e.g. "
            "{'api': 'api.env', 'worker': {'SQL_URL': ...}}, not " + type(services).__name__
        )
    for name in services:
        if not isinstance(name, str) or not name.strip():
            raise ArgumentTypeError(
                f"compare(): service names must be non-empty text, got {name!r}"
            )
    return list(services)


def _guarded(
    check: str, judge: Judge, usable: Mapping[str, ServiceSettings], roles: Roles, assumed: bool
) -> Finding:
    try:
        return judge(usable, roles, assumed)
    except Exception as exc:  # one verdict's bug must not hide the others
        kind = type(exc).__name__
        return finding(
            check,
            C.CHECK_CRASHED,
            check_id=check,
            exception_type=kind,
            data={"exception_type": kind},
        )


def _services_finding(requested: list[str], usable: list[str], problems: list[Finding]) -> Finding:
    if len(usable) < 2:
        lines = [f.summary for f in problems] or [f"given: {names(requested) or 'none'}"]
        return explain(
            "env.compare.services",
            C.COMPARE_TOO_FEW_SERVICES,
            EXPLAIN,
            count=len(usable),
            problems="\n".join(lines),
            data={"services": requested, "usable": usable},
        )
    return Finding(
        "env.compare.services",
        Status.OK,
        f"{len(usable)} services compared: {names(usable)}",
        data={"services": requested, "usable": usable},
    )


def compare(services: Mapping[str, Any], *, roles: Mapping[str, Any] | None = None) -> Comparison:
    """Compare the environments of several services of one deployment.

    ``services`` maps a name to its environment: a mapping of variables, the
    path of a ``.env`` file (read on its own, not merged with this process's
    environment), or the path of a ``svc-nb doctor --json`` output. ``roles``
    maps a name to what it does: ``issues_tokens``, ``verifies_tokens``,
    ``creates_subscriptions``, ``enqueues``, ``worker`` (or ``all``); by
    default every service does everything, and the report says so. Services
    left out of ``roles`` do everything too.

    Returns a :class:`Comparison`: ``.frame`` (masked; secrets as
    fingerprints; differing cells marked) and ``.report`` (``env.compare.*``
    findings). Unreadable inputs are findings, never exceptions; a value of the
    wrong type raises :class:`~svc_nb.ArgumentTypeError`.
    """
    requested = _check_services(services)
    held, assumed, unlisted = _roles(requested, roles)
    loaded = [load_service(name, services[name]) for name in requested]
    problems = [item.problem for item in loaded if item.problem is not None]
    settings = {item.name: item.settings for item in loaded}
    usable = {name: s for name, s in settings.items() if s is not None}
    findings = [_services_finding(requested, list(usable), problems), *problems]
    if len(usable) >= 2:
        findings.append(judge_roles(held, assumed, unlisted))
        findings.extend(_guarded(check, judge, usable, held, assumed) for check, judge in JUDGES)
    title = f"svc-infra environments compared: {names(requested) or 'no services'}"
    return Comparison(settings, Report(findings, title=title), held, assumed)
