"""Why an environment, interpreter or event-loop check does not pass: one code per cause."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["EnvCause"]


class EnvCause(CauseEnum):
    """Cause codes of the ``env.*``, ``python.*`` and ``loop.*`` findings (``Finding.cause``)."""

    # -- the values themselves ----------------------------------------------------------
    ENV_FILE_MISSING = "env_file_missing", "the .env file does not exist or is not a file"
    ENV_FILE_UNREADABLE = "env_file_unreadable", "the .env file cannot be read by this process"
    ENV_FILE_NOT_UTF8 = "env_file_not_utf8", "the .env file is not UTF-8"
    BARE_KEY = (
        "bare_key",
        "a variable has no value (a bare NAME line in a .env file): it stays unset",
    )
    NOT_TEXT = "not_text", "a value or name is not text; a real environment holds only strings"
    VALUE_TOO_LONG = "value_too_long", "a value far longer than any real one (a file pasted in?)"
    CHECK_CRASHED = "check_crashed", "svc_nb's own check failed on this value (a bug in svc_nb)"
    # -- environment name ---------------------------------------------------------------
    UNKNOWN_APP_ENV = "unknown_app_env", "APP_ENV is not a name svc-infra knows: it runs as local"
    # -- database -----------------------------------------------------------------------
    NO_DATABASE_URL = "no_database_url", "no database URL under any name svc-infra reads"
    SQL_URL_MISSING = (
        "sql_url_missing",
        "the URL is under a name only svc-infra's CLI reads, not SQL_URL",
    )
    URL_INVALID = "url_invalid", "the URL does not parse"
    SECRET_FILE_MISSING = (
        "secret_file_missing",
        "a *_FILE variable points to a file that does not exist",
    )
    SECRET_FILE_EMPTY = "secret_file_empty", "a *_FILE variable points to an empty file"
    SECRET_FILE_UNREADABLE = (
        "secret_file_unreadable",
        "a *_FILE variable points to something unreadable",
    )
    # -- cache and job queue ------------------------------------------------------------
    CACHE_IN_MEMORY = "cache_in_memory", "no CACHE_URL or REDIS_URL: each process caches on its own"
    JOB_QUEUE_IN_MEMORY = "job_queue_in_memory", "jobs (webhook deliveries) queue in process memory"
    JOBS_DRIVER_UNKNOWN = (
        "jobs_driver_unknown",
        "JOBS_DRIVER is neither memory nor redis: memory is used",
    )
    JOB_QUEUE_URL_DEFAULT = (
        "job_queue_url_default",
        "JOBS_DRIVER=redis without a URL: localhost is used",
    )
    JOB_QUEUE_URL_INVALID = (
        "job_queue_url_invalid",
        "the job queue URL is not redis://, rediss:// or unix://",
    )
    JOBS_SETTING_INVALID = (
        "jobs_setting_invalid",
        "a JOBS_SCHEDULER_* value svc-infra's easy_jobs() rejects",
    )
    # -- JWT and auth settings ----------------------------------------------------------
    JWT_SECRET_MISSING = "jwt_secret_missing", "no JWT secret where svc-infra requires one"
    JWT_SECRET_DEV_DEFAULT = (
        "jwt_secret_dev_default",
        "tokens are signed with svc-infra's public dev secret",
    )
    JWT_SECRET_WHITESPACE = "jwt_secret_whitespace", "the secret has leading or trailing whitespace"
    JWT_SECRET_SHADOWED = (
        "jwt_secret_shadowed",
        "another JWT secret variable holds a different, ignored value",
    )
    WEAK_SECRET = "weak_secret", "a secret shorter than HS256's 32 bytes"
    GUIDE_NAME_IGNORED = (
        "guide_name_ignored",
        "a variable name from the guide that svc-infra never reads",
    )
    JWT_OLD_SECRETS_NOT_JSON = "jwt_old_secrets_not_json", "AUTH_JWT__OLD_SECRETS is not JSON"
    JWT_OLD_SECRETS_NOT_STRINGS = (
        "jwt_old_secrets_not_strings",
        "AUTH_JWT__OLD_SECRETS is not a list of strings",
    )
    JWT_OLD_SECRET_IS_CURRENT = (
        "jwt_old_secret_is_current",
        "the current secret is also listed as an old one",
    )
    JWT_BLOCK_WITHOUT_SECRET = (
        "jwt_block_without_secret",
        "AUTH_JWT__* is set but AUTH_JWT__SECRET is not",
    )
    JWT_LIFETIME_NOT_INT = "jwt_lifetime_not_int", "AUTH_JWT__LIFETIME_SECONDS is not an integer"
    JWT_LIFETIME_IGNORED = (
        "jwt_lifetime_ignored",
        "a lifetime of 0 or less: svc-infra uses 7 days instead",
    )
    JSON_TOO_DEEP = (
        "json_too_deep",
        "JSON nested far deeper than any setting: svc-infra cannot load it",
    )
    AUTH_SETTING_INVALID = (
        "auth_setting_invalid",
        "an AUTH_* value svc-infra's AuthSettings rejects: import fails",
    )
    SESSION_SECRET_MISSING = (
        "session_secret_missing",
        "SESSION_SECRET is not set where it is required",
    )
    # -- webhooks -----------------------------------------------------------------------
    WEBHOOK_KEY_MISSING = "webhook_key_missing", "WEBHOOK_ENCRYPTION_KEY is not set"
    WEBHOOK_KEY_INVALID = "webhook_key_invalid", "WEBHOOK_ENCRYPTION_KEY is not a usable Fernet key"
    WEBHOOK_TIMEOUT_UNUSABLE = (
        "webhook_timeout_unusable",
        "a delivery timeout with which every delivery fails",
    )
    WEBHOOK_TIMEOUT_UNBOUNDED = (
        "webhook_timeout_unbounded",
        "an infinite delivery timeout: a silent receiver blocks",
    )
    WEBHOOK_TIMEOUT_IGNORED = (
        "webhook_timeout_ignored",
        "a timeout that is not a number: the default is used",
    )
    # -- CORS ---------------------------------------------------------------------------
    CORS_NOT_CONFIGURED = (
        "cors_not_configured",
        "no CORS_ALLOW_ORIGINS: no CORS middleware from the env",
    )
    CORS_ORIGIN_INVALID = (
        "cors_origin_invalid",
        "an origin a browser never sends (path, slash, no scheme)",
    )
    CORS_WILDCARD_CREDENTIALS = (
        "cors_wildcard_credentials",
        "'*' with credentials: every origin gets cookies",
    )
    CORS_CREDENTIALS_NOT_BOOL = (
        "cors_credentials_not_bool",
        "CORS_ALLOW_CREDENTIALS is not a boolean word",
    )
    CORS_REGEX_INVALID = "cors_regex_invalid", "CORS_ALLOW_ORIGIN_REGEX does not compile"
    CORS_REGEX_IGNORED = (
        "cors_regex_ignored",
        "CORS_ALLOW_ORIGIN_REGEX without CORS_ALLOW_ORIGINS is unused",
    )
    # -- interpreter and event loop -----------------------------------------------------
    SVC_INFRA_MISSING = "svc_infra_missing", "svc-infra is not installed in this interpreter"
    SVC_INFRA_BROKEN = (
        "svc_infra_broken",
        "svc-infra is installed but a package it needs is missing",
    )
    PIP_OTHER_INTERPRETER = (
        "pip_other_interpreter",
        "the pip on PATH installs into another interpreter",
    )
    LOOP_UNPATCHABLE = (
        "loop_unpatchable",
        "the running loop cannot be patched for nested runs (uvloop)",
    )
    LOOP_NOT_PATCHED = (
        "loop_not_patched",
        "the kernel's loop is running and not patched: asyncio.run fails",
    )
