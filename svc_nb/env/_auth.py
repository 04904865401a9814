"""svc-infra's AuthSettings, judged by its own rule without importing svc_infra.

svc-infra builds ``AuthSettings()`` (pydantic-settings, prefix ``AUTH_``,
nested delimiter ``__``, names case-insensitive) while ``import svc_infra``
runs, so one malformed ``AUTH_*`` value stops every import of the service.

When svc-infra is installed, its settings *file* is executed on its own (the
``svc_infra`` package is never imported, so nothing else runs and no settings
load from the process environment) and a subclass validates a given mapping
instead of ``os.environ``. Without svc-infra, a table of the 1.22 fields and
pydantic's parsing rules decides. Each field is validated on its own, so every
bad variable is named, not just the first.

Most environments set only string fields (``AUTH_JWT__SECRET``, client ids):
building the model (pydantic, pydantic-settings: about 100 ms) cannot reject
those. For an svc-infra version whose string fields were proved against its
own model (tests/fidelity/test_auth_fast_path.py), such an environment is
judged without it.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb.env._read import json_depth_exceeds, load_json
from svc_nb.env._svc_infra_model import LoadedModel, SvcInfraModel, svc_infra_file

__all__ = ["AuthCheck", "SettingProblem", "check_auth_settings", "pydantic_int"]

_PREFIX = "auth_"
_DELIMITER = "__"
_SETTINGS_FILE = ("api", "fastapi", "auth", "settings.py")
# A pasted list of a hundred thousand bad items needs its first few named, not all.
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class SettingProblem:
    """One AUTH_* variable svc-infra cannot load; ``message`` never repeats the value."""

    variable: str
    field: str
    kind: str  # "not_json", "too_deep", "invalid" or "missing_secret"
    message: str


@dataclass(frozen=True)
class AuthCheck:
    """The AUTH_* variables svc-infra's AuthSettings reads, and the problems it would raise."""

    variables: tuple[str, ...]
    problems: tuple[SettingProblem, ...]
    rule: str

    def for_variable(self, name: str) -> list[SettingProblem]:
        """Problems with this variable's own value (a missing jwt secret is the block's)."""
        return [
            p
            for p in self.problems
            if p.variable.lower() == name.lower() and p.kind != "missing_secret"
        ]

    @property
    def jwt_secret_missing(self) -> bool:
        """AUTH_JWT__* variables build the jwt block, and nothing gives it a secret."""
        return any(p.kind == "missing_secret" for p in self.problems)


# -- the table (svc-infra 1.22 AuthSettings) ----------------------------------------

_INT, _BOOL, _STR, _JSON = "int", "bool", "str", "json"
_FIELDS: dict[str, str] = {
    "jwt": _JSON,
    "password_clients": _JSON,
    "require_client_secret_on_password_login": _BOOL,
    "mfa_default_enabled_for_new_users": _BOOL,
    "mfa_enforce_for_all_users": _BOOL,
    "mfa_enforce_for_tenants": _JSON,
    "mfa_issuer": _STR,
    "mfa_pre_token_lifetime_seconds": _INT,
    "mfa_recovery_codes": _INT,
    "mfa_recovery_code_length": _INT,
    "email_otp_ttl_seconds": _INT,
    "email_otp_cooldown_seconds": _INT,
    "email_otp_attempts": _INT,
    "smtp_host": _STR,
    "smtp_port": _INT,
    "smtp_username": _STR,
    "smtp_password": _STR,
    "smtp_from": _STR,
    "auto_verify_in_dev": _BOOL,
    "google_client_id": _STR,
    "google_client_secret": _STR,
    "github_client_id": _STR,
    "github_client_secret": _STR,
    "ms_client_id": _STR,
    "ms_client_secret": _STR,
    "ms_tenant": _STR,
    "li_client_id": _STR,
    "li_client_secret": _STR,
    "oidc_providers": _JSON,
    "post_login_redirect": _STR,
    "redirect_allow_hosts_raw": _STR,
    "session_cookie_name": _STR,
    "auth_cookie_name": _STR,
    "session_cookie_secure": _BOOL,
    "session_cookie_samesite": _STR,
    "session_cookie_domain": _STR,
    "session_cookie_max_age_seconds": _INT,
}
# Required string keys of each object in a JSON list field.
_LIST_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "password_clients": ("client_id", "client_secret"),
    "oidc_providers": ("name", "issuer", "client_id", "client_secret"),
    "mfa_enforce_for_tenants": (),  # a list of strings
}
# Optional keys that must be strings when present (others are ignored: extra="ignore").
_LIST_ITEM_OPTIONAL: dict[str, tuple[str, ...]] = {"oidc_providers": ("scope",)}
_TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})
# pydantic-core's lax str -> int: sign, digits with single underscores, zeros after a dot.
_PYDANTIC_INT = re.compile(r"([+-]?)([0-9]+(?:_[0-9]+)*)(?:\.0+)?")
_MAX_INT_DIGITS = 4300


