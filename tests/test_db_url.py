"""svc_nb.db.parse_url: every libpq URI form, each listed mistake with its fix, no I/O."""

from __future__ import annotations

import random
import socket
import time
import urllib.parse
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svc_nb import Status, SvcNbError
from svc_nb.db import DbCause, parse_url
from tests._support import assert_causes


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_url must not do I/O: any name lookup or socket fails the test."""

    def _refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse_url touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)


def parts(url: str) -> dict[str, object]:
    return dict(parse_url(url)["db.url"].data)


# -- accepted forms -------------------------------------------------------------------------


def test_plain_url_is_ok_and_parts_are_reported() -> None:
    report = parse_url("postgresql+asyncpg://app:s3cretpass@db.internal:6543/appdb")
    assert report.ok and report["db.url"].status is Status.OK
    assert report["db.url"].cause is None
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
        (
            "postgresql://%2Fvar%2Frun%2Fpostgresql/app",
            ["/var/run/postgresql/.s.PGSQL.5432"],
            "app",
        ),
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
    assert f.status is Status.WARN and f.cause == DbCause.POSTGRES_SCHEME
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
    assert f.cause == DbCause.UNKNOWN_DRIVER
    other = parse_url("postgresql+pg8000://app@db/app")["db.url.driver"]
    assert other.status is Status.WARN and other.cause == DbCause.DRIVER_NOT_ASYNCPG


@pytest.mark.parametrize(
    "password", ["p@ssword", "pa/ssword", "pass#word", "pass?word", "100%sure"]
)
def test_unencoded_password_characters(password: str) -> None:
    report = parse_url(f"postgresql+asyncpg://app:{password}@db:5432/app")
    f = report["db.url.password"]
    assert f.status is Status.FAIL and f.cause == DbCause.PASSWORD_NOT_ENCODED
    assert "percent-encoded" in f.summary and "quote(" in f.fix
    # the roll-up row names the most serious problem
    assert report["db.url"].cause == DbCause.PASSWORD_NOT_ENCODED
    assert_causes(report, DbCause)
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
    assert f.status is Status.FAIL and f.cause == DbCause.SSLMODE_FOR_ASYNCPG
    assert "unexpected keyword argument 'sslmode'" in f.detail
    assert "ssl=require" in f.fix
    assert "build_engine" in f.detail


def test_sslmode_in_plain_url_warns_because_runtime_coerces() -> None:
    f = parse_url("postgresql://app@db/app?sslmode=verify-full")["db.url.ssl"]
    assert f.status is Status.WARN and "coerces" in f.detail and "ssl=verify-full" in f.fix
    assert f.cause == DbCause.SSLMODE_FOR_ASYNCPG


@pytest.mark.parametrize(("query", "fix"), [("sslmode=requre", "require"), ("ssl=true", "require")])
def test_invalid_ssl_values(query: str, fix: str) -> None:
    report = parse_url(f"postgresql+asyncpg://app@db/app?{query}")
    bad = [f for f in report.select("db.url.ssl") if "not a TLS mode" in f.summary]
    assert bad and bad[0].status is Status.FAIL and fix in bad[0].fix
    assert bad[0].cause == DbCause.BAD_SSL_MODE


def test_ssl_param_with_libpq_driver() -> None:
    f = parse_url("postgresql+psycopg://app@db/app?ssl=require")["db.url.ssl"]
    assert "sslmode=" in f.summary and "sslmode=require" in f.fix
    assert f.cause == DbCause.SSL_FOR_LIBPQ


def test_plaintext_tls_mode_to_remote_host() -> None:
    f = parse_url("postgresql+asyncpg://app@db.example/app?ssl=disable")["db.url.ssl"]
    assert f.status is Status.WARN and f.cause == DbCause.PLAINTEXT_TO_REMOTE
    assert parse_url("postgresql+asyncpg://app@localhost/app?ssl=disable").get("db.url.ssl") is None


def test_missing_database_name() -> None:
    f = parse_url("postgresql+asyncpg://app@db:5432")["db.url.database"]
    assert f.status is Status.WARN and "(app)" in f.detail and "/dbname" in f.fix
    assert f.cause == DbCause.NO_DATABASE


@pytest.mark.parametrize("port", ["0", "65536", "99999", "54x2"])
def test_port_out_of_range(port: str) -> None:
    report = parse_url(f"postgresql+asyncpg://app@db:{port}/app")
    f = report["db.url.port"]
    assert f.status is Status.FAIL and port in f.summary and "5432" in f.fix
    assert f.cause == DbCause.BAD_PORT
    assert report.get("db.url.host") is None  # a bad port is not "no host"


@pytest.mark.parametrize("url", ["postgresql://app@db:²/app", "postgresql://app@db/app?port=٥٤٣٢"])
def test_non_ascii_digit_port_is_a_bad_port_not_a_parser_crash(url: str) -> None:
    # str.isdigit() accepts '²' and Arabic-Indic digits, which int() then refuses
    report = parse_url(url)
    assert report["db.url.port"].cause == DbCause.BAD_PORT
    assert report["db.url"].cause == DbCause.BAD_PORT


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("postgresql://u@[::1/app", DbCause.BAD_HOST),
        ("postgresql://u@[::1]x/app", DbCause.BAD_HOST),
        ("postgresql://u@::1:5432/app", DbCause.BAD_HOST),
        ("postgresql://u@h/app?port=abc", DbCause.BAD_PORT),
        ("postgresql://u@h1/app?host=h2", DbCause.HOST_REPEATED),
        ("postgresql:///app", DbCause.NO_HOST),
        ("postgresql://u@h/app?sslmode", DbCause.PARAMETER_WITHOUT_VALUE),
        ("postgresql://u@h/app#frag", DbCause.URL_FRAGMENT),
        ("postgresql://u@h/app\n", DbCause.URL_WHITESPACE),
        ("postgresql://us er@h/app", DbCause.USER_NOT_ENCODED),
    ],
)
def test_url_mistakes_carry_their_cause(url: str, cause: DbCause) -> None:
    report = parse_url(url)
    assert cause in {f.cause for f in report}, report
    assert_causes(report, DbCause)


def test_unknown_parameters_and_libpq_only_ones() -> None:
    report = parse_url("postgresql+asyncpg://app@db/app?sslmod=require&connect_timeout=5")
    found = report.select("db.url.params")
    unknown = next(f for f in found if "unknown" in f.summary)
    assert "sslmod (did you mean sslmode?)" in unknown.summary
    assert unknown.cause == DbCause.UNKNOWN_PARAMETER
    libpq_only = next(f for f in found if "libpq-only" in f.summary)
    assert "connect_timeout" in libpq_only.summary and "connect_args" in libpq_only.fix
    assert libpq_only.cause == DbCause.LIBPQ_ONLY_PARAMETER


def test_not_postgres_and_not_a_url() -> None:
    mysql = parse_url("mysql://u@h/db")["db.url.scheme"]
    assert mysql.status is Status.FAIL and mysql.cause == DbCause.UNSUPPORTED_SCHEME
    assert "typo" not in mysql.detail
    assert "typo" in parse_url("postgresq://u@h/db")["db.url.scheme"].detail
    text = parse_url("just text")["db.url"]
    assert "no 'scheme://'" in text.summary and text.cause == DbCause.NO_SCHEME


def test_keyword_value_string_gets_url_form_without_password() -> None:
    report = parse_url("host=db port=5433 dbname=app user=app password=hunter2secret")
    f = report["db.url"]
    assert f.status is Status.FAIL and "keyword/value" in f.summary
    assert f.cause == DbCause.KEYWORD_VALUE_STRING
    assert "postgresql+asyncpg://app:****@db:5433/app" in f.fix
    assert "hunter2secret" not in report.to_json()


def test_quoted_value_from_env_file() -> None:
    report = parse_url('"postgresql+asyncpg://app@db/app"')
    assert report["db.url.quotes"].status is Status.FAIL
    assert report["db.url.quotes"].cause == DbCause.URL_QUOTED
    assert report["db.url"].data["hosts"] == ["db:5432"]


def test_comma_hosts_warn_for_sqlalchemy() -> None:
    f = parse_url("postgresql+asyncpg://app@h1:5432,h2:5432/app")["db.url.host"]
    assert "?host=h1:5432&host=h2:5432" in f.fix and f.cause == DbCause.COMMA_HOSTS


def test_more_hosts_than_a_driver_can_try_are_not_read() -> None:
    report = parse_url("postgresql://u@" + ",".join(f"h{i}" for i in range(500)) + "/app")
    assert report["db.url.host"].cause == DbCause.TOO_MANY_HOSTS
    assert len(report["db.url"].data["hosts"]) == 50 and report["db.url"].data["host_count"] == 100


def test_password_in_query_is_masked() -> None:
    report = parse_url("postgresql://app@db/app?password=querysecret1")
    assert report["db.url.password"].status is Status.WARN
    assert report["db.url.password"].cause == DbCause.PASSWORD_IN_QUERY
    assert report["db.url"].data["params"]["password"] == "****"
    assert "querysecret1" not in report.to_json()


def test_sslpassword_is_masked_in_the_rebuilt_url() -> None:
    data = parts("postgresql://app@db/app?sslkey=/k.pem&sslpassword=keyphrase-77")
    assert data["params"]["sslpassword"] == "****"  # type: ignore[index]
    assert "sslpassword=****" in str(data["url"]) and "keyphrase-77" not in str(data["url"])


def test_wrong_argument_type_is_misuse() -> None:
    with pytest.raises(TypeError, match="parse_url") as raised:
        parse_url(b"postgresql://x")  # type: ignore[arg-type]
    assert isinstance(raised.value, SvcNbError)


def test_every_cause_has_a_meaning() -> None:
    for cause in DbCause:
        assert cause.value == cause.value.lower() and cause.description, cause


# -- hostile input stays linear -----------------------------------------------------------------

_MB = 1_000_000
_URLISH_CHARS = "postgresql+asyncpg:/@?#&=%[],.:-_ ~'\"\\\n\t0123456789abcdefXYZ"


def _garbage(prefix: str = "") -> str:
    rng = random.Random(7)
    return prefix + "".join(rng.choice(_URLISH_CHARS) for _ in range(_MB))


# Each input once took from seconds to hours: _parse_kv's findall went back over every
# word from each of its characters, the userinfo scan re-read the text after every '@',
# and every bad host or bare parameter became its own finding.
_HOSTILE: dict[str, Callable[[], str]] = {
    "x * 1 MB": lambda: "x" * _MB,
    "random garbage": _garbage,
    "random garbage after the scheme": lambda: _garbage("postgresql://"),
    "key=value, 100k pairs": lambda: " ".join(f"k{i}=v{i}" for i in range(100_000)),
    "key=value, one long word": lambda: "host=db " + "w" * _MB,
    "key=value, escaped quotes": lambda: "password='" + "\\'" * (_MB // 2),
    "1 MB path": lambda: "postgresql://u@h/" + "d" * _MB,
    "1 MB password": lambda: "postgresql://u:" + "p" * _MB + "@h/db",
    "1 MB password to encode": lambda: "postgresql://u:" + "@/%" * (_MB // 3) + "@h/db",
    "1 MB query": lambda: "postgresql://u@h/db?" + "&".join(f"k{i}=v" for i in range(100_000)),
    "1 MB query value": lambda: "postgresql://u@h/db?application_name=" + "v" * _MB,
    "bare parameters": lambda: "postgresql://u@h/db?" + "&".join(f"k{i}" for i in range(100_000)),
    "'@' * 1 MB": lambda: "postgresql://" + "@" * _MB,
    "'@h/' repeated": lambda: "postgresql://" + "@h/" * (_MB // 3),
    "'@#' repeated after a ':'": lambda: "postgresql://u:" + "@#" * (_MB // 2),
    "hosts": lambda: "postgresql://u@" + ",".join(f"h{i}:5432" for i in range(100_000)) + "/db",
    "broken brackets": lambda: "postgresql://u@" + "[," * (_MB // 2) + "/db",
    "1 MB port": lambda: "postgresql://u@h:" + "9" * _MB + "/db",
    "1 MB scheme": lambda: "a" * _MB + "://h",
    "1 MB driver": lambda: "postgresql+" + "a" * _MB + "://h",
    "fragment of '#'": lambda: "postgresql://u@h/db#" + "#" * _MB,
}


@pytest.mark.parametrize("name", list(_HOSTILE))
def test_megabyte_inputs_parse_in_linear_time(name: str) -> None:
    text = _HOSTILE[name]()
    started = time.perf_counter()
    report = parse_url(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{name}: {elapsed:.2f} s"
    assert report.get("db.url") is not None
    assert_causes(report, DbCause)
    # a finding shows a bounded slice of what was pasted, not the megabyte
    assert all(len(f.summary) < 2_000 for f in report), name


# -- properties -------------------------------------------------------------------------------

_URLISH = st.text(
    alphabet=st.sampled_from(
        list("postgresql+asyncpg:/@?#&=%[],.:-_ ~'\"\\\n\t0123456789abcdefXYZ")
    ),
    max_size=80,
)


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
