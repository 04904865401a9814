"""svc_nb.db.parse_url: every libpq URI form, each listed mistake with its fix, no I/O."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svc_nb import Status, _redact
from svc_nb.db import parse_url


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_url must not do I/O: any name lookup or socket fails the test."""

    def _refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse_url touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)


@pytest.fixture(autouse=True)
def _isolated_secret_registry() -> Iterator[None]:
    """parse_url registers every password it reads; fuzzed "passwords" such as 'postgresql'
    must not stay registered and mask ordinary words in other tests of the session."""
    with _redact.isolated_registry():
        yield


def parts(url: str) -> dict[str, object]:
    return dict(parse_url(url)["db.url"].data)


# -- accepted forms -------------------------------------------------------------------------


def test_plain_url_is_ok_and_parts_are_reported() -> None:
    report = parse_url("postgresql+asyncpg://app:s3cretpass@db.internal:6543/appdb")
    assert report.ok and report["db.url"].status is Status.OK
    data = parts("postgresql+asyncpg://app:s3cretpass@db.internal:6543/appdb")
    assert data["user"] == "app"
    assert data["password"] == "****"
    assert data["hosts"] == ["db.internal:6543"]
    assert data["database"] == "appdb"
    assert data["driver"] == "asyncpg"
    assert "s3cretpass" not in str(report) and "s3cretpass" not in report.to_json()


@pytest.mark.parametrize(
    ("url", "hosts", "database"),
    [
        ("postgresql://u@h1:5432,h2:5433/app", ["h1:5432", "h2:5433"], "app"),
        ("postgresql://u@h1,h2/app?port=6000", ["h1:6000", "h2:6000"], "app"),
        ("postgresql://u@[::1]:5433/app", ["[::1]:5433"], "app"),
        ("postgresql://u@[2001:db8::7]/app", ["[2001:db8::7]:5432"], "app"),
        ("postgresql://%2Fvar%2Frun%2Fpostgresql/app", ["/var/run/postgresql/.s.PGSQL.5432"], "app"),
        ("postgresql:///app?host=/tmp&port=5433", ["/tmp/.s.PGSQL.5433"], "app"),
        ("postgresql://u@localhost/?dbname=other", ["localhost:5432"], "other"),
        ("postgresql+psycopg://u@h/app%20db", ["h:5432"], "app db"),
    ],
)
def test_libpq_uri_forms(url: str, hosts: list[str], database: str) -> None:
    data = parts(url)
    assert data["hosts"] == hosts
    assert data["database"] == database
    assert parse_url(url)["db.url"].status is not Status.FAIL


def test_percent_encoded_password_is_fine() -> None:
    pw = urllib.parse.quote("p@ss:w/rd#?x", safe="")
    report = parse_url(f"postgresql+asyncpg://app:{pw}@db:5432/app")
    assert report.get("db.url.password") is None
    assert report.ok


# -- each mistake the issue lists, with its fix ------------------------------------------------


def test_postgres_scheme_warns_about_sqlalchemy() -> None:
    f = parse_url("postgres://app@db/app")["db.url.scheme"]
    assert f.status is Status.WARN
    assert "SQLAlchemy" in f.summary and "postgresql" in f.fix


def test_missing_asyncpg_driver_says_what_runtime_does() -> None:
    f = parse_url("postgresql://app@db/app")["db.url.driver"]
    assert "svc-infra" in f.summary and "+asyncpg" in f.summary
    assert "async driver" in f.detail and "postgresql+asyncpg://" in f.fix
    f = parse_url("postgresql+psycopg2://app@db/app")["db.url.driver"]
    assert "rewrites it to +asyncpg" in f.summary


def test_unknown_driver_suggests_the_right_one() -> None:
    f = parse_url("postgresql+asyncpgg://app@db/app")["db.url.driver"]
    assert f.status is Status.FAIL and "+asyncpg" in f.summary


@pytest.mark.parametrize("password", ["p@ssword", "pa/ssword", "pass#word", "pass?word", "100%sure"])
def test_unencoded_password_characters(password: str) -> None:
    report = parse_url(f"postgresql+asyncpg://app:{password}@db:5432/app")
    f = report["db.url.password"]
    assert f.status is Status.FAIL
    assert "percent-encoded" in f.summary and "quote(" in f.fix
    # the encoded structure is shown, the password itself never
    assert "…" in f.detail
    text = report.to_json() + str(report) + report._repr_html_()
    assert password not in text
    # the host is still found after the last '@'
    assert report["db.url"].data["hosts"] == ["db:5432"]


def test_unencoded_at_shows_encoded_structure() -> None:
    f = parse_url("postgresql://app:abc@def/ghi@db/app")["db.url.password"]
    assert "…%40…%2F…" in f.detail
    assert "'@' → %40" in f.summary and "'/' → %2F" in f.summary


def test_sslmode_in_asyncpg_url_fails_with_ssl_fix() -> None:
    f = parse_url("postgresql+asyncpg://app@db/app?sslmode=require")["db.url.ssl"]
    assert f.status is Status.FAIL
    assert "unexpected keyword argument 'sslmode'" in f.detail
    assert "ssl=require" in f.fix
    assert "build_engine" in f.detail


