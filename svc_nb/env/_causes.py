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
    CORS_WILDCARD_PATTERN = (
        "cors_wildcard_pattern",
        "a https://*.example.com origin: easy_service_app matches subdomains, add_security nothing",
    )
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
    KNOWN_BAD_COMBINATION = (
        "known_bad_combination",
        "installed versions known to break svc-infra (e.g. typer >= 0.29)",
    )
    SVC_INFRA_NEWER = (
        "svc_infra_newer",
        "svc-infra is newer than the version svc_nb's claims were proved against",
    )
    # -- settings svc-infra reads outside AuthSettings ----------------------------------
    SQL_URL_PARAM_REJECTED = (
        "sql_url_param_rejected",
        "a SQL_URL query parameter asyncpg's connect() rejects (sslmode=...): every request fails",
    )
    STATEMENT_TIMEOUT_BREAKS_REQUESTS = (
        "statement_timeout_breaks_requests",
        "DB_STATEMENT_TIMEOUT_MS > 0 aborts every request's transaction (svc-infra <= 1.22.2)",
    )
    DB_SETTING_IGNORED = (
        "db_setting_ignored",
        "a DB_* / PGSSLMODE value svc-infra ignores or reads only in its CLI",
    )
    DB_SETTING_INVALID = (
        "db_setting_invalid",
        "a DB_* value svc-infra's CLI and migrations reject with int()",
    )
    STORE_BACKEND_UNKNOWN = (
        "store_backend_unknown",
        "WEBHOOKS_OUTBOX/WEBHOOKS_INBOX is not memory or redis: memory is used",
    )
    STORE_IN_MEMORY = (
        "store_in_memory",
        "the webhook outbox/inbox is in process memory: lost on restart",
    )
    JOB_TIMEOUT_INVALID = (
        "job_timeout_invalid",
        "JOB_DEFAULT_TIMEOUT_SECONDS is not a number: jobs run without a timeout",
    )
    DUPLICATE_DELIVERIES = (
        "duplicate_deliveries",
        "a delivery may outlast the queue's fixed 60 s visibility timeout: it is delivered twice",
    )
    REDIRECT_NOT_ALLOWED = (
        "redirect_not_allowed",
        "AUTH_POST_LOGIN_REDIRECT's host is not allowed: every OAuth callback answers 400",
    )
    REDIRECT_HTTPS_REQUIRED = (
        "redirect_https_required",
        "an http:// post-login redirect in production: every OAuth callback answers 400",
    )
    COOKIE_NOT_SECURE = (
        "cookie_not_secure",
        "the session cookie lacks Secure in production (AUTH_SESSION_COOKIE_SECURE)",
    )
    PROVIDER_CREDENTIALS_INCOMPLETE = (
        "provider_credentials_incomplete",
        "an OAuth provider has a client id without a secret, or the reverse",
    )
    PROVIDER_NAME_IGNORED = (
        "provider_name_ignored",
        "a provider credential name svc-infra never reads (e.g. LINKEDIN_CLIENT_ID)",
    )
    DEV_DEFAULT_SECRET = (
        "dev_default_secret",
        "svc-infra signs with a public development default (MFA, session) or a literal 'unused'",
    )
    APP_SETTING_INVALID = (
        "app_setting_invalid",
        "a LOG_* or METRICS_* value easy_service_app validates while it builds the app",
    )
    # -- start-up rehearsal (env.rehearse) ----------------------------------------------
    APP_SPEC_INVALID = "app_spec_invalid", "SVC_NB_APP / app= is not 'package.module:attribute'"
    APP_MODULE_MISSING = "app_module_missing", "the app's module cannot be found"
    APP_ATTRIBUTE_MISSING = "app_attribute_missing", "the module has no such attribute"
    APP_IMPORT_FAILED = "app_import_failed", "importing the app's module raised an exception"
    NOT_ASGI_APP = "not_asgi_app", "the attribute is not an ASGI application"
    LIFESPAN_UNSUPPORTED = (
        "lifespan_unsupported",
        "the app does not speak the ASGI lifespan protocol: nothing runs at start-up",
    )
    SETTINGS_REJECTED = (
        "settings_rejected",
        "svc-infra's settings model rejected a variable while svc-infra was imported",
    )
    SECRET_REQUIRED = (
        "secret_required",
        "svc-infra raised MissingSecretError: a production-like APP_ENV needs a secret",
    )
    CACHE_UNREACHABLE = (
        "cache_unreachable",
        "add_cache's readiness probe failed at start-up: Redis is down or unreachable",
    )
    CACHE_URL_INVALID = "cache_url_invalid", "the cache URL names a backend cashews does not know"
    STARTUP_FAILED = "startup_failed", "the lifespan start-up raised an exception"
    STARTUP_TIMEOUT = "startup_timeout", "start-up did not finish within the timeout: killed"
    REHEARSAL_CRASHED = "rehearsal_crashed", "the rehearsal process died without a result"
    # -- across services (env.compare) --------------------------------------------------
    COMPARE_INPUT_INVALID = (
        "compare_input_invalid",
        "an input is neither a .env file nor a svc-nb doctor --json report",
    )
    COMPARE_ENV_EMPTY = (
        "compare_env_empty",
        "a service's environment sets nothing: every value is svc-infra's default",
    )
    COMPARE_TOO_FEW_SERVICES = (
        "compare_too_few_services",
        "fewer than two usable services: there is nothing to compare",
    )
    COMPARE_DATA_MISSING = (
        "compare_data_missing",
        "an input (a doctor report) does not carry this setting for enough services",
    )
    JWT_SECRET_MISMATCH = (
        "jwt_secret_mismatch",
        "a service rejects the tokens another one issues: their JWT secrets differ",
    )
    JWT_ROTATION_INCOMPLETE = (
        "jwt_rotation_incomplete",
        "a JWT secret rotation is half done: a service lacks the new secret",
    )
    JWT_ROTATION_IN_PROGRESS = (
        "jwt_rotation_in_progress",
        "tokens verify everywhere, some only through AUTH_JWT__OLD_SECRETS",
    )
    WEBHOOK_KEY_MISMATCH = (
        "webhook_key_mismatch",
        "the worker cannot decrypt subscription secrets: WEBHOOK_ENCRYPTION_KEY differs",
    )
    JOB_QUEUE_MISMATCH = (
        "job_queue_mismatch",
        "the enqueuing and working services use different job queues",
    )
    JOB_QUEUE_NOT_SHARED = (
        "job_queue_not_shared",
        "the job queue is in process memory: no other service sees its jobs",
    )
    DATABASE_DIFFERS = "database_differs", "services of one group use different databases"
    APP_ENV_MIXED = (
        "app_env_mixed",
        "production-like and development environments in one group",
    )
    CACHE_URL_DIFFERS = "cache_url_differs", "services use different cache backends"
    CACHE_NAMESPACE_DIFFERS = (
        "cache_namespace_differs",
        "one cache, different CACHE_PREFIX or CACHE_VERSION: entries are not shared",
    )
