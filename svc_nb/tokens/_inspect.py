"""``inspect`` / ``inspect_async``: decode, verify and explain a JWT, in named stages.

parse the pasted text → lint what needs no key (alg, times, claims) → resolve
the keys (fetching a JWKS if needed: the only stage that may wait) → verify →
the report. A bad token never raises: every problem is a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from svc_nb._clock import Now
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._explanations import Notes
from svc_nb.tokens._keys import SUPPORTED_ALGS, KeyProblem
from svc_nb.tokens._lints import check_alg, check_claims, check_times
from svc_nb.tokens._options import InspectOptions, as_text, inspect_options
from svc_nb.tokens._parse import Parsed, clean, parse, shown
from svc_nb.tokens._token_report import TokenReport
from svc_nb.tokens._verify import KeySet, resolve_keys, resolve_keys_async, verify

__all__ = ["inspect", "inspect_async"]


class _Inspection:
    """One token on its way through the stages; the findings accumulate in ``notes``."""

    __slots__ = ("notes", "options", "parsed", "text", "verified")

    def __init__(self, token: str | bytes, options: InspectOptions) -> None:
        self.options = options
        self.notes = Notes()
        self.verified = False
        self.text, stripped = clean(as_text(token))
        if stripped:
            self.notes.add(
                "tokens.input",
                TokensCause.PASTED_DECORATION,
                data={"stripped": stripped},
                stripped=", ".join(stripped),
            )
        self.parsed: Parsed | None = parse(self.text, self.notes)
        if self.parsed is not None:
            self._lint(self.parsed)

    def _lint(self, parsed: Parsed) -> None:
        check_alg(parsed.alg, self.notes)
        check_times(parsed.claims, self.options, self.notes)
        check_claims(parsed.claims, self.options, self.notes)
        if not self.options.verifies:
            alg = parsed.alg
            alg_shown = alg if isinstance(alg, str) else shown(alg)
            self.notes.add("tokens.signature", TokensCause.NOT_VERIFIED, data={"alg": alg_shown})

    @property
    def wants_keys(self) -> bool:
        """Whether the verification stage has something to do (a key, and an alg to check)."""
        if self.parsed is None or not self.options.verifies:
            return False
        alg = self.parsed.alg
        return isinstance(alg, str) and alg in SUPPORTED_ALGS

    @property
    def kid(self) -> str | None:
        return self.parsed.kid if self.parsed is not None else None

    def keys(self) -> KeySet | KeyProblem | None:
        """The keys to verify with (a JWKS fetch blocks), why there are none, or None: no check."""
        if not self.wants_keys:
            return None
        try:
            return resolve_keys(self.options, self.kid)
        except KeyProblem as problem:
            return problem

    async def keys_async(self) -> KeySet | KeyProblem | None:
        """As :meth:`keys`, awaiting a JWKS fetch."""
        if not self.wants_keys:
            return None
        try:
            return await resolve_keys_async(self.options, self.kid)
        except KeyProblem as problem:
            return problem

    def report(self, keys: KeySet | KeyProblem | None) -> TokenReport:
        """Verify with ``keys`` (or note why not); the report of every stage."""
        if isinstance(keys, KeyProblem):
            self.notes.append(keys.finding)
        elif keys is not None and self.parsed is not None:
            self.verified = verify(self.parsed, keys, self.options, self.notes)
        parsed = self.parsed
        return TokenReport(
            token=self.text,
            header=parsed.header if parsed is not None else {},
            claims=parsed.claims if parsed is not None else {},
            specs=self.notes.items,
            verified=self.verified,
            now=self.options.now,
        )


def inspect(
    token: str | bytes,
    *,
    key: Any = None,
    algorithms: Sequence[str] | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    leeway: float | timedelta = 0,
    now: Now = None,
    jwks_url: str | None = None,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
) -> TokenReport:
    """Decode, verify and explain a JWT; never raises on a bad token (see the findings).

    ``key`` may be an HMAC secret, a PEM public key, a JWK or JWKS dict, a
    cryptography key object, or a JWKS URL (also ``jwks_url=``), fetched within
    ``timeout`` seconds. Without a key the token is only decoded and the report
    says so. A JWKS fetch blocks this call; in async code (a notebook cell, a
    FastAPI handler) prefer ``await inspect_async(...)``.

    Raises :class:`TokensError` for misuse: a token that is not text, an
    ``audience``/``issuer`` that is not a string (or list of strings), a NaN,
    infinite or negative ``leeway``, a naive or non-finite ``now``.
    """
    options = inspect_options(
        key=key,
        algorithms=algorithms,
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        now=now,
        jwks_url=jwks_url,
        timeout=timeout,
    )
    inspection = _Inspection(token, options)
    return inspection.report(inspection.keys())


async def inspect_async(
    token: str | bytes,
    *,
    key: Any = None,
    algorithms: Sequence[str] | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    leeway: float | timedelta = 0,
    now: Now = None,
    jwks_url: str | None = None,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
) -> TokenReport:
    """:func:`inspect` for async code: a JWKS fetch is awaited instead of blocking the loop."""
    options = inspect_options(
        key=key,
        algorithms=algorithms,
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        now=now,
        jwks_url=jwks_url,
        timeout=timeout,
    )
    inspection = _Inspection(token, options)
    return inspection.report(await inspection.keys_async())
