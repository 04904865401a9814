"""``svc_nb.env.rehearse``: a real start-up in a subprocess, bounded, classified, scrubbed.

The apps under test are small modules written to a temporary folder; the rehearsal
imports them in a child process (svc-infra is imported first, as in a real service).
The rehearsals run concurrently, once per module, and the tests read their reports.
"""

from __future__ import annotations

import asyncio
import math
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import svc_nb
from svc_nb import ArgumentTypeError, ArgumentValueError
from svc_nb.env import EnvCause, rehearse
from tests._support import closed_port

pytestmark = pytest.mark.slow

PG = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "rehearsal-secret-value-7f3a9c1e5b2d"
HANG_TIMEOUT_S = 20.0

APPS = {
    "not_asgi_app": "app = 42\n",
    "sync_callable_app": "def app(scope, receive, send):\n    return None\n",
    "hanging_app": textwrap.dedent(
        """
        import asyncio, os, pathlib
        from contextlib import asynccontextmanager
        from starlette.applications import Starlette

        @asynccontextmanager
        async def lifespan(app):
            pathlib.Path(os.environ["REHEARSAL_PID_FILE"]).write_text(str(os.getpid()))
            await asyncio.Event().wait()  # never set
            yield

        app = Starlette(lifespan=lifespan)
        """
    ),
    "failing_app": textwrap.dedent(
        """
        import os
        from contextlib import asynccontextmanager
        from starlette.applications import Starlette

        @asynccontextmanager
        async def lifespan(app):
            raise RuntimeError("cannot reach the ledger with key " + os.environ["LEDGER_SECRET"])
            yield

        app = Starlette(lifespan=lifespan)
        """
    ),
    "import_error_app": "raise ImportError('the settings module is broken')\n",
    "good_app": textwrap.dedent(
        """
        from starlette.applications import Starlette
        app = Starlette()
        """
    ),
}


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rehearsal_apps")
    for name, source in APPS.items():
        (folder / f"{name}.py").write_text(source)
    return folder


@pytest.fixture(scope="module")
def reports(app_dir: Path) -> Iterator[dict[str, tuple[Any, float]]]:
    """Every rehearsal of this module, run concurrently once: name -> (report, seconds)."""
    import sys

    sys.path.insert(0, str(app_dir))
    base = {"SQL_URL": PG, "CACHE_URL": "mem://", "LEDGER_SECRET": SECRET}
    pid_file = app_dir / "hang.pid"
    cases: dict[str, tuple[dict[str, str], str | None, float]] = {
        "module_missing": (base, "no_such_package_xyz.main:app", 60.0),
        "attribute_missing": (base, "good_app:application", 60.0),
        "not_asgi": (base, "not_asgi_app:app", 60.0),
        "sync_callable": (base, "sync_callable_app:app", 60.0),
        "hangs": ({**base, "REHEARSAL_PID_FILE": str(pid_file)}, "hanging_app:app", HANG_TIMEOUT_S),
        "fails": (base, "failing_app:app", 60.0),
        "import_error": (base, "import_error_app:app", 60.0),
        "good": (base, "good_app:app", 60.0),
        "standard_ok": ({"SQL_URL": PG, "CACHE_URL": "mem://"}, None, 60.0),
        "standard_redis_down": (
            {"SQL_URL": PG, "CACHE_URL": f"redis://127.0.0.1:{closed_port()}/0"},
            None,
            60.0,
        ),
        "standard_prod": ({"SQL_URL": PG, "APP_ENV": "prod"}, None, 60.0),
    }

    async def one(env: dict[str, str], app: str | None, timeout: float) -> tuple[Any, float]:
        started = time.monotonic()
        report = await rehearse(env, app=app, timeout=timeout, cwd=str(app_dir))
        return report, time.monotonic() - started

    async def run_all() -> list[tuple[Any, float]]:
        # Two at a time: CI has two cores and each child imports svc-infra.
        gate = asyncio.Semaphore(2)

        async def gated(args: tuple[dict[str, str], str | None, float]) -> tuple[Any, float]:
            async with gate:
                return await one(*args)

        return await asyncio.gather(*(gated(args) for args in cases.values()))

    try:
        results = asyncio.run(run_all())
    finally:
        sys.path.remove(str(app_dir))
    yield dict(zip(cases, results, strict=True))


def finding_of(reports: dict[str, tuple[Any, float]], name: str) -> Any:
    report, _ = reports[name]
    assert len(report) == 1, report
    return report["env.rehearse"]


