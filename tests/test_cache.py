"""svc_nb.cache: URL diagnosis (pure) and checks against real Redis servers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import secrets
import socket
import time
import urllib.parse
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svc_nb
from svc_nb import _redact, cache
from svc_nb._report import Report, Status
from svc_nb.cache import CacheCause
from tests._support import LOCAL_REDIS_URL, RedisServer, SilentServer

PASSWORD = f"rq-{secrets.token_hex(12)}"
ACL_PASSWORD = f"acl-{secrets.token_hex(12)}"


def _leaks(report: Report, *secrets_: str) -> list[str]:
    """Every view of a report, searched for the secrets."""
    views = str(report) + report._repr_html_() + report.to_json()
    return [s for s in secrets_ if s in views]


# --------------------------------------------------------------------------------------
# parse_url: pure, no I/O
# --------------------------------------------------------------------------------------


def test_parse_plain_url_reads_what_redis_py_reads() -> None:
    report = cache.parse_url("redis://127.0.0.1:6380/3")
    assert report.ok and report.worst is Status.OK
    data = report["cache.url"].data
    assert (data["host"], data["port"], data["db"], data["tls"]) == ("127.0.0.1", 6380, 3, False)
    # redis-py's own parser agrees.
    from redis.asyncio.connection import parse_url as redis_parse

    kw = redis_parse("redis://127.0.0.1:6380/3")
    assert (kw["host"], kw["port"], kw["db"]) == ("127.0.0.1", 6380, 3)


def test_parse_password_is_masked_and_decoded() -> None:
    raw = "p/ss#w?rd@" + secrets.token_hex(4)
    url = f"redis://:{urllib.parse.quote(raw, safe='')}@127.0.0.1:6379/0"
    report = cache.parse_url(url)
    assert report.ok
    assert report["cache.url"].data["password"].startswith("****")
    assert report["cache.url.auth"].status is Status.OK  # default user, ACL hint given
    assert "redis://USER:" in report["cache.url.auth"].fix
    assert not _leaks(report, raw, urllib.parse.quote(raw, safe=""))


@pytest.mark.parametrize("char", ["/", "#", "?"])
def test_parse_unencoded_special_character_in_password(char: str) -> None:
    pw = f"abc{char}def{secrets.token_hex(3)}"
    report = cache.parse_url(f"redis://:{pw}@cache.example:6379/0")
    finding = report["cache.url.password"]
    assert finding.status is Status.FAIL and finding.data["character"] == char
    assert finding.cause == CacheCause.PASSWORD_NOT_ENCODED
    assert "%2F" in finding.fix and "quote" in finding.fix
    assert not _leaks(report, pw, pw[3:])


def test_parse_unencoded_at_sign_warns_and_does_not_leak_the_tail() -> None:
    report = cache.parse_url("redis://:front@tail-secret@h:6379/0")
    assert report["cache.url.password"].status is Status.WARN
    assert report["cache.url.password"].cause == CacheCause.AT_SIGN_NOT_ENCODED
    assert "%40" in report["cache.url.password"].fix
    assert "tail-secret" not in str(report) and "front" not in str(report)


def test_parse_username_only_is_flagged_and_masked() -> None:
    report = cache.parse_url("redis://supersecretpw@127.0.0.1:6379/0")
    finding = report["cache.url.auth"]
    assert finding.status is Status.WARN and "USERNAME" in finding.summary
    assert finding.cause == CacheCause.USERNAME_ONLY
    assert not _leaks(report, "supersecretpw")


def test_parse_tls_options_on_plain_url_fail_as_redis_py_would() -> None:
    url = "redis://127.0.0.1:6379/0?ssl_cert_reqs=required"
    report = cache.parse_url(url)
    assert report["cache.url.tls"].status is Status.FAIL
    assert report["cache.url.tls"].cause == CacheCause.TLS_OPTION_ON_PLAIN
    assert report["cache.url"].cause == CacheCause.URL_UNUSABLE
    assert "rediss://" in report["cache.url.tls"].fix
    # The claim is real: redis-py cannot build a connection from that URL.
    pool = aioredis.ConnectionPool.from_url(url)
    with pytest.raises(TypeError, match="ssl_cert_reqs"):
        pool.make_connection()


def test_parse_rediss_options() -> None:
    ok = cache.parse_url(
        "rediss://cache.example:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem"
    )
    assert ok.ok and ok["cache.url"].data["tls"] is True
    assert ok["cache.url"].data["options"]["ssl_ca_certs"] == "/etc/ca.pem"
    lax = cache.parse_url("rediss://cache.example:6380/0?ssl_cert_reqs=none")
    assert lax["cache.url.tls"].status is Status.WARN
    assert lax["cache.url.tls"].cause == CacheCause.CERT_NOT_VERIFIED
    bad = cache.parse_url("rediss://cache.example:6380/0?ssl_cert_reqs=maybe")
    assert bad["cache.url.tls"].status is Status.FAIL
    assert bad["cache.url.tls"].cause == CacheCause.BAD_CERT_REQS
    unchecked = cache.parse_url("rediss://cache.example:6380/0?ssl_check_hostname=false")
    assert unchecked["cache.url.tls"].cause == CacheCause.HOSTNAME_NOT_CHECKED


def test_parse_unknown_and_invalid_options() -> None:
    typo = cache.parse_url("redis://h:6379/0?socket_timout=2")
    assert typo["cache.url.option.socket_timout"].status is Status.FAIL
    assert typo["cache.url.option.socket_timout"].cause == CacheCause.UNKNOWN_OPTION
    assert "Did you mean ?socket_timeout=" in typo["cache.url.option.socket_timout"].fix
    far = cache.parse_url("redis://h:6379/0?completely_unknown=2")[
        "cache.url.option.completely_unknown"
    ]
    assert "Remove ?completely_unknown=" in far.fix
    bad_type = cache.parse_url("redis://h:6379/0?socket_timeout=soon")
    assert bad_type["cache.url.option.socket_timeout"].status is Status.FAIL
    assert bad_type["cache.url.option.socket_timeout"].cause == CacheCause.BAD_OPTION_VALUE
    with pytest.raises(ValueError, match="socket_timeout"):
        aioredis.ConnectionPool.from_url("redis://h:6379/0?socket_timeout=soon")
    truthy = cache.parse_url("redis://h:6379/0?decode_responses=false")
    assert truthy["cache.url.option.decode_responses"].status is Status.WARN
    assert truthy["cache.url.option.decode_responses"].cause == CacheCause.STRING_BOOLEAN
    blank = cache.parse_url("redis://h:6379/0?db=")
    assert blank["cache.url.option.db"].status is Status.WARN
    assert blank["cache.url.option.db"].cause == CacheCause.OPTION_BLANK
    twice = cache.parse_url("redis://h:6379/0?socket_timeout=1&socket_timeout=2")
    assert twice["cache.url.option.socket_timeout"].cause == CacheCause.OPTION_REPEATED
    assert (
        cache.parse_url("redis://h/0?protocol=4")["cache.url.option.protocol"].cause
        == CacheCause.BAD_PROTOCOL
    )
    cashews = cache.parse_url("redis://h:6379/0?suppress=false")
    assert cashews.ok and "cashews" in cashews["cache.url.option.suppress"].summary
    assert cashews["cache.url.option.suppress"].cause is None


def test_parse_many_bad_options_are_summarised() -> None:
    query = "&".join(f"bogus_{i}=1" for i in range(30))
    report = cache.parse_url(f"redis://h:6379/0?{query}")
    listed = [f for f in report if f.check.startswith("cache.url.option.")]
    assert len(listed) == 10 and all(f.cause == CacheCause.UNKNOWN_OPTION for f in listed)
    rest = report["cache.url.options"]
    assert rest.status is Status.FAIL and rest.cause == CacheCause.MANY_OPTION_PROBLEMS
    assert "20 more" in rest.summary
    assert len(report["cache.url"].data["options"]) == 20


def test_parse_database_numbers() -> None:
    assert cache.parse_url("redis://h/20")["cache.url.db"].status is Status.WARN
    assert cache.parse_url("redis://h/20")["cache.url.db"].cause == CacheCause.DB_OUT_OF_RANGE
    assert cache.parse_url("redis://h/-1")["cache.url.db"].status is Status.WARN
    ignored = cache.parse_url("redis://h/cache")
    assert ignored["cache.url.db"].status is Status.WARN and ignored["cache.url"].data["db"] == 0
    assert ignored["cache.url.db"].cause == CacheCause.PATH_NOT_DB
    both = cache.parse_url("redis://h/2?db=5")
    assert both["cache.url"].data["db"] == 5 and "overrides" in both["cache.url.db"].summary
    assert both["cache.url.db"].cause == CacheCause.DB_OVERRIDDEN
    assert cache.parse_url("redis://h/0?db=x")["cache.url.option.db"].status is Status.FAIL
    sock = cache.parse_url("unix:///run/redis/3")
    assert sock["cache.url.db"].cause == CacheCause.DB_IN_SOCKET_PATH
    assert cache.parse_url("redis://h:6379")["cache.url"].data["db"] == 0


def test_parse_schemes() -> None:
    mem = cache.parse_url("mem://")
    assert mem["cache.backend"].status is Status.WARN
    assert mem["cache.backend"].cause == CacheCause.MEMORY_BACKEND
    assert (
        "per-process" in mem["cache.backend"].summary and "restart" in mem["cache.backend"].detail
    )
    assert cache.parse_url("localhost:6379")["cache.url"].status is Status.FAIL
    assert cache.parse_url("localhost:6379")["cache.url"].cause == CacheCause.NO_SCHEME
    http = cache.parse_url("http://h:6379")["cache.url"]
    assert "HTTP" in http.fix and http.cause == CacheCause.UNSUPPORTED_SCHEME
    sentinel = cache.parse_url("redis+sentinel://h:26379/mymaster")["cache.url"]
    assert sentinel.cause == CacheCause.UNSUPPORTED_SCHEME and "Sentinel" in sentinel.fix
    assert cache.parse_url("REDIS://h/0")["cache.url.scheme"].status is Status.WARN
    assert cache.parse_url("REDIS://h/0")["cache.url.scheme"].cause == CacheCause.SCHEME_CASE
    unix = cache.parse_url("unix:///var/run/redis.sock?db=2")
    assert unix.ok and unix["cache.url"].data["path"] == "/var/run/redis.sock"
    assert unix["cache.url"].data["db"] == 2
    assert cache.parse_url("unix://redis.sock")["cache.url.path"].status is Status.FAIL
    assert cache.parse_url("unix://redis.sock")["cache.url.path"].cause == CacheCause.NO_SOCKET_PATH
    assert cache.parse_url("redis://h:port/0")["cache.url.port"].status is Status.FAIL
    assert cache.parse_url("redis://h:port/0")["cache.url.port"].cause == CacheCause.BAD_PORT
    assert cache.parse_url("redis://:6379/0")["cache.url.host"].cause == CacheCause.NO_HOST
    assert cache.parse_url("redis://[::1/0")["cache.url"].cause == CacheCause.URL_UNPARSEABLE
    assert cache.parse_url("redis://:@h/0")["cache.url.auth"].cause == CacheCause.EMPTY_PASSWORD
    assert (
        cache.parse_url("redis://a%20b:p w@h/0")["cache.url.password"].cause
        == CacheCause.SPACE_NOT_ENCODED
    )
    assert cache.parse_url("")["cache.url"].status is Status.FAIL
    assert cache.parse_url("")["cache.url"].cause == CacheCause.URL_EMPTY
    assert cache.parse_url(" redis://h/0\n")["cache.url.whitespace"].status is Status.WARN
    assert (
        cache.parse_url(" redis://h/0\n")["cache.url.whitespace"].cause == CacheCause.URL_WHITESPACE
    )


def test_every_non_ok_finding_has_a_cause_and_ok_ones_none() -> None:
    urls = [
        "redis://h/0",
        "mem://",
        "redis://:a/b@h/0",
        "redis://h/0?ssl_keyfile=/k",
        "x",
        "",
        "redis://h/99?db=2&bogus=1&decode_responses=no",
        "rediss://h/0?ssl_cert_reqs=none",
    ]
    for url in urls:
        for finding in cache.parse_url(url):
            assert (finding.cause is None) == (finding.status is Status.OK), (url, finding)
            assert "reason" not in finding.data
    assert all(member.description for member in CacheCause)
    assert len({member.value for member in CacheCause}) == len(CacheCause)


def test_parse_misuse_raises_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        cache.parse_url(None)  # type: ignore[arg-type]
    with pytest.raises(svc_nb.SvcNbError):
        cache.parse_url(b"redis://h/0")  # type: ignore[arg-type]


def test_cache_error_is_a_value_error_from_the_common_root() -> None:
    assert issubclass(cache.CacheError, svc_nb.SvcNbError) and issubclass(
        cache.CacheError, ValueError
    )
    secret = f"s3cret-{secrets.token_hex(6)}"
    with pytest.raises(cache.CacheError, match="parse_url") as caught:
        cache.client(f"redis://:{secret}@127.0.0.1:notaport/0")
    assert secret not in str(caught.value)
    with pytest.raises(cache.CacheError):
        cache.client("mem://")
    with pytest.raises(ValueError, match="positive"):
        cache.client(LOCAL_REDIS_URL, timeout=0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text().map(lambda t: "redis://" + t),
        st.text().map(lambda t: "unix://" + t),
        st.text().map(lambda t: "rediss://:x@" + t),
    )
)
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    with _redact.isolated_registry():  # per example: fuzzed passwords stay out of the next
        report = cache.parse_url(text)
        assert isinstance(report, Report) and len(report) >= 1
        str(report), report._repr_html_(), report.to_json()


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=4, max_size=30).filter(lambda s: "\x00" not in s))
def test_parse_never_shows_the_password(tail: str) -> None:
    pw = "Zq9!" + tail
    with _redact.isolated_registry():  # per example: fuzzed passwords stay out of the next
        report = cache.parse_url(f"redis://user:{urllib.parse.quote(pw, safe='')}@127.0.0.1:6379/0")
        assert pw not in str(report) + report.to_json()


# --------------------------------------------------------------------------------------
# parse_url on hostile sizes: linear time, short reports
# --------------------------------------------------------------------------------------

MB = 1_000_000
# Measured on a loaded 2-core machine; a quadratic step takes minutes at this size.
TIME_LIMIT_S = 2.0


def _garbage(seed: int) -> str:
    import random

    rng = random.Random(seed)
    alphabet = "abc:/?#@[]%&=+ .\t\n0123456789é€"
    return "".join(rng.choice(alphabet) for _ in range(MB))


HUGE_URLS = {
    "long path": "redis://u:p@h/" + "a" * MB,
    "long digit path": "redis://h/" + "7" * MB,
    "long password": "redis://u:" + "p" * MB + "@h:6379/0",
    "long password, unencoded slash": "redis://:" + "p/" * (MB // 2) + "@h:6379/0",
    "long user only": "redis://" + "s" * MB + "@h:6379/0",
    "many at signs": "redis://" + "@" * MB,
    "many colons": "redis://" + ":" * MB + "@h",
    "long host": "redis://" + "h" * MB + ":6379/0",
    "long port": "redis://h:" + "9" * MB + "/0",
    "unbalanced ipv6": "redis://[" + ":" * MB,
    "many options": "redis://h/0?" + "&".join(f"o{i}=v" for i in range(MB // 9)),
    "many secret options": "redis://h/0?" + "&".join(f"password{i}=x{i}" for i in range(MB // 16)),
    "one option many times": "redis://h/0?" + "&".join(["socket_timeout=1"] * (MB // 17)),
    "long option name": "redis://h/0?" + "n" * MB + "=1",
    "long option value": "redis://h/0?socket_timeout=" + "1" * MB,
    "long db option": "redis://h/0?db=" + "9" * MB,
    "long tls": "rediss://h:6380/0?ssl_cert_reqs=" + "r" * MB,
    "long rediss host": "rediss://:" + "k" * MB + "@" + "h" * MB,
    "rediss ca path": "rediss://h:6380/0?ssl_ca_certs=/" + "c/" * (MB // 2),
    "tls option on plain": "redis://h/0?ssl_certfile=" + "/x" * (MB // 2),
    "long unix path": "unix://" + "/s" * (MB // 2) + "?db=1",
    "sentinel": "redis+sentinel://" + "s" * MB,
    "long scheme": "r" * MB + "://h/0",
    "leading whitespace": " " * MB + "redis://h/0",
    "garbage": _garbage(1),
    "redis garbage": "redis://" + _garbage(2),
    "rediss garbage": "rediss://" + _garbage(3),
    "unix garbage": "unix://" + _garbage(4),
    "no scheme": "h" * MB,
}


@pytest.mark.parametrize("name", list(HUGE_URLS))
def test_parse_is_linear_on_megabyte_urls(name: str) -> None:
    url = HUGE_URLS[name]
    started = time.perf_counter()
    report = cache.parse_url(url)
    text = str(report) + report._repr_html_() + report.to_json()
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT_S, f"{name}: {elapsed:.2f} s"
    # The report describes the URL; it does not echo a megabyte of it.
    assert len(text) < 60_000, (name, len(text))
    for finding in report:
        assert (finding.cause is None) == (finding.status is Status.OK), finding


def test_huge_urls_are_diagnosed_not_just_survived() -> None:
    causes = {name: {f.cause for f in cache.parse_url(url)} for name, url in HUGE_URLS.items()}
    assert CacheCause.PATH_NOT_DB in causes["long path"]
    assert CacheCause.PASSWORD_NOT_ENCODED in causes["long password, unencoded slash"]
    assert CacheCause.USERNAME_ONLY in causes["long user only"]
    assert CacheCause.BAD_PORT in causes["long port"]
    assert CacheCause.URL_UNPARSEABLE in causes["unbalanced ipv6"]
    assert CacheCause.MANY_OPTION_PROBLEMS in causes["many options"]
    assert CacheCause.OPTION_REPEATED in causes["one option many times"]
    assert CacheCause.BAD_OPTION_VALUE in causes["long db option"]
    assert CacheCause.BAD_CERT_REQS in causes["long tls"]
    assert CacheCause.TLS_OPTION_ON_PLAIN in causes["tls option on plain"]
    assert CacheCause.UNSUPPORTED_SCHEME in causes["sentinel"] | causes["long scheme"]
    assert CacheCause.URL_WHITESPACE in causes["leading whitespace"]
    assert CacheCause.NO_SCHEME in causes["no scheme"]
    long_password = cache.parse_url(HUGE_URLS["long password"])
    assert long_password.ok and "p" * 50 not in str(long_password) + long_password.to_json()


def test_reported_slow_url_is_fast() -> None:
    started = time.perf_counter()
    report = cache.parse_url("redis://u:p@h/" + "a" * 40_000)
    assert time.perf_counter() - started < 0.5
    assert report["cache.url.db"].cause == CacheCause.PATH_NOT_DB


# --------------------------------------------------------------------------------------
# check(): real servers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server() -> Iterator[RedisServer]:
    with RedisServer("--requirepass", PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    # 'app' may connect, read and INFO, but only write keys under app:*; svc-infra writes svc:v1:*.
    # 'ro' may only GET: even PING is denied.
    with RedisServer(
        "--user",
        "app",
        "on",
        f">{ACL_PASSWORD}",
        "~app:*",
        "+@connection",
        "+get",
        "+set",
        "+del",
        "+info",
        "--user",
        "ro",
        "on",
        f">{ACL_PASSWORD}",
        "~*",
        "+get",
    ) as server:
        yield server


@pytest.fixture
async def local() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(LOCAL_REDIS_URL)
    yield client
    await client.aclose()


async def test_healthy_local_redis(local: aioredis.Redis) -> None:
    report = await cache.check(LOCAL_REDIS_URL, timeout=3)
    assert report.ok, str(report)
    connect = report["cache.connect"]
    assert connect.status is Status.OK and len(connect.data["samples_ms"]) == cache.PING_SAMPLES
    assert 0 < connect.data["latency_ms"] < 1000
    server = report["cache.server"]
    assert server.data["version"] == (await local.info("server"))["redis_version"]
    assert server.data["mode"] == "standalone"
    assert report["cache.clients"].data["maxclients"] > 0
    assert report["cache.memory"].data["used_memory"] > 0
    assert "mem_fragmentation_ratio" in report["cache.fragmentation"].data
    write = report["cache.write"]
    assert write.status is Status.OK and write.data["key_name"].startswith(
        "svc:v1:__svc_nb_probe__:"
    )
    assert await local.exists(write.data["key_name"]) == 0  # the throwaway key is gone
    auth = report["cache.auth"]
    assert auth.cause is None and auth.summary == "no password required"
    assert auth.data["anonymous_allowed"] is True and "requirepass" in auth.fix
    assert all(f.cause is None for f in report)


async def test_refused_port(refused_port: int) -> None:
    started = time.perf_counter()
    report = await cache.check(f"redis://127.0.0.1:{refused_port}/0", timeout=2)
    assert time.perf_counter() - started < 2
    finding = report["cache.connect"]
    assert finding.status is Status.FAIL and finding.cause == CacheCause.REFUSED
    assert "no automatic fallback" in finding.fix and "mem://" in finding.fix


async def test_silent_server_returns_within_timeout() -> None:
    timeout = 0.8
    with SilentServer() as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        report = await cache.check(f"redis://127.0.0.1:{server.port}/0", timeout=timeout)
        elapsed = time.perf_counter() - started
        assert server.accepted >= 1
        gc.collect()
    assert elapsed < timeout + 0.3, elapsed
    finding = report["cache.connect"]
    assert finding.status is Status.FAIL and finding.cause == CacheCause.TIMEOUT
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


async def test_server_that_stops_answering_after_connect() -> None:
    """A peer that answers the first PING, then goes silent: the stage that hung is named."""
    answered = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Connection set-up commands (HELLO, CLIENT …) get +OK, the first PING +PONG, then silence.
        nonlocal answered
        try:
            while request := await reader.read(1024):
                if answered:
                    continue
                answered = int(b"PING" in request)
                writer.write(b"+PONG\r\n" if answered else b"+OK\r\n")
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.perf_counter()
        report = await cache.check(f"redis://127.0.0.1:{port}/0", timeout=0.8)
        elapsed = time.perf_counter() - started
    finally:
        server.close()
    assert elapsed < 0.8 + 0.3, elapsed
    assert report["cache.connect"].status is Status.OK
    stalled = report["cache.ping"]
    assert stalled.status is Status.FAIL and stalled.cause == CacheCause.TIMEOUT
    assert "during the ping step" in stalled.summary and stalled.data["stage"] == "ping"


async def test_peer_that_is_not_redis() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        report = await cache.check(f"redis://127.0.0.1:{port}/0", timeout=1)
    finally:
        server.close()
    connect = report["cache.connect"]
    assert connect.status is Status.FAIL and connect.cause == CacheCause.NOT_REDIS
    assert "Redis port" in connect.fix


async def test_dns_failure_is_injected_not_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake(host: object, *args: object, **kwargs: object) -> object:
        if host in ("127.0.0.1", "::1", "localhost"):
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    report = await cache.check("redis://redis-cache.invalid:6379/0", timeout=2)
    finding = report["cache.connect"]
    assert finding.cause == CacheCause.DNS and "redis-cache.invalid" in finding.summary


async def test_password_required_but_not_sent(auth_server: RedisServer) -> None:
    report = await cache.check(auth_server.url, timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.cause == CacheCause.NO_PASSWORD
    assert "redis://:" in auth.fix


async def test_wrong_password(auth_server: RedisServer) -> None:
    wrong = f"wrong-{secrets.token_hex(8)}"
    report = await cache.check(f"redis://:{wrong}@127.0.0.1:{auth_server.port}/0", timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.cause == CacheCause.WRONG_PASSWORD
    assert "ACL user" in auth.fix
    assert not _leaks(report, wrong)


async def test_right_password(auth_server: RedisServer) -> None:
    report = await cache.check(f"redis://:{PASSWORD}@127.0.0.1:{auth_server.port}/0", timeout=2)
    assert report.ok, str(report)
    assert report["cache.auth"].cause is None
    assert report["cache.auth"].data["anonymous_allowed"] is False
    assert not _leaks(report, PASSWORD)


async def test_password_sent_but_none_configured() -> None:
    pw = f"unneeded-{secrets.token_hex(8)}"
    report = await cache.check(f"redis://:{pw}@127.0.0.1:6379/0", timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.WARN and auth.cause == CacheCause.PASSWORD_NOT_CONFIGURED
    assert not _leaks(report, pw)


async def test_acl_user_without_permission(acl_server: RedisServer) -> None:
    url = f"redis://app:{ACL_PASSWORD}@127.0.0.1:{acl_server.port}/0"
    report = await cache.check(url, timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.cause == CacheCause.NO_PERMISSION
    assert "ACL SETUSER app" in auth.fix and "~svc:v1:*" in auth.fix
    assert report["cache.write"].cause == CacheCause.NO_PERMISSION
    assert report["cache.connect"].status is Status.OK
    # With a prefix the user may write, the same user passes.
    allowed = await cache.check(url, timeout=2, key_prefix="app:")
    assert allowed["cache.write"].status is Status.OK and allowed["cache.auth"].status is Status.OK
    assert not _leaks(report, ACL_PASSWORD)


async def test_acl_user_denied_even_ping(acl_server: RedisServer) -> None:
    report = await cache.check(
        f"redis://ro:{ACL_PASSWORD}@127.0.0.1:{acl_server.port}/0", timeout=2
    )
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.cause == CacheCause.NO_PERMISSION
    assert "'ping'" in auth.summary and "ACL SETUSER ro" in auth.fix
    assert report["cache.connect"].status is Status.OK and report["cache.connect"].cause is None


async def test_acl_user_wrong_password(acl_server: RedisServer) -> None:
    report = await cache.check(
        f"redis://app:nope-{secrets.token_hex(4)}@127.0.0.1:{acl_server.port}/0", timeout=2
    )
    auth = report["cache.auth"]
    assert auth.cause == CacheCause.WRONG_PASSWORD and "ACL user" in auth.summary


async def test_database_out_of_range() -> None:
    report = await cache.check("redis://127.0.0.1:6379/42", timeout=2)
    assert report["cache.url.db"].status is Status.WARN
    assert report["cache.url.db"].cause == CacheCause.DB_OUT_OF_RANGE
    connect = report["cache.connect"]
    assert connect.status is Status.FAIL and connect.cause == CacheCause.UNKNOWN_DATABASE
    assert "database 42 does not exist" in connect.summary


async def test_noeviction_near_limit_then_real_oom() -> None:
    with RedisServer("--maxmemory", "2mb", "--maxmemory-policy", "noeviction") as server:
        client = aioredis.from_url(server.url)
        try:
            maxmemory = 2 * 1024 * 1024
            i = 0
            while (await client.info("memory"))["used_memory"] < 0.92 * maxmemory:
                await client.set(f"fill:{i}", b"x" * 4096)
                i += 1
            near = await cache.check(server.url, timeout=2)
            assert near["cache.memory"].status is Status.WARN, str(near)
            assert near["cache.memory"].cause == CacheCause.NEAR_LIMIT
            assert near["cache.write"].status is Status.OK
            # Keep writing until Redis itself refuses.
            with pytest.raises(Exception, match="maxmemory"):
                for j in range(10_000):
                    await client.set(f"more:{j}", b"y" * 4096)
            full = await cache.check(server.url, timeout=2)
            memory = full["cache.memory"]
            assert memory.status is Status.FAIL and memory.cause == CacheCause.OOM
            assert "allkeys-lru" in memory.fix
            assert full["cache.write"].cause == CacheCause.OOM
            figures = await cache.memory(server.url, timeout=2)
        finally:
            await client.aclose()
    assert isinstance(figures, cache.CacheMemory) and figures.ok and figures.error is None
    assert figures.maxmemory == maxmemory and figures.maxmemory_policy == "noeviction"
    assert (
        figures.near_limit
        and figures.used_share is not None
        and figures.used_share > cache.NEAR_LIMIT
    )
    frame = figures.frame
    assert list(frame.columns) == list(cache.MEMORY_COLUMNS) and not frame.attrs
    assert list(frame["label"]) == ["used", "dataset", "overhead", "peak", "rss", "maxmemory"]
    assert int(frame.loc[frame["label"] == "used", "bytes"].iloc[0]) > 0.9 * maxmemory
    # Without a write memory() cannot see OOM, but it sees a noeviction server at its limit.
    assert figures.report["cache.memory"].cause == CacheCause.NEAR_LIMIT
    bundle = figures._repr_mimebundle_()
    assert "used_memory" in bundle["text/plain"] and "near the limit" in bundle["text/plain"]
    assert "<table" in bundle["text/html"] and "used_memory" in bundle["text/html"]
    assert "noeviction" in repr(figures)
    fig = svc_nb.plots.memory_usage(figures)
    ax = fig.axes[0]
    assert len(ax.patches) == 5 and ax.get_lines(), "bars and the maxmemory line"
    assert "maxmemory" in ax.get_legend().get_texts()[0].get_text()


async def test_memory_when_unreachable(refused_port: int) -> None:
    down = await cache.memory(f"redis://127.0.0.1:{refused_port}/0", timeout=1)
    assert down.frame.empty and not down.ok and "refused" in (down.error or "")
    assert down.report["cache.connect"].cause == CacheCause.REFUSED
    assert "not read" in str(down) and "refused" in down._repr_html_()
    fig = svc_nb.plots.memory_usage(down)
    assert "no memory figures" in fig.axes[0].texts[0].get_text()
    assert "refused" in fig.axes[0].texts[0].get_text()
    mem = await cache.memory("mem://")
    assert mem.frame.empty and "mem://" in (mem.error or "")
    assert mem.report["cache.memory"].cause == CacheCause.MEMORY_BACKEND
    bad = await cache.memory("redis://h/0?ssl_keyfile=/k.pem")
    assert bad.frame.empty and bad.report["cache.memory"].cause == CacheCause.URL_INVALID
    assert bad.report["cache.url.tls"].cause == CacheCause.TLS_OPTION_ON_PLAIN


async def test_memory_reads_the_environment(refused_port: int) -> None:
    healthy = await cache.memory(environ={"REDIS_URL": LOCAL_REDIS_URL}, timeout=3)
    assert healthy.ok and healthy.used_memory > 0 and not healthy.frame.empty
    down = await cache.memory(
        environ={"CACHE_URL": f"redis://127.0.0.1:{refused_port}/0", "REDIS_URL": LOCAL_REDIS_URL},
        timeout=1,
    )
    assert down.report["cache.connect"].cause == CacheCause.REFUSED
    assert (await cache.memory(environ={}, timeout=1)).report[
        "cache.memory"
    ].cause == CacheCause.MEMORY_BACKEND


async def test_unix_socket(tmp_path: os.PathLike[str]) -> None:
    sock = os.path.join(str(tmp_path), "redis.sock")
    with RedisServer("--unixsocket", sock, "--unixsocketperm", "700"):
        report = await cache.check(f"unix://{sock}?db=1", timeout=2)
        assert report.ok, str(report)
        assert report["cache.connect"].data["target"] == f"unix socket {sock}"
    missing = await cache.check(f"unix://{sock}", timeout=1)
    assert missing["cache.connect"].cause in (CacheCause.SOCKET, CacheCause.REFUSED)


async def test_check_resolves_like_svc_infra(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, refused_port: int
) -> None:
    default = await cache.check(timeout=1)
    assert default["cache.url"].data["source"] == "(default)"
    assert default["cache.backend"].status is Status.WARN
    assert default["cache.connect"].status is Status.SKIP
    assert "no automatic fallback" in default["cache.connect"].detail
    monkeypatch.setenv("REDIS_URL", LOCAL_REDIS_URL)
    assert (await cache.check(timeout=2))["cache.url"].data["source"] == "REDIS_URL"
    monkeypatch.setenv("CACHE_URL", f"redis://127.0.0.1:{refused_port}/0")
    chosen = await cache.check(timeout=2)
    assert chosen["cache.url"].data["source"] == "CACHE_URL"
    assert chosen["cache.connect"].cause == CacheCause.REFUSED


async def test_check_reads_the_given_environ_not_the_process(
    clean_env: None, refused_port: int
) -> None:
    env = {"CACHE_URL": f"redis://127.0.0.1:{refused_port}/0", "REDIS_URL": LOCAL_REDIS_URL}
    chosen = await cache.check(environ=env, timeout=1)
    assert chosen["cache.url"].data["source"] == "CACHE_URL"
    assert chosen["cache.connect"].cause == CacheCause.REFUSED
    healthy = await cache.check(
        environ={"REDIS_URL": LOCAL_REDIS_URL, "CACHE_PREFIX": "app", "CACHE_VERSION": "v9"},
        timeout=3,
    )
    assert healthy.ok and healthy["cache.write"].data["key_name"].startswith("app:v9:")
    # An explicit URL wins; the environ still gives the key prefix.
    explicit = await cache.check(LOCAL_REDIS_URL, environ={"CACHE_PREFIX": "other"}, timeout=3)
    assert explicit["cache.write"].data["key_name"].startswith("other:v1:")
    memory_default = await cache.check(environ={}, timeout=1)
    assert memory_default["cache.connect"].cause == CacheCause.MEMORY_BACKEND
    assert memory_default["cache.backend"].cause == CacheCause.MEMORY_BACKEND


async def test_read_only_replica(refused_port: int) -> None:
    # A replica whose primary is down still answers, read-only: svc-infra's writes fail.
    with RedisServer("--replicaof", "127.0.0.1", str(refused_port)) as server:
        report = await cache.check(server.url, timeout=2)
    assert report["cache.connect"].status is Status.OK
    server_finding = report["cache.server"]
    assert (
        server_finding.status is Status.WARN
        and server_finding.cause == CacheCause.READ_ONLY_REPLICA
    )
    write = report["cache.write"]
    assert write.status is Status.FAIL and write.cause == CacheCause.READ_ONLY_REPLICA
    assert "primary" in write.fix


async def test_max_clients_reached() -> None:
    with RedisServer("--maxclients", "2") as server:
        holders = [aioredis.from_url(server.url) for _ in range(2)]
        try:
            for holder in holders:
                for _ in range(50):  # the port probe's own connection may not be gone yet
                    with contextlib.suppress(aioredis.ConnectionError):
                        await holder.ping()
                        break
                    await asyncio.sleep(0.02)
            report = await cache.check(server.url, timeout=2)
        finally:
            for holder in holders:
                await holder.aclose()
    connect = report["cache.connect"]
    assert connect.status is Status.FAIL and connect.cause == CacheCause.TOO_MANY_CONNECTIONS
    assert "maxclients" in connect.fix


async def test_bad_url_is_not_probed() -> None:
    report = await cache.check("redis://127.0.0.1:6379/0?ssl_keyfile=/k.pem", timeout=1)
    assert report["cache.connect"].status is Status.SKIP
    assert report["cache.connect"].cause == CacheCause.URL_INVALID
    assert report["cache.url.tls"].status is Status.FAIL


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "3", None, True])
async def test_misuse_of_timeout_is_refused_at_once(timeout: object) -> None:
    started = time.perf_counter()
    with pytest.raises(svc_nb.SvcNbError) as caught:
        await cache.check(LOCAL_REDIS_URL, timeout=timeout)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError | TypeError)
    with pytest.raises(svc_nb.SvcNbError):
        await cache.memory(LOCAL_REDIS_URL, timeout=timeout)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.5


async def test_misuse() -> None:
    with pytest.raises(ValueError, match="positive"):
        await cache.check(LOCAL_REDIS_URL, timeout=0)
    with pytest.raises(TypeError):
        await cache.check(6379)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key_prefix"):
        await cache.check(LOCAL_REDIS_URL, key_prefix=b"svc:")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="environ"):
        await cache.check(environ=[("CACHE_URL", LOCAL_REDIS_URL)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="memory"):
        svc_nb.plots.memory_usage([1, 2])  # type: ignore[arg-type]


async def test_registered_for_diagnose(refused_port: int) -> None:
    from svc_nb import _diagnose

    assert "cache" in _diagnose.registered_checks()
    order, builder = _diagnose._builders["cache"]
    assert order == 30
    report = await builder(
        {"REDIS_URL": f"redis://127.0.0.1:{refused_port}/0", "CACHE_PREFIX": "app"}, 1.0
    )
    assert report["cache.url"].data["source"] == "REDIS_URL"
    assert report["cache.connect"].cause == CacheCause.REFUSED
    healthy = await builder(
        {"CACHE_URL": LOCAL_REDIS_URL, "CACHE_PREFIX": "app", "CACHE_VERSION": "v9"}, 3.0
    )
    assert healthy["cache.write"].data["key_name"].startswith("app:v9:")


def test_check_runs_from_sync_code() -> None:
    report = svc_nb.run(cache.check(LOCAL_REDIS_URL, timeout=3))
    assert report.ok


async def test_concurrent_checks_are_independent(refused_port: int) -> None:
    good, bad = await asyncio.gather(
        cache.check(LOCAL_REDIS_URL, timeout=2),
        cache.check(f"redis://127.0.0.1:{refused_port}/0", timeout=2),
    )
    assert good.ok and not bad.ok


async def test_tls_server(tmp_path: os.PathLike[str]) -> None:
    from tests._certs import make_self_signed

    cert, key = make_self_signed(["localhost", "127.0.0.1"])
    cert_file, key_file = os.path.join(str(tmp_path), "c.pem"), os.path.join(str(tmp_path), "k.pem")
    with open(cert_file, "wb") as fh:
        fh.write(cert)
    with open(key_file, "wb") as fh:
        fh.write(key)
    server = RedisServer()
    server.args += [
        "--port",
        "0",
        "--tls-port",
        str(server.port),
        "--tls-cert-file",
        cert_file,
        "--tls-key-file",
        key_file,
        "--tls-ca-cert-file",
        cert_file,
        "--tls-auth-clients",
        "no",
    ]
    with server:
        base = f"127.0.0.1:{server.port}"
        untrusted = await cache.check(f"rediss://{base}/0", timeout=2)
        assert untrusted["cache.connect"].cause == CacheCause.TLS_FAILED
        assert "ssl_ca_certs" in untrusted["cache.connect"].fix
        trusted = await cache.check(
            f"rediss://{base}/0?ssl_cert_reqs=required&ssl_ca_certs={cert_file}", timeout=2
        )
        assert trusted.ok, str(trusted)
        assert "TLS" in trusted["cache.connect"].detail
        plain = await cache.check(f"redis://{base}/0", timeout=2)
        assert plain["cache.connect"].cause == CacheCause.CONNECTION_LOST
        assert "rediss://" in plain["cache.connect"].fix


class _Redis5:
    """A RESP2-only peer that answers like Redis 5 (no HELLO, no ACL) and records its reads.

    ``batches`` holds the command names of each read from the socket: commands a
    client pipelines arrive together, so each batch is one round trip.
    """

    def __init__(self, version: bytes = b"5.0.7") -> None:
        self.info = (
            b"redis_version:%s\r\nredis_mode:standalone\r\nrole:master\r\nmaxclients:100\r\n"
            % version
        )
        self.batches: list[list[bytes]] = []

    def _answer(self, name: bytes) -> bytes:
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"INFO":
            return b"$%d\r\n%s\r\n" % (len(self.info), self.info)
        if name == b"SET":
            return b"+OK\r\n"
        if name == b"DEL":
            return b":1\r\n"
        return b"-ERR unknown command '%s'\r\n" % name

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = b""
        try:
            while chunk := await reader.read(65536):
                buffer += chunk
                batch: list[bytes] = []
                while (command := _resp_command(buffer)) is not None:
                    name, buffer = command
                    batch.append(name)
                    writer.write(self._answer(name))
                if batch:
                    self.batches.append(batch)
                await writer.drain()
        finally:
            writer.close()


def _resp_command(buffer: bytes) -> tuple[bytes, bytes] | None:
    """The first complete RESP command's upper-cased name and the rest, or None."""
    lines = buffer.split(b"\r\n")
    if len(lines) < 3 or not lines[0].startswith(b"*"):
        return None
    count = int(lines[0][1:])
    if len(lines) < 1 + 2 * count + 1:
        return None
    consumed = sum(len(line) + 2 for line in lines[: 1 + 2 * count])
    return lines[2].upper(), buffer[consumed:]


