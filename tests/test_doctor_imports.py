"""What ``svc-nb doctor`` loads: only the modules its checks use, no optional extras of its libraries.

The doctor's own process declines the optional imports redis-py, httpcore and
httpx try while they load (svc_nb._cli_imports); ``import svc_nb`` and every
other process keep them. Section packages load their modules on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from svc_nb import _cli_imports, _lazy
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL

HAS_OTEL_SDK = importlib.util.find_spec("opentelemetry.sdk") is not None
needs_otel_sdk = pytest.mark.skipif(
    not HAS_OTEL_SDK, reason="the OpenTelemetry SDK is not installed: nothing to decline"
)
SECTIONS = (
    "cache",
    "cors",
    "db",
    "doctor",
    "env",
    "migrations",
    "oauth",
    "runbook",
    "service",
    "tokens",
    "webhooks",
)
# Loaded with their package: runbook's notebook table is what the doctor links to.
_EAGER = {"svc_nb.runbook._map"}
_OPTIONAL = ("opentelemetry.sdk", "trio", "httpx._main", "click", "rich")


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    prefixes = ("SQL_", "DB_", "DATABASE_", "CACHE_", "REDIS_", "AUTH_", "JWT_", "WEBHOOK")
    kept = {k: v for k, v in os.environ.items() if not k.startswith((*prefixes, "SVC_NB_"))}
    return {**kept, **extra}


def _python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------- the doctor's own process

_DOCTOR_RUN = """
import contextlib, io, json, runpy, sys
sys.argv = ["svc-nb", "doctor", "--json"]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("svc_nb", run_name="__main__")
    except SystemExit as exc:
        code = exc.code