def pydantic_int(text: str) -> int | None:
    """``text`` as pydantic (lax mode) reads an int from the environment, or None."""
    match = _PYDANTIC_INT.fullmatch(text.strip())
    if match is None:
        return None
    digits = match.group(2).replace("_", "")
    if len(digits) > _MAX_INT_DIGITS:
        return None
    return int(match.group(1) + digits)


_INT_MESSAGE = "Input should be a valid integer, unable to parse string as an integer"


def _table_simple(kind: str, value: str) -> str | None:
    if kind == _INT and pydantic_int(value) is None:
        return _INT_MESSAGE
    if kind == _BOOL and value.lower() not in _TRUE_WORDS | _FALSE_WORDS:
        return "Input should be a valid boolean, unable to interpret input"
    return None


def _table_list(field: str, parsed: Any) -> str | None:
    if not isinstance(parsed, list):
        return "Input should be a valid list"
    keys = _LIST_ITEM_KEYS.get(field, ())
    for index, item in enumerate(parsed):
        if not keys and not isinstance(item, str):
            return f"[{index}]: Input should be a valid string"
        if keys and not isinstance(item, dict):
            return f"[{index}]: Input should be a valid dictionary"
        for key in keys if isinstance(item, dict) else ():
            if not isinstance(item.get(key), str):
                return f"[{index}].{key}: " + (
                    "Field required" if key not in item else "Input should be a valid string"
                )
        for key in _LIST_ITEM_OPTIONAL.get(field, ()) if isinstance(item, dict) else ():
            if key in item and not isinstance(item[key], str):
                return f"[{index}].{key}: Input should be a valid string"
    return None


def _lax_int(value: Any) -> bool:
    """Whether pydantic's lax mode reads ``value`` (from JSON) as an int."""
    if isinstance(value, str):
        return pydantic_int(value) is not None
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int)  # bool included: pydantic reads true as 1


def _nested_key(name: str) -> str:
    return name.lower()[len(_PREFIX) :].partition(_DELIMITER)[2]


def _table_jwt(group: list[tuple[str, str]]) -> list[SettingProblem]:
    """The ``jwt`` block: AUTH_JWT (JSON object) overlaid with AUTH_JWT__<key> values."""
    block: dict[str, Any] = {}
    owners: dict[str, str] = {}
    plain = next((name for name, _ in group if not _nested_key(name)), group[0][0])
    for name, value in sorted(group, key=lambda item: bool(_nested_key(item[0]))):
        key = _nested_key(name)
        parsed, error = load_json(value) if key in ("", "old_secrets") else (value, None)
        if error == "too_deep" or (error and key):
            return [
                _problem(name, "jwt." + key if key else "jwt", error, "the value is not valid JSON")
            ]
        if not key:
            if error or (parsed is not None and not isinstance(parsed, dict)):
                return [_problem(name, "jwt", "invalid", "Input should be a valid dictionary")]
            block.update(parsed or {})
        else:
            block[key] = parsed
            owners[key] = name
    problems = []
    if "lifetime_seconds" in block and not _lax_int(block["lifetime_seconds"]):
        owner = owners.get("lifetime_seconds", plain)
        problems.append(_problem(owner, "jwt.lifetime_seconds", "invalid", _INT_MESSAGE))
    if "old_secrets" in block:
        message = _table_list("mfa_enforce_for_tenants", block["old_secrets"])
        if message:
            problems.append(
                _problem(owners.get("old_secrets", plain), "jwt.old_secrets", "invalid", message)
            )
    if block and "secret" not in block:
        names = ", ".join(name for name, _ in group)
        problems.append(_problem(names, "jwt.secret", "missing_secret", "Field required"))
    elif "secret" in block and not isinstance(block["secret"], str):
        problems.append(
            _problem(
                owners.get("secret", plain),
                "jwt.secret",
                "invalid",
                "Input should be a valid string",
            )
        )
    return problems


