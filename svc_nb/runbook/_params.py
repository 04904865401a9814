"""A notebook's parameters: what its ``parameters`` cell declares, and the injected cell.

The convention is papermill's: the cell tagged ``parameters`` assigns the
defaults; a run adds a cell tagged ``injected-parameters`` right after it that
assigns the given values, so the notebook runs unchanged with or without one.
Declared names and their types are read from the cell's source (no code runs):
an annotation wins, else the default's shape says it (``int(...)`` is an int,
``"..."`` or ``os.environ.get(...)`` a str, ``....split(",")`` a list).

A parameter is a *secret* when its name looks like one (``*_SECRET``,
``TOKEN``, ``*_PASSWORD``...) or its value holds one (a URL with a password, a
JWT). A secret's value is never written into the notebook: the injected cell
reads it from the kernel's environment, where the runner puts it.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._redact import is_secret_name, scrub

__all__ = [
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "SECRET_ENV_PREFIX",
    "Injection",
    "Parameter",
    "ParameterError",
    "ParameterTypeError",
    "build_injection",
    "convert",
    "declared_parameters",
    "inject",
    "parameters_cell_index",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
# The kernel environment variable a secret parameter travels in.
SECRET_ENV_PREFIX = "SVC_NB_PARAM_"

_STR_METHODS = frozenset({"strip", "lower", "upper", "rstrip", "lstrip", "format", "replace"})
_TRUE, _FALSE = frozenset({"true", "yes", "1", "on"}), frozenset({"false", "no", "0", "off"})


class ParameterError(ArgumentValueError):
    """A parameter the notebook does not declare; the message lists those it does."""


class ParameterTypeError(ArgumentTypeError):
    """A parameter value that is not of the type the notebook declares."""


@dataclass(frozen=True)
class Parameter:
    """One name the ``parameters`` cell assigns."""

    name: str
    kind: str  # str, int, float, bool, list, dict or any
    default: str  # the default's source text
    env: str | None = None  # the environment variable the default reads, if any

    @property
    def secret_name(self) -> bool:
        return is_secret_name(self.name)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [str(t) for t in tags] if isinstance(tags, list) else []


def parameters_cell_index(nb: Any) -> int | None:
    """The index of the cell tagged ``parameters``, or None."""
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in _tags(cell):
            return index
    return None


def _is_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _env_name(node: ast.AST) -> str | None:
    """``X`` of the first ``os.environ.get("X")``, ``os.environ["X"]`` or ``os.getenv("X")``."""
    for sub in ast.walk(node):
        target: ast.AST | None = None
        if isinstance(sub, ast.Subscript) and _is_environ(sub.value):
            target = sub.slice
        elif isinstance(sub, ast.Call) and sub.args and isinstance(sub.func, ast.Attribute):
            owner = sub.func.value
            if (sub.func.attr == "get" and _is_environ(owner)) or (
                sub.func.attr == "getenv" and isinstance(owner, ast.Name) and owner.id == "os"
            ):
                target = sub.args[0]
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            return target.value
    return None


def _kind_of_constant(value: Any) -> str:
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, types):
            return kind
    return "any"


def _kind_of_call(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name) and func.id in ("int", "float", "str", "bool", "list", "dict"):
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr in ("split", "splitlines"):
            return "list"
        if func.attr in _STR_METHODS:
            return "str"
        if func.attr == "get" and _is_environ(func.value):
            default = node.args[1] if len(node.args) > 1 else None
            return "str" if default is None else _kind(default)
        if func.attr == "getenv":
            return "str"
    return "any"


def _kind(node: ast.AST) -> str:
    """The type a default expression evaluates to, when its shape says so."""
    if isinstance(node, ast.Constant):
        return _kind_of_constant(node.value)
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, ast.List | ast.Tuple):
        return "list"
    if isinstance(node, ast.Dict):
        return "dict"
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return "str"
    if isinstance(node, ast.Call):
        return _kind_of_call(node)
    if isinstance(node, ast.BoolOp):
        kinds = {_kind(value) for value in node.values}
        return kinds.pop() if len(kinds) == 1 else "any"
    return "any"


def _annotation_kind(node: ast.AST) -> str:
    name = node.id if isinstance(node, ast.Name) else ""
    return name if name in ("str", "int", "float", "bool", "list", "dict") else "any"


def declared_parameters(nb: Any) -> dict[str, Parameter]:
    """The parameters the notebook's ``parameters`` cell assigns, by name (empty if none)."""
    index = parameters_cell_index(nb)
    if index is None:
        return {}
    source = nb.cells[index].get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, Parameter] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            value = stmt.value
            kind = _annotation_kind(stmt.annotation)
            if kind == "any" and value is not None:
                kind = _kind(value)
            found[stmt.target.id] = Parameter(
                stmt.target.id,
                kind,
                ast.unparse(value) if value is not None else "",
                _env_name(value) if value is not None else None,
            )
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = Parameter(
                        target.id, _kind(stmt.value), ast.unparse(stmt.value), _env_name(stmt.value)
                    )
    return found


def _to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _to_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _to_list(text: str) -> list[Any]:
    if text.lstrip().startswith("["):
        value = json.loads(text)
        if not isinstance(value, list):
            raise ValueError(text)
        return value
    return [part for part in text.split(",") if part]


def _to_dict(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(text)
    return value


def _to_any(text: str) -> Any:
    # papermill's reading of a -p value: a JSON literal if it is one, else the text.
    try:
        return json.loads(text)
    except ValueError:
        return text


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": _to_float,
    "bool": _to_bool,
    "list": _to_list,
    "dict": _to_dict,
    "any": _to_any,
}
_KIND_WORDS = {
    "int": "an integer",
    "float": "a finite number",
    "bool": "true or false",
    "list": "a JSON list or comma-separated values",
    "dict": "a JSON object",
}


