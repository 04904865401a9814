"""The one place that masks secrets.

Everything svc_nb prints, renders or returns passes through here. A secret is
recognised two ways:

- by **value**: passwords in URLs, JWT signatures, bearer tokens, and any value
  registered with :func:`register_secret` (a secret read once is masked
  everywhere after, in its raw, URL-encoded and base64 forms);
- by **name**: whatever stands under a secret-looking name — a mapping key, an
  object attribute, a local variable, ``name=value``, a JSON field, a query
  parameter, an HTTP header, or SQL's ``PASSWORD '…'``.

Every scan here is linear in the size of the text: a pasted 1 MB token or log
must not freeze a kernel. No regex below can backtrack across the input; the
scanners anchor on a literal and look a bounded distance around it.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import enum
import functools
import hashlib
import reprlib
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._scan import (
    _NO_SIGNATURE,
    MASK,
    is_secret_name,
    mask_bearer,
    mask_named_values,
    mask_sql_passwords,
    mask_url_passwords,
    shorten_jwts,
    shorten_token,
)

__all__ = [
    "MASK",
    "fingerprint",
    "is_secret_name",
    "mask_env",
    "mask_secret",
    "mask_url",
    "register_secret",
    "safe_repr",
    "scrub",
    "scrub_data",
    "shorten_token",
]


# -- the registry of secret values ------------------------------------------

# Bounded: widgets register what is typed, and a registry that only grows would
# make every later scrub slower. The oldest secrets leave first.
MAX_REGISTERED_SECRETS = 512
_MAX_VALUE = 4096  # longer "secrets" are documents; their first part is enough to mask
_PREFIX = 6  # every registered form is at least this long; the index keys on it
# Below this many forms a substring test per form (C speed) beats the indexed scan.
_LOOP_LIMIT = 48

_registry_lock = threading.Lock()
_secrets: collections.OrderedDict[str, tuple[str, ...]] = collections.OrderedDict()
_form_refs: dict[str, int] = {}
_state: dict[str, Any] = {
    "ordered": (),
    "index": {},
    "dirty": False,
    "clean": set(),
    "plain_keys": set(),
    "newest": None,
}
# "clean": texts seen to leave scrub() unchanged under the current registry. Findings
# repeat the same short texts (summaries, data values, titles) call after call, so one
# set lookup replaces every scanner. "plain_keys": mapping keys that are clean and not
# secret-looking names, so their values are shown as scrubbed. Both hold only what needs
# no masking, short texts only, a bounded number of them, and are replaced (never
# trusted) once the registry changes.
_CLEAN_MAX_LEN = 256
_CLEAN_LIMIT = 4096


def _registry_changed() -> None:
    """Call with the lock held, after the registry changed."""
    _state["dirty"] = True
    _state["newest"] = None  # the order changed under whatever call set it
    # A new secret can make a clean text dirty: start new sets. A scrub still running
    # against the old ones may add to them; nobody reads those sets again.
    _state["clean"] = set()
    _state["plain_keys"] = set()


def _variants(secret: str) -> set[str]:
    """The forms a secret can take in output: raw, URL-encoded, base64."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return {f for f in forms if len(f) >= _PREFIX}


def register_secret(*secrets: str | bytes | None) -> None:
    """Remember secrets so that :func:`scrub` masks them wherever they appear later.

    Constant time per secret: the lookup structures are rebuilt lazily, once,
    by the next :func:`scrub`. A secret registered again (a receiver verifying
    every request) costs one lookup: it only moves to the newest end.
    """
    # The same secrets as the last call, and nothing registered since: they are already
    # the newest, so there is nothing to move (a receiver verifying request after request).
    # Read without the lock: a concurrent call is simply ordered after this one.
    if secrets == _state["newest"]:
        return
    # acquire/release, not `with`: this runs on every verify(), where the context
    # manager protocol alone would cost more than the lookups.
    _registry_lock.acquire()
    try:
        lasting = True  # every secret is immutable and compares by value
        for secret in secrets:
            if type(secret) is str and secret in _secrets:
                _secrets.move_to_end(secret)  # still the newest: not the next one evicted
            else:
                kind = type(secret)
                lasting = lasting and (kind is str or kind is bytes or secret is None)
                _add_secret(secret)
        # A bytearray changed in place would compare equal to the one kept here, and
        # its new contents would never be registered: such a call is not remembered.
        _state["newest"] = secrets if lasting else None
    finally:
        _registry_lock.release()


