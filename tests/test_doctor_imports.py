"""What ``svc-nb doctor`` loads: only the modules its checks use, no optional extras of its libraries.

The doctor's own process declines the optional imports redis-py, httpcore and
httpx try while they load (svc_nb._cli_imports), and PyJWT's cryptography when
it imports no user code; ``import svc_nb`` and every other process keep them.
An environment of AUTH_* string fields is judged without pydantic. Section
packages load their modules on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from svc_nb import _cli_imports, _lazy
from tests._support import (
    BENCH_AUTH,
    LOCAL_PG_URL,
    LOCAL_REDIS_URL,
    clean_child_env,
    run_child_python,
)

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


# --------------------------------------------------------------------------- the doctor's own process

_DOCTOR_RUN = """
import contextlib, io, json, runpy, sys
sys.argv = ["svc-nb", "doctor", "--json", *%r]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("svc_nb", run_name="__main__")
    except SystemExit as exc:
        code = exc.code
loaded = [m for m in %r if m in sys.modules]
modules = sorted(sys.modules)
jwt_algorithms = sys.modules.get("jwt.algorithms")
import redis.observability.providers as providers, httpcore._synchronization as sync
findings = json.loads(out.getvalue())["findings"]
print(json.dumps({
    "exit": code,
    "findings": {f["check"]: f["status"] for f in findings},
    "summaries": {f["check"]: f["summary"] for f in findings},
    "loaded": loaded,
    "modules": modules,
    "jwt_has_crypto": None if jwt_algorithms is None else jwt_algorithms.has_crypto,
    "otel_available": providers.OTEL_AVAILABLE,
    "trio": sync.trio is not None,
    "finders": [type(f).__name__ for f in sys.meta_path],
}))
"""
_PYJWT_CRYPTO = ("cryptography.hazmat.bindings._rust", "cryptography.x509")


def _doctor_run(
    tmp_path: Path, extra: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A whole ``python -m svc_nb doctor --json`` against healthy services, and what it loaded."""
    from svc_nb.webhooks import Receiver

    with Receiver() as receiver:
        env = clean_child_env(
            {
                "REDIS_URL": LOCAL_REDIS_URL,
                "SQL_URL": LOCAL_PG_URL,
                "SVC_NB_WEBHOOK_URL": receiver.url,
                **(extra or {}),
            }
        )
        report: dict[str, Any] = json.loads(
            run_child_python(_DOCTOR_RUN % (args, _OPTIONAL), env=env, cwd=tmp_path)
        )
    return report


def _pydantic_loaded(modules: list[str]) -> list[str]:
    return [m for m in modules if m.partition(".")[0] in ("pydantic", "pydantic_settings")]


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
    assert json.loads(run_child_python(code)) == [True, True, True]


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
    assert run_child_python(code) == "0"


def test_the_benchmark_doctor_loads_neither_pyjwts_cryptography_nor_pydantic(
    tmp_path: Path,
) -> None:
    from svc_nb.tokens._secret_check import secret_check

    report = _doctor_run(tmp_path, BENCH_AUTH)
    modules = report["modules"]
    assert [m for m in _PYJWT_CRYPTO if m in modules] == []
    assert report["jwt_has_crypto"] is False  # PyJWT loaded, HS256 only
    assert _pydantic_loaded(modules) == []
    # The same verdicts as with cryptography: this process's PyJWT has it.
    import jwt

    assert jwt.algorithms.has_crypto
    expected = secret_check(BENCH_AUTH, 5.0)[0]
    assert report["findings"]["tokens.secret"] == expected.status.value == "ok"
    assert report["summaries"]["tokens.secret"] == expected.summary
    assert report["findings"]["env.auth_settings"] == "ok"
    assert report["findings"]["env.jwt_secret"] == "ok"


@pytest.mark.parametrize(
    ("extra", "args"),
    [({}, ("--app", "user_app:app")), ({"SVC_NB_APP": "user_app:app"}, ())],
    ids=["--app", "SVC_NB_APP"],
)
def test_a_doctor_that_imports_the_users_app_keeps_pyjwts_cryptography(
    tmp_path: Path, extra: dict[str, str], args: tuple[str, ...]
) -> None:
    # The app signs its own tokens with RS256: importing it fails if PyJWT has no cryptography.
    _write(
        tmp_path,
        "user_app.py",
        """
        import jwt

        RS256 = jwt.get_algorithm_by_name("RS256")

        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        """,
    )
    # env.rehearse starts the app in a child process of its own: not what is tested here.
    report = _doctor_run(tmp_path, {**BENCH_AUTH, **extra}, (*args, "--skip", "env.rehearse"))
    modules = report["modules"]
    assert "user_app" in modules, report["summaries"]  # imported, RS256 and all
    assert report["jwt_has_crypto"] is True
    assert [m for m in _PYJWT_CRYPTO if m in modules] == list(_PYJWT_CRYPTO)
    assert report["findings"]["tokens.secret"] == "ok"


def test_pyjwt_keeps_cryptography_outside_the_doctors_own_process() -> None:
    plain = "import json, svc_nb, jwt\nprint(json.dumps(jwt.algorithms.has_crypto))"
    assert json.loads(run_child_python(plain)) is True
    # svc_nb.cli.main([...]) called from someone's own process runs the tokens check too.
    called = textwrap.dedent(
        """
        import contextlib, io, json
        import svc_nb.cli
        with contextlib.redirect_stdout(io.StringIO()):
            svc_nb.cli.main(["doctor", "--json", "--only", "tokens"])
        import jwt
        print(json.dumps(jwt.algorithms.has_crypto))
        """
    )
    assert json.loads(run_child_python(called, env=clean_child_env(BENCH_AUTH))) is True


