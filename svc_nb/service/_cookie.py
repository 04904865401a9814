"""``service.session_cookie``: will the browser bring the login's session cookie back to the callback?

svc-infra's login keeps the OAuth state in Starlette's signed ``svc_session``
cookie. The callback answers ``400 invalid_state`` whenever the browser does
not send it back: a ``Secure`` cookie on an http service, ``SameSite=Strict``
across the provider's redirect, or a callback on another host name than the
login (localhost vs 127.0.0.1). The cookie itself is read with
``svc_nb.oauth.inspect_session_cookie``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.oauth import SESSION_COOKIE, inspect_session_cookie
from svc_nb.oauth._uri import clip
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._oauth import LoginObservation, OAuthPlan

__all__ = ["session_cookie_finding"]

CHECK = "service.session_cookie"
# inspect_session_cookie judges SameSite and size without the secret; these are its checks.
_ATTRIBUTE_CHECKS = ("oauth.session.attributes", "oauth.session.cookie")
_UNKNOWN_SECRET = "svc-nb: the service's session secret is not known here"
_F = Status.FAIL

_COOKIE: dict[C, Explanation] = {
    C.SESSION_COOKIE_MISSING: Explanation(
        _F,
        "{provider}: the login route set no {name} cookie",
        "Set-Cookie on the login answer: {seen}. Without the session cookie the callback finds "
        "no saved state and answers 400 invalid_state.",
        "Install Starlette's SessionMiddleware (add_security(app, install_session_middleware=True)) "
        "and check that nothing strips Set-Cookie (a proxy, a CDN).",
    ),
    C.SECURE_COOKIE_OVER_HTTP: Explanation(
        _F,
        "{provider}: {name} is Secure, but the login runs over http://{host}",
        "Browsers never send a Secure cookie over http, so the callback "
        "({callback}) arrives without the session and answers 400 invalid_state.",
        "Serve the service over https (behind a TLS proxy), or for local http development turn "
        "https_only off: SESSION_COOKIE_SECURE=false / add_security(…, "
        "session_cookie_https_only=False).",
    ),
    C.COOKIE_NOT_SECURE: Explanation(
        Status.WARN,
        "{provider}: {name} lacks Secure on an https service",
        "The session holds the login's state and PKCE verifier; without Secure it can also travel "
        "over plain http.",
        "SESSION_COOKIE_SECURE=true, or add_security(…, session_cookie_https_only=True).",
    ),
    C.COOKIE_HOST_MISMATCH: Explanation(
        _F,
        "{provider}: login on {login_host}, callback on {callback_host}: the cookie stays behind",
        "The browser keeps {name} for {login_host} only; the provider sends it back to "
        "{callback_host}, which gets no session, and the callback answers 400 invalid_state. "
        "localhost and 127.0.0.1 are different hosts to a browser.",
        "Open the app on the host of the registered callback ({callback_host}) — or register the "
        "callback on the host users open — so login and callback share one host.",
    ),
}


def _attributes(header: str) -> dict[str, str]:
    pieces = [p.strip() for p in header.split(";")[1:] if p.strip()]
    return {p.partition("=")[0].strip().lower(): p.partition("=")[2].strip() for p in pieces}


def _passed_through(header: str, secret: str | bytes | None, provider: str) -> Finding | None:
    """SameSite and size, judged by svc_nb.oauth; returned when they fail."""
    report = inspect_session_cookie(
        "set-cookie: " + header,
        secret or _UNKNOWN_SECRET,
        provider=provider,
        cookie_name=header.partition("=")[0].strip(),
    )
    for finding in report:
        if finding.check in _ATTRIBUTE_CHECKS and finding.status is not Status.OK:
            return Finding(
                CHECK,
                finding.status,
                f"{provider}: {finding.summary}",
                finding.detail,
                finding.fix,
                dict(finding.data),
                cause=C(str(finding.cause)),
            )
    return None


def _host(uri: str | None) -> str:
    return clip(urllib.parse.urlsplit(uri or "").netloc)


def session_cookie_finding(
    provider: str,
    plan: OAuthPlan,
    seen: list[LoginObservation],
    *,
    cookie_name: str | None,
    secret: str | bytes | None,
) -> Finding | None:
    """The verdict on the login's session cookie, or None when the login itself failed."""
    if not seen or seen[0].redirect_uri is None or seen[0].failure is not None:
        return None
    behind_proxy = plan.public_host is not None
    login = seen[1] if behind_proxy and len(seen) > 1 else seen[0]
    name = cookie_name or SESSION_COOKIE
    header = next((c for c in login.set_cookies if c.partition("=")[0].strip() == name), None)
    fields: dict[str, Any] = {"provider": provider, "name": name}
    if header is None:
        shown = ", ".join(c.partition("=")[0] for c in login.set_cookies) or "none"
        return explain(CHECK, C.SESSION_COOKIE_MISSING, _COOKIE, seen=shown, **fields)
    attributes = _attributes(header)
    data = {
        "provider": provider,
        "cookie_name": name,
        "attributes": {k: v for k, v in attributes.items() if k != "expires"},
    }
    judged = _passed_through(header, secret, provider)
    if judged is not None:
        return judged
    registered = next((u for u in plan.registered if _host(u)), None)
    scheme = urllib.parse.urlsplit(registered).scheme if behind_proxy and registered else "http"
    if not behind_proxy and not seen[0].redirect_uri.startswith("http://"):
        scheme = "https"
    secure = "secure" in attributes
    callback = str(login.redirect_uri)
    if secure and scheme == "http":
        return explain(
            CHECK, C.SECURE_COOKIE_OVER_HTTP, _COOKIE, data=data,
            host=login.host, callback=callback, **fields,
        )  # fmt: skip
    if registered and not behind_proxy and _host(registered) != login.host:
        return explain(
            CHECK, C.COOKIE_HOST_MISMATCH, _COOKIE, data=data,
            login_host=login.host, callback_host=_host(registered), **fields,
        )  # fmt: skip
    if not secure and scheme == "https":
        return explain(CHECK, C.COOKIE_NOT_SECURE, _COOKIE, data=data, **fields)
    samesite = attributes.get("samesite", "lax (default)")
    return Finding(
        CHECK,
        Status.OK,
        f"{provider}: {name} comes back to the callback (SameSite={samesite}, "
        f"{'Secure' if secure else 'not Secure'} over {scheme})",
        detail=f"login on {login.host}, callback {callback}",
        data=data,
    )
