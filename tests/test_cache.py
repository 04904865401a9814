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
from svc_nb import cache
from svc_nb._report import Report, Status
from tests._support import LOCAL_REDIS_URL, RedisServer, SilentServer

PASSWORD = f"rq-{secrets.token_hex(12)}"
ACL_PASSWORD = f"acl-{secrets.token_hex(12)}"


@contextlib.contextmanager
def _isolated_secret_registry() -> Iterator[None]:
    """Fuzzed 'passwords' must not stay registered and mask ordinary text in later tests."""
    from svc_nb import _redact

    with _redact.isolated_registry():
        yield


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
    assert "%2F" in finding.fix and "quote" in finding.fix
    assert not _leaks(report, pw, pw[3:])


def test_parse_unencoded_at_sign_warns_and_does_not_leak_the_tail() -> None:
    report = cache.parse_url("redis://:front@tail-secret@h:6379/0")
    assert report["cache.url.password"].status is Status.WARN
    assert "%40" in report["cache.url.password"].fix
    assert "tail-secret" not in str(report) and "front" not in str(report)


def test_parse_username_only_is_flagged_and_masked() -> None:
    report = cache.parse_url("redis://supersecretpw@127.0.0.1:6379/0")
    finding = report["cache.url.auth"]
    assert finding.status is Status.WARN and "USERNAME" in finding.summary
    assert not _leaks(report, "supersecretpw")


def test_parse_tls_options_on_plain_url_fail_as_redis_py_would() -> None:
    url = "redis://127.0.0.1:6379/0?ssl_cert_reqs=required"
    report = cache.parse_url(url)
    assert report["cache.url.tls"].status is Status.FAIL
    assert "rediss://" in report["cache.url.tls"].fix
    # The claim is real: redis-py cannot build a connection from that URL.
    pool = aioredis.ConnectionPool.from_url(url)
    with pytest.raises(TypeError, match="ssl_cert_reqs"):
        pool.make_connection()


def test_parse_rediss_options() -> None:
    ok = cache.parse_url("rediss://cache.example:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem")
    assert ok.ok and ok["cache.url"].data["tls"] is True
    assert ok["cache.url"].data["options"]["ssl_ca_certs"] == "/etc/ca.pem"
    lax = cache.parse_url("rediss://cache.example:6380/0?ssl_cert_reqs=none")
    assert lax["cache.url.tls"].status is Status.WARN
    bad = cache.parse_url("rediss://cache.example:6380/0?ssl_cert_reqs=maybe")
    assert bad["cache.url.tls"].status is Status.FAIL


def test_parse_unknown_and_invalid_options() -> None:
    typo = cache.parse_url("redis://h:6379/0?socket_timout=2")
    assert typo["cache.url.option.socket_timout"].status is Status.FAIL
    assert "socket_timeout" in typo["cache.url.option.socket_timout"].fix
    bad_type = cache.parse_url("redis://h:6379/0?socket_timeout=soon")
    assert bad_type["cache.url.option.socket_timeout"].status is Status.FAIL
    with pytest.raises(ValueError, match="socket_timeout"):
        aioredis.ConnectionPool.from_url("redis://h:6379/0?socket_timeout=soon")
    truthy = cache.parse_url("redis://h:6379/0?decode_responses=false")
    assert truthy["cache.url.option.decode_responses"].status is Status.WARN
    blank = cache.parse_url("redis://h:6379/0?db=")
    assert blank["cache.url.option.db"].status is Status.WARN
    cashews = cache.parse_url("redis://h:6379/0?suppress=false")
    assert cashews.ok and "cashews" in cashews["cache.url.option.suppress"].summary


