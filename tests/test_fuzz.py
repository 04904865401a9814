"""Property-based fuzzing of every parser and every function that takes user text.

None may raise anything but its documented errors, whatever the text: database
and Redis URLs, tokens (random text and near-JWT shapes), signature headers and
bodies, redirect URIs, OAuth state and session cookies, CORS headers and
origins, Alembic scripts (read with ``ast``, never executed), attempt logs
(CSV / JSON lines) and ``.env`` files. Each property runs hundreds of examples
(several thousand across the file); the file stays well under three minutes.
"""

from __future__ import annotations

import base64
import json
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from svc_nb import Report, cache, cors, db, env, migrations, oauth, tokens
from svc_nb.webhooks import (
    AttemptsError,
    detect_scheme,
    load_attempts,
    parse_headers,
    parse_retry_after,
    parse_status,
    verify,
)

pytestmark = pytest.mark.slow

MANY = settings(max_examples=500, deadline=None)
SOME = settings(max_examples=250, deadline=None)
# File-writing properties: each example writes a small folder/file (cheap, but not free).
FILES = settings(max_examples=200, deadline=None)
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


# -- strategies ------------------------------------------------------------------------------------

URL_CHARS = string.ascii_letters + string.digits + ":/@?#&=%[]+.-_~!$'()*,; \t\"\\"
url_text = st.text(alphabet=URL_CHARS, max_size=60)
any_text = st.text(max_size=80)


@st.composite
def url_like(draw: st.DrawFn, schemes: tuple[str, ...]) -> str:
    """Text shaped like a connection URL, with every part possibly broken."""
    scheme = draw(
        st.sampled_from(schemes) | st.text(alphabet=string.ascii_letters + "+.-", max_size=12)
    )
    user = draw(url_text)
    password = draw(st.none() | url_text)
    host = draw(
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "::1", "", "db,db2:5433", "[::1"])
        | url_text
    )
    port = draw(st.none() | st.integers(-5, 70_000).map(str) | url_text)
    path = draw(url_text)
    query = draw(st.lists(st.tuples(url_text, st.none() | url_text), max_size=4))
    auth = f"{user}{':' + password if password is not None else ''}@" if user or password else ""
    netloc = host + (f":{port}" if port is not None else "")
    q = "&".join(k if v is None else f"{k}={v}" for k, v in query)
    return f"{scheme}://{auth}{netloc}/{path}" + (f"?{q}" if q else "")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
claims = st.dictionaries(
    st.sampled_from(["sub", "aud", "exp", "nbf", "iat", "iss", "jti", "typ", "x"])
    | st.text(max_size=6),
    json_values,
    max_size=6,
)
headers_json = st.dictionaries(
    st.sampled_from(["alg", "typ", "kid", "jku", "crit", "zip"]) | st.text(max_size=6),
    st.sampled_from(["HS256", "RS256", "none", "None", "ES256", "EdDSA", "HS512"]) | json_values,
    max_size=4,
)


@st.composite
def near_jwt(draw: st.DrawFn) -> str:
    """Three base64url segments: JSON objects, other JSON, or raw bytes; then maybe damaged."""

    def segment(obj: st.SearchStrategy[Any]) -> str:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            return b64url(json.dumps(draw(obj), allow_nan=True).encode())
        if choice == 1:
            return b64url(draw(st.binary(max_size=40)))
        if choice == 2:
            return draw(
                st.text(alphabet=string.ascii_letters + string.digits + "-_=+/%.", max_size=30)
            )
        return b64url(json.dumps(draw(json_values), allow_nan=True).encode())

    signature = draw(
        st.binary(max_size=64).map(b64url)
        | st.text(alphabet=string.ascii_letters + "-_=+/", max_size=40)
    )
    token = ".".join([segment(headers_json), segment(claims), signature])
    prefix = draw(st.sampled_from(["", "Bearer ", "bearer  ", '"', " ", "Authorization: Bearer "]))
    suffix = draw(st.sampled_from(["", '"', "\n", " ", "."]))
    return prefix + token + suffix


# -- URLs ------------------------------------------------------------------------------------------


