"""One of svc-infra's settings models, executed from its file alone, validating a given mapping.

svc-infra builds some settings (``AuthSettings``) while ``import svc_infra``
runs, so importing the package to ask its models would load settings from the
process environment and run everything else. Instead the model's *file* is
executed on its own, and a subclass validates a mapping handed to it rather
than ``os.environ``. Any surprise in that file (another version, another
layout) means "no model": the caller falls back to its table of the fields.
"""

from __future__ import annotations

import contextvars
import importlib.metadata
import importlib.util
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LoadedModel", "SvcInfraModel", "svc_infra_file"]


def svc_infra_file(*parts: str) -> Path | None:
    """The file ``parts`` inside the installed svc_infra package, or None."""
    try:
        spec = importlib.util.find_spec("svc_infra")  # locates the package, runs none of it
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location, *parts)
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class LoadedModel:
    """svc-infra's model class, subclassed to read the mapping given to :meth:`validate`."""

    settings: Any  # the subclass; its model_fields are svc-infra's
    version: str  # svc-infra's installed version
    _given: contextvars.ContextVar[Mapping[str, str]]

    def validate(self, given: Mapping[str, str]) -> None:
        """Build the settings from ``given``; raises what pydantic(-settings) raises."""
        token = self._given.set(dict(given))
        try:
            self.settings()
        finally:
            self._given.reset(token)


class SvcInfraModel:
    """Loads ``class_name`` from svc-infra's file ``file`` once per version of that file."""

    def __init__(self, file: tuple[str, ...], class_name: str) -> None:
        self._file = file
        self._class_name = class_name
        self._module_name = "_svc_nb_svc_infra_" + "_".join(file).removesuffix(".py")
        self._given: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
            self._module_name
        )
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, int], LoadedModel | None] = {}

    def load(self) -> LoadedModel | None:
        """The model, or None when svc-infra or its file is absent or not what we expect."""
        path = svc_infra_file(*self._file)
        if path is None:
            return None
        try:
            key = (str(path), path.stat().st_mtime_ns)
        except OSError:
            return None
        with self._lock:
            if key not in self._loaded:
                self._loaded.clear()
                self._loaded[key] = self._build(path)
            return self._loaded[key]

    def _build(self, path: Path) -> LoadedModel | None:
        try:
            spec = importlib.util.spec_from_file_location(self._module_name, path)
            if spec is None or spec.loader is None:
                return None
            module = importlib.util.module_from_spec(spec)
            # pydantic resolves the module's annotations through sys.modules.
            sys.modules[self._module_name] = module
            spec.loader.exec_module(module)
            loaded = LoadedModel(
                self._given_subclass(getattr(module, self._class_name)),
                importlib.metadata.version("svc-infra"),
                self._given,
            )
            loaded.validate({})  # the defaults must load, or this model is not what we think
        except Exception:  # any surprise in another package's file: the caller uses its table
            sys.modules.pop(self._module_name, None)
            return None
        return loaded

    def _given_subclass(self, base: Any) -> Any:
        from pydantic_settings import EnvSettingsSource

        given_var = self._given

        class _GivenEnv(EnvSettingsSource):
            def _load_env_vars(self) -> Mapping[str, str | None]:
                given = given_var.get()
                if self.case_sensitive:
                    return dict(given)
                return {k.lower(): v for k, v in given.items()}

        class _Probe(base):
            @classmethod
            def settings_customise_sources(
                cls, settings_cls: Any, *args: Any, **kwargs: Any
            ) -> tuple[Any, ...]:
                return (_GivenEnv(settings_cls),)

        return _Probe
