"""The common valid delivery, verified in one pass.

:func:`~svc_nb.webhooks.verify` sits in a receiver's hot path, and nearly every
request it sees is the same case: the raw body as ``bytes``, the headers as a
``dict``, one ``str`` secret, an svc-infra or Standard Webhooks signature made
with that secret over the raw bytes, on time. :func:`valid_delivery` answers
exactly that case with as few steps as it needs. Anything else (another input
type, an unusual header, a mismatch, a stale timestamp, the guide's header)
returns None, and ``verify`` takes its general path, which reaches the verdict
for every case and explains it. Both paths register the secret first, so output
masks it either way.
"""

from __future__ import annotations

import functools
import hmac
import math
import time
from binascii import b2a_base64
from typing import Any

from svc_nb._report import DeferredReport, Finding, Status
from svc_nb.webhooks._errors import SigningError
from svc_nb.webhooks._headers import STANDARD_NAMES, detect_in, lower_names, standard_common
from svc_nb.webhooks._schemes import SCHEMES, remember_text, scheme_pads
from svc_nb.webhooks._verdicts import TITLE, is_milliseconds, ok_finding

__all__ = ["deferred_valid", "valid_data", "valid_delivery", "valid_finding"]

_INF = math.inf
# The ok summaries, built once.
_VALID = {name: f"{name} signature valid" for name in SCHEMES}


def valid_data(
    scheme: str, index: int, form: str, ts: float | None, now_s: float
) -> dict[str, Any]:
    """What the ok finding of a valid signature carries."""
    data: dict[str, Any] = {"scheme": scheme, "matched_secret": index, "form": form}
    if ts is not None:
        data["age_s"] = round(now_s - ts, 3)
    return data


def valid_finding(
    scheme: str, ts: float | None, now_s: float, *, index: int = 0, form: str = "raw"
) -> Finding:
    """The ok finding of a valid signature (worded as a canonical-form match by the caller)."""
    return ok_finding(_VALID[scheme], "", "", valid_data(scheme, index, form, ts, now_s))


def valid_findings(scheme: str, ts: float | None, now_s: float) -> list[Finding]:
    """The findings of a delivery signed with the first secret over the raw body, on time."""
    return [valid_finding(scheme, ts, now_s)]


class _ValidDelivery(DeferredReport):
    """The report of a valid delivery, its one ok finding worded only if someone reads it."""

    # A class attribute, not a setter call per report: DeferredReport scrubs it when read.
    _title = TITLE
    _worst = Status.OK

    def __init__(self, scheme: str, ts: float | None, now_s: float) -> None:
        self._build = functools.partial(valid_findings, scheme, ts, now_s)


def deferred_valid(scheme: str, ts: float | None, now_s: float) -> DeferredReport:
    """The report of a delivery signed with the first secret over the raw body, on time."""
    return _ValidDelivery(scheme, ts, now_s)


def _signature(h: dict[Any, Any], scheme: str) -> tuple[str, bytes, float | None, str] | None:
    """(signature, signed prefix, timestamp, its text) when the headers take the common form."""
    if scheme == "svc-infra":
        sig = h.get("x-signature")
        return (sig.strip(), b"", None, "") if type(sig) is str else None
    if scheme == "standard" and "webhook-signature" in h:
        return standard_common(h, STANDARD_NAMES)
    return None


def valid_delivery(
    raw: Any, headers: Any, secret: Any, scheme: str | None, tolerance: Any, now: Any
) -> DeferredReport | None:
    """The report of the common valid delivery, or None when this is not one."""
    if not (
        type(raw) is bytes
        and type(secret) is str
        and secret
        and type(headers) is dict
        and type(tolerance) in (int, float)
        and 0 <= tolerance < _INF
    ):
        return None
    if now is None:
        now_s = time.time()
    elif type(now) is float and -_INF < now < _INF:
        now_s = now
    else:
        return None  # datetimes, ints, bad values: the general path reads and checks them
    remember_text(secret)
    try:
        # As lower_headers reads a dict, but values are not converted: each one read is
        # checked to be str where it is read, and any other stays unread.
        h = lower_names(headers)
    except TypeError:  # bytes names: the general path reads them
        return None
    if "x-webhook-signature" in h:
        return None  # the guide's header gets its own finding
    # `is None`, not `or`: a falsy scheme ('', 0) is refused by the general path.
    used = detect_in(h) if scheme is None else scheme
    found = None if used is None else _signature(h, used)
    if used is None or found is None:
        return None
    sig, prefix, ts, _ = found
    try:
        inner_pad, outer_pad = scheme_pads(used, secret)
    except SigningError:
        return None  # a Standard Webhooks secret that is not base64: explained there
    inner = inner_pad.copy()
    if prefix:
        inner.update(prefix)
    inner.update(raw)
    outer = outer_pad.copy()
    outer.update(inner.digest())
    if ts is None:
        expected = outer.hexdigest()  # svc-infra: lowercase hex
    else:
        expected = b2a_base64(outer.digest(), newline=False).decode()
    if not (sig.isascii() and hmac.compare_digest(expected, sig)):
        return None
    if ts is not None and (is_milliseconds(ts) or abs(now_s - ts) > tolerance):
        return None
    return _ValidDelivery(used, ts, now_s)
