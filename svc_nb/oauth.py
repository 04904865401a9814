"""OAuth callback failures: redirect URIs, signed state, the session cookie, code exchange.

svc-infra's OAuth login keeps a random ``state``, the PKCE S256 verifier and the
OIDC nonce in Starlette's signed session cookie (``svc_session``, 4 h), builds its
callback URL with ``request.url_for`` and exchanges the code with Authlib. The
guide's ``generate_state`` / ``verify_state`` / ``StateExpiredError`` do not exist
in svc-infra; svc_nb provides working versions of them here, plus tools that
answer "Invalid state parameter" and "Code exchange failed" from real evidence.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import difflib
import email.utils
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from svc_nb._clock import unix_seconds
from svc_nb._diagnose import register_check
from svc_nb._http import tls_context
from svc_nb._redact import mask_secret, mask_url, register_secret, shorten_token
from svc_nb._report import Finding, Report, Status

__all__ = [
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "StateError",
    "StateExpiredError",
    "StateInvalidError",
    "check_provider",
    "compare_redirect_uris",
    "compare_state",
    "exchange_code",
    "generate_state",
    "inspect_session_cookie",
    "verify_state",
]

SESSION_COOKIE = "svc_session"
SESSION_MAX_AGE = 4 * 3600
COOKIE_LIMIT = 4096  # bytes browsers keep per cookie (name + value + attributes)

_LOOPBACK_NAMES = {"localhost"}
_DEFAULT_PORTS = {"http": 80, "https": 443}

_PROXY_FIX = (
    "svc-infra builds the callback with request.url_for(...), which uses the scheme and host "
    "the app server sees. Behind a TLS-terminating proxy run uvicorn with "
    "`--proxy-headers --forwarded-allow-ips=<proxy IP or '*'>` (or set FORWARDED_ALLOW_IPS) "
    "and make the proxy send X-Forwarded-Proto/X-Forwarded-Host, so the callback is https://."
)


def _to_unix(now: datetime | float | int | None) -> float:
    """``now=`` as Unix seconds (svc_nb._clock's reading)."""
    return unix_seconds(now)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------
# Redirect URIs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Uri:
    """A redirect URI split into the parts an authorization server compares."""

    raw: str
    scheme: str
    userinfo: str
    host: str
    port: int | None
    port_text: str
    path: str
    query: str
    fragment: str
    has_fragment: bool
    error: str = ""

    @property
    def effective_port(self) -> int | None:
        return self.port if self.port is not None else _DEFAULT_PORTS.get(self.scheme.lower())

    @property
    def is_loopback_ip(self) -> bool:
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def is_loopback(self) -> bool:
        return self.is_loopback_ip or self.host.lower() in _LOOPBACK_NAMES


def _parse_uri(raw: str) -> _Uri:
    """Split without normalising: the exact text matters. Never raises."""
    text = raw.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        netloc = parts.netloc
        userinfo, _, hostport = netloc.rpartition("@")
        if hostport.startswith("["):
            end = hostport.find("]")
            host = hostport[: end + 1] if end >= 0 else hostport
            port_text = hostport[end + 2 :] if end >= 0 and hostport[end + 1 : end + 2] == ":" else ""
        else:
            host, _, port_text = hostport.partition(":")
        port: int | None = None
        error = ""
        if port_text:
            if port_text.isdigit() and int(port_text) <= 65535:
                port = int(port_text)
            else:
                error = f"port {port_text!r} is not a number from 0 to 65535"
        if not parts.scheme or not netloc:
            error = error or "not an absolute URL (scheme://host/path)"
        return _Uri(
            raw=raw,
            scheme=text[: len(parts.scheme)],  # urlsplit lowercases it; keep the exact text
            userinfo=userinfo,
            host=host,
            port=port,
            port_text=port_text,
            path=parts.path,
            query=parts.query,
            fragment=parts.fragment,
            has_fragment="#" in text,
            error=error,
        )
    except ValueError as exc:  # e.g. an unbalanced '[' in the host
        return _Uri(raw, "", "", "", None, "", "", "", "", "#" in text, error=f"unparseable URL: {exc}")


def _unquote_norm(path: str) -> str:
    return urllib.parse.unquote(path)


def _differences(reg: _Uri, got: _Uri) -> list[tuple[str, str, str]]:
    """(name, what differs, fix) for each named difference between two redirect URIs."""
    diffs: list[tuple[str, str, str]] = []
    if reg.scheme != got.scheme:
        if reg.scheme.lower() == "https" and got.scheme.lower() == "http":
            diffs.append((
                "scheme",
                "the app sent http:// but https:// is registered — typical behind a TLS-terminating "
                "proxy that does not forward the original scheme",
                _PROXY_FIX,
            ))
        elif reg.scheme.lower() == got.scheme.lower():
            diffs.append(("scheme", f"scheme case differs: {got.scheme!r} vs registered {reg.scheme!r}",
                          f"Use {reg.scheme!r} exactly."))
        else:
            diffs.append(("scheme", f"scheme {got.scheme!r} vs registered {reg.scheme!r}",
                          f"Use {reg.scheme}:// in the redirect URI, or register the {got.scheme}:// one."))
    if reg.userinfo != got.userinfo:
        diffs.append(("userinfo", "user info before '@' differs", "Remove user info from redirect URIs."))
    if reg.host != got.host:
        rh, gh = reg.host.lower(), got.host.lower()
        if rh == gh:
            diffs.append(("host_case", f"host case differs: {got.host!r} vs registered {reg.host!r}",
                          "Providers compare the string exactly: use the registered spelling."))
        elif rh.removeprefix("www.") == gh.removeprefix("www."):
            has = "with" if gh.startswith("www.") else "without"
            diffs.append(("www", f"the app used the host {has} 'www.': {got.host!r} vs registered {reg.host!r}",
                          "Redirect every visitor to one canonical host before login, or register both hosts."))
        elif reg.is_loopback and got.is_loopback:
            diffs.append(("host", f"loopback host spelled differently: {got.host!r} vs registered {reg.host!r}",
                          "localhost, 127.0.0.1 and [::1] are different strings (and different cookie hosts): "
                          "use the registered one everywhere, preferably 127.0.0.1 (RFC 8252 §8.3)."))
        else:
            diffs.append(("host", f"host {got.host!r} vs registered {reg.host!r}",
                          f"Register {got.scheme}://{got.host}... at the provider, or make the app use {reg.host!r}."))
    if reg.port_text != got.port_text:
        reg_def = reg.port is None or reg.port == _DEFAULT_PORTS.get(reg.scheme.lower())
        got_def = got.port is None or got.port == _DEFAULT_PORTS.get(got.scheme.lower())
        if reg.effective_port == got.effective_port and reg_def and got_def:
            which = got if got.port is not None else reg
            diffs.append(("default_port",
                          f"explicit default port :{which.port} on one side only ({got.port_text or 'none'} vs registered {reg.port_text or 'none'})",
                          "Drop the default port (:443 for https, :80 for http); a forwarded Host header with a port often causes this."))
        else:
            diffs.append(("port", f"port {got.port_text or '(default)'} vs registered {reg.port_text or '(default)'}",
                          "Use the registered port, or register this one."))
    if reg.path != got.path:
        if reg.path.rstrip("/") == got.path.rstrip("/"):
            diffs.append(("trailing_slash", f"trailing slash differs: {got.path!r} vs registered {reg.path!r}",
                          "Make the route and the registration agree on the trailing slash (FastAPI redirects one to the other)."))
        elif _unquote_norm(reg.path) == _unquote_norm(got.path):
            diffs.append(("percent_encoding", f"percent-encoding differs: {got.path!r} vs registered {reg.path!r}",
                          "Register the URI exactly as the app sends it (same escapes, same hex case)."))
        elif reg.path.lower() == got.path.lower():
            diffs.append(("path_case", f"path case differs: {got.path!r} vs registered {reg.path!r}",
                          "Paths are case-sensitive: use the registered spelling."))
        else:
            diffs.append(("path", f"path {got.path!r} vs registered {reg.path!r}",
                          "Mount the callback route at the registered path, or register this path "
                          "(check root_path / a path prefix added by the proxy)."))
    if reg.query != got.query:
        if _unquote_norm(reg.query) == _unquote_norm(got.query):
            diffs.append(("percent_encoding", f"query percent-encoding differs: {got.query!r} vs {reg.query!r}",
                          "Register the query exactly as sent."))
        else:
            diffs.append(("query", f"query {got.query!r} vs registered {reg.query!r}",
                          "Keep dynamic values out of the redirect URI: carry them in `state` instead."))
    return diffs


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def compare_redirect_uris(registered: str | Sequence[str], received: str) -> Report:
    """Does the redirect URI the app sent match a registered one, and if not, exactly why.

    Authorization servers compare redirect URIs as exact strings (RFC 6749 §3.1.2,
    RFC 9700 §4.1.3); the only exception is the port of a loopback IP redirect
    (RFC 8252 §7.3). Every difference is named (scheme, host_case, www, host,
    default_port, port, trailing_slash, percent_encoding, path_case, path, query,
    fragment) and the closest registered URI is reported. Never raises on text.
    """
    if isinstance(registered, str):
        reg_list = [registered]
    elif isinstance(registered, Sequence) and all(isinstance(r, str) for r in registered):
        reg_list = list(registered)
    else:
        raise TypeError("registered must be a redirect URI string or a list of them")
    if not isinstance(received, str):
        raise TypeError("received must be the redirect_uri string the app sent")
    reg_list = [r for r in (r.strip() for r in reg_list) if r] or [""]
    got = _parse_uri(received)
    title = "OAuth redirect URI"
    findings: list[Finding] = []

    if got.error:
        findings.append(Finding(
            "oauth.redirect_uri.parse", Status.FAIL, f"the received redirect URI is invalid: {got.error}",
            detail=f"received: {received!r}",
            fix="Pass the full redirect_uri from the authorization request (scheme://host/path).",
        ))
    if got.has_fragment:
        findings.append(Finding(
            "oauth.redirect_uri.fragment", Status.FAIL, "the received redirect URI contains a fragment (#...)",
            detail="RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment component.",
            fix="Remove everything from '#' on; put client-side routing data in `state`.",
        ))

    candidates: list[tuple[int, float, str, _Uri, list[tuple[str, str, str]], bool]] = []
    for raw in reg_list:
        reg = _parse_uri(raw)
        exact = raw == received.strip() and bool(raw)
        diffs = [] if exact else _differences(reg, got)
        if reg.has_fragment:
            diffs.append(("fragment", f"the registered URI {raw!r} has a fragment, which is never allowed",
                          "Register the URI without '#...'."))
        elif got.has_fragment and not exact:
            diffs.append(("fragment", "the received URI has a fragment", "Remove '#...'."))
        if exact and got.has_fragment:
            diffs.append(("fragment", "both URIs carry a fragment, which is never allowed", "Remove '#...'."))
        # RFC 8252 §7.3: loopback IP redirects match on any port.
        loopback_port_ok = (
            not exact and bool(diffs) and all(d[0] in {"port", "default_port"} for d in diffs)
            and reg.is_loopback_ip and got.is_loopback_ip and reg.scheme.lower() == "http"
        )
        candidates.append((len(diffs), -_similarity(raw, received), raw, reg, diffs, loopback_port_ok))

    candidates.sort(key=lambda c: (0 if (c[0] == 0 or c[5]) else 1, c[0], c[1]))
    n_diff, _, best_raw, _best, diffs, loopback_ok = candidates[0]
    data: dict[str, Any] = {
        "received": mask_url(received),
        "closest": mask_url(best_raw),
        "registered_count": len(reg_list),
        "differences": [d[0] for d in diffs],
    }
    if n_diff == 0 and not got.error:
        findings.insert(0, Finding(
            "oauth.redirect_uri", Status.OK, "the redirect URI matches a registered one exactly",
            detail=f"matched: {best_raw}", data={**data, "match": "exact"},
        ))
    elif loopback_ok:
        findings.insert(0, Finding(
            "oauth.redirect_uri", Status.OK,
            "matches on the loopback port rule (RFC 8252 §7.3): only the port differs",
            detail=f"registered {best_raw}, received {received.strip()}. Native apps listen on an "
                   "ephemeral loopback port; compliant servers ignore the port for loopback IP literals. "
                   "Some providers do not implement this: if yours rejects it, register the exact port.",
            data={**data, "match": "loopback_port"},
        ))
    else:
        closest = f"closest registered URI: {best_raw}" if best_raw else "no redirect URI is registered"
        names = ", ".join(d[0] for d in diffs) or "unparseable"
        findings.insert(0, Finding(
            "oauth.redirect_uri", Status.FAIL,
            f"no registered redirect URI matches (differences: {names})",
            detail=f"{closest}\nreceived: {received.strip()}\nProviders compare the whole string exactly "
                   "(RFC 6749 §3.1.2, RFC 9700 §4.1.3); the error usually reads redirect_uri_mismatch.",
            fix="Fix the first difference below, or register the received URI exactly.",
            data={**data, "match": "none"},
        ))
        for name, what, fix in diffs:
            if name == "fragment" and got.has_fragment and any(f.check == "oauth.redirect_uri.fragment" for f in findings):
                continue
            findings.append(Finding(f"oauth.redirect_uri.{name}", Status.FAIL, what, fix=fix))
    if got.scheme.lower() == "http" and not got.is_loopback and not got.error and "scheme" not in data["differences"]:
        findings.append(Finding(
            "oauth.redirect_uri.https", Status.WARN,
            "the received redirect URI uses plain http on a non-loopback host",
            detail="RFC 9700 §2.6 requires https for redirect URIs except loopback; most providers reject it.",
            fix=_PROXY_FIX,
        ))
    return Report(findings, title=title)


# ---------------------------------------------------------------------------
# State: signed, expiring, bound to the session
# ---------------------------------------------------------------------------


class StateError(ValueError):
    """Base class: the OAuth ``state`` parameter cannot be accepted."""


class StateExpiredError(StateError):
    """The state was valid but its lifetime is over."""


class StateInvalidError(StateError):
    """The state is malformed, tampered with, for another session, or signed with another secret."""


_STATE_VERSION = "v1"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, str):
        if not secret:
            raise ValueError("secret must not be empty: use the same secret the app signs states with")
        register_secret(secret)
        return secret.encode("utf-8", "surrogatepass")
    if isinstance(secret, bytes | bytearray):
        if not secret:
            raise ValueError("secret must not be empty: use the same secret the app signs states with")
        return bytes(secret)
    raise TypeError(f"secret must be str or bytes, not {type(secret).__name__}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).digest())


def _session_tag(key: bytes, session_id: str) -> str:
    # A keyed tag (not the id itself) so the state reveals nothing about the session.
    return _mac(key, "sid|" + session_id)[:11]


def _check_session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise TypeError("session_id must be a non-empty string (the id of the user's session)")
    return session_id


def generate_state(
    session_id: str,
    secret: str | bytes,
    *,
    expires_in: int = 600,
    now: datetime | float | None = None,
) -> str:
    """A URL-safe OAuth ``state``: expiry, random nonce and session tag, HMAC-SHA256 signed.

    Format ``v1.<expiry unix s>.<nonce>.<session tag>.<signature>`` — only
    ``[A-Za-z0-9_.-]``, so it survives query strings untouched.
    """
    _check_session_id(session_id)
    key = _key(secret)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        raise ValueError(f"expires_in must be a positive number of seconds, got {expires_in!r}")
    exp = int(_to_unix(now)) + expires_in
    body = f"{_STATE_VERSION}.{exp}.{secrets.token_urlsafe(16)}.{_session_tag(key, session_id)}"
    return f"{body}.{_mac(key, body)}"


def verify_state(
    state: str,
    secret: str | bytes,
    *,
    session_id: str,
    now: datetime | float | None = None,
) -> None:
    """Accept a ``state`` from the callback, or raise StateInvalidError / StateExpiredError.

    The signature is compared in constant time and checked before the expiry,
    so a tampered expiry is reported as invalid, not as expired.
    """
    _check_session_id(session_id)
    key = _key(secret)
    if not isinstance(state, str):
        raise StateInvalidError(
            f"state must be the string from the callback's ?state= parameter, got {type(state).__name__}"
        )
    parts = state.split(".")
    if (
        len(parts) != 5
        or parts[0] != _STATE_VERSION
        or not parts[1].isascii()
        or not parts[1].isdigit()
        or not all(_B64URL.match(p) for p in parts[2:])
    ):
        raise StateInvalidError(
            "malformed state (expected v1.<expiry>.<nonce>.<session>.<signature>): the callback's "
            "state was truncated or replaced, or it was not made by generate_state(); start the login again"
        )
    body = state.rsplit(".", 1)[0]
    if not hmac.compare_digest(_mac(key, body), parts[4]):
        raise StateInvalidError(
            "state signature does not match: it was altered, or signed with a different secret "
            "(compare the secret's fingerprint on every instance with svc_nb.tokens.fingerprint)"
        )
    if not hmac.compare_digest(_session_tag(key, session_id), parts[3]):
        raise StateInvalidError(
            "state was issued for a different session: the session cookie changed between login and "
            "callback (another browser, cleared cookies, or the cookie was not sent back); start the login again"
        )
    exp = int(parts[1])
    current = _to_unix(now)
    if current > exp:
        raise StateExpiredError(
            f"state expired {int(current - exp)} s ago (at {_iso(exp)}): the user took too long "
            "between login and callback, or the clocks differ; send them back to start the login again"
        )


# ---------------------------------------------------------------------------
# Starlette session cookie (svc-infra keeps state, PKCE verifier and nonce there)
# ---------------------------------------------------------------------------


def _extract_cookie(cookie: str, name: str) -> tuple[str | None, int]:
    """The cookie's value from a raw value, ``name=value``, a Cookie or Set-Cookie header."""
    text = cookie.strip()
    for prefix in ("set-cookie:", "cookie:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):].strip()
    for piece in text.split(";"):
        k, sep, v = piece.strip().partition("=")
        if sep and k.strip() == name:
            value = v.strip().strip('"')
            return value or None, len(piece.strip().encode("utf-8", "replace"))
    # A bare value (base64 may end in '=', so '=' alone does not make it a pair).
    if text and ";" not in text and not any(c.isspace() for c in text):
        return text, len(name) + 1 + len(text.encode("utf-8", "replace"))
    return None, 0


def _cookie_attributes(cookie: str) -> Finding | None:
    """From a Set-Cookie header: the attributes that decide whether the callback gets the cookie."""
    pieces = [p.strip() for p in cookie.split(";")[1:]]
    attrs = {p.partition("=")[0].strip().lower(): p.partition("=")[2].strip() for p in pieces if p}
    if not attrs.keys() & {"path", "samesite", "secure", "domain", "max-age", "expires", "httponly"}:
        return None  # a Cookie request header, not Set-Cookie
    samesite = attrs.get("samesite", "lax").lower()
    secure = "secure" in attrs
    shown = "; ".join(pieces)
    if samesite == "strict":
        return Finding(
            "oauth.session.attributes", Status.FAIL, "SameSite=Strict: the cookie is not sent on the redirect back from the provider",
            detail=shown, fix="Use SameSite=Lax (Starlette's default: SessionMiddleware(same_site='lax')).",
        )
    if samesite == "none" and not secure:
        return Finding(
            "oauth.session.attributes", Status.FAIL, "SameSite=None without Secure: browsers reject the cookie",
            detail=shown, fix="Use SameSite=Lax, or SameSite=None together with https_only=True.",
        )
    note = " (Secure: only sent over https — an http callback gets no session)" if secure else ""
    domain = f"; domain {attrs['domain']}" if attrs.get("domain") else "; host-only (not shared with other subdomains)"
    return Finding("oauth.session.attributes", Status.OK, f"SameSite={samesite}{domain}{note}", detail=shown)


def _session_keys(session: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    providers: dict[str, dict[str, Any]] = {}
    for k, v in session.items():
        m = re.fullmatch(r"oauth:(?P<p>[^:]+):(?P<what>.+)", str(k))
        if m:
            providers.setdefault(m["p"], {})[m["what"]] = v
    return providers


def inspect_session_cookie(
    cookie: str | None,
    secret: str | bytes,
    *,
    now: datetime | float | None = None,
    provider: str | None = None,
    callback_state: str | None = None,
    max_age: int = SESSION_MAX_AGE,
    cookie_name: str = SESSION_COOKIE,
) -> Report:
    """Decode and verify svc-infra's Starlette session cookie and show its OAuth keys.

    ``cookie`` may be the raw value, ``svc_session=...``, or a whole Cookie /
    Set-Cookie header. With ``callback_state=`` the cookie's ``oauth:{provider}:state``
    is compared with the callback's, which answers "Invalid state parameter".
    """
    current = _to_unix(now)
    key = _key(secret)
    findings: list[Finding] = []
    title = f"session cookie {cookie_name}"
    value, size = (None, 0) if not cookie else _extract_cookie(str(cookie), cookie_name)
    if value is None:
        findings.append(Finding(
            "oauth.session.cookie", Status.FAIL, f"no {cookie_name} cookie in what was given",
            detail="Without the session cookie the callback finds no saved state: svc-infra answers "
                   "400 invalid_state. The browser did not send it back to the callback.",
            fix="In the browser's dev tools (Application → Cookies) check on the callback request: "
                "SameSite (Lax is needed for the provider's top-level redirect back; Strict drops it), "
                "Domain (login started on www.example.com, callback on example.com or localhost vs "
                "127.0.0.1), and Secure (an https_only cookie is never sent over http).",
        ))
        return Report(findings, title=title)
    attributes = _cookie_attributes(str(cookie))
    if attributes is not None:
        findings.append(attributes)
    status = Status.FAIL if size > COOKIE_LIMIT else Status.WARN if size > COOKIE_LIMIT * 0.9 else Status.OK
    findings.append(Finding(
        "oauth.session.cookie", status,
        f"{cookie_name} is {size} bytes" + (" — over the 4096-byte browser limit" if size > COOKIE_LIMIT else ""),
        detail="Browsers silently drop a cookie over 4096 bytes, so the state saved at login never comes back."
        if size > COOKIE_LIMIT else "",
        fix="Store less in the session (no tokens or profiles in request.session); keep large data server-side."
        if status is not Status.OK else "",
        data={"bytes": size, "limit": COOKIE_LIMIT},
    ))
    try:
        from itsdangerous import BadSignature, TimestampSigner
    except ModuleNotFoundError:  # pragma: no cover - starlette's SessionMiddleware needs it
        findings.append(Finding("oauth.session.signature", Status.SKIP, "itsdangerous is not installed",
                                fix="pip install itsdangerous"))
        return Report(findings, title=title)
    signer = TimestampSigner(key)
    try:
        payload, signed_at = signer.unsign(value.encode("utf-8", "replace"), return_timestamp=True)
    except BadSignature as exc:
        findings.append(Finding(
            "oauth.session.signature", Status.FAIL, "the cookie's signature does not verify with this secret",
            detail=f"itsdangerous: {type(exc).__name__}. Starlette then ignores the cookie and starts an "
                   "empty session, so the saved state is gone.",
            fix="Use the same SessionMiddleware secret_key on every instance and across restarts "
                "(compare with svc_nb.tokens.fingerprint); a rotated secret logs everybody out once.",
        ))
        return Report(findings, title=title)
    # A genuine session cookie is a credential: mask it wherever it shows up later.
    # (Unverified garbage is not registered: it would mask ordinary text.)
    register_secret(value)
    issued = signed_at.timestamp()
    age = current - issued
    findings.append(Finding("oauth.session.signature", Status.OK, "signature verifies with this secret"))
    expired = age > max_age
    findings.append(Finding(
        "oauth.session.age",
        Status.FAIL if expired else Status.OK,
        f"signed {int(age)} s ago (max_age {max_age} s)" + (" — expired" if expired else ""),
        detail=f"signed at {_iso(issued)}; Starlette ignores sessions older than max_age, so the state "
               "from the login is lost." if expired else f"signed at {_iso(issued)}",
        fix="The user started the login more than 4 h ago: send them to the login again." if expired else "",
        data={"signed_at": _iso(issued), "age_s": round(age, 1), "max_age_s": max_age},
    ))
    try:
        session = json.loads(base64.b64decode(payload, validate=False))
        if not isinstance(session, dict):
            raise ValueError("not a JSON object")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        findings.append(Finding(
            "oauth.session.payload", Status.FAIL, "the cookie is signed but its body is not base64 JSON",
            detail=str(exc)[:200], fix="This is not a Starlette SessionMiddleware cookie.",
        ))
        return Report(findings, title=title)
    providers = _session_keys(session)
    for keys in providers.values():
        for what, v in keys.items():
            if "verifier" in what or "token" in what:
                register_secret(str(v))
    if provider is not None:
        providers = {p: k for p, k in providers.items() if p == provider}
    shown: dict[str, dict[str, str]] = {
        p: {w: (mask_secret(str(v)) if "verifier" in w or "token" in w else str(v)) for w, v in k.items()}
        for p, k in providers.items()
    }
    other = sorted(k for k in session if not str(k).startswith("oauth:"))
    if providers:
        lines = [f"oauth:{p}:{w} = {v}" for p, k in shown.items() for w, v in k.items()]
        findings.append(Finding(
            "oauth.session.oauth_keys", Status.WARN if expired else Status.OK,
            f"pending login for {', '.join(sorted(providers))}"
            + (" (ignored by Starlette: the session expired)" if expired else ""),
            detail="\n".join(lines), data={"providers": shown, "other_keys": other},
        ))
    else:
        findings.append(Finding(
            "oauth.session.oauth_keys", Status.WARN if callback_state is None else Status.FAIL,
            "no oauth:<provider>:state in the session" + (f" for provider {provider!r}" if provider else ""),
            detail="svc-infra removes the keys once a callback succeeds; none here means no login is "
                   "pending in this browser session (already completed, or started in another browser "
                   "or on another host).",
            fix="Start the login again from the same host the callback is served on.",
            data={"other_keys": other},
        ))
    if callback_state is not None:
        findings.append(_compare_state_finding(callback_state, providers, expired))
    return Report(findings, title=title)


def _compare_state_finding(
    callback_state: str, providers: Mapping[str, Mapping[str, Any]], expired: bool
) -> Finding:
    states = {p: str(k["state"]) for p, k in providers.items() if "state" in k}
    cb = callback_state.encode("utf-8", "surrogatepass")
    match = [p for p, s in states.items() if hmac.compare_digest(s.encode("utf-8", "surrogatepass"), cb)]
    if match and not expired:
        return Finding("oauth.session.state", Status.OK,
                       f"the callback's state matches oauth:{match[0]}:state", data={"provider": match[0]})
    if expired:
        return Finding(
            "oauth.session.state", Status.FAIL, "session expired: the saved state is ignored",
            detail="Starlette drops a session older than max_age (4 h in svc-infra) — the callback sees none.",
            fix="Start the login again.",
        )
    if not states:
        return Finding(
            "oauth.session.state", Status.FAIL, "the session holds no state to compare with",
            detail="The login was started in another browser or on another host name, or the session "
                   "was replaced after login (cleared cookies, another secret).",
            fix="Start the login again from the same browser and host that serves the callback.",
        )
    return Finding(
        "oauth.session.state", Status.FAIL, "the callback's state differs from the session's",
        detail="The session holds a newer state: another login was started (e.g. in another tab) after "
               "this one and overwrote oauth:<provider>:state; or the callback URL was reused/bookmarked.",
        fix="Finish only the most recent login attempt; close other login tabs and start again.",
        data={"providers": sorted(states)},
    )


def compare_state(
    callback_state: str,
    cookie: str | None,
    secret: str | bytes,
    *,
    provider: str | None = None,
    now: datetime | float | None = None,
) -> Report:
    """Answer "Invalid state parameter": the callback's ``state`` vs the session cookie's."""
    if not isinstance(callback_state, str):
        raise TypeError("callback_state must be the ?state= value of the callback URL")
    return inspect_session_cookie(cookie, secret, now=now, provider=provider, callback_state=callback_state)


# ---------------------------------------------------------------------------
# Provider metadata and the code exchange (bounded network probes)
# ---------------------------------------------------------------------------


def _metadata_urls(url: str) -> list[str]:
    if "/.well-known/" in url:
        return [url]
    base = url.rstrip("/")
    return [f"{base}/.well-known/openid-configuration", f"{base}/.well-known/oauth-authorization-server"]


def _net_fail(check: str, url: str, exc: BaseException, timeout: float) -> Finding:
    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Finding(check, Status.FAIL, f"no answer from {mask_url(url)} within {timeout:g} s",
                       detail="The server accepted (or the network dropped) the connection but did not answer in time.",
                       fix="Check the provider's status and egress/proxy settings, or raise timeout=.",
                       data={"error": "timeout", "timeout_s": timeout})
    if isinstance(exc, httpx.ConnectError):
        return Finding(check, Status.FAIL, f"cannot connect to {mask_url(url)}",
                       detail=f"{type(exc).__name__}: {str(exc)[:200]}",
                       fix="Check the URL's host and port, DNS, and that outbound HTTPS is allowed.",
                       data={"error": "connect"})
    return Finding(check, Status.FAIL, f"request to {mask_url(url)} failed: {type(exc).__name__}",
                   detail=str(exc)[:200], fix="Check the URL.", data={"error": type(exc).__name__})


async def check_provider(
    issuer_or_metadata_url: str, *, timeout: float = 5.0, now: datetime | float | None = None
) -> Report:
    """Fetch the provider's OIDC/OAuth metadata and check what a code flow with PKCE needs.

    Checks the endpoints, ``S256`` in ``code_challenge_methods_supported``, the
    issuer, and the clock skew between the provider's ``Date`` header and this
    machine (``now=`` overrides this machine's clock).
    """
    import httpx

    if not isinstance(issuer_or_metadata_url, str) or "://" not in issuer_or_metadata_url:
        raise TypeError("pass the issuer URL (https://accounts.example.com) or its metadata URL")
    title = "OAuth provider"
    findings: list[Finding] = []
    meta: dict[str, Any] | None = None
    date_header = ""
    received_at = 0.0
    used = ""
    latency = 0.0
    attempts: list[str] = []
    try:
        async with asyncio.timeout(timeout), httpx.AsyncClient(
            timeout=timeout, follow_redirects=True, verify=tls_context()
        ) as client:
            for url in _metadata_urls(issuer_or_metadata_url):
                started = time.perf_counter()
                resp = await client.get(url, headers={"Accept": "application/json"})
                received_at = time.time()
                latency = round((time.perf_counter() - started) * 1000, 1)
                attempts.append(f"{mask_url(url)} → HTTP {resp.status_code}")
                if resp.status_code != 200:
                    continue
                try:
                    body = resp.json()
                except ValueError:
                    attempts[-1] += " (not JSON)"
                    continue
                if isinstance(body, dict):
                    meta, used, date_header = body, url, resp.headers.get("date", "")
                    break
    except Exception as exc:  # network failures are findings, not tracebacks
        findings.append(_net_fail("oauth.provider.metadata", issuer_or_metadata_url, exc, timeout))
        return Report(findings, title=title)
    if meta is None:
        findings.append(Finding(
            "oauth.provider.metadata", Status.FAIL, "no OIDC/OAuth metadata document found",
            detail="\n".join(attempts),
            fix="Use the issuer URL exactly as the provider documents it; providers without discovery "
                "need authorize_url/access_token_url configured by hand.",
        ))
        return Report(findings, title=title)
    findings.append(Finding("oauth.provider.metadata", Status.OK, f"metadata from {mask_url(used)}",
                            data={"url": mask_url(used), "latency_ms": latency}))
    issuer = meta.get("issuer")
    expected_issuer = used.split("/.well-known/")[0]
    if issuer and str(issuer).rstrip("/") != expected_issuer.rstrip("/") and "/.well-known/" not in issuer_or_metadata_url:
        findings.append(Finding(
            "oauth.provider.issuer", Status.WARN, f"issuer {issuer!r} differs from the URL used",
            detail="OIDC clients reject ID tokens whose iss is not exactly the configured issuer.",
            fix=f"Configure the issuer as {issuer!r}.",
        ))
    else:
        findings.append(Finding("oauth.provider.issuer", Status.OK if issuer else Status.WARN,
                                f"issuer {issuer!r}" if issuer else "metadata has no issuer"))
    oidc = "openid-configuration" in used
    required = ["authorization_endpoint", "token_endpoint"] + (["jwks_uri"] if oidc else [])
    missing = [k for k in required if not meta.get(k)]
    endpoints = {k: meta[k] for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri") if meta.get(k)}
    findings.append(Finding(
        "oauth.provider.endpoints", Status.FAIL if missing else Status.OK,
        f"missing {', '.join(missing)}" if missing else "authorization, token" + (" and JWKS" if oidc else "") + " endpoints present",
        detail="\n".join(f"{k}: {v}" for k, v in endpoints.items()),
        fix="Configure the missing endpoints explicitly in the OAuth client registration." if missing else "",
        data=endpoints,
    ))
    grants = meta.get("grant_types_supported")
    if isinstance(grants, list) and "authorization_code" not in grants:
        findings.append(Finding("oauth.provider.grant", Status.FAIL, "authorization_code grant not advertised",
                                detail=f"grant_types_supported: {grants}",
                                fix="Enable the authorization code grant for this client at the provider."))
    methods = meta.get("code_challenge_methods_supported")
    if methods is None:
        findings.append(Finding(
            "oauth.provider.pkce", Status.WARN, "the metadata does not advertise PKCE support",
            detail="svc-infra always sends an S256 code_challenge; most providers accept it anyway.",
            fix="If exchanges fail with invalid_grant/invalid_request about the verifier, check the provider's PKCE docs.",
        ))
    elif "S256" in methods:
        findings.append(Finding("oauth.provider.pkce", Status.OK, "PKCE S256 supported", data={"methods": list(methods)}))
    else:
        findings.append(Finding(
            "oauth.provider.pkce", Status.FAIL, f"PKCE S256 not supported (only {methods})",
            detail="svc-infra sends code_challenge_method=S256.", fix="Enable S256 PKCE at the provider.",
        ))
    parsed = email.utils.parsedate_to_datetime(date_header) if date_header else None
    if parsed is None or parsed.tzinfo is None:
        findings.append(Finding("oauth.provider.clock", Status.SKIP, "the provider sent no usable Date header"))
    else:
        local = _to_unix(now) if now is not None else received_at
        skew = local - parsed.timestamp()
        status = Status.FAIL if abs(skew) > 60 else Status.WARN if abs(skew) > 5 else Status.OK
        findings.append(Finding(
            "oauth.provider.clock", status,
            f"clock skew {skew:+.0f} s (this machine minus provider)",
            detail="ID tokens carry iat/exp; a clock off by minutes makes them look not-yet-valid or expired. "
                   "The Date header has 1-second resolution.",
            fix="Sync this machine's clock (timedatectl set-ntp true / chrony)." if status is not Status.OK else "",
            data={"skew_s": round(skew, 1), "provider_date": date_header},
        ))
    return Report(findings, title=title)


_ERROR_CAUSES: dict[str, tuple[str, str]] = {
    "invalid_grant": (
        "the code was rejected: already used (the callback page was refreshed or the callback ran "
        "twice), expired (codes live seconds to minutes), issued to another client, redirect_uri "
        "differs from the authorization request, or the PKCE verifier does not match",
        "Start a fresh login and exchange the code once, immediately, with the same redirect_uri "
        "and the code_verifier saved in the same session.",
    ),
    "invalid_client": (
        "client authentication failed: wrong client_id or client_secret, or the wrong auth method "
        "(client_secret_basic vs client_secret_post)",
        "Check <PROVIDER>_CLIENT_ID / <PROVIDER>_CLIENT_SECRET (no stray whitespace or quotes), "
        "and the token_endpoint_auth_method the provider expects.",
    ),
    "unauthorized_client": (
        "this client is not allowed to use the authorization_code grant",
        "Enable the authorization code grant (web application type) for this client at the provider.",
    ),
    "unsupported_grant_type": (
        "the token endpoint does not support grant_type=authorization_code",
        "Check the token URL (not the userinfo or device endpoint) and the provider's supported grants.",
    ),
    "invalid_request": (
        "a parameter is missing, repeated or malformed (often code_verifier, redirect_uri or client_id)",
        "Compare the request with the provider's token endpoint docs; see error_description.",
    ),
    "invalid_scope": ("the requested scope is invalid or exceeds what was granted", "Request only the scopes registered for this client."),
    "bad_verification_code": (
        "GitHub's invalid_grant: the code is wrong, expired or already used",
        "Start a fresh login and exchange the code once.",
    ),
    "redirect_uri_mismatch": (
        "the redirect_uri differs from the one in the authorization request or the registered ones",
        "Send exactly the redirect_uri of the authorization request; compare with compare_redirect_uris().",
    ),
}


def _invalid_grant_cause(description: str) -> tuple[str, str]:
    d = description.lower()
    if "redirect" in d:
        return "redirect_uri_mismatch", "the redirect_uri differs from the one sent in the authorization request"
    if "verifier" in d or "challenge" in d or "pkce" in d:
        return "pkce_mismatch", "the code_verifier does not match the code_challenge of the authorization request"
    if "used" in d or "redeemed" in d or "already" in d:
        return "code_reused", "the code was already exchanged (callback page refreshed, or the callback ran twice)"
    if "expired" in d:
        return "code_expired", "the code expired before the exchange"
    return "code_invalid", "the code is unknown to the provider: already used, expired, or issued to another client"


# Fingerprints of codes this process exchanged successfully: a later invalid_grant for
# one of them is certainly a reuse, whatever the provider's wording.
_EXCHANGED: dict[str, float] = {}


def _code_key(token_url: str, code: str) -> str:
    return hashlib.sha256(f"{token_url}\x00{code}".encode("utf-8", "surrogatepass")).hexdigest()


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


async def exchange_code(
    token_url: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str | None = None,
    code_verifier: str | None = None,
    timeout: float = 5.0,
    auth_method: str = "client_secret_post",
) -> Report:
    """Exchange an authorization code for real and classify what went wrong (RFC 6749 §5.2).

    ``auth_method`` is ``client_secret_post`` (secret in the form),
    ``client_secret_basic`` (HTTP Basic) or ``none`` (public client with PKCE).
    Tokens in the answer are shown shortened; the client secret is never shown.
    """
    import httpx

    for name, val in (("token_url", token_url), ("code", code), ("redirect_uri", redirect_uri), ("client_id", client_id)):
        if not isinstance(val, str) or not val:
            raise TypeError(f"{name} must be a non-empty string")
    if auth_method not in {"client_secret_post", "client_secret_basic", "none"}:
        raise ValueError("auth_method must be 'client_secret_post', 'client_secret_basic' or 'none'")
    register_secret(client_secret, code, code_verifier)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id}
    headers = {"Accept": "application/json"}
    if client_secret and auth_method == "client_secret_basic":
        # RFC 6749 §2.3.1 (and Authlib): form-encode id and secret before base64.
        pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif client_secret and auth_method == "client_secret_post":
        form["client_secret"] = client_secret
    if code_verifier:
        form["code_verifier"] = code_verifier
    check = "oauth.exchange"
    base = {"token_url": mask_url(token_url), "auth_method": auth_method, "pkce": bool(code_verifier)}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout), httpx.AsyncClient(
            timeout=timeout, verify=tls_context()
        ) as client:
            resp = await client.post(token_url, data=form, headers=headers)
    except Exception as exc:
        return Report([_net_fail(check, token_url, exc, timeout)], title="OAuth code exchange")
    latency = round((time.perf_counter() - started) * 1000, 1)
    data: dict[str, Any] = {**base, "status_code": resp.status_code, "latency_ms": latency}
    body = _parse_body(resp.text, resp.headers.get("content-type", ""))
    if body is None:
        excerpt = re.sub(r"\s+", " ", resp.text[:200])
        return Report([Finding(
            check, Status.FAIL, f"HTTP {resp.status_code} with a non-JSON answer from the token endpoint",
            detail=f"content-type {resp.headers.get('content-type', '?')!r}; starts with: {excerpt!r}. "
                   "An HTML page usually means the wrong URL (the authorize or a login page), a proxy "
                   "error page, or a WAF block.",
            fix="Use the provider's token_endpoint from its metadata (svc_nb.oauth.check_provider).",
            data={**data, "error": "non_json"},
        )], title="OAuth code exchange")
    error = body.get("error")
    if error:
        error = str(error)
        description = str(body.get("error_description", ""))[:300]
        why, fix = _ERROR_CAUSES.get(error, ("a provider-specific error", "See error_description and the provider's docs."))
        cause = error
        if error in {"invalid_grant", "bad_verification_code"}:
            cause, why_specific = _invalid_grant_cause(description)
            if _code_key(token_url, code) in _EXCHANGED:
                cause, why_specific = "code_reused", (
                    "this code was already exchanged successfully by svc_nb in this process — codes "
                    "are single-use (a refreshed callback page or a double callback does this)")
            why = f"{why_specific}. In general, invalid_grant means {why}"
        elif error == "invalid_request" and "verifier" in description.lower():
            cause, why = "pkce_missing_or_malformed", (
                "the code_verifier is missing or malformed (43-128 chars of [A-Za-z0-9-._~]); the "
                "session that held oauth:<provider>:pkce_verifier was probably lost")
        return Report([Finding(
            check, Status.FAIL, f"token endpoint answered {error}" + (f": {description}" if description else ""),
            detail=f"HTTP {resp.status_code}. Likely cause: {why}.",
            fix=fix, data={**data, "error": error, "error_description": description, "cause": cause},
        )], title="OAuth code exchange")
    if resp.status_code != 200 or "access_token" not in body:
        return Report([Finding(
            check, Status.FAIL, f"HTTP {resp.status_code} without an access_token or an RFC 6749 error",
            detail=f"keys in the answer: {sorted(body)[:20]}",
            fix="Check the token URL and the provider's docs.", data={**data, "error": "unexpected"},
        )], title="OAuth code exchange")
    if len(_EXCHANGED) >= 1000:  # bounded memory in a long-lived kernel: drop the oldest
        del _EXCHANGED[min(_EXCHANGED, key=_EXCHANGED.__getitem__)]
    _EXCHANGED[_code_key(token_url, code)] = time.time()
    tokens: dict[str, Any] = {}
    for name in ("access_token", "refresh_token", "id_token"):
        if body.get(name):
            register_secret(str(body[name]))
            tokens[name] = shorten_token(str(body[name]))
    # token_type last: "Bearer" followed by a newline would read like an Authorization header.
    for name in ("expires_in", "scope", "token_type"):
        if name in body:
            tokens[name] = body[name]
    return Report([Finding(
        check, Status.OK, f"code exchanged: {', '.join(k for k in tokens if k.endswith('token'))}",
        detail="\n".join(f"{k}: {v}" for k, v in tokens.items()),
        data={**data, "tokens": tokens},
    )], title="OAuth code exchange")


# ---------------------------------------------------------------------------
# diagnose(): provider credentials in the environment (no network)
# ---------------------------------------------------------------------------


def _check_env(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    ids = sorted(k for k in environ if k.endswith("_CLIENT_ID") and environ[k].strip())
    if not ids:
        return [Finding("oauth.credentials", Status.SKIP, "no <PROVIDER>_CLIENT_ID in the environment")]
    findings = []
    for name in ids:
        provider = name.removesuffix("_CLIENT_ID")
        secret_name = f"{provider}_CLIENT_SECRET"
        secret = environ.get(secret_name, "")
        check = f"oauth.credentials.{provider.lower()}"
        if not secret.strip():
            findings.append(Finding(
                check, Status.WARN, f"{name} is set but {secret_name} is missing or empty",
                detail="A confidential web client must authenticate at the token endpoint; the exchange "
                       "will fail with invalid_client.",
                fix=f"export {secret_name}=<the client secret from the provider console>",
            ))
        else:
            register_secret(secret)
            note = " (has surrounding whitespace)" if secret != secret.strip() else ""
            findings.append(Finding(
                check, Status.WARN if note else Status.OK, f"{name} and {secret_name} are set{note}",
                fix=f"Remove the whitespace around {secret_name}." if note else "",
                data={"secret": mask_secret(secret)},
            ))
    return findings


with contextlib.suppress(Exception):  # registering never breaks the import
    register_check("oauth", _check_env, order=60)
