"""``exchange_code``: exchange an authorization code for real and name why it failed (RFC 6749 §5.2)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._explain import Explanation, explain
from svc_nb._http import tls_context, transport_failure
from svc_nb._redact import mask_url, register_secret, shorten_token
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.oauth._causes import OAuthCause as C

__all__ = ["AUTH_METHODS", "exchange_code"]

AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none")
_CHECK = "oauth.exchange"
_TITLE = "OAuth code exchange"

_FRESH_LOGIN = (
    "Start a fresh login and exchange the code once, immediately, with the same redirect_uri "
    "and the code_verifier saved in the same session."
)
_INVALID_GRANT = (
    " In general, invalid_grant means the code was rejected: already used (the callback page was "
    "refreshed or the callback ran twice), expired (codes live seconds to minutes), issued to "
    "another client, redirect_uri differs from the authorization request, or the PKCE verifier "
    "does not match."
)
_ANSWERED = "token endpoint answered {oauth_error}{description}"
_DETAIL = "HTTP {status_code}. Likely cause: {why}.{general}"

# What each classified answer means (the "why" of the detail) and what to do.
_WHY_FIX: dict[C, tuple[str, str]] = {
    C.CODE_REUSED: (
        "the code was already exchanged (callback page refreshed, or the callback ran twice)",
        _FRESH_LOGIN,
    ),
    C.CODE_EXPIRED: ("the code expired before the exchange", _FRESH_LOGIN),
    C.CODE_INVALID: (
        "the code is unknown to the provider: already used, expired, or issued to another client",
        _FRESH_LOGIN,
    ),
    C.PKCE_MISMATCH: (
        "the code_verifier does not match the code_challenge of the authorization request",
        _FRESH_LOGIN,
    ),
    C.REDIRECT_URI_MISMATCH: (
        "the redirect_uri differs from the one sent in the authorization request",
        "Send exactly the redirect_uri of the authorization request; compare with compare_redirect_uris().",
    ),
    C.PKCE_MISSING_OR_MALFORMED: (
        "the code_verifier is missing or malformed (43-128 chars of [A-Za-z0-9-._~]); the session "
        "that held oauth:<provider>:pkce_verifier was probably lost",
        "Send the code_verifier saved at login; if the session was lost, start the login again.",
    ),
    C.INVALID_CLIENT: (
        "client authentication failed: wrong client_id or client_secret, or the wrong auth method "
        "(client_secret_basic vs client_secret_post)",
        "Check <PROVIDER>_CLIENT_ID / <PROVIDER>_CLIENT_SECRET (no stray whitespace or quotes), "
        "and the token_endpoint_auth_method the provider expects.",
    ),
    C.UNAUTHORIZED_CLIENT: (
        "this client is not allowed to use the authorization_code grant",
        "Enable the authorization code grant (web application type) for this client at the provider.",
    ),
    C.UNSUPPORTED_GRANT_TYPE: (
        "the token endpoint does not support grant_type=authorization_code",
        "Check the token URL (not the userinfo or device endpoint) and the provider's supported grants.",
    ),
    C.INVALID_REQUEST: (
        "a parameter is missing, repeated or malformed (often code_verifier, redirect_uri or client_id)",
        "Compare the request with the provider's token endpoint docs; see error_description.",
    ),
    C.INVALID_SCOPE: (
        "the requested scope is invalid or exceeds what was granted",
        "Request only the scopes registered for this client.",
    ),
    C.PROVIDER_ERROR: (
        "a provider-specific error",
        "See error_description and the provider's docs.",
    ),
}
_EXCHANGE: dict[C, Explanation] = {
    cause: Explanation(Status.FAIL, _ANSWERED, _DETAIL, fix) for cause, (_, fix) in _WHY_FIX.items()
}
_EXCHANGE[C.NON_JSON_ANSWER] = Explanation(
    Status.FAIL,
    "HTTP {status_code} with a non-JSON answer from the token endpoint",
    "content-type {content_type}; starts with: {excerpt}. An HTML page usually means the wrong "
    "URL (the authorize or a login page), a proxy error page, or a WAF block.",
    "Use the provider's token_endpoint from its metadata (svc_nb.oauth.check_provider).",
)
_EXCHANGE[C.UNEXPECTED_ANSWER] = Explanation(
    Status.FAIL,
    "HTTP {status_code} without an access_token or an RFC 6749 error",
    "keys in the answer: {keys}",
    "Check the token URL and the provider's docs.",
)

# The RFC 6749 error code (and GitHub's own) → cause; None: refined from the description.
_ERROR_CODE: dict[str, C | None] = {
    "invalid_grant": None,
    "bad_verification_code": None,  # GitHub's invalid_grant
    "invalid_client": C.INVALID_CLIENT,
    "unauthorized_client": C.UNAUTHORIZED_CLIENT,
    "unsupported_grant_type": C.UNSUPPORTED_GRANT_TYPE,
    "invalid_request": C.INVALID_REQUEST,
    "invalid_scope": C.INVALID_SCOPE,
    "redirect_uri_mismatch": C.REDIRECT_URI_MISMATCH,
}
# Words in an invalid_grant's error_description → the specific cause; first match wins.
_GRANT_WORDS: tuple[tuple[tuple[str, ...], C], ...] = (
    (("redirect",), C.REDIRECT_URI_MISMATCH),
    (("verifier", "challenge", "pkce"), C.PKCE_MISMATCH),
    (("used", "redeemed", "already"), C.CODE_REUSED),
    (("expired",), C.CODE_EXPIRED),
)
_REUSE_SEEN = (
    "this code was already exchanged successfully by svc_nb in this process — codes are "
    "single-use (a refreshed callback page or a double callback does this)"
)

# Fingerprints of codes this process exchanged successfully: a later invalid_grant for
# one of them is certainly a reuse, whatever the provider's wording.
_EXCHANGED: dict[str, float] = {}
_EXCHANGED_MAX = 1000


def _code_key(token_url: str, code: str) -> str:
    return hashlib.sha256(f"{token_url}\x00{code}".encode("utf-8", "surrogatepass")).hexdigest()


def _remember(token_url: str, code: str) -> None:
    if len(_EXCHANGED) >= _EXCHANGED_MAX:  # bounded memory in a long-lived kernel: drop the oldest
        del _EXCHANGED[min(_EXCHANGED, key=_EXCHANGED.__getitem__)]
    _EXCHANGED[_code_key(token_url, code)] = time.time()


def _classify(error: str, description: str, reused: bool) -> C:
    lowered = description.lower()
    if error in ("invalid_grant", "bad_verification_code"):
        if reused:
            return C.CODE_REUSED
        for words, cause in _GRANT_WORDS:
            if any(word in lowered for word in words):
                return cause
        return C.CODE_INVALID
    if error == "invalid_request" and "verifier" in lowered:
        return C.PKCE_MISSING_OR_MALFORMED
    return _ERROR_CODE.get(error) or C.PROVIDER_ERROR


def _parse_body(text: str, content_type: str) -> dict[str, Any] | None:
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
    if "x-www-form-urlencoded" in content_type:
        return dict(urllib.parse.parse_qsl(text))
    return None


def _request(
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    auth_method: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of the token request for ``auth_method``."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
    }
    headers = {"Accept": "application/json"}
    if client_secret and auth_method == "client_secret_basic":
        # RFC 6749 §2.3.1 (and Authlib): form-encode id and secret before base64.
        pair = (
            f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
        )
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif client_secret and auth_method == "client_secret_post":
        form["client_secret"] = client_secret
    if code_verifier:
        form["code_verifier"] = code_verifier
    return form, headers


def _error_finding(body: Mapping[str, Any], data: dict[str, Any], reused: bool) -> Finding:
    error = str(body["error"])[:100]
    description = str(body.get("error_description", ""))[:300]
    cause = _classify(error, description, reused)
    why = _REUSE_SEEN if reused and cause is C.CODE_REUSED else _WHY_FIX[cause][0]
    return explain(
        _CHECK,
        cause,
        _EXCHANGE,
        data={**data, "oauth_error": error, "error_description": description},
        oauth_error=error,
        description=f": {description}" if description else "",
        status_code=data["status_code"],
        why=why,
        general=_INVALID_GRANT if error in ("invalid_grant", "bad_verification_code") else "",
    )


def _tokens_finding(body: Mapping[str, Any], data: dict[str, Any]) -> Finding:
    tokens: dict[str, Any] = {}
    for name in ("access_token", "refresh_token", "id_token"):
        if body.get(name):
            register_secret(str(body[name]))
            tokens[name] = shorten_token(str(body[name]))
    # token_type last: "Bearer" followed by a newline would read like an Authorization header.
    for name in ("expires_in", "scope", "token_type"):
        if name in body:
            tokens[name] = body[name]
    return Finding(
        _CHECK,
        Status.OK,
        f"code exchanged: {', '.join(k for k in tokens if k.endswith('token'))}",
        detail="\n".join(f"{k}: {v}" for k, v in tokens.items()),
        data={**data, "tokens": tokens},
    )


def _judge(resp: Any, data: dict[str, Any], token_url: str, code: str) -> Finding:
    content_type = resp.headers.get("content-type", "")
    body = _parse_body(resp.text, content_type)
    if body is None:
        excerpt = re.sub(r"\s+", " ", resp.text[:200])
        return explain(
            _CHECK,
            C.NON_JSON_ANSWER,
            _EXCHANGE,
            data=data,
            status_code=resp.status_code,
            content_type=repr(content_type or "?"),
            excerpt=repr(excerpt),
        )
    if body.get("error"):
        return _error_finding(body, data, reused=_code_key(token_url, code) in _EXCHANGED)
    if resp.status_code != 200 or "access_token" not in body:
        return explain(
            _CHECK,
            C.UNEXPECTED_ANSWER,
            _EXCHANGE,
            data=data,
            status_code=resp.status_code,
            keys=sorted(map(str, body))[:20],
        )
    _remember(token_url, code)
    return _tokens_finding(body, data)


def _check_args(values: Mapping[str, object], auth_method: str) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ArgumentTypeError(f"{name} must be a non-empty string")
    if auth_method not in AUTH_METHODS:
        raise ArgumentValueError(
            "auth_method must be 'client_secret_post', 'client_secret_basic' or 'none'"
        )


async def exchange_code(
    token_url: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str | None = None,
    code_verifier: str | None = None,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
    auth_method: str = "client_secret_post",
) -> Report:
    """Exchange an authorization code for real and classify what went wrong (RFC 6749 §5.2).

    ``auth_method`` is ``client_secret_post`` (secret in the form),
    ``client_secret_basic`` (HTTP Basic) or ``none`` (public client with PKCE).
    Tokens in the answer are shown shortened; the client secret is never shown.
    """
    import httpx

    args = {
        "token_url": token_url,
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
    }
    _check_args(args, auth_method)
    timeout = check_timeout(timeout)
    register_secret(client_secret, code, code_verifier)
    form, headers = _request(
        client_id, client_secret, code, redirect_uri, code_verifier, auth_method
    )
    base = {
        "token_url": mask_url(token_url),
        "auth_method": auth_method,
        "pkce": bool(code_verifier),
    }
    started = time.perf_counter()
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client,
        ):
            resp = await client.post(token_url, data=form, headers=headers)
    except Exception as exc:  # network failures are findings, not tracebacks
        failure = transport_failure(
            _CHECK, exc, token_url, timeout, peer="the token endpoint", data=base
        )
        return Report([failure], title=_TITLE)
    latency = round((time.perf_counter() - started) * 1000, 1)
    data: dict[str, Any] = {**base, "status_code": resp.status_code, "latency_ms": latency}
    return Report([_judge(resp, data, token_url, code)], title=_TITLE)