@MANY
@given(
    st.one_of(
        any_text,
        url_like(
            (
                "postgresql",
                "postgres",
                "postgresql+asyncpg",
                "postgresql+psycopg",
                "mysql",
                "sqlite",
            )
        ),
    )
)
def test_db_parse_url_never_raises(text: str) -> None:
    report = db.parse_url(text)
    assert isinstance(report, Report) and len(report) > 0
    str(report), report.to_dict()


@MANY
@given(st.one_of(any_text, url_like(("redis", "rediss", "unix", "mem", "valkey", "http"))))
def test_cache_parse_url_never_raises(text: str) -> None:
    report = cache.parse_url(text)
    assert isinstance(report, Report) and len(report) > 0
    str(report), report.to_dict()


# -- tokens ----------------------------------------------------------------------------------------

# Keys never look like a URL: inspect() fetches a JWKS from a key that is one.
keys = st.none() | st.text(max_size=40).filter(lambda k: "://" not in k) | st.binary(max_size=40)


@MANY
@given(st.one_of(any_text, near_jwt()), keys, st.floats(-1e12, 1e12) | st.none())
def test_tokens_inspect_never_raises(token: str, key: Any, now: float | None) -> None:
    report = tokens.inspect(token, key=key, now=now if now is not None else NOW)
    assert isinstance(report, Report) and len(report) > 0
    assert report.verdict  # the one-word answer always exists
    str(report), report._repr_html_(), report.to_dict()


# -- webhook signatures ----------------------------------------------------------------------------

SIG_HEADERS = [
    "X-Signature",
    "webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "svix-signature",
    "Stripe-Signature",
    "X-Hub-Signature-256",
    "X-Hub-Signature",
    "X-Webhook-Signature",
    "X-Signature-Alg",
    "X-Signature-Version",
    "Content-Type",
]
sig_values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789abcdef", min_size=0, max_size=70),
    st.builds(
        lambda t, s: f"t={t},v1={s}",
        st.integers(-10, 2**40),
        st.text(alphabet="0123456789abcdef", max_size=64),
    ),
    st.builds(lambda s: f"sha256={s}", st.text(alphabet="0123456789abcdefABCDEF", max_size=64)),
    st.builds(
        lambda s: f"v1,{s}",
        st.text(alphabet=string.ascii_letters + string.digits + "+/=", max_size=50),
    ),
    st.integers(-(2**63), 2**63).map(str),
)
header_dicts = st.dictionaries(
    st.sampled_from(SIG_HEADERS) | st.text(max_size=12), sig_values, max_size=5
)
secrets_ = st.one_of(
    st.text(min_size=1, max_size=40),
    st.builds(
        lambda b: "whsec_" + base64.b64encode(b).decode(), st.binary(min_size=1, max_size=32)
    ),
    st.builds(lambda t: "whsec_" + t, st.text(max_size=20)),
    st.binary(min_size=1, max_size=32),
    st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3),
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
)


@MANY
@given(
    bodies,
    header_dicts | st.text(max_size=200),
    secrets_,
    st.sampled_from([None, "svc-infra", "standard", "stripe", "github"]),
)
def test_webhooks_verify_never_raises(
    body: Any, headers: Any, secret: Any, scheme: str | None
) -> None:
    report = verify(body, headers, secret, scheme=scheme, now=NOW)
    assert isinstance(report, Report)
    assert report.get("webhooks.signature") is not None, str(report)
    str(report), report.to_dict()


@MANY
@given(
    st.one_of(
        header_dicts,
        st.text(max_size=200),
        st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=4),
    )
)
def test_detect_scheme_and_parse_headers_never_raise(headers: Any) -> None:
    assert detect_scheme(headers) in (None, "svc-infra", "standard", "stripe", "github")
    parsed = parse_headers(headers)
    assert all(k == k.lower() for k in parsed)


retry_after = st.one_of(
    st.text(max_size=40),
    st.integers(-10, 10**30).map(str),
    st.sampled_from(
        [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Mon, 32 Foo 99999 99:99:99",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 +9999",
            "0",
            " 120 ",
            "1e9",
        ]
    ),
)
last_errors = st.one_of(
    st.text(max_size=60),
    st.builds(lambda n: f"webhook delivery failed: {n}", st.integers()),
    st.builds(lambda t: f"webhook delivery failed: {t}", st.text(max_size=20)),
)


