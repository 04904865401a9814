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
    assert (
        _redact.mask_url("postgresql://app:pw123456@db:5432/app")
        == "postgresql://app:****@db:5432/app"
    )
    assert _redact.mask_url("postgresql://app@db/app") == "postgresql://app@db/app"


def test_shorten_token_hides_signature() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNlY3JldA"
    short = _redact.shorten_token(token)
    assert short.startswith("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.")
    assert "c2lnbmF0dXJl" not in short
    assert "c2lnbmF0dXJl" not in _redact.scrub(f"Authorization: Bearer {token}")


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("AUTH_JWT__SECRET", True),
        ("GITHUB_CLIENT_SECRET", True),
        ("DB_PASSWORD", True),
        ("WEBHOOK_ENCRYPTION_KEY", True),
        ("API_KEY", True),
        ("SQL_URL", False),
        ("APP_ENV", False),
        ("AUTH_JWT__LIFETIME_SECONDS", False),
        ("SQL_URL_FILE", False),
        ("KEYBOARD", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert _redact.is_secret_name(name) is secret


def test_mask_env_registers_and_scrubs_every_form() -> None:
    secret = "unique-env-secret-7f3a9"
    shown = _redact.mask_env("AUTH_JWT__SECRET", secret)
    assert secret not in shown and "fp:" in shown
    for form in (
        secret,
        urllib.parse.quote(secret),
        base64.b64encode(secret.encode()).decode().rstrip("="),
    ):
        assert secret not in _redact.scrub(f"leak: {form}!")
        assert form not in _redact.scrub(f"leak: {form}!")


def test_fingerprint_is_stable_across_processes() -> None:
    here = _redact.fingerprint("correct horse battery staple")
    code = (
        "from svc_nb._redact import fingerprint; print(fingerprint('correct horse battery staple'))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    ).stdout.strip()
    assert here == other
    assert here.startswith("fp:") and len(here) == len("fp:") + 12
    assert _redact.fingerprint(b"correct horse battery staple") == here
    assert _redact.fingerprint("a") != _redact.fingerprint("b")
    with pytest.raises(TypeError, match="str or bytes"):
        _redact.fingerprint(123)  # type: ignore[arg-type]


def test_scrub_data_walks_containers() -> None:
    data = {"a": ["postgresql://u:topsecret1@h/d"], "b": ("redis://:topsecret2@h",), "n": 3}
    out = _redact.scrub_data(data)
    assert "topsecret1" not in str(out) and "topsecret2" not in str(out) and out["n"] == 3


# -- masking by name: wherever a secret-looking name stands, its value is hidden --------

NAMED_LEAKS = [
    ("password=hunter2222 user=bob", "hunter2222"),
    ("host=db password='s p a c e' dbname=x", "s p a c e"),
    ('{"client_secret": "cs-0123456789"}', "cs-0123456789"),
    ("{'api_key': 'ak-0123456789', 'ok': 1}", "ak-0123456789"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==\nHost: x", "dXNlcjpwYXNzd29yZA=="),
    ("Authorization: Bearer opaque-token-123456", "opaque-token-123456"),
    ("Cookie: svc_session=abcdef0123; theme=dark", "abcdef0123"),
    ("Set-Cookie: svc_session=abcdef0123; Path=/", "abcdef0123"),
    ("X-Api-Key: key-0123456789", "key-0123456789"),
    ("GET /callback?code=authcode123&state=s", "authcode123"),
    ("https://h/x?pass=p4ss0001&passwrd=p4ss0002&auth=p4ss0003&requirepass=p4ss0004", "p4ss000"),
    ("settings: database_password='db-pass-77', api_token=tok-0000001", "db-pass-77"),
    ("settings: database_password='db-pass-77', api_token=tok-0000001", "tok-0000001"),
    ("private_key: -----BEGIN-KEY-----abc", "-----BEGIN-KEY-----abc"),
    ("credentials=cred-12345678", "cred-12345678"),
]


@pytest.mark.parametrize(("text", "secret"), NAMED_LEAKS)
def test_scrub_masks_values_under_secret_names(text: str, secret: str) -> None:
    assert secret not in _redact.scrub(text)


@pytest.mark.parametrize(
    "text",
    [
        "status_code=503",
        "HTTP code: 503",
        "key: jobs:ready",
        "token_type=bearer expires_in=3600",
        "AUTH_JWT__LIFETIME_SECONDS=604800",
        "X-Signature: 3a5f",
        "passed: 12",
    ],
)
def test_scrub_leaves_ordinary_names_alone(text: str) -> None:
    assert _redact.scrub(text) == text


SQL_PASSWORDS = [
    "ALTER ROLE app PASSWORD 'sql-secret-1'",
    "ALTER ROLE app PASSWORD'sql-secret-1'",
    "ALTER ROLE app PASSWORD E'sql-secret-1'",
    "ALTER ROLE app password E'sql-\\'secret-1'",
    "CREATE ROLE app PASSWORD $p$sql-secret-1$p$",
    "CREATE ROLE app PASSWORD $$sql-secret-1$$",
    "CREATE ROLE app PASSWORD U&'sql-secret-1'",
    "ALTER ROLE app PASSWORD /* rotate */ 'sql-secret-1'",
    "ALTER ROLE app PASSWORD -- rotate\n 'sql-secret-1'",
    "ALTER ROLE app PASSWORD 'sql-''secret-1'",
    "SELECT dblink_connect('host=h password=sql-secret-1 dbname=x')",
]


@pytest.mark.parametrize("query", SQL_PASSWORDS)
def test_scrub_masks_sql_password_literals(query: str) -> None:
    shown = _redact.scrub(query)
    assert "secret-1" not in shown, shown


def test_scrub_data_masks_by_key_and_covers_every_container() -> None:
    import collections

    point = collections.namedtuple("point", "x y")
    data = {
        "password": "pw-value-123",
        "nested": {"api_token": "tok-value-123", "n": 3},
        "url": "postgresql://u:url-secret-1@h/d",
        "exc": ValueError("connect failed: password=exc-secret-1"),
        "set": {"redis://:set-secret-1@h"},
        "redis://:key-secret-1@h": 1,
        "tuple": point(1, "postgresql://u:nt-secret-1@h/d"),
        "fingerprint": "fp:0123456789ab",
    }
    out = _redact.scrub_data(data)
    text = repr(out)
    for secret in (
        "pw-value-123",
        "tok-value-123",
        "url-secret-1",
        "exc-secret-1",
        "set-secret-1",
        "key-secret-1",
        "nt-secret-1",
    ):
        assert secret not in text, secret
    assert out["nested"]["n"] == 3 and out["tuple"].x == 1
    assert out["fingerprint"] == "fp:0123456789ab"


def test_scrub_data_cuts_pathological_nesting() -> None:
    deep: dict = {}
    cursor = deep
    for _ in range(2000):
        cursor["d"] = {}
        cursor = cursor["d"]
    _redact.scrub_data(deep)  # no RecursionError


def test_report_views_never_leak_title_data_keys_sets_or_exceptions() -> None:
    import json

    from svc_nb import Finding, Report, Status

    finding = Finding(
        "user.check",
        Status.FAIL,
        "boom",
        cause="user_error",
        data={
            "redis://:k-secret-9@h": {"redis://:s-secret-9@h"},
            "error": RuntimeError("password=e-secret-9"),
        },
    )
    report = Report([finding], title="checking postgresql://u:t-secret-9@h/db")
    views = [
        report.to_json(),
        str(report),
        report._repr_html_(),
        repr(report.title),
        report.to_frame().to_string(),
        json.dumps(finding.to_dict()),
    ]
    for view in views:
        for secret in ("k-secret-9", "s-secret-9", "e-secret-9", "t-secret-9"):
            assert secret not in view, (secret, view[:200])


# -- linear time on hostile input -------------------------------------------------------

HOSTILE = {
    "letters": "x" * 1_000_000,
    "url tail": "redis://u:p@h/" + "a" * 1_000_000,
    "many schemes": "a://" * 250_000,
    "jwt starts": "eyJ-" * 250_000,
    "jwt dots": "eyJ." * 250_000,
    "name pairs": "password=" * 110_000,
    "query codes": "?code=" * 160_000,
    "sql quotes": "password '" * 100_000,
    "colons": ":" * 1_000_000,
    "bearer": "bearer " * 140_000,
    "at signs": "a:b@" * 250_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_scrub_is_linear_on_a_megabyte(name: str) -> None:
    import time

    text = HOSTILE[name]
    started = time.perf_counter()
    _redact.scrub(text)
    assert time.perf_counter() - started < 3.0, name


def test_registry_is_bounded_and_scrub_stays_fast_with_many_secrets() -> None:
    import time

    started = time.perf_counter()
    for i in range(10_000):
        _redact.register_secret(f"whsec_registered-{i:08d}")
    assert time.perf_counter() - started < 5.0  # registration is constant time per secret
    assert _redact.registered_count() <= 5 * _redact.MAX_REGISTERED_SECRETS
    newest = f"whsec_registered-{9_999:08d}"
    started = time.perf_counter()
    shown = _redact.scrub(f"leak {newest} " * 50_000)
    assert time.perf_counter() - started < 3.0
    assert newest not in shown


def test_fingerprints_cost_real_work_and_weak_secrets_show_no_length() -> None:
    import hashlib
    import time

    weak = "k9x2"
    shown = _redact.mask_secret(weak)
    assert "4" not in shown.replace(_redact.fingerprint(weak), "")
    # The old fingerprint was a bare SHA-256 prefix: a brute force matched it in microseconds.
    assert hashlib.sha256(weak.encode()).hexdigest()[:12] not in shown
    started = time.perf_counter()
    for i in range(20):
        _redact.fingerprint(f"guess-{i}")
    assert (time.perf_counter() - started) / 20 > 0.002  # each guess costs milliseconds
