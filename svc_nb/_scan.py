"""Scanners that find secrets in text by shape and by name, each linear in the text.

Used only through :mod:`svc_nb._redact`. None of the regexes here can
backtrack across the input: each scanner anchors on a literal (``://``,
``eyJ``, a secret-looking name, ``PASSWORD``) and looks a bounded distance
around it, so a pasted 1 MB token or log is scanned in one pass.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "MASK",
    "is_secret_name",
    "mask_bearer",
    "mask_named_values",
    "mask_sql_passwords",
    "mask_url_passwords",
    "shorten_jwts",
    "shorten_token",
]

MASK = "****"

# -- names ------------------------------------------------------------------

# Environment-style names whose values are secrets (or may embed one).
_SECRET_NAME = re.compile(
    r"(SECRET|PASSW|PWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|SIGNING|ENCRYPTION|"
    r"_KEY($|_)|^KEY_|SESSION_KEY|COOKIE|AUTH_JWT|AUTHORIZATION|REQUIREPASS|PASSPHRASE)",
    re.IGNORECASE,
)
# Names that mention a secret but hold something else: where it lives, how long
# it lasts, whether it is set, or its fingerprint.
_NOT_SECRET_NAME = re.compile(
    r"(^(OLD)?PWD$|_FILE$|LIFETIME|_ALG(ORITHM)?S?$|_TTL$|_SECONDS$|_TIMEOUT|_URLS?(_|$)|_URIS?(_|$)|"
    r"KEY_ID$|_KID$|FINGERPRINT|_FP$|_MASKED$|_PRESENT$|_IS_SET$|_SOURCES?$|_NAMES?$|_ENV$|"
    r"_VARS?$|_LENGTH$|_LEN$|_COUNT$|_HINT$|_KIND$|_TYPES?$|_STRENGTH$|_BITS$|_BYTES$|_IDS?$|_PATH$|"
    r"_EXPIRES(_AT|_IN)?$|_EXPIRY$|_ENDPOINT$|_METHODS?$|_SCHEME$|_MODE$|_VERSION$|_STATUS$|"
    r"_ERRORS?$|^MATCHED_|_INDEX$|ALLOW_CREDENTIALS|WITH_CREDENTIALS|_POLICY$|_FORMAT$|_PREFIX$|_HEADER_NAME$|^EXPIRES_IN$|_USAGE$|_REQUIRED$|_ROTATION)",
    re.IGNORECASE,
)
# Short names that are secrets only as a query parameter (?code=, ?key=, ?auth=):
# elsewhere "code: 503" or "key: jobs:ready" are ordinary words.
_QUERY_ONLY_NAMES = frozenset({"code", "key", "pass", "auth", "pw", "sig"})
# Literals that start every secret-looking name; the text scanner anchors on them.
_NAME_ANCHOR = re.compile(
    r"(?i)passw|pwd|passphrase|secret|token|api[_-]?key|apikey|auth|cookie|credential|"
    r"private[_-]?key|requirepass|access[_-]?key|session[_-]?key|encryption[_-]?key|"
    r"signing[_-]?key|code|pass|key|pw|sig"
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_MAX_NAME = 64  # longer "names" are data, not names
_MAX_VALUE = 4096  # a value beyond this is masked up to here; the scan stays bounded
_VALUE_STOP = frozenset(" \t\r\n&,;'\"()[]{}<>|")


# Verdicts by name. The same few names (data keys, headers, env variables) are judged
# on every finding, and the two regexes cost microseconds; a verdict depends on the name
# alone, so it is remembered. Names only, never values; bounded, cleared when full.
_NAME_VERDICTS: dict[str, bool] = {}
_NAME_VERDICTS_LIMIT = 4096
_MAX_JUDGED = 128  # characters of a name that are judged; the rest is pasted junk


def is_secret_name(name: str) -> bool:
    """Whether a name (env variable, key, attribute, header, parameter) says its value is secret."""
    if type(name) is str:  # exact str: a subclass's hash and equality are its own
        verdict = _NAME_VERDICTS.get(name)
        if verdict is not None:
            return verdict
    elif not isinstance(name, str):
        return False
    verdict = _judge_name(name)
    if type(name) is str and len(name) <= _MAX_JUDGED:
        if len(_NAME_VERDICTS) >= _NAME_VERDICTS_LIMIT:
            _NAME_VERDICTS.clear()
        _NAME_VERDICTS[name] = verdict
    return verdict


def _judge_name(name: str) -> bool:
    if not name:
        return False
    # Names are short; bound the work on pasted junk. Headers spell words with '-'.
    name = name[:_MAX_JUDGED].replace("-", "_").replace(".", "_")
    if _NOT_SECRET_NAME.search(name):
        return False
    return bool(_SECRET_NAME.search(name))


# -- secrets recognised by shape ----------------------------------------------

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_USER_END = re.compile(r"[^:/?#@\s]{0,1024}")
_WHITESPACE = re.compile(r"\s")


class _NextFinder:
    """The next occurrence at or after a position that only grows: amortised linear."""

    def __init__(self, find: Any) -> None:
        self._find = find
        self._at = -2  # not looked yet

    def at_or_after(self, pos: int) -> int:
        if self._at == -2 or (self._at != -1 and self._at < pos):
            self._at = self._find(pos)
        return self._at


_NETLOC_END = re.compile(r"[/?#\s]")
# Tokens used as a URL's user name (https://ghp_…@github.com): masked like passwords.
_TOKEN_USER_PREFIXES = (
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "github_pat_",
    "glpat-",
    "xox",
    "sk_",
    "sk-",
)


def _token_like_user(user: str) -> bool:
    if user.startswith(_TOKEN_USER_PREFIXES):
        return True
    return len(user) >= 20 and any(c.isdigit() for c in user) and any(c.isalpha() for c in user)


def _password_end(text: str, after: int, next_at: _NextFinder, next_space: _NextFinder) -> int:
    """Where the userinfo's password ends (its '@'), or -1.

    The host follows the LAST '@' before the path, so a password holding an
    unencoded '@' is masked whole; a password holding '/' (which stops the
    netloc) falls back to the first '@' before any whitespace.
    """
    netloc = _NETLOC_END.search(text, after, after + 1024)
    netloc_end = netloc.start() if netloc else min(len(text), after + 1024)
    last_at = text.rfind("@", after, netloc_end)
    if last_at != -1:
        return last_at
    at = next_at.at_or_after(after)
    space = next_space.at_or_after(after)
    return at if after < at <= after + 1024 and (space == -1 or at < space) else -1


def mask_url_passwords(text: str) -> str:
    """``scheme://user:password@host`` → ``scheme://user:****@host``, linear in the text."""
    out: list[str] = []
    emitted = 0
    next_at = _NextFinder(lambda pos: text.find("@", pos))
    next_space = _NextFinder(lambda pos: m.start() if (m := _WHITESPACE.search(text, pos)) else -1)
    i = text.find("://")
    while i != -1:
        start = i
        while start > 0 and i - start < 32 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        if start < i and text[start].isalpha() and i + 3 >= emitted:
            user = _USER_END.match(text, i + 3)
            colon = user.end() if user else i + 3
            if colon < len(text) and text[colon] == ":":
                at = _password_end(text, colon + 1, next_at, next_space)
                if at > colon + 1:
                    out.append(text[emitted : colon + 1])
                    out.append(MASK)
                    emitted = at
            elif colon < len(text) and text[colon] == "@" and _token_like_user(text[i + 3 : colon]):
                out.append(text[emitted : i + 3])
                out.append(MASK)
                emitted = colon
        i = text.find("://", max(i + 3, emitted))
    if not out:
        return text
    out.append(text[emitted:])
    return "".join(out)