@MANY
@given(retry_after | st.none(), last_errors | st.none())
def test_retry_after_and_last_error_parsers_never_raise(
    value: str | None, last_error: str | None
) -> None:
    import datetime as dt

    seconds = parse_retry_after(value, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert seconds is None or seconds >= 0
    status = parse_status(last_error)
    assert status is None or isinstance(status, int)


@pytest.mark.parametrize("value", ["¹", "²0", "\u00b3"])
def test_retry_after_unicode_digits(value: str) -> None:
    """Found by the property above: a Retry-After of superscript digits must not raise."""
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0


# -- OAuth -----------------------------------------------------------------------------------------

uri_like = url_like(("https", "http", "com.example.app", "myapp", ""))


@MANY
@given(
    st.one_of(any_text, uri_like) | st.lists(st.one_of(any_text, uri_like), min_size=1, max_size=3),
    st.one_of(any_text, uri_like),
)
def test_compare_redirect_uris_never_raises(registered: Any, received: str) -> None:
    report = oauth.compare_redirect_uris(registered, received)
    assert isinstance(report, Report) and len(report) > 0


@st.composite
def near_state(draw: st.DrawFn) -> str:
    """A real state, damaged: a character flipped, a part cut, dots added, or plain text."""
    real = oauth.generate_state("session-1", "state-secret-xyz", now=NOW)
    how = draw(st.integers(0, 4))
    if how == 0:
        i = draw(st.integers(0, len(real) - 1))
        return real[:i] + draw(st.characters()) + real[i + 1 :]
    if how == 1:
        return real[: draw(st.integers(0, len(real)))]
    if how == 2:
        parts = real.split(".")
        parts[draw(st.integers(0, 4))] = draw(st.text(max_size=12))
        return ".".join(parts)
    if how == 3:
        return real
    return draw(any_text)


@MANY
@given(
    near_state(),
    st.sampled_from(["state-secret-xyz", "other-secret-123"]),
    st.sampled_from(["session-1", "session-2"]),
    st.floats(-1e11, 1e11),
)
def test_verify_state_raises_only_state_errors(
    state: str, secret: str, session_id: str, now: float
) -> None:
    try:
        oauth.verify_state(state, secret, session_id=session_id, now=now)
    except oauth.StateError as exc:
        assert str(exc)  # says what happened
        assert "state-secret-xyz" not in str(exc)


@st.composite
def cookie_like(draw: st.DrawFn) -> str:
    payload = draw(
        st.one_of(
            json_values.map(
                lambda v: base64.b64encode(json.dumps(v, allow_nan=True).encode()).decode()
            ),
            st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
            st.text(max_size=40),
        )
    )
    value = payload + draw(
        st.sampled_from(["", ".", ".abc.def", f".{b64url(b'xx')}.{b64url(b'y' * 20)}"])
    )
    form = draw(st.integers(0, 3))
    if form == 0:
        return value
    if form == 1:
        return f"svc_session={value}"
    if form == 2:
        return f"Cookie: a=b; svc_session={value}; c=d"
    return f"Set-Cookie: svc_session={value}; {draw(st.text(max_size=40))}"


@SOME
@given(
    st.one_of(any_text, cookie_like()) | st.none(),
    st.one_of(any_text, near_state()) | st.none(),
    st.sampled_from([None, "google", "github", ""]),
)
def test_session_cookie_and_compare_state_never_raise(
    cookie: str | None, callback_state: str | None, provider: str | None
) -> None:
    report = oauth.inspect_session_cookie(
        cookie,
        "session-secret-xyz",
        now=NOW,
        provider=provider or None,
        callback_state=callback_state,
    )
    assert isinstance(report, Report) and len(report) > 0
    str(report), report._repr_html_()
    if callback_state is not None:
        compared = oauth.compare_state(
            callback_state, cookie, "session-secret-xyz", provider=provider or None, now=NOW
        )
        assert isinstance(compared, Report) and len(compared) > 0


# -- CORS ------------------------------------------------------------------------------------------

header_names = st.sampled_from(
    [
        "Content-Type",
        "Accept",
        "Accept-Language",
        "Content-Language",
        "Range",
        "Authorization",
        "X-Requested-With",
        "Origin",
        "Sec-Fetch-Mode",
        "Cookie",
    ]
)
header_lines = st.lists(
    st.one_of(
        st.builds(
            lambda n, v: f"{n}: {v}", header_names | st.text(max_size=10), st.text(max_size=140)
        ),
        st.text(max_size=30),
        st.tuples(header_names | st.text(max_size=10), st.none() | st.text(max_size=140)),
    ),
    max_size=5,
)


@MANY
@given(
    st.text(max_size=12) | st.sampled_from(["GET", "get", "patch", "PATCH", "OPTIONS", "TRACE"]),
    st.one_of(
        header_lines,
        st.dictionaries(
            header_names | st.text(max_size=10), st.none() | st.text(max_size=200), max_size=4
        ),
        st.text(max_size=200),
        st.none(),
    ),
)
def test_cors_header_parsing_never_raises(method: str, headers: Any) -> None:
    reasons = cors.preflight_reasons(method, headers)
    assert cors.needs_preflight(method, headers) is bool(reasons)
    names = cors.unsafe_header_names(headers)
    assert names == sorted(names) and all(n == n.lower() for n in names)


@MANY
@given(
    st.one_of(any_text, url_like(("http", "https", "null", "file", "chrome-extension"))),
    st.text(max_size=200),
)
def test_cors_origins_never_raise(origin: str, env_value: str) -> None:
    problem = cors.check_origin(origin)
    assert problem is None or isinstance(problem, str)
    assert all(isinstance(o, str) and o for o in cors.parse_origins_env(env_value))
    assert all(item for item in cors.split_header_list(env_value))


# -- files: Alembic scripts, attempt logs, .env ----------------------------------------------------

ident = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=6)
py_values = st.one_of(
    ident.map(repr),
    st.just("None"),
    st.lists(ident, max_size=3).map(lambda v: repr(tuple(v))),
    st.lists(ident, max_size=3).map(repr),
    st.integers().map(str),
    st.just("f'{x}'"),
    st.just("compute()"),
    st.text(max_size=15),
)
py_lines = st.one_of(
    st.builds(
        lambda k, v: f"{k} = {v}",
        st.sampled_from(["revision", "down_revision", "depends_on", "branch_labels"]),
        py_values,
    ),
    st.builds(
        lambda k, v: f"{k}: str | None = {v}",
        st.sampled_from(["revision", "down_revision"]),
        py_values,
    ),
    st.sampled_from(
        [
            '"""Add users table."""',
            "import sqlalchemy as sa",
            "def upgrade():",
            "    pass",
            "if True:",
            "((((",
            "'''",
            "\x00",
            "\ufeffrevision = 'x'",
            "revision = '" + "a" * 2000 + "'",
            "down_revision = " + "(" * 200 + "'a'" + ")" * 200,
        ]
    ),
    st.text(max_size=40),
)
script_texts = st.lists(py_lines, max_size=8).map("\n".join)


