"""Query options (``?socket_timeout=2&ssl_cert_reqs=required``), judged as redis-py reads them.

redis-py passes every query option it does not convert to the connection
class as a keyword argument, so a typo or a TLS option on a plain URL is a
``TypeError`` when the first connection is made, far from the URL. Each
option is judged here against the keyword arguments redis-py's own
connection classes accept.
"""

from __future__ import annotations

import functools
import inspect
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import MASK, is_secret_name, register_secret, scrub
from svc_nb._report import Finding, Status
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._common import CASHEWS_OPTIONS, POOL_OPTIONS, Target, clip, ok

__all__ = ["Options", "read_options"]

# Options listed one by one; the rest are counted in one finding, so a pasted
# query with thousands of parameters still gives a short report, fast.
MAX_OPTION_FINDINGS = 10
# Options echoed in the cache.url finding's data.
MAX_SHOWN_OPTIONS = 20
# Suggest a known option for a typo at most this many edits away.
_MAX_EDITS = 2
_MAX_SUGGEST_NAME = 40
_SECRET_OPTIONS = frozenset({"password", "ssl_password"})
# Names that can be part of a check id (a single bounded character class: no backtracking).
_ID_NAME = re.compile(rf"[A-Za-z0-9_]{{1,{_MAX_SUGGEST_NAME}}}")

C = CacheCause
_EXPLAIN: Mapping[CacheCause, Explanation] = {
    C.OPTION_REPEATED: Explanation(
        Status.WARN,
        "?{name}= is given {count} times; redis-py uses the first",
        "",
        "Keep one {name}= in the URL.",
    ),
    C.OPTION_BLANK: Explanation(
        Status.WARN,
        "?{name}= has no value and is ignored",
        "redis-py's query parsing drops blank values.",
        "Give {name} a value or remove it.",
    ),
    C.TLS_OPTION_ON_PLAIN: Explanation(
        Status.FAIL,
        "TLS option ?{name}= on a plain {scheme}:// URL",
        "redis-py passes it to a non-TLS connection class, which raises TypeError: got an "
        "unexpected keyword argument '{name}'; the connection never starts.",
        "Use rediss:// for TLS (e.g. rediss://HOST:6380/0?{name}={value}), or drop ?{name}= if "
        "the server has no TLS.",
    ),
    C.UNKNOWN_OPTION: Explanation(
        Status.FAIL,
        "redis-py does not know the option ?{name}=",
        "Unknown query options are passed to the connection class, which raises TypeError: got "
        "an unexpected keyword argument '{name}'.",
        "{suggestion}",
    ),
    C.BAD_OPTION_VALUE: Explanation(
        Status.FAIL,
        "?{name}={value} is not a valid value",
        "redis-py raises ValueError: Invalid value for '{name}' in connection URL.",
        "Give {name} a value of type {type_name}.",
    ),
    C.STRING_BOOLEAN: Explanation(
        Status.WARN,
        "?{name}={value} reaches redis-py as the string {value!r}, not a boolean",
        "redis-py converts only some query options; this one stays a string, and any non-empty "
        "string (even 'false' or '0') is truthy.",
        "Remove ?{name}= to get the default ({default}), or set it in code.",
    ),
    C.BAD_CERT_REQS: Explanation(
        Status.FAIL,
        "ssl_cert_reqs={value!r} is not none, optional or required",
        "redis-py raises RedisError: Invalid SSL Certificate Requirements Flag.",
        "Use ssl_cert_reqs=required (and ssl_ca_certs=/path/ca.pem for a private CA).",
    ),
    C.CERT_NOT_VERIFIED: Explanation(
        Status.WARN,
        "ssl_cert_reqs=none: the server certificate is not verified",
        "The connection is encrypted but anyone who can intercept it can impersonate Redis and "
        "read the password.",
        "Use ssl_cert_reqs=required with ssl_ca_certs=/path/to/ca.pem (the provider's CA bundle).",
    ),
    C.HOSTNAME_NOT_CHECKED: Explanation(
        Status.WARN,
        "ssl_check_hostname=false: any valid certificate is accepted",
        "",
        "Remove ssl_check_hostname=false and connect by the name on the certificate.",
    ),
    C.BAD_PROTOCOL: Explanation(
        Status.FAIL,
        "protocol={value} is neither 2 nor 3",
        "redis-py refuses other RESP versions.",
        "Use protocol=2 (any server) or protocol=3 (Redis 6+).",
    ),
    C.MANY_OPTION_PROBLEMS: Explanation(
        Status.WARN,
        "{count} more query options have problems (the first {listed} are listed)",
        "A query with this many problem options was usually pasted wrongly or generated.",
        "Fix the options listed above, then read the URL again with svc_nb.cache.parse_url(url).",
    ),
}