async def test_server_older_than_redis_6_is_named_without_a_hello_round_trip() -> None:
    """The probe skips a bare HELLO 3, yet still says that svc-infra's client cannot connect."""
    peer = _Redis5()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        report = await cache.check(f"redis://127.0.0.1:{port}/0", timeout=2)
        pinned = await cache.check(f"redis://127.0.0.1:{port}/0?protocol=2", timeout=2)
    finally:
        server.close()
    connect = report["cache.connect"]
    assert connect.status is Status.FAIL and connect.cause == CacheCause.RESP3_UNSUPPORTED
    assert "5.0.7" in connect.detail and "protocol=2" in connect.fix
    assert report["cache.server"].data["version"] == "5.0.7"
    sent = [name for batch in peer.batches for name in batch]
    assert b"HELLO" not in sent and b"CLIENT" not in sent
    # With ?protocol=2 svc-infra's client speaks RESP2 too: nothing to report.
    assert pinned["cache.connect"].status is Status.OK, str(pinned)


async def test_check_costs_few_round_trips() -> None:
    """The connecting PING, the latency samples, then one pipelined batch: nothing else."""
    peer = _Redis5(b"7.2.0")
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        report = await cache.check(f"redis://127.0.0.1:{port}/0", timeout=2)
    finally:
        server.close()
    assert report["cache.connect"].status is Status.OK, str(report)
    pings = [[b"PING"]] * (1 + cache.PING_SAMPLES)
    assert peer.batches == [*pings, [b"ACL", b"INFO", b"SET", b"DEL"]]
