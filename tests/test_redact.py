"""The one place that masks secrets."""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.parse

import pytest

from svc_nb import _redact


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://app:pa55word@db:5432/app", "pa55word"),
        ("postgresql+asyncpg://app:p%40ss%3Aword@db/app", "p%40ss%3Aword"),
        ("redis://:only-password@cache:6379/0", "only-password"),
        ("rediss://user:x@y@cache:6380", "x@y"),
        ("https://api.example.test/hook?token=abcd1234&x=1", "abcd1234"),
    ],
)
def test_mask_url_hides_passwords(url: str, secret: str) -> None:
    masked = _redact.mask_url(url)
    assert secret not in masked
    assert _redact.MASK in masked


def test_mask_url_keeps_structure() -> None:
    assert _redact.mask_url("postgresql://app:pw123456@db:5432/app") == "postgresql://app:****@db:5432/app"
    assert _redact.mask_url("postgresql://app@db/app") == "postgresql://app@db/app"


def test_shorten_token_hides_signature() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNlY3JldA"
    short = _redact.shorten_token(token)
    assert short.startswith("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.")
    assert "c2lnbmF0dXJl" not in short
    assert "c2lnbmF0dXJl" not in _redact.scrub(f"Authorization: Bearer {token}")


@pytest.mark.parametrize(
    ("name", "secret"),
    [("AUTH_JWT__SECRET", True), ("GITHUB_CLIENT_SECRET", True), ("DB_PASSWORD", True),
     ("WEBHOOK_ENCRYPTION_KEY", True), ("API_KEY", True), ("SQL_URL", False), ("APP_ENV", False),
     ("AUTH_JWT__LIFETIME_SECONDS", False), ("SQL_URL_FILE", False), ("KEYBOARD", False)],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert _redact.is_secret_name(name) is secret


def test_mask_env_registers_and_scrubs_every_form() -> None:
    secret = "unique-env-secret-7f3a9"
    shown = _redact.mask_env("AUTH_JWT__SECRET", secret)
    assert secret not in shown and "sha256:" in shown
    for form in (secret, urllib.parse.quote(secret), base64.b64encode(secret.encode()).decode().rstrip("=")):
        assert secret not in _redact.scrub(f"leak: {form}!")
        assert form not in _redact.scrub(f"leak: {form}!")


def test_fingerprint_is_stable_across_processes() -> None:
    here = _redact.fingerprint("correct horse battery staple")
    code = "from svc_nb._redact import fingerprint; print(fingerprint('correct horse battery staple'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123"}).stdout.strip()
    assert here == other
    assert here.startswith("sha256:") and len(here) == len("sha256:") + 12
    assert _redact.fingerprint(b"correct horse battery staple") == here
    assert _redact.fingerprint("a") != _redact.fingerprint("b")
    with pytest.raises(TypeError, match="str or bytes"):
        _redact.fingerprint(123)  # type: ignore[arg-type]


def test_scrub_data_walks_containers() -> None:
    data = {"a": ["postgresql://u:topsecret1@h/d"], "b": ("redis://:topsecret2@h",), "n": 3}
    out = _redact.scrub_data(data)
    assert "topsecret1" not in str(out) and "topsecret2" not in str(out) and out["n"] == 3