@dataclass(frozen=True)
class _Issue:
    """A problem with one option, kept cheap until it is shown."""

    check: str
    cause: CacheCause
    fields: Mapping[str, Any]


@dataclass
class Options:
    """What the query says: findings, whether redis-py fails on it, ?db= and the shown values."""

    findings: list[Finding] = field(default_factory=list)
    fatal: bool = False
    db: int | None = None
    shown: dict[str, str] = field(default_factory=dict)
    problems: int = 0
    worst: Status = Status.OK


@dataclass(frozen=True)
class _Signatures:
    """Keyword arguments redis-py's connection classes accept, and how it converts option values."""

    accepted: Mapping[str, frozenset[str]]  # by scheme, pool options included
    tls_only: frozenset[str]
    parsers: Mapping[str, Callable[[str], Any]]
    defaults: Mapping[str, Any]


def _accepted(cls: type) -> tuple[frozenset[str], dict[str, Any]]:
    names: set[str] = set()
    defaults: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or not klass.__module__.startswith("redis"):
            continue
        for name, param in inspect.signature(init).parameters.items():
            if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL) or name == "self":
                continue
            names.add(name)
            defaults.setdefault(name, param.default)
    return frozenset(names), defaults


@functools.lru_cache(maxsize=1)
def _signatures() -> _Signatures:
    """Read from redis-py itself, so a newer redis-py's options are known without a list here."""
    from redis.asyncio import connection as rc

    tcp, tcp_defaults = _accepted(rc.Connection)
    ssl, ssl_defaults = _accepted(rc.SSLConnection)
    unix, unix_defaults = _accepted(rc.UnixDomainSocketConnection)
    return _Signatures(
        accepted={
            "redis": tcp | POOL_OPTIONS,
            "rediss": ssl | POOL_OPTIONS,
            "unix": unix | POOL_OPTIONS,
        },
        tls_only=ssl - tcp,
        parsers=rc.URL_QUERY_ARGUMENT_PARSERS,
        defaults={**unix_defaults, **tcp_defaults, **ssl_defaults},
    )


def _option_check(name: str) -> str:
    """``cache.url.option.NAME`` for a name that can be part of a check id."""
    if _ID_NAME.fullmatch(name):
        return f"cache.url.option.{name}"
    return "cache.url.option"


def _shown_value(name: str, value: str) -> str:
    if name in _SECRET_OPTIONS or is_secret_name(name):
        return MASK if value else ""
    return scrub(clip(value, 60))


def _edits(a: str, b: str, limit: int) -> int | None:
    """Levenshtein distance of two short names, or None when above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return None
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        if min(current) > limit:
            return None
        previous = current
    return previous[-1] if previous[-1] <= limit else None


def _suggestion(name: str, accepted: frozenset[str]) -> str:
    if len(name) <= _MAX_SUGGEST_NAME:
        scored = [
            (d, known)
            for known in sorted(accepted)
            if (d := _edits(name, known, _MAX_EDITS)) is not None
        ]
        if scored:
            return f"Did you mean ?{min(scored)[1]}=? "
    return f"Remove ?{clip(name, 40)}= from the URL."


def _refused_name(name: str, check: str, scheme: str, sig: _Signatures) -> _Issue | None:
    """An option redis-py's connection class for this scheme would not accept."""
    if name in sig.tls_only and scheme != "rediss":
        return _Issue("cache.url.tls", C.TLS_OPTION_ON_PLAIN, {})
    if name not in sig.accepted[scheme]:
        return _Issue(check, C.UNKNOWN_OPTION, {})
    return None


_UNCONVERTED = object()  # redis-py would not (or could not) pass the option on
_CASHEWS = object()  # cashews consumes the option before redis-py sees the URL


def _convert(name: str, value: str, check: str, sig: _Signatures) -> tuple[Any, _Issue | None]:
    """The value redis-py passes on, and the problem with it (a failed conversion is fatal)."""
    parser = sig.parsers.get(name)
    if parser is None:
        if isinstance(sig.defaults.get(name), bool):
            return value, _Issue(check, C.STRING_BOOLEAN, {"default": sig.defaults[name]})
        return value, None
    try:
        return parser(value), None
    except (TypeError, ValueError, KeyError, AttributeError):
        type_name = getattr(parser, "__name__", "the expected type")
        return _UNCONVERTED, _Issue(check, C.BAD_OPTION_VALUE, {"type_name": type_name})