def _problem(variable: str, field: str, kind: str, message: str) -> SettingProblem:
    return SettingProblem(variable, field, kind, message)


def _table_group(field: str, group: list[tuple[str, str]]) -> list[SettingProblem]:
    if field == "jwt":
        return _table_jwt(group)
    kind = _FIELDS[field]
    problems = []
    for name, value in group:
        if _nested_key(name):  # AUTH_PASSWORD_CLIENTS__0__X builds a dict where a list is needed
            problems.append(_problem(name, field, "invalid", "Input should be a valid list"))
        elif kind == _JSON:
            parsed, error = load_json(value)
            message = None if error or parsed is None else _table_list(field, parsed)
            if error or message:
                problems.append(
                    _problem(
                        name, field, error or "invalid", message or "the value is not valid JSON"
                    )
                )
        else:
            message = _table_simple(kind, value)
            if message:
                problems.append(_problem(name, field, "invalid", message))
    return problems


def _json_valued(field: str, name: str) -> bool:
    """Whether pydantic-settings decodes this variable as JSON (unknown fields: assume so)."""
    if _FIELDS.get(field, _JSON) != _JSON:
        return False
    return field != "jwt" or _nested_key(name) in ("", "old_secrets")


# -- svc-infra's own model ----------------------------------------------------------

_AUTH_MODEL = SvcInfraModel(_SETTINGS_FILE, "AuthSettings")


def _model_group(
    model: LoadedModel, field: str, group: list[tuple[str, str]]
) -> list[SettingProblem]:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        model.validate(dict(group))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)[:_MAX_PROBLEMS]
        return [_from_error(field, group, err) for err in errors]
    except (SettingsError, RecursionError) as exc:
        deep = isinstance(exc, RecursionError) or any(json_depth_exceeds(v) for _, v in group)
        name = _json_culprit(field, group)
        return [
            _problem(name, field, "too_deep" if deep else "not_json", "the value is not valid JSON")
        ]
    return []


def _from_error(field: str, group: list[tuple[str, str]], err: Mapping[str, Any]) -> SettingProblem:
    loc = [str(p) for p in err.get("loc", ())]
    path = ".".join(loc) or field
    sub = loc[1].lower() if len(loc) > 1 else ""
    if field == "jwt" and sub == "secret" and err.get("type") == "missing":
        return _problem(
            ", ".join(n for n, _ in group), "jwt.secret", "missing_secret", "Field required"
        )
    # A nested variable (AUTH_JWT__LIFETIME_SECONDS) owns errors under its key; else the plain one.
    owner = next((n for n, _ in group if sub and n.lower().endswith(_DELIMITER + sub)), None)
    plain = next((n for n, _ in group if _DELIMITER not in n), group[0][0])
    return _problem(owner or plain, path, "invalid", str(err.get("msg", "invalid value")))


def _json_culprit(field: str, group: list[tuple[str, str]]) -> str:
    """The variable whose JSON pydantic-settings failed to decode."""
    for name, value in group:
        if _json_valued(field, name) and load_json(value)[1] is not None:
            return name
    return group[0][0]


# -- fields any string loads into -----------------------------------------------------