@FILES
@given(st.lists(st.one_of(script_texts, st.binary(max_size=80)), min_size=0, max_size=5))
def test_migrations_reader_never_raises(scripts: list[Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="svcnb-fuzz-mig-") as folder:
        versions = Path(folder) / "versions"
        versions.mkdir()
        for i, text in enumerate(scripts):
            target = versions / f"{i:03d}_rev.py"
            if isinstance(text, bytes):
                target.write_bytes(text)
            else:
                target.write_text(text, encoding="utf-8", errors="surrogatepass")
        graph = migrations.read_scripts_ast(folder)
        assert graph.reader == "ast"
        graph.order()
        for rev in graph.revisions:
            graph.ancestors(rev)
        graph.pending(list(graph.revisions)[:1])
        same = migrations.read_scripts(folder, use_alembic=False)  # never executes a script
        assert set(same.revisions) == set(graph.revisions)


csv_cells = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 700).map(str),
    st.sampled_from(
        [
            "delivered",
            "timeout",
            "http_error",
            "2026-01-01T00:00:00Z",
            "nan",
            "",
            '"',
            "a,b",
            "1e400",
        ]
    ),
)
attempt_columns = st.lists(
    st.sampled_from(
        [
            "delivery_id",
            "attempt",
            "scheduled_at",
            "started_at",
            "duration_ms",
            "status_code",
            "outcome",
            "error",
            "response_excerpt",
        ]
    )
    | st.text(max_size=8),
    max_size=10,
)


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    cols = draw(attempt_columns)
    rows = draw(st.lists(st.lists(csv_cells, max_size=len(cols) + 2), max_size=5))
    return "\n".join([",".join(cols), *(",".join(r) for r in rows)]) + draw(
        st.sampled_from(["", "\n", "\r\n"])
    )


