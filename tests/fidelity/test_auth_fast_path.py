"""svc-infra's own AuthSettings proves the fields svc_nb judges without building it.

``svc_nb.env._auth`` answers "no problem" without pydantic when every AUTH_*
variable feeds a field of ``_ANY_STRING_FIELDS``, for the svc-infra versions in
``_PROVED_VERSIONS``. Here the installed svc-infra is the judge: in a child with
a clean environment (svc-infra reads its settings at import) its real
``AuthSettings`` must have each field, fed by that variable, and load every
string below from the environment without an error. Then, in this process,
``check_auth_settings`` must give the same variables and problems with the fast
path as with svc-infra's model alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

import pytest

from svc_nb.env import _auth
from tests.fidelity._oracle import clean_env

pytestmark = pytest.mark.fidelity

# Strings nothing special about which should matter, and every kind that might.
VALUES = [
    "",
    " ",
    "\t \n",
    "é",
    "日本語",
    "\U0001f511",  # outside the BMP
    '{"a":1}',
    "[1]",
    '"quoted"',
    "true",
    "false",
    "null",
    "None",
    "0",
    "42",
    "-1.5",
    "1e3",
    "http://x",
    "https://app.example.com/after-login",
    "not a url",
    "a,b",
    "$HOME",
    "x" * 100_000,
    "\udcff",  # an undecodable byte of the environment, as os.environ gives it
]
# Not possible in a real environment, possible in a .env file or a mapping given to svc_nb.
IN_PROCESS_ONLY = ["nul\x00inside"]

_PROBE = r"""
import importlib.metadata, json, os, sys
from svc_infra.api.fastapi.auth.settings import AuthSettings, JWTSettings

names, values = json.load(sys.stdin)
base = dict(os.environ)

def read_back(settings, name):
    if name == "jwt__secret":
        return settings.jwt.secret.get_secret_value()
    value = getattr(settings, name)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value

errors, unread = [], []
for name in names:
    for value in values:
        os.environ.clear()
        os.environ.update(base)
        os.environ["AUTH_" + name.upper()] = value
        try:
            loaded = read_back(AuthSettings(), name)
        except Exception as exc:
            errors.append([name, value[:40], type(exc).__name__, str(exc)[:300]])
            continue
        if loaded != value:  # the variable feeds the field, and the field keeps the string
            unread.append([name, value[:40], type(loaded).__name__, str(loaded)[:80]])
print(json.dumps({
    "version": importlib.metadata.version("svc-infra"),
    "fields": sorted(AuthSettings.model_fields),
    "jwt_required": sorted(n for n, f in JWTSettings.model_fields.items() if f.is_required()),
    "annotations": {
        name: repr(JWTSettings.model_fields["secret"].annotation if name == "jwt__secret"
                   else AuthSettings.model_fields[name].annotation)
        for name in names if name == "jwt__secret" or name in AuthSettings.model_fields
    },
    "errors": errors,
    "unread": unread,
}))
"""


@pytest.fixture(scope="module")
def svc_infra_says() -> dict[str, Any]:
    pytest.importorskip("svc_infra")
    stdin = json.dumps([sorted(_auth._ANY_STRING_FIELDS), VALUES])
    with tempfile.TemporaryDirectory() as scratch:  # no .env file for AuthSettings to read
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            input=stdin,
            env=clean_env({}),
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_the_fields_are_proved_for_the_installed_svc_infra(svc_infra_says: dict[str, Any]) -> None:
    assert svc_infra_says["version"] in _auth._PROVED_VERSIONS, (
        "prove _ANY_STRING_FIELDS for this svc-infra (these tests) and add its version"
    )
    assert _auth._proved_version() == svc_infra_says["version"]


def test_each_field_is_in_svc_infras_model(svc_infra_says: dict[str, Any]) -> None:
    plain = {name for name in _auth._ANY_STRING_FIELDS if "__" not in name}
    assert plain <= set(svc_infra_says["fields"])
    assert _auth._ANY_STRING_FIELDS - plain == {"jwt__secret"}
    assert "jwt" in svc_infra_says["fields"]
    # AUTH_JWT__SECRET alone is a whole jwt block: nothing else is required in it.
    assert svc_infra_says["jwt_required"] == ["secret"]


def test_each_field_has_a_type_the_comment_names(svc_infra_says: dict[str, Any]) -> None:
    """_ANY_STRING_FIELDS' comment: str, str | None, SecretStr | None, AnyHttpUrl | str."""
    named = {
        "<class 'str'>",
        "str | None",
        "typing.Optional[str]",
        "pydantic.types.SecretStr | None",
        "typing.Optional[pydantic.types.SecretStr]",
        "pydantic.networks.AnyHttpUrl | str",
        "typing.Union[pydantic.networks.AnyHttpUrl, str]",
    }
    annotations = dict(svc_infra_says["annotations"])
    assert set(annotations) == set(_auth._ANY_STRING_FIELDS)
    # ...and jwt__secret, a SecretStr: the jwt block's one required key (below).
    assert annotations.pop("jwt__secret") == "<class 'pydantic.types.SecretStr'>"
    assert {n: a for n, a in annotations.items() if a not in named} == {}


def test_svc_infras_model_loads_any_string_into_each_field(svc_infra_says: dict[str, Any]) -> None:
    assert svc_infra_says["errors"] == []
    assert svc_infra_says["unread"] == []  # each variable really feeds its field


def _with_and_without(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[_auth.AuthCheck, _auth.AuthCheck]:
    fast = _auth.check_auth_settings(env)
    with monkeypatch.context() as patched:  # an unproved version: svc-infra's model judges
        patched.setattr(_auth, "_PROVED_VERSIONS", frozenset())
        model = _auth.check_auth_settings(env)
    assert model.rule.endswith("'s AuthSettings model"), model.rule
    return fast, model


def _environments() -> list[dict[str, str]]:
    names = sorted(_auth._ANY_STRING_FIELDS)
    one_each = [
        {f"AUTH_{name.upper()}": value} for name in names for value in VALUES + IN_PROCESS_ONLY
    ]
    spelled = [{f"auth_{name}": "Mixed"} for name in names] + [{"Auth_Smtp_Host": "h"}]
    every_field = [{f"AUTH_{name.upper()}": value for name in names} for value in VALUES[:12]]
    return one_each + spelled + every_field


def test_the_fast_path_judges_as_svc_infras_model(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("svc_infra")
    for env in _environments():
        fast, model = _with_and_without(env, monkeypatch)
        assert "any value loads (proved against its model)" in fast.rule, (env.keys(), fast.rule)
        assert (fast.variables, fast.problems) == (model.variables, model.problems), env.keys()
        assert fast.problems == ()


@pytest.mark.parametrize(
    "env",
    [
        {"AUTH_SMTP_HOST": "a", "auth_smtp_host": "b"},  # one field twice: one value wins
        {"AUTH_JWT__SECRET": "s", "AUTH_JWT": '{"secret": "t"}'},
        {"AUTH_JWT__SECRET": "s", "AUTH_JWT__LIFETIME_SECONDS": "60"},
        {"AUTH_SMTP_HOST": "h", "AUTH_SMTP_PORT": "587"},
        {"AUTH_SMTP_HOST": "h", "AUTH_UNKNOWN_THING": "x"},
        {"AUTH_SMTP_HOST__NESTED": "h"},
    ],
    ids=["case-twins", "jwt-json", "jwt-lifetime", "int-field", "unknown-name", "nested"],
)
def test_anything_else_goes_to_svc_infras_model(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("svc_infra")
    fast, model = _with_and_without(env, monkeypatch)
    assert fast == model
