"""svc_nb.oauth: redirect URIs, signed state, session cookies (real Starlette), provider and
code exchange against a real Authlib authorization server on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.server
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svc_nb import Status
from svc_nb.oauth import (
    StateError,
    StateExpiredError,
    StateInvalidError,
    check_provider,
    compare_redirect_uris,
    compare_state,
    exchange_code,
    generate_state,
    inspect_session_cookie,
    verify_state,
)
from tests._oauth_server import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AuthlibServer

SECRET = "state-signing-secret-5c1e"
SESSION_SECRET = "session-middleware-secret-91b7"


# ---------------------------------------------------------------------------
# Redirect URIs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "received", "difference"),
    [
        ("https://myapp.com/auth/callback", "http://myapp.com/auth/callback", "scheme"),
        ("https://myapp.com/auth/callback", "HTTPS://myapp.com/auth/callback", "scheme"),
        ("https://myapp.com/auth/callback", "https://MyApp.com/auth/callback", "host_case"),
        ("https://www.myapp.com/auth/callback", "https://myapp.com/auth/callback", "www"),
        ("https://myapp.com/auth/callback", "https://myapp.com:443/auth/callback", "default_port"),
        ("https://myapp.com/auth/callback", "https://myapp.com:8443/auth/callback", "port"),
        ("https://myapp.com/auth/callback", "https://myapp.com/auth/callback/", "trailing_slash"),
        (
            "https://myapp.com/auth/%7Euser/cb",
            "https://myapp.com/auth/~user/cb",
            "percent_encoding",
        ),
        ("https://myapp.com/auth/callback", "https://myapp.com/api/auth/callback", "path"),
        ("https://myapp.com/auth/callback", "https://myapp.com/auth/callback?next=/home", "query"),
        ("https://myapp.com/auth/callback", "https://myapp.com/auth/callback#top", "fragment"),
        ("https://myapp.com/auth/callback", "https://evil.example/auth/callback", "host"),
    ],
)
def test_each_difference_is_named(registered: str, received: str, difference: str) -> None:
    report = compare_redirect_uris(registered, received)
    verdict = report["oauth.redirect_uri"]
    assert verdict.status is Status.FAIL
    assert verdict.data["differences"] == [difference]
    assert report[f"oauth.redirect_uri.{difference}"].status is Status.FAIL


def test_exact_match_and_several_differences() -> None:
    ok = compare_redirect_uris("https://myapp.com/auth/callback", "https://myapp.com/auth/callback")
    assert ok.ok and ok["oauth.redirect_uri"].data["match"] == "exact"
    bad = compare_redirect_uris(
        "https://www.myapp.com/auth/callback", "http://myapp.com/auth/callback/"
    )
    assert bad["oauth.redirect_uri"].data["differences"] == ["scheme", "www", "trailing_slash"]


def test_https_to_http_explains_the_proxy_and_url_for() -> None:
    report = compare_redirect_uris(
        "https://api.example.com/auth/oauth/google/callback",
        "http://api.example.com/auth/oauth/google/callback",
    )
    fix = report["oauth.redirect_uri.scheme"].fix
    assert "request.url_for" in fix
    assert "--proxy-headers" in fix and "--forwarded-allow-ips" in fix


def test_loopback_port_rule_applies_only_to_loopback_ip_literals() -> None:
    loop = compare_redirect_uris("http://127.0.0.1/callback", "http://127.0.0.1:53682/callback")
    assert loop.ok and loop["oauth.redirect_uri"].data["match"] == "loopback_port"
    v6 = compare_redirect_uris("http://[::1]:8000/cb", "http://[::1]:9999/cb")
    assert v6["oauth.redirect_uri"].data["match"] == "loopback_port"
    # a public host gets no port leniency, nor does a loopback URI whose path differs
    assert not compare_redirect_uris(
        "https://app.example.com/cb", "https://app.example.com:8443/cb"
    ).ok
    assert not compare_redirect_uris("http://127.0.0.1/cb", "http://127.0.0.1:5000/other").ok
    named = compare_redirect_uris("http://localhost:8000/cb", "http://127.0.0.1:8000/cb")
    assert named["oauth.redirect_uri"].data["differences"] == ["host"]


def test_closest_of_several_registered() -> None:
    registered = [
        "https://staging.myapp.com/auth/oauth/github/callback",
        "https://myapp.com/auth/oauth/github/callback",
        "http://127.0.0.1:8000/auth/oauth/github/callback",
    ]
    report = compare_redirect_uris(registered, "https://myapp.com/auth/oauth/github/callback/")
    verdict = report["oauth.redirect_uri"]
    assert verdict.data["closest"] == registered[1]
    assert verdict.data["differences"] == ["trailing_slash"]
    assert verdict.data["registered_count"] == 3
    assert compare_redirect_uris(registered, registered[2]).ok


def test_plain_http_on_public_host_is_flagged_even_when_registered() -> None:
    report = compare_redirect_uris("http://myapp.com/cb", "http://myapp.com/cb")
    assert report["oauth.redirect_uri"].status is Status.OK
    assert report["oauth.redirect_uri.https"].status is Status.WARN


def test_bad_input_is_a_finding_and_misuse_a_type_error() -> None:
    report = compare_redirect_uris("https://a.example/cb", "not a url")
    assert report["oauth.redirect_uri.parse"].status is Status.FAIL
    assert compare_redirect_uris("https://a.example/cb", "http://[::1")["oauth.redirect_uri.parse"]
    with pytest.raises(TypeError, match="registered"):
        compare_redirect_uris(42, "https://a.example/cb")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="received"):
        compare_redirect_uris("https://a.example/cb", None)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.text(), max_size=4)), st.text())
def test_compare_redirect_uris_never_raises(registered: Any, received: str) -> None:
    report = compare_redirect_uris(registered, received)
    assert report["oauth.redirect_uri"].status in {Status.OK, Status.FAIL}


url_parts = st.sampled_from(["http", "https", "HTTPS", "myapp", ""])
hosts = st.sampled_from(
    ["myapp.com", "www.myapp.com", "MyApp.com", "127.0.0.1", "[::1]", "localhost", "[::1", ""]
)
ports = st.sampled_from(["", ":443", ":80", ":8000", ":99999", ":x"])
paths = st.sampled_from(["", "/", "/cb", "/cb/", "/%7Ecb", "/~cb", "/CB"])
tails = st.sampled_from(["", "?a=1", "#f", "?a=%20#x"])


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(url_parts, hosts, ports, paths, tails),
    st.tuples(url_parts, hosts, ports, paths, tails),
)
def test_compare_structured_urls_never_raises(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    reg = f"{a[0]}://{a[1]}{a[2]}{a[3]}{a[4]}"
    got = f"{b[0]}://{b[1]}{b[2]}{b[3]}{b[4]}"
    verdict = compare_redirect_uris(reg, got)["oauth.redirect_uri"]
    if verdict.status is Status.OK:
        # only an exact string or the loopback port rule may pass
        assert reg == got or verdict.data["match"] == "loopback_port"
        assert "#" not in got
    else:
        assert reg != got or "#" in got or verdict.data["differences"] == []


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_state_round_trip_and_shape() -> None:
    state = generate_state("session-1", SECRET, now=NOW)
    assert all(c.isalnum() or c in "-_." for c in state)
    verify_state(state, SECRET, session_id="session-1", now=NOW + timedelta(seconds=599))
    verify_state(state, SECRET.encode(), session_id="session-1", now=NOW.timestamp() + 10)
    assert generate_state("session-1", SECRET, now=NOW) != state  # fresh nonce each time


def test_state_expired_wrong_session_wrong_secret() -> None:
    state = generate_state("session-1", SECRET, expires_in=60, now=NOW)
    with pytest.raises(StateExpiredError, match="expired 1 s ago"):
        verify_state(state, SECRET, session_id="session-1", now=NOW + timedelta(seconds=61))
    with pytest.raises(StateInvalidError, match="different session"):
        verify_state(state, SECRET, session_id="session-2", now=NOW)
    with pytest.raises(StateInvalidError, match="different secret"):
        verify_state(state, "another-secret-xyz", session_id="session-1", now=NOW)
    with pytest.raises(StateInvalidError, match="malformed"):
        verify_state("abc", SECRET, session_id="session-1", now=NOW)
    # one base class for callers that handle both
    assert issubclass(StateExpiredError, StateError) and issubclass(StateInvalidError, StateError)


def test_tampered_expiry_is_invalid_not_expired() -> None:
    state = generate_state("s", SECRET, expires_in=60, now=NOW)
    parts = state.split(".")
    parts[1] = str(int(parts[1]) + 3600)
    with pytest.raises(StateInvalidError, match="signature"):
        verify_state(".".join(parts), SECRET, session_id="s", now=NOW + timedelta(seconds=120))


def test_state_misuse_raises_type_errors_without_the_secret() -> None:
    with pytest.raises(TypeError, match="session_id"):
        generate_state("", SECRET)
    with pytest.raises(TypeError, match="secret"):
        generate_state("s", 123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expires_in") as info:
        generate_state("s", SECRET, expires_in=0)
    assert SECRET not in str(info.value)
    with pytest.raises(TypeError, match="aware datetime"):
        generate_state("s", SECRET, now=datetime(2026, 1, 1))


_STATE = generate_state("fixed-session", SECRET, expires_in=10**6, now=NOW)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.integers(min_value=0, max_value=len(_STATE)),
    st.sampled_from(["replace", "insert", "delete", "truncate", "append"]),
    st.characters(codec="utf-8"),
)
def test_any_tampering_fails_with_state_invalid(index: int, op: str, char: str) -> None:
    s = _STATE
    if op == "replace":
        if index >= len(s) or s[index] == char:
            return
        tampered = s[:index] + char + s[index + 1 :]
    elif op == "insert":
        tampered = s[:index] + char + s[index:]
    elif op == "delete":
        if index >= len(s):
            return
        tampered = s[:index] + s[index + 1 :]
    elif op == "truncate":
        tampered = s[:index]
    else:
        tampered = s + char
    if tampered == s:
        return
    with pytest.raises(StateInvalidError):
        verify_state(tampered, SECRET, session_id="fixed-session", now=NOW)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_verify_state_on_arbitrary_text_is_state_invalid(text: str) -> None:
    with pytest.raises(StateInvalidError):
        verify_state(text, SECRET, session_id="fixed-session", now=NOW)


# ---------------------------------------------------------------------------
# Session cookie from a real Starlette SessionMiddleware
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session_app() -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def login(request: Request) -> JSONResponse:
        # what svc-infra's /auth/oauth/{provider}/login stores before redirecting
        provider = request.path_params["provider"]
        state = secrets.token_urlsafe(24)
        request.session[f"oauth:{provider}:state"] = state
        request.session[f"oauth:{provider}:pkce_verifier"] = secrets.token_urlsafe(48)
        request.session[f"oauth:{provider}:nonce"] = secrets.token_urlsafe(16)
        # ... and what Authlib's authorize_redirect stores beside them (tests/fidelity proves both)
        callback = f"http://testserver/auth/oauth/{provider}/callback"
        request.session[f"_state_{provider}_{state}"] = {
            "data": {"redirect_uri": callback, "url": f"https://idp.test/authorize?state={state}"},
            "exp": time.time() + 3600,
        }
        if "pad" in request.query_params:
            request.session["profile"] = "x" * int(request.query_params["pad"])
        return JSONResponse(
            {"state": state, "verifier": request.session[f"oauth:{provider}:pkce_verifier"]}
        )

    return Starlette(
        routes=[Route("/auth/oauth/{provider}/login", login)],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=SESSION_SECRET,
                session_cookie="svc_session",
                max_age=4 * 3600,
            )
        ],
    )


def _login(app: Any, provider: str = "google", **params: Any) -> tuple[str, dict[str, str], str]:
    """Call the login route in-process; returns the cookie value, the JSON body, the Set-Cookie header."""
    import httpx

    async def go() -> tuple[str, dict[str, str], str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            resp = await client.get(f"/auth/oauth/{provider}/login", params=params)
            return client.cookies["svc_session"], resp.json(), resp.headers["set-cookie"]

    return asyncio.run(go())


def test_real_session_cookie_shows_oauth_keys_and_masks_the_verifier(session_app: Any) -> None:
    cookie, body, _ = _login(session_app)
    report = inspect_session_cookie(cookie, SESSION_SECRET)
    assert report.ok
    assert report["oauth.session.signature"].status is Status.OK
    shown = report["oauth.session.oauth_keys"].data["providers"]["google"]
    assert shown["state"] == body["state"]
    assert set(shown) == {"state", "pkce_verifier", "nonce"}
    assert body["verifier"] not in str(report) and body["verifier"] not in report.to_json()
    assert shown["pkce_verifier"].startswith("****")
    assert report["oauth.session.cookie"].data["bytes"] < 4096


def test_callback_state_matches_or_names_another_tab(session_app: Any) -> None:
    cookie_1, body_1, header = _login(session_app)
    assert (
        compare_state(body_1["state"], cookie_1, SESSION_SECRET)["oauth.session.state"].status
        is Status.OK
    )
    # the full Set-Cookie header is accepted too, and its attributes judged
    full = inspect_session_cookie(header, SESSION_SECRET, callback_state=body_1["state"])
    assert full.ok and full["oauth.session.attributes"].summary.startswith("SameSite=lax")
    strict = inspect_session_cookie(
        header.replace("samesite=lax", "samesite=strict"), SESSION_SECRET
    )
    assert strict["oauth.session.attributes"].status is Status.FAIL
    assert strict["oauth.session.attributes"].cause == "samesite_strict"
    # a second login (another tab) in the same browser overwrote the state
    cookie_2, _, _ = _login(session_app)
    finding = compare_state(body_1["state"], cookie_2, SESSION_SECRET)["oauth.session.state"]
    assert finding.status is Status.FAIL and finding.cause == "state_mismatch"
    assert "another tab" in finding.detail


def test_expired_session_wrong_secret_missing_and_oversized_cookie(session_app: Any) -> None:
    cookie, body, _ = _login(session_app)
    later = time.time() + 4 * 3600 + 60
    expired = compare_state(body["state"], cookie, SESSION_SECRET, now=later)
    assert expired["oauth.session.age"].status is Status.FAIL
    assert expired["oauth.session.age"].cause == "session_expired"
    assert "expired" in expired["oauth.session.state"].summary
    assert expired["oauth.session.state"].cause == "session_expired"
    assert expired["oauth.session.oauth_keys"].cause == "session_expired"

    wrong = inspect_session_cookie(cookie, "not-the-session-secret")
    assert wrong["oauth.session.signature"].status is Status.FAIL
    assert wrong["oauth.session.signature"].cause == "session_signature_invalid"

    missing = compare_state(body["state"], None, SESSION_SECRET)
    assert missing["oauth.session.cookie"].status is Status.FAIL
    assert "SameSite" in missing["oauth.session.cookie"].fix
    assert missing["oauth.session.cookie"].cause == "session_cookie_missing"
    assert (
        inspect_session_cookie("other=1; foo=bar", SESSION_SECRET)["oauth.session.cookie"].status
        is Status.FAIL
    )

    big, _, _ = _login(session_app, pad=4000)
    report = inspect_session_cookie(big, SESSION_SECRET)
    assert report["oauth.session.cookie"].status is Status.FAIL
    assert report["oauth.session.cookie"].data["bytes"] > 4096
    assert report["oauth.session.cookie"].cause == "cookie_too_large"

    other = compare_state(
        body["state"], _login(session_app, provider="github")[0], SESSION_SECRET, provider="google"
    )
    assert other["oauth.session.state"].summary == "the session holds no state to compare with"
    assert other["oauth.session.state"].cause == "no_pending_login"
    assert other["oauth.session.oauth_keys"].cause == "no_pending_login"
    garbage = inspect_session_cookie("svc_session=bm90LWEtY29va2ll", SESSION_SECRET)
    assert garbage["oauth.session.signature"].status is Status.FAIL


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.builds(lambda a, b: f"svc_session={a}.{b}", st.text(), st.text())))
def test_inspect_session_cookie_never_raises(cookie: str) -> None:
    report = inspect_session_cookie(cookie, SESSION_SECRET)
    assert report["oauth.session.cookie"].status in {Status.OK, Status.WARN, Status.FAIL}
    assert report.get("oauth.session.oauth_keys") is None  # nothing forged gets through


# ---------------------------------------------------------------------------
# Provider and code exchange against a real Authlib server
# ---------------------------------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    return verifier, challenge


@pytest.fixture(scope="module")
def authlib_server() -> Iterator[AuthlibServer]:
    with AuthlibServer() as server:
        yield server


async def _exchange(server: AuthlibServer, code: str, verifier: str | None, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code_verifier": verifier,
        **kw,
    }
    return (await exchange_code(f"{server.url}/token", code=code, **args))["oauth.exchange"]


async def test_full_code_flow_with_pkce_then_reused_code(authlib_server: AuthlibServer) -> None:
    verifier, challenge = _pkce()
    code = await asyncio.to_thread(authlib_server.authorize, code_challenge=challenge)
    ok = await _exchange(authlib_server, code, verifier, auth_method="client_secret_basic")
    assert ok.status is Status.OK
    access = authlib_server.tokens[-1]["access_token"]
    assert access not in str(ok) and access not in str(dict(ok.data))
    # the token is listed, masked by name (never its value)
    assert "access_token" in ok.data["tokens"] and access[:12] not in str(ok.data["tokens"])
    assert ok.data["tokens"]["token_type"] == "Bearer"
    assert CLIENT_SECRET not in str(ok) and CLIENT_SECRET not in str(dict(ok.data))

    again = await _exchange(authlib_server, code, verifier)  # the callback page was refreshed
    assert again.status is Status.FAIL
    assert again.data["oauth_error"] == "invalid_grant"
    assert again.cause == "code_reused"
    assert "already exchanged" in again.detail


async def test_unknown_code_mismatched_redirect_wrong_verifier(
    authlib_server: AuthlibServer,
) -> None:
    verifier, challenge = _pkce()
    unknown = await _exchange(authlib_server, "never-issued-code", verifier)
    assert (unknown.data["oauth_error"], unknown.cause) == ("invalid_grant", "code_invalid")
    assert "already used" in unknown.detail

    code = await asyncio.to_thread(authlib_server.authorize, code_challenge=challenge)
    mismatch = await _exchange(authlib_server, code, verifier, redirect_uri=REDIRECT_URI + "/")
    assert (mismatch.data["oauth_error"], mismatch.cause) == (
        "invalid_grant",
        "redirect_uri_mismatch",
    )

    wrong_pkce = await _exchange(authlib_server, code, _pkce()[0])
    assert (wrong_pkce.data["oauth_error"], wrong_pkce.cause) == ("invalid_grant", "pkce_mismatch")

    no_verifier = await _exchange(authlib_server, code, None)
    assert no_verifier.data["oauth_error"] == "invalid_request"
    assert no_verifier.cause == "pkce_missing_or_malformed"

    # the code is still valid after those failures: the right request succeeds
    assert (await _exchange(authlib_server, code, verifier)).status is Status.OK


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_wrong_client_secret_is_invalid_client(
    authlib_server: AuthlibServer, method: str
) -> None:
    verifier, challenge = _pkce()
    code = await asyncio.to_thread(authlib_server.authorize, code_challenge=challenge)
    wrong = await _exchange(
        authlib_server, code, verifier, client_secret="wrong-secret-123456", auth_method=method
    )
    assert (wrong.data["oauth_error"], wrong.cause) == ("invalid_client", "invalid_client")
    assert wrong.data["status_code"] == 401
    assert "CLIENT_SECRET" in wrong.fix
    assert "wrong-secret-123456" not in str(wrong)


async def test_unauthorized_client() -> None:
    with AuthlibServer(client_grant_types=("refresh_token",)) as server:
        verifier, challenge = _pkce()
        code = await asyncio.to_thread(server.authorize, code_challenge=challenge)
        finding = await _exchange(server, code, verifier)
    assert finding.cause == "unauthorized_client"
    assert "grant" in finding.fix


async def test_check_provider_against_authlib(authlib_server: AuthlibServer) -> None:
    report = await check_provider(authlib_server.url, timeout=3)
    assert report.ok, str(report)
    assert report["oauth.provider.pkce"].status is Status.OK
    assert (
        report["oauth.provider.endpoints"].data["token_endpoint"] == f"{authlib_server.url}/token"
    )
    assert abs(report["oauth.provider.clock"].data["skew_s"]) <= 2
    skewed = await check_provider(authlib_server.url, timeout=3, now=time.time() + 600)
    assert skewed["oauth.provider.clock"].status is Status.FAIL
    assert skewed["oauth.provider.clock"].cause == "clock_skew"
    assert 598 <= skewed["oauth.provider.clock"].data["skew_s"] <= 602


# --- small hand-written peers for the faults a real provider rarely shows -----------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, str]] = {}  # noqa: RUF012

    def _answer(self) -> None:
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_peer() -> Iterator[tuple[str, dict[str, tuple[int, str, str]]]]:
    routes: dict[str, tuple[int, str, str]] = {}
    handler = type("H", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_exchange_non_json_timeout_and_refused(
    fake_peer: Any, silent_server: Any, refused_port: int
) -> None:
    url, routes = fake_peer
    routes["/token"] = (502, "text/html", "<html><body>Bad Gateway</body></html>")
    html = await _exchange_at(f"{url}/token")
    assert html.cause == "non_json_answer" and html.data["status_code"] == 502
    assert "Bad Gateway" in html.detail

    routes["/gh"] = (
        200,
        "application/json",
        '{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}',
    )
    github = await _exchange_at(f"{url}/gh")
    assert github.data["oauth_error"] == "bad_verification_code" and github.cause == "code_expired"

    started = time.monotonic()
    hung = await _exchange_at(f"http://127.0.0.1:{silent_server.port}/token", timeout=0.5)
    assert time.monotonic() - started < 0.8
    assert hung.cause == "timeout"

    refused = await _exchange_at(f"http://127.0.0.1:{refused_port}/token")
    assert refused.cause == "connect_failed"


async def _exchange_at(url: str, timeout: float = 3.0) -> Any:
    report = await exchange_code(
        url,
        code="abc",
        redirect_uri=REDIRECT_URI,
        client_id="cid",
        client_secret="secret-for-fault-tests",
        timeout=timeout,
    )
    assert "secret-for-fault-tests" not in str(report)
    return report["oauth.exchange"]


async def test_check_provider_faults(fake_peer: Any, silent_server: Any) -> None:
    url, routes = fake_peer
    routes["/.well-known/oauth-authorization-server"] = (
        200,
        "application/json",
        '{"issuer": "https://elsewhere.example", "authorization_endpoint": "https://x/a",'
        ' "code_challenge_methods_supported": ["plain"]}',
    )
    report = await check_provider(url, timeout=3)
    assert report["oauth.provider.metadata"].status is Status.OK  # found at the RFC 8414 path
    assert report["oauth.provider.endpoints"].summary == "missing token_endpoint"
    assert report["oauth.provider.pkce"].status is Status.FAIL
    assert report["oauth.provider.pkce"].cause == "pkce_s256_unsupported"
    assert report["oauth.provider.issuer"].status is Status.WARN

    routes.clear()
    missing = await check_provider(url, timeout=3)
    assert missing["oauth.provider.metadata"].status is Status.FAIL
    assert "HTTP 404" in missing["oauth.provider.metadata"].detail

    started = time.monotonic()
    hung = await check_provider(f"http://127.0.0.1:{silent_server.port}", timeout=0.5)
    assert time.monotonic() - started < 0.8
    assert hung["oauth.provider.metadata"].cause == "timeout"


# ---------------------------------------------------------------------------
# diagnose check and widget
# ---------------------------------------------------------------------------


def test_diagnose_check_warns_on_missing_client_secret() -> None:
    from svc_nb._diagnose import _builders, registered_checks

    assert "oauth" in registered_checks()
    builder = _builders["oauth"][1]
    findings = builder(
        {
            "GOOGLE_CLIENT_ID": "id",
            "GITHUB_CLIENT_ID": "id2",
            "GITHUB_CLIENT_SECRET": "gh-secret-value-1",
        },
        1.0,
    )
    by_check = {f.check: f for f in findings}  # type: ignore[union-attr]
    assert by_check["oauth.credentials.google"].status is Status.WARN
    assert by_check["oauth.credentials.google"].cause == "client_secret_missing"
    assert "GOOGLE_CLIENT_SECRET" in by_check["oauth.credentials.google"].fix
    assert by_check["oauth.credentials.github"].status is Status.OK
    assert "gh-secret-value-1" not in str(by_check["oauth.credentials.github"].to_dict())
    assert builder({}, 1.0)[0].status is Status.SKIP  # type: ignore[index]
    assert builder({}, 1.0)[0].cause == "not_configured"  # type: ignore[index]
    spaced = builder({"X_CLIENT_ID": "id", "X_CLIENT_SECRET": " x-secret-value-2\n"}, 1.0)
    assert spaced[0].cause == "client_secret_whitespace"  # type: ignore[index]


def test_redirect_uri_diff_widget_updates_live() -> None:
    from svc_nb.widgets import redirect_uri_diff

    widget = redirect_uri_diff(
        ["https://myapp.com/auth/callback"], "https://myapp.com/auth/callback"
    )
    assert "matches a registered one exactly" in widget.result.value
    widget.received.value = "https://myapp.com/auth/callback/"
    assert "trailing_slash" in widget.result.value
    widget.registered.value = ""
    assert "Enter the registered" in widget.result.value


# ---------------------------------------------------------------------------
# Notebook
# ---------------------------------------------------------------------------


@pytest.mark.notebook
def test_notebook_runs_and_shows_the_diagnoses() -> None:
    from tests._support import NOTEBOOKS, execute_notebook, notebook_text_outputs

    session_secret = "nb-session-secret-e3f0c9"
    state_secret = "nb-state-secret-77aa01"
    nb = execute_notebook(
        NOTEBOOKS / "03_oauth.ipynb",
        {"SESSION_SECRET": session_secret, "STATE_SECRET": state_secret},
    )
    text = notebook_text_outputs(nb)
    for expected in [
        "oauth.redirect_uri.scheme",
        "request.url_for",
        "--proxy-headers",  # redirect + proxy
        "['www']",
        "['trailing_slash']",
        "['default_port']",
        "['percent_encoding']",
        "['fragment']",
        "loopback port rule",
        "StateExpiredError",
        "different session",
        "StateInvalidError: state signature",
        "pending login for google",
        "matches oauth:google:state",
        "another tab",
        "expired",
        "SameSite",
        "PKCE S256 supported",
        "code exchanged: access_token",
        "cause=redirect_uri_mismatch",
        "cause=pkce_mismatch",
        "error=invalid_client",
        "already exchanged successfully",
    ]:
        assert expected in text, expected
    assert "Traceback" not in text and "Exception in ASGI" not in text
    for secret in (session_secret, state_secret):
        assert secret not in text
    # the local provider's client secret is random: it must not appear either (never printed)
    assert "client_secret=" not in text


# ---------------------------------------------------------------------------
# Hostile input, non-finite numbers, bad timeouts, secrets in URIs
# ---------------------------------------------------------------------------


def test_long_redirect_uris_compare_in_linear_time() -> None:
    from svc_nb.oauth import OAuthCause

    base = "https://myapp.com/auth/callback/"
    # 20 000 characters took 27 s with difflib; 1 MB must take well under 2 s.
    for size in (20_000, 1_000_000):
        registered = base + "a" * size + "/tail"
        received = base + "a" * size + "X/tail"
        started = time.perf_counter()
        report = compare_redirect_uris(registered, received)
        assert time.perf_counter() - started < 2.0, size
        verdict = report["oauth.redirect_uri"]
        assert verdict.cause == OAuthCause.REDIRECT_URI_MISMATCH
        assert verdict.data["differences"] == ["path"]
        # where they differ, and the differing middle, shown briefly
        assert verdict.data["diff"]["at"] == len(base) + size
        assert verdict.data["diff"]["received"].endswith("[X]/tail")
        assert len(str(report)) < 5_000 and len(report.to_json()) < 10_000
    # several long registered URIs: the closest one (most shared at the ends) is picked
    many = [base + "b" * 200_000, base + "a" * 200_000 + "/tail", "https://other.example/cb"]
    started = time.perf_counter()
    verdict = compare_redirect_uris(many, base + "a" * 200_000 + "/tail/")["oauth.redirect_uri"]
    assert time.perf_counter() - started < 2.0
    assert verdict.data["differences"] == ["trailing_slash"]


def test_every_non_ok_redirect_finding_has_a_cause() -> None:
    report = compare_redirect_uris(
        "https://www.myapp.com:8443/auth/%7Ecb?a=1", "http://myapp.com/auth/~CB?b=2#frag"
    )
    causes = {f.check: f.cause for f in report}
    assert causes["oauth.redirect_uri"] == "redirect_uri_mismatch"
    assert causes["oauth.redirect_uri.scheme"] == "scheme_downgraded"
    assert causes["oauth.redirect_uri.www"] == "www_differs"
    assert causes["oauth.redirect_uri.port"] == "port_differs"
    assert causes["oauth.redirect_uri.path"] == "path_differs"
    assert causes["oauth.redirect_uri.query"] == "query_differs"
    assert causes["oauth.redirect_uri.fragment"] == "fragment_in_uri"
    assert (
        compare_redirect_uris("http://a.example/cb", "http://a.example/cb")[
            "oauth.redirect_uri.https"
        ].cause
        == "plain_http"
    )
    assert compare_redirect_uris("https://a/cb", "nope")["oauth.redirect_uri.parse"].cause == (
        "redirect_uri_invalid"
    )


def test_url_passwords_in_redirect_uris_never_show() -> None:
    registered = "https://deploy:reg-pass-7f3a@myapp.com/auth/callback"
    received = "https://deploy:got-p@ss:w0rd-91@myapp.com/auth/callback/?token=tok-secret-55"
    report = compare_redirect_uris([registered], received)
    assert report["oauth.redirect_uri.userinfo"].cause == "userinfo_differs"
    shown = str(report) + report.to_json() + report._repr_html_()
    for secret in ("reg-pass-7f3a", "got-p@ss", "w0rd-91", "tok-secret-55"):
        assert secret not in shown, secret
    assert "deploy:****@myapp.com" in report["oauth.redirect_uri"].data["received"]


def test_redirect_uri_widget_keeps_passwords_out_of_widget_state() -> None:
    import json

    from svc_nb.widgets import redirect_uri_diff

    widget = redirect_uri_diff(
        ["https://deploy:reg-pass-7f3a@myapp.com/cb"], "https://deploy:other-pass-42@myapp.com/cb"
    )

    def synced() -> str:
        return json.dumps([model.get_state() for model in widget.walk()], default=str)

    assert "userinfo" in widget.result.value  # compared on the real text: the passwords differ
    assert "reg-pass-7f3a" not in synced() and "other-pass-42" not in synced()
    assert widget.received.value == "https://deploy:****@myapp.com/cb"
    # typed from the browser: masked in the field, still compared for real
    widget.received.value = "https://deploy:reg-pass-7f3a@myapp.com/cb"
    assert "reg-pass-7f3a" not in synced()
    assert "matches a registered one exactly" in widget.result.value
    # an edit after the '@' keeps the hidden password
    widget.received.value = "https://deploy:****@myapp.com/cb/"
    assert "trailing_slash" in widget.result.value and "userinfo" not in widget.result.value


@pytest.mark.parametrize("now", [float("nan"), float("inf"), float("-inf"), 10**400])
def test_state_refuses_non_finite_now_at_once(now: Any) -> None:
    state = generate_state("s", SECRET, expires_in=60, now=NOW)
    with pytest.raises(ValueError, match="now=") as info:
        verify_state(state, SECRET, session_id="s", now=now)
    assert not isinstance(info.value, StateError)  # misuse, not a verdict on the state
    with pytest.raises(ValueError, match="now="):
        generate_state("s", SECRET, now=now)


@pytest.mark.parametrize(
    ("expires_in", "error"),
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (-5, ValueError),
        (0, ValueError),
        (10**400, ValueError),
        ("600", TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_state_expires_in_is_checked(expires_in: Any, error: type[Exception]) -> None:
    from svc_nb import SvcNbError

    with pytest.raises(error, match="expires_in") as info:
        generate_state("s", SECRET, expires_in=expires_in, now=NOW)
    assert isinstance(info.value, SvcNbError)


def test_state_accepts_fractional_lifetime_and_errors_share_a_root() -> None:
    from svc_nb import SvcNbError
    from svc_nb.oauth import OAuthError

    state = generate_state("s", SECRET, expires_in=90.5, now=NOW)
    verify_state(state, SECRET, session_id="s", now=NOW + timedelta(seconds=90))
    with pytest.raises(StateExpiredError, match="expired 2 min ago") as info:
        verify_state(state, SECRET, session_id="s", now=NOW + timedelta(seconds=210))
    assert isinstance(info.value, OAuthError) and isinstance(info.value, SvcNbError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1", TypeError),
        (None, TypeError),
    ],
)
async def test_probes_refuse_bad_timeouts_at_once(
    silent_server: Any, timeout: Any, error: type[Exception]
) -> None:
    from svc_nb import SvcNbError

    url = f"http://127.0.0.1:{silent_server.port}"
    started = time.monotonic()
    with pytest.raises(error, match="timeout") as provider_error:
        await check_provider(url, timeout=timeout)
    with pytest.raises(error, match="timeout") as exchange_error:
        await exchange_code(
            f"{url}/token", code="c", redirect_uri=REDIRECT_URI, client_id="cid", timeout=timeout
        )
    assert time.monotonic() - started < 0.5  # refused before any request (the peer never answers)
    assert isinstance(provider_error.value, SvcNbError) and isinstance(
        exchange_error.value, SvcNbError
    )


async def test_provider_findings_carry_causes(fake_peer: Any) -> None:
    url, routes = fake_peer
    routes["/.well-known/oauth-authorization-server"] = (
        200,
        "application/json",
        '{"issuer": "https://elsewhere.example", "authorization_endpoint": "https://x/a",'
        ' "grant_types_supported": ["client_credentials"]}',
    )
    report = await check_provider(url, timeout=3)
    causes = {f.check: f.cause for f in report if f.status is not Status.OK}
    assert causes == {
        "oauth.provider.issuer": "issuer_mismatch",
        "oauth.provider.endpoints": "endpoints_missing",
        "oauth.provider.grant": "grant_not_supported",
        "oauth.provider.pkce": "pkce_not_advertised",
    }  # the clock is judged OK: http.server sends a Date header
    routes.clear()
    missing = await check_provider(url, timeout=3)
    assert missing["oauth.provider.metadata"].cause == "metadata_not_found"