def _add_secret(secret: str | bytes | None) -> None:
    """Register one secret (the lock is held)."""
    if isinstance(secret, bytes | bytearray):
        secret = bytes(secret).decode("utf-8", "replace")
    if not isinstance(secret, str):
        return  # None, or not text at all
    # Very short values would mask ordinary words; they are too weak to matter anyway.
    # Very long ones are documents, not secrets; their first part is enough to mask.
    if len(secret) < _PREFIX:
        return
    secret = secret[:_MAX_VALUE]
    if secret in _secrets:
        _secrets.move_to_end(secret)
        return
    forms = tuple(_variants(secret))
    _secrets[secret] = forms
    for form in forms:
        _form_refs[form] = _form_refs.get(form, 0) + 1
    while len(_secrets) > MAX_REGISTERED_SECRETS:
        _, old_forms = _secrets.popitem(last=False)
        for form in old_forms:
            left = _form_refs[form] - 1
            if left:
                _form_refs[form] = left
            else:
                del _form_refs[form]
    _registry_changed()


_Index = dict[str, tuple[tuple[int, frozenset[str]], ...]]


def _lookup() -> tuple[tuple[str, ...], _Index]:
    if _state["dirty"]:
        with _registry_lock:
            # Longest first, so a secret is masked whole before any shorter form inside it.
            ordered = tuple(sorted(_form_refs, key=len, reverse=True))
            # prefix -> [(length, forms of that length)], longest first: secrets that share a
            # prefix (whsec_…, sk_live_…) cost one set lookup per length, not one per secret.
            by_length: dict[str, dict[int, set[str]]] = {}
            for form in ordered:
                by_length.setdefault(form[:_PREFIX], {}).setdefault(len(form), set()).add(form)
            _state["ordered"] = ordered
            _state["index"] = {
                prefix: tuple(
                    (length, frozenset(forms))
                    for length, forms in sorted(lengths.items(), reverse=True)
                )
                for prefix, lengths in by_length.items()
            }
            _state["dirty"] = False
    return _state["ordered"], _state["index"]


def _mask_registered(text: str) -> str:
    ordered, index = _lookup()
    if not ordered:
        return text
    if len(ordered) <= _LOOP_LIMIT:
        for form in ordered:
            if form in text:
                text = text.replace(form, MASK)
        return text
    # Many secrets: find where any form's first characters occur, then confirm there.
    out: list[str] = []
    emitted = 0
    for i in _candidate_positions(text, index):
        if i < emitted:
            continue
        for length, forms in index[text[i : i + _PREFIX]]:
            if text[i : i + length] in forms:
                out.append(text[emitted:i])
                out.append(MASK)
                emitted = i + length
                break
    if not out:
        return text
    out.append(text[emitted:])
    return "".join(out)


# Above this size the prefix search runs vectorised (numpy, loaded only then).
_VECTOR_FROM = 4096


