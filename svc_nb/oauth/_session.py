"""svc-infra's Starlette session cookie, which holds the OAuth state, PKCE verifier and nonce.

Answers "Invalid state parameter" from the cookie itself: was it sent back, is
it signed with this secret, is it too old or too big, and does its saved state
match the callback's.

At login svc-infra keeps ``oauth:{provider}:state`` / ``pkce_verifier`` / ``nonce``
and Authlib keeps ``_state_{provider}_{state}`` (the redirect URI it sent). The
callback pops svc-infra's keys first and answers ``400 invalid_state`` when the
session holds no matching state (no cookie, another secret, older than max_age,
another login since); then Authlib looks up its key and, without it, svc-infra
redirects to ``AUTH_POST_LOGIN_REDIRECT?oauth_error=mismatching_state``. Each
failing finding carries that answer in ``data["svc_infra_answer"]``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from svc_nb._clock import Now, unix_seconds
from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import explain
from svc_nb._fmt import b64decode_lenient
from svc_nb._redact import mask_secret, register_secret
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import check_duration
from svc_nb.oauth._causes import OAuthCause as C
from svc_nb.oauth._session_text import COOKIE as _COOKIE
from svc_nb.oauth._session_text import STATE as _STATE
from svc_nb.oauth._state import signing_key

__all__ = [
    "COOKIE_LIMIT",
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "compare_state",
    "inspect_session_cookie",
]

SESSION_COOKIE = "svc_session"
SESSION_MAX_AGE = 4 * 3600
#: What svc-infra answers a callback whose session state is missing or differs.
INVALID_STATE_ANSWER = "400 invalid_state"
#: What svc-infra answers when Authlib's own state key is missing (a redirect, not an error page).
MISMATCHING_STATE_ANSWER = "302 oauth_error=mismatching_state"
_ANSWER_INVALID = {"svc_infra_answer": INVALID_STATE_ANSWER}
_AUTHLIB_PREFIX = "_state_"
COOKIE_LIMIT = 4096  # bytes browsers keep per cookie (name + value + attributes)
_ATTRIBUTES = frozenset({"path", "samesite", "secure", "domain", "max-age", "expires", "httponly"})


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


def _extract_cookie(cookie: str, name: str) -> tuple[str | None, int]:
    """The cookie's value from a raw value, ``name=value``, a Cookie or Set-Cookie header."""
    text = cookie.strip()
    for prefix in ("set-cookie:", "cookie:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    for piece in text.split(";"):
        key, sep, value = piece.strip().partition("=")
        if sep and key.strip() == name:
            value = value.strip().strip('"')
            return value or None, len(piece.strip().encode("utf-8", "replace"))
    # A bare value (base64 may end in '=', so '=' alone does not make it a pair).
    if text and ";" not in text and not any(c.isspace() for c in text):
        return text, len(name) + 1 + len(text.encode("utf-8", "replace"))
    return None, 0


def _attributes(cookie: str) -> dict[str, str]:
    """A Set-Cookie header's attributes (lower-case names); empty for a Cookie request header."""
    pieces = [p.strip() for p in cookie.split(";")[1:]]
    attrs = {p.partition("=")[0].strip().lower(): p.partition("=")[2].strip() for p in pieces if p}
    return attrs if attrs.keys() & _ATTRIBUTES else {}


def _cookie_max_age(cookie: str) -> float | None:
    """Max-Age of a Set-Cookie header: Starlette writes its SessionMiddleware max_age there."""
    raw = _attributes(cookie).get("max-age", "")
    return float(raw) if raw.isascii() and raw.isdigit() else None


def _attributes_finding(cookie: str) -> Finding | None:
    """From a Set-Cookie header: the attributes that decide whether the callback gets the cookie."""
    pieces = [p.strip() for p in cookie.split(";")[1:]]
    attrs = _attributes(cookie)
    if not attrs:
        return None  # a Cookie request header, not Set-Cookie
    samesite = attrs.get("samesite", "lax").lower()
    secure = "secure" in attrs
    shown = "; ".join(pieces)
    if samesite == "strict":
        return explain("oauth.session.attributes", C.SAMESITE_STRICT, _COOKIE, attributes=shown)
    if samesite == "none" and not secure:
        return explain(
            "oauth.session.attributes", C.SAMESITE_NONE_INSECURE, _COOKIE, attributes=shown
        )
    note = " (Secure: only sent over https — an http callback gets no session)" if secure else ""
    domain = (
        f"; domain {attrs['domain']}"
        if attrs.get("domain")
        else "; host-only (not shared with other subdomains)"
    )
    return Finding(
        "oauth.session.attributes", Status.OK, f"SameSite={samesite}{domain}{note}", detail=shown
    )


def _size_finding(size: int, cookie_name: str) -> Finding:
    data = {"bytes": size, "limit": COOKIE_LIMIT}
    fields: dict[str, Any] = {"cookie_name": cookie_name, "size": size}
    if size > COOKIE_LIMIT:
        return explain("oauth.session.cookie", C.COOKIE_TOO_LARGE, _COOKIE, data=data, **fields)
    if size > COOKIE_LIMIT * 0.9:
        return explain("oauth.session.cookie", C.COOKIE_NEAR_LIMIT, _COOKIE, data=data, **fields)
    return Finding("oauth.session.cookie", Status.OK, f"{cookie_name} is {size} bytes", data=data)


@dataclass(frozen=True)
class _Signed:
    payload: bytes
    signed_at: float


def _unsign(value: str, key: bytes) -> _Signed | Finding:
    try:
        from itsdangerous import BadSignature, TimestampSigner
    except ModuleNotFoundError:  # pragma: no cover - starlette's SessionMiddleware needs it
        return explain("oauth.session.signature", C.DEPENDENCY_MISSING, _COOKIE)
    try:
        payload, signed_at = TimestampSigner(key).unsign(
            value.encode("utf-8", "replace"), return_timestamp=True
        )
    except BadSignature as exc:
        return explain(
            "oauth.session.signature",
            C.SESSION_SIGNATURE_INVALID,
            _COOKIE,
            data=_ANSWER_INVALID,
            error_type=type(exc).__name__,
        )
    return _Signed(payload, signed_at.timestamp())


def _age_finding(signed_at: float, current: float, max_age: float) -> Finding:
    age = current - signed_at
    data = {"signed_at": _iso(signed_at), "age_s": round(age, 1), "max_age_s": max_age}
    if age > max_age:
        return explain(
            "oauth.session.age",
            C.SESSION_EXPIRED,
            _COOKIE,
            data={**data, **_ANSWER_INVALID},
            age=int(age),
            max_age=f"{max_age:g}",
            signed_at=_iso(signed_at),
        )
    return Finding(
        "oauth.session.age",
        Status.OK,
        f"signed {int(age)} s ago (max_age {max_age:g} s)",
        detail=f"signed at {_iso(signed_at)}",
        data=data,
    )


def _session_of(payload: bytes) -> dict[str, Any] | Finding:
    raw = b64decode_lenient(payload, urlsafe=False)
    try:
        session = json.loads(raw) if raw is not None else None
    except (ValueError, UnicodeDecodeError):
        session = None
    if not isinstance(session, dict):
        return explain("oauth.session.payload", C.SESSION_PAYLOAD_INVALID, _COOKIE)
    return session


def _oauth_keys(session: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``oauth:<provider>:<what>`` keys grouped by provider."""
    providers: dict[str, dict[str, Any]] = {}
    for key, value in session.items():
        prefix, _, rest = str(key).partition(":")
        provider, _, what = rest.partition(":")
        if prefix == "oauth" and provider and what:
            providers.setdefault(provider, {})[what] = value
    return providers


def _authlib_states(session: Mapping[str, Any], providers: Iterable[str]) -> dict[str, list[str]]:
    """Authlib's ``_state_{provider}_{state}`` keys: the states it kept, by provider.

    A state (token_urlsafe) may hold '_', so a known provider name is matched first.
    """
    known = sorted(set(providers), key=len, reverse=True)
    states: dict[str, list[str]] = {}
    for key in session:
        rest = str(key)
        if not rest.startswith(_AUTHLIB_PREFIX):
            continue
        rest = rest[len(_AUTHLIB_PREFIX) :]
        provider = next((p for p in known if rest.startswith(p + "_")), None)
        if provider is None:
            provider = rest.partition("_")[0]
        states.setdefault(provider, []).append(rest[len(provider) + 1 :])
    return states


def _is_secret_key(what: str) -> bool:
    return "verifier" in what or "token" in what


def _keys_finding(
    session: Mapping[str, Any],
    providers: Mapping[str, Mapping[str, Any]],
    *,
    expired: bool,
    provider: str | None,
    comparing: bool,
) -> Finding:
    other = sorted(str(k) for k in session if not str(k).startswith(("oauth:", _AUTHLIB_PREFIX)))
    authlib = _authlib_states(session, providers)
    if provider is not None:
        authlib = {p: v for p, v in authlib.items() if p == provider}
    if not providers:
        return explain(
            "oauth.session.oauth_keys",
            C.NO_PENDING_LOGIN,
            _COOKIE,
            status=Status.FAIL if comparing else None,
            data={"other_keys": other, "authlib_states": authlib, **_ANSWER_INVALID},
            for_provider=f" for provider {provider!r}" if provider else "",
        )
    shown = {
        p: {w: mask_secret(str(v)) if _is_secret_key(w) else str(v) for w, v in keys.items()}
        for p, keys in providers.items()
    }
    summary = f"pending login for {', '.join(sorted(providers))}"
    data = {"providers": shown, "authlib_states": authlib, "other_keys": other}
    detail = "\n".join(
        [f"oauth:{p}:{w} = {v}" for p, keys in shown.items() for w, v in keys.items()]
        + [f"{_AUTHLIB_PREFIX}{p}_{st} (Authlib)" for p, sts in authlib.items() for st in sts]
    )
    if expired:
        summary += " (ignored by Starlette: the session expired)"
        return Finding(
            "oauth.session.oauth_keys",
            Status.WARN,
            summary,
            detail,
            data=data,
            cause=C.SESSION_EXPIRED,
        )
    return Finding("oauth.session.oauth_keys", Status.OK, summary, detail, data=data)


def _state_finding(
    callback_state: str,
    providers: Mapping[str, Mapping[str, Any]],
    authlib: Mapping[str, list[str]],
    expired: bool,
) -> Finding:
    states = {p: str(k["state"]) for p, k in providers.items() if "state" in k}
    received = callback_state.encode("utf-8", "surrogatepass")
    match = [
        p
        for p, s in states.items()
        if hmac.compare_digest(s.encode("utf-8", "surrogatepass"), received)
    ]
    if expired:
        return explain("oauth.session.state", C.SESSION_EXPIRED, _STATE, data=_ANSWER_INVALID)
    if not states:
        return explain("oauth.session.state", C.NO_PENDING_LOGIN, _STATE, data=_ANSWER_INVALID)
    if not match:
        data = {"providers": sorted(states), **_ANSWER_INVALID}
        return explain("oauth.session.state", C.STATE_MISMATCH, _STATE, data=data)
    provider = match[0]
    if callback_state not in authlib.get(provider, []):
        data = {"provider": provider, "svc_infra_answer": MISMATCHING_STATE_ANSWER}
        return explain(
            "oauth.session.state", C.AUTHLIB_STATE_MISSING, _STATE, data=data, provider=provider
        )
    return Finding(
        "oauth.session.state",
        Status.OK,
        f"the callback's state matches oauth:{provider}:state and Authlib's saved state",
        data={"provider": provider},
    )


def _payload_findings(
    value: str,
    key: bytes,
    current: float,
    max_age: float,
    provider: str | None,
    callback_state: str | None,
) -> list[Finding]:
    """Signature, age, the OAuth keys and the state comparison of a cookie that was found."""
    signed = _unsign(value, key)
    if isinstance(signed, Finding):
        return [signed]
    # A genuine session cookie is a credential: mask it wherever it shows up later.
    # (Unverified garbage is not registered: it would mask ordinary text.)
    register_secret(value)
    findings = [
        Finding("oauth.session.signature", Status.OK, "signature verifies with this secret")
    ]
    age = _age_finding(signed.signed_at, current, max_age)
    findings.append(age)
    session = _session_of(signed.payload)
    if isinstance(session, Finding):
        return [*findings, session]
    providers = _oauth_keys(session)
    for keys in providers.values():
        register_secret(*(str(v) for w, v in keys.items() if _is_secret_key(w)))
    if provider is not None:
        providers = {p: k for p, k in providers.items() if p == provider}
    expired = age.status is not Status.OK
    findings.append(
        _keys_finding(
            session,
            providers,
            expired=expired,
            provider=provider,
            comparing=callback_state is not None,
        )
    )
    if callback_state is not None:
        authlib = _authlib_states(session, providers)
        findings.append(_state_finding(callback_state, providers, authlib, expired))
    return findings


def inspect_session_cookie(
    cookie: str | None,
    secret: str | bytes,
    *,
    now: Now = None,
    provider: str | None = None,
    callback_state: str | None = None,
    max_age: float | None = None,
    cookie_name: str = SESSION_COOKIE,
) -> Report:
    """Decode and verify svc-infra's Starlette session cookie and show its OAuth keys.

    ``cookie`` may be the raw value, ``svc_session=...``, or a whole Cookie /
    Set-Cookie header. With ``callback_state=`` the cookie's ``oauth:{provider}:state``
    (and Authlib's ``_state_{provider}_{state}``) is compared with the callback's,
    which answers "Invalid state parameter". ``max_age`` defaults to a Set-Cookie
    header's Max-Age, else svc-infra's 4 h.
    """
    current = unix_seconds(now)
    key = signing_key(secret)
    if max_age is None:
        max_age = (_cookie_max_age(cookie) if isinstance(cookie, str) else None) or SESSION_MAX_AGE
    max_age = check_duration(max_age, name="max_age")
    title = f"session cookie {cookie_name}"
    value, size = (None, 0) if not cookie else _extract_cookie(str(cookie), cookie_name)
    if value is None:
        missing = explain(
            "oauth.session.cookie",
            C.SESSION_COOKIE_MISSING,
            _COOKIE,
            data=_ANSWER_INVALID,
            cookie_name=cookie_name,
        )
        return Report([missing], title=title)
    findings: list[Finding] = []
    attributes = _attributes_finding(str(cookie))
    if attributes is not None:
        findings.append(attributes)
    findings.append(_size_finding(size, cookie_name))
    findings += _payload_findings(value, key, current, max_age, provider, callback_state)
    return Report(findings, title=title)


def compare_state(
    callback_state: str,
    cookie: str | None,
    secret: str | bytes,
    *,
    provider: str | None = None,
    now: Now = None,
) -> Report:
    """Answer "Invalid state parameter": the callback's ``state`` vs the session cookie's."""
    if not isinstance(callback_state, str):
        raise ArgumentTypeError("callback_state must be the ?state= value of the callback URL")
    return inspect_session_cookie(
        cookie, secret, now=now, provider=provider, callback_state=callback_state
    )
