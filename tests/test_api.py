"""The public surface: curated exports, light import, type marker, packaged notebooks."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

import svc_nb

EXPECTED = {
    "ArgumentTypeError",
    "ArgumentValueError",
    "Finding",
    "Report",
    "Status",
    "SvcNbError",
    "__version__",
    "cache",
    "causes",
    "cors",
    "db",
    "demo",
    "diagnose",
    "doctor",
    "env",
    "load_ipython_extension",
    "migrations",
    "oauth",
    "plots",
    "run",
    "runbook",
    "service",
    "support",
    "tokens",
    "webhooks",
    "widgets",
}


def test_all_is_sorted_and_matches_the_contract() -> None:
    assert svc_nb.__all__ == sorted(svc_nb.__all__)
    assert set(svc_nb.__all__) == EXPECTED


def test_no_public_name_is_left_out_of_all() -> None:
    # Submodules appear as attributes once imported (svc_nb.cli by the CLI); the
    # curated names are the functions, classes and section modules in __all__.
    public = {
        n
        for n, v in vars(svc_nb).items()
        if not n.startswith("_") and n != "annotations" and not isinstance(v, types.ModuleType)
    }
    assert public <= set(svc_nb.__all__), public - set(svc_nb.__all__)


def test_every_exported_name_resolves() -> None:
    for name in svc_nb.__all__:
        assert getattr(svc_nb, name) is not None, name


def test_unknown_attribute_names_itself() -> None:
    try:
        svc_nb.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light() -> None:
    code = (
        "import sys, json, svc_nb;"
        "print(json.dumps([m for m in ('pandas','matplotlib','ipywidgets','sqlalchemy','alembic')"
        " if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_package_is_typed() -> None:
    assert (Path(svc_nb.__file__).parent / "py.typed").exists()


def test_bundled_notebooks_are_found_and_stripped() -> None:
    from svc_nb._resources import notebook_paths

    paths = notebook_paths()
    assert paths, "no bundled notebooks found"
    assert paths[0].name.startswith("00_")
    for path in paths:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} has outputs committed"


def test_wheel_contains_notebooks(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    import zipfile

    (wheel,) = tmp_path.glob("svc_nb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("svc_nb/_notebooks/00_") and n.endswith(".ipynb") for n in names)
    assert "svc_nb/py.typed" in names


def test_submodules_import_cleanly_and_export_what_they_list() -> None:
    for name in (
        "_report",
        "_redact",
        "_runtime",
        "_diagnose",
        "_validate",
        "_explain",
        "env",
        "cli",
    ):
        module = importlib.import_module(f"svc_nb.{name}")
        missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
        assert missing == [], f"svc_nb.{name}.__all__ lists names it lacks: {missing}"


def test_every_svc_nb_exception_derives_from_the_root() -> None:
    """One tree: whatever a section raises for misuse, `except svc_nb.SvcNbError` catches it."""
    import inspect
    import pkgutil

    offenders = []
    for info in pkgutil.walk_packages(svc_nb.__path__, "svc_nb."):
        if info.name.endswith("__main__") or "._notebooks" in info.name:
            continue
        module = importlib.import_module(info.name)
        if getattr(module, "STANDALONE_CHILD", False):  # runs alone in a child process
            continue
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Exception)
                and obj.__module__ == info.name
                and not issubclass(obj, svc_nb.SvcNbError)
            ):
                offenders.append(f"{info.name}.{name}")
    assert offenders == []
