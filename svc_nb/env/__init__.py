"""Quick diagnostics: which variables svc-infra will actually read, masked.

The resolvers here follow svc-infra's real precedence; every other section uses
them to find its default target (``resolve_database_url``, ``resolve_cache_url``,
``resolve_jwt_secret``, ``job_queue_redis_url``). ``check_env`` validates the
whole environment without network I/O; ``check_python`` and ``check_event_loop``
look at the interpreter and the running loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Report
    from svc_nb.env._causes import EnvCause
    from svc_nb.env._checks import check_env
    from svc_nb.env._compare import Comparison, compare
    from svc_nb.env._cors_rules import CORS_ENTRY_POINTS, cors_settings
    from svc_nb.env._dotenv import EnvFileError, merged_environ, read_env_file
    from svc_nb.env._effective import effective
    from svc_nb.env._known_bad import PROVED_SVC_INFRA_VERSION
    from svc_nb.env._python import (
        KEY_PACKAGES,
        check_event_loop,
        check_python,
        in_notebook_kernel,
        install_command,
        package_versions,
    )
    from svc_nb.env._read import (
        CACHE_URL_VARS,
        DATABASE_URL_VARS,
        DEFAULT_SECRETS_FILE,
        JOB_QUEUE_REDIS_VARS,
        JWT_SECRET_VARS,
        PROD_LIKE_ENVS,
        Resolved,
        app_environment,
        job_queue_redis_url,
        register_env_secrets,
        resolve_cache_url,
        resolve_database_url,
        resolve_job_queue,
        resolve_jwt_secret,
    )
    from svc_nb.env._rehearse import rehearse

__all__ = [
    "CACHE_URL_VARS",
    "CORS_ENTRY_POINTS",
    "DATABASE_URL_VARS",
    "DEFAULT_SECRETS_FILE",
    "JOB_QUEUE_REDIS_VARS",
    "JWT_SECRET_VARS",
    "KEY_PACKAGES",
    "PROD_LIKE_ENVS",
    "PROVED_SVC_INFRA_VERSION",
    "Comparison",
    "EnvCause",
    "EnvFileError",
    "Resolved",
    "app_environment",
    "check_env",
    "check_event_loop",
    "check_python",
    "compare",
    "cors_settings",
    "effective",
    "in_notebook_kernel",
    "install_command",
    "job_queue_redis_url",
    "merged_environ",
    "package_versions",
    "read_env_file",
    "register_env_secrets",
    "rehearse",
    "resolve_cache_url",
    "resolve_database_url",
    "resolve_job_queue",
    "resolve_jwt_secret",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


# diagnose() runs these with every other section's checks; each loads its module on first run.
_REHEARSE_MIN_TIMEOUT_S = 30.0
# The variable that names the app to rehearse (env._rehearse.APP_ENV_VAR).
_APP_VAR = "SVC_NB_APP"


def _env_check(environ: Mapping[str, str], timeout: float) -> Report:
    from svc_nb.env._checks import check_env

    return check_env(environ)


def _python_check(environ: Mapping[str, str], timeout: float) -> Any:
    from svc_nb.env._python import check_python

    # Reading package metadata is slow file I/O: keep it off the loop, beside the network probes.
    return asyncio.to_thread(check_python)


def _loop_check(environ: Mapping[str, str], timeout: float) -> Report:
    from svc_nb.env._python import check_event_loop

    return check_event_loop()


def _rehearse_check(environ: Mapping[str, str], timeout: float) -> Any:
    if not (environ.get(_APP_VAR) or "").strip():
        return []  # nothing to rehearse: the subprocess machinery stays unloaded
    from svc_nb.env._rehearse import rehearse_check

    return rehearse_check(environ, timeout)


register_check("env", _env_check, order=10)
register_check("python", _python_check, order=11, waits=True)
register_check("loop", _loop_check, order=12)
# Only when SVC_NB_APP names the app ("package.module:attr"): a real start-up in a subprocess.
# A real svc-infra start-up takes seconds: it gets _REHEARSE_MIN_TIMEOUT_S even in a quick diagnose.
register_check(
    "env.rehearse", _rehearse_check, order=13, waits=True, min_timeout=_REHEARSE_MIN_TIMEOUT_S
)