_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# Possessive: a segment is consumed whole and never re-tried shorter.
_JWT_AT = re.compile(r"eyJ[A-Za-z0-9_\-]*+\.[A-Za-z0-9_\-]*+\.[A-Za-z0-9_\-]++")


def shorten_jwts(text: str) -> str:
    """Hide the signature of every JWT. Each start is at a token boundary, so each
    character is looked at a bounded number of times."""
    out: list[str] = []
    emitted = 0
    i = text.find("eyJ")
    while i != -1:
        if i >= emitted and (i == 0 or text[i - 1] not in _TOKEN_CHARS):
            match = _JWT_AT.match(text, i)
            if match:
                out.append(text[emitted:i])
                out.append(shorten_token(match.group(0)))
                emitted = match.end()
        i = text.find("eyJ", max(i + 3, emitted))
    if not out:
        return text
    out.append(text[emitted:])
    return "".join(out)


# Not after '=' or ':' (token_type=bearer is a value, not a header).
_BEARER = re.compile(r"(?i)(?<![=:\"'])\b(bearer[ \t]{1,16})(?!eyJ)([A-Za-z0-9._~+/\-]{8,4096}=*)")
_HEADER_NAMES = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)


def _value_end(text: str, start: int, *, to_line_end: bool) -> tuple[int, int]:
    """The span of the value starting at ``start`` (quotes excluded), bounded."""
    limit = min(len(text), start + _MAX_VALUE)
    if start < len(text) and text[start] in "\"'":
        quote = text[start]
        close = text.find(quote, start + 1, limit + 1)
        return start + 1, close if close != -1 else limit
    if to_line_end:
        # A real line end, or an escaped one inside a repr'd string.
        ends = [text.find(mark, start, limit) for mark in ("\n", "\\r", "\\n")]
        end = min((e for e in ends if e != -1), default=limit)
        return start, end - 1 if end > start and text[end - 1] == "\r" else end
    end = start
    while end < limit and text[end] not in _VALUE_STOP:
        end += 1
    return start, end