def _candidate_positions(text: str, index: _Index) -> Iterator[int]:
    """Positions whose next ``_PREFIX`` characters start some registered form, in order."""
    if len(text) < _VECTOR_FROM:
        for i in range(len(text) - _PREFIX + 1):
            if text[i : i + _PREFIX] in index:
                yield i
        return
    import numpy as np

    def window_hashes(codes: Any) -> Any:
        # A polynomial hash of every window of _PREFIX code points, in uint64 arithmetic.
        count = len(codes) - _PREFIX + 1
        hashes = np.zeros(max(count, 0), dtype=np.uint64)
        for k in range(_PREFIX):
            hashes = hashes * np.uint64(1_000_003) + codes[k : k + count]
        return hashes

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    wanted = window_hashes(
        np.frombuffer("".join(index).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    )[::_PREFIX]
    hits = np.flatnonzero(np.isin(window_hashes(codes.astype(np.uint64)), wanted))
    for i in hits.tolist():
        if text[i : i + _PREFIX] in index:  # a hash collision is confirmed away here
            yield i


def scrub(text: str) -> str:
    """Mask every secret svc_nb can recognise in free text, in time linear in its size."""
    if not text:
        return text
    # Taken before the registry is read: a secret registered from here on replaces
    # the set, so this call cannot mark a text clean that the new secret makes dirty.
    clean = _state["clean"]
    if type(text) is str:
        if text in clean:
            return text
    elif not isinstance(text, str):
        text = str(text)
    scrubbed = _scrub_text(text)
    if type(text) is str and len(text) <= _CLEAN_MAX_LEN and scrubbed == text:
        if len(clean) >= _CLEAN_LIMIT:
            clean.clear()
        clean.add(text)
    return scrubbed


def _scrub_text(text: str) -> str:
    text = _mask_registered(text)
    if "://" in text and "@" in text:  # no '@', no userinfo to hide
        text = mask_url_passwords(text)
    if "eyJ" in text:
        text = shorten_jwts(text)
    lowered = text.lower()
    if "password" in lowered:
        text = mask_sql_passwords(text)
    if "=" in text or ":" in text:
        text = mask_named_values(text)
    if "earer" in lowered:
        text = mask_bearer(text)
    return text


# -- structured data ---------------------------------------------------------

_MAX_DEPTH = 64
_SAFE_SCALARS = (int, float, bool, type(None), enum.Enum)


def _mask_named_scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str | bytes | bytearray):
        if isinstance(value, str) and (value.startswith(MASK) or value.endswith(_NO_SIGNATURE)):
            return value  # already safe to show: masked, or a JWT without its signature
        # Masked here, not registered: a value under a secret-looking key is not always a
        # secret ({"cookie": "svc_session"}), and registering it would mask it everywhere.
        return MASK if value else value
    if isinstance(value, int | float):
        return MASK
    return None  # not a scalar: the caller recurses


