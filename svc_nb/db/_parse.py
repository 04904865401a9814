"""Taking a PostgreSQL URL apart as libpq, asyncpg and SQLAlchemy would (no I/O).

:func:`parse` runs in stages — unwrap, scheme, fragment, userinfo, hosts,
query, query overrides — then hands the result to the lints in ``_lint``.
Every stage moves forward through the text once.
"""

from __future__ import annotations

import re
import urllib.parse

from svc_nb._redact import MASK, register_secret
from svc_nb.db._causes import DbCause
from svc_nb.db._lint import check_userinfo, lint, note
from svc_nb.db._model import DEFAULT_PORT, Host, Parsed, clip
from svc_nb.db._text import parse_keyword_value, suggest, unquote, userinfo_end

__all__ = ["parse"]

C = DbCause
# Anchored, so it is tried from the first character only.
_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9.\-]*)(?:\+(?P<driver>[^:/]*))?://")
_PORT_DIGITS = 5
# libpq tries hosts one after the other, each up to connect_timeout: past this many a
# connection attempt cannot finish in any useful time, and the rest is not read.
MAX_HOSTS = 100


def port_number(text: str) -> int | None:
    """``text`` as a TCP port, or None (ASCII digits only: int('²') raises)."""
    if not text or len(text) > _PORT_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= 65535 else None


def parse(url: str) -> Parsed:
    """``url`` taken apart, each mistake noted in ``Parsed.findings``."""
    p = Parsed()
    text = _unwrap(url, p)
    head = _SCHEME.match(text)
    if head is None:
        _not_a_url(text, p)
        return p
    if not _scheme(head, p):
        return p
    rest = _drop_fragment(text[head.end() :], p)
    rest = _userinfo(rest, p)
    qpos = rest.find("?")
    query = rest[qpos + 1 :] if qpos >= 0 else ""
    rest = rest[:qpos] if qpos >= 0 else rest
    spos = rest.find("/")
    hostspec, path = (rest[:spos], rest[spos + 1 :]) if spos >= 0 else (rest, "")
    p.database = unquote(path) or None
    hosts = _hostlist(hostspec, p) if hostspec else []
    p.params = _query(query, p)
    p.hosts = _query_overrides(p, hosts)
    lint(p, named_host=bool(hostspec or p.params.get("host")))
    return p


def _unwrap(url: str, p: Parsed) -> str:
    """Surrounding whitespace and quotes, as env files leave them."""
    text = url.strip()
    if text != url:
        note(p, C.URL_WHITESPACE, "db.url.whitespace")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
        note(p, C.URL_QUOTED, "db.url.quotes")
    return text


def _not_a_url(text: str, p: Parsed) -> None:
    p.fatal = True
    kv = parse_keyword_value(text)
    if kv is None:
        note(p, C.NO_SCHEME, "db.url")
        return
    register_secret(kv.get("password"))
    user = urllib.parse.quote(kv.get("user", "user"), safe="")
    auth = f"{user}{':' + MASK if 'password' in kv else ''}@"
    host = clip(kv.get("host", "localhost"))
    port = clip(kv.get("port", str(DEFAULT_PORT)), 8)
    sample = f"postgresql+asyncpg://{auth}{host}:{port}/{clip(kv.get('dbname', 'dbname'))}"
    keys = sorted(kv)
    data = {"keys": keys[:20], "key_count": len(keys)}
    note(p, C.KEYWORD_VALUE_STRING, "db.url", sample=sample, data=data)


def _scheme(head: re.Match[str], p: Parsed) -> bool:
    """Record scheme and driver; False (and a fatal finding) when it is not PostgreSQL."""
    scheme, driver = head.group("scheme"), head.group("driver")
    p.scheme, p.driver = scheme.lower(), (driver.lower() if driver is not None else None)
    if p.scheme in ("postgresql", "postgres"):
        return True
    p.fatal = True
    shown = clip(scheme)
    if suggest(p.scheme, ("postgresql", "postgres")):
        why = f"'{shown}' looks like a typo of postgresql."
    else:
        why = f"'{shown}://' is not PostgreSQL; svc_nb.db diagnoses PostgreSQL URLs."
    data = {"scheme": shown}
    note(p, C.UNSUPPORTED_SCHEME, "db.url.scheme", scheme=shown, why=why, data=data)
    return False


def _drop_fragment(rest: str, p: Parsed) -> str:
    frag_at = rest.rfind("#")
    # Only a '#' after the host is a fragment; one inside the password is handled later.
    if frag_at >= 0 and frag_at > userinfo_end(rest):
        note(p, C.URL_FRAGMENT, "db.url.params")
        return rest[:frag_at]
    return rest


def _userinfo(rest: str, p: Parsed) -> str:
    """Take ``user:password@`` off the front; returns what follows it."""
    at = userinfo_end(rest)
    if at < 0:
        return rest
    userinfo, rest = rest[:at], rest[at + 1 :]
    user_raw, colon, pw_raw = userinfo.partition(":")
    p.user = unquote(user_raw)
    p.password = unquote(pw_raw) if colon else None
    register_secret(p.password, pw_raw if colon else None)
    check_userinfo(p, user_raw, pw_raw if colon else None)
    return rest