@st.composite
def jsonl_text(draw: st.DrawFn) -> str:
    lines = draw(
        st.lists(
            st.one_of(
                st.dictionaries(
                    st.sampled_from(
                        [
                            "delivery_id",
                            "attempt",
                            "started_at",
                            "outcome",
                            "status_code",
                            "duration_ms",
                        ]
                    )
                    | st.text(max_size=6),
                    json_values,
                    max_size=6,
                ).map(lambda d: json.dumps(d, allow_nan=True)),
                json_values.map(lambda v: json.dumps(v, allow_nan=True)),
                st.text(max_size=30),
            ),
            max_size=5,
        )
    )
    return "\n".join(lines)


@FILES
@given(
    st.one_of(csv_text(), st.text(max_size=200)).map(lambda t: (".csv", t))
    | st.one_of(jsonl_text(), st.text(max_size=200)).map(lambda t: (".jsonl", t))
    | st.tuples(st.sampled_from([".csv", ".jsonl"]), st.binary(max_size=120))
)
# Found by this property; kept as fixed examples so they always run.
@example((".csv", ""))
@example((".csv", '\n"'))
@example((".csv", b"\x80"))
@example((".jsonl", b"\x80\n"))
def test_load_attempts_raises_only_attempts_error(case: tuple[str, Any]) -> None:
    suffix, content = case
    with tempfile.TemporaryDirectory(prefix="svcnb-fuzz-att-") as folder:
        path = Path(folder) / f"log{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            frame = load_attempts(path)
        except AttemptsError as exc:
            assert str(exc)
            return
        assert {"delivery_id", "attempt", "outcome"} <= set(frame.columns)


env_names = st.sampled_from(
    [
        "SQL_URL",
        "REDIS_URL",
        "CACHE_URL",
        "AUTH_JWT__SECRET",
        "AUTH_JWT__OLD_SECRETS",
        "APP_ENV",
        "CORS_ALLOW_ORIGINS",
        "CORS_ALLOW_CREDENTIALS",
        "SESSION_SECRET",
        "WEBHOOK_ENCRYPTION_KEY",
        "AUTH_JWT__LIFETIME_SECONDS",
        "SQL_URL_FILE",
        "JWT_SECRET",
        "export SQL_URL",
    ]
) | st.text(max_size=10)
env_values = st.one_of(
    st.text(max_size=40),
    url_like(("postgresql", "redis", "rediss", "mem")),
    st.sampled_from(
        [
            '"quoted value"',
            "'single'",
            "${SQL_URL}",
            "prod",
            "production",
            '["http://a", 1]',
            "[",
            "true",
            "-1",
            "/etc/passwd",
            "/nonexistent/x",
        ]
    ),
)
env_lines = st.one_of(
    st.builds(
        lambda k, v, sep: f"{k}{sep}{v}",
        env_names,
        env_values,
        st.sampled_from(["=", " = ", "=  ", ":"]),
    ),
    st.sampled_from(
        [
            "# comment",
            "",
            "export",
            "=value",
            "KEY",
            '"unterminated',
            "KEY='a\nb'",
            "\x00",
            "\ufeff",
        ]
    ),
    st.text(max_size=30),
)


@FILES
@given(st.lists(env_lines, max_size=8).map("\n".join) | st.binary(max_size=100))
@example(b"SQL_URL=postgresql://u:p\xe9@h/db\n")  # a latin-1 .env file
def test_check_env_file_never_raises(content: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="svcnb-fuzz-env-") as folder:
        path = Path(folder) / ".env"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        report = env.check_env({}, env_file=path)
        assert isinstance(report, Report) and report.get("env.env_file") is not None
        str(report), report.to_dict()