def test_parse_database_numbers() -> None:
    assert cache.parse_url("redis://h/20")["cache.url.db"].status is Status.WARN
    assert cache.parse_url("redis://h/-1")["cache.url.db"].status is Status.WARN
    ignored = cache.parse_url("redis://h/cache")
    assert ignored["cache.url.db"].status is Status.WARN and ignored["cache.url"].data["db"] == 0
    both = cache.parse_url("redis://h/2?db=5")
    assert both["cache.url"].data["db"] == 5 and "overrides" in both["cache.url.db"].summary
    assert cache.parse_url("redis://h/0?db=x")["cache.url.option.db"].status is Status.FAIL
    assert cache.parse_url("redis://h:6379")["cache.url"].data["db"] == 0


def test_parse_schemes() -> None:
    mem = cache.parse_url("mem://")
    assert mem["cache.backend"].status is Status.WARN
    assert "per-process" in mem["cache.backend"].summary and "restart" in mem["cache.backend"].detail
    assert cache.parse_url("localhost:6379")["cache.url"].status is Status.FAIL
    assert "HTTP" in cache.parse_url("http://h:6379")["cache.url"].fix
    assert cache.parse_url("REDIS://h/0")["cache.url.scheme"].status is Status.WARN
    unix = cache.parse_url("unix:///var/run/redis.sock?db=2")
    assert unix.ok and unix["cache.url"].data["path"] == "/var/run/redis.sock"
    assert unix["cache.url"].data["db"] == 2
    assert cache.parse_url("unix://redis.sock")["cache.url.path"].status is Status.FAIL
    assert cache.parse_url("redis://h:port/0")["cache.url.port"].status is Status.FAIL
    assert cache.parse_url("")["cache.url"].status is Status.FAIL
    assert cache.parse_url(" redis://h/0\n")["cache.url.whitespace"].status is Status.WARN


def test_parse_misuse_raises_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        cache.parse_url(None)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.text().map(lambda t: "redis://" + t), st.text().map(lambda t: "unix://" + t),
                 st.text().map(lambda t: "rediss://:x@" + t)))
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    with _isolated_secret_registry():
        report = cache.parse_url(text)
        assert isinstance(report, Report) and len(report) >= 1
        str(report), report._repr_html_(), report.to_json()


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=4, max_size=30).filter(lambda s: "\x00" not in s))
def test_parse_never_shows_the_password(tail: str) -> None:
    pw = "Zq9!" + tail
    with _isolated_secret_registry():
        report = cache.parse_url(f"redis://user:{urllib.parse.quote(pw, safe='')}@127.0.0.1:6379/0")
        assert pw not in str(report) + report.to_json()


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
    with RedisServer("--user", "app", "on", f">{ACL_PASSWORD}", "~app:*", "+@connection", "+get",
                     "+set", "+del", "+info",
                     "--user", "ro", "on", f">{ACL_PASSWORD}", "~*", "+get") as server:
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
    assert write.status is Status.OK and write.data["key"].startswith("svc:v1:__svc_nb_probe__:")
    assert await local.exists(write.data["key"]) == 0  # the throwaway key is gone
    assert report["cache.auth"].data["reason"] == "no_auth"


async def test_refused_port(refused_port: int) -> None:
    started = time.perf_counter()
    report = await cache.check(f"redis://127.0.0.1:{refused_port}/0", timeout=2)
    assert time.perf_counter() - started < 2
    finding = report["cache.connect"]
    assert finding.status is Status.FAIL and finding.data["reason"] == "refused"
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
    assert finding.status is Status.FAIL and finding.data["reason"] == "timeout"
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


async def test_dns_failure_is_injected_not_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake(host: object, *args: object, **kwargs: object) -> object:
        if host in ("127.0.0.1", "::1", "localhost"):
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    report = await cache.check("redis://redis-cache.invalid:6379/0", timeout=2)
    finding = report["cache.connect"]
    assert finding.data["reason"] == "dns" and "redis-cache.invalid" in finding.summary


