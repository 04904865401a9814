"""Captured webhook deliveries, from wherever they were kept, as (headers, raw body) pairs.

Accepted: a :class:`svc_nb.webhooks.Receiver` (or its ``.requests``), its
``.received`` DataFrame when it has a ``body`` column, a ``DeliveryLog``, a
list of ``{"headers": …, "body": …}`` mappings, or a saved JSON-lines file with
one such object per line (``body_base64`` for binary bodies). A bare svc-infra
event (``{"topic", "payload", "version", "created_at"}``) is sent as svc-infra
sends it: httpx's JSON of the event, signed over its canonical JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._fmt import b64decode_lenient
from svc_nb._report import Finding, Status
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._errors import ServiceTypeError

__all__ = ["Delivery", "load_deliveries"]

CHECK = "service.replay"
_MAX_DELIVERIES = 1000
_MAX_FILE_BYTES = 64 * 1024 * 1024
_EVENT_KEYS = frozenset({"topic", "payload", "version", "created_at"})
# Headers that describe the captured connection, not the delivery: httpx sets its own.
_HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)

_LOAD: dict[C, Explanation] = {
    C.NO_DELIVERIES: Explanation(
        Status.SKIP,
        "no deliveries to replay",
        "{detail}",
        "Capture some first: `with svc_nb.webhooks.Receiver() as rx:` … then replay(target, rx, "
        'path=…); or pass a JSON-lines file with one {{"headers": …, "body": …}} per line.',
    ),
    C.NO_BODY: Explanation(
        Status.FAIL,
        "these deliveries carry no request bodies: {what}",
        "{detail}",
        "Pass the Receiver itself (rx) or rx.requests, which keep each request's headers and "
        "raw body; or save deliveries as JSON lines with a body.",
    ),
}


@dataclass(frozen=True)
class Delivery:
    """One request to replay: its headers (as captured) and its raw body."""

    headers: dict[str, str]
    body: bytes
    event: Mapping[str, Any] | None = None  # a bare svc-infra event, signed at send time

    @property
    def event_id(self) -> str:
        return self.headers.get("x-event-id") or self.headers.get("webhook-id") or ""


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in raw.items() if str(k).lower() not in _HOP_HEADERS}


def _body(item: Mapping[str, Any]) -> bytes | None:
    body = item.get("body")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    encoded = item.get("body_base64")
    return b64decode_lenient(encoded) if isinstance(encoded, str) else None


def _from_mapping(item: Mapping[str, Any]) -> Delivery | None:
    if "headers" not in item and set(item) >= _EVENT_KEYS:
        return Delivery({}, b"", event=dict(item))
    body = _body(item)
    return None if body is None else Delivery(_headers(item.get("headers")), body)


def _from_object(item: Any) -> Delivery | None:
    if isinstance(item, Mapping):
        return _from_mapping(item)
    body = getattr(item, "body", None)
    if isinstance(body, bytes | bytearray):
        return Delivery(_headers(getattr(item, "headers", {})), bytes(body))
    return None


def _read_lines(path: Path) -> tuple[list[Delivery], int]:
    deliveries: list[Delivery] = []
    bad = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except ValueError:
                bad += 1
                continue
            delivery = _from_mapping(parsed) if isinstance(parsed, Mapping) else None
            if delivery is None:
                bad += 1
            else:
                deliveries.append(delivery)
            if len(deliveries) >= _MAX_DELIVERIES:
                break
    return deliveries, bad


def _from_frame(frame: Any) -> list[Delivery] | Finding:
    if "body" not in frame.columns:
        detail = (
            "Receiver.received lists each request's headers and body size, not the body itself, "
            "and a replay needs the exact bytes."
        )
        return explain(
            CHECK, C.NO_BODY, _LOAD, what="a DataFrame without a body column", detail=detail
        )
    records = frame.to_dict("records")[:_MAX_DELIVERIES]
    return [d for d in (_from_mapping(r) for r in records) if d is not None]


def load_deliveries(source: Any) -> tuple[list[Delivery], int] | Finding:
    """(deliveries, lines that could not be read), or the finding saying why there are none."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            return explain(CHECK, C.NO_DELIVERIES, _LOAD, detail=f"{path} is not a file.")
        if path.stat().st_size > _MAX_FILE_BYTES:
            detail = f"{path} is over {_MAX_FILE_BYTES // 2**20} MB; replay a part of it."
            return explain(CHECK, C.NO_DELIVERIES, _LOAD, detail=detail)
        deliveries, bad = _read_lines(path)
    elif hasattr(source, "requests") and hasattr(source, "received"):  # a Receiver
        deliveries, bad = [d for d in map(_from_object, list(source.requests)) if d], 0
    elif hasattr(source, "attempts") and hasattr(source, "deliveries"):  # a DeliveryLog
        detail = "A DeliveryLog records each attempt's outcome, not the request that was sent."
        return explain(CHECK, C.NO_BODY, _LOAD, what="a DeliveryLog", detail=detail)
    elif hasattr(source, "columns") and hasattr(source, "to_dict"):  # a DataFrame
        found = _from_frame(source)
        if isinstance(found, Finding):
            return found
        deliveries, bad = found, 0
    elif isinstance(source, Iterable) and not isinstance(source, bytes | Mapping):
        items = list(source)[:_MAX_DELIVERIES]
        converted = [_from_object(i) for i in items]
        deliveries, bad = [d for d in converted if d], sum(d is None for d in converted)
    else:
        raise ServiceTypeError(
            "deliveries must be a Receiver, rx.requests, rx.received, a DeliveryLog, a list of "
            f"{{'headers', 'body'}} mappings or a JSON-lines file path; got {type(source).__name__}"
        )
    if not deliveries:
        detail = (
            f"{bad} item(s) had no body and no svc-infra event." if bad else "The source is empty."
        )
        return explain(CHECK, C.NO_DELIVERIES, _LOAD, detail=detail)
    return deliveries, bad
