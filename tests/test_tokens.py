"""svc_nb.tokens: real PyJWT tokens of every family, a local JWKS server, fixed clocks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from svc_nb import Report, Status, SvcNbError, tokens
from svc_nb._redact import fingerprint as redact_fingerprint
from tests._support import JwksServer, SilentServer, closed_port

NOW = 1_750_000_000  # a fixed clock for every time judgement
SECRET = "current-secret-0123456789abcdef-XYZ"  # 35 bytes
OLD_SECRET = "old-rotated-secret-0123456789abcdef"
GUIDE_SECRET = "guide-jwt-secret-key-0123456789abcd"
OTHER_ENV_SECRET = "staging-secret-0123456789abcdef-QRS"


def _pem_public(private: Any) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "RSA": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "RSA2": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "P256": ec.generate_private_key(ec.SECP256R1()),
        "P384": ec.generate_private_key(ec.SECP384R1()),
        "ED": ed25519.Ed25519PrivateKey.generate(),
    }


# alg -> name of the private key in the fixture, JWK converter
FAMILIES = {
    "RS256": ("RSA", RSAAlgorithm),
    "RS384": ("RSA", RSAAlgorithm),
    "RS512": ("RSA", RSAAlgorithm),
    "PS256": ("RSA", RSAAlgorithm),
    "ES256": ("P256", ECAlgorithm),
    "ES384": ("P384", ECAlgorithm),
    "EdDSA": ("ED", OKPAlgorithm),
}


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "user-1", "aud": ["fastapi-users:auth"], "exp": NOW + 3600, **extra}


# -- every family ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_families_verify_and_mismatch(alg: str) -> None:
    secret = "k" * 64
    token = jwt.encode(_claims(), secret, algorithm=alg)
    good = tokens.inspect(token, key=secret, audience="fastapi-users:auth", now=NOW)
    assert good.verdict == "valid", str(good)
    assert good["tokens.signature"].status is Status.OK
    assert good["tokens.signature"].data["key_fingerprint"] == tokens.fingerprint(secret)
    assert good.header["alg"] == alg and good.claims["sub"] == "user-1"
    bad = tokens.inspect(token, key="z" * 64, now=NOW)
    assert bad.verdict == "invalid"
    assert "signature mismatch" in bad["tokens.signature"].summary
    assert bad["tokens.signature"].cause == "bad_signature"


@pytest.mark.parametrize("alg", list(FAMILIES))
def test_asymmetric_families_pem_jwk_and_wrong_key(alg: str, keys: dict[str, Any]) -> None:
    name, converter = FAMILIES[alg]
    private = keys[name]
    token = jwt.encode(_claims(), private, algorithm=alg)
    by_pem = tokens.inspect(token, key=_pem_public(private), now=NOW)
    assert by_pem.verdict == "valid", str(by_pem)
    by_pem_str = tokens.inspect(token, key=_pem_public(private).decode(), now=NOW)
    assert by_pem_str.verdict == "valid"
    jwk = converter.to_jwk(private.public_key(), as_dict=True)
    by_jwk = tokens.inspect(token, key=jwk, now=NOW)
    assert by_jwk.verdict == "valid", str(by_jwk)
    by_object = tokens.inspect(token, key=private.public_key(), now=NOW)
    assert by_object.verdict == "valid"
    other = {"RSA": "RSA2", "P256": "P256", "P384": "P384", "ED": "ED"}[name]
    wrong = (
        keys[other]
        if other != name
        else {
            "P256": ec.generate_private_key(ec.SECP256R1()),
            "P384": ec.generate_private_key(ec.SECP384R1()),
            "ED": ed25519.Ed25519PrivateKey.generate(),
        }[name]
    )
    mismatch = tokens.inspect(token, key=_pem_public(wrong), now=NOW)
    assert mismatch.verdict == "invalid"
    assert "signature mismatch" in mismatch["tokens.signature"].summary
    assert mismatch["tokens.signature"].cause == "bad_signature"


def test_private_key_pem_is_reduced_to_its_public_half(keys: dict[str, Any]) -> None:
    private = keys["RSA"]
    token = jwt.encode(_claims(), private, algorithm="RS256")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert tokens.inspect(token, key=pem, now=NOW).verdict == "valid"


def test_pinned_algorithms_reject_other_alg_and_key_type_mismatch(keys: dict[str, Any]) -> None:
    token = jwt.encode(_claims(), keys["RSA"], algorithm="RS256")
    pinned = tokens.inspect(token, key=_pem_public(keys["RSA"]), algorithms=["RS384"], now=NOW)
    assert pinned["tokens.alg"].status is Status.FAIL
    assert "not in the pinned algorithms" in pinned["tokens.alg"].summary
    assert pinned["tokens.alg"].cause == "alg_not_allowed"
    secret_for_rs = tokens.inspect(token, key=SECRET, now=NOW)
    assert "key type mismatch" in secret_for_rs["tokens.signature"].summary
    assert secret_for_rs["tokens.signature"].cause == "key_type_mismatch"


# -- attacks ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge_hs256(claims: dict[str, Any], hmac_key: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(hmac_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def test_rs_to_hs_confusion_is_named_and_refused(keys: dict[str, Any]) -> None:
    public_pem = _pem_public(keys["RSA"])
    # The attacker signs an HS256 token using the (public) PEM bytes as the HMAC secret.
    forged = _forge_hs256(_claims(sub="admin"), public_pem)
    for key in (
        public_pem,
        public_pem.decode(),
        RSAAlgorithm.to_jwk(keys["RSA"].public_key(), as_dict=True),
    ):
        report = tokens.inspect(forged, key=key, now=NOW)
        assert report.verdict == "invalid"
        finding = report["tokens.signature"]
        assert "RS→HS algorithm confusion attack" in finding.summary
        assert finding.cause == "alg_confusion"
        assert "algorithms=['RS256']" in finding.fix
    # Even if the caller pins HS256 explicitly, a public key is never used as the HMAC secret.
    pinned = tokens.inspect(forged, key=public_pem, algorithms=["HS256"], now=NOW)
    assert "confusion" in pinned["tokens.signature"].summary


def test_alg_none_is_never_accepted() -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    for kwargs in ({}, {"key": SECRET}, {"key": SECRET, "algorithms": ["none", "HS256"]}):
        report = tokens.inspect(unsigned, now=NOW, **kwargs)
        assert report.verdict == "invalid"
        assert "alg: none" in report["tokens.alg"].summary
        assert report["tokens.alg"].cause == "alg_none"
        assert (
            report.get("tokens.signature") is None
            or report["tokens.signature"].status is not Status.OK
        )


# -- JWKS over a local HTTP server -------------------------------------------------------------


def _jwk(private: Any, kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": kid, "use": "sig"}


@pytest.fixture
def jwks_server(keys: dict[str, Any]) -> Iterator[JwksServer]:
    tokens.clear_jwks_cache()
    with JwksServer({"keys": [_jwk(keys["RSA"], "k1")]}) as server:
        yield server
    tokens.clear_jwks_cache()


def test_jwks_fetch_cache_and_rotation(jwks_server: JwksServer, keys: dict[str, Any]) -> None:
    t1 = jwt.encode(_claims(), keys["RSA"], algorithm="RS256", headers={"kid": "k1"})
    assert tokens.inspect(t1, jwks_url=jwks_server.url, now=NOW).verdict == "valid"
    assert tokens.inspect(t1, key=jwks_server.url, now=NOW).verdict == "valid"
    assert jwks_server.hits == 1  # the second inspect used the cached set
    # Rotation: the issuer publishes k2 and signs with it; k2 is not in the cached set -> refetch.
    jwks_server.jwks = {"keys": [_jwk(keys["RSA"], "k1"), _jwk(keys["RSA2"], "k2")]}
    t2 = jwt.encode(_claims(), keys["RSA2"], algorithm="RS256", headers={"kid": "k2"})
    report = tokens.inspect(t2, jwks_url=jwks_server.url, now=NOW)
    assert report.verdict == "valid", str(report)
    assert report["tokens.signature"].data["kid"] == "k2"
    assert jwks_server.hits == 2
    # A kid the issuer never published: refetched once more, then named.
    t3 = jwt.encode(_claims(), keys["RSA2"], algorithm="RS256", headers={"kid": "k3"})
    missing = tokens.inspect(t3, jwks_url=jwks_server.url, now=NOW)
    assert missing["tokens.key"].status is Status.FAIL
    assert "no key with kid 'k3'" in missing["tokens.key"].summary
    assert missing["tokens.key"].cause == "unknown_kid"
    assert missing["tokens.key"].data["kids"] == ["k1", "k2"]
    assert jwks_server.hits == 3


def test_jwks_without_kid_and_several_keys_warns(
    jwks_server: JwksServer, keys: dict[str, Any]
) -> None:
    jwks_server.jwks = {"keys": [_jwk(keys["RSA"], "k1"), _jwk(keys["RSA2"], "k2")]}
    token = jwt.encode(_claims(), keys["RSA2"], algorithm="RS256")
    report = tokens.inspect(token, jwks_url=jwks_server.url, now=NOW)
    assert report["tokens.kid"].status is Status.WARN
    assert report["tokens.kid"].cause == "missing_kid"
    assert report.verdict == "valid"  # the second key still verifies it


def test_jwks_http_error_refused_and_silent_peer(
    jwks_server: JwksServer, keys: dict[str, Any]
) -> None:
    token = jwt.encode(_claims(), keys["RSA"], algorithm="RS256", headers={"kid": "k1"})
    not_found = tokens.inspect(
        token, jwks_url=jwks_server.url.replace("jwks.json", "nope"), now=NOW
    )
    assert "HTTP 404" in not_found["tokens.key"].summary
    assert not_found["tokens.key"].cause == "jwks_http_status"
    refused = tokens.inspect(
        token, jwks_url=f"http://127.0.0.1:{closed_port()}/jwks", now=NOW, timeout=1.0
    )
    # The shared transport vocabulary (svc_nb._http): the same causes as every HTTP probe.
    assert refused["tokens.key"].cause == "connect_failed"
    assert "cannot connect to" in refused["tokens.key"].summary
    with SilentServer() as silent:
        started = time.monotonic()
        hung = tokens.inspect(
            token, jwks_url=f"http://127.0.0.1:{silent.port}/jwks", now=NOW, timeout=0.5
        )
        elapsed = time.monotonic() - started
    assert "within 0.5 s" in hung["tokens.key"].summary
    assert hung["tokens.key"].cause == "timeout"
    assert elapsed < 0.5 + 0.3


def test_inspect_async_awaits_the_jwks_without_blocking_the_loop(
    jwks_server: JwksServer, keys: dict[str, Any]
) -> None:
    token = jwt.encode(_claims(), keys["RSA"], algorithm="RS256", headers={"kid": "k1"})

    async def main() -> tuple[Any, Any, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        beat = asyncio.create_task(ticker())
        valid = await tokens.inspect_async(token, jwks_url=jwks_server.url, now=NOW)
        with SilentServer() as silent:
            hung = await tokens.inspect_async(
                token, key=f"http://127.0.0.1:{silent.port}/jwks", now=NOW, timeout=0.5
            )
        beat.cancel()
        return valid, hung, ticks

    valid, hung, ticks = asyncio.run(main())
    assert valid.verdict == "valid" and valid["tokens.signature"].data["kid"] == "k1"
    assert hung["tokens.key"].cause == "timeout"
    assert ticks >= 10  # the loop kept running while the silent peer was awaited


# -- time: expiry, not-before, skew, leeway --------------------------------------------------------


def test_expired_minutes_ago_and_valid_for_days() -> None:
    expired = tokens.inspect(
        tokens.make(secret=SECRET, lifetime=600, now=NOW - 780), key=SECRET, now=NOW
    )
    exp = expired["tokens.exp"]
    assert exp.status is Status.FAIL and exp.summary.startswith("expired 3 min ago")
    assert exp.data["clock_skew"] is False  # minutes late: simply expired
    assert exp.cause == "expired"
    assert "lifetime is over" in exp.detail and "new token" in exp.fix
    near = tokens.inspect(
        tokens.make(secret=SECRET, lifetime=600, now=NOW - 700), key=SECRET, now=NOW
    )
    assert near["tokens.exp"].data["clock_skew"] is True  # 100 s late: within the skew window
    assert near["tokens.exp"].cause == "expired_clock_skew"
    fresh = tokens.inspect(tokens.make(secret=SECRET, now=NOW - 86400), key=SECRET, now=NOW)
    assert fresh["tokens.exp"].summary.startswith("valid for another 6 days")
    assert fresh.verdict == "valid"
    # exp is rendered as a UTC datetime in the claims view
    assert datetime.fromtimestamp(NOW - 86400 + 604800, UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    ) in str(fresh)


def test_clock_skew_on_exp_names_the_leeway_and_leeway_accepts() -> None:
    token = tokens.make(secret=SECRET, lifetime=60, now=NOW - 72)  # expired 12 s ago
    strict = tokens.inspect(token, key=SECRET, now=NOW)
    finding = strict["tokens.exp"]
    assert finding.status is Status.FAIL and finding.data["leeway_needed"] == 13
    assert "clock skew" in finding.detail and "leeway=13" in finding.fix
    assert finding.cause == "expired_clock_skew"
    lenient = tokens.inspect(token, key=SECRET, now=NOW, leeway=13)
    assert lenient["tokens.exp"].status is Status.WARN and lenient.verdict == "valid"
    assert lenient["tokens.exp"].cause == "accepted_by_leeway"
    # PyJWT agrees on the boundary
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            audience="fastapi-users:auth",
            leeway=12,
            options={"verify_exp": True},
        )


def test_not_yet_valid_and_iat_in_future() -> None:
    nbf_far = jwt.encode(_claims(nbf=NOW + 3600), SECRET, algorithm="HS256")
    far = tokens.inspect(nbf_far, key=SECRET, now=NOW)["tokens.nbf"]
    assert far.status is Status.FAIL and "becomes valid in 1 h" in far.summary
    assert far.data["clock_skew"] is False and far.cause == "not_yet_valid"
    nbf_near = jwt.encode(_claims(nbf=NOW + 20), SECRET, algorithm="HS256")
    near = tokens.inspect(nbf_near, key=SECRET, now=NOW)["tokens.nbf"]
    assert near.data["clock_skew"] is True and near.data["leeway_needed"] == 21
    assert near.cause == "not_yet_valid_clock_skew"
    iat_future = jwt.encode(_claims(iat=NOW + 40), SECRET, algorithm="HS256")
    report = tokens.inspect(iat_future, key=SECRET, now=datetime.fromtimestamp(NOW, UTC))
    iat = report["tokens.iat"]
    assert iat.status is Status.FAIL and "issued in the future" in iat.summary
    assert "clock skew" in iat.detail and iat.data["leeway_needed"] == 41
    assert iat.cause == "iat_in_future"
    assert tokens.inspect(iat_future, key=SECRET, now=NOW, leeway=41).get("tokens.iat") is None


def test_naive_now_is_misuse() -> None:
    with pytest.raises(tokens.TokensError, match="aware datetime") as raised:
        tokens.inspect("a.b.c", now=datetime(2025, 1, 1))
    assert isinstance(raised.value, TypeError)


# -- audiences, issuer, lints --------------------------------------------------------------------


def test_mfa_pre_token_used_as_access_token() -> None:
    pre = tokens.make(secret=SECRET, audience=[tokens.MFA_AUDIENCE], lifetime=300, now=NOW)
    report = tokens.inspect(pre, key=SECRET, audience=tokens.ACCESS_AUDIENCE, now=NOW)
    assert report.verdict == "invalid"
    assert "MFA pre-token" in report["tokens.aud"].summary
    assert report["tokens.aud"].cause == "mfa_pre_token"
    unchecked = tokens.inspect(pre, key=SECRET, now=NOW)
    assert (
        unchecked["tokens.aud"].status is Status.WARN and "MFA" in unchecked["tokens.aud"].summary
    )
    assert unchecked["tokens.aud"].cause == "mfa_pre_token"


def test_audience_and_issuer_mismatch() -> None:
    token = jwt.encode(
        _claims(aud=["billing"], iss="https://auth.staging"), SECRET, algorithm="HS256"
    )
    report = tokens.inspect(
        token, key=SECRET, audience="fastapi-users:auth", issuer="https://auth.prod", now=NOW
    )
    assert "audience mismatch" in report["tokens.aud"].summary
    assert report["tokens.aud"].cause == "wrong_audience"
    assert "issuer mismatch" in report["tokens.iss"].summary
    assert report["tokens.iss"].cause == "wrong_issuer"
    svc = tokens.make(secret=SECRET, now=NOW)
    no_iss = tokens.inspect(svc, key=SECRET, issuer="https://auth.prod", now=NOW)["tokens.iss"]
    assert no_iss.status is Status.FAIL and "does not set iss" in no_iss.detail
    assert no_iss.cause == "missing_issuer"
    no_aud = jwt.encode({"sub": "x", "exp": NOW + 60}, SECRET, algorithm="HS256")
    missing = tokens.inspect(no_aud, key=SECRET, audience="fastapi-users:auth", now=NOW)
    assert missing["tokens.aud"].cause == "missing_audience"


def test_lints_short_secret_no_exp_lifetime_sensitive() -> None:
    short = tokens.make(secret="tooshort", now=NOW)
    report = tokens.inspect(short, key="tooshort", now=NOW)
    weak = report["tokens.secret"]
    assert weak.status is Status.WARN and weak.cause == "weak_key"
    # The length of a weak secret narrows a brute-force search: never shown.
    assert weak.data == {"alg": "HS256", "required": tokens.HMAC_MIN_KEY_BYTES}
    assert "shorter than HS256's 32 bytes" in weak.summary
    assert "8 bytes" not in weak.summary + weak.detail and "length" not in weak.data
    no_exp = jwt.encode({"sub": "x"}, SECRET, algorithm="HS256")
    never = tokens.inspect(no_exp, key=SECRET, now=NOW)["tokens.exp"]
    assert "never expires" in never.summary and never.cause == "no_exp"
    long = jwt.encode(_claims(iat=NOW, exp=NOW + 3 * 86400), SECRET, algorithm="HS256")
    lint = tokens.inspect(long, key=SECRET, now=NOW)["tokens.lifetime"]
    assert "AUTH_JWT__LIFETIME_SECONDS" in lint.fix and lint.data["lifetime_s"] == 3 * 86400
    assert lint.cause == "long_lifetime" and "3 days" in lint.summary
    day = jwt.encode(_claims(iat=NOW, exp=NOW + 3600), SECRET, algorithm="HS256")
    assert tokens.inspect(day, key=SECRET, now=NOW).get("tokens.lifetime") is None
    pii = jwt.encode(_claims(email="a@example.com", password="hunter2!"), SECRET, algorithm="HS256")
    sensitive = tokens.inspect(pii, key=SECRET, now=NOW)["tokens.claims"]
    assert sensitive.data["claims"] == ["email", "password"]
    assert sensitive.cause == "sensitive_claims"


def test_without_key_says_not_verified() -> None:
    report = tokens.inspect(tokens.make(secret=SECRET, now=NOW), now=NOW)
    assert report.verdict == "unverified"
    assert "NOT verified" in report["tokens.signature"].summary
    assert report["tokens.signature"].cause == "not_verified"
    assert "NOT VERIFIED" in report._repr_html_()


# -- malformed and pasted input ------------------------------------------------------------------


GOOD = jwt.encode(_claims(), SECRET, algorithm="HS256")
_HS_HEAD = _b64(b'{"alg":"HS256"}')


@pytest.mark.parametrize(
    ("pasted", "stripped"),
    [
        (f"Bearer {GOOD}", "'Bearer ' prefix"),
        (f'"{GOOD}"', "quotes"),
        (f"  {GOOD}\n", "surrounding whitespace/newline"),
        (f"'Bearer {GOOD}'", "'Bearer ' prefix"),
        (GOOD[:40] + "\n" + GOOD[40:], "inner whitespace/line breaks"),
    ],
)
def test_pasted_decorations_are_stripped_and_reported(pasted: str, stripped: str) -> None:
    report = tokens.inspect(pasted, key=SECRET, now=NOW)
    assert report.verdict == "valid", str(report)
    assert stripped in report["tokens.input"].summary
    assert report["tokens.input"].cause == "pasted_decoration"


@pytest.mark.parametrize(
    ("token", "words", "cause"),
    [
        ("", "empty", "empty_token"),
        ("abc.def", "2 segment(s)", "wrong_segment_count"),
        ("a.b.c.d.e", "encrypted JWE", "encrypted_jwe"),
        ("deadbeef" * 8, "opaque 64-hex", "wrong_segment_count"),
        ("eyJ!!!.eyJhIjoxfQ.c2ln", "header segment (#1) is not valid base64url", "bad_base64"),
        (f"{_b64(b'{}')}.{_b64(b'not json')}.c2ln", "claims segment (#2) is not JSON", "bad_json"),
        (
            f"{_HS_HEAD}.{_b64(b'[1, 2]')}.c2ln",
            "claims segment (#2) is JSON list",
            "not_json_object",
        ),
        (f"{_HS_HEAD}.{_b64(b'{}')}.a", "signature segment (#3)", "bad_base64"),
    ],
)
def test_malformed_names_the_segment(token: str, words: str, cause: str) -> None:
    report = tokens.inspect(token, key=SECRET, now=NOW)
    finding = report["tokens.format"]
    assert finding.status is Status.FAIL and finding.cause == cause
    assert words in finding.summary + " " + finding.detail
    assert report.verdict == "invalid"


@pytest.mark.parametrize("exp_json", ["1e400", "-1e400", "1" + "0" * 400, "true", '"soon"', "null"])
def test_exotic_time_values_are_findings(exp_json: str) -> None:
    body = _b64(f'{{"sub": "x", "exp": {exp_json}, "iat": {exp_json}}}'.encode())
    report = tokens.inspect(f"{_HS_HEAD}.{body}.c2ln", key=SECRET, now=NOW)
    assert report.verdict == "invalid"
    if exp_json != "null":
        assert "is not a number" in report["tokens.exp"].summary + report["tokens.iat"].summary
        assert report["tokens.exp"].cause == report["tokens.iat"].cause == "bad_numeric_date"
    str(report)


def test_misuse_raises_with_guidance() -> None:
    with pytest.raises(tokens.TokensTypeError, match="token as str"):
        tokens.inspect(123)  # type: ignore[arg-type]
    with pytest.raises(tokens.KeyTypeError, match="key= takes"):
        tokens.inspect(GOOD, key=object())


def test_error_tree_keeps_type_and_value_errors() -> None:
    assert issubclass(tokens.TokensError, SvcNbError)
    assert issubclass(tokens.TokensTypeError, tokens.TokensError)
    assert issubclass(tokens.TokensTypeError, TypeError)  # except TypeError keeps working
    assert issubclass(tokens.KeyTypeError, tokens.TokensTypeError)
    assert issubclass(tokens.TokensValueError, tokens.TokensError)
    assert issubclass(tokens.TokensValueError, ValueError)
    assert issubclass(tokens.UnsignedTokenError, tokens.TokensValueError)
    with pytest.raises(tokens.UnsignedTokenError, match="algorithm='HS256'"):
        tokens.make(secret=SECRET, algorithm="none")
    with pytest.raises(tokens.TokensValueError, match="signs with one of"):
        tokens.make(secret=SECRET, algorithm="HS257")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"leeway": math.nan},
        {"leeway": math.inf},
        {"leeway": -1},
        {"leeway": timedelta(seconds=-5)},
        {"now": math.nan},
        {"now": math.inf},
        {"timeout": math.nan},
    ],
)
def test_non_finite_or_negative_times_are_refused(kwargs: dict[str, Any]) -> None:
    # NaN compares false with every expiry: an expired token used to read as valid.
    expired = tokens.make(secret=SECRET, lifetime=60, now=NOW - 3600)
    kwargs = {"now": NOW, **kwargs}
    with pytest.raises(tokens.TokensValueError) as raised:
        tokens.inspect(expired, key=SECRET, **kwargs)
    assert isinstance(raised.value, ValueError)


def test_finite_leeway_still_works_as_seconds_or_timedelta() -> None:
    expired = tokens.make(secret=SECRET, lifetime=60, now=NOW - 3600)  # 59 min late
    assert tokens.inspect(expired, key=SECRET, now=NOW).verdict == "invalid"
    for leeway in (7200, 7200.5, timedelta(hours=2)):
        report = tokens.inspect(expired, key=SECRET, now=NOW, leeway=leeway)
        assert report.verdict == "valid" and report["tokens.exp"].cause == "accepted_by_leeway"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"audience": 5}, "audience= takes a string or a list of strings"),
        ({"audience": [b"aud"]}, "audience= takes"),
        ({"issuer": 5}, "issuer= takes a string or a list of strings"),
        (
            {"algorithms": "HS256"},
            r"algorithms= takes a list of names, e.g. algorithms=\['HS256'\]",
        ),
        ({"leeway": "10"}, "leeway"),
        ({"jwks_url": 5}, "jwks_url= takes"),
    ],
)
def test_wrong_argument_types_raise_a_clear_type_error(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(tokens.TokensTypeError, match=words) as raised:
        tokens.inspect(GOOD, key=SECRET, now=NOW, **kwargs)
    assert isinstance(raised.value, TypeError)


_HOSTILE = 50_000


@pytest.mark.parametrize(
    "value",
    [
        "a" * _HOSTILE,
        "https://" + "a" * _HOSTILE,
        "a" * _HOSTILE + "://",
        "x://" + ":" * _HOSTILE,
        "eyJ" * (_HOSTILE // 3),
        "token=" * (_HOSTILE // 6),
    ],
    ids=["plain", "url", "scheme-last", "colons", "eyJ", "named"],
)
def test_huge_aud_and_iss_stay_linear_and_findings_stay_short(value: str) -> None:
    token = jwt.encode(
        {"sub": "x", "aud": value, "iss": value, "exp": NOW + 60}, SECRET, algorithm="HS256"
    )
    started = time.perf_counter()
    report = tokens.inspect(
        token, key=SECRET, audience=value[:-1] + "!", issuer=[value[:-1] + "!"], now=NOW
    )
    rendered = str(report) + report._repr_html_() + report.to_json()
    assert time.perf_counter() - started < 2.0
    assert report["tokens.aud"].cause == "wrong_audience"
    assert report["tokens.iss"].cause == "wrong_issuer"
    # A finding quotes enough of a value to recognise it, not 50 000 characters.
    for finding in report:
        assert len(finding.summary) < 500 and len(json.dumps(finding.to_dict())) < 5000
    assert len(rendered) < 50_000


def test_a_megabyte_token_is_inspected_and_rendered_quickly() -> None:
    many = {f"claim{i}": "v" * 10 for i in range(50_000)}
    for claims in ({"sub": "x" * 1_000_000, "exp": NOW + 60}, many):
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        assert len(token) > 1_000_000
        started = time.perf_counter()
        report = tokens.inspect(token, key=SECRET, audience="a", issuer="i", now=NOW)
        str(report)
        report._repr_html_()
        report.to_json()
        assert time.perf_counter() - started < 2.0
        assert report.claims == claims  # the views are short; .claims holds everything


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(), use_key=st.booleans())
def test_inspect_never_raises_on_arbitrary_text(text: str, use_key: bool) -> None:
    report = tokens.inspect(text, key=SECRET if use_key else None, now=NOW)
    assert report.verdict in {"valid", "invalid", "unverified"}
    str(report)
    report._repr_html_()


@settings(max_examples=100, deadline=None)
@given(
    header=st.dictionaries(
        st.text(max_size=5), st.one_of(st.text(max_size=5), st.integers(), st.none())
    ),
    claims=st.recursive(
        st.none() | st.integers() | st.text(max_size=4),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    ),
)
def test_inspect_never_raises_on_arbitrary_json_segments(
    header: dict[str, Any], claims: Any
) -> None:
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.c2ln"
    report = tokens.inspect(token, key=SECRET, audience="a", issuer="i", now=NOW)
    assert report.verdict == "invalid"
    str(report)


# -- find_key, fingerprint, make -------------------------------------------------------------------


CANDIDATES = {
    "AUTH_JWT__SECRET": SECRET,
    "AUTH_JWT__OLD_SECRETS[0]": OLD_SECRET,
    "JWT_SECRET_KEY": GUIDE_SECRET,
}


@pytest.mark.parametrize(
    ("signer", "status", "words", "cause"),
    [
        (SECRET, Status.OK, "signed with the current secret AUTH_JWT__SECRET", None),
        (OLD_SECRET, Status.WARN, "signed with an old, rotated secret", "rotated_secret"),
        (GUIDE_SECRET, Status.WARN, "the guide's variable", "unread_secret_variable"),
        (OTHER_ENV_SECRET, Status.FAIL, "none of the 3 candidate secrets", "unknown_signer"),
    ],
)
def test_find_key_classifies_the_signer(
    signer: str, status: Status, words: str, cause: str | None
) -> None:
    token = tokens.make(secret=signer, now=NOW)
    report = tokens.find_key(token, CANDIDATES)
    head = report["tokens.find_key"]
    assert head.status is status and words in head.summary and head.cause == cause
    for candidate in report.select("tokens.candidate"):
        assert candidate.cause == (None if candidate.data["match"] else "not_the_signer")
    if status is Status.FAIL:
        assert "another environment" in head.detail
    rendered = str(report) + report._repr_html_() + report.to_json()
    for secret in (SECRET, OLD_SECRET, GUIDE_SECRET, OTHER_ENV_SECRET):
        assert secret not in rendered
    matches = [f.data["name"] for f in report if f.data.get("match") is True]
    assert matches == (
        [] if status is Status.FAIL else [next(k for k, v in CANDIDATES.items() if v == signer)]
    )


def test_find_key_on_malformed_and_asymmetric_tokens(keys: dict[str, Any]) -> None:
    assert tokens.find_key("nope", CANDIDATES)["tokens.format"].status is Status.FAIL
    rs = jwt.encode(_claims(), keys["RSA"], algorithm="RS256")
    skipped = tokens.find_key(rs, CANDIDATES)["tokens.find_key"]
    assert skipped.status is Status.SKIP and skipped.cause == "not_hmac"


def test_find_key_misuse_and_unset_candidates() -> None:
    token = tokens.make(secret=SECRET, now=NOW)
    with pytest.raises(tokens.TokensTypeError, match="names must be str") as raised:
        tokens.find_key(token, {1: SECRET})  # type: ignore[dict-item]
    assert isinstance(raised.value, TypeError)
    # Not "a: empty": the value is there, it is just not a key.
    with pytest.raises(tokens.KeyTypeError, match=r"'a' is not a key \(its value is of type int\)"):
        tokens.find_key(token, {"a": 5})  # type: ignore[dict-item]
    with pytest.raises(tokens.TokensTypeError, match="mapping"):
        tokens.find_key(token, [SECRET])  # type: ignore[arg-type]
    # An unset variable (os.environ.get(...) -> None) or an empty one is reported, not raised.
    report = tokens.find_key(token, {"AUTH_JWT__SECRET": SECRET, "UNSET": None, "EMPTY": ""})
    assert report["tokens.find_key"].status is Status.OK
    for check in ("tokens.candidate.UNSET", "tokens.candidate.EMPTY"):
        assert report[check].status is Status.SKIP and report[check].cause == "empty_secret"
    pem = tokens.find_key(
        token, {"PEM": "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"}
    )
    assert pem["tokens.candidate.PEM"].cause == "key_unusable"
    assert pem["tokens.find_key"].cause == "unknown_signer"


def test_candidates_from_env_reads_old_secrets_as_svc_infra_does() -> None:
    env = {
        "AUTH_JWT__SECRET": SECRET,
        "AUTH_JWT__OLD_SECRETS": json.dumps([OLD_SECRET, "older-secret-123"]),
        "JWT_SECRET_KEY": GUIDE_SECRET,
    }
    found = tokens.candidates_from_env(env)
    assert list(found) == [
        "AUTH_JWT__SECRET",
        "JWT_SECRET_KEY",
        "AUTH_JWT__OLD_SECRETS[0]",
        "AUTH_JWT__OLD_SECRETS[1]",
    ]
    block = tokens.candidates_from_env(
        {"AUTH_JWT": json.dumps({"secret": SECRET}), "JWT_SECRET": OLD_SECRET}
    )
    assert block == {"AUTH_JWT": SECRET, "JWT_SECRET": OLD_SECRET}
    # svc-infra's settings refuse a comma list (it is not JSON): it verifies with no old secret.
    csv = tokens.candidates_from_env(
        {"AUTH_JWT__SECRET": SECRET, "AUTH_JWT__OLD_SECRETS": f"{OLD_SECRET}, older-secret-123"}
    )
    assert csv == {"AUTH_JWT__SECRET": SECRET}
    # Old secrets without AUTH_JWT__SECRET: svc-infra's jwt block lacks its secret and refuses.
    bare = tokens.candidates_from_env(
        {"JWT_SECRET": SECRET, "AUTH_JWT__OLD_SECRETS": json.dumps([OLD_SECRET])}
    )
    assert bare == {"JWT_SECRET": SECRET}


def test_fingerprint_is_the_redact_one_and_stable_across_processes() -> None:
    assert tokens.fingerprint is redact_fingerprint
    here = tokens.fingerprint(SECRET)
    code = (
        f"from svc_nb.tokens import fingerprint; print(fingerprint({SECRET!r})); "
        f"print(hash({SECRET!r}))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": "random", "PATH": "/usr/bin:/bin"},
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][0] == runs[1][0] == here
    assert runs[0][1] != runs[1][1]  # the guide's hash() differs per process
    assert SECRET not in here and len(here) <= 20
    assert tokens.fingerprint(SECRET.encode()) == here


def test_make_is_shaped_like_svc_infra() -> None:
    token = tokens.make(secret=SECRET, now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="fastapi-users:auth",
        options={"verify_exp": False},
    )
    assert set(claims) == {"sub", "aud", "exp"}
    assert claims["aud"] == ["fastapi-users:auth"] and claims["exp"] == NOW + 604800
    custom = tokens.make({"sub": "u-9", "role": "admin"}, secret=SECRET, lifetime=60, now=NOW)
    decoded = tokens.inspect(custom, now=NOW).claims
    assert decoded["sub"] == "u-9" and decoded["role"] == "admin" and decoded["exp"] == NOW + 60
    with pytest.raises(tokens.TokensError):
        tokens.make(secret=SECRET, algorithm="none")


# -- rendering never leaks, diagnose check ------------------------------------------------------------


def test_rendering_shows_tables_verdict_and_no_secret_or_signature() -> None:
    token = tokens.make({"email": "x@example.com"}, secret=SECRET, now=NOW)
    report = tokens.inspect(f"Bearer {token}", key=SECRET, now=NOW)
    page = report._repr_html_()
    signature = token.rsplit(".", 1)[1]
    for text in (page, str(report), report.to_json(), repr(report)):
        assert SECRET not in text and signature not in text
    assert 'class="svcnb-header"' in page and 'class="svcnb-claims"' in page
    assert 'data-verdict="valid"' in page and "&lt;signature hidden&gt;" in page
    assert report.times() == {"exp": NOW + 604800, "now": NOW}


def test_token_report_is_a_full_report() -> None:
    report = tokens.inspect(tokens.make(secret=SECRET, now=NOW), key=SECRET, now=NOW)
    assert isinstance(report, Report) and report.title == "JWT inspection"
    assert report.checks == ["tokens.exp", "tokens.lifetime", "tokens.aud", "tokens.signature"]
    assert report.counts() == {"ok": 3, "warn": 1, "fail": 0, "skip": 0}
    assert report.select("tokens.exp").checks == ["tokens.exp"]
    assert (report + Report()).checks == report.checks and report == Report(list(report))
    assert report.to_dict()["findings"][1]["cause"] == "long_lifetime"
    assert all(f.cause is None for f in report if f.status is Status.OK)
    assert tokens.HMAC_MIN_KEY_BYTES == 32 and not hasattr(tokens, "MFA_LIFETIME")


def test_diagnose_check_round_trips_the_configured_secret() -> None:
    from svc_nb._diagnose import _builders

    assert _builders["tokens"] == (50, tokens._diagnose)  # registered at import, order 50
    [secret] = tokens._diagnose({"AUTH_JWT_SECRET": SECRET, "JWT_SECRET_KEY": GUIDE_SECRET}, 1.0)
    assert secret.status is Status.OK and secret.data["source"] == "AUTH_JWT_SECRET"
    assert (
        secret.data["fingerprint"] == tokens.fingerprint(SECRET) and secret.data["strong"] is True
    )
    [weak] = tokens._diagnose({"JWT_SECRET": "short-secret"}, 1.0)
    assert weak.data["strong"] is False and "shorter than HS256's 32 bytes" in weak.summary
    # A weak secret's length stays unsaid.
    assert "12" not in weak.summary and "length" not in weak.data
    [unset] = tokens._diagnose({}, 1.0)
    assert unset.status is Status.SKIP and unset.cause == "no_secret"
    assert SECRET not in str(secret) and SECRET not in json.dumps(secret.to_dict())


# -- the bundled notebook -------------------------------------------------------------------------


@pytest.mark.notebook
def test_notebook_04_runs_and_explains_without_leaking() -> None:
    from tests._support import NOTEBOOKS, execute_notebook, notebook_text_outputs

    secret = "nb-test-current-secret-0123456789-abcdef"
    old = "nb-test-old-rotated-secret-0123456789-xyz"
    nb = execute_notebook(
        NOTEBOOKS / "04_jwt.ipynb",
        {"AUTH_JWT__SECRET": secret, "AUTH_JWT__OLD_SECRETS": json.dumps([old])},
    )
    text = notebook_text_outputs(nb)
    for expected in (
        "signature NOT verified",
        "'Bearer ' prefix",
        "expired 3 min ago",
        "A leeway of 13 s would accept it",
        "issued in the future",
        "MFA pre-token",
        "RS→HS algorithm confusion attack",
        "alg: none",
        "signed with an old, rotated secret",
        "none of the",
        tokens.fingerprint(secret),
        "model_id",  # the inspector widget was displayed
    ):
        assert expected in text, expected
    for secret_value in (secret, old):
        for form in (secret_value, base64.b64encode(secret_value.encode()).decode().rstrip("=")):
            assert form not in text
    # The two "services" print the same fingerprint but different hash() values.
    lines = [ln for ln in text.splitlines() if ln.startswith("service-")]
    assert len(lines) == 2
    assert lines[0].split()[1] == lines[1].split()[1]
    assert lines[0].split()[2] != lines[1].split()[2]