def _scrub_mapping(value: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
    plain = _state["plain_keys"]  # taken first, as scrub() takes its clean set
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if type(key) is str and key in plain:
            shown_key = key
        elif isinstance(key, str):
            shown_key = scrub(key)
            if is_secret_name(key):
                masked = _mask_named_scalar(item)
                if masked is not None or item is None:
                    result[shown_key] = masked
                    continue
            elif shown_key == key and type(key) is str and len(key) <= _CLEAN_MAX_LEN:
                if len(plain) >= _CLEAN_LIMIT:
                    plain.clear()
                plain.add(key)
        else:
            shown_key = scrub_data(key, depth + 1)
        kind = type(item)
        # Measured values (numbers, short words) are most items: no call for a number.
        # At the depth limit scrub_data cuts every item, so those still go through it.
        if depth >= _MAX_DEPTH:
            result[shown_key] = scrub_data(item, depth + 1)
        elif kind is int or kind is float or kind is bool or item is None:
            result[shown_key] = item
        else:
            result[shown_key] = scrub(item) if kind is str else scrub_data(item, depth + 1)
    return result


def scrub_data(value: Any, _depth: int = 0) -> Any:
    """Scrub every string inside nested data, and mask values under secret-looking keys.

    Handles dicts (keys too), lists, tuples, namedtuples, sets, exceptions and
    bytes; data nested deeper than 64 levels is cut rather than recursed into.
    """
    if _depth > _MAX_DEPTH:
        return f"<nested deeper than {_MAX_DEPTH} levels>"
    # Exact types first: isinstance against the ABCs below costs more than a finding's
    # whole data dict of plain values.
    kind = type(value)
    if kind is dict:
        return _scrub_mapping(value, _depth)
    if kind is str or isinstance(value, str):
        return scrub(value)
    if kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, _SAFE_SCALARS):
        return value
    if isinstance(value, Mapping):
        return _scrub_mapping(value, _depth)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    if isinstance(value, tuple) and hasattr(value, "_make"):
        return value._make(scrub_data(v, _depth + 1) for v in value)
    if isinstance(value, list | tuple):
        return type(value)(scrub_data(v, _depth + 1) for v in value)
    if isinstance(value, set | frozenset):
        return [scrub_data(v, _depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("latin-1")
        cleaned = scrub(text)
        return value if cleaned == text else cleaned
    return value


# Strings are kept whole here: reprlib cuts long ones in the middle, which could cut a
# secret's name away and leave its value. safe_repr scrubs first, then cuts.
_repr = reprlib.Repr()
_repr.maxstring = 1_000_000
_repr.maxother = 4096
_repr.maxlong = 60


def safe_repr(obj: Any, *, limit: int = 400) -> str:
    """A short repr of any object with secrets masked, by value and by attribute name."""
    try:
        attrs = vars(obj) if not isinstance(obj, type) else None
    except TypeError:
        attrs = None
    if attrs and type(obj).__repr__ is object.__repr__:
        shown = scrub_data({k: v for k, v in attrs.items() if not k.startswith("__")})
        text = f"{type(obj).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"
    else:
        try:
            text = _repr.repr(obj)
        except Exception as exc:  # a broken __repr__ must not break a bug report
            text = f"<{type(obj).__name__}: repr failed: {type(exc).__name__}>"
    text = scrub(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- masks for display -------------------------------------------------------

# A secret shorter than this is one svc_nb calls weak: its length is not shown,
# since a length plus a fingerprint narrows a brute-force search.
_SHOW_LENGTH_FROM = 32


def mask_secret(secret: str | bytes | None) -> str:
    """A masked stand-in for a secret: its fingerprint, and its length when it is long."""
    if secret is None or secret == "" or secret == b"":
        return "(empty)"
    if len(secret) >= _SHOW_LENGTH_FROM:
        return f"{MASK} ({len(secret)} chars, {fingerprint(secret)})"
    return f"{MASK} ({fingerprint(secret)})"


def mask_url(url: str) -> str:
    """The URL with its password and secret-looking query values replaced by ``****``."""
    if not isinstance(url, str):
        return MASK
    return scrub(url)


def mask_env(name: str, value: str) -> str:
    """An env value safe to show: secrets masked, URLs with their password masked."""
    if is_secret_name(name):
        register_secret(value)
        return mask_secret(value)
    return scrub(value)


# Each guess at a fingerprinted secret costs this many HMAC rounds (about 10 ms),
# so a short secret cannot be found from its fingerprint by trying them all.
_FINGERPRINT_ROUNDS = 20_000
_FINGERPRINT_SALT = b"svc_nb/fingerprint/v2"


@functools.lru_cache(maxsize=1024)
def _fingerprint_bytes(data: bytes) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", data, _FINGERPRINT_SALT, _FINGERPRINT_ROUNDS)
    return "fp:" + digest.hex()[:12]


def fingerprint(secret: str | bytes) -> str:
    """A short, stable digest of a secret, equal across processes and machines.

    Python's ``hash()`` is salted per process, so comparing it between services
    never works. This is PBKDF2-HMAC-SHA256 with a fixed svc_nb salt: the same
    on every machine, and slow enough per guess that it does not give a short
    secret away.
    """
    if isinstance(secret, str):
        data = secret.encode("utf-8", "surrogatepass")
    elif isinstance(secret, bytes | bytearray):
        data = bytes(secret)
    else:
        raise ArgumentTypeError(
            f"fingerprint() takes the secret as str or bytes, not {type(secret).__name__}"
        )
    return _fingerprint_bytes(data)


@contextlib.contextmanager
def isolated_registry(*, empty: bool = False) -> Iterator[None]:
    """Forget the secrets registered inside the block (for tests that fuzz parsers).

    ``empty=True`` also starts the block with nothing registered, so a view is
    seen to mask only what it registers itself.
    """
    with _registry_lock:
        saved, refs = collections.OrderedDict(_secrets), dict(_form_refs)
        if empty:
            _secrets.clear()
            _form_refs.clear()
            _registry_changed()
    try:
        yield
    finally:
        with _registry_lock:
            _secrets.clear()
            _secrets.update(saved)
            _form_refs.clear()
            _form_refs.update(refs)
            _registry_changed()


def registered_count() -> int:
    """How many secret forms are registered (for tests and debugging)."""
    return len(_form_refs)
