"""``service.oauth.redirect_uri``: the redirect URI each provider's login route really sends.

svc-infra builds the callback with ``request.url_for``, from the scheme and
host the app server sees. The login route is called directly and as behind a
TLS-terminating proxy (``X-Forwarded-Proto: https`` and the public host); in
process both without and with uvicorn's proxy headers trusted. What it sends
is compared with what is registered at the provider by
``svc_nb.oauth.compare_redirect_uris``, so every difference is named.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._http import transport_failure
from svc_nb._redact import mask_url, register_secret
from svc_nb._report import Finding, Report, Status
from svc_nb.oauth import compare_redirect_uris
from svc_nb.oauth._redirect import PROXY_FIX
from svc_nb.oauth._uri import clip
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._client import ServiceClient

__all__ = [
    "DEFAULT_PUBLIC_HOST",
    "LoginObservation",
    "OAuthPlan",
    "observe_logins",
    "plan_providers",
    "redirect_uri_finding",
]

CHECK = "service.oauth.redirect_uri"
DEFAULT_PUBLIC_HOST = "api.example.com"
_DEFAULT_LOGIN = "/auth/oauth/{provider}/login"
# A DNS name has at most 253 characters; with a port, a little more. Longer is no host to send.
_MAX_HOST_CHARS = 260
_SHOWN_REGISTERED = 10
_KNOWN_PROVIDERS = ("github", "google", "microsoft", "linkedin", "gitlab", "discord", "slack")
_F = Status.FAIL

_LOGIN: dict[C, Explanation] = {
    C.NO_PROVIDER: Explanation(
        Status.SKIP,
        "no OAuth provider to check",
        "{detail}",
        "Configure a provider (e.g. GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET) or pass "
        "redirect_uris=['https://…/auth/oauth/github/callback'] so svc_nb knows its login route.",
    ),
    C.LOGIN_NOT_REDIRECTING: Explanation(
        _F,
        "{provider}: GET {path} answered {code}, not a redirect to the provider",
        "The login route must answer 302 with a Location carrying redirect_uri=…; {why}",
        "{fix}",
    ),
    C.SESSION_MIDDLEWARE_MISSING: Explanation(
        _F,
        "{provider}: the login route fails: no SessionMiddleware",
        "svc-infra keeps the OAuth state, PKCE verifier and nonce in request.session; without "
        "Starlette's SessionMiddleware around the route it answers {code}.",
        "add_security(app, install_session_middleware=True) — or let add_auth_users add it "
        "(it does when none is installed) — before the app starts.",
    ),
    C.PLAIN_HTTP: Explanation(
        Status.WARN,
        "{provider}: behind a TLS proxy the app sends redirect_uri {uri}",
        "Called as the proxy calls it (X-Forwarded-Proto: https, Host: {host}) the login route "
        "still builds an http:// callback, even with uvicorn trusting the proxy's headers; "
        "providers reject plain http outside loopback.{trusted}",
        PROXY_FIX,
    ),
}


@dataclass(frozen=True)
class LoginObservation:
    """What one call of the login route showed."""

    label: str
    host: str
    status: int | None = None
    location: str = ""
    redirect_uri: str | None = None
    set_cookies: tuple[str, ...] = ()
    body: str = ""
    failure: Finding | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "as": self.label,
            "status": self.status,
            "redirect_uri": mask_url(self.redirect_uri) if self.redirect_uri else None,
        }


@dataclass(frozen=True)
class OAuthPlan:
    """Which login routes to call, and what the provider has registered."""

    logins: dict[str, str]  # provider -> login path
    registered: list[str] = field(default_factory=list)
    public_host: str | None = None  # host of a registered non-loopback URI


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _from_registered(registered: Sequence[str]) -> dict[str, str]:
    """provider -> login path, read from callback URIs such as /auth/oauth/github/callback."""
    logins: dict[str, str] = {}
    for uri in registered:
        parts = urllib.parse.urlsplit(uri).path.split("/")
        if len(parts) >= 3 and parts[-1] == "callback" and parts[-2]:
            logins.setdefault(parts[-2], "/".join([*parts[:-1], "login"]))
    return logins


def plan_providers(
    providers: Sequence[str],
    login_template: str | None,
    registered: Sequence[str],
    *,
    in_process: bool = True,
) -> OAuthPlan | Finding:
    """The login routes to call: the app's own providers, else those the callbacks or env name."""
    template = login_template or _DEFAULT_LOGIN
    logins = {p: template.replace("{provider}", p) for p in providers}
    if not logins:
        logins = _from_registered(registered)
    if not logins:
        env = {p for p in _KNOWN_PROVIDERS if os.environ.get(f"{p.upper()}_CLIENT_ID", "").strip()}
        logins = {p: template.replace("{provider}", p) for p in sorted(env)}
    if not logins:
        if not in_process:
            detail = (
                "Over HTTP the providers the service configures are not visible; svc_nb finds "
                "their login routes from redirect_uris=[…] or <PROVIDER>_CLIENT_ID in this "
                "environment."
            )
        elif login_template is None:
            detail = (
                "The app mounts no OAuth login route (add_auth_users with a provider configured)."
            )
        else:
            detail = "No provider is configured for its login route."
        return explain(CHECK, C.NO_PROVIDER, _LOGIN, detail=detail)
    public = [urllib.parse.urlsplit(u) for u in registered if urllib.parse.urlsplit(u).hostname]
    hosts = [
        p.netloc
        for p in public
        if len(p.netloc) <= _MAX_HOST_CHARS and not _is_loopback(p.hostname or "")
    ]
    return OAuthPlan(logins, list(registered), hosts[0] if hosts else None)


