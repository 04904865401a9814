"""JWT validation errors: inspect, verify and explain a token; find which secret signed it.

``inspect()`` tolerates what people paste (``Bearer``, quotes, whitespace),
names the broken segment of a malformed token, verifies with pinned
algorithms (never ``none``, never an HMAC check keyed by a public key: the
RS→HS confusion attack), explains ``exp``/``nbf``/``iat`` relative to ``now``
(clock skew gets the leeway that would accept it) and knows svc-infra's
audiences. Tokens are shown shortened, keys only as fingerprints.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import json
import math
import re
import threading
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from svc_nb._clock import unix_seconds
from svc_nb._diagnose import register_check
from svc_nb._http import tls_context
from svc_nb._redact import fingerprint, register_secret, shorten_token
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import run

__all__ = [
    "ACCESS_AUDIENCE",
    "DEFAULT_LIFETIME",
    "MFA_AUDIENCE",
    "TokenReport",
    "TokensError",
    "candidates_from_env",
    "clear_jwks_cache",
    "find_key",
    "fingerprint",
    "inspect",
    "make",
]

ACCESS_AUDIENCE = "fastapi-users:auth"
MFA_AUDIENCE = "fastapi-users:mfa"
DEFAULT_LIFETIME = 604800  # svc-infra's AUTH_JWT__LIFETIME_SECONDS default (7 days)
MFA_LIFETIME = 300

HMAC_ALGS = ("HS256", "HS384", "HS512")
RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGS = ("ES256", "ES384", "ES512")
OKP_ALGS = ("EdDSA",)
SUPPORTED_ALGS = HMAC_ALGS + RSA_ALGS + EC_ALGS + OKP_ALGS
_FAMILY_OF_KTY = {"oct": HMAC_ALGS, "RSA": RSA_ALGS, "EC": EC_ALGS, "OKP": OKP_ALGS}
_HASH_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_SKEW_WINDOW_S = 120  # a time failure this close to the boundary looks like clock skew
_LONG_LIFETIME_S = 86400
_SENSITIVE = ("password", "passwd", "pwd", "secret", "email", "phone", "ssn", "card", "iban",
              "address", "birth", "dob")
_JWKS_TTL_S = 300.0
_JWKS_MAX_BYTES = 1 << 20


class TokensError(TypeError):
    """Misuse of svc_nb.tokens (a wrong argument type); the message says what to pass."""


# -- small pure helpers ---------------------------------------------------------------------


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64decode(segment: str) -> bytes:
    # base64url without padding, strictly: the stdlib would silently skip stray characters.
    if not _B64URL.fullmatch(segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _now_ts(now: datetime | float | int | None) -> float:
    try:
        return unix_seconds(now)
    except TypeError as exc:
        raise TokensError(str(exc)) from None


def _utc(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ts!r} (out of range)"


def _span(seconds: float) -> str:
    """'3 min', '6 days', '12 s': a human duration."""
    s = abs(seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f}".removesuffix(".0") + " h"
    return f"{s / 86400:.1f}".removesuffix(".0") + " days"


def _relative(ts: float, now: float) -> str:
    delta = ts - now
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


def _num(value: Any) -> float | None:
    """A finite NumericDate as float, else None (booleans, strings, 1e400, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _clean(token: str) -> tuple[str, list[str]]:
    """The token without what people paste around it, and what was stripped."""
    stripped: list[str] = []
    text = token
    if text != text.strip():
        stripped.append("surrounding whitespace/newline")
        text = text.strip()
    for _ in range(2):  # 'Bearer "eyJ..."' and '"Bearer eyJ..."' both happen
        if text[:7].lower() == "bearer " or text[:7].lower() == "bearer\t":
            stripped.append("'Bearer ' prefix")
            text = text[7:].strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
            stripped.append("quotes")
            text = text[1:-1].strip()
    if any(c in text for c in " \t\r\n"):
        stripped.append("inner whitespace/line breaks")
        text = "".join(text.split())
    return text, stripped


# -- keys -----------------------------------------------------------------------------------


class _Key:
    """A verification key, classified: kind is 'hmac', 'public' (PEM/object) or 'jwk'."""

    __slots__ = ("kid", "kind", "kty", "label", "material")

    def __init__(self, kind: str, material: Any, kty: str, kid: str | None, label: str) -> None:
        self.kind = kind
        self.material = material
        self.kty = kty
        self.kid = kid
        self.label = label

    @property
    def asymmetric(self) -> bool:
        return self.kty != "oct"


def _public_pem(pem: bytes) -> tuple[bytes, str]:
    """The public-key PEM behind a public key, certificate or private key PEM, and its kty."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
        load_pem_public_key,
    )

    obj: Any
    if b"PRIVATE KEY" in pem[:40]:
        try:
            obj = load_pem_private_key(pem, password=None).public_key()
        except TypeError:  # encrypted private key
            raise ValueError("encrypted private key") from None
        pem = obj.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    elif b"CERTIFICATE" in pem[:40]:
        from cryptography.x509 import load_pem_x509_certificate

        obj = load_pem_x509_certificate(pem).public_key()
        pem = obj.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    else:
        obj = load_pem_public_key(pem)
    return pem, _kty_of_object(obj) or "unknown"


def _kty_of_object(obj: Any) -> str | None:
    try:
        from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    except ImportError:  # pragma: no cover - cryptography ships with the dev extras
        return None
    if isinstance(obj, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(obj, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "EC"
    if isinstance(
        obj,
        ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey | ed448.Ed448PublicKey | ed448.Ed448PrivateKey,
    ):
        return "OKP"
    return None


def _jwk_key(jwk: Mapping[str, Any], label: str) -> _Key:
    kty = str(jwk.get("kty", ""))
    kid = jwk.get("kid")
    return _Key("jwk", dict(jwk), kty, str(kid) if kid is not None else None, label)


_registered_keys: set[str | bytes] = set()


def _register(secret: str | bytes) -> None:
    # register_secret recomputes every encoded form; do it once per key (hot path).
    if secret not in _registered_keys:
        register_secret(secret)
        if len(_registered_keys) < 1024:
            _registered_keys.add(secret)


class _KeyProblem(Exception):
    """A key that cannot be used; carries a Finding-ready message (never the key)."""

    def __init__(self, summary: str, fix: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.fix = fix


def _classify_key(key: Any) -> tuple[list[_Key], str | None]:
    """The candidate keys behind ``key`` and a JWKS URL when the key is one."""
    if isinstance(key, bytes | bytearray):
        raw = bytes(key)
        if raw.lstrip().startswith(b"-----BEGIN"):
            try:
                pem, kty = _public_pem(raw.strip())
            except (ValueError, TypeError):
                raise _KeyProblem(
                    "the PEM key could not be loaded (not a public key, certificate or "
                    "unencrypted private key)",
                    "pass the issuer's PUBLIC key PEM (-----BEGIN PUBLIC KEY-----) or its JWKS URL",
                ) from None
            return [_Key("public", pem, kty, None, f"{kty} PEM public key")], None
        _register(raw)
        return [_Key("hmac", raw, "oct", None, "HMAC secret")], None
    if isinstance(key, str):
        text = key.strip()
        if text.startswith(("https://", "http://")):
            return [], text
        if text.startswith("-----BEGIN"):
            return _classify_key(text.encode())
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and ("kty" in parsed or "keys" in parsed):
                return _classify_key(parsed)
        _register(key)
        return [_Key("hmac", key.encode("utf-8", "surrogatepass"), "oct", None, "HMAC secret")], None
    if isinstance(key, Mapping):
        if "keys" in key:
            keys = key["keys"]
            if not isinstance(keys, list):
                raise _KeyProblem("the JWKS 'keys' member is not a list", "pass {'keys': [jwk, ...]}")
            return [_jwk_key(k, f"JWKS key {k.get('kid', i)}") for i, k in enumerate(keys)
                    if isinstance(k, Mapping)], None
        if "kty" in key:
            if key.get("kty") == "oct" and isinstance(key.get("k"), str):
                register_secret(key["k"])
            return [_jwk_key(key, "JWK")], None
        raise _KeyProblem("the key dict is neither a JWK (kty) nor a JWKS (keys)",
                          "pass a JWK {'kty': ...}, a JWKS {'keys': [...]}, a PEM or a secret")
    obj_kty = _kty_of_object(key)
    if obj_kty is not None:
        if not hasattr(key, "verify") and hasattr(key, "public_key"):
            key = key.public_key()  # a private key object: verify with its public half
        return [_Key("public", key, obj_kty, None, f"{obj_kty} key object")], None
    raise TokensError(
        "key= takes an HMAC secret (str/bytes), a PEM public key, a JWK/JWKS dict, "
        f"a JWKS URL or a cryptography key object, not {type(key).__name__}"
    )


@lru_cache(maxsize=128)
def _prepared(alg: str, material: Any) -> Any:
    # Loading a PEM / checking an HMAC secret is most of PyJWT's per-call cost: do it once.
    import jwt

    return jwt.get_algorithm_by_name(alg).prepare_key(material)


def _prepare(alg: str, key: _Key) -> Any:
    import jwt

    if key.kind == "jwk":
        from jwt.api_jwk import PyJWK

        return PyJWK(key.material, algorithm=alg).key
    try:
        return _prepared(alg, key.material)
    except TypeError:  # unhashable key object: prepare every time
        return jwt.get_algorithm_by_name(alg).prepare_key(key.material)


# -- JWKS fetching (sync, bounded, cached; a kid not yet cached triggers a refetch) ----------

_jwks_lock = threading.Lock()
_jwks_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}


def clear_jwks_cache() -> None:
    """Forget every fetched JWKS (the next inspect refetches)."""
    with _jwks_lock:
        _jwks_cache.clear()


def _fetch_jwks(url: str, timeout: float) -> list[dict[str, Any]]:
    # inspect() is sync; the fetch runs on svc_nb's runtime so that one asyncio
    # deadline bounds it whole (httpx's own timeout bounds each read, and a peer
    # trickling bytes would never trip it).
    return run(_fetch_jwks_async(url, timeout))


async def _fetch_jwks_async(url: str, timeout: float) -> list[dict[str, Any]]:
    import httpx

    too_slow = _KeyProblem(
        f"the JWKS URL did not answer within {timeout:g} s",
        "check the issuer is up and reachable from here; raise timeout= if it is just slow",
    )
    try:
        async with asyncio.timeout(timeout), httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False, verify=tls_context()
        ) as client, client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > _JWKS_MAX_BYTES:
                    raise _KeyProblem("the JWKS document is larger than 1 MiB",
                                      "check the URL points at a JWKS")
                chunks.append(chunk)
            content = b"".join(chunks)
    except (TimeoutError, httpx.TimeoutException):
        raise too_slow from None
    except httpx.HTTPError as exc:
        raise _KeyProblem(
            f"the JWKS URL could not be fetched: {type(exc).__name__}",
            "check the URL (scheme, host, port) and that the issuer serves it "
            "(usually /.well-known/jwks.json)",
        ) from None
    if response.status_code != 200:
        raise _KeyProblem(
            f"the JWKS URL answered HTTP {response.status_code}",
            "use the issuer's JWKS endpoint (see its /.well-known/openid-configuration 'jwks_uri')",
        )
    try:
        body = json.loads(content)
    except ValueError:
        raise _KeyProblem("the JWKS URL did not return JSON",
                          "check the URL points at the JWKS, not an HTML page") from None
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list):
        raise _KeyProblem("the JWKS document has no 'keys' list", "check the URL points at a JWKS")
    return [k for k in keys if isinstance(k, dict)]


def _jwks_keys(url: str, timeout: float, kid: str | None) -> tuple[list[_Key], bool]:
    """The JWKS keys for ``url`` and whether they were (re)fetched just now."""
    now = time.monotonic()
    with _jwks_lock:
        cached = _jwks_cache.get(url)
    fresh = False
    if cached is None or now - cached[0] > _JWKS_TTL_S or (
        kid is not None and all(k.get("kid") != kid for k in cached[1])
    ):
        keys = _fetch_jwks(url, timeout)
        with _jwks_lock:
            _jwks_cache[url] = (time.monotonic(), keys)
        fresh = True
    else:
        keys = cached[1]
    return [_jwk_key(k, f"JWKS key {k.get('kid', i)}") for i, k in enumerate(keys)], fresh


# -- the report -----------------------------------------------------------------------------

_Spec = tuple[str, Status, str, str, str, dict[str, Any]]


class TokenReport(Report):
    """What a token says and whether it holds: ``.header``, ``.claims``, ``.verdict``, findings.

    Findings are built on first use (the analysis itself is done by ``inspect``)
    so that inspecting stays about as cheap as a bare ``jwt.decode``.
    """

    def __init__(
        self,
        *,
        token: str,
        header: dict[str, Any],
        claims: dict[str, Any],
        specs: list[_Spec],
        verified: bool,
        now: float,
        title: str = "JWT inspection",
    ) -> None:
        self.title = title
        self.header = header
        self.claims = claims
        self.verified = verified
        self.now = now
        self._token = token
        self._specs = specs
        self._built: tuple[Finding, ...] | None = None

    @property
    def _findings(self) -> tuple[Finding, ...]:
        if self._built is None:
            self._built = tuple(Finding(c, s, m, d, f, data) for c, s, m, d, f, data in self._specs)
        return self._built

    @_findings.setter
    def _findings(self, value: tuple[Finding, ...]) -> None:
        self._built = tuple(value)

    @property
    def token(self) -> str:
        """The token, shortened: header and claims kept, signature hidden."""
        return shorten_token(self._token) if self._token else "(empty)"

    @property
    def verdict(self) -> str:
        """'invalid' (something failed), 'valid' (signature verified) or 'unverified'."""
        if any(s[1] is Status.FAIL for s in self._specs):
            return "invalid"
        return "valid" if self.verified else "unverified"

    @property
    def reasons(self) -> list[str]:
        """One line per failed (or, if none failed, warned) finding."""
        for wanted in (Status.FAIL, Status.WARN):
            lines = [f.summary for f in self.findings if f.status is wanted]
            if lines:
                return lines
        return []

    def times(self) -> dict[str, float]:
        """The numeric iat/nbf/exp claims plus 'now', as Unix seconds."""
        out = {k: v for k in ("iat", "nbf", "exp") if (v := _num(self.claims.get(k))) is not None}
        out["now"] = self.now
        return out

    def __repr__(self) -> str:
        return f"<TokenReport {self.verdict}: alg={self.header.get('alg')!r}, {len(self)} findings>"

    def _verdict_line(self) -> str:
        word = {"valid": "VALID — signature verified",
                "invalid": "INVALID",
                "unverified": "NOT VERIFIED — decoded only, the signature was not checked"}
        return word[self.verdict]

    def __str__(self) -> str:
        lines = [f"token: {self.token}", f"verdict: {self._verdict_line()}"]
        if self.header:
            lines.append("header: " + json.dumps(self.header, default=str))
        if self.claims:
            lines.append("claims:")
            for name, value in self.claims.items():
                lines.append(f"  {name}: {self._claim_text(name, value)}")
        lines.append("")
        lines.append(super().__str__())
        from svc_nb._redact import scrub

        return scrub("\n".join(lines))

    def _claim_text(self, name: str, value: Any) -> str:
        text = json.dumps(value, default=str, ensure_ascii=False)
        ts = _num(value)
        if name in ("exp", "nbf", "iat", "auth_time") and ts is not None:
            text += f"  ({_utc(ts)}, {_relative(ts, self.now)})"
        return text

    def _repr_html_(self) -> str:
        from svc_nb._redact import scrub

        esc = html.escape
        colour = {"valid": ("#1a7f37", "#e6f4ea"), "invalid": ("#cf222e", "#ffebe9"),
                  "unverified": ("#9a6700", "#fff8c5")}[self.verdict]
        reasons = "".join(f"<li>{esc(r)}</li>" for r in self.reasons)
        verdict = (
            f'<div class="svcnb-verdict" data-verdict="{self.verdict}" style="color:{colour[0]};'
            f'background:{colour[1]};padding:6px;font-weight:bold">{esc(self._verdict_line())}'
            f'{f"<ul style=font-weight:normal>{reasons}</ul>" if reasons else ""}</div>'
        )

        def table(caption: str, items: Mapping[str, str]) -> str:
            rows = "".join(
                f'<tr><td style="padding:1px 8px"><code>{esc(k)}</code></td>'
                f'<td style="padding:1px 8px"><code>{esc(v)}</code></td></tr>'
                for k, v in items.items()
            )
            return (f'<table class="svcnb-{caption.lower()}" style="border-collapse:collapse;'
                    f'text-align:left;margin:4px 0"><caption style="text-align:left;font-weight:bold">'
                    f"{caption}</caption>{rows}</table>")

        header = table("Header", {k: json.dumps(v, default=str) for k, v in self.header.items()})
        claims = table("Claims", {k: self._claim_text(k, v) for k, v in self.claims.items()})
        body = (
            f'<div class="svcnb-token"><div><b>Token:</b> '
            f'<code style="word-break:break-all">{esc(self.token)}</code></div>'
            f"{verdict}{header if self.header else ''}{claims if self.claims else ''}"
            f"{super()._repr_html_()}</div>"
        )
        return scrub(body)


# -- inspect --------------------------------------------------------------------------------


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def inspect(
    token: str | bytes,
    *,
    key: Any = None,
    algorithms: Sequence[str] | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Iterable[str] | None = None,
    leeway: float | timedelta = 0,
    now: datetime | float | None = None,
    jwks_url: str | None = None,
    timeout: float = 5.0,
) -> TokenReport:
    """Decode, verify and explain a JWT; never raises on a bad token (see the findings).

    ``key`` may be an HMAC secret, a PEM public key, a JWK or JWKS dict, or a
    JWKS URL (also ``jwks_url=``), fetched within ``timeout`` seconds. Without
    a key the token is only decoded and the report says so.
    """
    if isinstance(token, bytes | bytearray):
        token = bytes(token).decode("utf-8", "replace")
    if not isinstance(token, str):
        raise TokensError(f"inspect() takes the token as str, not {type(token).__name__}")
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    if isinstance(leeway, bool) or not isinstance(leeway, int | float) or leeway < 0:
        raise TokensError("leeway= takes non-negative seconds (or a timedelta)")
    now_ts = _now_ts(now)
    if algorithms is not None and (isinstance(algorithms, str) or not all(
            isinstance(a, str) for a in algorithms)):
        raise TokensError("algorithms= takes a list of names, e.g. ['HS256']")
    specs: list[_Spec] = []
    add = specs.append

    text, stripped = _clean(token)
    if stripped:
        add(("tokens.input", Status.WARN, f"stripped {', '.join(stripped)} from the pasted token",
             "Only the bare compact JWT (header.claims.signature) is a token; the Authorization "
             "header adds 'Bearer ' itself.",
             "send/store the bare token; in code: token = header.removeprefix('Bearer ').strip()",
             {"stripped": stripped}))

    header: dict[str, Any] = {}
    claims: dict[str, Any] = {}

    def done(verified: bool = False) -> TokenReport:
        return TokenReport(token=text, header=header, claims=claims, specs=specs,
                           verified=verified, now=now_ts)

    # -- structure ----------------------------------------------------------
    if not text:
        add(("tokens.format", Status.FAIL, "the token is empty",
             "Nothing was left after stripping whitespace, quotes and 'Bearer '.",
             "copy the whole token (it starts with eyJ and has two dots)", {}))
        return done()
    parts = text.split(".")
    if len(parts) != 3:
        hint = ("5 segments: this is an encrypted JWE, not a signed JWT" if len(parts) == 5
                else "a signed JWT has exactly 3 (header.claims.signature)")
        add(("tokens.format", Status.FAIL,
             f"malformed token: {len(parts)} segment(s) separated by '.', expected 3",
             hint + ("; a refresh token in svc-infra is an opaque 64-hex string, not a JWT"
                     if len(parts) == 1 else ""),
             "copy the complete token; check nothing truncated it (logs, cookies of 4 KB)",
             {"segments": len(parts)}))
        return done()
    names = ("header", "claims")
    decoded: list[Any] = []
    for i, name in enumerate(names):
        segment = parts[i]
        try:
            raw = _b64decode(segment)
        except (binascii.Error, ValueError):
            add(("tokens.format", Status.FAIL,
                 f"malformed token: the {name} segment (#{i + 1}) is not valid base64url",
                 "JWT segments use the URL-safe alphabet A-Z a-z 0-9 - _ without padding.",
                 "copy the token again; a '+', '/', '%' or '=' means it was re-encoded on the way",
                 {"segment": name}))
            return done()
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            add(("tokens.format", Status.FAIL,
                 f"malformed token: the {name} segment (#{i + 1}) is not JSON",
                 "It decodes from base64url but the bytes are not a JSON document.",
                 "this is not a JWT (or it was truncated); copy the complete token", {"segment": name}))
            return done()
        if not isinstance(value, dict):
            add(("tokens.format", Status.FAIL,
                 f"malformed token: the {name} segment (#{i + 1}) is JSON {type(value).__name__}, "
                 "not an object",
                 "JWT header and claims must be JSON objects ({...}).",
                 "the issuer must encode a dict of claims (jwt.encode({'sub': ...}, ...))",
                 {"segment": name}))
            return done()
        decoded.append(value)
    header, claims = decoded[0], decoded[1]
    try:
        signature = _b64decode(parts[2])
    except (binascii.Error, ValueError):
        add(("tokens.format", Status.FAIL,
             "malformed token: the signature segment (#3) is not valid base64url",
             "The header and claims decode, the signature does not.",
             "copy the token again; it was altered on the way", {"segment": "signature"}))
        return done()

    alg = header.get("alg")
    alg_s = alg if isinstance(alg, str) else repr(alg)

    # -- lints that need no key --------------------------------------------
    if isinstance(alg, str) and alg.lower() == "none":
        add(("tokens.alg", Status.FAIL, "alg: none — an unsigned token; it must never be accepted",
             "Anyone can forge an 'alg: none' token (the classic alg=none attack); PyJWT rejects it "
             "unless 'none' is explicitly allowed, and svc_nb never allows it.",
             "always pass algorithms=['HS256'] (svc-infra) to jwt.decode; reject this token",
             {"alg": alg}))
    elif alg not in SUPPORTED_ALGS:
        add(("tokens.alg", Status.FAIL, f"unsupported or missing alg {alg_s} in the header",
             f"Known algorithms: {', '.join(SUPPORTED_ALGS)}.",
             "svc-infra issues HS256 tokens; check who issued this one", {"alg": alg_s}))
    _time_checks(claims, now_ts, float(leeway), add)
    _claim_checks(claims, audience, issuer, add)

    # -- verification -------------------------------------------------------
    verified = False
    if key is None and jwks_url is None:
        add(("tokens.signature", Status.WARN, "signature NOT verified: decoded only (no key given)",
             "Anyone can write any claims into a token; only the signature proves who issued it.",
             "pass key= (the AUTH_JWT__SECRET value, a public key, JWK or JWKS URL) to verify",
             {"alg": alg_s}))
    elif isinstance(alg, str) and alg in SUPPORTED_ALGS:
        verified = _verify(parts, signature, header, alg, key, jwks_url, algorithms, timeout, add)
    return done(verified)


def _verify(
    parts: list[str], signature: bytes, header: Mapping[str, Any], alg: str, key: Any,
    jwks_url: str | None, algorithms: Sequence[str] | None, timeout: float, add: Any,
) -> bool:
    """Check the signature with pinned algorithms; adds findings; True when it verifies."""
    from svc_nb._redact import mask_url

    kid = header.get("kid")
    kid = str(kid) if kid is not None else None
    keys: list[_Key] = []
    url = jwks_url
    try:
        if key is not None:
            keys, key_url = _classify_key(key)
            url = url or key_url
        if url is not None:
            fetched, _fresh = _jwks_keys(url, timeout, kid)
            keys.extend(fetched)
    except _KeyProblem as problem:
        add(("tokens.key", Status.FAIL, problem.summary,
             f"JWKS URL: {mask_url(url)}" if url else "", problem.fix, {}))
        return False
    if not keys:
        add(("tokens.key", Status.FAIL, "the key set is empty", "No usable key was found.",
             "pass the issuer's secret, public key or a JWKS with at least one key", {}))
        return False

    # Pinned algorithms: the caller's list, else the family of the keys themselves.
    allowed = [a for a in (algorithms or ()) if a.lower() != "none"]
    if not allowed:
        allowed = [a for k in keys for a in _FAMILY_OF_KTY.get(k.kty, ())]
    asymmetric = [k for k in keys if k.asymmetric]
    confusion = alg in HMAC_ALGS and asymmetric and not any(k.kty == "oct" for k in keys)
    if alg not in allowed or confusion:
        if confusion:
            add(("tokens.signature", Status.FAIL,
                 f"RS→HS algorithm confusion attack: an {alg} token checked against a "
                 f"{asymmetric[0].kty} public key",
                 "The header asks for HMAC, and the only key is a public one. Using the public key "
                 "as the HMAC secret would let anyone who knows it (it is public) forge tokens; "
                 "svc_nb refuses, as must your service.",
                 "pin the algorithm to the key type: jwt.decode(token, public_key, "
                 "algorithms=['RS256']); reject this token", {"alg": alg, "key_type": asymmetric[0].kty}))
        elif alg not in HMAC_ALGS and all(k.kty == "oct" for k in keys):
            add(("tokens.signature", Status.FAIL,
                 f"key type mismatch: the token is {alg} (public-key signed) but the key is an HMAC secret",
                 "An asymmetric token is verified with the issuer's public key, not a shared secret.",
                 "pass the issuer's public key (PEM), JWK or JWKS URL", {"alg": alg}))
        else:
            add(("tokens.alg", Status.FAIL,
                 f"alg {alg} is not in the pinned algorithms {allowed}",
                 "Accepting whatever alg the header names is how algorithm-confusion attacks work.",
                 f"if {alg} is legitimate here, add it: algorithms=[{alg!r}]; otherwise reject the token",
                 {"alg": alg, "allowed": allowed}))
        return False

    family = next(f for f in _FAMILY_OF_KTY.values() if alg in f)
    usable = [k for k in keys if alg in _FAMILY_OF_KTY.get(k.kty, ())]
    if kid is not None and any(k.kind == "jwk" for k in usable):
        by_kid = [k for k in usable if k.kid == kid]
        if not by_kid:
            kids = sorted({k.kid for k in usable if k.kid})
            add(("tokens.key", Status.FAIL, f"no key with kid {kid!r} in the key set",
                 f"Key ids available: {', '.join(kids) or 'none'}"
                 + (" (the JWKS was refetched: the issuer does not publish it)" if url else ""),
                 "the token was signed with a key the issuer no longer (or never) published; "
                 "get a new token, or point at the right issuer's JWKS", {"kid": kid, "kids": kids}))
            return False
        usable = by_kid
    elif kid is None and len([k for k in usable if k.kind == "jwk"]) > 1:
        add(("tokens.kid", Status.WARN,
             f"no kid in the header while the key set has {len(usable)} {alg} keys",
             "Without a kid every key must be tried; after a rotation a verifier may pick the wrong one.",
             "have the issuer set the 'kid' header to the signing key's id", {"keys": len(usable)}))
    if not usable:
        add(("tokens.signature", Status.FAIL, f"no key in the key set fits {alg}",
             f"Keys are of type {sorted({k.kty for k in keys})}.", "pass the issuer's key for " + alg,
             {"alg": alg}))
        return False

    import jwt

    algorithm = jwt.get_algorithm_by_name(alg)
    message = (parts[0] + "." + parts[1]).encode()
    for candidate in usable:
        if candidate.kind == "hmac" and alg in _HASH_BYTES and len(candidate.material) < _HASH_BYTES[alg]:
            size = _HASH_BYTES[alg]
            add(("tokens.secret", Status.WARN,
                 f"the HMAC secret is {len(candidate.material)} bytes, shorter than {alg}'s {size}",
                 "RFC 7518 §3.2 requires a key at least as long as the hash output; a short "
                 "secret can be brute-forced offline from any token.",
                 f"generate one: python -c \"import secrets; print(secrets.token_urlsafe({size}))\" "
                 "and set AUTH_JWT__SECRET (keep the old in AUTH_JWT__OLD_SECRETS while rotating)",
                 {"length": len(candidate.material), "required": size}))
        try:
            prepared = _prepare(alg, candidate)
            ok = algorithm.verify(message, prepared, signature)
        except Exception as exc:  # a key PyJWT refuses is a finding, not a crash
            add(("tokens.key", Status.FAIL, f"the {candidate.label} cannot verify {alg}: "
                 f"{type(exc).__name__}",
                 str(exc)[:200], f"pass a key of the {family[0][:2]} family", {"alg": alg}))
            return False
        if ok:
            data: dict[str, Any] = {"alg": alg, "key": candidate.label}
            if candidate.kind == "hmac":
                data["key_fingerprint"] = fingerprint(candidate.material)
            if candidate.kid:
                data["kid"] = candidate.kid
            add(("tokens.signature", Status.OK, f"signature verified ({alg}, {candidate.label})",
                 "", "", data))
            return True
    detail = (f"Tried {len(usable)} key(s) of the key set." if len(usable) > 1
              else f"The {usable[0].label} does not match.")
    if usable[0].kind == "hmac":
        detail += f" Secret fingerprint: {fingerprint(usable[0].material)}."
    add(("tokens.signature", Status.FAIL, "signature mismatch: the token was not signed with this key",
         detail + " Either the secret differs (another environment, a rotated secret) or the "
         "token was altered.",
         "find the signer: svc_nb.tokens.find_key(token, svc_nb.tokens.candidates_from_env()); "
         "compare fingerprints across services with svc_nb.tokens.fingerprint(secret)",
         {"alg": alg, "keys_tried": len(usable)}))
    return False


def _time_checks(claims: Mapping[str, Any], now: float, leeway: float, add: Any) -> None:
    exp, nbf, iat = (claims.get(k) for k in ("exp", "nbf", "iat"))
    for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
        if value is not None and _num(value) is None:
            add((f"tokens.{name}", Status.FAIL, f"{name} is not a number: {json.dumps(value)[:40]}",
                 f"'{name}' must be NumericDate: Unix seconds as a number.",
                 f"issue the token with a numeric {name} (int(time.time()) + lifetime)", {}))
    exp_n, nbf_n, iat_n = _num(exp), _num(nbf), _num(iat)
    if exp is None:
        add(("tokens.exp", Status.WARN, "no exp: the token never expires",
             "A leaked token without exp works forever.",
             "issue tokens with an exp (svc-infra sets one: AUTH_JWT__LIFETIME_SECONDS)", {}))
    elif exp_n is not None:
        data = {"exp": exp_n, "exp_utc": _utc(exp_n), "seconds_left": round(exp_n - now, 3)}
        if exp_n <= now - leeway:
            late = now - exp_n
            skew = late <= _SKEW_WINDOW_S
            need = int(late) + 1
            add(("tokens.exp", Status.FAIL, f"expired {_span(late)} ago (exp {_utc(exp_n)})",
                 (f"It failed by only {late:.0f} s: that is clock skew territory (the verifier's clock "
                  f"ahead of the issuer's, or a slow hop). A leeway of {need} s would accept it."
                  if skew else "The token's lifetime is over."),
                 (f"sync the clocks (chrony/NTP); or decode with leeway={need} "
                  "(svc-infra itself has no leeway setting)" if skew
                  else "get a new token (log in again or use the refresh token)"),
                 {**data, "clock_skew": skew, "leeway_needed": need if skew else None}))
        elif exp_n <= now:
            add(("tokens.exp", Status.WARN,
                 f"expired {_span(now - exp_n)} ago, accepted only thanks to leeway={leeway:g} s",
                 f"exp {_utc(exp_n)}", "sync the clocks; do not rely on leeway", data))
        else:
            add(("tokens.exp", Status.OK, f"valid for another {_span(exp_n - now)} (exp {_utc(exp_n)})",
                 "", "", data))
    if nbf_n is not None and nbf_n > now + leeway:
        early = nbf_n - now
        skew = early <= _SKEW_WINDOW_S
        need = int(early) + 1
        add(("tokens.nbf", Status.FAIL, f"not valid yet: becomes valid in {_span(early)} (nbf {_utc(nbf_n)})",
             (f"Only {early:.0f} s early: clock skew (the issuer's clock is ahead). "
              f"A leeway of {need} s would accept it." if skew else "The token is not active yet."),
             (f"sync the clocks (chrony/NTP) or decode with leeway={need}" if skew
              else "wait until nbf, or check the issuer's clock"),
             {"nbf": nbf_n, "nbf_utc": _utc(nbf_n), "clock_skew": skew,
              "leeway_needed": need if skew else None}))
    if iat_n is not None:
        if iat_n > now + leeway:
            ahead = iat_n - now
            need = int(ahead) + 1
            add(("tokens.iat", Status.FAIL, f"issued in the future: iat is {_span(ahead)} ahead of now",
                 "A token cannot be issued after 'now': the issuer's clock is ahead of this one "
                 f"(clock skew). PyJWT rejects it ('The token is not yet valid (iat)'); "
                 f"leeway={need} would accept it.",
                 f"sync the clocks (chrony/NTP) on both hosts, or decode with leeway={need}",
                 {"iat": iat_n, "iat_utc": _utc(iat_n), "clock_skew": True, "leeway_needed": need}))
        if exp_n is not None and exp_n - iat_n > _LONG_LIFETIME_S:
            add(_lifetime_spec(exp_n - iat_n, "exp - iat"))
    elif exp_n is not None and exp_n - now > _LONG_LIFETIME_S:
        add(_lifetime_spec(exp_n - now, "at least: exp - now (no iat)"))


def _lifetime_spec(seconds: float, how: str) -> _Spec:
    return ("tokens.lifetime", Status.WARN, f"long-lived token: lifetime {_span(seconds)} ({how})",
            "Access tokens over 24 h widen the window for a leaked token; svc-infra's default "
            "lifetime is 7 days (604800 s).",
            "shorten it: AUTH_JWT__LIFETIME_SECONDS=3600 (and use refresh tokens)",
            {"lifetime_s": round(seconds)})


def _claim_checks(claims: Mapping[str, Any], audience: Any, issuer: Any, add: Any) -> None:
    aud = claims.get("aud")
    token_aud = [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] \
        if isinstance(aud, list) else []
    expected = _as_list(audience)
    is_mfa = MFA_AUDIENCE in token_aud
    if expected is not None:
        if ACCESS_AUDIENCE in expected and is_mfa and ACCESS_AUDIENCE not in token_aud:
            add(("tokens.aud", Status.FAIL,
                 "an MFA pre-token (aud fastapi-users:mfa) used as an access token",
                 "svc-infra issues this 5-minute token after the password step when MFA is on; it "
                 "only proves the first factor and is not accepted where fastapi-users:auth is expected.",
                 "complete the MFA step (send the pre-token with the TOTP code to the MFA verify "
                 "endpoint) and use the access token it returns", {"aud": token_aud}))
        elif aud is None:
            add(("tokens.aud", Status.FAIL, f"no aud claim, expected {expected}",
                 "The verifier requires an audience the token does not carry.",
                 "issue the token with aud, or stop requiring one", {"expected": expected}))
        elif not set(expected) & set(token_aud):
            add(("tokens.aud", Status.FAIL, f"audience mismatch: token aud {token_aud}, expected {expected}",
                 "The token was issued for another service or purpose.",
                 "use a token issued for this audience, or fix audience= in the verifier",
                 {"aud": token_aud, "expected": expected}))
        else:
            add(("tokens.aud", Status.OK, f"aud {token_aud} matches", "", "", {"aud": token_aud}))
    elif is_mfa:
        add(("tokens.aud", Status.WARN, "this is an MFA pre-token (aud fastapi-users:mfa), not an access token",
             "svc-infra rejects it where an access token (fastapi-users:auth) is expected.",
             "complete the MFA step to get the access token", {"aud": token_aud}))
    elif aud is not None:
        add(("tokens.aud", Status.OK, f"aud {token_aud} (not checked: no audience= given)",
             "Note: PyJWT's jwt.decode raises InvalidAudienceError on a token with aud when you do "
             "not pass audience=.",
             f"verify it: audience={token_aud[0] if token_aud else ACCESS_AUDIENCE!r}", {"aud": token_aud}))
    issuers = _as_list(issuer)
    if issuers is not None:
        iss = claims.get("iss")
        if iss is None:
            add(("tokens.iss", Status.FAIL, f"no iss claim, expected {issuers}",
                 "svc-infra does not set iss on its tokens.",
                 "stop requiring an issuer for svc-infra tokens, or issue tokens with iss",
                 {"expected": issuers}))
        elif iss not in issuers:
            add(("tokens.iss", Status.FAIL, f"issuer mismatch: {iss!r}, expected {issuers}",
                 "The token comes from another issuer (environment, tenant or provider).",
                 "use a token from the expected issuer, or fix issuer=", {"iss": iss}))
        else:
            add(("tokens.iss", Status.OK, f"iss {iss!r} matches", "", "", {"iss": iss}))
    sensitive = [k for k in claims if any(s in k.lower() for s in _SENSITIVE)]
    if sensitive:
        add(("tokens.claims", Status.WARN,
             f"sensitive-looking claims in clear: {', '.join(sensitive)}",
             "A JWT is only base64url-encoded, not encrypted: anyone holding it can read every claim.",
             "keep personal data out of tokens (put the user id in sub and look the rest up)",
             {"claims": sensitive}))


# -- finding the signing secret --------------------------------------------------------------


def candidates_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Named candidate secrets: the one svc-infra uses, the others set, each old one, the guide's."""
    import os

    from svc_nb.env import JWT_SECRET_VARS, resolve_jwt_secret

    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    current = resolve_jwt_secret(env)
    if current is not None:
        out[current.source] = current.value
    for name in (*JWT_SECRET_VARS, "JWT_SECRET_KEY"):
        if name not in out and env.get(name, "").strip():
            out[name] = env[name]
    old = env.get("AUTH_JWT__OLD_SECRETS", "").strip()
    if old:
        try:
            values = json.loads(old)
        except ValueError:  # svc-infra itself wants JSON (env.jwt_old_secrets says so)
            values = old.split(",")
        if isinstance(values, str):
            values = [values]
        if isinstance(values, list):
            for i, value in enumerate(v for v in values if isinstance(v, str) and v.strip()):
                out[f"AUTH_JWT__OLD_SECRETS[{i}]"] = value.strip()
    register_secret(*out.values())
    return out


def _role(name: str) -> str:
    upper = name.upper()
    if "OLD" in upper or "PREVIOUS" in upper or "ROTATED" in upper:
        return "old"
    if upper == "JWT_SECRET_KEY":
        return "guide"
    return "current"


def find_key(token: str, candidates: Mapping[str, str | bytes]) -> Report:
    """Which of the named HMAC secrets signed ``token`` (current, an old rotated one, none)."""
    if not isinstance(candidates, Mapping):
        raise TokensError("find_key() takes candidates as a mapping {name: secret}")
    import jwt

    findings: list[Finding] = []
    text, _ = _clean(token if isinstance(token, str) else "")
    structure = inspect(text)
    malformed = structure.get("tokens.format")
    if malformed is not None:
        return Report([malformed], title="JWT signing key")
    parts = text.split(".")
    signature = _b64decode(parts[2])  # inspect() has checked every segment decodes
    alg = structure.header.get("alg")
    if alg not in HMAC_ALGS:
        return Report([Finding("tokens.find_key", Status.SKIP,
                               f"the token is {alg!r}: find_key compares HMAC secrets (HS256/384/512)",
                               fix="verify public-key tokens with inspect(token, key=<JWKS URL or PEM>)")],
                      title="JWT signing key")
    algorithm = jwt.get_algorithm_by_name(str(alg))
    message = (parts[0] + "." + parts[1]).encode()
    matches: list[str] = []
    for name, secret in candidates.items():
        if not isinstance(secret, str | bytes) or not secret:
            findings.append(Finding(f"tokens.candidate.{_slug(name)}", Status.SKIP, f"{name}: empty"))
            continue
        register_secret(secret)
        raw = secret.encode("utf-8", "surrogatepass") if isinstance(secret, str) else secret
        try:
            ok = algorithm.verify(message, _prepared(str(alg), raw), signature)
        except Exception as exc:  # e.g. a PEM passed as a secret
            findings.append(Finding(f"tokens.candidate.{_slug(name)}", Status.SKIP,
                                    f"{name}: not usable as an HMAC secret ({type(exc).__name__})"))
            continue
        if ok:
            matches.append(name)
        findings.append(Finding(
            f"tokens.candidate.{_slug(name)}", Status.OK if ok else Status.SKIP,
            f"{name} ({fingerprint(raw)}): {'SIGNED this token' if ok else 'no match'}",
            data={"name": name, "fingerprint": fingerprint(raw), "match": ok, "role": _role(name)}))
    names = ", ".join(candidates) or "none"
    if not matches:
        head = Finding(
            "tokens.find_key", Status.FAIL,
            f"none of the {len(candidates)} candidate secrets signed this token",
            f"Tried: {names}. The token was signed by another environment or service (or with a "
            "secret rotated out of AUTH_JWT__OLD_SECRETS).",
            "get a token from this environment, or give every service the same AUTH_JWT__SECRET: "
            "compare svc_nb.tokens.fingerprint(secret) on each host",
            {"tried": list(candidates), "match": None})
    else:
        name = matches[0]
        role = _role(name)
        if role == "current":
            head = Finding("tokens.find_key", Status.OK, f"signed with the current secret {name}",
                           data={"match": name, "role": role})
        elif role == "old":
            head = Finding(
                "tokens.find_key", Status.WARN, f"signed with an old, rotated secret ({name})",
                "The issuer still signs with (or the token predates) a secret you have rotated out. "
                "svc-infra verifies with it only while it is listed in AUTH_JWT__OLD_SECRETS.",
                "let the token expire / log in again; make sure every issuer uses the new "
                "AUTH_JWT__SECRET before dropping the old one from AUTH_JWT__OLD_SECRETS",
                {"match": name, "role": role})
        else:
            head = Finding(
                "tokens.find_key", Status.WARN, f"signed with {name}, the guide's variable",
                "svc-infra never reads JWT_SECRET_KEY: the service reads AUTH_JWT__SECRET "
                "(then AUTH_JWT_SECRET, JWT_SECRET), so a service configured only through "
                "JWT_SECRET_KEY is not using this secret.",
                "rename the variable to AUTH_JWT__SECRET", {"match": name, "role": role})
    return Report([head, *findings], title="JWT signing key")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-[]" else "_" for c in name) or "unnamed"


# -- making svc-infra-shaped tokens -----------------------------------------------------------


def make(
    claims: Mapping[str, Any] | None = None,
    *,
    secret: Any,
    lifetime: float = DEFAULT_LIFETIME,
    audience: str | Iterable[str] | None = (ACCESS_AUDIENCE,),
    now: datetime | float | None = None,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
) -> str:
    """A token shaped like svc-infra's: ``sub``, ``aud`` list, ``exp`` (no ``iat``/``iss``).

    ``secret`` is the HMAC secret (HS*) or the private key (RS/PS/ES/EdDSA).
    """
    import jwt

    if algorithm.lower() == "none":
        raise TokensError("make() does not craft unsigned (alg: none) tokens")
    payload: dict[str, Any] = {"sub": "00000000-0000-0000-0000-000000000001"}
    aud = _as_list(audience)
    if aud:
        payload["aud"] = aud
    payload["exp"] = int(_now_ts(now) + lifetime)
    payload.update(claims or {})
    if isinstance(secret, str | bytes) and algorithm in HMAC_ALGS:
        register_secret(secret)
    with warnings.catch_warnings():
        # PyJWT warns on short HMAC keys; inspect() reports that as a finding instead.
        warnings.simplefilter("ignore")
        return jwt.encode(payload, secret, algorithm=algorithm, headers=dict(headers or {}) or None)


# -- diagnose --------------------------------------------------------------------------------


def _diagnose(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    """Round-trip an svc-infra-shaped token with the configured secret (no network).

    Presence, strength and naming of the secret are env.jwt_secret's job; this
    check proves the secret works for signing and gives its fingerprint.
    """
    from svc_nb.env import resolve_jwt_secret

    resolved = resolve_jwt_secret(environ)
    if resolved is None:
        return [Finding("tokens.secret", Status.SKIP,
                        "no JWT secret configured: nothing to round-trip (see env.jwt_secret)")]
    secret = resolved.value
    register_secret(secret)
    size = len(secret.encode("utf-8", "surrogatepass"))
    fp = fingerprint(secret)
    strength = "strong" if size >= 32 else "weak: shorter than HS256's 32 bytes"
    report = inspect(make(secret=secret, lifetime=60), key=secret, audience=ACCESS_AUDIENCE)
    if report.verdict != "valid":
        return [Finding("tokens.secret", Status.FAIL,
                        f"{resolved.source} ({fp}) could not round-trip an svc-infra-shaped token",
                        "; ".join(report.reasons), "check the secret's value (encoding, stray characters)",
                        {"source": resolved.source, "fingerprint": fp, "length": size})]
    return [Finding(
        "tokens.secret", Status.OK,
        f"{resolved.source} ({fp}, {size} bytes, {strength}) signs and verifies an "
        "svc-infra-shaped HS256 token",
        "Compare the fingerprint across services: equal fingerprints mean the same secret "
        "(Python's hash() is salted per process and cannot be compared).",
        "",
        {"source": resolved.source, "fingerprint": fp, "length": size, "strong": size >= 32})]


register_check("tokens", _diagnose, order=50)