# "name: value" in prose ("malformed token: 2 segments") is a sentence, not a secret.
# Unquoted, a colon hides a value only after one of these exact names, or when the
# value itself is quoted (a repr or YAML string).
_COLON_NAMES = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "id_token",
        "private_key",
        "requirepass",
        "passphrase",
        "credentials",
        "auth_token",
        "secret_key",
    }
)


# Settings such as allow_credentials=true: a flag is not a secret, and masking it
# would hide the very value a fix talks about.
_FLAG_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null", "0", "1"})


def _colon_value_is_secret(text: str, value_at: int, low_name: str) -> bool:
    quoted_value = value_at < len(text) and text[value_at] in "\"'"
    return quoted_value or low_name.replace("-", "_") in _COLON_NAMES


def _named_value_span(text: str, name_start: int, name_end: int) -> tuple[int, int] | None:
    """Where the value under the name at [name_start, name_end) is, if a separator follows."""
    name = text[name_start:name_end]
    low = name.lower()
    query_only = low in _QUERY_ONLY_NAMES
    if query_only and (name_start == 0 or text[name_start - 1] not in "?&;"):
        return None
    if not query_only and not is_secret_name(name):
        return None
    j = name_end
    quoted_name = j < len(text) and text[j] in "\"'"
    j += quoted_name
    spaces = 0
    while j < len(text) and text[j] in " \t" and spaces < 8:
        j, spaces = j + 1, spaces + 1
    if j >= len(text) or text[j] not in "=:" or (query_only and text[j] != "="):
        return None
    separator = text[j]
    j += 1
    spaces = 0
    while j < len(text) and text[j] in " \t" and spaces < 8:
        j, spaces = j + 1, spaces + 1
    header = separator == ":" and not quoted_name and low in _HEADER_NAMES
    if separator == ":" and not (quoted_name or header or _colon_value_is_secret(text, j, low)):
        return None
    start, end = _value_end(text, j, to_line_end=header)
    if end <= start or text.startswith(MASK, start) or text[start:end].lower() in _FLAG_WORDS:
        return None
    if text[start] == "$":
        return None  # a shell expansion ($VAR, $(cmd)): a recipe, not a secret
    return start, end


