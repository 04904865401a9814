"""Why a service check did not pass: one stable code per cause, with its meaning.

Where a service check reports what another section's rules found (a CORS
answer judged by ``svc_nb.cors``, a redirect URI compared by ``svc_nb.oauth``),
it keeps that section's code and meaning, so one cause reads the same
everywhere.
"""

from __future__ import annotations

from svc_nb._explain import CauseEnum
from svc_nb.cors._causes import CorsCause as _Cors
from svc_nb.oauth._causes import OAuthCause as _OAuth
from svc_nb.tokens._causes import TokensCause as _Tokens

__all__ = ["ServiceCause"]


class ServiceCause(CauseEnum):
    """Cause codes of the ``service.*`` findings (network failures use the shared transport codes)."""

    # -- the target ---------------------------------------------------------------------
    BAD_TARGET = "bad_target", "the target is not an app, a 'package.module:attr' string or a URL"
    IMPORT_FAILED = "import_failed", "importing the app's module raised"
    IMPORT_TIMEOUT = (
        "import_timeout",
        "importing the app's module did not finish within the timeout",
    )
    ATTRIBUTE_MISSING = "attribute_missing", "the module has no attribute of that name"
    NOT_ASGI = "not_asgi", "the attribute is not an ASGI application"
    # -- start-up (service.startup), classified like the start-up rehearsal -------------------
    STARTUP_TIMEOUT = "startup_timeout", "the lifespan start-up did not finish within the timeout"
    STARTUP_FAILED = "startup_failed", "the lifespan start-up raised"
    MISSING_ENV_VAR = "missing_env_var", "start-up needs an environment variable that is not set"
    SECRET_REQUIRED = (
        "secret_required",
        "a secret svc-infra requires in a production-like APP_ENV is not set",
    )
    SETTINGS_REJECTED = "settings_rejected", "svc-infra's settings reject a variable's value"
    MODULE_MISSING = "module_missing", "a package the app imports is not installed"
    DB_UNREACHABLE = "db_unreachable", "start-up could not connect to the database"
    DB_AUTH_FAILED = "db_auth_failed", "the database refused the user name or password"
    DB_MISSING = "db_missing", "the database named in the URL does not exist"
    CACHE_UNREACHABLE = "cache_unreachable", "start-up could not reach Redis (the cache or queue)"
    NOT_CONFIGURED = "not_configured", "neither SVC_NB_APP nor SVC_NB_SERVICE_URL names a service"
    NOT_STARTED = "not_started", "not checked: the app did not start"
    NOT_IN_PROCESS = "not_in_process", "only observable with the app in process, not over HTTP"
    UNREACHABLE = "unreachable", "not checked: the service did not answer over HTTP"
    # -- wiring (inspect) ------------------------------------------------------------------
    DUPLICATE_CORS = "duplicate_cors", "two CORS middlewares: the outer one answers every preflight"
    SESSION_MIDDLEWARE_MISSING = (
        "session_middleware_missing",
        "OAuth login needs Starlette's SessionMiddleware, and none wraps its routes",
    )
    DOCS_IN_PRODUCTION = (
        "docs_in_production",
        "API docs are served in a production-like environment",
    )
    # -- health ------------------------------------------------------------------------
    NO_HEALTH_ROUTE = "no_health_route", "no health or ops endpoint of svc-infra answers"
    UNHEALTHY = "unhealthy", "a health endpoint answered with an error: a dependency is down"
    # -- CORS on real routes (codes and meanings of svc_nb.cors) ------------------------------
    NO_ORIGIN = "no_origin", "no origin configured or given to probe CORS with"
    BAD_ORIGIN = "bad_origin", _Cors.BAD_ORIGIN.description
    ORIGIN_NOT_ALLOWED = "origin_not_allowed", _Cors.ORIGIN_NOT_ALLOWED.description
    MULTIPLE_ORIGINS = "multiple_origins", _Cors.MULTIPLE_ORIGINS.description
    ORIGIN_MISMATCH = "origin_mismatch", _Cors.ORIGIN_MISMATCH.description
    NULL_ORIGIN_ALLOWED = "null_origin_allowed", _Cors.NULL_ORIGIN_ALLOWED.description
    WILDCARD_WITH_CREDENTIALS = (
        "wildcard_with_credentials",
        "any origin is allowed together with credentials (* or an echo of every origin)",
    )
    MISSING_VARY_ORIGIN = "missing_vary_origin", _Cors.MISSING_VARY_ORIGIN.description
    CREDENTIALS_NOT_ALLOWED = "credentials_not_allowed", _Cors.CREDENTIALS_NOT_ALLOWED.description
    METHOD_NOT_ALLOWED = "method_not_allowed", _Cors.METHOD_NOT_ALLOWED.description
    HEADER_NOT_ALLOWED = "header_not_allowed", _Cors.HEADER_NOT_ALLOWED.description
    AUTHORIZATION_NOT_COVERED = (
        "authorization_not_covered",
        _Cors.AUTHORIZATION_NOT_COVERED.description,
    )
    MAX_AGE_INVALID = "max_age_invalid", _Cors.MAX_AGE_INVALID.description
    PREFLIGHT_REDIRECT = "preflight_redirect", _Cors.PREFLIGHT_REDIRECT.description
    PREFLIGHT_REJECTED = "preflight_rejected", _Cors.PREFLIGHT_REJECTED.description
    NO_CORS_MIDDLEWARE = "no_cors_middleware", _Cors.NO_CORS_MIDDLEWARE.description
    PREFLIGHT_STATUS = "preflight_status", _Cors.PREFLIGHT_STATUS.description
    MISSING_ON_ERROR = (
        "missing_on_error",
        "an error answer (a 5xx, a 404) leaves without CORS headers: the browser shows a CORS "
        "error instead of the real one",
    )
    SERVER_ERROR = "server_error", _Cors.SERVER_ERROR.description
    REQUEST_REDIRECT = "request_redirect", _Cors.REQUEST_REDIRECT.description
    # -- OAuth login (redirect URI differences: codes and meanings of svc_nb.oauth) -----------
    NO_PROVIDER = "no_provider", "no OAuth provider is configured, so no login route to call"
    LOGIN_NOT_REDIRECTING = (
        "login_not_redirecting",
        "the login route did not answer with a redirect to the provider carrying a redirect_uri",
    )
    REDIRECT_URI_MISMATCH = "redirect_uri_mismatch", _OAuth.REDIRECT_URI_MISMATCH.description
    SCHEME_DOWNGRADED = "scheme_downgraded", _OAuth.SCHEME_DOWNGRADED.description
    SCHEME_CASE = "scheme_case", _OAuth.SCHEME_CASE.description
    SCHEME_DIFFERS = "scheme_differs", _OAuth.SCHEME_DIFFERS.description
    USERINFO_DIFFERS = "userinfo_differs", _OAuth.USERINFO_DIFFERS.description
    HOST_CASE = "host_case", _OAuth.HOST_CASE.description
    WWW_DIFFERS = "www_differs", _OAuth.WWW_DIFFERS.description
    LOOPBACK_HOST_DIFFERS = "loopback_host_differs", _OAuth.LOOPBACK_HOST_DIFFERS.description
    HOST_DIFFERS = "host_differs", _OAuth.HOST_DIFFERS.description
    DEFAULT_PORT = "default_port", _OAuth.DEFAULT_PORT.description
    PORT_DIFFERS = "port_differs", _OAuth.PORT_DIFFERS.description
    TRAILING_SLASH = "trailing_slash", _OAuth.TRAILING_SLASH.description
    PERCENT_ENCODING = "percent_encoding", _OAuth.PERCENT_ENCODING.description
    QUERY_PERCENT_ENCODING = "query_percent_encoding", _OAuth.QUERY_PERCENT_ENCODING.description
    PATH_CASE = "path_case", _OAuth.PATH_CASE.description
    PATH_DIFFERS = "path_differs", _OAuth.PATH_DIFFERS.description
    QUERY_DIFFERS = "query_differs", _OAuth.QUERY_DIFFERS.description
    FRAGMENT_IN_URI = "fragment_in_uri", _OAuth.FRAGMENT_IN_URI.description
    REDIRECT_URI_INVALID = "redirect_uri_invalid", _OAuth.REDIRECT_URI_INVALID.description
    PLAIN_HTTP = "plain_http", _OAuth.PLAIN_HTTP.description
    # -- the session cookie -------------------------------------------------------------
    SESSION_COOKIE_MISSING = (
        "session_cookie_missing",
        "the login route set no session cookie, so the callback finds no saved state",
    )
    SECURE_COOKIE_OVER_HTTP = (
        "secure_cookie_over_http",
        "the session cookie is Secure but the login runs over http: browsers never send it back",
    )
    COOKIE_NOT_SECURE = "cookie_not_secure", "the session cookie lacks Secure on an https service"
    SAMESITE_STRICT = "samesite_strict", _OAuth.SAMESITE_STRICT.description
    SAMESITE_NONE_INSECURE = "samesite_none_insecure", _OAuth.SAMESITE_NONE_INSECURE.description
    COOKIE_TOO_LARGE = "cookie_too_large", _OAuth.COOKIE_TOO_LARGE.description
    COOKIE_NEAR_LIMIT = "cookie_near_limit", _OAuth.COOKIE_NEAR_LIMIT.description
    COOKIE_HOST_MISMATCH = (
        "cookie_host_mismatch",
        "login and callback run on different hosts (localhost vs 127.0.0.1): the cookie stays behind",
    )
    # -- the JWT the app issues ----------------------------------------------------------
    AUTH_NOT_MOUNTED = "auth_not_mounted", "the app mounts no svc-infra auth (add_auth_users)"
    DEV_SECRET = "dev_secret", "the app signs its JWTs with svc-infra's public development secret"
    UNKNOWN_SIGNER = "unknown_signer", _Tokens.UNKNOWN_SIGNER.description
    LOGIN_REJECTED = "login_rejected", "registering or logging in a scratch user failed"
    TOKEN_INVALID = "token_invalid", "the token the app issued does not pass its own checks"
    # -- webhook replay -------------------------------------------------------------------
    NO_DELIVERIES = "no_deliveries", "there are no deliveries to replay"
    NO_BODY = "no_body", "the deliveries carry no request bodies, so they cannot be replayed"
    ROUTE_NOT_FOUND = "route_not_found", "the app has no POST route at the replay path"
    RAW_BODY_VERIFICATION = (
        "raw_body_verification",
        "the handler HMACs the raw body, so it rejects svc-infra's signature over canonical JSON",
    )
    SIGNATURE_INVALID = "signature_invalid", "the app rejected a delivery whose signature is wrong"
    VALID_SIGNATURE_REJECTED = (
        "valid_signature_rejected",
        "the app rejected a delivery whose signature verifies over the bytes sent",
    )
    DELIVERY_REJECTED = "delivery_rejected", "the app answered 4xx (pass secret= to explain why)"
    HANDLER_ERROR = "handler_error", "the app's webhook handler answered 5xx"
