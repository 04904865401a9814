"""``compare_redirect_uris``: does the redirect URI the app sent match a registered one, and if not, why.

Authorization servers compare redirect URIs as exact strings (RFC 6749 §3.1.2,
RFC 9700 §4.1.3); the only exception is the port of a loopback IP redirect
(RFC 8252 §7.3). Each difference is classified by a small function per URI part
and explained from one table.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Report, Status
from svc_nb.oauth._causes import OAuthCause as C
from svc_nb.oauth._uri import Uri, clip, diff_view, parse_uri, shown_uri, similarity

__all__ = ["PROXY_FIX", "compare_redirect_uris"]

PROXY_FIX = (
    "svc-infra builds the callback with request.url_for(...), which uses the scheme and host "
    "the app server sees. Behind a TLS-terminating proxy run uvicorn with "
    "`--proxy-headers --forwarded-allow-ips=<proxy IP or '*'>` (or set FORWARDED_ALLOW_IPS) "
    "and make the proxy send X-Forwarded-Proto/X-Forwarded-Host, so the callback is https://."
)
# How much of a URI the report keeps in its data (a pasted URI can be megabytes long).
_DATA_CHARS = 2000

_F = Status.FAIL
_DIFFERENCE: dict[C, Explanation] = {
    C.SCHEME_DOWNGRADED: Explanation(
        _F,
        "the app sent http:// but https:// is registered — typical behind a TLS-terminating "
        "proxy that does not forward the original scheme",
        fix=PROXY_FIX,
    ),
    C.SCHEME_CASE: Explanation(
        _F,
        "scheme case differs: {got_scheme} vs registered {reg_scheme}",
        fix="Use {reg_scheme} exactly.",
    ),
    C.SCHEME_DIFFERS: Explanation(
        _F,
        "scheme {got_scheme} vs registered {reg_scheme}",
        fix="Use the scheme {reg_scheme} in the redirect URI, or register the {got_scheme} one.",
    ),
    C.USERINFO_DIFFERS: Explanation(
        _F, "user info before '@' differs", fix="Remove user info from redirect URIs."
    ),
    C.HOST_CASE: Explanation(
        _F,
        "host case differs: {got_host} vs registered {reg_host}",
        fix="Providers compare the string exactly: use the registered spelling.",
    ),
    C.WWW_DIFFERS: Explanation(
        _F,
        "the app used the host {www} 'www.': {got_host} vs registered {reg_host}",
        fix="Redirect every visitor to one canonical host before login, or register both hosts.",
    ),
    C.LOOPBACK_HOST_DIFFERS: Explanation(
        _F,
        "loopback host spelled differently: {got_host} vs registered {reg_host}",
        fix="localhost, 127.0.0.1 and [::1] are different strings (and different cookie hosts): "
        "use the registered one everywhere, preferably 127.0.0.1 (RFC 8252 §8.3).",
    ),
    C.HOST_DIFFERS: Explanation(
        _F,
        "host {got_host} vs registered {reg_host}",
        fix="Register the received URI at the provider, or make the app use {reg_host}.",
    ),
    C.DEFAULT_PORT: Explanation(
        _F,
        "explicit default port :{default_port} on one side only ({got_port} vs registered {reg_port})",
        fix="Drop the default port (:443 for https, :80 for http); a forwarded Host header with a "
        "port often causes this.",
    ),
    C.PORT_DIFFERS: Explanation(
        _F,
        "port {got_port} vs registered {reg_port}",
        fix="Use the registered port, or register this one.",
    ),
    C.TRAILING_SLASH: Explanation(
        _F,
        "trailing slash differs: {got_path} vs registered {reg_path}",
        fix="Make the route and the registration agree on the trailing slash (FastAPI redirects "
        "one to the other).",
    ),
    C.PERCENT_ENCODING: Explanation(
        _F,
        "percent-encoding differs: {got_path} vs registered {reg_path}",
        fix="Register the URI exactly as the app sends it (same escapes, same hex case).",
    ),
    C.PATH_CASE: Explanation(
        _F,
        "path case differs: {got_path} vs registered {reg_path}",
        fix="Paths are case-sensitive: use the registered spelling.",
    ),
    C.PATH_DIFFERS: Explanation(
        _F,
        "path {got_path} vs registered {reg_path}",
        fix="Mount the callback route at the registered path, or register this path "
        "(check root_path / a path prefix added by the proxy).",
    ),
    C.QUERY_PERCENT_ENCODING: Explanation(
        _F,
        "query percent-encoding differs: {got_query} vs {reg_query}",
        fix="Register the query exactly as sent.",
    ),
    C.QUERY_DIFFERS: Explanation(
        _F,
        "query {got_query} vs registered {reg_query}",
        fix="Keep dynamic values out of the redirect URI: carry them in `state` instead.",
    ),
    C.FRAGMENT_IN_URI: Explanation(
        _F,
        "{fragment_side} carries a fragment (#...), which is never allowed",
        fix="Register and send the URI without '#...'.",
    ),
}
# The difference's name in data["differences"] and in the check id oauth.redirect_uri.<name>.
_NAME: dict[C, str] = {
    C.SCHEME_DOWNGRADED: "scheme",
    C.SCHEME_CASE: "scheme",
    C.SCHEME_DIFFERS: "scheme",
    C.USERINFO_DIFFERS: "userinfo",
    C.HOST_CASE: "host_case",
    C.WWW_DIFFERS: "www",
    C.LOOPBACK_HOST_DIFFERS: "host",
    C.HOST_DIFFERS: "host",
    C.DEFAULT_PORT: "default_port",
    C.PORT_DIFFERS: "port",
    C.TRAILING_SLASH: "trailing_slash",
    C.PERCENT_ENCODING: "percent_encoding",
    C.PATH_CASE: "path_case",
    C.PATH_DIFFERS: "path",
    C.QUERY_PERCENT_ENCODING: "percent_encoding",
    C.QUERY_DIFFERS: "query",
    C.FRAGMENT_IN_URI: "fragment",
}
_REPORT: dict[C, Explanation] = {
    C.REDIRECT_URI_INVALID: Explanation(
        _F,
        "the received redirect URI is invalid: {error}",
        "received: {received}",
        "Pass the full redirect_uri from the authorization request (scheme://host/path).",
    ),
    C.FRAGMENT_IN_URI: Explanation(
        _F,
        "the received redirect URI contains a fragment (#...)",
        "RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment component.",
        "Remove everything from '#' on; put client-side routing data in `state`.",
    ),
    C.REDIRECT_URI_MISMATCH: Explanation(
        _F,
        "no registered redirect URI matches (differences: {names})",
        "{closest}\nreceived: {received}\n{where}Providers compare the whole string exactly "
        "(RFC 6749 §3.1.2, RFC 9700 §4.1.3); the error usually reads redirect_uri_mismatch.",
        "Fix the first difference below, or register the received URI exactly.",
    ),
    C.PLAIN_HTTP: Explanation(
        Status.WARN,
        "the received redirect URI uses plain http on a non-loopback host",
        "RFC 9700 §2.6 requires https for redirect URIs except loopback; most providers reject it.",
        PROXY_FIX,
    ),
}


# -- one classifier per URI part: the cause of its difference, or None --------------------


def _scheme(reg: Uri, got: Uri) -> C | None:
    if reg.scheme == got.scheme:
        return None
    registered, received = reg.scheme.lower(), got.scheme.lower()
    if (registered, received) == ("https", "http"):
        return C.SCHEME_DOWNGRADED
    return C.SCHEME_CASE if registered == received else C.SCHEME_DIFFERS


def _userinfo(reg: Uri, got: Uri) -> C | None:
    return None if reg.userinfo == got.userinfo else C.USERINFO_DIFFERS


def _host(reg: Uri, got: Uri) -> C | None:
    if reg.host == got.host:
        return None
    registered, received = reg.host.lower(), got.host.lower()
    if registered == received:
        return C.HOST_CASE
    if registered.removeprefix("www.") == received.removeprefix("www."):
        return C.WWW_DIFFERS
    return C.LOOPBACK_HOST_DIFFERS if reg.is_loopback and got.is_loopback else C.HOST_DIFFERS


def _port(reg: Uri, got: Uri) -> C | None:
    if reg.port_text == got.port_text:
        return None
    same = reg.effective_port == got.effective_port
    return (
        C.DEFAULT_PORT if same and reg.has_default_port and got.has_default_port else C.PORT_DIFFERS
    )


def _path(reg: Uri, got: Uri) -> C | None:
    if reg.path == got.path:
        return None
    if reg.path.rstrip("/") == got.path.rstrip("/"):
        return C.TRAILING_SLASH
    if urllib.parse.unquote(reg.path) == urllib.parse.unquote(got.path):
        return C.PERCENT_ENCODING
    return C.PATH_CASE if reg.path.lower() == got.path.lower() else C.PATH_DIFFERS


def _query(reg: Uri, got: Uri) -> C | None:
    if reg.query == got.query:
        return None
    if urllib.parse.unquote(reg.query) == urllib.parse.unquote(got.query):
        return C.QUERY_PERCENT_ENCODING
    return C.QUERY_DIFFERS


_PARTS: tuple[Callable[[Uri, Uri], C | None], ...] = (
    _scheme,
    _userinfo,
    _host,
    _port,
    _path,
    _query,
)
_PORT_CAUSES = frozenset({C.PORT_DIFFERS, C.DEFAULT_PORT})


@dataclass
class _Candidate:
    """One registered URI judged against the received one."""

    raw: str
    shown: str
    uri: Uri
    causes: list[C] = field(default_factory=list)
    exact: bool = False
    loopback_port: bool = False
    score: float = 0.0

    @property
    def matches(self) -> bool:
        return not self.causes or self.loopback_port

    @property
    def names(self) -> list[str]:
        return [_NAME[cause] for cause in self.causes]


def _candidate(raw: str, got: Uri, received: str) -> _Candidate:
    reg = parse_uri(raw)
    exact = bool(raw) and raw == received
    causes = [] if exact else [c for part in _PARTS if (c := part(reg, got)) is not None]
    if reg.has_fragment or got.has_fragment:
        causes.append(C.FRAGMENT_IN_URI)
    loopback_port = (
        not exact
        and bool(causes)
        and all(cause in _PORT_CAUSES for cause in causes)
        and reg.is_loopback_ip
        and got.is_loopback_ip
        and reg.scheme.lower() == "http"
    )
    return _Candidate(
        raw, shown_uri(raw), reg, causes, exact, loopback_port, similarity(raw, received)
    )


def _fields(best: _Candidate, got_shown: Uri) -> dict[str, Any]:
    """What the difference texts show: from the masked URIs, quoted and clipped."""
    reg_shown = parse_uri(best.shown)
    fields: dict[str, Any] = {}
    for part in ("scheme", "host", "path", "query"):
        fields[f"reg_{part}"] = repr(clip(getattr(reg_shown, part)))
        fields[f"got_{part}"] = repr(clip(getattr(got_shown, part)))
    fields["reg_port"] = clip(reg_shown.port_text, 20) or "(default)"
    fields["got_port"] = clip(got_shown.port_text, 20) or "(default)"
    fields["default_port"] = got_shown.port if got_shown.port is not None else reg_shown.port
    fields["www"] = "with" if got_shown.host.lower().startswith("www.") else "without"
    fields["fragment_side"] = (
        "both URIs"
        if best.uri.has_fragment and got_shown.has_fragment
        else f"the registered URI {clip(best.shown)!r}"
        if best.uri.has_fragment
        else "the received URI"
    )
    return fields


def _registered_list(registered: str | Sequence[str]) -> list[str]:
    if isinstance(registered, str):
        items = [registered]
    elif isinstance(registered, Sequence) and all(isinstance(r, str) for r in registered):
        items = list(registered)
    else:
        raise ArgumentTypeError("registered must be a redirect URI string or a list of them")
    return [r for r in (r.strip() for r in items) if r] or [""]


def _input_findings(got: Uri, received_shown: str) -> list[Finding]:
    findings = []
    if got.error:
        findings.append(
            explain(
                "oauth.redirect_uri.parse",
                C.REDIRECT_URI_INVALID,
                _REPORT,
                error=got.error,
                received=repr(clip(received_shown)),
            )
        )
    if got.has_fragment:
        findings.append(explain("oauth.redirect_uri.fragment", C.FRAGMENT_IN_URI, _REPORT))
    return findings


def _verdict(best: _Candidate, got: Uri, received_shown: str, data: dict[str, Any]) -> Finding:
    if not best.causes and not got.error:
        return Finding(
            "oauth.redirect_uri",
            Status.OK,
            "the redirect URI matches a registered one exactly",
            detail=f"matched: {clip(best.shown)}",
            data={**data, "match": "exact"},
        )
    if best.loopback_port:
        return Finding(
            "oauth.redirect_uri",
            Status.OK,
            "matches on the loopback port rule (RFC 8252 §7.3): only the port differs",
            detail=f"registered {clip(best.shown)}, received {clip(received_shown)}. Native apps "
            "listen on an ephemeral loopback port; compliant servers ignore the port for loopback IP "
            "literals. Some providers do not implement this: if yours rejects it, register the exact port.",
            data={**data, "match": "loopback_port"},
        )
    diff = diff_view(best.shown, received_shown)
    where = (
        f"first difference at character {diff['at']}:\n  registered {diff['registered']}\n"
        f"  received   {diff['received']}\n"
        if best.raw
        else ""
    )
    closest = (
        f"closest registered URI: {clip(best.shown)}"
        if best.raw
        else "no redirect URI is registered"
    )
    return explain(
        "oauth.redirect_uri",
        C.REDIRECT_URI_MISMATCH,
        _REPORT,
        data={**data, "match": "none", "diff": diff},
        names=", ".join(best.names) or "unparseable",
        closest=closest,
        received=clip(received_shown),
        where=where,
    )


def compare_redirect_uris(registered: str | Sequence[str], received: str) -> Report:
    """Does the redirect URI the app sent match a registered one, and if not, exactly why.

    Every difference is named (scheme, userinfo, host_case, www, host,
    default_port, port, trailing_slash, percent_encoding, path_case, path,
    query, fragment), with its cause, and the closest registered URI is
    reported with where it first differs. Passwords in the URIs are never
    shown. Linear in the URIs' length; never raises on text.
    """
    reg_list = _registered_list(registered)
    if not isinstance(received, str):
        raise ArgumentTypeError("received must be the redirect_uri string the app sent")
    received = received.strip()
    got = parse_uri(received)
    received_shown = shown_uri(received)
    candidates = [_candidate(raw, got, received) for raw in reg_list]
    best = min(candidates, key=lambda c: (not c.matches, len(c.causes), -c.score))
    data: dict[str, Any] = {
        "received": clip(received_shown, _DATA_CHARS),
        "closest": clip(best.shown, _DATA_CHARS),
        "registered_count": len(reg_list),
        "differences": best.names,
    }
    findings = [_verdict(best, got, received_shown, data), *_input_findings(got, received_shown)]
    if findings[0].status is not Status.OK:
        fields = _fields(best, parse_uri(received_shown))
        for cause in best.causes:
            if cause is C.FRAGMENT_IN_URI and got.has_fragment:
                continue  # already reported for the received URI above
            findings.append(
                explain(f"oauth.redirect_uri.{_NAME[cause]}", cause, _DIFFERENCE, **fields)
            )
    insecure = got.scheme.lower() == "http" and not got.is_loopback and not got.error
    if insecure and "scheme" not in best.names:
        findings.append(explain("oauth.redirect_uri.https", C.PLAIN_HTTP, _REPORT))
    return Report(findings, title="OAuth redirect URI")
