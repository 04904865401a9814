"""svc_nb's copies of svc-infra's rules equal svc-infra's own (for when svc-infra is absent).

Where svc_nb judges a setting without svc-infra installed, it uses a table: the
AuthSettings fields and their kinds, the logging enums easy_service_app validates,
the keywords asyncpg.connect() takes, the development-default secrets. Each table is
compared here with what the installed svc-infra (and asyncpg) really define, read in
a child process with a clean environment (svc-infra loads its settings at import).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

import pytest

from tests.fidelity._oracle import clean_env

pytestmark = pytest.mark.fidelity

_PROBE = r"""
import inspect, json, typing
import asyncpg
from svc_infra.api.fastapi.auth.settings import AuthSettings
from svc_infra.app.logging.formats import LogFormatOptions, LogLevelOptions
from svc_infra.obs.settings import ObservabilitySettings
from svc_infra.jobs.redis_queue import RedisJobQueue
from svc_infra.security import add as security_add
from svc_infra.api.fastapi.auth import settings as auth_settings
from svc_infra.api.fastapi.auth.mfa import pre_auth
from svc_infra.api.fastapi.auth import add as auth_add

def kind(annotation):
    text = str(annotation)
    if annotation is int or text == "int":
        return "int"
    if annotation is bool or text == "bool":
        return "bool"
    if "list[" in text or "JWTSettings" in text:
        return "json"
    return "str"

print(json.dumps({
    "auth_fields": {n: kind(f.annotation) for n, f in AuthSettings.model_fields.items()},
    "auth_prefix": AuthSettings.model_config.get("env_prefix"),
    "auth_delimiter": AuthSettings.model_config.get("env_nested_delimiter"),
    "log_levels": [m.value for m in LogLevelOptions],
    "log_formats": [m.value for m in LogFormatOptions],
    "obs_fields": sorted(ObservabilitySettings.model_fields),
    "asyncpg_connect": sorted(inspect.signature(asyncpg.connect).parameters),
    "visibility_timeout": inspect.signature(RedisJobQueue.__init__).parameters["visibility_timeout"].default,
    "session_default": security_add.DEFAULT_SESSION_SECRET,
    "jwt_default": inspect.signature(auth_settings.resolve_jwt_secret).parameters["dev_default"].default,
    "mfa_source": inspect.getsource(pre_auth.get_mfa_pre_jwt_writer),
    "session_jwt_source": inspect.getsource(auth_add.add_auth_users),
}))
"""


@pytest.fixture(scope="module")
def svc_infra_rules() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            env=clean_env({}),
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_auth_settings_table_matches_the_model(svc_infra_rules: dict[str, object]) -> None:
    from svc_nb.env import _auth

    assert svc_infra_rules["auth_prefix"] == "AUTH_"
    assert svc_infra_rules["auth_delimiter"] == "__"
    assert svc_infra_rules["auth_fields"] == _auth._FIELDS


def test_logging_enums_match(svc_infra_rules: dict[str, object]) -> None:
    from svc_nb.env._app_settings import LOG_FORMATS, LOG_LEVELS

    assert list(LOG_LEVELS) == svc_infra_rules["log_levels"]
    assert list(LOG_FORMATS) == svc_infra_rules["log_formats"]


def test_observability_fields_match(svc_infra_rules: dict[str, object]) -> None:
    from svc_nb.env._app_settings import _OBS_FIELDS

    assert sorted(_OBS_FIELDS) == svc_infra_rules["obs_fields"]


def test_asyncpg_connect_keywords_match(svc_infra_rules: dict[str, object]) -> None:
    from svc_nb.env._db_settings import ASYNCPG_CONNECT_PARAMS

    # What asyncpg takes as keywords beyond the ones SQLAlchemy fills from the URL itself.
    from_url = {"dsn", "host", "port", "user", "password", "database", "loop"}
    sqlalchemy_own = {
        "async_fallback",
        "async_creator_fn",
        "prepared_statement_cache_size",
        "prepared_statement_name_func",
    }
    asyncpg_keywords = set(svc_infra_rules["asyncpg_connect"]) - from_url  # type: ignore[arg-type]
    assert set(ASYNCPG_CONNECT_PARAMS) == asyncpg_keywords | sqlalchemy_own


def test_fixed_values_match(svc_infra_rules: dict[str, object]) -> None:
    from svc_nb.env._dev_secrets import DEV_DEFAULTS
    from svc_nb.env._effective import (
        DEV_JWT_SECRET,
        DEV_SESSION_JWT_SECRET,
        DEV_SESSION_SECRET,
        JOB_VISIBILITY_TIMEOUT_S,
    )

    assert svc_infra_rules["visibility_timeout"] == JOB_VISIBILITY_TIMEOUT_S
    assert svc_infra_rules["session_default"] == DEV_SESSION_SECRET
    assert svc_infra_rules["jwt_default"] == DEV_JWT_SECRET
    assert DEV_SESSION_JWT_SECRET in str(svc_infra_rules["session_jwt_source"])
    mfa_default = DEV_DEFAULTS["MFA pre-tokens"][0]
    assert mfa_default in str(svc_infra_rules["mfa_source"])
