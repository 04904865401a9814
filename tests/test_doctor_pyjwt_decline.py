"""Is declining PyJWT's cryptography in the doctor safe? The tokens check judges alike without it.

``svc-nb doctor`` declines PyJWT's cryptography when it runs no user code and the
JWT secret cannot be a DER key (svc_nb._cli_imports, svc_nb._cli_doctor). These
tests run the tokens check with and without cryptography on every key-shaped
secret, including keys served by a JWKS server on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests._support import BENCH_AUTH, JwksServer, clean_child_env

_ROUND_TRIPS = """
import json, sys
if sys.argv[1] == "declined":
    from svc_nb._cli_imports import declining_optional_imports, running_only_svc_nb
    with declining_optional_imports(), running_only_svc_nb():
        import jwt
import jwt
from svc_nb._cli_doctor import _only_svc_nb
from svc_nb.tokens._secret_check import secret_check
out = []
for secret in json.load(sys.stdin):
    env = {"AUTH_JWT__SECRET": secret}
    try:
        found = [f.to_dict() for f in secret_check(env, 2.0)]
    except Exception as exc:
        found = type(exc).__name__
    out.append([_only_svc_nb(env), found])
print(json.dumps([jwt.algorithms.has_crypto, out]))
"""


def _round_trips(mode: str, secrets: list[str]) -> tuple[bool, list[Any]]:
    done = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIPS, mode],
        input=json.dumps(secrets),
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_child_env({}),
    )
    assert done.returncode == 0, done.stderr
    has_crypto, results = json.loads(done.stdout.strip().splitlines()[-1])
    return has_crypto, results


def _key_shaped_secrets(jwks_url: str) -> dict[str, str]:
    """Secrets people paste, in every shape the tokens check reads a key from."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )
    from jwt.algorithms import ECAlgorithm

    from tests._support import closed_port

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key()
    oct_jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")}
    ec_jwk = json.loads(ECAlgorithm.to_jwk(public))
    ssh = ed25519.Ed25519PrivateKey.generate().public_key()
    return {
        "hex": BENCH_AUTH["AUTH_JWT__SECRET"],
        "short": "short",
        "blank": "   ",
        "unicode": "пароль-秘密-\U0001f511-0123456789abcdef",
        "pem_public": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
        "pem_private": private.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        "ssh_public": ssh.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode(),
        "jwk_oct": json.dumps(oct_jwk),
        "jwk_ec": json.dumps(ec_jwk),
        "jwks": json.dumps({"keys": [oct_jwk, ec_jwk]}),
        "jwks_url_closed": f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json",
        "jwks_url_served": jwks_url,  # RSA, EC and oct keys: PyJWK of RSA and EC needs cryptography
    }


# An Ed25519 public key, DER (SubjectPublicKeyInfo), whose 32 key bytes are all "A": ASCII.
_DER_SECRET = bytes.fromhex("302a300506032b6570032100").decode("ascii") + "A" * 32


def _jwks_document() -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    rsa_key = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key()))
    ec_key = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    oct_key = {"kty": "oct", "kid": "hs", "k": "c2VjcmV0LW5vdC10aGUtdXJs"}
    return {"keys": [{**rsa_key, "kid": "rs"}, {**ec_key, "kid": "es"}, oct_key]}


def test_the_tokens_check_judges_alike_without_pyjwts_cryptography() -> None:
    with JwksServer(_jwks_document()) as server:
        jwks_url = server.url
        shapes = _key_shaped_secrets(jwks_url)
        secrets = [*shapes.values(), _DER_SECRET]
        with_crypto, kept = _round_trips("kept", secrets)
        without, declined = _round_trips("declined", secrets)
    assert (with_crypto, without) == (True, False)
    for name, one, other in zip([*shapes, "der"], kept, declined, strict=True):
        if name == "der":
            continue
        assert one == other, name
        # The doctor declines for each of them but a PEM (line breaks are control characters).
        assert one[0] is not name.startswith("pem_"), name
    # Only PyJWT's cryptography refuses a DER public key as an HMAC secret; the doctor
    # sees the control characters (U+0002 / U+0003 tags) and keeps it for that secret.
    served = kept[list(shapes).index("jwks_url_served")][1][0]
    assert "signature mismatch" in served["detail"], served  # fetched, its oct key tried
    der_kept, der_declined = kept[-1], declined[-1]
    assert der_kept[0] is der_declined[0] is False
    assert der_kept[1] == "InvalidKeyError" and der_declined[1] != der_kept[1]


def test_the_doctor_declines_only_without_user_code_or_a_key_shaped_secret() -> None:
    from svc_nb._cli_doctor import _only_svc_nb

    assert _only_svc_nb(BENCH_AUTH) is True
    assert _only_svc_nb({}) is True  # no secret: the tokens check never loads PyJWT
    assert _only_svc_nb({**BENCH_AUTH, "SVC_NB_APP": "pkg.main:app"}) is False
    assert _only_svc_nb({**BENCH_AUTH, "SVC_NB_APP": "  "}) is True  # names no app
    assert _only_svc_nb({"AUTH_JWT__SECRET": _DER_SECRET}) is False
    assert _only_svc_nb({"JWT_SECRET": "tab\tinside-a-secret-0123456789abcdef"}) is False
