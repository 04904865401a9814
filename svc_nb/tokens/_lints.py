"""What a token says without a key: its alg, its times against ``now``, its claims."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from svc_nb._fmt import format_duration
from svc_nb._report import Status
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._explanations import Deferred, Notes, Passed
from svc_nb.tokens._keys import SUPPORTED_ALGS
from svc_nb.tokens._options import InspectOptions
from svc_nb.tokens._parse import clip, json_excerpt, numeric_date, shown, utc

__all__ = ["ACCESS_AUDIENCE", "MFA_AUDIENCE", "check_alg", "check_claims", "check_times"]

ACCESS_AUDIENCE = "fastapi-users:auth"
MFA_AUDIENCE = "fastapi-users:mfa"

C = TokensCause
_SKEW_WINDOW_S = 120  # a time failure this close to the boundary looks like clock skew
_LONG_LIFETIME_S = 86400
_LISTED = 10  # values a finding lists before it says "…"
# Claim names that hold personal data or secrets. Alternatives of literals: linear in the name.
_SENSITIVE = re.compile(
    "password|passwd|pwd|secret|email|phone|ssn|card|iban|address|birth|dob", re.IGNORECASE
)


def check_alg(alg: Any, notes: Notes) -> None:
    if isinstance(alg, str) and alg.lower() == "none":
        notes.add("tokens.alg", C.ALG_NONE, data={"alg": alg})
    elif not isinstance(alg, str) or alg not in SUPPORTED_ALGS:
        alg_shown = shown(alg)
        notes.add(
            "tokens.alg",
            C.UNSUPPORTED_ALG,
            data={"alg": alg_shown},
            alg=alg_shown,
            known=", ".join(SUPPORTED_ALGS),
        )


# -- time -------------------------------------------------------------------------------


def check_times(claims: Mapping[str, Any], options: InspectOptions, notes: Notes) -> None:
    now, leeway = options.now, options.leeway
    exp, nbf, iat = (_numeric(claims, name, notes) for name in ("exp", "nbf", "iat"))
    if claims.get("exp") is None:
        notes.add("tokens.exp", C.NO_EXP)
    elif exp is not None:
        _check_exp(exp, now, leeway, notes)
    if nbf is not None and nbf > now + leeway:
        _not_yet_valid(nbf, now, notes)
    if iat is not None and iat > now + leeway:
        ahead = iat - now
        need = int(ahead) + 1
        notes.add(
            "tokens.iat",
            C.IAT_IN_FUTURE,
            data={"iat": iat, "iat_utc": utc(iat), "clock_skew": True, "leeway_needed": need},
            ahead=format_duration(ahead),
            need=need,
        )
    if iat is not None and exp is not None and exp - iat > _LONG_LIFETIME_S:
        _long_lifetime(exp - iat, "exp - iat", notes)
    elif iat is None and exp is not None and exp - now > _LONG_LIFETIME_S:
        _long_lifetime(exp - now, "at least: exp - now (no iat)", notes)


def _numeric(claims: Mapping[str, Any], name: str, notes: Notes) -> float | None:
    value = claims.get(name)
    number = numeric_date(value)
    if value is not None and number is None:
        notes.add(f"tokens.{name}", C.BAD_NUMERIC_DATE, claim=name, value=json_excerpt(value, 40))
    return number


def _check_exp(exp: float, now: float, leeway: float, notes: Notes) -> None:
    exp_utc = Deferred(utc, exp)
    data: dict[str, Any] = {"exp": exp, "exp_utc": exp_utc, "seconds_left": round(exp - now, 3)}
    fields: dict[str, Any] = {"exp_utc": exp_utc}
    if exp <= now - leeway:  # PyJWT's boundary: expired when exp <= now - leeway
        late = now - exp
        skew = late <= _SKEW_WINDOW_S
        need = int(late) + 1
        data |= {"clock_skew": skew, "leeway_needed": need if skew else None}
        cause = C.EXPIRED_CLOCK_SKEW if skew else C.EXPIRED
        notes.add(
            "tokens.exp",
            cause,
            data=data,
            ago=Deferred(format_duration, late),
            late=late,
            need=need,
            **fields,
        )
    elif exp <= now:
        notes.add(
            "tokens.exp",
            C.ACCEPTED_BY_LEEWAY,
            data=data,
            ago=Deferred(format_duration, now - exp),
            leeway=leeway,
            **fields,
        )
    else:
        notes.add(
            "tokens.exp",
            Passed.NOT_EXPIRED,
            data=data,
            left=Deferred(format_duration, exp - now),
            **fields,
        )


def _not_yet_valid(nbf: float, now: float, notes: Notes) -> None:
    early = nbf - now
    skew = early <= _SKEW_WINDOW_S
    need = int(early) + 1
    notes.add(
        "tokens.nbf",
        C.NOT_YET_VALID_CLOCK_SKEW if skew else C.NOT_YET_VALID,
        data={
            "nbf": nbf,
            "nbf_utc": utc(nbf),
            "clock_skew": skew,
            "leeway_needed": need if skew else None,
        },
        wait=format_duration(early),
        nbf_utc=utc(nbf),
        early=early,
        need=need,
    )


def _long_lifetime(seconds: float, how: str, notes: Notes) -> None:
    notes.add(
        "tokens.lifetime",
        C.LONG_LIFETIME,
        data={"lifetime_s": round(seconds)},
        lifetime=Deferred(format_duration, seconds),
        how=how,
    )


# -- claims -----------------------------------------------------------------------------


def check_claims(claims: Mapping[str, Any], options: InspectOptions, notes: Notes) -> None:
    _check_audience(claims.get("aud"), options.audience, notes)
    if options.issuer is not None:
        _check_issuer(claims.get("iss"), options.issuer, notes)
    sensitive = [clip(k) for k in claims if _SENSITIVE.search(k)]
    if sensitive:
        notes.add(
            "tokens.claims",
            C.SENSITIVE_CLAIMS,
            data={"claims": sensitive[:_LISTED]},
            names=", ".join(sensitive[:_LISTED]) + (" …" if len(sensitive) > _LISTED else ""),
        )


def _check_audience(aud: Any, expected: tuple[str, ...] | None, notes: Notes) -> None:
    if isinstance(aud, str):
        token_aud = [aud]
    elif isinstance(aud, list):
        token_aud = [a for a in aud if isinstance(a, str)]
    else:
        token_aud = []
    is_mfa = MFA_AUDIENCE in token_aud
    data: dict[str, Any] = {"aud": Deferred(_clipped, token_aud)}
    if expected is None:
        if is_mfa:
            notes.add("tokens.aud", C.MFA_PRE_TOKEN, data=data, status=Status.WARN)
        elif aud is not None:
            suggested = token_aud[0] if token_aud and len(token_aud[0]) <= 80 else ACCESS_AUDIENCE
            fields: dict[str, Any] = {"aud": Deferred(shown, token_aud), "suggested": suggested}
            notes.add("tokens.aud", Passed.AUDIENCE_UNCHECKED, data=data, **fields)
        return
    wanted: dict[str, Any] = {"expected": shown(list(expected))}
    data["expected"] = _clipped(expected)
    if ACCESS_AUDIENCE in expected and is_mfa and ACCESS_AUDIENCE not in token_aud:
        notes.add("tokens.aud", C.MFA_PRE_TOKEN, data=data)
    elif aud is None:
        notes.add("tokens.aud", C.MISSING_AUDIENCE, data=data, **wanted)
    elif not set(expected) & set(token_aud):
        notes.add("tokens.aud", C.WRONG_AUDIENCE, data=data, aud=shown(token_aud), **wanted)
    else:
        notes.add("tokens.aud", Passed.AUDIENCE_MATCHES, data=data, aud=Deferred(shown, token_aud))


def _clipped(values: Sequence[str]) -> list[str]:
    return [clip(v) for v in values[:_LISTED]]


def _check_issuer(iss: Any, expected: tuple[str, ...], notes: Notes) -> None:
    data: dict[str, Any] = {"expected": _clipped(expected)}
    if iss is None:
        notes.add("tokens.iss", C.MISSING_ISSUER, data=data, expected=shown(list(expected)))
        return
    data["iss"] = clip(iss) if isinstance(iss, str) else shown(iss)
    if iss not in expected:
        notes.add(
            "tokens.iss", C.WRONG_ISSUER, data=data, iss=shown(iss), expected=shown(list(expected))
        )
    else:
        notes.add("tokens.iss", Passed.ISSUER_MATCHES, data=data, iss=shown(iss))
