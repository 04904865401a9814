"""``parse_url``: a PostgreSQL URL diagnosed without I/O, as one Report."""

from __future__ import annotations

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import explain
from svc_nb._report import Finding, Report, Status
from svc_nb.db._causes import DbCause
from svc_nb.db._model import Parsed, clip
from svc_nb.db._parse import parse
from svc_nb.db._url_explain import URL_EXPLAIN

__all__ = ["parse_safely", "parse_url", "url_findings"]

_DETAIL = "Parsed as libpq/asyncpg read it; the password is never shown."
# The whole (bounded) URL is in data["url"]; a summary is one line.
_SUMMARY_URL_CHARS = 300


def parse_safely(url: str) -> Parsed:
    """:func:`parse`, with a parser bug turned into a finding instead of a traceback."""
    try:
        return parse(url)
    except Exception as exc:  # bad input must never surface a parser traceback
        p = Parsed(fatal=True)
        p.findings.append(
            explain(
                "db.url",
                DbCause.URL_UNPARSEABLE,
                URL_EXPLAIN,
                exception_type=type(exc).__name__,
                data={"exception_type": type(exc).__name__},
            )
        )
        return p


def url_findings(p: Parsed) -> list[Finding]:
    """The ``db.url`` roll-up (parts, worst status) followed by each problem found."""
    if any(f.check == "db.url" for f in p.findings):
        return list(p.findings)  # the URL could not be taken apart: that finding says why
    problems = [f for f in p.findings if f.status in (Status.FAIL, Status.WARN)]
    worst = max(problems, key=lambda f: f.status.rank, default=None)
    parts = p.parts()
    url = clip(parts["url"], _SUMMARY_URL_CHARS)
    if worst is None:
        return [
            Finding("db.url", Status.OK, f"valid PostgreSQL URL: {url}", _DETAIL, data=parts),
            *p.findings,
        ]
    head = Finding(
        "db.url",
        worst.status,
        f"{len(problems)} problem(s) in {url}",
        _DETAIL,
        "See the findings below for each fix.",
        data=parts,
        # The roll-up names its most serious problem, so one row says why.
        cause=worst.cause,
    )
    return [head, *p.findings]


def parse_url(url: str) -> Report:
    """Take a PostgreSQL URL apart without any I/O and report each mistake with its fix.

    Accepts every libpq URI form (``postgresql://``/``postgres://``, ``+driver``
    suffixes, several hosts, ``[IPv6]``, Unix sockets via ``?host=`` or a
    percent-encoded path, query parameters). The ``db.url`` finding's ``data``
    holds the parsed parts with the password masked. Runs in time linear in the
    length of ``url``.
    """
    if not isinstance(url, str):
        raise ArgumentTypeError(
            f"parse_url() takes the URL as a str, not {type(url).__name__}; "
            "e.g. svc_nb.db.parse_url(os.environ['SQL_URL'])"
        )
    return Report(url_findings(parse_safely(url)), title="svc_nb db URL")