@pytest.mark.parametrize(
    ("case", "cause"),
    [
        ("module_missing", EnvCause.APP_MODULE_MISSING),
        ("attribute_missing", EnvCause.APP_ATTRIBUTE_MISSING),
        ("not_asgi", EnvCause.NOT_ASGI_APP),
        ("sync_callable", EnvCause.NOT_ASGI_APP),
        ("fails", EnvCause.STARTUP_FAILED),
        ("import_error", EnvCause.APP_IMPORT_FAILED),
        ("standard_redis_down", EnvCause.CACHE_UNREACHABLE),
        ("standard_prod", EnvCause.SECRET_REQUIRED),
    ],
)
def test_bad_start_ups_are_clear_failures(
    reports: dict[str, tuple[Any, float]], case: str, cause: EnvCause
) -> None:
    found = finding_of(reports, case)
    assert found.status is svc_nb.Status.FAIL, found
    assert found.cause == cause.value, found
    assert found.fix, found


def test_a_missing_module_is_named(reports: dict[str, tuple[Any, float]]) -> None:
    found = finding_of(reports, "module_missing")
    assert "no_such_package_xyz" in found.summary
    assert found.data["phase"] == "app"


def test_the_real_exception_is_reported(reports: dict[str, tuple[Any, float]]) -> None:
    found = finding_of(reports, "fails")
    assert found.data["exception_type"] == "RuntimeError"
    assert "cannot reach the ledger" in found.detail
    assert found.data["phase"] == "startup"


def test_secrets_in_the_exception_are_masked(reports: dict[str, tuple[Any, float]]) -> None:
    found = finding_of(reports, "fails")
    text = str(found.to_dict())
    assert SECRET not in text
    assert SECRET not in str(reports["fails"][0])


def test_a_hanging_start_up_is_killed_at_the_timeout(
    reports: dict[str, tuple[Any, float]], app_dir: Path
) -> None:
    found = finding_of(reports, "hangs")
    _, seconds = reports["hangs"]
    assert found.cause == EnvCause.STARTUP_TIMEOUT.value
    assert found.data["phase"] == "startup", found
    assert seconds < HANG_TIMEOUT_S + 3.0
    pid = int((app_dir / "hang.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the child is gone, not left hanging


def test_svc_infra_errors_name_the_variable(reports: dict[str, tuple[Any, float]]) -> None:
    found = finding_of(reports, "standard_prod")
    assert "JWT_SECRET" in found.summary
    assert "check_env agrees" in found.detail


def test_working_apps_start(reports: dict[str, tuple[Any, float]]) -> None:
    for case in ("good", "standard_ok"):
        found = finding_of(reports, case)
        assert found.status is svc_nb.Status.OK, found
        assert found.cause is None
        assert found.data["phase"] == "done"


async def test_settings_rejected_at_import_names_the_variable() -> None:
    report = await rehearse({"AUTH_SMTP_PORT": "abc"}, timeout=60.0)
    found = report["env.rehearse"]
    assert found.cause == EnvCause.SETTINGS_REJECTED.value
    assert "AUTH_SMTP_PORT" in found.summary
    assert found.data["phase"] == "import"


async def test_without_svc_infra_it_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    from svc_nb.env import _rehearse

    monkeypatch.setattr(_rehearse, "svc_infra_importable", lambda: False)
    report = await rehearse({}, timeout=5.0)
    found = report["env.rehearse"]
    assert found.status is svc_nb.Status.SKIP
    assert found.cause == EnvCause.SVC_INFRA_MISSING.value


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "5", None, True])
async def test_bad_timeouts_are_refused(timeout: Any) -> None:
    with pytest.raises((ArgumentValueError, ArgumentTypeError)):
        await rehearse({}, timeout=timeout)


@pytest.mark.parametrize("app", ["main", "main:", ":app", "my-pkg.main:app", "main:app()"])
async def test_bad_app_specs_are_refused(app: str) -> None:
    with pytest.raises(ArgumentValueError):
        await rehearse({}, app=app)


async def test_app_must_be_a_string() -> None:
    with pytest.raises(ArgumentTypeError):
        await rehearse({}, app=object())  # type: ignore[arg-type]


async def test_diagnose_rehearses_only_when_svc_nb_app_is_set(app_dir: Path) -> None:
    env = {"SQL_URL": PG, "CACHE_URL": "mem://"}
    without = await svc_nb.diagnose(env, timeout=3.0)
    assert "env.rehearse" not in [f.check for f in without]
    bad = await svc_nb.diagnose({**env, "SVC_NB_APP": "not a spec"}, timeout=3.0)
    assert bad["env.rehearse"].cause == EnvCause.APP_SPEC_INVALID.value


async def test_diagnose_runs_the_rehearsal_of_svc_nb_app(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(app_dir))
    env = {"SQL_URL": PG, "CACHE_URL": "mem://", "SVC_NB_APP": "good_app:app"}
    report = await svc_nb.diagnose(env, timeout=40.0)
    assert report["env.rehearse"].status is svc_nb.Status.OK, report["env.rehearse"]
