"""svc_nb.cors against real servers: Starlette's CORSMiddleware under uvicorn (the
reference behaviour) and hand-written misbehaving servers for what Starlette never does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from svc_nb import Finding, Report, Status, cors
from tests._support import free_port

FRONT = "http://localhost:3000"


# -- servers -------------------------------------------------------------------


async def _items(request: Request) -> Response:
    return JSONResponse({"method": request.method})


async def _boom(request: Request) -> Response:
    raise RuntimeError("kaboom")


def make_app(**cors_options: Any) -> Starlette:
    routes = [
        Route("/items", _items, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/boom", _boom),
    ]
    middleware = (
        [Middleware(CORSMiddleware, **cors_options)] if cors_options.get("allow_origins") else []
    )
    return Starlette(routes=routes, middleware=middleware)


class UvicornThread:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture(scope="module")
def strict() -> Iterator[str]:
    """One allowed origin, GET/POST, Content-Type only, no credentials."""
    app = make_app(
        allow_origins=[FRONT], allow_methods=["GET", "POST"], allow_headers=["content-type"]
    )
    with UvicornThread(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def generous() -> Iterator[str]:
    """svc-infra's typical production setup: explicit origin, credentials, * methods/headers."""
    app = make_app(
        allow_origins=[FRONT], allow_credentials=True, allow_methods=["*"], allow_headers=["*"]
    )
    with UvicornThread(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def anyone() -> Iterator[str]:
    app = make_app(allow_origins=["*"], allow_headers=["*"], allow_methods=["*"])
    with UvicornThread(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def no_cors() -> Iterator[str]:
    """What svc-infra runs with CORS_ALLOW_ORIGINS empty: no CORS middleware at all."""
    with UvicornThread(make_app()) as server:
        yield server.url


# Behaviours Starlette never produces, selected by path.
_BAD: dict[str, dict[str, Any]] = {
    "/multi": {"Access-Control-Allow-Origin": f"{FRONT}, http://other.test"},
    "/null": {"Access-Control-Allow-Origin": "null"},
    "/novary": {
        "Access-Control-Allow-Origin": FRONT,
        "Access-Control-Allow-Headers": "authorization",
    },
    "/star-cred": {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "*",
        "Access-Control-Allow-Headers": "*",
    },
    "/wild": {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "*",
        "Access-Control-Allow-Headers": "*",
    },
    "/cred-case": {
        "Access-Control-Allow-Origin": FRONT,
        "Vary": "Origin",
        "Access-Control-Allow-Credentials": "True",
        "Access-Control-Allow-Headers": "authorization",
    },
    "/maxage": {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "authorization",
        "Access-Control-Max-Age": "100000",
    },
    # a superscript two: str.isdigit() says yes, int() says no
    "/maxage-odd": {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "authorization",
        "Access-Control-Max-Age": "\u00b2",
    },
}


class _BadHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_OPTIONS(self) -> None:
        if self.path == "/redirect":
            self._answer(307, {"Location": "/redirect/"})
        elif self.path == "/error":
            self._answer(500, {})
        else:
            self._answer(204, _BAD.get(self.path, {}))

    def do_GET(self) -> None:
        self._answer(200, _BAD.get(self.path, {}))


@pytest.fixture(scope="module")
def bad() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BadHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- which requests need a preflight ----------------------------------------------


def test_needs_preflight_rules() -> None:
    assert not cors.needs_preflight("GET")
    assert not cors.needs_preflight("post", {"Content-Type": "application/x-www-form-urlencoded"})
    assert not cors.needs_preflight(
        "POST", ["Content-Type: text/plain; charset=utf-8", "Accept: */*"]
    )
    assert cors.needs_preflight("POST", {"Content-Type": "application/json"})
    assert cors.needs_preflight("GET", ["Authorization"])
    assert cors.needs_preflight("PUT")
    assert not cors.needs_preflight("GET", ["Cookie: a=b", "Sec-Fetch-Mode: cors"])  # browser-owned
    assert cors.needs_preflight("GET", {"Accept-Language": "en(1)"})
    assert cors.needs_preflight("GET", {"Accept": "x" * 200})
    reasons = cors.preflight_reasons("patch", {"Content-Type": "application/json"})
    assert any("'patch' as written" in r for r in reasons)
    assert any("application/json" in r for r in reasons)
    assert any(
        "Authorization is never" in r for r in cors.preflight_reasons("GET", "Authorization")
    )
    assert cors.unsafe_header_names(
        ["X-B", "authorization", "Accept", "Content-Type: application/json"]
    ) == [
        "authorization",
        "content-type",
        "x-b",
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.text(),
    st.one_of(
        st.text(),
        st.lists(st.text()),
        st.dictionaries(st.text(), st.one_of(st.none(), st.text())),
        st.lists(st.tuples(st.text(), st.text())),
    ),
)
def test_parsers_never_raise(method: str, headers: Any) -> None:
    assert isinstance(cors.needs_preflight(method, headers), bool)
    assert isinstance(cors.unsafe_header_names(headers), list)
    text = method
    assert all(isinstance(i, str) for i in cors.split_header_list(text))
    assert cors.check_origin(text) is None or isinstance(cors.check_origin(text), str)
    assert isinstance(cors.parse_origins_env(text), list)


def test_parse_origins_env() -> None:
    assert cors.parse_origins_env("http://a.test, https://b.test,") == [
        "http://a.test",
        "https://b.test",
    ]
    assert cors.parse_origins_env('["http://a.test"]') == ["http://a.test"]
    assert cors.parse_origins_env("  ") == []


# -- Starlette's CORSMiddleware: the reference behaviour --------------------------


async def test_simple_get_allowed(strict: str) -> None:
    report = await cors.preflight(f"{strict}/items", FRONT)
    assert report["cors.need"].data["needs_preflight"] is False
    assert report["cors.request.origin"].status is Status.OK
    assert report.get("cors.request.vary") is None  # Starlette sends Vary: Origin
    assert report.ok, report


async def test_disallowed_origin(strict: str) -> None:
    report = await cors.preflight(
        f"{strict}/items", "http://evil.test:8080", headers=["Authorization"]
    )
    pre = report["cors.preflight"]
    assert pre.status is Status.FAIL
    assert pre.data["rejected"] == ["origin", "headers"]  # Starlette's own 400 body, decoded
    origin = report["cors.preflight.origin"]
    assert origin.status is Status.FAIL
    assert "CORS_ALLOW_ORIGINS=http://evil.test:8080" in origin.fix
    assert "no CORS middleware" in origin.fix
    headers = report["cors.preflight.headers"]
    assert headers.data["missing"] == ["authorization"]
    assert "CORS_ALLOW_HEADERS=authorization,content-type" in headers.fix
    assert "A browser would have stopped" in report["cors.request"].detail


async def test_method_not_allowed(strict: str) -> None:
    report = await cors.preflight(f"{strict}/items", FRONT, method="PUT", send_actual=True)
    methods = report["cors.preflight.methods"]
    assert methods.status is Status.FAIL
    assert "CORS_ALLOW_METHODS=GET,POST,PUT" in methods.fix
    assert report["cors.preflight.origin"].status is Status.OK


async def test_json_post_needs_preflight_and_passes(strict: str) -> None:
    report = await cors.preflight(
        f"{strict}/items", FRONT, method="POST", headers={"Content-Type": "application/json"}
    )
    assert report["cors.need"].data["request_headers"] == ["content-type"]
    assert report["cors.preflight.headers"].status is Status.OK
    assert report["cors.request"].status is Status.SKIP  # POST not sent unless asked
    assert report.ok


async def test_credentials_not_allowed(strict: str) -> None:
    report = await cors.preflight(f"{strict}/items", FRONT, credentials=True)
    finding = report["cors.request.credentials"]
    assert finding.status is Status.FAIL
    assert "allow_credentials=True" in finding.fix and "cors_credentials" in finding.fix
    assert "TypeError" in finding.fix


async def test_svc_infra_typical_config_passes(generous: str) -> None:
    report = await cors.preflight(
        f"{generous}/items",
        FRONT,
        method="PATCH",
        headers={
            "Authorization": "Bearer abc.def",
            "Content-Type": "application/json",
            "X-Req": "1",
        },
        credentials=True,
        send_actual=True,
    )
    assert report.ok, report
    assert report["cors.preflight.max_age"].data["max_age"] == 600
    assert report["cors.request"].data["status_code"] == 200
    assert report["cors.request.credentials"].status is Status.OK


async def test_star_origin_without_and_with_credentials(anyone: str) -> None:
    plain = await cors.preflight(f"{anyone}/items", FRONT, headers=["X-Custom"])
    assert plain["cors.preflight.origin"].summary == "any origin allowed (*)"
    assert plain.ok
    with_creds = await cors.preflight(
        f"{anyone}/items", FRONT, headers=["X-Custom"], credentials=True
    )
    finding = with_creds["cors.preflight.origin"]
    assert finding.status is Status.FAIL and "credentials" in finding.summary
    assert f"CORS_ALLOW_ORIGINS={FRONT} (not *)" in finding.fix


async def test_no_cors_middleware(no_cors: str) -> None:
    report = await cors.preflight(f"{no_cors}/items", FRONT, headers=["Authorization"])
    pre = report["cors.preflight"]
    assert pre.status is Status.FAIL and pre.data["status_code"] == 405
    assert "no CORS middleware" in pre.summary and "CORS_ALLOW_ORIGINS" in pre.fix
    assert report["cors.request.origin"].status is Status.FAIL


async def test_server_error_hides_behind_cors(strict: str) -> None:
    report = await cors.preflight(f"{strict}/boom", FRONT)
    finding = report["cors.request"]
    assert finding.status is Status.FAIL and "500 without CORS headers" in finding.summary


# -- misbehaving servers --------------------------------------------------------------


async def test_several_origins_in_one_header(bad: str) -> None:
    report = await cors.preflight(f"{bad}/multi", FRONT)
    assert "several origins" in report["cors.request.origin"].summary
    assert report["cors.request.origin"].status is Status.FAIL
    # the preflight is not needed for a plain GET: its verdict is only a warning
    assert report["cors.preflight.origin"].status is Status.WARN


async def test_null_origin(bad: str) -> None:
    report = await cors.preflight(f"{bad}/null", FRONT)
    assert report["cors.request.origin"].status is Status.FAIL
    assert "null" in report["cors.request.origin"].summary
    sandboxed = await cors.preflight(f"{bad}/null", "null")
    assert sandboxed["cors.request.origin"].status is Status.WARN
    assert "unsafe" in sandboxed["cors.request.origin"].summary


async def test_redirecting_preflight(bad: str) -> None:
    report = await cors.preflight(f"{bad}/redirect", FRONT, headers=["Authorization"])
    pre = report["cors.preflight"]
    assert pre.status is Status.FAIL and "redirect (307" in pre.summary
    assert pre.data["location"] == "/redirect/"


async def test_failing_preflight(bad: str) -> None:
    report = await cors.preflight(f"{bad}/error", FRONT, method="DELETE")
    pre = report["cors.preflight"]
    assert pre.status is Status.FAIL and "500" in pre.summary and "2xx" in pre.summary


async def test_star_with_credentials_from_a_hand_written_server(bad: str) -> None:
    report = await cors.preflight(
        f"{bad}/star-cred",
        FRONT,
        method="PUT",
        headers=["X-Custom"],
        credentials=True,
        send_actual=True,
    )
    assert report["cors.preflight.origin"].status is Status.FAIL
    methods = report["cors.preflight.methods"]
    assert methods.status is Status.FAIL and "literal" in methods.summary
    headers = report["cors.preflight.headers"]
    assert headers.status is Status.FAIL and "literal header name" in headers.detail


async def test_authorization_never_covered_by_star(bad: str) -> None:
    report = await cors.preflight(
        f"{bad}/wild", FRONT, method="PUT", headers=["Authorization", "X-Other"]
    )
    headers = report["cors.preflight.headers"]
    assert headers.status is Status.FAIL
    assert headers.data["missing"] == ["authorization"]
    assert "Authorization is never covered by *" in headers.detail
    assert report["cors.preflight.methods"].status is Status.OK


async def test_echo_without_vary(bad: str) -> None:
    report = await cors.preflight(f"{bad}/novary", FRONT, headers=["Authorization"])
    assert report["cors.preflight.origin"].status is Status.OK
    assert report["cors.preflight.vary"].status is Status.WARN
    assert report["cors.request.vary"].status is Status.WARN


async def test_credentials_flag_is_case_sensitive(bad: str) -> None:
    report = await cors.preflight(
        f"{bad}/cred-case", FRONT, headers=["Authorization"], credentials=True
    )
    finding = report["cors.preflight.credentials"]
    assert finding.status is Status.FAIL and "True" in finding.summary


async def test_max_age_capped_by_browsers(bad: str) -> None:
    report = await cors.preflight(f"{bad}/maxage", FRONT, headers=["Authorization"])
    finding = report["cors.preflight.max_age"]
    assert finding.data["effective_s"] == {"Chromium": 7200, "Firefox": 86400}
    assert (
        "Chromium caps it at 7200 s" in finding.summary
        and "Firefox caps it at 86400 s" in finding.summary
    )
    default = (await cors.preflight(f"{bad}/novary", FRONT, headers=["Authorization"]))[
        "cors.preflight.max_age"
    ]
    assert default.data["effective_s"]["Chromium"] == 5


# -- inputs, transport, diagnose --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin", "method", "expect"),
    [
        ("not a url", FRONT, "GET", "scheme must be http"),
        ("http://127.0.0.1:99999/x", FRONT, "GET", "cannot parse"),
        ("http://127.0.0.1:1/x", "http://localhost:3000/", "GET", "no trailing slash"),
        ("http://127.0.0.1:1/x", "http://localhost:3000/app", "GET", "no path"),
        (
            "http://127.0.0.1:1/x",
            "HTTP://LOCALHOST:80",
            "GET",
            "browsers send it as http://localhost",
        ),
        ("http://127.0.0.1:1/x", FRONT, "GET X", "not a method"),
        ("http://127.0.0.1:1/x", FRONT, "TRACE", "not a method"),
    ],
)
async def test_malformed_input_is_a_finding(
    url: str, origin: str, method: str, expect: str
) -> None:
    report = await cors.preflight(url, origin, method=method)
    assert report["cors.input"].status is Status.FAIL
    assert expect in report["cors.input"].summary


async def test_misuse_raises() -> None:
    with pytest.raises(TypeError, match="both must be strings"):
        await cors.preflight(b"http://x", FRONT)  # type: ignore[arg-type]


async def test_same_origin(strict: str) -> None:
    report = await cors.preflight(f"{strict}/items", strict, headers=["Authorization"])
    assert report["cors.same_origin"].status is Status.OK
    assert report.get("cors.preflight") is None


async def test_refused_and_hung(refused_port: int, silent_server: Any) -> None:
    refused = await cors.preflight(f"http://127.0.0.1:{refused_port}/x", FRONT, timeout=2)
    assert "cannot connect" in refused["cors.preflight"].summary
    started = time.perf_counter()
    hung = await cors.preflight(f"http://127.0.0.1:{silent_server.port}/x", FRONT, timeout=0.6)
    assert time.perf_counter() - started < 0.6 + 0.3
    assert "within 0.6 s" in hung["cors.preflight"].summary


async def test_secret_header_values_stay_masked(generous: str) -> None:
    report = await cors.preflight(
        f"{generous}/items", FRONT, headers={"Authorization": "Bearer sup3r-s3cret-token-value"}
    )
    assert "sup3r-s3cret-token-value" not in str(report) + report.to_json()


async def test_diagnose_builder(strict: str, no_cors: str) -> None:
    from svc_nb._diagnose import _builders

    builder = _builders["cors"][1]
    skipped = await builder({}, 2.0)
    assert isinstance(skipped, Finding) and "SVC_NB_SERVICE_URL" in skipped.summary
    no_origins = await builder({"SVC_NB_SERVICE_URL": f"{no_cors}/items"}, 2.0)
    assert isinstance(no_origins, Finding) and "no CORS middleware at all" in no_origins.detail
    ran = await builder({"SVC_NB_SERVICE_URL": f"{strict}/items", "CORS_ALLOW_ORIGINS": FRONT}, 2.0)
    assert isinstance(ran, Report)
    # the SPA call (Authorization + JSON) is refused by the strict app: authorization not allowed
    assert ran["cors.preflight.headers"].data["missing"] == ["authorization"]
    from svc_nb._diagnose import registered_checks

    assert "cors" in registered_checks()


# -- causes ---------------------------------------------------------------------------


async def test_non_ok_findings_carry_their_cause(strict: str, no_cors: str, bad: str) -> None:
    disallowed = await cors.preflight(
        f"{strict}/items", "http://evil.test:8080", headers=["Authorization"]
    )
    assert disallowed["cors.preflight"].cause == "preflight_rejected"
    assert disallowed["cors.preflight.origin"].cause == "origin_not_allowed"
    assert disallowed["cors.preflight.headers"].cause == "header_not_allowed"
    method = await cors.preflight(f"{strict}/items", FRONT, method="PUT")
    assert method["cors.preflight.methods"].cause == "method_not_allowed"
    assert method["cors.request"].cause == "request_not_sent"
    credentials = await cors.preflight(f"{strict}/items", FRONT, credentials=True)
    assert credentials["cors.request.credentials"].cause == "credentials_not_allowed"
    assert (await cors.preflight(f"{no_cors}/items", FRONT, headers=["Authorization"]))[
        "cors.preflight"
    ].cause == "no_cors_middleware"
    boom = (await cors.preflight(f"{strict}/boom", FRONT))["cors.request"]
    assert boom.cause == cors.CorsCause.MISSING_ON_ERROR
    assert "a 500 without CORS headers" in cors.CorsCause.MISSING_ON_ERROR.description.replace(
        "a 5xx answered", "a 500"
    )
    assert (await cors.preflight(f"{bad}/multi", FRONT))[
        "cors.request.origin"
    ].cause == "multiple_origins"
    null = await cors.preflight(f"{bad}/null", FRONT)
    assert null["cors.request.origin"].cause == "origin_mismatch"
    sandboxed = await cors.preflight(f"{bad}/null", "null")
    assert sandboxed["cors.request.origin"].cause == "null_origin_allowed"
    assert (await cors.preflight(f"{bad}/redirect", FRONT, headers=["Authorization"]))[
        "cors.preflight"
    ].cause == "preflight_redirect"
    assert (await cors.preflight(f"{bad}/error", FRONT, method="DELETE"))[
        "cors.preflight"
    ].cause == "preflight_status"
    star = await cors.preflight(
        f"{bad}/star-cred", FRONT, method="PUT", headers=["X-Custom"], credentials=True
    )
    assert {
        star[c].cause
        for c in ("cors.preflight.origin", "cors.preflight.methods", "cors.preflight.headers")
    } == {"wildcard_with_credentials"}
    wild = await cors.preflight(f"{bad}/wild", FRONT, method="PUT", headers=["Authorization"])
    assert wild["cors.preflight.headers"].cause == "authorization_not_covered"
    novary = await cors.preflight(f"{bad}/novary", FRONT, headers=["Authorization"])
    assert novary["cors.preflight.vary"].cause == "missing_vary_origin"
    odd = await cors.preflight(f"{bad}/maxage-odd", FRONT, headers=["Authorization"])
    assert odd["cors.preflight.max_age"].cause == "max_age_invalid"
    for finding in [*disallowed, *method, *credentials, *star, *wild, *novary, *odd]:
        assert (finding.cause is None) == (finding.status is Status.OK), finding


async def test_transport_failures_carry_shared_causes(
    refused_port: int, silent_server: Any
) -> None:
    refused = await cors.preflight(f"http://127.0.0.1:{refused_port}/x", FRONT, timeout=2)
    assert refused["cors.preflight"].cause == "connect_failed"
    assert "exception" not in refused["cors.preflight"].data
    hung = await cors.preflight(f"http://127.0.0.1:{silent_server.port}/x", FRONT, timeout=0.5)
    assert hung["cors.preflight"].cause == "timeout"


async def test_diagnose_skips_carry_causes() -> None:
    from svc_nb._diagnose import _builders

    builder = _builders["cors"][1]
    assert (await builder({}, 1.0)).cause == "not_configured"  # type: ignore[union-attr]
    no_origins = await builder({"SVC_NB_SERVICE_URL": "http://127.0.0.1:1/x"}, 1.0)
    assert no_origins.cause == "no_origins"  # type: ignore[union-attr]


# -- input no browser could send: a finding or a clear error, never a traceback --------------


@pytest.mark.parametrize(
    ("path", "expect"),
    [
        pytest.param("/items\r\nX-Injected: 1", "control character", id="crlf"),
        pytest.param("/items\x00", "control character", id="nul"),
        pytest.param("/items\n", "control character", id="trailing-lf"),
        pytest.param("/" + "a" * 70_000, "70,", id="70KB-path"),
    ],
)
async def test_bad_urls_are_input_findings(strict: str, path: str, expect: str) -> None:
    report = await cors.preflight(f"{strict}{path}", FRONT)
    finding = report["cors.input"]
    assert finding.status is Status.FAIL and finding.cause == "bad_url"
    assert expect in finding.summary
    assert len(finding.summary) < 400  # the 70 KB URL is not echoed whole


async def test_international_origin_is_named_as_browsers_send_it(strict: str) -> None:
    report = await cors.preflight(f"{strict}/items", "https://ü.com")
    finding = report["cors.input"]
    assert finding.cause == "bad_origin"
    assert "https://xn--tda.com" in finding.summary
    assert cors.check_origin("https://xn--tda.com") is None
    # and the punycode origin itself is probed normally
    assert (await cors.preflight(f"{strict}/items", "https://xn--tda.com")).get(
        "cors.input"
    ) is None


@pytest.mark.parametrize(
    ("origin", "expect"),
    [
        ("http://localhost:3000\x00", "control character"),
        ("http://a\r\n.test", "control character"),
        pytest.param("https://" + "ü" * 300 + ".com", "DNS names", id="300-char-idn"),
    ],
)
async def test_bad_origins_are_input_findings(strict: str, origin: str, expect: str) -> None:
    finding = (await cors.preflight(f"{strict}/items", origin))["cors.input"]
    assert finding.cause == "bad_origin" and expect in finding.summary


@pytest.mark.parametrize(
    ("headers", "expect"),
    [
        ({"X-Note": "a\r\nX-Injected: 1"}, "control character"),
        ({"X-Note": "a\x00b"}, "control character"),
        ({"X-Note": "naïve"}, "non-ASCII"),
        ({"X-Bad Name": "1"}, "not a valid header name"),
        ([("X-A\nX-B", "1")], "not a valid header name"),
    ],
)
async def test_bad_headers_are_input_findings(strict: str, headers: Any, expect: str) -> None:
    finding = (await cors.preflight(f"{strict}/items", FRONT, headers=headers, send_actual=True))[
        "cors.input"
    ]
    assert finding.cause == "bad_header" and expect in finding.summary


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        ("1", TypeError),
        (None, TypeError),
        (True, TypeError),
        (0, ValueError),
        (-1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
    ],
)
async def test_bad_timeouts_raise_at_once(
    silent_server: Any, timeout: Any, error: type[Exception]
) -> None:
    from svc_nb import SvcNbError

    started = time.perf_counter()
    with pytest.raises(error, match="timeout") as info:
        await cors.preflight(f"http://127.0.0.1:{silent_server.port}/x", FRONT, timeout=timeout)
    assert time.perf_counter() - started < 0.5
    assert isinstance(info.value, SvcNbError)