# Problems that make redis-py refuse the URL or its first connection: the URL is unusable.
_FATAL_CAUSES = frozenset(
    {C.TLS_OPTION_ON_PLAIN, C.UNKNOWN_OPTION, C.BAD_OPTION_VALUE, C.BAD_CERT_REQS, C.BAD_PROTOCOL}
)


def _judge_value(name: str, value: str, converted: Any) -> _Issue | None:
    if name == "ssl_cert_reqs" and value not in ("none", "optional", "required"):
        return _Issue("cache.url.tls", C.BAD_CERT_REQS, {})
    if name == "ssl_cert_reqs" and value == "none":
        return _Issue("cache.url.tls", C.CERT_NOT_VERIFIED, {})
    if name == "ssl_check_hostname" and converted is False:
        return _Issue("cache.url.tls", C.HOSTNAME_NOT_CHECKED, {})
    if name == "protocol" and converted not in (2, 3):
        return _Issue("cache.url.option.protocol", C.BAD_PROTOCOL, {})
    return None


def _judge(name: str, values: list[str], scheme: str, sig: _Signatures) -> tuple[list[_Issue], Any]:
    """The problems of one option and the value redis-py would pass (or a marker saying why none)."""
    value = values[0]
    check = _option_check(name)
    issues: list[_Issue] = []
    if len(values) > 1:
        issues.append(_Issue(check, C.OPTION_REPEATED, {"count": len(values)}))
    if value == "":
        issues.append(_Issue(check, C.OPTION_BLANK, {}))
        return issues, _UNCONVERTED
    if name in CASHEWS_OPTIONS:
        return issues, _CASHEWS
    refused = _refused_name(name, check, scheme, sig)
    if refused is not None:
        return [*issues, refused], _UNCONVERTED
    converted, problem = _convert(name, value, check, sig)
    problem = problem or _judge_value(name, value, converted)
    if problem is not None:
        issues.append(problem)
        if problem.cause in _FATAL_CAUSES:
            return issues, _UNCONVERTED
    return issues, converted


def _show(issue: _Issue, name: str, value: str, scheme: str, sig: _Signatures) -> Finding:
    fields = {
        "name": clip(name, 40),
        "value": _shown_value(name, value),
        "scheme": scheme,
        **issue.fields,
    }
    if issue.cause is C.UNKNOWN_OPTION:
        fields["suggestion"] = _suggestion(name, sig.accepted[scheme])
    data = {"option": fields["name"]} if issue.cause in _FATAL_CAUSES else {}
    return explain(issue.check, issue.cause, _EXPLAIN, data=data, **fields)


def _record(
    result: Options, issues: list[_Issue], name: str, value: str, scheme: str, sig: _Signatures
) -> None:
    for issue in issues:
        status = _EXPLAIN[issue.cause].status
        result.fatal = result.fatal or issue.cause in _FATAL_CAUSES
        result.problems += 1
        if result.problems <= MAX_OPTION_FINDINGS:
            result.findings.append(_show(issue, name, value, scheme, sig))
        elif status.rank > result.worst.rank:
            result.worst = status


def read_options(query: str, scheme: str, target: Target) -> Options:
    """Judge every query option; usable ones go into ``target.kwargs`` (``?db=`` into ``.db``)."""
    sig = _signatures()
    result = Options()
    try:
        pairs = urllib.parse.parse_qs(query, keep_blank_values=True)
    except ValueError:
        pairs = {}
    for name, values in pairs.items():
        value = values[0]
        if name in _SECRET_OPTIONS:
            register_secret(value)
        if len(result.shown) < MAX_SHOWN_OPTIONS:
            result.shown[clip(name, 40)] = _shown_value(name, value)
        issues, converted = _judge(name, values, scheme, sig)
        _record(result, issues, name, value, scheme, sig)
        if converted is _CASHEWS:
            result.findings.append(
                ok(
                    _option_check(name),
                    f"?{name}= is read by cashews (svc-infra's cache library), not redis-py",
                    "svc_nb leaves it out of its own redis-py connection.",
                )
            )
        if converted is _UNCONVERTED or converted is _CASHEWS:
            continue
        if name == "db":
            result.db = int(converted)
        else:
            target.kwargs[name] = converted
    if result.problems > MAX_OPTION_FINDINGS:
        result.findings.append(
            explain(
                "cache.url.options",
                C.MANY_OPTION_PROBLEMS,
                _EXPLAIN,
                status=result.worst,
                count=result.problems - MAX_OPTION_FINDINGS,
                listed=MAX_OPTION_FINDINGS,
            )
        )
    return result
