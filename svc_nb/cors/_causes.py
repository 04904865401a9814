"""Why a CORS check did not pass: one stable code per cause, with its meaning."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["CorsCause"]


class CorsCause(CauseEnum):
    """Cause codes of the ``cors.*`` findings (network failures use the shared transport codes)."""

    # what was asked cannot be probed
    BAD_URL = (
        "bad_url",
        "the URL is not an http(s) URL a browser could call (control characters, too long, unparseable)",
    )
    BAD_ORIGIN = "bad_origin", "the origin is not what a browser sends in Origin"
    BAD_METHOD = "bad_method", "the method is not one a page can send"
    BAD_HEADER = "bad_header", "a header name or value a page cannot send"
    # the preflight's answer
    PREFLIGHT_REDIRECT = (
        "preflight_redirect",
        "the preflight was answered with a redirect, which browsers treat as a network error",
    )
    PREFLIGHT_REJECTED = (
        "preflight_rejected",
        "the CORS middleware refused the preflight (Starlette's 'Disallowed CORS ...')",
    )
    NO_CORS_MIDDLEWARE = (
        "no_cors_middleware",
        "no CORS middleware answered the OPTIONS request (svc-infra adds none without origins)",
    )
    PREFLIGHT_STATUS = (
        "preflight_status",
        "the preflight got a non-2xx answer (auth before CORS, a crash, a proxy)",
    )
    # Access-Control-Allow-* on either answer
    ORIGIN_NOT_ALLOWED = (
        "origin_not_allowed",
        "no Access-Control-Allow-Origin: the origin is not allowed, or no CORS middleware ran",
    )
    MULTIPLE_ORIGINS = (
        "multiple_origins",
        "Access-Control-Allow-Origin holds several origins; browsers need exactly one",
    )
    ORIGIN_MISMATCH = (
        "origin_mismatch",
        "Access-Control-Allow-Origin names another origin (scheme, host and port must match)",
    )
    NULL_ORIGIN_ALLOWED = (
        "null_origin_allowed",
        "Access-Control-Allow-Origin: null matches, but allows every sandboxed page",
    )
    WILDCARD_WITH_CREDENTIALS = (
        "wildcard_with_credentials",
        "* is used where credentials are sent, where browsers do not read it as a wildcard",
    )
    MISSING_VARY_ORIGIN = (
        "missing_vary_origin",
        "the origin is echoed without Vary: Origin, so caches can serve it to another origin",
    )
    CREDENTIALS_NOT_ALLOWED = (
        "credentials_not_allowed",
        "Access-Control-Allow-Credentials is not exactly 'true' for a request with credentials",
    )
    METHOD_NOT_ALLOWED = (
        "method_not_allowed",
        "the method is not in Access-Control-Allow-Methods (case-sensitive)",
    )
    HEADER_NOT_ALLOWED = (
        "header_not_allowed",
        "a request header is not in Access-Control-Allow-Headers",
    )
    AUTHORIZATION_NOT_COVERED = (
        "authorization_not_covered",
        "Authorization is never covered by * in Access-Control-Allow-Headers",
    )
    MAX_AGE_INVALID = (
        "max_age_invalid",
        "Access-Control-Max-Age is not a number of seconds, so browsers ignore it",
    )
    # the request itself
    MISSING_ON_ERROR = (
        "missing_on_error",
        "a 5xx answered without CORS headers: the browser reports a CORS error for a server error",
    )
    SERVER_ERROR = (
        "server_error",
        "the request was answered with a 5xx (the CORS headers are there)",
    )
    REQUEST_REDIRECT = (
        "request_redirect",
        "the request was redirected; every hop needs CORS headers",
    )
    REQUEST_NOT_SENT = (
        "request_not_sent",
        "the request itself was not sent, since it could change data",
    )
    # diagnose()
    NOT_CONFIGURED = "not_configured", "SVC_NB_SERVICE_URL is not set, so there is nothing to probe"
    NO_ORIGINS = "no_origins", "CORS_ALLOW_ORIGINS names no origin to probe with"