async def test_password_required_but_not_sent(auth_server: RedisServer) -> None:
    report = await cache.check(auth_server.url, timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.data["reason"] == "password_required"
    assert "redis://:" in auth.fix


async def test_wrong_password(auth_server: RedisServer) -> None:
    wrong = f"wrong-{secrets.token_hex(8)}"
    report = await cache.check(f"redis://:{wrong}@127.0.0.1:{auth_server.port}/0", timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.data["reason"] == "wrong_password"
    assert "ACL user" in auth.fix
    assert not _leaks(report, wrong)


async def test_right_password(auth_server: RedisServer) -> None:
    report = await cache.check(f"redis://:{PASSWORD}@127.0.0.1:{auth_server.port}/0", timeout=2)
    assert report.ok, str(report)
    assert report["cache.auth"].data["reason"] == "ok"
    assert report["cache.auth"].data["anonymous_allowed"] is False
    assert not _leaks(report, PASSWORD)


async def test_password_sent_but_none_configured() -> None:
    pw = f"unneeded-{secrets.token_hex(8)}"
    report = await cache.check(f"redis://:{pw}@127.0.0.1:6379/0", timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.WARN and auth.data["reason"] == "password_not_configured"
    assert not _leaks(report, pw)


async def test_acl_user_without_permission(acl_server: RedisServer) -> None:
    url = f"redis://app:{ACL_PASSWORD}@127.0.0.1:{acl_server.port}/0"
    report = await cache.check(url, timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.data["reason"] == "no_permission"
    assert "ACL SETUSER app" in auth.fix and "~svc:v1:*" in auth.fix
    assert report["cache.write"].data["reason"] == "no_permission"
    assert report["cache.connect"].status is Status.OK
    # With a prefix the user may write, the same user passes.
    allowed = await cache.check(url, timeout=2, key_prefix="app:")
    assert allowed["cache.write"].status is Status.OK and allowed["cache.auth"].status is Status.OK
    assert not _leaks(report, ACL_PASSWORD)


async def test_acl_user_denied_even_ping(acl_server: RedisServer) -> None:
    report = await cache.check(f"redis://ro:{ACL_PASSWORD}@127.0.0.1:{acl_server.port}/0", timeout=2)
    auth = report["cache.auth"]
    assert auth.status is Status.FAIL and auth.data["reason"] == "no_permission"
    assert "'ping'" in auth.summary and "ACL SETUSER ro" in auth.fix
    assert report["cache.connect"].status is Status.OK


async def test_acl_user_wrong_password(acl_server: RedisServer) -> None:
    report = await cache.check(f"redis://app:nope-{secrets.token_hex(4)}@127.0.0.1:{acl_server.port}/0", timeout=2)
    auth = report["cache.auth"]
    assert auth.data["reason"] == "wrong_password" and "ACL user" in auth.summary


async def test_database_out_of_range() -> None:
    report = await cache.check("redis://127.0.0.1:6379/42", timeout=2)
    assert report["cache.url.db"].status is Status.WARN
    assert report["cache.connect"].data["reason"] == "db_out_of_range"


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
            assert near["cache.memory"].data["reason"] == "near_limit"
            assert near["cache.write"].status is Status.OK
            # Keep writing until Redis itself refuses.
            with pytest.raises(Exception, match="maxmemory"):
                for j in range(10_000):
                    await client.set(f"more:{j}", b"y" * 4096)
            full = await cache.check(server.url, timeout=2)
            memory = full["cache.memory"]
            assert memory.status is Status.FAIL and memory.data["reason"] == "oom"
            assert "allkeys-lru" in memory.fix
            assert full["cache.write"].data["reason"] == "oom"
            frame = await cache.memory(server.url, timeout=2)
        finally:
            await client.aclose()
    assert frame.attrs["maxmemory"] == maxmemory and frame.attrs["maxmemory_policy"] == "noeviction"
    assert list(frame["label"]) == ["used", "dataset", "overhead", "peak", "rss", "maxmemory"]
    assert int(frame.loc[frame["label"] == "used", "bytes"].iloc[0]) > 0.9 * maxmemory
    fig = svc_nb.plots.memory_usage(frame)
    ax = fig.axes[0]
    assert len(ax.patches) == 5 and ax.get_lines(), "bars and the maxmemory line"
    assert "maxmemory" in ax.get_legend().get_texts()[0].get_text()


async def test_memory_when_unreachable(refused_port: int) -> None:
    frame = await cache.memory(f"redis://127.0.0.1:{refused_port}/0", timeout=1)
    assert frame.empty and "refused" in frame.attrs["error"]
    fig = svc_nb.plots.memory_usage(frame)
    assert "no memory figures" in fig.axes[0].texts[0].get_text()
    mem = await cache.memory("mem://")
    assert mem.empty and "mem://" in mem.attrs["error"]


async def test_unix_socket(tmp_path: os.PathLike[str]) -> None:
    sock = os.path.join(str(tmp_path), "redis.sock")
    with RedisServer("--unixsocket", sock, "--unixsocketperm", "700"):
        report = await cache.check(f"unix://{sock}?db=1", timeout=2)
        assert report.ok, str(report)
        assert report["cache.connect"].data["target"] == f"unix socket {sock}"
    missing = await cache.check(f"unix://{sock}", timeout=1)
    assert missing["cache.connect"].data["reason"] in ("socket", "refused")


async def test_check_resolves_like_svc_infra(clean_env: None, monkeypatch: pytest.MonkeyPatch,
                                             refused_port: int) -> None:
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
    assert chosen["cache.connect"].data["reason"] == "refused"


async def test_bad_url_is_not_probed() -> None:
    report = await cache.check("redis://127.0.0.1:6379/0?ssl_keyfile=/k.pem", timeout=1)
    assert report["cache.connect"].status is Status.SKIP
    assert report["cache.url.tls"].status is Status.FAIL


async def test_misuse() -> None:
    with pytest.raises(ValueError, match="positive"):
        await cache.check(LOCAL_REDIS_URL, timeout=0)
    with pytest.raises(TypeError):
        await cache.check(6379)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="memory"):
        svc_nb.plots.memory_usage([1, 2])  # type: ignore[arg-type]


async def test_registered_for_diagnose(refused_port: int) -> None:
    from svc_nb import _diagnose

    assert "cache" in _diagnose.registered_checks()
    order, builder = _diagnose._builders["cache"]
    assert order == 30
    report = await builder({"REDIS_URL": f"redis://127.0.0.1:{refused_port}/0", "CACHE_PREFIX": "app"}, 1.0)
    assert report["cache.url"].data["source"] == "REDIS_URL"
    assert report["cache.connect"].data["reason"] == "refused"
    healthy = await builder({"CACHE_URL": LOCAL_REDIS_URL, "CACHE_PREFIX": "app", "CACHE_VERSION": "v9"}, 3.0)
    assert healthy["cache.write"].data["key"].startswith("app:v9:")


def test_check_runs_from_sync_code() -> None:
    report = svc_nb.run(cache.check(LOCAL_REDIS_URL, timeout=3))
    assert report.ok


async def test_concurrent_checks_are_independent(refused_port: int) -> None:
    good, bad = await asyncio.gather(
        cache.check(LOCAL_REDIS_URL, timeout=2), cache.check(f"redis://127.0.0.1:{refused_port}/0", timeout=2)
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
    server.args += ["--port", "0", "--tls-port", str(server.port), "--tls-cert-file", cert_file,
                    "--tls-key-file", key_file, "--tls-ca-cert-file", cert_file, "--tls-auth-clients", "no"]
    with server:
        base = f"127.0.0.1:{server.port}"
        untrusted = await cache.check(f"rediss://{base}/0", timeout=2)
        assert untrusted["cache.connect"].data["reason"] == "tls"
        assert "ssl_ca_certs" in untrusted["cache.connect"].fix
        trusted = await cache.check(f"rediss://{base}/0?ssl_cert_reqs=required&ssl_ca_certs={cert_file}", timeout=2)
        assert trusted.ok, str(trusted)
        assert "TLS" in trusted["cache.connect"].detail
        plain = await cache.check(f"redis://{base}/0", timeout=2)
        assert plain["cache.connect"].data["reason"] == "closed"
        assert "rediss://" in plain["cache.connect"].fix
