"""Leak scan: seeded secrets never appear in anything svc_nb shows.

Unique secrets (fresh each run) are seeded into the environment and into the
inputs: the PostgreSQL and Redis passwords (real servers started here with
those passwords), the JWT secret and an old (rotated) one, a webhook signing
secret, an OAuth client secret, session/state secrets, a demo password, a JWT
signed with the secret and an opaque bearer/refresh token. Then every bundled
notebook, ``svc-nb doctor`` (text and ``--json``), every report view (text,
HTML, DataFrame, dict/JSON) of every section, the bug report after an
exception carrying the secrets, and the debug-log capture are searched for
each secret in raw, URL-encoded and base64 (standard and URL-safe, with and
without padding) form.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

import svc_nb
from svc_nb import _redact, cache, db, env, oauth, support, tokens
from svc_nb.webhooks import Receiver, probe, sign, verify
from tests._support import (
    NOTEBOOKS,
    ROOT,
    PostgresCluster,
    RedisServer,
    execute_notebook,
    notebook_text_outputs,
)

pytestmark = pytest.mark.slow


def _fresh(label: str, special: str = "", nbytes: int = 8) -> str:
    return f"Leak{label}{special}{secrets.token_hex(nbytes)}"


@dataclass(frozen=True)
class Seeds:
    pg_password: str
    redis_password: str
    jwt_secret: str
    jwt_old_secret: str
    webhook_secret: str
    client_secret: str
    session_secret: str
    state_secret: str
    demo_password: str
    opaque_token: str

    @property
    def jwt(self) -> str:
        return jwt.encode(
            {"sub": "leak-user", "aud": ["fastapi-users:auth"], "exp": 4_102_444_800},
            self.jwt_secret,
            algorithm="HS256",
        )

    def values(self) -> dict[str, str]:
        out = {k: v for k, v in vars(self).items()}
        token = self.jwt
        out["jwt_signature"] = token.rsplit(".", 1)[1]
        out["jwt_token"] = token
        return out


SEEDS = Seeds(
    pg_password=_fresh("Pg", "/@"),  # needs percent-encoding in a URL
    redis_password=_fresh("Rd", "#"),
    jwt_secret=_fresh("Jwt", nbytes=16),  # >= 32 bytes, as HS256 wants
    jwt_old_secret=_fresh("JwtOld", nbytes=16),
    webhook_secret=_fresh("Wh"),
    client_secret=_fresh("Oauth"),
    session_secret=_fresh("Sess"),
    state_secret=_fresh("State"),
    demo_password=_fresh("Demo"),
    opaque_token=secrets.token_hex(32),  # svc-infra's refresh tokens: 64 hex characters
)


def forms(secret: str) -> set[str]:
    """Every form of a secret the scan looks for."""
    raw = secret.encode()
    out = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        urllib.parse.quote(secret),
    }
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        text = enc(raw).decode()
        out |= {text, text.rstrip("=")}
    return out


def assert_no_leak(where: str, text: str) -> None:
    found = [
        (name, form)
        for name, value in SEEDS.values().items()
        for form in forms(value)
        if form in text
    ]
    assert not found, f"{where}: seeded secret(s) visible: {sorted({n for n, _ in found})}"


def test_scan_detects_every_form() -> None:
    """The scanner itself finds raw, encoded and base64 forms (else the scan proves nothing)."""
    for value in SEEDS.values().values():
        for form in forms(value):
            with pytest.raises(AssertionError):
                assert_no_leak("self-test", f"prefix {form} suffix")
    assert_no_leak("self-test", "nothing secret here")


# -- the seeded world: real servers using the secrets --------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, str]]:
    """Seeded env: a PostgreSQL and a Redis whose passwords are the seeds, and a local receiver."""
    cluster = PostgresCluster(
        hba=["host all all 127.0.0.1/32 scram-sha-256"], password=SEEDS.pg_password
    )
    with (
        cluster,
        RedisServer("--requirepass", SEEDS.redis_password) as redis_server,
        Receiver(status=200, secret=SEEDS.webhook_secret) as receiver,
    ):
        environ = {
            "SQL_URL": cluster.url("postgres", urllib.parse.quote(SEEDS.pg_password, safe="")),
            "REDIS_URL": f"redis://:{urllib.parse.quote(SEEDS.redis_password, safe='')}"
            f"@127.0.0.1:{redis_server.port}/0",
            "AUTH_JWT__SECRET": SEEDS.jwt_secret,
            "AUTH_JWT__OLD_SECRETS": json.dumps([SEEDS.jwt_old_secret]),
            "SVC_NB_WEBHOOK_URL": receiver.url,
            "SVC_NB_WEBHOOK_SECRET": SEEDS.webhook_secret,
            "ACME_CLIENT_ID": "leak-scan-client",
            "ACME_CLIENT_SECRET": SEEDS.client_secret,
            "SESSION_SECRET": SEEDS.session_secret,
            "STATE_SECRET": SEEDS.state_secret,
            "SVC_NB_DEMO_PASSWORD": SEEDS.demo_password,
            "JWT_TOKEN": SEEDS.jwt,
            "SVC_NB_TIMEOUT": "3",
        }
        yield environ


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """Each in-process scan starts with no secret registered: a view must register what it reads."""
    with _redact.isolated_registry(empty=True):
        yield


def views(report: Any) -> dict[str, str]:
    """Every way a report is shown: text, Jupyter bundle, DataFrame, dict/JSON."""
    import pandas as pd

    out = {"str": str(report), "repr": repr(report)}
    bundle = report._repr_mimebundle_()
    out.update({f"bundle[{k}]": v for k, v in bundle.items()})
    frame = report.to_frame()
    with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
        out["frame"] = frame.to_string()
    out["frame.csv"] = frame.to_csv()
    out["dict"] = json.dumps(report.to_dict(), default=str)
    return out


# -- in-process: every section's reports -----------------------------------------------------------


async def test_section_reports_never_show_a_secret(
    world: dict[str, str], fresh_registry: None
) -> None:
    token = SEEDS.jwt
    body = {
        "topic": "leak.scan",
        "payload": {"n": 1},
        "version": 1,
        "created_at": "2026-01-01T00:00:00Z",
    }
    good_headers = sign(body, SEEDS.webhook_secret)
    cookie_state = oauth.generate_state("sess-1", SEEDS.state_secret)
    reports: dict[str, Any] = {
        "db.parse_url": db.parse_url(world["SQL_URL"]),
        "db.check": await db.check(world["SQL_URL"], timeout=3),
        "db.check(wrong password)": await db.check(
            world["SQL_URL"].replace("Leak", "Leek"), timeout=3
        ),
        "db.pool_headroom": await db.pool_headroom(world["SQL_URL"], timeout=3),
        "cache.parse_url": cache.parse_url(world["REDIS_URL"]),
        "cache.check": await cache.check(world["REDIS_URL"], timeout=3),
        "cache.check(no password)": await cache.check(
            world["REDIS_URL"].split("@")[0].split("//")[0]
            + "//"
            + world["REDIS_URL"].split("@")[1],
            timeout=3,
        ),
        "tokens.inspect(key)": tokens.inspect(token, key=SEEDS.jwt_secret),
        "tokens.inspect(old key)": tokens.inspect(token, key=SEEDS.jwt_old_secret),
        "tokens.inspect(bearer)": tokens.inspect(f"Bearer {token}"),
        "tokens.inspect(opaque)": tokens.inspect(SEEDS.opaque_token),
        "tokens.find_key": tokens.find_key(token, tokens.candidates_from_env(world)),
        "env.check_env": env.check_env(world),
        "webhooks.verify(ok)": verify(body, good_headers, SEEDS.webhook_secret),
        "webhooks.verify(rotation)": verify(
            body, good_headers, ["wrong-secret-xyz", SEEDS.webhook_secret]
        ),
        "webhooks.verify(mismatch)": verify(b'{"tampered": 1}', good_headers, SEEDS.webhook_secret),
        "webhooks.probe": await probe(
            world["SVC_NB_WEBHOOK_URL"], secret=SEEDS.webhook_secret, timeout=3
        ),
        "oauth.compare_redirect_uris": oauth.compare_redirect_uris(
            f"https://app.example/cb?client_secret={SEEDS.client_secret}", "https://app.example/cb"
        ),
        "oauth.inspect_session_cookie": oauth.inspect_session_cookie(
            f"svc_session={SEEDS.session_secret}", SEEDS.session_secret, callback_state=cookie_state
        ),
        "diagnose": await svc_nb.diagnose(world, timeout=3),
    }
    assert reports["db.check"]["db.auth"].status is svc_nb.Status.OK, str(reports["db.check"])
    assert reports["cache.check"]["cache.auth"].status is svc_nb.Status.OK, str(
        reports["cache.check"]
    )
    assert reports["tokens.inspect(key)"].verdict == "valid"
    for name, report in reports.items():
        for view, text in views(report).items():
            assert_no_leak(f"{name} {view}", text)


def test_bug_report_after_exception_with_secrets(
    world: dict[str, str], fresh_registry: None
) -> None:
    def connect(url: str, password: str, token: str) -> None:
        api_key = SEEDS.client_secret  # noqa: F841  (locals the bug report shows, masked)
        refresh_token = SEEDS.opaque_token  # noqa: F841
        raise RuntimeError(
            f"could not connect to {url} (password {password!r}, bearer {token}, "
            f"webhook secret {SEEDS.webhook_secret}, refresh {SEEDS.opaque_token})"
        )

    try:
        connect(world["SQL_URL"], SEEDS.pg_password, SEEDS.jwt)
    except RuntimeError as exc:
        report = support.bug_report(exc, environ=world, timeout=2)
    texts = {"str": str(report), "html": report._repr_html_(), "markdown": report.markdown}
    assert "RuntimeError" in texts["str"] and "Locals" in texts["str"]
    for view, text in texts.items():
        assert_no_leak(f"bug_report {view}", text)


async def test_debug_logging_capture(
    world: dict[str, str], fresh_registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    env.register_env_secrets(world)  # what a notebook's check_env()/diagnose() does first
    with support.enable_debug_logging("httpx", "httpcore", "asyncpg", "redis") as capture:
        # svc-infra logging its settings, as it does at DEBUG
        logging.getLogger("svc_infra.db").debug(
            "engine url=%s password=%s", world["SQL_URL"], SEEDS.pg_password
        )
        logging.getLogger("svc_infra.auth").debug(
            "jwt secret %s token %s", SEEDS.jwt_secret, SEEDS.jwt
        )
        logging.getLogger("svc_infra.webhooks").info(
            "signing with %s for %s", SEEDS.webhook_secret, world["SVC_NB_WEBHOOK_URL"]
        )
        logging.getLogger("svc_infra.cache").debug("cache %s", world["REDIS_URL"])
        logging.getLogger("svc_infra.oauth").debug(
            "client secret %s session %s", SEEDS.client_secret, SEEDS.session_secret
        )
        # and the libraries the sections use, while the sections run
        await probe(world["SVC_NB_WEBHOOK_URL"], secret=SEEDS.webhook_secret, timeout=3)
        await db.check(world["SQL_URL"], timeout=3)
        await cache.check(world["REDIS_URL"], timeout=3)
        records = capture.records
    shown = capsys.readouterr()
    assert len(records) >= 5 and any("engine url" in r for r in records)
    assert_no_leak("debug log records", "\n".join(records))
    assert_no_leak("debug log output", shown.out + shown.err)


def test_rotated_jwt_secrets_are_masked(
    world: dict[str, str], fresh_registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    env.register_env_secrets(world)
    with support.enable_debug_logging() as capture:
        logging.getLogger("svc_infra.auth").debug(
            "verifying with old secrets %s", [SEEDS.jwt_old_secret]
        )
        records = capture.records
    shown = capsys.readouterr()
    assert records
    assert_no_leak("debug log records", "\n".join(records))
    assert_no_leak("debug log output", shown.out + shown.err)


class _Settings:
    """A settings object as an app holds it: secrets as plain attributes."""

    def __init__(self) -> None:
        self.database_password = SEEDS.pg_password
        self.api_token = SEEDS.opaque_token
        self.host = "db.internal"


def test_bug_report_masks_by_name_what_nothing_registered(fresh_registry: None) -> None:
    """Secrets svc_nb never read: found by the names they stand under, in every form."""
    import json as json_module

    def handler(settings: _Settings, credentials: tuple[str, str]) -> None:
        dsn = f"host=db.internal user=app password={SEEDS.pg_password} dbname=app"
        body = json_module.dumps({"client_id": "app", "client_secret": SEEDS.client_secret})
        headers = (
            "Host: api.internal\r\nAuthorization: Basic "
            + base64.b64encode(f"app:{SEEDS.session_secret}".encode()).decode()
            + "\r\n"
        )
        raise ConnectionError(f"connect failed for {dsn}; sent {body} with {headers}")

    try:
        handler(_Settings(), ("app", SEEDS.state_secret))
    except ConnectionError as exc:
        report = support.bug_report(exc, environ={}, timeout=2)
    texts = {
        "str": str(report),
        "html": report._repr_html_(),
        "markdown": report.markdown,
        "title": getattr(report, "title", ""),
    }
    for view, text in texts.items():
        for seed in (SEEDS.pg_password, SEEDS.opaque_token, SEEDS.client_secret):
            assert seed not in text, f"bug report {view} shows {seed[:8]}…"
        assert base64.b64encode(f"app:{SEEDS.session_secret}".encode()).decode() not in text


def test_root_handler_sees_only_scrubbed_records(
    world: dict[str, str], fresh_registry: None
) -> None:
    """logging.basicConfig's handler prints whatever reaches it: records are cleaned at the source."""
    import io

    env.register_env_secrets(world)
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with support.enable_debug_logging("svc_infra"):
            log = logging.getLogger("svc_infra.leak")
            log.debug("jwt secret %s", SEEDS.jwt_secret)
            log.debug("dsn host=h password=%s", SEEDS.pg_password)
            log.debug('token response {"client_secret": "%s"}', SEEDS.client_secret)
            log.debug("headers Authorization: Bearer %s", SEEDS.opaque_token)
            log.debug("cookie: svc_session=%s", SEEDS.session_secret)
            log.debug("callback /auth/callback?code=%s&state=x", SEEDS.state_secret)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    shown = stream.getvalue()
    assert "jwt secret" in shown
    assert_no_leak("root handler", shown)


