"""Judging what the server answered, like a browser: each rule names a cause,
and one table per check turns the cause into the text a user reads."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Status
from svc_nb.cors._causes import CorsCause as C
from svc_nb.cors._rules import SIMPLE_METHODS, split_header_list

__all__ = [
    "BROWSER_MAX_AGE_CAP",
    "DEFAULT_MAX_AGE",
    "allow_origin_findings",
    "headers_finding",
    "max_age_finding",
    "methods_finding",
    "preflight_status_finding",
    "request_findings",
]

# What browsers cap Access-Control-Max-Age to (seconds); the default when absent is 5 s.
BROWSER_MAX_AGE_CAP = {"Chromium": 7200, "Firefox": 86400}
DEFAULT_MAX_AGE = 5
# Headers every request may carry: listing them in Access-Control-Allow-Headers is never needed.
_ALWAYS_SAFELISTED = frozenset({"*", "accept", "accept-language", "content-language"})

_FIX_ORIGIN = (
    "Allow the origin in svc-infra: CORS_ALLOW_ORIGINS={origin}  (comma-separated exact origins: "
    "scheme://host[:port], no path, no trailing slash)\n"
    'or in code: add_security(app, cors_origins=["{origin}"])\n'
    "or a pattern: CORS_ALLOW_ORIGIN_REGEX='https://.*\\.example\\.com'\n"
    "With no origins at all svc-infra adds no CORS middleware."
)
_FIX_CREDENTIALS = (
    "CORS_ALLOW_CREDENTIALS=true, or add_security(app, cors_origins=[…], allow_credentials=True) "
    "— not the guide's cors_credentials=True, which add_security rejects with a TypeError."
)
_F = Status.FAIL

_ORIGIN: dict[C, Explanation] = {
    C.ORIGIN_NOT_ALLOWED: Explanation(
        _F,
        "no Access-Control-Allow-Origin: the browser blocks the response",
        "The server did not allow {origin}. Either the origin is not in the allowed list, or no "
        "CORS middleware runs at all (svc-infra adds none when CORS_ALLOW_ORIGINS is empty), or "
        "the response came from outside it (a proxy, an error page). The comparison is exact: "
        "http vs https, the port, or a trailing slash in CORS_ALLOW_ORIGINS all make it fail.",
        _FIX_ORIGIN,
    ),
    C.MULTIPLE_ORIGINS: Explanation(
        _F,
        "Access-Control-Allow-Origin holds several origins ({shown})",
        "The header must carry exactly one origin (or *); browsers reject a list. Servers that "
        "allow several origins must echo the one in the request's Origin.",
        "Let the CORS middleware echo the request origin: list them in CORS_ALLOW_ORIGINS, and "
        "remove any hand-set Access-Control-Allow-Origin header (proxy config, add_header, a "
        "custom middleware).\n" + _FIX_ORIGIN,
    ),
    C.WILDCARD_WITH_CREDENTIALS: Explanation(
        _F,
        "Access-Control-Allow-Origin is * but the request sends credentials",
        "With cookies or HTTP auth the browser requires the exact origin; * is rejected.",
        "List the origin explicitly: CORS_ALLOW_ORIGINS={origin} (not *), with "
        "CORS_ALLOW_CREDENTIALS=true.",
    ),
    C.NULL_ORIGIN_ALLOWED: Explanation(
        Status.WARN,
        "Access-Control-Allow-Origin: null matches, but it is unsafe",
        "Every sandboxed iframe, data: URL and file:// page sends Origin: null, so allowing null "
        "allows all of them.",
        "Serve the page from a real origin and allow that one instead of null.",
    ),
    C.ORIGIN_MISMATCH: Explanation(
        _F, "Access-Control-Allow-Origin is {allowed}, not {origin}", "{hint}", _FIX_ORIGIN
    ),
    C.MISSING_VARY_ORIGIN: Explanation(
        Status.WARN,
        "origin echoed without Vary: Origin",
        "A cache (CDN, proxy, the browser) may serve this answer to another origin, which then "
        "fails CORS intermittently.",
        "Add Vary: Origin where the header is set (Starlette's CORSMiddleware, which svc-infra "
        "uses, does this itself).",
    ),
    C.CREDENTIALS_NOT_ALLOWED: Explanation(
        _F,
        "Access-Control-Allow-Credentials is {shown}; with credentials it must be exactly 'true'",
        "Without it the browser hides the response from a fetch(…, {{credentials: 'include'}}).",
        _FIX_CREDENTIALS,
    ),
}
_METHODS: dict[C, Explanation] = {
    C.WILDCARD_WITH_CREDENTIALS: Explanation(
        _F,
        "method {method} not allowed: * is literal when credentials are sent",
        "With credentials, browsers read Access-Control-Allow-Methods: * as a method named '*'.",
        "List the methods explicitly: {fix}",
    ),
    C.METHOD_NOT_ALLOWED: Explanation(
        _F,
        "method {method} not in Access-Control-Allow-Methods ({allowed})",
        "The browser stops at the preflight and never sends the request.{hint}",
        "{fix}",
    ),
}
_HEADERS: dict[C, Explanation] = {
    C.WILDCARD_WITH_CREDENTIALS: Explanation(
        _F,
        "header(s) not allowed: {missing}",
        "With credentials, * in Access-Control-Allow-Headers is a literal header name.",
        "{fix}",
    ),
    C.AUTHORIZATION_NOT_COVERED: Explanation(
        _F,
        "header(s) not allowed: {missing}",
        "Authorization is never covered by *: it must be listed by name.",
        "{fix}",
    ),
    C.HEADER_NOT_ALLOWED: Explanation(
        _F,
        "header(s) not allowed: {missing}",
        "The browser stops at the preflight and never sends the request.",
        "{fix}",
    ),
}
_MAX_AGE: dict[C, Explanation] = {
    C.MAX_AGE_INVALID: Explanation(
        Status.WARN,
        "Access-Control-Max-Age {raw} is not a number of seconds: browsers ignore it",
        fix="Send a non-negative integer, e.g. Access-Control-Max-Age: 600.",
    ),
}
_PREFLIGHT: dict[C, Explanation] = {
    C.PREFLIGHT_REDIRECT: Explanation(
        _F,
        "preflight answered with a redirect ({code} → {location})",
        "Browsers treat a redirected preflight as a network error. Common causes: a missing or "
        "extra trailing slash (FastAPI's redirect_slashes), http → https, or a login redirect.",
        "Call the final URL directly from the page (the Location above), without a redirect.",
    ),
    C.PREFLIGHT_REJECTED: Explanation(
        _F,
        "preflight rejected by the CORS middleware: {rejected} not allowed",
        "Starlette's CORSMiddleware (svc-infra's) answered {code} {body}.",
        "See the findings below for the exact knob to change.",
    ),
    C.NO_CORS_MIDDLEWARE: Explanation(
        _F,
        "preflight answered {code}: no CORS middleware handled the OPTIONS request",
        "The route itself answered the OPTIONS request. svc-infra installs its CORS middleware "
        "only when there are origins to allow: with CORS_ALLOW_ORIGINS empty (and no "
        "cors_origins=… in add_security) there is none.",
        "Set CORS_ALLOW_ORIGINS=<your front-end origin>, or add_security(app, cors_origins=[…]).",
    ),
    C.PREFLIGHT_STATUS: Explanation(
        _F,
        "preflight answered {code}: browsers need a 2xx",
        "An OPTIONS request failing with this status (an auth middleware before CORS, a crash, a "
        "proxy) makes the browser report a CORS error.",
        "Make OPTIONS reach the CORS middleware first: add it last (outermost), and let "
        "proxies/auth pass OPTIONS through unauthenticated.",
    ),
}
_REQUEST: dict[C, Explanation] = {
    C.MISSING_ON_ERROR: Explanation(
        _F,
        "request answered {code} without CORS headers: the browser shows a CORS error for a server error",
        "Unhandled exceptions are answered outside the CORS middleware (Starlette's error "
        "middleware sits outside it), so the 500 has no Access-Control-Allow-Origin and the real "
        "error is hidden from the page.{note}",
        "Fix the server error first (see the service logs); the CORS error will go away with it.",
    ),
    C.SERVER_ERROR: Explanation(
        Status.WARN,
        "request answered {code}",
        "The CORS headers are there, so the page sees the error itself.{note}",
        "Fix the server error (see the service logs).",
    ),
    C.REQUEST_REDIRECT: Explanation(
        Status.WARN,
        "request answered with a redirect ({code})",
        "The browser follows it and needs CORS headers on every hop; call the final URL.{note}",
        "Call the final URL (the Location header) directly.",
    ),
}


def _judged(
    check: str, cause: C, table: Mapping[C, Explanation], soft: bool, **fields: Any
) -> Finding:
    """``explain`` where a failure of a preflight the browser will not send is only a warning."""
    status = Status.WARN if soft and table[cause].status is Status.FAIL else None
    return explain(check, cause, table, status=status, **fields)


def _values(headers: Any, name: str) -> list[str]:
    return [item for line in headers.get_list(name) for item in split_header_list(line)]


def _mismatch_hint(allowed: str, origin: str) -> str:
    if allowed == "null":
        return "'null' only matches opaque origins (sandboxed iframes, file://), and is unsafe."
    a, o = allowed.rstrip("/").lower(), origin.lower()
    if a == o:
        return "They differ only in case or a trailing slash; the comparison is exact."
    try:
        pa, po = urllib.parse.urlsplit(a), urllib.parse.urlsplit(o)
        pa.port, po.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "The server's value is not a valid origin at all."
    if pa.hostname == po.hostname and pa.scheme != po.scheme:
        return "The scheme differs (http vs https): an origin includes the scheme."
    if pa.hostname == po.hostname and pa.port != po.port:
        return "The port differs: an origin includes the port."
    return "The comparison is exact: scheme, host and port must all match."


def _origin_cause(values: list[str], origin: str, credentials: bool) -> C | None:
    """The Fetch CORS check on Access-Control-Allow-Origin: None when it passes."""
    if not values:
        return C.ORIGIN_NOT_ALLOWED
    if len(values) > 1 or "," in values[0]:
        return C.MULTIPLE_ORIGINS
    value = values[0].strip()
    if value == "*":
        return C.WILDCARD_WITH_CREDENTIALS if credentials else None
    if value == "null" and origin == "null":
        return C.NULL_ORIGIN_ALLOWED
    return None if value == origin else C.ORIGIN_MISMATCH


def _vary_finding(prefix: str, headers: Any) -> Finding | None:
    vary = {v.lower() for v in _values(headers, "vary")}
    if "origin" in vary or "*" in vary:
        return None
    return explain(f"{prefix}.vary", C.MISSING_VARY_ORIGIN, _ORIGIN)


def _credentials_finding(prefix: str, headers: Any, soft: bool) -> Finding:
    acac = headers.get_list("access-control-allow-credentials")
    if acac == ["true"]:
        return Finding(f"{prefix}.credentials", Status.OK, "credentials allowed")
    shown = ", ".join(acac) if acac else "absent"
    return _judged(f"{prefix}.credentials", C.CREDENTIALS_NOT_ALLOWED, _ORIGIN, soft, shown=shown)


def allow_origin_findings(
    prefix: str, headers: Any, origin: str, credentials: bool, soft: bool
) -> list[Finding]:
    """The CORS check (Access-Control-Allow-Origin and -Credentials) and Vary on one answer."""
    values = headers.get_list("access-control-allow-origin")
    cause = _origin_cause(values, origin, credentials)
    check = f"{prefix}.origin"
    findings: list[Finding] = []
    if cause is None:
        echoed = values[0].strip() != "*"
        summary = f"origin {origin} allowed" if echoed else "any origin allowed (*)"
        findings.append(Finding(check, Status.OK, summary))
        vary = _vary_finding(prefix, headers) if echoed else None
        if vary is not None:
            findings.append(vary)
    else:
        allowed = values[0].strip() if values else ""
        data = (
            {"values": values}
            if cause is C.MULTIPLE_ORIGINS
            else {"allowed": allowed}
            if allowed
            else {}
        )
        findings.append(
            _judged(
                check,
                cause,
                _ORIGIN,
                soft,
                data=data,
                origin=origin,
                allowed=allowed,
                shown=", ".join(values),
                hint=_mismatch_hint(allowed, origin),
            )
        )
    if credentials:
        findings.append(_credentials_finding(prefix, headers, soft))
    return findings


def methods_finding(headers: Any, method: str, credentials: bool, soft: bool) -> Finding:
    allowed = _values(headers, "access-control-allow-methods")
    data = {"allowed": allowed, "method": method}
    check = "cors.preflight.methods"
    if method in SIMPLE_METHODS or method in allowed:
        return Finding(check, Status.OK, f"method {method} allowed", data=data)
    if "*" in allowed and not credentials:
        return Finding(check, Status.OK, f"method {method} allowed by *", data=data)
    fix = f"CORS_ALLOW_METHODS={','.join(sorted({*(a for a in allowed if a != '*'), method.upper()}))}"
    cause = C.WILDCARD_WITH_CREDENTIALS if "*" in allowed else C.METHOD_NOT_ALLOWED
    hint = ""
    if method.upper() in allowed:
        hint = (
            f" The match is case-sensitive: the page sends {method!r}; write it as method: 'PATCH'."
        )
    return _judged(
        check,
        cause,
        _METHODS,
        soft,
        data=data,
        method=method,
        allowed=", ".join(allowed) or "absent",
        hint=hint,
        fix=fix,
    )


def headers_finding(headers: Any, requested: list[str], credentials: bool, soft: bool) -> Finding:
    allowed = [h.lower() for h in _values(headers, "access-control-allow-headers")]
    check = "cors.preflight.headers"
    data: dict[str, Any] = {"allowed": allowed, "requested": requested}
    if not requested:
        return Finding(check, Status.OK, "no non-safelisted request headers", data=data)
    wildcard = "*" in allowed and not credentials
    missing = [h for h in requested if h not in allowed and not (wildcard and h != "authorization")]
    if not missing:
        return Finding(check, Status.OK, f"headers allowed: {', '.join(requested)}", data=data)
    if "*" in allowed and credentials:
        cause = C.WILDCARD_WITH_CREDENTIALS
    elif "*" in allowed and "authorization" in missing:
        cause = C.AUTHORIZATION_NOT_COVERED
    else:
        cause = C.HEADER_NOT_ALLOWED
    want = sorted({*(a for a in allowed if a not in _ALWAYS_SAFELISTED), *requested})
    fix = f"CORS_ALLOW_HEADERS={','.join(want)}  (or add_security(…) with these headers allowed)"
    return _judged(
        check,
        cause,
        _HEADERS,
        soft,
        data={**data, "missing": missing},
        missing=", ".join(missing),
        fix=fix,
    )


def max_age_finding(headers: Any) -> Finding:
    raw = headers.get("access-control-max-age")
    check = "cors.preflight.max_age"
    if raw is None:
        return Finding(
            check,
            Status.OK,
            f"no Access-Control-Max-Age: browsers cache the preflight for {DEFAULT_MAX_AGE} s",
            detail="Every request after that pays a preflight round trip again.",
            fix="Optional: set max_age on the CORS middleware (Starlette's default is 600 s).",
            data={
                "max_age": None,
                "effective_s": dict.fromkeys(BROWSER_MAX_AGE_CAP, DEFAULT_MAX_AGE),
            },
        )
    text = raw.strip()
    # isdigit() alone accepts '²' and other scripts' digits, which int() then refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return explain(
            check, C.MAX_AGE_INVALID, _MAX_AGE, data={"max_age": raw[:100]}, raw=repr(raw[:100])
        )
    value = int(text)
    effective = {browser: min(value, cap) for browser, cap in BROWSER_MAX_AGE_CAP.items()}
    capped = [f"{b} caps it at {cap} s" for b, cap in BROWSER_MAX_AGE_CAP.items() if value > cap]
    summary = f"preflight cached for {value} s" + (" (" + "; ".join(capped) + ")" if capped else "")
    if value == 0:
        summary = "Access-Control-Max-Age is 0: every request is preflighted"
    return Finding(check, Status.OK, summary, data={"max_age": value, "effective_s": effective})


def _body_start(response: Any) -> str:
    try:
        return str(response.text[:200])
    except Exception:  # an undecodable body says nothing useful here
        return ""


def preflight_status_finding(response: Any, soft: bool, latency_ms: float) -> Finding:
    code = response.status_code
    data: dict[str, Any] = {"status_code": code, "latency_ms": latency_ms}
    check = "cors.preflight"
    if 200 <= code < 300:
        return Finding(check, Status.OK, f"preflight answered {code}", data=data)
    if 300 <= code < 400:
        location = response.headers.get("location", "")
        return _judged(
            check,
            C.PREFLIGHT_REDIRECT,
            _PREFLIGHT,
            soft,
            data={**data, "location": location},
            code=code,
            location=mask_url(location) or "?",
        )
    body = _body_start(response)
    if body.startswith("Disallowed CORS"):
        parts = [p.strip() for p in body[len("Disallowed CORS") :].split(",") if p.strip()]
        return _judged(
            check,
            C.PREFLIGHT_REJECTED,
            _PREFLIGHT,
            soft,
            data={**data, "rejected": parts},
            code=code,
            body=repr(body),
            rejected=", ".join(parts),
        )
    if code in (404, 405) and not response.headers.get("access-control-allow-origin"):
        return _judged(check, C.NO_CORS_MIDDLEWARE, _PREFLIGHT, soft, data=data, code=code)
    return _judged(check, C.PREFLIGHT_STATUS, _PREFLIGHT, soft, data=data, code=code)


def request_findings(
    response: Any, origin: str, credentials: bool, needed: bool, preflight_ok: bool
) -> list[Finding]:
    """The request itself: its status, then the CORS check on its answer."""
    code = response.status_code
    data: dict[str, Any] = {"status_code": code}
    note = ""
    if needed and not preflight_ok:
        note = " A browser would have stopped at the failed preflight; svc_nb sent it anyway to show the answer."
    has_cors = bool(response.headers.get_list("access-control-allow-origin"))
    if code >= 500 and not has_cors:
        return [
            explain("cors.request", C.MISSING_ON_ERROR, _REQUEST, data=data, code=code, note=note)
        ]
    if code >= 500:
        head = explain("cors.request", C.SERVER_ERROR, _REQUEST, data=data, code=code, note=note)
    elif 300 <= code < 400:
        data["location"] = response.headers.get("location", "")
        head = explain(
            "cors.request", C.REQUEST_REDIRECT, _REQUEST, data=data, code=code, note=note
        )
    else:
        head = Finding(
            "cors.request", Status.OK, f"request answered {code}", detail=note.strip(), data=data
        )
    return [
        head,
        *allow_origin_findings("cors.request", response.headers, origin, credentials, False),
    ]