def _redirect_uri(location: str) -> str | None:
    query = urllib.parse.urlsplit(location).query
    values = urllib.parse.parse_qs(query).get("redirect_uri")
    return values[0] if values else None


async def _observe(
    client: ServiceClient, path: str, label: str, host: str, *, proxied: bool, trusted: bool
) -> LoginObservation:
    headers = (
        {"Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-Host": host} if proxied else {}
    )
    try:
        response = await client.request("GET", path, headers=headers, trusted_proxy=trusted)
    except client.errors as exc:
        failure = transport_failure(CHECK, exc, client.url(path), client.deadline.timeout)
        return LoginObservation(label, host, failure=failure)
    location = response.headers.get("location", "")
    cookies = tuple(response.headers.get_list("set-cookie"))
    for header in cookies:  # the session cookie holds the PKCE verifier: never shown
        register_secret(header.split(";", 1)[0].partition("=")[2])
    body = "" if 300 <= response.status_code < 400 else response.text[:300]
    return LoginObservation(
        label, host, response.status_code, location, _redirect_uri(location), cookies, body
    )


async def observe_logins(
    client: ServiceClient, path: str, plan: OAuthPlan
) -> list[LoginObservation]:
    """The login route called directly, then as behind a TLS proxy (in process: untrusted, trusted)."""
    direct_host = urllib.parse.urlsplit(client.base_url).netloc
    public = plan.public_host or DEFAULT_PUBLIC_HOST
    observations = [
        await _observe(client, path, "direct", direct_host, proxied=False, trusted=False)
    ]
    if observations[0].failure is not None:
        return observations
    proxy = (
        "behind a TLS proxy" if client.in_process else "through the server, as a TLS proxy calls it"
    )
    observations.append(await _observe(client, path, proxy, public, proxied=True, trusted=False))
    if client.can_trust_proxy:
        label = "behind a TLS proxy, uvicorn trusting it (--proxy-headers)"
        observations.append(await _observe(client, path, label, public, proxied=True, trusted=True))
    return observations


def _broken_login(provider: str, path: str, seen: LoginObservation) -> Finding:
    data = {"provider": provider, "login_path": path, "status_code": seen.status}
    if seen.status is not None and seen.status >= 500 and "SessionMiddleware" in seen.body:
        return explain(
            CHECK,
            C.SESSION_MIDDLEWARE_MISSING,
            _LOGIN,
            data=data,
            provider=provider,
            code=seen.status,
        )
    if seen.status == 404:
        why = "404 means no such route, or svc-infra's 'Provider not configured'."
        fix = f"Configure the provider ({provider.upper()}_CLIENT_ID / _CLIENT_SECRET) before the app is built."
    elif seen.status is not None and 300 <= seen.status < 400:
        why = (
            f"it redirected to {mask_url(seen.location) or '(no Location)'} without a redirect_uri."
        )
        fix = "Check that the route is svc-infra's OAuth login, not a login page of the app's own."
    else:
        why = f"it answered {seen.body[:120]!r}."
        fix = "Call the route in a browser or with curl -i and read the service log for the error."
    return explain(
        CHECK, C.LOGIN_NOT_REDIRECTING, _LOGIN, data=data,
        provider=provider, path=path, code=seen.status, why=why, fix=fix,
    )  # fmt: skip