def _hostlist(spec: str, p: Parsed) -> list[Host]:
    """libpq's comma-separated ``host[:port]`` list, IPv6 in brackets."""
    hosts: list[Host] = []
    bad_hosts: list[str] = []
    bad_ports: list[tuple[str, str]] = []
    items = spec.split(",", MAX_HOSTS)
    if len(items) > MAX_HOSTS:
        items.pop()  # the unread rest
        note(p, C.TOO_MANY_HOSTS, "db.url.host", limit=MAX_HOSTS)
    for item in items:
        host, port_text, problem, usable = _split_host(item)
        if problem:
            bad_hosts.append(problem)
        if not usable:
            continue
        port = DEFAULT_PORT
        if port_text:
            number = port_number(port_text)
            if number is None:
                bad_ports.append((port_text, unquote(host)))
                continue
            port = number
        hosts.append(Host(unquote(host), port))
    if bad_hosts:
        p.fatal = True
        more = f" (and {len(bad_hosts) - 1} more)" if len(bad_hosts) > 1 else ""
        note(p, C.BAD_HOST, "db.url.host", problem=bad_hosts[0], more=more)
    if bad_ports:
        p.fatal = True
        port_text, host = bad_ports[0]
        more = f" (and {len(bad_ports) - 1} more)" if len(bad_ports) > 1 else ""
        example = f"…@{clip(host) or 'host'}:{DEFAULT_PORT}/db"
        note(
            p,
            C.BAD_PORT,
            "db.url.port",
            where="port ",
            port=clip(port_text),
            more=more,
            example=example,
        )
    return hosts


def _split_host(item: str) -> tuple[str, str, str, bool]:
    """(host, port text, problem, usable) of one ``host[:port]`` item; problem '' when fine."""
    if item.startswith("["):
        end = item.find("]")
        if end < 0:
            return item, "", f"unclosed IPv6 bracket in host {clip(item)!r}", False
        host, tail = item[1:end], item[end + 1 :]
        if tail.startswith(":"):
            return host, tail[1:], "", True
        if tail:
            # The address itself is fine: keep it, so later stages name the right host.
            return host, "", f"unexpected text {clip(tail)!r} after IPv6 address", True
        return host, "", "", True
    colons = item.count(":")
    if colons == 1:
        host, _, port_text = item.partition(":")
        return host, port_text, "", True
    if colons > 1:
        return item, "", f"IPv6 address {clip(item)!r} without brackets", False
    return item, "", "", True


def _query(query: str, p: Parsed) -> dict[str, str]:
    params: dict[str, str] = {}
    valueless: list[str] = []
    for item in query.split("&") if query else ():
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = unquote(key.replace("+", " "))
        if not eq:
            valueless.append(key)
            continue
        value = unquote(value)
        if key in ("password", "sslpassword"):
            register_secret(value)
        params[key] = value
    if valueless:
        shown = ", ".join(repr(clip(key, 30)) for key in valueless[:5])
        if len(valueless) > 5:
            shown += f" and {len(valueless) - 5} more"
        note(
            p,
            C.PARAMETER_WITHOUT_VALUE,
            "db.url.params",
            keys=shown,
            data={"count": len(valueless)},
        )
    return params


def _query_overrides(p: Parsed, hosts: list[Host]) -> list[Host]:
    """?host=, ?port=, ?dbname=, ?user=, ?password= override the URL's parts, as in libpq."""
    params = p.params
    if "host" in params:
        query_hosts = _hostlist(params["host"], p)
        if hosts and query_hosts:
            note(p, C.HOST_REPEATED, "db.url.host")
        hosts = query_hosts
    if "port" in params:
        hosts = _port_override(p, params["port"], hosts)
    for key in ("dbname", "database"):
        if params.get(key):
            p.database = params[key]
    if params.get("user"):
        p.user = params["user"]
    if "password" in params:
        p.password = params["password"]
        note(p, C.PASSWORD_IN_QUERY, "db.url.password")
    return hosts


def _port_override(p: Parsed, spec: str, hosts: list[Host]) -> list[Host]:
    ports = spec.split(",")
    good = [number for number in map(port_number, ports) if number is not None]
    if len(good) != len(ports):
        p.fatal = True
        example = f"?port={DEFAULT_PORT}, or put the port after the host"
        note(
            p, C.BAD_PORT, "db.url.port", where="?port=", port=clip(spec), more="", example=example
        )
        return hosts
    base = hosts or [Host("", DEFAULT_PORT)]
    if len(good) == 1:
        return [Host(h.host, good[0]) for h in base]
    return [Host(h.host, good[i] if i < len(good) else DEFAULT_PORT) for i, h in enumerate(base)]