def test_examples_add_up_to_thousands() -> None:
    """The properties above run several thousand examples in all (a setting cut must fail here)."""
    props = [v for k, v in globals().items() if k.startswith("test_") and hasattr(v, "hypothesis")]
    total = sum(p._hypothesis_internal_use_settings.max_examples for p in props)
    assert len(props) >= 15 and total >= 5000, (len(props), total)


# -- large input: everything a user can paste is handled in linear time -------------------------
#
# A unit drawn by hypothesis is repeated until the text reaches a size between 100 KB and 1 MB;
# each function must finish within a bound proportional to that size. A quadratic scan (a
# backtracking regex, difflib, findall over nested quantifiers) blows through the bound by
# orders of magnitude at these sizes; a linear one stays far inside it.

LARGE = settings(max_examples=12, deadline=None)
SECONDS_PER_MB = 4.0  # generous for a loaded 2-core CI machine; quadratic code needs minutes
HOSTILE_UNITS = st.sampled_from(
    [
        "x",
        "a://",
        "eyJ-",
        "eyJ.",
        "password=",
        "?code=",
        "u:p@",
        "@",
        ":",
        "%",
        "&",
        "=",
        "[",
        "'",
        '"',
        "\\",
        "{",
        "]",
        "/",
        "a,",
        "host=h ",
        "Bearer ",
        "$p$",
        "\x00",
        "é",
    ]
) | st.text(min_size=1, max_size=6)
LARGE_SIZES = st.sampled_from([100_000, 300_000, 1_000_000])


def _large(unit: str, size: int, prefix: str = "") -> str:
    return prefix + unit * (size // max(len(unit), 1) + 1)


def _within_bound(call: Any, text_size: int) -> None:
    import time

    started = time.perf_counter()
    call()
    elapsed = time.perf_counter() - started
    bound = 0.5 + SECONDS_PER_MB * text_size / 1_000_000
    assert elapsed < bound, f"{elapsed:.2f} s for {text_size} characters (bound {bound:.2f} s)"


LARGE_TARGETS = {
    "db.parse_url": (lambda text: db.parse_url(text), ("", "postgresql://u:p@h/d?")),
    "cache.parse_url": (lambda text: cache.parse_url(text), ("", "redis://u:p@h/")),
    "tokens.inspect": (lambda text: tokens.inspect(text), ("", "eyJhbGciOiJIUzI1NiJ9.")),
    "tokens.inspect(aud)": (
        lambda text: tokens.inspect(
            _jwt({"aud": text[:200_000], "iss": text[:200_000]}),
            audience=text[:200_000],
            issuer=text[:200_000],
        ),
        ("",),
    ),
    "oauth.compare_redirect_uris": (
        lambda text: oauth.compare_redirect_uris(
            "https://app.example/" + text, "https://app.example/" + text[::-1]
        ),
        ("",),
    ),
    "webhooks.verify(headers)": (
        lambda text: verify(b"{}", {"X-Signature": text, "Stripe-Signature": text}, "s" * 32),
        ("",),
    ),
    "env.check_env": (
        lambda text: env.check_env(
            {
                "SQL_URL": text,
                "REDIS_URL": text,
                "AUTH_JWT__SECRET": text,
                "CORS_ALLOW_ORIGINS": text,
                "AUTH_JWT__OLD_SECRETS": text,
            }
        ),
        ("", "postgresql://"),
    ),
    "scrub": (lambda text: Report([], title=text).title, ("",)),
}


def _jwt(claims: dict[str, Any]) -> str:
    import jwt

    return jwt.encode(claims, "k" * 32, algorithm="HS256")


@pytest.mark.parametrize("target", sorted(LARGE_TARGETS))
@LARGE
@given(unit=HOSTILE_UNITS, size=LARGE_SIZES, prefix_index=st.integers(0, 1))
def test_large_input_is_linear(target: str, unit: str, size: int, prefix_index: int) -> None:
    call, prefixes = LARGE_TARGETS[target]
    text = _large(unit, size, prefixes[prefix_index % len(prefixes)])
    _within_bound(lambda: call(text), len(text))