def test_sslmode_in_plain_url_warns_because_runtime_coerces() -> None:
    f = parse_url("postgresql://app@db/app?sslmode=verify-full")["db.url.ssl"]
    assert f.status is Status.WARN and "coerces" in f.detail and "ssl=verify-full" in f.fix


@pytest.mark.parametrize(("query", "fix"), [("sslmode=requre", "require"), ("ssl=true", "require")])
def test_invalid_ssl_values(query: str, fix: str) -> None:
    report = parse_url(f"postgresql+asyncpg://app@db/app?{query}")
    bad = [f for f in report.select("db.url.ssl") if "not a TLS mode" in f.summary]
    assert bad and bad[0].status is Status.FAIL and fix in bad[0].fix


def test_ssl_param_with_libpq_driver() -> None:
    f = parse_url("postgresql+psycopg://app@db/app?ssl=require")["db.url.ssl"]
    assert "sslmode=" in f.summary and "sslmode=require" in f.fix


def test_missing_database_name() -> None:
    f = parse_url("postgresql+asyncpg://app@db:5432")["db.url.database"]
    assert f.status is Status.WARN and "(app)" in f.detail and "/dbname" in f.fix


@pytest.mark.parametrize("port", ["0", "65536", "99999", "54x2"])
def test_port_out_of_range(port: str) -> None:
    report = parse_url(f"postgresql+asyncpg://app@db:{port}/app")
    f = report["db.url.port"]
    assert f.status is Status.FAIL and port in f.summary and "5432" in f.fix
    assert report.get("db.url.host") is None  # a bad port is not "no host"


def test_unknown_parameters_and_libpq_only_ones() -> None:
    report = parse_url("postgresql+asyncpg://app@db/app?sslmod=require&connect_timeout=5")
    found = report.select("db.url.params")
    unknown = next(f for f in found if "unknown" in f.summary)
    assert "sslmod (did you mean sslmode?)" in unknown.summary
    libpq_only = next(f for f in found if "libpq-only" in f.summary)
    assert "connect_timeout" in libpq_only.summary and "connect_args" in libpq_only.fix


def test_not_postgres_and_not_a_url() -> None:
    assert parse_url("mysql://u@h/db")["db.url.scheme"].status is Status.FAIL
    assert "typo" in parse_url("postgresq://u@h/db")["db.url.scheme"].detail
    assert "no 'scheme://'" in parse_url("just text")["db.url"].summary


def test_keyword_value_string_gets_url_form_without_password() -> None:
    report = parse_url("host=db port=5433 dbname=app user=app password=hunter2secret")
    f = report["db.url"]
    assert f.status is Status.FAIL and "keyword/value" in f.summary
    assert "postgresql+asyncpg://app:****@db:5433/app" in f.fix
    assert "hunter2secret" not in report.to_json()


def test_quoted_value_from_env_file() -> None:
    report = parse_url('"postgresql+asyncpg://app@db/app"')
    assert report["db.url.quotes"].status is Status.FAIL
    assert report["db.url"].data["hosts"] == ["db:5432"]


def test_comma_hosts_warn_for_sqlalchemy() -> None:
    f = parse_url("postgresql+asyncpg://app@h1:5432,h2:5432/app")["db.url.host"]
    assert "?host=h1:5432&host=h2:5432" in f.fix


def test_password_in_query_is_masked() -> None:
    report = parse_url("postgresql://app@db/app?password=querysecret1")
    assert report["db.url.password"].status is Status.WARN
    assert report["db.url"].data["params"]["password"] == "****"
    assert "querysecret1" not in report.to_json()


def test_wrong_argument_type_is_misuse() -> None:
    with pytest.raises(TypeError, match="parse_url"):
        parse_url(b"postgresql://x")  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------------------------

_URLISH = st.text(alphabet=st.sampled_from(list("postgresql+asyncpg:/@?#&=%[],.:-_ ~'\"\\\n\t0123456789abcdefXYZ")), max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=120), _URLISH, _URLISH.map(lambda s: "postgresql://" + s)))
def test_no_exception_escapes_on_arbitrary_text(text: str) -> None:
    report = parse_url(text)
    assert report.get("db.url") is not None
    str(report)
    report.to_json()


_PW_CHARS = st.sampled_from(list("abcdefghijkXYZ0123456789!$&'()*+,;=@/?#:%[] ~"))


@settings(max_examples=60, deadline=None)
@given(body=st.text(alphabet=_PW_CHARS, min_size=6, max_size=24), encode=st.booleans())
def test_password_never_appears_in_any_view(body: str, encode: bool) -> None:
    password = "Qv" + body
    raw = urllib.parse.quote(password, safe="") if encode else password
    report = parse_url(f"postgresql+asyncpg://app:{raw}@db:5432/app")
    views = report.to_json() + str(report) + report._repr_html_()
    assert password not in views
    assert urllib.parse.quote(password, safe="") not in views
    if encode:
        assert report["db.url"].data["hosts"] == ["db:5432"]
        assert report.get("db.url.password") is None