async def test_wrong_argument_types_raise_svc_nb_errors() -> None:
    from svc_nb import SvcNbError

    with pytest.raises(TypeError, match="headers must be") as info:
        await cors.preflight("http://127.0.0.1:1/x", FRONT, headers=5)
    assert isinstance(info.value, SvcNbError)
    with pytest.raises(TypeError, match="method must be") as info:
        await cors.preflight("http://127.0.0.1:1/x", FRONT, method=None)  # type: ignore[arg-type]
    assert isinstance(info.value, SvcNbError)


def test_rules_stay_linear_on_megabyte_input() -> None:
    big = "a" * 1_000_000
    started = time.perf_counter()
    assert cors.check_origin("https://" + big) is None  # long, but a syntactically valid origin
    assert cors.check_origin("https://" + big + "/") is not None
    assert cors.check_origin("https://" + "ü" * 1_000_000) is not None
    assert cors.needs_preflight("GET", {"Accept-Language": big})
    assert cors.needs_preflight("GET", {"Range": "bytes=" + "1" * 1_000_000 + "-x"})
    assert cors.unsafe_header_names([big + ": 1"]) == [big]
    assert len(cors.parse_origins_env(",".join(["http://a.test"] * 50_000))) == 50_000
    assert time.perf_counter() - started < 2.0
