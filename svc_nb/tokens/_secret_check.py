"""The ``tokens`` check of ``diagnose()``: the configured secret signs and verifies a token."""

from __future__ import annotations

from collections.abc import Mapping

from svc_nb._redact import fingerprint, register_secret
from svc_nb._report import Finding
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._explanations import Passed, finding
from svc_nb.tokens._inspect import inspect
from svc_nb.tokens._keys import HMAC_MIN_KEY_BYTES
from svc_nb.tokens._lints import ACCESS_AUDIENCE
from svc_nb.tokens._make import make

__all__ = ["secret_check"]


def secret_check(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    """Round-trip an svc-infra-shaped token with the configured secret (no network).

    Presence, strength and naming of the secret are env.jwt_secret's job; this
    check proves the secret works for signing and gives its fingerprint.
    """
    from svc_nb.env import resolve_jwt_secret

    resolved = resolve_jwt_secret(environ)
    if resolved is None:
        return [finding("tokens.secret", TokensCause.NO_SECRET)]
    secret = resolved.value
    register_secret(secret)
    strong = len(secret.encode("utf-8", "surrogatepass")) >= HMAC_MIN_KEY_BYTES
    fp = fingerprint(secret)
    data = {"source": resolved.source, "fingerprint": fp, "strong": strong}
    report = inspect(make(secret=secret, lifetime=60), key=secret, audience=ACCESS_AUDIENCE)
    if report.verdict != "valid":
        return [
            finding(
                "tokens.secret",
                TokensCause.ROUND_TRIP_FAILED,
                data=data,
                source=resolved.source,
                fingerprint=fp,
                reasons="; ".join(report.reasons),
            )
        ]
    # A weak secret's length is never shown: it narrows a brute-force search.
    strength = (
        f"{HMAC_MIN_KEY_BYTES} bytes or more"
        if strong
        else f"weak: shorter than HS256's {HMAC_MIN_KEY_BYTES} bytes"
    )
    return [
        finding(
            "tokens.secret",
            Passed.SECRET_ROUND_TRIPS,
            data=data,
            source=resolved.source,
            fingerprint=fp,
            strength=strength,
        )
    ]
