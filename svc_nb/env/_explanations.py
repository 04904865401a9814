"""What a user reads for each environment cause: the tables, and how findings are built.

Checks only *name* a cause and the observed values; the text lives here.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import MASK, mask_url
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause

__all__ = [
    "EXPLAIN",
    "NEW_FERNET_CMD",
    "NEW_SECRET_CMD",
    "clip",
    "combine",
    "finding",
    "new_value",
    "ok",
]

C = EnvCause
FAIL, WARN, SKIP = Status.FAIL, Status.WARN, Status.SKIP

NEW_SECRET_CMD = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
NEW_FERNET_CMD = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def new_value(name: str, kind: str = "secret") -> str:
    """How to set ``name`` to a fresh random value.

    Written without ``NAME=value``: every view masks whatever follows a secret's name.
    """
    command = NEW_FERNET_CMD if kind == "fernet" else NEW_SECRET_CMD
    what = "a new Fernet key" if kind == "fernet" else "a new random value"
    return f"Set {name} to {what}, generated with: {command}"


_FILE_FIX = (
    "Point the variable at the mounted secret file (check the volume/secret mount), "
    "or unset it: {names}"
)

EXPLAIN: dict[EnvCause, Explanation] = {
    # -- the values themselves ----------------------------------------------------------
    C.ENV_FILE_MISSING: Explanation(
        FAIL,
        "{message}",
        "",
        "Pass the path of your .env file (svc-infra reads .env from the project root, or the "
        "file named by APP_ENV_FILE).",
    ),
    C.ENV_FILE_UNREADABLE: Explanation(
        FAIL,
        "{message}",
        "",
        "Make the file readable by this user (chmod/chown), or pass another path.",
    ),
    C.ENV_FILE_NOT_UTF8: Explanation(
        FAIL,
        "{message}",
        "",
        "Re-save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 .env > .env.utf8",
    ),
    C.BARE_KEY: Explanation(
        WARN,
        "{names} has no value (a bare name, as in a .env line without '='): it stays unset",
        "python-dotenv's load_dotenv, and so svc-infra, skips such a line; dotenv_values() "
        "gives None for it. svc_nb treats it as unset.",
        "Write NAME=value, or delete the line.",
    ),
    C.NOT_TEXT: Explanation(
        WARN,
        "{names}: not text ({types})",
        "An environment holds only strings (os.environ refuses anything else). Numbers and "
        "bytes were read as their text; other values were left out{dropped}.",
        "Pass strings, e.g. {{'AUTH_JWT__LIFETIME_SECONDS': '3600'}}.",
    ),
    C.VALUE_TOO_LONG: Explanation(
        WARN,
        "{name} is {length} characters long: far longer than any {what}",
        "svc_nb did not check it further. A file's content, or several values, pasted into "
        "one variable?",
        "Set {name} to the {what} alone{example}.",
    ),
    C.CHECK_CRASHED: Explanation(
        FAIL,
        "svc_nb could not check {check_id}: {exception_type}",
        "The other environment checks still ran. This is a bug in svc_nb, not in your settings.",
        "Report it with svc_nb.support.bug_report().",
    ),
    # -- environment name ---------------------------------------------------------------
    C.UNKNOWN_APP_ENV: Explanation(
        WARN,
        "{source}={raw!r} is not an environment svc-infra knows; it runs as 'local'",
        "svc-infra accepts local, dev/development, test/uat/preview/staging, prod/production "
        "(case-insensitive) and treats anything else as local with a RuntimeWarning, so "
        "missing secrets are silently replaced by public development defaults.",
        "Set APP_ENV to one of: local, dev, staging, prod.",
    ),
    # -- database -----------------------------------------------------------------------
    C.NO_DATABASE_URL: Explanation(
        FAIL,
        "no database URL: add_sql_db(app) raises at start-up (Missing environment variable SQL_URL)",
        "Looked at SQL_URL, DB_URL, DATABASE_URL, DATABASE_URL_PRIVATE, PRIVATE_SQL_URL, "
        "their *_FILE variants and {secrets_file}. The running app reads SQL_URL alone; its "
        "lifespan raises RuntimeError before the first request.",
        "export SQL_URL='postgresql+asyncpg://USER@HOST:5432/DB'  # add :PASSWORD after USER, URL-encoded"
        "\n(or remove add_sql_db(app) if this service has no database)",
    ),
    C.SQL_URL_MISSING: Explanation(
        FAIL,
        "{source} is set but the running app reads only SQL_URL: start-up fails",
        "{source} = {url}\nsvc-infra's URL helper (CLI, migrations) finds {source}, but "
        "add_sql_db() at run time reads SQL_URL alone, so the app's lifespan raises "
        "RuntimeError: Missing environment variable SQL_URL for database URL. The guide's "
        "DATABASE_URL is this trap.",
        'export SQL_URL="${variable}"  # same value, the name the runtime reads',
    ),
    C.URL_INVALID: Explanation(WARN, "the URL has problems", "", ""),
    C.SECRET_FILE_MISSING: Explanation(
        FAIL, "{name} points to a file that does not exist{more}", "{lines}\n{after}", _FILE_FIX
    ),
    C.SECRET_FILE_EMPTY: Explanation(
        FAIL, "{name} points to a file that is empty{more}", "{lines}\n{after}", _FILE_FIX
    ),
    C.SECRET_FILE_UNREADABLE: Explanation(
        FAIL, "{name} points to a file that {problem}{more}", "{lines}\n{after}", _FILE_FIX
    ),
    # -- cache and job queue ------------------------------------------------------------
    C.CACHE_IN_MEMORY: Explanation(
        WARN,
        "no CACHE_URL or REDIS_URL: svc-infra's cache is in-process memory (mem://)",
        "Each worker then has its own cache; invalidation and rate limits are not shared. "
        "svc-infra never falls back from Redis to memory at run time: it fails fast.",
        "export CACHE_URL='redis://HOST:6379/0'",
    ),
    C.JOB_QUEUE_IN_MEMORY: Explanation(
        WARN,
        "svc-infra's job queue is in process memory: webhook deliveries die with the process",
        "easy_jobs() uses Redis only with JOBS_DRIVER=redis. In memory each worker has its own "
        "queue, a restart drops pending deliveries and their retries, and "
        "svc_nb.webhooks.queue_snapshot() has nothing to read.",
        "export JOBS_DRIVER=redis JOBS_REDIS_URL='redis://HOST:6379/0'",
    ),
    C.JOBS_DRIVER_UNKNOWN: Explanation(
        WARN,
        "JOBS_DRIVER={value!r} is not a driver svc-infra knows: it uses the in-memory queue",
        "easy_jobs() compares JOBS_DRIVER, lower-cased but not stripped, with 'redis'; "
        "anything else means memory.",
        "export JOBS_DRIVER=redis   # or memory",
    ),
    C.JOB_QUEUE_URL_DEFAULT: Explanation(
        WARN,
        "JOBS_DRIVER=redis but no Redis URL is set: svc-infra connects to {url}",
        "Looked at {names}.",
        "export JOBS_REDIS_URL='redis://HOST:6379/0'",
    ),
    C.JOB_QUEUE_URL_INVALID: Explanation(
        FAIL,
        "the job queue URL from {source} is not redis://, rediss:// or unix://: easy_jobs() raises ValueError",
        "{source} = {url}\nsvc-infra: 'Jobs Redis coordination requires a redis://, rediss://, "
        "or unix:// URL. REST-style Redis URLs are not supported by redis-py.'",
        "export JOBS_REDIS_URL='redis://HOST:6379/0'  # the Redis protocol URL, not a REST one",
    ),
    C.JOBS_SETTING_INVALID: Explanation(
        FAIL,
        "{name}={value!r}: easy_jobs() raises ValueError when the service wires its jobs",
        "{why}",
        "{fix}",
    ),
    # -- JWT and auth settings ----------------------------------------------------------
    C.JWT_SECRET_MISSING: Explanation(
        FAIL,
        "no JWT secret, so svc-infra raises MissingSecretError at start-up in this environment",
        "{hint}svc-infra reads AUTH_JWT__SECRET, then AUTH_JWT_SECRET, then JWT_SECRET.",
        "{fix}",
    ),
    C.JWT_SECRET_DEV_DEFAULT: Explanation(
        WARN,
        "no JWT secret, so svc-infra signs tokens with its public development default",
        "{hint}Outside production svc-infra falls back to 'dev-only-jwt-secret-not-for-production', "
        "which anyone can read in its source: tokens are forgeable, and tokens issued by "
        "another service (with a real secret) fail with 'Signature verification failed'.",
        "{fix}",
    ),
    C.JWT_SECRET_WHITESPACE: Explanation(
        WARN,
        "the value has leading/trailing whitespace",
        "Often a newline from a file or a copy-paste; svc-infra uses it verbatim, other "
        "services may strip it and then every token fails verification.",
        "Remove the surrounding whitespace from the value.",
    ),
    C.WEAK_SECRET: Explanation(
        WARN,
        "{what} {is_are} shorter than {minimum} bytes",
        "{why}",
        "{fix}",
    ),
    C.JWT_SECRET_SHADOWED: Explanation(
        WARN,
        "{names} also set with a different value and ignored ({source} wins)",
        "A service or tool that reads the other name signs or verifies with another key.",
        "Unset {names} or give them the same value.",
    ),
    C.GUIDE_NAME_IGNORED: Explanation(WARN, "{summary}", "{why}", "{fix}"),
    C.JWT_OLD_SECRETS_NOT_JSON: Explanation(
        FAIL,
        "AUTH_JWT__OLD_SECRETS is not a JSON list: svc-infra fails at import (SettingsError)",
        "pydantic-settings parses list fields from the environment as JSON; a comma-separated "
        "or bare value raises 'error parsing value for field \"jwt\"' while `import svc_infra` "
        "loads its settings.",
        'Write AUTH_JWT__OLD_SECRETS as a JSON list of strings, e.g. ["previous-secret"] (quoted for the shell).',
    ),
    C.JWT_OLD_SECRETS_NOT_STRINGS: Explanation(
        FAIL,
        "AUTH_JWT__OLD_SECRETS must be a JSON list of strings: svc-infra fails at import (ValidationError)",
        "{message} (field {field}).",
        'Write AUTH_JWT__OLD_SECRETS as a JSON list of strings, e.g. ["previous-secret"] (quoted for the shell).',
    ),
    C.JWT_BLOCK_WITHOUT_SECRET: Explanation(
        FAIL,
        "{name} is set without AUTH_JWT__SECRET: svc-infra fails at import (ValidationError: jwt.secret missing)",
        "AUTH_JWT__* variables build one settings block whose 'secret' is required; "
        "AUTH_JWT_SECRET/JWT_SECRET do not fill it.",
        "Set AUTH_JWT__SECRET (instead of AUTH_JWT_SECRET/JWT_SECRET) next to {name}.",
    ),
    C.JWT_OLD_SECRET_IS_CURRENT: Explanation(
        WARN,
        "the current secret is also listed as an old one",
        "It verifies either way; the list only needs secrets that are no longer current.",
        "Remove the current secret from AUTH_JWT__OLD_SECRETS.",
    ),
    C.JWT_LIFETIME_NOT_INT: Explanation(
        FAIL,
        "AUTH_JWT__LIFETIME_SECONDS={value!r} is not an integer: svc-infra fails at import (ValidationError)",
        "pydantic validates it as int: {message}.",
        "export AUTH_JWT__LIFETIME_SECONDS=604800  # 7 days, svc-infra's default",
    ),
    C.JWT_LIFETIME_IGNORED: Explanation(
        WARN,
        "AUTH_JWT__LIFETIME_SECONDS={lifetime} is ignored: svc-infra issues tokens for 604800 s (7 days)",
        "svc-infra's JWT strategy replaces a lifetime of 0 or less by its 7-day default, so "
        "tokens live far longer than this setting suggests.",
        "export AUTH_JWT__LIFETIME_SECONDS=3600  # a positive number of seconds",
    ),
    C.JSON_TOO_DEEP: Explanation(
        FAIL,
        "{name} nests JSON far too deeply: svc-infra cannot load its settings (import fails)",
        "No svc-infra setting is more than three levels deep; this one nests over {limit} "
        "levels. pydantic-settings rejects it (ValidationError) or, past about a thousand "
        "levels, its JSON parser raises RecursionError while `import svc_infra` runs.",
        "Set {name} to the JSON the setting expects{example}.",
    ),
    C.AUTH_SETTING_INVALID: Explanation(
        FAIL,
        "{name} is not valid for svc-infra's auth settings: `import svc_infra` fails{more}",
        "svc-infra loads AuthSettings (prefix AUTH_, nested '__', names case-insensitive) "
        "while it is imported, so one bad value stops the whole service.\n{lines}\n"
        "Judged by {rule}.",
        "{fixes}",
    ),
    C.SESSION_SECRET_MISSING: Explanation(
        WARN,
        "SESSION_SECRET not set: add_security(install_session_middleware=True) raises MissingSecretError here",
        "add_auth_users() signs the svc_session cookie (OAuth state, PKCE verifier) with the JWT "
        "secret; add_security(install_session_middleware=True) needs SESSION_SECRET.",
        new_value("SESSION_SECRET"),
    ),
    # -- webhooks -----------------------------------------------------------------------
    C.WEBHOOK_KEY_MISSING: Explanation(
        FAIL,
        "WEBHOOK_ENCRYPTION_KEY not set: every webhook publish raises MissingSecretError here",
        "In a production-like APP_ENV svc-infra requires it the first time it encrypts a "
        "subscription secret, which WebhookService.publish() does for every event: no webhook "
        "leaves the service. (A service that never publishes webhooks does not need it.)",
        new_value("WEBHOOK_ENCRYPTION_KEY", "fernet"),
    ),
    C.WEBHOOK_KEY_INVALID: Explanation(
        FAIL,
        "WEBHOOK_ENCRYPTION_KEY is not a usable Fernet key: encrypting a subscription secret raises {error_type}",
        "svc-infra base64-decodes a 44-character value ending in '=' and uses it as the Fernet "
        "key; this one fails with {error_type}: {error}. It happens the first time a "
        "subscription secret is encrypted or decrypted (creating a subscription, each delivery).",
        new_value("WEBHOOK_ENCRYPTION_KEY", "fernet"),
    ),
    C.WEBHOOK_TIMEOUT_UNUSABLE: Explanation(
        FAIL,
        "{source}={value!r}: every webhook delivery fails ({how})",
        "svc-infra's delivery job passes float({source}) to httpx as it is: 0 and negative "
        "values time out before the connection opens, NaN is refused. Every delivery is "
        "retried and ends in the dead-letter queue.",
        "export WEBHOOK_DELIVERY_TIMEOUT_SECONDS=10",
    ),
    C.WEBHOOK_TIMEOUT_UNBOUNDED: Explanation(
        WARN,
        "{source}={value!r}: deliveries never time out",
        "A receiver that accepts and never answers holds a worker forever.",
        "export WEBHOOK_DELIVERY_TIMEOUT_SECONDS=10",
    ),
    C.WEBHOOK_TIMEOUT_IGNORED: Explanation(
        WARN,
        "{name}={value!r} is not a number: svc-infra ignores it ({effective})",
        "svc-infra reads it with float() and falls back silently when that fails.",
        "export {name}=10",
    ),
    # -- CORS ---------------------------------------------------------------------------
    C.CORS_NOT_CONFIGURED: Explanation(
        SKIP,
        "CORS_ALLOW_ORIGINS not set: no CORS middleware unless the code passes cors_origins=",
        "Empty origins mean add_security installs no CORS middleware at all.",
        "",
    ),
    C.CORS_REGEX_IGNORED: Explanation(
        WARN,
        "CORS_ALLOW_ORIGIN_REGEX is set but unused: without CORS_ALLOW_ORIGINS add_security installs no CORS middleware",
        "svc-infra adds the CORS middleware (and with it the regex) only when it has at least one origin.",
        "export CORS_ALLOW_ORIGINS=https://app.example.com  # one real origin turns CORS on",
    ),
    C.CORS_ORIGIN_INVALID: Explanation(WARN, "{problem}", "", "{fix}"),
    C.CORS_WILDCARD_CREDENTIALS: Explanation(
        WARN,
        "'*' makes svc-infra reflect any origin (regex '.*') with cookies allowed",
        "easy_service_app always allows credentials; add_security does unless "
        "CORS_ALLOW_CREDENTIALS is false.",
        "List the exact origins, e.g. CORS_ALLOW_ORIGINS=https://app.example.com",
    ),
    C.CORS_CREDENTIALS_NOT_BOOL: Explanation(
        WARN,
        "CORS_ALLOW_CREDENTIALS={value!r} is not a boolean word; svc-infra ignores it (credentials stay on)",
        "",
        "export CORS_ALLOW_CREDENTIALS=true   # or false",
    ),
    C.CORS_WILDCARD_PATTERN: Explanation(
        WARN,
        "{origin}{more}: easy_service_app allows its subdomains, add_security allows none",
        "easy_service_app (setup_service_api) turns each '*' into one DNS label of a regex; "
        "add_security passes the text to Starlette as an exact origin, which no browser sends, "
        "so with add_security no origin of that domain gets CORS headers.",
        "With add_security, list the exact origins, or set CORS_ALLOW_ORIGIN_REGEX="
        "https://[a-z0-9-]+\\.example\\.com",
    ),
    C.CORS_REGEX_INVALID: Explanation(
        FAIL,
        "CORS_ALLOW_ORIGIN_REGEX does not compile ({error}); the CORS middleware fails when built",
        "",
        "Fix the regular expression, e.g. https://.*\\.example\\.com",
    ),
    # -- interpreter and event loop -----------------------------------------------------
    C.SVC_INFRA_MISSING: Explanation(
        WARN,
        "svc-infra is not installed in this interpreter ('No module named svc_infra')",
        "This kernel runs {executable}. A plain `pip install` in a terminal or `!pip` may "
        "install into another environment; install into this one. (svc_nb itself works "
        "without svc-infra: it reads the env, database and Redis the way svc-infra would.)",
        "{fix}",
    ),
    C.SVC_INFRA_BROKEN: Explanation(
        FAIL,
        "svc-infra {version} is installed but {missing} it needs {is_are} not: `import svc_infra` fails",
        "Missing: {missing}. A partial install or an uninstall removed them.",
        "{fix}",
    ),
    C.PIP_OTHER_INTERPRETER: Explanation(
        WARN,
        "the `pip` on PATH installs into another interpreter ({target})",
        "{pip} runs {target}, but this code runs {executable}: `pip install ...` there does "
        "not reach this kernel.",
        "{fix}",
    ),
    C.LOOP_UNPATCHABLE: Explanation(
        WARN,
        "running loop {loop} cannot be patched: asyncio.run() here raises 'event loop is already running'",
        "{loop_class} is not asyncio's own loop class (uvloop or similar); "
        "nest_asyncio.apply() raises ValueError on it, so the guide's fix does not apply.",
        "Use `await coro` in the cell, or svc_nb.run(coro) (it runs the coroutine on a worker thread's loop).",
    ),
    C.LOOP_NOT_PATCHED: Explanation(
        WARN,
        "the kernel's loop is running and not patched: asyncio.run() raises 'cannot be called from a running event loop'",
        "{loop_class} in a Jupyter kernel.",
        "Use `await coro` in the cell, call svc_nb.run(coro), or `import svc_nb` (it patches the loop once).",
    ),
}


def finding(
    check: str,
    cause: EnvCause,
    *,
    data: Mapping[str, Any] | None = None,
    status: Status | None = None,
    **fields: Any,
) -> Finding:
    """The Finding for ``cause`` from :data:`EXPLAIN`."""
    return explain(check, cause, EXPLAIN, data=data, status=status, **fields)


def ok(check: str, summary: str, detail: str = "", **data: Any) -> Finding:
    return Finding(check=check, status=Status.OK, summary=summary, detail=detail, data=data)


def combine(check: str, summary: str, problems: Iterable[Finding], **data: Any) -> Finding:
    """One finding from several problems of one check: the worst one's status and cause first."""
    found = sorted(problems, key=lambda f: -f.status.rank)
    if not found:
        return ok(check, summary, **data)
    worst = found[0]
    head = worst.summary if len(found) == 1 else f"{worst.summary} (+{len(found) - 1} more)"
    lines = [f"{f.summary}. {f.detail}".strip() if f.detail else f"{f.summary}." for f in found]
    return Finding(
        check=check,
        status=worst.status,
        summary=f"{summary}: {head}",
        detail="\n".join(lines),
        fix="\n".join(dict.fromkeys(f.fix for f in found if f.fix)),
        data=data,
        cause=worst.cause,
    )


def clip(text: str, limit: int = 80) -> str:
    """User text shortened for a summary line (callers mask secrets first)."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def shown_url(url: str, limit: int = 120) -> str:
    """A URL safe for a finding: password masked (before shortening, so none is cut in half)."""
    if len(url) <= limit:
        return mask_url(url)
    try:
        password = urllib.parse.urlsplit(url).password
    except ValueError:  # unparseable: the scheme is all that is safe to show
        return url.partition("://")[0][:20] + "://…"
    if password:
        url = url.replace(password, MASK)
    return mask_url(url[:limit]) + "…"