@pytest.mark.parametrize(("name", "value"), [("AUTH_SMTP_PORT", "abc"), ("AUTH_JWT", "{")])
def test_a_bad_auth_value_still_goes_through_svc_infras_model(
    tmp_path: Path, name: str, value: str
) -> None:
    report = _doctor_run(tmp_path, {**BENCH_AUTH, name: value}, ("--only", "env"))
    assert report["findings"]["env.auth_settings"] == "fail"
    assert name in report["summaries"]["env.auth_settings"]
    assert _pydantic_loaded(report["modules"]) != []


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


def _forget(*names: str) -> None:
    """Unload modules, and the attribute their parent package holds for them."""
    for name in names:
        sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and hasattr(sys.modules[parent], child):
            delattr(sys.modules[parent], child)


def test_the_second_table_is_declined_only_while_only_svc_nb_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "opt_pkg"
    package.mkdir()
    _write(package, "__init__.py", "")
    _write(package, "sub.py", "VALUE = 1\n")
    # As PyJWT: `from package import submodule`, catching only ModuleNotFoundError.
    _write(
        tmp_path,
        "lib_from.py",
        """
        try:
            from opt_pkg import sub
            HAVE = True
        except ModuleNotFoundError:
            HAVE = False
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_cli_imports, "REFUSED_WITHOUT_USER_CODE", {"opt_pkg": ("lib_from",)})
    for name in ("opt_pkg", "opt_pkg.sub", "lib_from"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    # The package itself is already loaded (redis-py imports cryptography): only its
    # submodule is refused, and `from opt_pkg import sub` must still see ModuleNotFoundError.
    importlib.import_module("opt_pkg")

    def have() -> bool:
        _forget("opt_pkg.sub", "lib_from")
        return bool(importlib.import_module("lib_from").HAVE)

    with _cli_imports.running_only_svc_nb():
        assert have() is True  # no svc-nb finder (a caller's process): nothing declined
    with _cli_imports.declining_optional_imports():
        assert have() is True  # svc-nb's process, the first table only
        with _cli_imports.running_only_svc_nb():
            assert have() is False
            assert "opt_pkg.sub" not in sys.modules
        assert have() is True  # the block is over
    _forget("opt_pkg.sub", "lib_from")


# --------------------------------------------------------------------------- lazy section packages


_FIRST_USE = """
import json, sys
import svc_nb.{section} as s
from svc_nb._lazy import exports

before = sorted(m for m in sys.modules if m.startswith("svc_nb.{section}."))
name, where = sorted(exports("svc_nb.{section}").items())[0]
namespace = {{}}
exec(f"from svc_nb.{section} import {{name}}", namespace)
module = "svc_nb.{section}." + where.partition(":")[0]
print(json.dumps([before, module in sys.modules, namespace[name] is vars(s)[name]]))
"""


@pytest.mark.parametrize("section", [*SECTIONS, "widgets"])
def test_a_section_package_loads_its_modules_on_first_use(section: str) -> None:
    before, loaded, kept = json.loads(run_child_python(_FIRST_USE.format(section=section)))
    assert set(before) <= _EAGER
    # `from package import name` loads the name's module and keeps the name on the package.
    assert loaded is True and kept is True


def test_a_lazy_package_reads_its_exports_through_its_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package imported from a zip (zipimport) has no __init__.py on disk: its loader has it."""
    import zipfile

    archive = tmp_path / "lazy_packages.zip"
    init = """
        from typing import TYPE_CHECKING

        from svc_nb._lazy import lazy_package

        if TYPE_CHECKING:
            from svc_nb_lazy_demo._impl import VALUE
            from svc_nb_lazy_demo._impl import renamed as shown

        __all__ = ["VALUE", "shown"]
        __getattr__, __dir__ = lazy_package(__name__)
    """
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("svc_nb_lazy_demo/__init__.py", textwrap.dedent(init))
        zipped.writestr("svc_nb_lazy_demo/_impl.py", "VALUE = 42\ndef renamed():\n    return 'r'\n")
    monkeypatch.syspath_prepend(str(archive))
    try:
        package = importlib.import_module("svc_nb_lazy_demo")
        assert type(package.__spec__.loader).__name__ == "zipimporter"
        assert "svc_nb_lazy_demo._impl" not in sys.modules
        assert _lazy.exports("svc_nb_lazy_demo") == {"VALUE": "_impl", "shown": "_impl:renamed"}
        assert (package.VALUE, package.shown()) == (42, "r")
        assert {"VALUE", "shown"} <= set(dir(package))
        assert not hasattr(package, "renamed")
    finally:
        _forget("svc_nb_lazy_demo._impl", "svc_nb_lazy_demo")


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
    first, loaded = json.loads(run_child_python(code))
    assert first == loaded == [[70, True], [72, True]]


def test_the_rehearsal_stand_in_reads_the_same_variable() -> None:
    import svc_nb.env as env
    from svc_nb.env import _rehearse

    assert env._APP_VAR == _rehearse.APP_ENV_VAR
    assert env._rehearse_check({}, 1.0) == []
