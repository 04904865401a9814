"""Why an OAuth check did not pass: one stable code per cause, with its meaning."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["OAuthCause"]


class OAuthCause(CauseEnum):
    """Cause codes of the ``oauth.*`` findings (network failures use the shared transport codes)."""

    # redirect URIs
    REDIRECT_URI_INVALID = (
        "redirect_uri_invalid",
        "the received redirect URI is not an absolute URL",
    )
    REDIRECT_URI_MISMATCH = (
        "redirect_uri_mismatch",
        "the redirect URI differs from every registered one (or from the one in the authorization request)",
    )
    SCHEME_DOWNGRADED = (
        "scheme_downgraded",
        "the app sent http:// where https:// is registered: a TLS-terminating proxy whose scheme is not forwarded",
    )
    SCHEME_CASE = "scheme_case", "the scheme is spelled in another case"
    SCHEME_DIFFERS = "scheme_differs", "the scheme differs"
    USERINFO_DIFFERS = "userinfo_differs", "the user info before '@' differs"
    HOST_CASE = "host_case", "the host is spelled in another case"
    WWW_DIFFERS = "www_differs", "one host has 'www.' and the other not"
    LOOPBACK_HOST_DIFFERS = "loopback_host_differs", "localhost, 127.0.0.1 and [::1] are mixed"
    HOST_DIFFERS = "host_differs", "the host differs"
    DEFAULT_PORT = "default_port", "an explicit default port (:443, :80) on one side only"
    PORT_DIFFERS = "port_differs", "the port differs"
    TRAILING_SLASH = "trailing_slash", "the path differs by a trailing slash"
    PERCENT_ENCODING = "percent_encoding", "the path differs only in percent-encoding"
    QUERY_PERCENT_ENCODING = "query_percent_encoding", "the query differs only in percent-encoding"
    PATH_CASE = "path_case", "the path differs only in case"
    PATH_DIFFERS = "path_differs", "the path differs"
    QUERY_DIFFERS = "query_differs", "the query differs"
    FRAGMENT_IN_URI = (
        "fragment_in_uri",
        "a redirect URI carries a fragment (#...), which is never allowed",
    )
    PLAIN_HTTP = "plain_http", "the redirect URI uses plain http on a host that is not loopback"
    # session cookie and state
    SESSION_COOKIE_MISSING = (
        "session_cookie_missing",
        "the session cookie was not sent back to the callback",
    )
    SAMESITE_STRICT = (
        "samesite_strict",
        "SameSite=Strict keeps the cookie off the provider's redirect back",
    )
    SAMESITE_NONE_INSECURE = (
        "samesite_none_insecure",
        "SameSite=None without Secure: browsers reject the cookie",
    )
    COOKIE_TOO_LARGE = "cookie_too_large", "the cookie is over the 4096-byte limit browsers keep"
    COOKIE_NEAR_LIMIT = "cookie_near_limit", "the cookie is within 10 % of the 4096-byte limit"
    DEPENDENCY_MISSING = "dependency_missing", "a package the check needs is not installed"
    SESSION_SIGNATURE_INVALID = (
        "session_signature_invalid",
        "the session cookie was signed with another secret, or altered",
    )
    SESSION_EXPIRED = (
        "session_expired",
        "the session is older than its max_age, so its saved state is ignored",
    )
    SESSION_PAYLOAD_INVALID = (
        "session_payload_invalid",
        "the signed cookie does not hold a Starlette session",
    )
    NO_PENDING_LOGIN = "no_pending_login", "the session holds no oauth:<provider>:state"
    AUTHLIB_STATE_MISSING = (
        "authlib_state_missing",
        "svc-infra's state matches, but Authlib's _state_<provider>_<state> key is gone",
    )
    STATE_MISMATCH = (
        "state_mismatch",
        "the callback's state differs from the one saved in the session",
    )
    # provider metadata
    METADATA_NOT_FOUND = "metadata_not_found", "no OIDC/OAuth discovery document at the issuer"
    ISSUER_MISMATCH = "issuer_mismatch", "the metadata's issuer differs from the URL used"
    ISSUER_MISSING = "issuer_missing", "the metadata has no issuer"
    ENDPOINTS_MISSING = "endpoints_missing", "the metadata lacks an endpoint a code flow needs"
    GRANT_NOT_SUPPORTED = "grant_not_supported", "the authorization_code grant is not advertised"
    PKCE_NOT_ADVERTISED = (
        "pkce_not_advertised",
        "the metadata does not say whether PKCE is supported",
    )
    PKCE_S256_UNSUPPORTED = (
        "pkce_s256_unsupported",
        "the provider does not support PKCE S256, which svc-infra sends",
    )
    NO_DATE_HEADER = (
        "no_date_header",
        "the provider sent no usable Date header to measure clock skew",
    )
    CLOCK_SKEW = "clock_skew", "this machine's clock and the provider's differ"
    # code exchange (RFC 6749 §5.2 answers, classified)
    NON_JSON_ANSWER = "non_json_answer", "the token endpoint answered something other than JSON"
    UNEXPECTED_ANSWER = (
        "unexpected_answer",
        "the token endpoint answered neither tokens nor an RFC 6749 error",
    )
    CODE_REUSED = "code_reused", "the code was already exchanged (a refreshed or doubled callback)"
    CODE_EXPIRED = "code_expired", "the code expired before the exchange"
    CODE_INVALID = (
        "code_invalid",
        "the provider does not know the code (used, expired, or another client's)",
    )
    PKCE_MISMATCH = (
        "pkce_mismatch",
        "the code_verifier does not match the authorization request's code_challenge",
    )
    PKCE_MISSING_OR_MALFORMED = (
        "pkce_missing_or_malformed",
        "the code_verifier is missing or malformed",
    )
    INVALID_CLIENT = "invalid_client", "client authentication failed (id, secret or auth method)"
    UNAUTHORIZED_CLIENT = (
        "unauthorized_client",
        "the client may not use the authorization_code grant",
    )
    UNSUPPORTED_GRANT_TYPE = (
        "unsupported_grant_type",
        "the endpoint does not support grant_type=authorization_code",
    )
    INVALID_REQUEST = "invalid_request", "a parameter is missing, repeated or malformed"
    INVALID_SCOPE = "invalid_scope", "the requested scope is invalid"
    PROVIDER_ERROR = "provider_error", "a provider-specific error code"
    # credentials in the environment
    NOT_CONFIGURED = "not_configured", "no <PROVIDER>_CLIENT_ID in the environment"
    CLIENT_SECRET_MISSING = "client_secret_missing", "<PROVIDER>_CLIENT_SECRET is missing or empty"
    CLIENT_SECRET_WHITESPACE = (
        "client_secret_whitespace",
        "<PROVIDER>_CLIENT_SECRET has surrounding whitespace",
    )
