"""``check_provider``: the provider's discovery document, judged for a code flow with PKCE."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from svc_nb._clock import Now, unix_seconds
from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import Explanation, explain
from svc_nb._http import tls_context, transport_failure
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.oauth._causes import OAuthCause as C

__all__ = ["check_provider"]

# Skew past which ID tokens' iat/exp start failing (most libraries allow 0-60 s of leeway).
_SKEW_FAIL_S = 60
_SKEW_WARN_S = 5
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")

_F = Status.FAIL
_PROVIDER: dict[C, Explanation] = {
    C.METADATA_NOT_FOUND: Explanation(
        _F,
        "no OIDC/OAuth metadata document found",
        "{attempts}",
        "Use the issuer URL exactly as the provider documents it; providers without discovery "
        "need authorize_url/access_token_url configured by hand.",
    ),
    C.ISSUER_MISMATCH: Explanation(
        Status.WARN,
        "issuer {issuer} differs from the URL used",
        "OIDC clients reject ID tokens whose iss is not exactly the configured issuer.",
        "Configure the issuer as {issuer}.",
    ),
    C.ISSUER_MISSING: Explanation(
        Status.WARN,
        "metadata has no issuer",
        "OIDC clients check the ID token's iss against the metadata's issuer.",
        "Check that this is the provider's real discovery document.",
    ),
    C.ENDPOINTS_MISSING: Explanation(
        _F,
        "missing {missing}",
        "{endpoints}",
        "Configure the missing endpoints explicitly in the OAuth client registration.",
    ),
    C.GRANT_NOT_SUPPORTED: Explanation(
        _F,
        "authorization_code grant not advertised",
        "grant_types_supported: {grants}",
        "Enable the authorization code grant for this client at the provider.",
    ),
    C.PKCE_NOT_ADVERTISED: Explanation(
        Status.WARN,
        "the metadata does not advertise PKCE support",
        "svc-infra always sends an S256 code_challenge; most providers accept it anyway.",
        "If exchanges fail with invalid_grant/invalid_request about the verifier, check the "
        "provider's PKCE docs.",
    ),
    C.PKCE_S256_UNSUPPORTED: Explanation(
        _F,
        "PKCE S256 not supported (only {methods})",
        "svc-infra sends code_challenge_method=S256.",
        "Enable S256 PKCE at the provider.",
    ),
    C.NO_DATE_HEADER: Explanation(Status.SKIP, "the provider sent no usable Date header"),
    C.CLOCK_SKEW: Explanation(
        _F,
        "clock skew {skew} s (this machine minus provider)",
        "ID tokens carry iat/exp; a clock off by minutes makes them look not-yet-valid or "
        "expired. The Date header has 1-second resolution.",
        "Sync this machine's clock (timedatectl set-ntp true / chrony).",
    ),
}


def _metadata_urls(url: str) -> list[str]:
    if "/.well-known/" in url:
        return [url]
    base = url.rstrip("/")
    return [
        f"{base}/.well-known/openid-configuration",
        f"{base}/.well-known/oauth-authorization-server",
    ]


@dataclass
class _Fetched:
    """The discovery document found (if any) and what each attempt answered."""

    meta: dict[str, Any] | None = None
    url: str = ""
    date_header: str = ""
    received_at: float = 0.0
    latency_ms: float = 0.0
    attempts: list[str] = field(default_factory=list)


async def _fetch(base_url: str, timeout: float) -> _Fetched:
    import httpx

    fetched = _Fetched()
    async with (
        asyncio.timeout(timeout),
        httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=tls_context()) as client,
    ):
        for url in _metadata_urls(base_url):
            started = time.perf_counter()
            resp = await client.get(url, headers={"Accept": "application/json"})
            fetched.received_at = time.time()
            fetched.latency_ms = round((time.perf_counter() - started) * 1000, 1)
            fetched.attempts.append(f"{mask_url(url)} → HTTP {resp.status_code}")
            if resp.status_code != 200:
                continue
            try:
                body = resp.json()
            except ValueError:
                fetched.attempts[-1] += " (not JSON)"
                continue
            if isinstance(body, dict):
                fetched.meta, fetched.url = body, url
                fetched.date_header = resp.headers.get("date", "")
                return fetched
    return fetched


def _issuer_finding(meta: Mapping[str, Any], used: str, given: str) -> Finding:
    issuer = meta.get("issuer")
    if not issuer:
        return explain("oauth.provider.issuer", C.ISSUER_MISSING, _PROVIDER)
    expected = used.split("/.well-known/")[0]
    if str(issuer).rstrip("/") != expected.rstrip("/") and "/.well-known/" not in given:
        return explain("oauth.provider.issuer", C.ISSUER_MISMATCH, _PROVIDER, issuer=repr(issuer))
    return Finding("oauth.provider.issuer", Status.OK, f"issuer {issuer!r}")


def _endpoints_finding(meta: Mapping[str, Any], used: str) -> Finding:
    oidc = "openid-configuration" in used
    required = ["authorization_endpoint", "token_endpoint"] + (["jwks_uri"] if oidc else [])
    missing = [k for k in required if not meta.get(k)]
    endpoints = {k: meta[k] for k in _ENDPOINTS if meta.get(k)}
    listed = "\n".join(f"{k}: {v}" for k, v in endpoints.items())
    if missing:
        return explain(
            "oauth.provider.endpoints",
            C.ENDPOINTS_MISSING,
            _PROVIDER,
            data=endpoints,
            missing=", ".join(missing),
            endpoints=listed,
        )
    summary = "authorization, token" + (" and JWKS" if oidc else "") + " endpoints present"
    return Finding("oauth.provider.endpoints", Status.OK, summary, detail=listed, data=endpoints)


def _grant_finding(meta: Mapping[str, Any]) -> Finding | None:
    grants = meta.get("grant_types_supported")
    if isinstance(grants, list) and "authorization_code" not in grants:
        return explain("oauth.provider.grant", C.GRANT_NOT_SUPPORTED, _PROVIDER, grants=grants)
    return None


def _pkce_finding(meta: Mapping[str, Any]) -> Finding:
    methods = meta.get("code_challenge_methods_supported")
    if methods is None:
        return explain("oauth.provider.pkce", C.PKCE_NOT_ADVERTISED, _PROVIDER)
    if isinstance(methods, list) and "S256" in methods:
        return Finding(
            "oauth.provider.pkce", Status.OK, "PKCE S256 supported", data={"methods": methods}
        )
    return explain("oauth.provider.pkce", C.PKCE_S256_UNSUPPORTED, _PROVIDER, methods=methods)


def _clock_finding(fetched: _Fetched, now: Now) -> Finding:
    try:
        parsed = (
            email.utils.parsedate_to_datetime(fetched.date_header) if fetched.date_header else None
        )
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return explain("oauth.provider.clock", C.NO_DATE_HEADER, _PROVIDER)
    local = unix_seconds(now) if now is not None else fetched.received_at
    skew = local - parsed.timestamp()
    data = {"skew_s": round(skew, 1), "provider_date": fetched.date_header}
    summary_skew = f"{skew:+.0f}"
    if abs(skew) <= _SKEW_WARN_S:
        return Finding(
            "oauth.provider.clock",
            Status.OK,
            f"clock skew {summary_skew} s (this machine minus provider)",
            data=data,
        )
    status = Status.FAIL if abs(skew) > _SKEW_FAIL_S else Status.WARN
    return explain(
        "oauth.provider.clock", C.CLOCK_SKEW, _PROVIDER, status=status, data=data, skew=summary_skew
    )


def _judge(fetched: _Fetched, given: str, now: Now) -> list[Finding]:
    meta = fetched.meta or {}
    shown = mask_url(fetched.url)
    findings = [
        Finding(
            "oauth.provider.metadata",
            Status.OK,
            f"metadata from {shown}",
            data={"url": shown, "latency_ms": fetched.latency_ms},
        ),
        _issuer_finding(meta, fetched.url, given),
        _endpoints_finding(meta, fetched.url),
    ]
    grant = _grant_finding(meta)
    if grant is not None:
        findings.append(grant)
    findings += [_pkce_finding(meta), _clock_finding(fetched, now)]
    return findings


async def check_provider(
    issuer_or_metadata_url: str, *, timeout: float = DEFAULT_HTTP_TIMEOUT_S, now: Now = None
) -> Report:
    """Fetch the provider's OIDC/OAuth metadata and check what a code flow with PKCE needs.

    Checks the endpoints, ``S256`` in ``code_challenge_methods_supported``, the
    issuer, and the clock skew between the provider's ``Date`` header and this
    machine (``now=`` overrides this machine's clock). Returns within about
    ``timeout`` seconds (positive, finite).
    """
    if not isinstance(issuer_or_metadata_url, str) or "://" not in issuer_or_metadata_url:
        raise ArgumentTypeError(
            "pass the issuer URL (https://accounts.example.com) or its metadata URL"
        )
    timeout = check_timeout(timeout)
    if now is not None:
        unix_seconds(now)  # misuse is refused before any request is sent
    title = "OAuth provider"
    try:
        fetched = await _fetch(issuer_or_metadata_url, timeout)
    except Exception as exc:  # network failures are findings, not tracebacks
        failure = transport_failure(
            "oauth.provider.metadata",
            exc,
            issuer_or_metadata_url,
            timeout,
            peer="the OAuth provider",
        )
        return Report([failure], title=title)
    if fetched.meta is None:
        missing = explain(
            "oauth.provider.metadata",
            C.METADATA_NOT_FOUND,
            _PROVIDER,
            attempts="\n".join(fetched.attempts),
        )
        return Report([missing], title=title)
    return Report(_judge(fetched, issuer_or_metadata_url, now), title=title)
