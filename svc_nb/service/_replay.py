"""``replay()``: send captured webhook deliveries into the app's receiving route and explain its answers.

In process nothing travels over the network and no tunnel is needed. Each
delivery goes as captured, or re-signed with ``secret`` (same scheme, same
event id). A 4xx is explained with ``svc_nb.webhooks.verify``: a signature that
verifies only over svc-infra's canonical JSON means the handler HMACs the raw
body — the guide's recipe, which rejects every svc-infra delivery.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._http import transport_failure
from svc_nb._redact import register_secret, scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import Deadline
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._check import startup_finding
from svc_nb.service._client import ServiceClient
from svc_nb.service._deliveries import Delivery, load_deliveries
from svc_nb.service._errors import ServiceTypeError, ServiceValueError
from svc_nb.service._lifespan import Lifespan, Outcome
from svc_nb.service._target import Target, resolve_target_async

__all__ = ["replay"]

CHECK = "service.replay"
DELIVERY = "service.replay.delivery"
_EXCERPT = 160
_SHUTDOWN_FLOOR_S = 0.2
_F = Status.FAIL

_ANSWER: dict[C, Explanation] = {
    C.ROUTE_NOT_FOUND: Explanation(
        _F,
        "delivery {n}: POST {path} answered {code}: no webhook route there",
        "{body}",
        "Pass the path of the app's receiving route (path='/webhooks/…'); .routes of "
        "service.inspect(app) lists them.",
    ),
    C.HANDLER_ERROR: Explanation(
        _F,
        "delivery {n}: the handler answered {code}",
        "{body}",
        "Read the service log for the exception; a 5xx makes svc-infra retry the delivery "
        "(60, 120, 180, 240 s) and then dead-letter it.",
    ),
    C.RAW_BODY_VERIFICATION: Explanation(
        _F,
        "delivery {n}: rejected ({code}); the handler HMACs the raw body, not svc-infra's canonical JSON",
        "svc-infra signs json.dumps(event, sort_keys=True, separators=(',', ':')) but POSTs httpx's "
        "own serialisation of the event. Sent again with its body in canonical form, the same "
        "delivery was accepted: the handler computes the HMAC over the raw bytes. {body}",
        "Verify the canonical form: hmac(secret, canonical_json(json.loads(body))) — "
        "svc_nb.webhooks.canonical_json — or use svc-infra's own require_signature dependency.",
    ),
    C.VALID_SIGNATURE_REJECTED: Explanation(
        _F,
        "delivery {n}: rejected ({code}), though its signature is valid for the secret given",
        "The signature is right for the secret given; the handler rejects it for another reason: "
        "it holds another secret, reads another header, or checks something else. {body}",
        "Compare the handler's secret with the sender's (svc_nb.tokens.fingerprint on both) and "
        "the header it reads (svc-infra sends X-Signature).",
    ),
    C.SIGNATURE_INVALID: Explanation(
        _F,
        "delivery {n}: rejected ({code}); its signature does not verify with this secret either",
        "webhooks.verify: {verdict}",
        "{fix}",
    ),
    C.DELIVERY_REJECTED: Explanation(
        Status.WARN,
        "delivery {n}: rejected with {code}",
        "{body}",
        "Pass secret= (the subscription's signing secret) so svc_nb can tell a signature problem "
        "from another one.",
    ),
}


def _check_arguments(path: Any, secret: Any) -> str:
    if not isinstance(path, str):
        raise ServiceTypeError(
            f"path must be the receiving route as a string, e.g. '/webhooks/in', not {type(path).__name__}"
        )
    path = path.strip()
    if not path.startswith("/") or any(ord(c) < 0x21 for c in path):
        raise ServiceValueError(
            f"path must start with '/' and hold no spaces, e.g. '/webhooks/in'; got {path[:60]!r}"
        )
    if secret is not None and not isinstance(secret, str | bytes):
        raise ServiceTypeError(
            f"secret must be the signing secret as str or bytes, not {type(secret).__name__}"
        )
    if secret:
        register_secret(secret)
    return path


def _prepared(
    delivery: Delivery, secret: str | bytes | None
) -> tuple[dict[str, str], bytes] | None:
    """The headers and body to send: as captured, or re-signed with ``secret``."""
    from svc_nb.webhooks import detect_scheme, sign

    if delivery.event is not None:  # a bare event: sent as svc-infra sends it
        if not secret:
            return None
        body = json.dumps(delivery.event, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {k.lower(): v for k, v in sign(dict(delivery.event), secret).items()}
        return {**headers, "content-type": "application/json"}, body
    headers = dict(delivery.headers)
    if secret:
        scheme = detect_scheme(headers) or "svc-infra"
        signed_over: Any = delivery.body
        new = sign(signed_over, secret, scheme=scheme, msg_id=delivery.event_id or None)
        headers.update({k.lower(): v for k, v in new.items()})
    return headers, delivery.body


def _canonical(body: bytes) -> bytes | None:
    """The canonical JSON of an svc-infra body, when it differs from the bytes sent."""
    from svc_nb.webhooks import SigningError, canonical_json

    try:
        canonical = canonical_json(body)
    except SigningError:
        return None
    return canonical if canonical != body else None


async def _accepts_canonical(
    client: ServiceClient, path: str, headers: dict[str, str], body: bytes
) -> bool:
    """Whether the app takes the same delivery once its body is svc-infra's canonical JSON.

    The signature covers the canonical form either way, so an app that accepts
    only these bytes computes its HMAC over the raw body.
    """
    from svc_nb.webhooks import detect_scheme

    canonical = _canonical(body) if detect_scheme(headers) == "svc-infra" else None
    if canonical is None:
        return False
    try:
        response = await client.request("POST", path, headers=headers, content=canonical)
    except client.errors:
        return False
    return 200 <= response.status_code < 300


async def _explained(
    client: ServiceClient,
    n: int,
    code: int,
    body: str,
    sent: tuple[dict[str, str], bytes],
    secret: Any,
    path: str,
) -> Finding:
    """Why the app refused a delivery: route, handler, raw-body HMAC, or the signature itself."""
    from svc_nb.webhooks import verify

    data: dict[str, Any] = {"delivery": n, "status_code": code}
    fields: dict[str, Any] = {"n": n, "code": code, "body": body, "path": path}
    if code in (404, 405):
        return explain(DELIVERY, C.ROUTE_NOT_FOUND, _ANSWER, data=data, **fields)
    if code >= 500:
        return explain(DELIVERY, C.HANDLER_ERROR, _ANSWER, data=data, **fields)
    headers, raw = sent
    if await _accepts_canonical(client, path, headers, raw):
        data["canonical_resend"] = "accepted"
        return explain(DELIVERY, C.RAW_BODY_VERIFICATION, _ANSWER, data=data, **fields)
    if not secret:
        return explain(DELIVERY, C.DELIVERY_REJECTED, _ANSWER, data=data, **fields)
    verdict = verify(raw, headers, secret).get("webhooks.signature")
    if verdict is not None and verdict.status is Status.OK:
        return explain(DELIVERY, C.VALID_SIGNATURE_REJECTED, _ANSWER, data=data, **fields)
    shown = f"{verdict.summary} ({verdict.cause})" if verdict is not None else "no verdict"
    data["signature_cause"] = verdict.cause if verdict is not None else None
    fix = (
        verdict.fix
        if verdict is not None and verdict.fix
        else "Replay with the subscription's secret."
    )
    return explain(
        DELIVERY, C.SIGNATURE_INVALID, _ANSWER, data=data, verdict=shown, fix=fix, **fields
    )


async def _send(
    client: ServiceClient, n: int, delivery: Delivery, path: str, secret: str | bytes | None
) -> Finding:
    prepared = _prepared(delivery, secret)
    if prepared is None:
        return Finding(
            DELIVERY, Status.SKIP, f"delivery {n}: a bare svc-infra event, and no secret= to sign it",
            fix="Pass secret= (the subscription's secret) to send events as svc-infra does.",
            cause=C.NO_BODY,
        )  # fmt: skip
    headers, body = prepared
    try:
        response = await client.request("POST", path, headers=headers, content=body)
    except client.errors as exc:
        return transport_failure(
            DELIVERY, exc, client.url(path), client.deadline.timeout, data={"delivery": n}
        )
    code = response.status_code
    if 200 <= code < 300:
        event = f" (event {delivery.event_id})" if delivery.event_id else ""
        return Finding(
            DELIVERY,
            Status.OK,
            f"delivery {n}{event}: accepted with {code}",
            data={"delivery": n, "status_code": code},
        )
    excerpt = scrub(response.text[:_EXCERPT])
    return await _explained(
        client, n, code, f"The app answered: {excerpt!r}", (headers, body), secret, path
    )


def _summary(findings: list[Finding], path: str, unreadable: int) -> Finding:
    accepted = sum(f.status is Status.OK for f in findings)
    data = {"sent": len(findings), "accepted": accepted, "path": path, "unreadable": unreadable}
    failed = [f for f in findings if f.status is not Status.OK]
    if not failed:
        return Finding(
            CHECK,
            Status.OK,
            f"{accepted}/{len(findings)} deliveries accepted by POST {path}",
            data=data,
        )
    cause = Counter(str(f.cause) for f in failed).most_common(1)[0][0]
    example = next(f for f in failed if f.cause == cause)
    worst = max((f.status for f in failed), key=lambda s: s.rank)
    summary = f"{accepted}/{len(findings)} deliveries accepted by POST {path}; {len(failed)} not: {example.summary}"
    return Finding(CHECK, worst, summary, example.detail, example.fix, data, cause=cause)


async def _replay_all(
    target: Target,
    deadline: Deadline,
    items: list[Delivery],
    path: str,
    secret: Any,
    unreadable: int,
) -> list[Finding]:
    lifespan = Lifespan(target.app) if target.in_process else None
    try:
        state: dict[str, Any] = {}
        if lifespan is not None:
            result = await lifespan.start(deadline.left())
            if result.outcome in (Outcome.FAILED, Outcome.TIMEOUT):
                skipped = Finding(
                    CHECK, Status.SKIP, "not replayed: the app did not start", cause=C.NOT_STARTED
                )
                return [startup_finding(result, deadline.timeout), skipped]
            state = lifespan.state
        async with ServiceClient(target, deadline, state) as client:
            sent = [await _send(client, i + 1, d, path, secret) for i, d in enumerate(items)]
        return [_summary(sent, path, unreadable), *sent]
    finally:
        if lifespan is not None:
            await lifespan.stop(max(deadline.left(), _SHUTDOWN_FLOOR_S))


async def replay(
    target: Any,
    deliveries: Any,
    *,
    path: str,
    secret: str | bytes | None = None,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
) -> Report:
    """Send captured webhook deliveries into the app's route at ``path`` and explain each answer.

    ``deliveries``: a ``webhooks.Receiver`` (or ``rx.requests``), a DataFrame
    with a ``body`` column, a list of ``{"headers", "body"}`` mappings, or a
    JSON-lines file. They go as captured, or re-signed with ``secret``. The
    report's ``service.replay`` finding sums up; one ``service.replay.delivery``
    finding per delivery follows. Returns within about ``timeout`` seconds.
    """
    timeout = check_timeout(timeout)
    path = _check_arguments(path, secret)
    loaded = load_deliveries(deliveries)
    if isinstance(loaded, Finding):
        return Report([loaded], title="svc_nb webhook replay")
    items, unreadable = loaded
    resolved = await resolve_target_async(target, timeout)
    if isinstance(resolved, Finding):
        skipped = Finding(
            CHECK, Status.SKIP, "not replayed: the target names no app", cause=C.NOT_STARTED
        )
        return Report([resolved, skipped], title="svc_nb webhook replay")
    findings = await _replay_all(resolved, Deadline(timeout), items, path, secret, unreadable)
    return Report(findings, title=f"svc_nb webhook replay into {resolved.label}")