def _difference(report: Report) -> C:
    for finding in report:
        if finding.status is not Status.OK and finding.check.startswith("oauth.redirect_uri."):
            try:
                return C(str(finding.cause))
            except ValueError:
                break
    return C.REDIRECT_URI_MISMATCH


def _compared(
    provider: str, plan: OAuthPlan, seen: list[LoginObservation], data: dict[str, Any]
) -> Finding:
    relevant = seen[:1] if plan.public_host is None else seen[1:]
    reports = [compare_redirect_uris(plan.registered, str(o.redirect_uri)) for o in relevant]
    verdicts = [r.get("oauth.redirect_uri") for r in reports]
    first, head = relevant[0], verdicts[0]
    uri = mask_url(str(first.redirect_uri))
    differences = head.data.get("differences", []) if head is not None else []
    data = {**data, "differences": list(differences)}
    if head is not None and head.status is Status.OK:
        return Finding(
            CHECK,
            Status.OK,
            f"{provider}: sends {uri} ({first.label}), which is registered",
            data=data,
        )
    cause = _difference(reports[0])
    names = ", ".join(data["differences"]) or "unparseable"
    trusted_ok = any(v is not None and v.status is Status.OK for v in verdicts[1:])
    detail = f"{head.summary if head else ''}\n{head.detail if head else ''}".strip()
    if trusted_ok:
        summary = (
            f"{provider}: {first.label} the app sends {uri}; only with uvicorn trusting the proxy "
            "headers does it send the registered URI"
        )
        return Finding(CHECK, Status.WARN, summary, detail, PROXY_FIX, data, cause=cause)
    fix = PROXY_FIX if cause is C.SCHEME_DOWNGRADED else (head.fix if head else "")
    summary = f"{provider}: the app sends {uri} ({first.label}); registered differs in {names}"
    return Finding(CHECK, Status.FAIL, summary, detail, fix, data, cause=cause)


def redirect_uri_finding(
    provider: str, path: str, plan: OAuthPlan, seen: list[LoginObservation]
) -> Finding:
    """One provider's verdict: its login route works, and what it sends matches what is registered."""
    for observation in seen:
        if observation.failure is not None:
            return observation.failure
        if observation.redirect_uri is None:
            return _broken_login(provider, path, observation)
    data: dict[str, Any] = {
        "provider": provider,
        "login_path": path,
        "observed": [o.summary() for o in seen],
        "registered": [mask_url(clip(u)) for u in plan.registered[:_SHOWN_REGISTERED]],
    }
    if plan.registered:
        return _compared(provider, plan, seen, data)
    proxied = seen[1] if len(seen) > 1 else None
    trusted = seen[2] if len(seen) > 2 else None
    shown = mask_url(str(seen[0].redirect_uri))
    if proxied is not None and str(proxied.redirect_uri).startswith("http://"):
        if trusted is None or str(trusted.redirect_uri).startswith("http://"):
            return explain(
                CHECK, C.PLAIN_HTTP, _LOGIN, data=data, provider=provider,
                uri=mask_url(str(proxied.redirect_uri)), host=proxied.host, trusted="",
            )  # fmt: skip
        note = (
            f"Behind a TLS proxy it sends {mask_url(str(proxied.redirect_uri))} unless uvicorn "
            "trusts the proxy's headers (--proxy-headers --forwarded-allow-ips). "
        )
    else:
        note = ""
    return Finding(
        CHECK,
        Status.OK,
        f"{provider}: login redirects to the provider with redirect_uri {shown}",
        detail=note
        + "Pass redirect_uris=[…] (what is registered at the provider) to compare them.",
        data=data,
    )