def mask_named_values(text: str) -> str:
    """Mask ``name=value``, ``"name": "value"``, ``name: value`` and headers under secret names."""
    out: list[str] = []
    emitted = 0
    scanned_to = 0
    for anchor in _NAME_ANCHOR.finditer(text):
        if anchor.start() < scanned_to:
            continue
        start = anchor.start()
        while start > 0 and anchor.start() - start < _MAX_NAME and text[start - 1] in _NAME_CHARS:
            start -= 1
        end = anchor.end()
        while end < len(text) and end - anchor.end() < _MAX_NAME and text[end] in _NAME_CHARS:
            end += 1
        if (
            start > 0
            and text[start - 1] == "\\"
            and text[start] in "nrt"
            and start < anchor.start()
        ):
            start += 1  # a repr'd "\r\nAuthorization": the n belongs to the escape, not the name
        scanned_to = end
        if start < emitted:
            continue
        span = _named_value_span(text, start, end)
        if span is None:
            continue
        out.append(text[emitted : span[0]])
        out.append(MASK)
        emitted = scanned_to = span[1]
    if not out:
        return text
    out.append(text[emitted:])
    return "".join(out)


_SQL_PASSWORD = re.compile(r"(?i)password")
_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]{0,63}\$")


def _skip_sql_gap(text: str, j: int) -> int:
    """Skip whitespace and comments after PASSWORD (a bounded distance)."""
    limit = min(len(text), j + 512)
    while j < limit:
        if text[j] in " \t\r\n":
            j += 1
        elif text.startswith("/*", j):
            close = text.find("*/", j + 2, limit)
            j = close + 2 if close != -1 else limit
        elif text.startswith("--", j):
            newline = text.find("\n", j, limit)
            j = newline + 1 if newline != -1 else limit
        else:
            break
    return j


def _escaped(text: str, at: int, floor: int) -> bool:
    """Whether the character at ``at`` follows an odd run of backslashes."""
    run = 0
    while at - run - 1 > floor and text[at - run - 1] == "\\":
        run += 1
    return run % 2 == 1


def _sql_literal_span(text: str, j: int) -> tuple[int, int] | None:
    """The span of the string literal at ``j``: '…', E'…', U&'…' or $tag$…$tag$."""
    backslash_escapes = False
    if text[j : j + 2].upper() == "U&":
        j += 2
    elif j < len(text) and text[j] in "eE" and text[j + 1 : j + 2] == "'":
        j += 1
        backslash_escapes = True  # E'…' strings take \' as a quote
    limit = min(len(text), j + _MAX_VALUE)
    if j < len(text) and text[j] == "'":
        k = j + 1
        while k < limit:
            close = text.find("'", k, limit)
            if close == -1:
                return j, limit
            if text[close + 1 : close + 2] == "'":  # '' is an escaped quote
                k = close + 2
                continue
            if backslash_escapes and _escaped(text, close, j):
                k = close + 1
                continue
            return j, close + 1
        return j, limit
    tag = _DOLLAR_TAG.match(text, j)
    if tag:
        close = text.find(tag.group(0), tag.end(), limit)
        return j, (close + len(tag.group(0))) if close != -1 else limit
    return None


def mask_sql_passwords(text: str) -> str:
    """``PASSWORD 'x'`` in every SQL spelling PostgreSQL accepts (pg_stat_activity shows them)."""
    out: list[str] = []
    emitted = 0
    for match in _SQL_PASSWORD.finditer(text):
        if match.start() < emitted:
            continue
        # A keyword, not part of a name or a quoted key ('password': … is JSON/Python).
        before = text[match.start() - 1] if match.start() else " "
        if before in _NAME_CHARS or before in "\"'":
            continue
        j = _skip_sql_gap(text, match.end())
        span = _sql_literal_span(text, j) if j < len(text) else None
        if span is None:
            continue
        out.append(text[emitted : span[0]])
        out.append(f"'{MASK}'")
        emitted = span[1]
    if not out:
        return text
    out.append(text[emitted:])
    return "".join(out)


_NO_SIGNATURE = "<signature hidden>"


def shorten_token(token: str) -> str:
    """A JWT with header and claims kept and the signature hidden; opaque tokens shortened."""
    token = token.strip()
    parts = token.split(".")
    if len(parts) == 3 and parts[0].startswith("eyJ"):
        return f"{parts[0]}.{parts[1]}.{_NO_SIGNATURE}"
    if len(token) <= 8:
        return MASK
    return f"{token[:4]}…({len(token)} chars)"


def mask_bearer(text: str) -> str:
    """``Bearer <opaque token>`` → ``Bearer ****`` (JWTs are shortened by :func:`shorten_jwts`)."""
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)
