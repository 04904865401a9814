"""Linear-time readers of the text a user pastes: userinfo, keyword/value strings, SQL.

Everything here is called on user text of any size, so each function moves
forward through its input once: no regex that can backtrack from every start
position, no ``difflib`` on the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from svc_nb._redact import MASK

__all__ = [
    "BREAKING",
    "bad_percent",
    "mask_sql_passwords",
    "parse_keyword_value",
    "shape",
    "suggest",
    "unquote",
    "userinfo_end",
]

# Characters that break a URL's userinfo unless percent-encoded.
BREAKING = {"@": "%40", "/": "%2F", "?": "%3F", "#": "%23", "[": "%5B", "]": "%5D", " ": "%20"}
_SHAPE_TABLE = str.maketrans({**BREAKING, "%": "%25"})
_ORDINARY_RUN = re.compile(r"[^@/?#\[\] %:]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# An '@' that can end a userinfo: a host list follows, then '/', '?' or the end. Each
# host run stops at the next '@', so the runs tried never overlap: linear.
_USERINFO_AT = re.compile(r"@[A-Za-z0-9.\-_:\[\],%]*(?=[/?]|\Z)")
# key = (spaces around '='); tried only where a word starts, so a long word without
# '=' is read once, not once per character.
_KEY = re.compile(r"(?<!\w)(\w+)\s*=\s*")
_NON_SPACE = re.compile(r"\S*")
# A quote after an even run of backslashes closes a quoted value. Runs are only tried
# from their first backslash (the lookbehind), so the search stays linear.
_CLOSING_QUOTE = re.compile(r"(?<!\\)(?:\\\\)*'")
_ESCAPED = re.compile(r"\\(.)", re.S)
_KEYWORD_START = re.compile(r"\s*\w+\s*=")
_SQL_PASSWORD = re.compile(r"(?i)\bpassword\s+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
# Typo suggestions compare short words only: a long "word" is no typo of a short one.
_SUGGEST_MAX_LEN = 40


def _run_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a run of ``pattern`` (which matches empty) starting at ``pos`` ends."""
    found = pattern.match(text, pos)
    return found.end() if found else pos


def bad_percent(text: str) -> bool:
    """A '%' not followed by two hex digits: libpq refuses it, others decode garbage."""
    return _BAD_PERCENT.search(text) is not None


def unquote(text: str) -> str:
    """``urllib.parse.unquote``, decoding each run of escapes at C speed.

    The same result (UTF-8, invalid bytes replaced): an escape run is the only
    place a multi-byte character can be, since a literal ASCII character ends one.
    urllib's own loop is Python per '%', several times slower on long text.
    """
    if "%" not in text:
        return text
    return _ESCAPE_RUN.sub(_decode_run, text)


def _decode_run(run: re.Match[str]) -> str:
    return bytes.fromhex(run.group().replace("%", "")).decode("utf-8", "replace")


def shape(text: str) -> str:
    """The shape of a secret: ordinary runs as '…', breaking characters encoded."""
    return _ORDINARY_RUN.sub("…", text).translate(_SHAPE_TABLE)


def userinfo_end(rest: str) -> int:
    """Index of the '@' ending the userinfo, or -1; tolerant of unencoded '@ / ? #'.

    The last '@' followed by something host-like wins, unless a '/', '?' or '#'
    before any ':' shows that an '@' after it belongs to the path or query.
    """
    seps = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    first_sep = min(seps, default=-1)
    # A separator before any ':' cannot sit inside a password (passwords follow a ':'),
    # so only an '@' before it can end the userinfo.
    sep_ends_userinfo = first_sep >= 0 and rest.find(":", 0, first_sep) < 0
    endpos = first_sep + 1 if sep_ends_userinfo else len(rest)
    last = -1
    for found in _USERINFO_AT.finditer(rest, 0, endpos):
        last = found.start()
    return last


def parse_keyword_value(text: str) -> dict[str, str] | None:
    """A libpq keyword/value string (``host=x dbname=y``), or None if it is not one.

    Words not followed by '=' are skipped; a quoted value honours backslash
    escapes, and an unterminated quote takes the rest of the text (libpq would
    refuse the string; here it only has to be recognised).
    """
    if not _KEYWORD_START.match(text):
        return None
    pairs: dict[str, str] = {}
    pos, size = 0, len(text)
    while pos < size:
        key = _KEY.search(text, pos)
        if key is None:
            break
        start = key.end()
        if text.startswith("'", start):
            value, pos = _quoted(text, start + 1)
        else:
            pos = _run_end(_NON_SPACE, text, start)
            value = text[start:pos]
        pairs[key.group(1)] = value
    return pairs


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """The value of a quoted string whose body starts at ``pos``, and where it ends."""
    closing = _CLOSING_QUOTE.search(text, pos)
    end = closing.end() - 1 if closing else len(text)
    # split() keeps each escaped character (the group) and drops its backslash; a
    # template sub() would do the same several times slower.
    return "".join(_ESCAPED.split(text[pos:end])), min(end + 1, len(text))


def mask_sql_passwords(sql: str) -> str:
    """SQL text with the literal after each ``PASSWORD`` masked ('…' and $tag$…$tag$ forms)."""
    out: list[str] = []
    pos = 0
    while True:
        found = _SQL_PASSWORD.search(sql, pos)
        if found is None:
            break
        start = found.end()
        end = _literal_end(sql, start)
        if end is None:
            out.append(sql[pos:start])
        else:
            out.append(sql[pos:start] + "'" + MASK + "'")
        pos = start if end is None else end
    out.append(sql[pos:])
    return "".join(out)


def _literal_end(sql: str, start: int) -> int | None:
    """End of the string literal at ``start`` (the text's end if unterminated), or None."""
    if sql.startswith("'", start):
        pos = start + 1
        while True:
            quote = sql.find("'", pos)
            if quote < 0:
                return len(sql)
            if sql.startswith("''", quote):  # an escaped quote inside the literal
                pos = quote + 2
                continue
            return quote + 1
    tag = _DOLLAR_TAG.match(sql, start)
    if tag is None:
        return None
    close = sql.find(tag.group(), tag.end())
    return len(sql) if close < 0 else close + len(tag.group())


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` is most likely a typo of (edits ≤ a quarter of its length), or None."""
    if not word or len(word) > _SUGGEST_MAX_LEN:
        return None
    best: tuple[int, str] | None = None
    for choice in sorted(choices):
        allowed = max(1, round(len(choice) / 4))
        if abs(len(choice) - len(word)) > allowed:
            continue
        distance = _edit_distance(word, choice)
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, choice)
    return best[1] if best else None


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours)."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, before[j - 2] + 1)
            current.append(value)
        before, previous = previous, current
    return previous[-1]