# The svc-infra versions _ANY_STRING_FIELDS was proved for, each against its own model.
_PROVED_VERSIONS = frozenset({"1.22.2"})
# AUTH_<name> (lower case) whose field takes any string: str, str | None, SecretStr | None,
# AnyHttpUrl | str; and jwt__secret (SecretStr), the jwt block's one required key.
_ANY_STRING_FIELDS = frozenset(
    {
        "mfa_issuer",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "smtp_from",
        "google_client_id",
        "google_client_secret",
        "github_client_id",
        "github_client_secret",
        "ms_client_id",
        "ms_client_secret",
        "ms_tenant",
        "li_client_id",
        "li_client_secret",
        "post_login_redirect",
        "redirect_allow_hosts_raw",
        "session_cookie_name",
        "auth_cookie_name",
        "session_cookie_samesite",
        "session_cookie_domain",
        "jwt__secret",
    }
)


def _proved_version() -> str | None:
    """The installed svc-infra's version, if _ANY_STRING_FIELDS was proved for it.

    Package metadata and a file lookup only: nothing imports pydantic.
    """
    if svc_infra_file(*_SETTINGS_FILE) is None:
        return None
    try:
        version = importlib.metadata.version("svc-infra")
    except importlib.metadata.PackageNotFoundError:
        return None
    return version if version in _PROVED_VERSIONS else None


def _any_string_check(env: Mapping[str, str]) -> AuthCheck | None:
    """The verdict when every AUTH_* variable feeds a field any string loads into, else None.

    Each name feeds its own field: two spellings of one name (read case-insensitively,
    one value wins) or AUTH_JWT beside AUTH_JWT__SECRET go to the model, as does
    any other name. AUTH_JWT__SECRET alone makes a jwt block with every other key
    defaulted.
    """
    names = tuple(name for name in env if name[: len(_PREFIX)].lower() == _PREFIX)
    fields = [name[len(_PREFIX) :].lower() for name in names]
    if len(set(fields)) != len(fields) or not _ANY_STRING_FIELDS.issuperset(fields):
        return None
    version = _proved_version()
    if version is None:
        return None
    rule = (
        f"svc-infra {version}'s AuthSettings: string fields, any value loads "
        "(proved against its model)"
    )
    return AuthCheck(names, (), rule)


# -- entry point --------------------------------------------------------------------


def _groups(env: Mapping[str, str], fields: frozenset[str]) -> dict[str, list[tuple[str, str]]]:
    """AUTH_* variables by the field they feed (a nested name feeds only a complex field)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, value in env.items():
        lowered = name.lower()
        if not lowered.startswith(_PREFIX):
            continue
        field, nested, _ = lowered[len(_PREFIX) :].partition(_DELIMITER)
        if field in fields and not (nested and _FIELDS.get(field, _JSON) != _JSON):
            groups.setdefault(field, []).append((name, value))
    return groups


def check_auth_settings(env: Mapping[str, str]) -> AuthCheck:
    """The AUTH_* variables of ``env`` svc-infra's AuthSettings reads, and what it rejects."""
    if not any(name[:5].lower() == _PREFIX for name in env):
        return AuthCheck((), (), "no AUTH_* variable")  # nothing to load: pydantic stays unimported
    known = _any_string_check(env)
    if known is not None:
        return known  # the model could not reject any of it: pydantic stays unimported
    model = _AUTH_MODEL.load()
    fields = frozenset(_FIELDS) if model is None else frozenset(model.settings.model_fields)
    groups = _groups(env, fields)
    problems: list[SettingProblem] = []
    for field, group in groups.items():
        deep = [n for n, v in group if _json_valued(field, n) and json_depth_exceeds(v)]
        if deep:
            # Never handed to a recursive parser; svc-infra fails on them either way.
            problems.extend(_problem(n, field, "too_deep", "JSON nested too deeply") for n in deep)
            continue
        problems.extend(
            _table_group(field, group) if model is None else _model_group(model, field, group)
        )
    rule = (
        f"svc-infra {model.version}'s AuthSettings model"
        if model
        else "svc_nb's table of svc-infra 1.22's AuthSettings fields"
    )
    names = tuple(name for group in groups.values() for name, _ in group)
    return AuthCheck(names, tuple(problems), rule)
