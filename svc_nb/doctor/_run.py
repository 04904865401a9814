"""Running the selected checks: only the section modules and check builders needed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from svc_nb._report import Finding
from svc_nb._runtime import gather_checks
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.doctor._config import FAIL_LEVELS, DoctorConfig, load_config
from svc_nb.doctor._result import DoctorResult
from svc_nb.doctor._select import Selection, import_sections

__all__ = ["doctor"]

# Past each probe's own timeout: probes report their own, better-worded timeout first.
_GUARD_MARGIN_S = 0.2


def _builders(selection: Selection) -> tuple[dict[str, Any], list[str]]:
    """The check builders the selection needs, in report order, and those that wait."""
    from svc_nb import _diagnose

    import_sections(selection.modules())
    ordered = sorted(_diagnose._builders.items(), key=lambda item: item[1][0])
    chosen = {name: builder for name, (_, builder) in ordered if selection.runs(name)}
    return chosen, [name for name in chosen if name in _diagnose._waiting]


async def doctor(
    environ: Mapping[str, str] | None = None,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    fail_on: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    config: DoctorConfig | None = None,
) -> DoctorResult:
    """Run the checks ``only``/``skip`` select; silence what ``[tool.svc-nb]`` silences.

    ``config`` defaults to the nearest ``pyproject.toml``'s ``[tool.svc-nb]``;
    ``fail_on`` ("fail" or "warn") defaults to its ``fail-on``, else "fail".
    Raises ``ArgumentValueError`` for a pattern that names no section, and
    ``DoctorConfigError`` when the configuration cannot be read.
    """
    timeout = check_timeout(timeout)
    settings = load_config() if config is None else config
    level = fail_on or settings.fail_on or "fail"
    if level not in FAIL_LEVELS:
        from svc_nb._exceptions import ArgumentValueError

        raise ArgumentValueError(f'fail_on must be "fail" or "warn", got {level!r:.40}')
    selection = Selection.build(only, skip, settings.silence)
    env = dict(os.environ if environ is None else environ)
    builders, waiting = _builders(selection)
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def done(name: str, findings: list[Finding]) -> None:
        elapsed = time.perf_counter() - started
        for finding in findings:
            seconds.setdefault(finding.check, elapsed)

    checks = {name: (lambda b=builder: b(env, timeout)) for name, builder in builders.items()}
    report = await gather_checks(
        checks,
        timeout=timeout + _GUARD_MARGIN_S,
        title="svc-nb doctor",
        on_done=done,
        start_first=waiting,
    )
    where = str(settings.path) if settings.path else None
    return DoctorResult.from_report(report, selection, fail_on=level, config=where, seconds=seconds)
