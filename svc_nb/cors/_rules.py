"""The Fetch standard's CORS rules that need no network: which requests are
preflighted, which headers a page may set, and what an origin looks like."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from svc_nb._exceptions import ArgumentTypeError

__all__ = [
    "FORBIDDEN_METHODS",
    "SIMPLE_METHODS",
    "TOKEN",
    "check_origin",
    "header_items",
    "is_forbidden_header",
    "needs_preflight",
    "normalise_method",
    "origin_of",
    "parse_origins_env",
    "preflight_reasons",
    "split_header_list",
    "unsafe_header_names",
]

SIMPLE_METHODS = frozenset({"GET", "HEAD", "POST"})
# Fetch normalises only these method names to upper case; "patch" stays "patch".
_NORMALISED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
_SAFELISTED_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
# Headers a page cannot set: the browser drops them, so they never need a preflight.
_FORBIDDEN_HEADERS = frozenset(
    {
        "accept-charset", "accept-encoding", "access-control-request-headers",
        "access-control-request-method", "connection", "content-length", "cookie", "cookie2",
        "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
        "trailer", "transfer-encoding", "upgrade", "via",
    }
)  # fmt: skip
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_BYTE = re.compile(r'[\x00-\x08\x0a-\x1f"():<>?@\[\\\]{}\x7f]')
_LANGUAGE_VALUE = re.compile(r"[0-9A-Za-z *,\-.;=]*")
_SIMPLE_RANGE = re.compile(r"bytes=[0-9]+-[0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_HOST_CHARS = 253
# What the Fetch standard lets safelisted header values add up to before a preflight.
_SAFELISTED_VALUE_BYTES = 128
_SAFELISTED_TOTAL_BYTES = 1024


def split_header_list(value: str | None) -> list[str]:
    """A comma-separated header value as trimmed, non-empty items (never raises)."""
    if not value or not isinstance(value, str):
        return []
    return [item.strip(" \t") for item in value.split(",") if item.strip(" \t")]


def normalise_method(method: str) -> str:
    upper = method.upper()
    return upper if upper in _NORMALISED_METHODS else method


def _item(item: Any) -> tuple[str, str | None]:
    if isinstance(item, tuple | list) and len(item) == 2:
        return str(item[0]).strip(), None if item[1] is None else str(item[1])
    if isinstance(item, str):
        name, sep, value = item.partition(":")
        return name.strip(), value.strip() if sep else None
    return str(item).strip(), None


def header_items(headers: Any) -> list[tuple[str, str | None]]:
    """Headers given as a mapping, ``"Name: value"`` strings, names, or pairs.

    Raises :class:`~svc_nb._exceptions.ArgumentTypeError` for something that is none of these.
    """
    if headers is None:
        return []
    if isinstance(headers, str):
        headers = [headers] if ":" in headers else split_header_list(headers)
    if isinstance(headers, Mapping):
        items = [(str(k).strip(), None if v is None else str(v)) for k, v in headers.items()]
    elif isinstance(headers, Iterable):
        items = [_item(item) for item in headers]
    else:
        raise ArgumentTypeError(
            "headers must be a mapping, 'Name: value' strings, header names or (name, value) "
            f"pairs, not {type(headers).__name__}"
        )
    return [(n, v) for n, v in items if n]


def _content_type_reason(value: str | None) -> str | None:
    if value is None:
        return (
            "Content-Type without a value is assumed to be application/json; only "
            "application/x-www-form-urlencoded, multipart/form-data and text/plain avoid a preflight"
        )
    essence = value.split(";", 1)[0].strip().lower()
    if _UNSAFE_BYTE.search(value) or essence not in _SAFELISTED_CONTENT_TYPES:
        return (
            f"Content-Type {essence or value!r} is not one of application/x-www-form-urlencoded, "
            "multipart/form-data, text/plain (fetch(…, {body: JSON.stringify(…)}) with "
            "application/json always triggers a preflight)"
        )
    return None


def _header_reason(name: str, value: str | None) -> str | None:
    """Why one header makes the request non-simple, or None when it is safelisted."""
    lower = name.lower()
    if value is not None and len(value.encode("utf-8", "surrogatepass")) > _SAFELISTED_VALUE_BYTES:
        return f"{name} is longer than 128 bytes, so it is not CORS-safelisted"
    if lower == "accept":
        if value is not None and _UNSAFE_BYTE.search(value):
            return f"Accept contains characters browsers treat as unsafe ({value!r})"
        return None
    if lower in ("accept-language", "content-language"):
        if value is not None and not _LANGUAGE_VALUE.fullmatch(value):
            return f"{name} has characters outside the safelisted set ({value!r})"
        return None
    if lower == "content-type":
        return _content_type_reason(value)
    if lower == "range":
        if value is not None and _SIMPLE_RANGE.fullmatch(value):
            return None
        return f"Range {value!r} is not a simple bytes=N-[M] range"
    if lower == "authorization":
        return "Authorization is never CORS-safelisted (a bearer token always triggers a preflight)"
    return f"{name} is not a CORS-safelisted header"


def is_forbidden_header(name: str) -> bool:
    lower = name.lower()
    return lower in _FORBIDDEN_HEADERS or lower.startswith(("proxy-", "sec-"))


def _items_or_none(headers: Any) -> list[tuple[str, str | None]]:
    try:
        return header_items(headers)
    except Exception:  # these helpers never raise on what a user pastes
        return []


def unsafe_header_names(headers: Any = ()) -> list[str]:
    """The names a browser lists in Access-Control-Request-Headers: lowercase, sorted."""
    names = {
        n.lower()
        for n, v in _items_or_none(headers)
        if not is_forbidden_header(n) and _header_reason(n, v) is not None
    }
    return sorted(names)


def preflight_reasons(method: str = "GET", headers: Any = ()) -> list[str]:
    """Why a request from a page needs a CORS preflight; empty when it is a simple request.

    ``headers`` may be a mapping, ``"Name: value"`` strings or bare names. Never
    raises on arbitrary text.
    """
    reasons: list[str] = []
    norm = normalise_method(str(method).strip())
    if norm not in SIMPLE_METHODS:
        hint = ""
        if norm.upper() == "PATCH" and norm != "PATCH":
            hint = " (browsers send 'patch' as written: it must match Access-Control-Allow-Methods exactly)"
        reasons.append(f"method {norm or '(empty)'} is not GET, HEAD or POST{hint}")
    safelisted_size = 0
    for name, value in _items_or_none(headers):
        if is_forbidden_header(name):
            continue  # the browser never sends what a page sets here
        reason = _header_reason(name, value)
        if reason is not None:
            reasons.append(reason)
        elif value is not None:
            safelisted_size += len(value.encode("utf-8", "surrogatepass"))
    if safelisted_size > _SAFELISTED_TOTAL_BYTES:
        reasons.append("the safelisted headers' values total more than 1024 bytes")
    return reasons


def needs_preflight(method: str = "GET", headers: Any = ()) -> bool:
    """Whether a browser sends an OPTIONS preflight before this request."""
    return bool(preflight_reasons(method, headers))


def _ascii_host(host: str) -> tuple[str | None, str | None]:
    """The host as browsers put it on the wire: international names in IDNA (punycode)."""
    if host.isascii():
        return host, None
    # DNS names stop at 253 characters; checked first because punycode is quadratic in a label.
    if len(host) > _MAX_HOST_CHARS:
        return None, f"its host is {len(host)} characters long; DNS names stop at 253"
    try:
        return host.encode("idna").decode("ascii"), None
    except UnicodeError:
        return None, f"its host {host!r:.80} is not a valid international domain name"


def origin_of(url: str) -> tuple[str | None, str | None]:
    """The serialised origin of a URL, or (None, why it is not usable)."""
    if _CONTROL.search(url):
        return None, "it contains a control character (CR, LF, NUL...), which no browser sends"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return None, f"cannot parse it ({exc})"
    if parts.scheme not in ("http", "https"):
        return None, "the scheme must be http or https"
    if not parts.hostname:
        return None, "it has no host"
    host, problem = _ascii_host(parts.hostname)
    if host is None:
        return None, problem
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}", None


def check_origin(origin: str) -> str | None:
    """Why ``origin`` is not what a browser sends in ``Origin``, or None when it is."""
    if origin == "null":
        return None
    serialised, problem = origin_of(origin)
    if problem is not None:
        return problem
    if origin.endswith("/"):
        return "an origin has no trailing slash (browsers send scheme://host[:port] only)"
    parts = urllib.parse.urlsplit(origin)
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return "an origin is scheme://host[:port] only: no path, query or user"
    if serialised != origin:
        return f"browsers send it as {serialised} (lowercase, IDNA, default port omitted)"
    return None


def parse_origins_env(value: str | None) -> list[str]:
    """``CORS_ALLOW_ORIGINS`` as svc-infra reads it: comma-separated (a JSON list also works)."""
    if not value or not value.strip():
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed if str(v).strip()]
    return split_header_list(text)