def test_report_titles_data_keys_sets_and_exceptions(fresh_registry: None) -> None:
    """A user's own check puts secrets in a title, a data key, a set and an exception."""
    finding = svc_nb.Finding(
        "user.check",
        svc_nb.Status.FAIL,
        "failed",
        cause="user_check_failed",
        data={
            f"redis://:{SEEDS.redis_password}@cache": {f"password={SEEDS.pg_password}"},
            "error": RuntimeError(f"api_key={SEEDS.client_secret}"),
            "when": (1, f"token={SEEDS.opaque_token}"),
        },
    )
    report = svc_nb.Report([finding], title=f"check of postgresql://app:{SEEDS.pg_password}@db/app")
    for view, text in views(report).items():
        assert_no_leak(f"user report {view}", text)


# -- out of process: the CLI and the notebooks ----------------------------------------------------


@pytest.mark.parametrize("args", [["doctor"], ["doctor", "--json"]], ids=["text", "json"])
def test_doctor_output(world: dict[str, str], args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "svc_nb", *args, "--timeout", "3"],
        env={**os.environ, **world},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "db.auth" in result.stdout
    if "--json" in args:
        json.loads(result.stdout)
    assert_no_leak(f"svc-nb {' '.join(args)} stdout", result.stdout)
    assert_no_leak(f"svc-nb {' '.join(args)} stderr", result.stderr)


NOTEBOOK_BUGS: dict[str, str] = {}  # notebook name -> a known, reported bug (xfail strict)


@pytest.mark.notebook
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=path.stem,
            marks=[pytest.mark.xfail(strict=True, reason=NOTEBOOK_BUGS[path.name])]
            if path.name in NOTEBOOK_BUGS
            else [],
        )
        for path in sorted(NOTEBOOKS.glob("*.ipynb"))
    ],
)
def test_notebook(world: dict[str, str], path: Path) -> None:
    """Each bundled notebook, once, with the seeded env: it runs, and shows no secret (nor does an error)."""
    try:
        text = notebook_text_outputs(execute_notebook(path, world))
    except Exception as exc:  # a failing cell is shown to the user too: scan it, then fail
        assert_no_leak(f"notebook {path.name} (failed cell)", str(exc))
        raise
    assert text.strip(), f"{path.name} showed nothing"
    assert_no_leak(f"notebook {path.name}", text)


def test_every_notebook_is_scanned() -> None:
    assert len(list(NOTEBOOKS.glob("*.ipynb"))) >= 8
