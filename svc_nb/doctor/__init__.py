"""``svc-nb doctor``: every quick diagnostic, for a terminal, a CI job or a notebook.

- :func:`doctor` runs the checks ``only``/``skip`` select, silences what
  ``[tool.svc-nb] silence`` lists (still listed, marked silenced), and returns a
  :class:`DoctorResult`: ``exit_code`` (0 nothing failed, 1 a check failed at the
  fail level), ``to_dict()`` (the JSON, with ``schema_version``), text and HTML views;
- every finding carries its ``cause``, a ``docs`` link and the ``notebook`` (file,
  section and ``svc-nb open`` command) that investigates it;
- :func:`schema` is the JSON Schema of ``to_dict()``, shipped in the package;
- :func:`to_junit` renders a JUnit XML report; :func:`changes` compares two runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb.doctor._config import (
        FAIL_LEVELS,
        DoctorConfig,
        DoctorConfigError,
        find_pyproject,
        load_config,
    )
    from svc_nb.doctor._junit import to_junit
    from svc_nb.doctor._links import GUIDE_PAGES, cause_anchor, docs_link, section_anchor
    from svc_nb.doctor._result import (
        EXIT_CANNOT_RUN,
        EXIT_FAIL,
        EXIT_OK,
        EXIT_USAGE,
        SCHEMA_VERSION,
        DoctorResult,
        Entry,
    )
    from svc_nb.doctor._run import doctor
    from svc_nb.doctor._select import Selection, Silence, UnknownSectionError, known_sections
    from svc_nb.doctor._text import render_html, render_text
    from svc_nb.doctor._watch import Change, changes, render_changes, watch

__all__ = [
    "EXIT_CANNOT_RUN",
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_USAGE",
    "FAIL_LEVELS",
    "GUIDE_PAGES",
    "SCHEMA_VERSION",
    "Change",
    "DoctorConfig",
    "DoctorConfigError",
    "DoctorResult",
    "Entry",
    "Selection",
    "Silence",
    "UnknownSectionError",
    "cause_anchor",
    "changes",
    "docs_link",
    "doctor",
    "find_pyproject",
    "known_sections",
    "load_config",
    "render_changes",
    "render_html",
    "render_text",
    "schema",
    "schema_text",
    "section_anchor",
    "to_junit",
    "watch",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


def schema_text() -> str:
    """The JSON Schema of ``svc-nb doctor --json``, as shipped in the package."""
    from importlib import resources

    return resources.files("svc_nb").joinpath("schemas/doctor.schema.json").read_text("utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema of ``svc-nb doctor --json`` (``DoctorResult.to_dict()``)."""
    import json

    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded
