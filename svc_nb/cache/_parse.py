"""Read a cache URL exactly as redis-py (and svc-infra's cashews) would, without I/O.

Stages, each adding findings: the scheme, the split into parts, the user
info, the host and port (or the socket path), the query options, the
database number, and finally the ``cache.url`` roll-up. Every stage is linear
in the URL's length, and what a finding shows of the URL is cut to a few
dozen characters: a pasted megabyte gives a short report, fast.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import explain
from svc_nb._redact import MASK, register_secret, scrub
from svc_nb._report import Finding, Report
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._common import DEFAULT_DATABASES, DEFAULT_PORT, Target, clip, ok
from svc_nb.cache._options import read_options
from svc_nb.cache._url_text import EXPLAIN, SCHEME_HINTS

__all__ = ["parse", "parse_url"]

C = CacheCause
_SCHEMES = ("redis", "rediss", "unix", "mem")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


@dataclass
class _State:
    """One URL on its way through the stages."""

    scheme: str
    parsed: urllib.parse.ParseResult
    target: Target
    userinfo: str = ""
    findings: list[Finding] = field(default_factory=list)
    fatal: bool = False

    def add(self, check: str, cause: CacheCause, **fields: Any) -> None:
        self.findings.append(explain(check, cause, EXPLAIN, **fields))


def _shown_scheme(scheme_raw: str) -> str:
    looks_like_one = scheme_raw[:1].isalpha() and all(c in _SCHEME_CHARS for c in scheme_raw)
    return clip(scheme_raw, 24) if looks_like_one else "(not a scheme)"


def _authority_end(text: str) -> int:
    """Where the authority (user info, host, port) ends: the first '/', '?' or '#'."""
    return min((i for i in (text.find(c) for c in "/?#") if i >= 0), default=len(text))


def _shown_url(scheme_raw: str, rest: str, netloc: str) -> str:
    """The URL as it may be displayed: user info masked, long parts cut, then scrubbed.

    Built from the parts rather than searched for a password: nothing can tell
    where an unencoded '@' inside a password ends, so everything up to the
    last '@' of the authority (or of the whole URL, when a '/', '?' or '#' in
    the password cut the authority short) is treated as user info.
    """
    source = netloc if "@" in netloc else rest
    userinfo, at, after = source.rpartition("@")
    if "@" in netloc:
        after += rest[len(netloc) :]
    if not at:
        after = rest
    user, colon, _ = userinfo.partition(":")
    if at and colon and not any(c in user for c in "/?#"):
        who = f"{clip(user, 40)}:{MASK}@"
    else:
        who = f"{MASK}@" if at else ""
    host_end = _authority_end(after)
    # Cut before scrubbing: scrubbing a pasted megabyte costs more than the whole parse.
    text = f"{_shown_scheme(scheme_raw)}://{who}{clip(after[:host_end], 80)}{clip(after[host_end:], 120)}"
    return scrub(text)


def _read_scheme(url: str, findings: list[Finding]) -> tuple[str, str] | None:
    """The scheme as written and in lower case, or None (with the finding saying why)."""
    if not url:
        findings.append(explain("cache.url", C.URL_EMPTY, EXPLAIN))
        return None
    scheme_raw, sep, _ = url.partition("://")
    if not sep:
        findings.append(explain("cache.url", C.NO_SCHEME, EXPLAIN))
        return None
    scheme = scheme_raw.lower()
    shown = _shown_scheme(scheme_raw)
    if scheme != scheme_raw:
        findings.append(
            explain("cache.url.scheme", C.SCHEME_CASE, EXPLAIN, shown=shown, lower=shown.lower())
        )
    if scheme not in _SCHEMES:
        hint = SCHEME_HINTS.get(scheme, SCHEME_HINTS[""])
        findings.append(
            explain(
                "cache.url",
                C.UNSUPPORTED_SCHEME,
                EXPLAIN,
                data={"scheme": shown.lower()},
                shown=shown,
                hint=hint,
            )
        )
        return None
    return scheme_raw, scheme


def _memory_backend(url: str, findings: list[Finding]) -> tuple[list[Finding], Target]:
    scheme_raw, _, rest = url.partition("://")
    shown = _shown_url(scheme_raw, rest, rest[: _authority_end(rest)])
    findings.insert(
        0,
        ok(
            "cache.url",
            f"{shown}: svc-infra's in-memory backend (no Redis)",
            "Nothing to connect to: cashews keeps the cache inside each app process.",
            scheme="mem",
            url=shown,
        ),
    )
    findings.append(explain("cache.backend", C.MEMORY_BACKEND, EXPLAIN, data={"backend": "memory"}))
    return findings, Target(shown=shown, scheme="mem")


def _split(url: str, scheme_raw: str, scheme: str, findings: list[Finding]) -> _State | None:
    rest = url.partition("://")[2]
    try:
        parsed = urllib.parse.urlparse(url)
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        netloc = rest[: _authority_end(rest)]
        findings.append(
            explain(
                "cache.url",
                C.URL_UNPARSEABLE,
                EXPLAIN,
                error=clip(str(exc), 80),
                shown=_shown_url(scheme_raw, rest, netloc),
            )
        )
        return None
    target = Target(shown=_shown_url(scheme_raw, rest, parsed.netloc), scheme=scheme)
    return _State(scheme=scheme, parsed=parsed, target=target, findings=findings)


def _unencoded_cut(state: _State, rest: str) -> bool:
    """A '/', '?' or '#' in the password ends the authority early: redis-py reads garbage."""
    if "@" in state.parsed.netloc or "@" not in rest:
        return False
    cut_at = _authority_end(rest)
    cut = rest[cut_at] if cut_at < len(rest) else "?"
    state.findings.append(
        explain(
            "cache.url.password",
            C.PASSWORD_NOT_ENCODED,
            EXPLAIN,
            data={"character": cut},
            character=cut,
        )
    )
    return True


def _credentials(state: _State) -> None:
    """The user name and password redis-py would send."""
    parsed, target = state.parsed, state.target
    username = urllib.parse.unquote(parsed.username) if parsed.username else None
    password = urllib.parse.unquote(parsed.password) if parsed.password else None
    register_secret(password)
    target.username, target.password = username, password
    if password:
        target.kwargs["password"] = password
    if username:
        target.kwargs["username"] = username
    userinfo = state.userinfo
    if username and not password and ":" not in userinfo:
        # `redis://SECRET@host` sends SECRET as the *username*; it may well be the password.
        register_secret(username)
        state.add("cache.url.auth", C.USERNAME_ONLY)
    elif userinfo.endswith(":") or (username and parsed.password == ""):
        state.add("cache.url.auth", C.EMPTY_PASSWORD)
    elif password and not username:
        state.findings.append(
            ok(
                "cache.url.auth",
                "password without username: authenticates as the 'default' user",
                "redis://:PASSWORD@host is AUTH PASSWORD (requirepass / the ACL 'default' user). If your "
                "provider gave you an ACL user (Redis 6+ ACLs, ElastiCache RBAC, Redis Cloud), the password "
                "belongs to that user and the server answers WRONGPASS until the URL names it.",
                "For an ACL user: redis://USER:PASSWORD@host:6379/0.",
            )
        )


def _userinfo(state: _State, rest: str) -> bool:
    """Judge the user info; False when the URL cannot be read further."""
    if _unencoded_cut(state, rest):
        return False
    netloc = state.parsed.netloc
    state.userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
    if "@" in state.userinfo:
        state.add("cache.url.password", C.AT_SIGN_NOT_ENCODED)
    if " " in state.userinfo:
        state.add("cache.url.password", C.SPACE_NOT_ENCODED)
    _credentials(state)
    return True


def _host_and_port(state: _State) -> None:
    parsed, target = state.parsed, state.target
    try:
        target.port = parsed.port
    except ValueError:
        port_text = parsed.netloc.rpartition("@")[2].rpartition(":")[2]
        state.add("cache.url.port", C.BAD_PORT, port=clip(port_text, 24), default_port=DEFAULT_PORT)
        state.fatal = True
    target.host = parsed.hostname
    if not target.host:
        state.add("cache.url.host", C.NO_HOST)
    if target.host:
        target.kwargs["host"] = target.host
    if target.port is not None:
        target.kwargs["port"] = target.port


def _socket_path(state: _State) -> None:
    path, target = state.parsed.path, state.target
    if not path:
        state.add("cache.url.path", C.NO_SOCKET_PATH, shown=target.shown)
        state.fatal = True
        return
    target.path = urllib.parse.unquote(path)
    target.kwargs["path"] = target.path
    last = path.rpartition("/")[2]
    if last.isdigit() and not path.endswith(".sock"):
        state.add("cache.url.db", C.DB_IN_SOCKET_PATH, path=clip(target.path, 80))


def _database(state: _State, query_db: int | None) -> None:
    """The database redis-py selects: ?db= wins over the path; a non-number path means 0."""
    path, target = state.parsed.path, state.target
    path_db: int | None = None
    if state.scheme in ("redis", "rediss") and path not in ("", "/"):
        try:
            # As redis-py does it; int() refuses digit strings over 4300 long at once.
            path_db = int(urllib.parse.unquote(path).replace("/", ""))
        except ValueError:
            state.add("cache.url.db", C.PATH_NOT_DB, path=clip(path, 40))
    if query_db is not None and path_db is not None and query_db != path_db:
        state.add("cache.url.db", C.DB_OVERRIDDEN, query_db=query_db, path_db=path_db)
    target.db = query_db if query_db is not None else (path_db if path_db is not None else 0)
    target.kwargs["db"] = target.db
    if not 0 <= target.db < DEFAULT_DATABASES:
        state.findings.append(
            explain(
                "cache.url.db",
                C.DB_OUT_OF_RANGE,
                EXPLAIN,
                data={"db": target.db},
                db=clip(str(target.db), 24),
                last=DEFAULT_DATABASES - 1,
                databases=DEFAULT_DATABASES,
            )
        )


def _auth_words(target: Target) -> str:
    if target.username:
        return f"user {clip(target.shown_user or MASK, 40)}"
    return "password (default user)" if target.password else "no password"


def _roll_up(state: _State, options: dict[str, str]) -> Finding:
    """The ``cache.url`` finding: what redis-py would connect to, or that it cannot."""
    target, scheme = state.target, state.scheme
    data: dict[str, Any] = {
        "scheme": scheme,
        "host": clip(target.host, 80) if target.host else None,
        "port": target.port or (None if scheme == "unix" else DEFAULT_PORT),
        "path": clip(target.path, 120) if target.path else None,
        "db": target.db,
        "username": clip(target.shown_user, 40)
        if target.shown_user
        else (MASK if target.username else None),
        "password": MASK if target.password else None,
        "tls": target.tls,
        "options": options,
        "url": target.shown,
    }
    if state.fatal:
        return explain("cache.url", C.URL_UNUSABLE, EXPLAIN, data=data, shown=target.shown)
    transport = {"redis": ", plain TCP", "rediss": ", TLS", "unix": ""}[scheme]
    summary = f"{target.shown} → {target.where}, db {clip(str(target.db), 24)}{transport}, {_auth_words(target)}"
    return ok("cache.url", summary, **data)


def parse(url: str) -> tuple[list[Finding], Target | None]:
    """Findings about ``url`` and, when redis-py could use it, the target it describes."""
    findings: list[Finding] = []
    stripped = url.strip()
    if stripped != url and stripped:
        findings.append(explain("cache.url.whitespace", C.URL_WHITESPACE, EXPLAIN))
    schemes = _read_scheme(stripped, findings)
    if schemes is None:
        return findings, None
    scheme_raw, scheme = schemes
    if scheme == "mem":
        return _memory_backend(stripped, findings)
    state = _split(stripped, scheme_raw, scheme, findings)
    rest = stripped.partition("://")[2]
    if state is None or not _userinfo(state, rest):
        return findings, None
    if scheme == "unix":
        _socket_path(state)
    else:
        _host_and_port(state)
    options = read_options(state.parsed.query, scheme, state.target)
    state.findings.extend(options.findings)
    state.fatal = state.fatal or options.fatal
    target = state.target
    # redis-py also takes the credentials from ?username= / ?password=.
    for name in ("username", "password"):
        if not getattr(target, name) and isinstance(target.kwargs.get(name), str):
            setattr(target, name, target.kwargs[name])
    _database(state, options.db)
    findings.insert(0, _roll_up(state, options.shown))
    return findings, (None if state.fatal else target)


def parse_url(url: str) -> Report:
    """Diagnose a Redis URL as redis-py (and svc-infra's cashews) would read it; no I/O."""
    if not isinstance(url, str):
        raise ArgumentTypeError(
            f"parse_url() takes the URL as a str, got {type(url).__name__}; "
            "e.g. svc_nb.cache.parse_url('redis://localhost:6379/0')"
        )
    try:
        findings, _ = parse(url)
    except Exception as exc:  # a parser bug must still not become a traceback for bad input
        findings = [
            explain(
                "cache.url",
                C.URL_UNPARSEABLE,
                EXPLAIN,
                error=type(exc).__name__,
                shown="(not shown: svc_nb's parser failed on it)",
            )
        ]
    return Report(findings, title="svc_nb cache URL")