loaded = [m for m in %r if m in sys.modules]
import redis.observability.providers as providers, httpcore._synchronization as sync
print(json.dumps({
    "exit": code,
    "findings": {f["check"]: f["status"] for f in json.loads(out.getvalue())["findings"]},
    "loaded": loaded,
    "modules": sorted(sys.modules),
    "otel_available": providers.OTEL_AVAILABLE,
    "trio": sync.trio is not None,
    "finders": [type(f).__name__ for f in sys.meta_path],
}))
"""


def _doctor_run(tmp_path: Path) -> dict[str, Any]:
    """A whole ``python -m svc_nb doctor --json`` against healthy services, and what it loaded."""
    from svc_nb.webhooks import Receiver

    with Receiver() as receiver:
        env = _clean_env(
            {
                "REDIS_URL": LOCAL_REDIS_URL,
                "SQL_URL": LOCAL_PG_URL,
                "SVC_NB_WEBHOOK_URL": receiver.url,
            }
        )
        report: dict[str, Any] = json.loads(
            _python(_DOCTOR_RUN % (_OPTIONAL,), env=env, cwd=tmp_path)
        )
    return report


@needs_otel_sdk
def test_the_doctor_process_declines_the_optional_imports_and_the_cache_checks_pass(
    tmp_path: Path,
) -> None:
    report = _doctor_run(tmp_path)
    findings = report["findings"]
    assert report["loaded"] == []  # no OpenTelemetry SDK, trio, httpx CLI
    assert report["otel_available"] is False and report["trio"] is False
    for check in ("cache.connect", "cache.auth", "cache.server", "cache.write", "webhooks.http"):
        assert findings[check] == "ok", (check, findings)
    assert report["exit"] == 0, findings
    assert "_DeclineOptional" not in report["finders"]  # removed once the command ends


def test_the_doctor_loads_only_the_modules_its_checks_use(tmp_path: Path) -> None:
    modules = set(_doctor_run(tmp_path)["modules"])
    never_used = {
        "svc_nb._notebook_copy",
        "svc_nb.doctor._junit",
        "svc_nb.doctor._text",
        "svc_nb.doctor._watch",
        "svc_nb.env._compare",
        "svc_nb.env._compare_settings",
        "svc_nb.env._rehearse",
        "svc_nb.env._rehearse_explain",
        "svc_nb.runbook._params",
        "svc_nb.webhooks._attempts",
        "svc_nb.webhooks._delivery",
        "svc_nb.webhooks._receiver",
        "svc_nb.webhooks._summary",
        "svc_nb.webhooks._summary_sql",
    }
    assert modules & never_used == set()
    assert {"svc_nb.cache._probe", "svc_nb.webhooks._probe", "svc_nb.env._checks"} <= modules


@needs_otel_sdk
def test_importing_svc_nb_elsewhere_keeps_the_optional_imports() -> None:
    code = (
        "import json, sys, svc_nb, svc_nb.cache, redis.asyncio, httpx\n"
        "import redis.observability.providers as p\n"
        "print(json.dumps(['opentelemetry.sdk' in sys.modules, p.OTEL_AVAILABLE,"
        " 'httpx._main' in sys.modules]))"
    )
    assert json.loads(_python(code)) == [True, True, True]


def test_cli_main_called_with_arguments_declines_nothing() -> None:
    # Someone calling svc_nb.cli.main([...]) from their own process keeps every import.
    code = textwrap.dedent(
        """
        import contextlib, io
        import svc_nb.cli
        seen = []
        real = svc_nb.cli.declining_optional_imports
        def spy():
            seen.append(True)
            return real()
        svc_nb.cli.declining_optional_imports = spy
        with contextlib.redirect_stdout(io.StringIO()):
            svc_nb.cli.main(["doctor", "--print-schema"])
        print(len(seen))
        """
    )
    assert _python(code) == "0"


# --------------------------------------------------------------------------- the finder itself


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_the_finder_refuses_only_the_listed_library_while_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "opt_extra.py", "VALUE = 1\n")
    _write(
        tmp_path,
        "lib_uses.py",
        """
        try:
            import opt_extra
            HAVE = True
        except ImportError:
            HAVE = False

        def later():
            import opt_extra
            return opt_extra.VALUE
        """,
    )
    _write(tmp_path, "other_user.py", "import opt_extra\nHAVE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_cli_imports, "REFUSED", {"opt_extra": ("lib_uses",)})
    for name in ("opt_extra", "lib_uses", "other_user"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    before = list(sys.meta_path)
    with _cli_imports.declining_optional_imports():
        lib = importlib.import_module("lib_uses")
        assert lib.HAVE is False  # tried while lib_uses loads: declined
        assert "opt_extra" not in sys.modules
        assert lib.later() == 1  # an import inside a function is a real use: allowed
        sys.modules.pop("opt_extra")
        assert importlib.import_module("other_user").HAVE is True  # another importer: allowed
    assert sys.meta_path == before


# --------------------------------------------------------------------------- lazy section packages


@pytest.mark.parametrize("section", SECTIONS)
def test_a_section_package_loads_its_modules_on_first_use(section: str) -> None:
    code = (
        f"import json, sys, svc_nb.{section} as s\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith('svc_nb.{section}.'))))"
    )
    assert set(json.loads(_python(code))) <= _EAGER


@pytest.mark.parametrize("section", SECTIONS)
def test_every_lazy_name_is_public_and_is_its_modules_object(section: str) -> None:
    package = importlib.import_module(f"svc_nb.{section}")
    lazy = _lazy.exports(package.__name__)
    assert set(lazy) <= set(package.__all__)
    for name, where in lazy.items():
        module_name, _, attribute = where.partition(":")
        module = importlib.import_module(f"svc_nb.{section}.{module_name}")
        assert getattr(package, name) is getattr(module, attribute or name), name
    assert [n for n in package.__all__ if not hasattr(package, n)] == []
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018


def test_the_webhooks_stand_ins_register_as_the_modules_do() -> None:
    code = textwrap.dedent(
        """
        import json
        from svc_nb import _diagnose
        import svc_nb.webhooks
        names = ("webhooks.endpoint", "webhooks.queue")
        def seen():
            return [[_diagnose._builders[n][0], n in _diagnose._waiting] for n in names]
        first = seen()
        import svc_nb.webhooks._probe, svc_nb.webhooks._queue
        print(json.dumps([first, seen()]))
        """
    )
    first, loaded = json.loads(_python(code))
    assert first == loaded == [[70, True], [72, True]]


def test_the_rehearsal_stand_in_reads_the_same_variable() -> None:
    import svc_nb.env as env
    from svc_nb.env import _rehearse

    assert env._APP_VAR == _rehearse.APP_ENV_VAR
    assert env._rehearse_check({}, 1.0) == []