def convert(parameter: Parameter, text: str) -> Any:
    """``text`` as the parameter's declared type; :class:`ParameterTypeError` if it is not one."""
    try:
        return _CONVERTERS[parameter.kind](text)
    except ValueError:
        shown = "(a secret, not shown)" if _holds_secret(parameter.name, text) else repr(text)
        raise ParameterTypeError(
            f"parameter {parameter.name} takes {_KIND_WORDS.get(parameter.kind, 'text')} "
            f"(its default is {parameter.default}), got {shown:.80}"
        ) from None


def _holds_secret(name: str, text: str) -> bool:
    # An empty value hides nothing: it is written as it is.
    return bool(text) and (is_secret_name(name) or scrub(text) != text)


@dataclass(frozen=True)
class Injection:
    """The injected cell's source, what it sets (secrets masked) and the kernel's extra env."""

    source: str
    shown: dict[str, Any]  # name -> value, or a note saying where a secret comes from
    kernel_env: dict[str, str]  # SVC_NB_PARAM_<NAME> -> a secret's value
    secrets: tuple[str, ...]  # the secret values, to mask wherever they might surface

    def lines(self) -> list[str]:
        """``NAME = value`` per parameter set; a secret as where it comes from."""
        return [
            f"{name} {value}" if name in self.secret_names else f"{name} = {value!r}"
            for name, value in self.shown.items()
        ]

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(
            name for name, value in self.shown.items() if isinstance(value, _SecretNote)
        )


class _SecretNote(str):
    """What a secret parameter shows instead of its value: where the kernel reads it."""

    __slots__ = ()

    @classmethod
    def of(cls, variable: str) -> _SecretNote:
        return cls(f"(secret, from ${variable})")


def _secret_line(name: str, kind: str, variable: str) -> str:
    read = f"os.environ[{variable!r}]"
    if kind == "str":
        return f"{name} = {read}"
    if kind in ("int", "float"):
        return f"{name} = {kind}({read})"
    return f"{name} = json.loads({read})"


def _given_lines(
    declared: Mapping[str, Parameter], given: Sequence[tuple[str, str]], into: _Lines
) -> None:
    for name, text in given:
        parameter = declared.get(name)
        if parameter is None:
            known = ", ".join(declared) or "none (it has no cell tagged 'parameters')"
            raise ParameterError(
                f"the notebook declares no parameter {name!r}; it declares: {known}"
            )
        value = convert(parameter, text)
        if _holds_secret(name, text):
            variable = SECRET_ENV_PREFIX + name
            into.kernel_env[variable] = text if parameter.kind == "str" else json.dumps(value)
            into.secret(name, parameter.kind, variable, text)
        else:
            into.value(name, value)


def _environment_lines(
    declared: Mapping[str, Parameter], environ: Mapping[str, str], into: _Lines
) -> None:
    for parameter in declared.values():
        if parameter.name in into.shown or not parameter.env or parameter.env not in environ:
            continue
        text = str(environ[parameter.env])
        if _holds_secret(parameter.name, text):
            # By reference, so the value stays in the environment; a secret of another
            # shape is left to the notebook's own default, which reads it too.
            if parameter.kind in ("str", "int", "float"):
                into.secret(parameter.name, parameter.kind, parameter.env, text)
            continue
        try:
            into.value(parameter.name, convert(parameter, text))
        except ParameterTypeError:
            continue  # the notebook's own default reads it and says what is wrong


@dataclass
class _Lines:
    """The injected cell being built."""

    lines: list[str] = field(default_factory=list)
    shown: dict[str, Any] = field(default_factory=dict)
    kernel_env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def value(self, name: str, value: Any) -> None:
        self.lines.append(f"{name} = {value!r}")
        self.shown[name] = value

    def secret(self, name: str, kind: str, variable: str, text: str) -> None:
        self.lines.append(_secret_line(name, kind, variable))
        self.shown[name] = _SecretNote.of(variable)
        self.secrets.append(text)


def build_injection(
    declared: Mapping[str, Parameter],
    given: Sequence[tuple[str, str]],
    *,
    from_env: Mapping[str, str] | None = None,
) -> Injection:
    """The injected cell for ``given`` (NAME, VALUE text) pairs.

    ``from_env`` (an environment) also fills each declared parameter whose default
    reads a variable set there, unless ``given`` names it: a secret one by
    reference (``os.environ["X"]``), the others by value.
    Raises :class:`ParameterError` for an undeclared name and
    :class:`ParameterTypeError` for a value of the wrong type.
    """
    built = _Lines()
    _given_lines(declared, given, built)
    if from_env is not None:
        _environment_lines(declared, from_env, built)
    header = ["# Parameters"]
    body = "\n".join(built.lines)
    if "os.environ[" in body:
        header.append("import os")
    if "json.loads(" in body:
        header.append("import json")
    source = "\n".join([*header, *built.lines]) + "\n"
    return Injection(source, built.shown, built.kernel_env, tuple(built.secrets))


def inject(nb: Any, source: str) -> int:
    """Put an ``injected-parameters`` cell after the ``parameters`` cell; returns its index.

    An injected cell from an earlier run is replaced, as papermill does; without a
    ``parameters`` cell the injected one goes first.
    """
    import nbformat

    nb.cells = [cell for cell in nb.cells if INJECTED_TAG not in _tags(cell)]
    index = parameters_cell_index(nb)
    position = 0 if index is None else index + 1
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(position, cell)
    return position
