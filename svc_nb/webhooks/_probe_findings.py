"""What the probe's findings say: one table from cause to explanation, and the HTTP answer's meaning."""

from __future__ import annotations

from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Status
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._url import Target

__all__ = ["EXPLAIN", "http_finding", "latency_finding"]

_SLOW_SHARE = 0.5  # an answer taking this share of the delivery timeout is close to it

_CLIENT_ERROR_WHY = {
    404: "nothing is routed at this path",
    405: "the route does not accept POST",
    413: "the body is too large for the server",
    429: "the endpoint rate-limits",
}
_CLIENT_ERROR_FIX = {
    404: "Check the path in {url}.",
    405: "Accept POST on this route.",
    429: "Raise the receiver's rate limit for svc-infra's deliveries.",
}

EXPLAIN: dict[C, Explanation] = {
    C.BAD_URL: Explanation(Status.FAIL, "{summary}", "URL: {shown!r}", "{fix}"),
    C.BAD_SECRET: Explanation(
        Status.FAIL, "cannot sign the test event", "{error}", "Pass the secret as whsec_<base64>."
    ),
    C.TCP_TIMEOUT: Explanation(
        Status.FAIL,
        "no answer to a TCP connect to {where} within {timeout:g} s",
        "Packets are dropped (firewall, security group, wrong IP, host down); a closed port on a "
        "live host would refuse at once instead.",
        "Check that {where} is reachable from where svc-infra runs (nc -vz {host} {port}) and that "
        "firewalls allow it.",
    ),
    C.DNS: Explanation(
        Status.FAIL,
        "host name {host!r} does not resolve",
        "DNS lookup failed: {error}.",
        "Fix the host name in the subscription URL, or its DNS record.",
    ),
    C.REFUSED: Explanation(
        Status.FAIL,
        "connection to {where} refused",
        "The host answered but nothing listens on that port.",
        "Start the receiver on port {port}, or fix the port in the subscription URL.",
    ),
    C.UNREACHABLE: Explanation(
        Status.FAIL,
        "cannot connect to {where}: {error}",
        "The network stack reported an error before any HTTP was exchanged.",
        "Check routing to {where} from where svc-infra runs.",
    ),
    C.REDIRECT: Explanation(
        Status.FAIL,
        "{head}: redirects to {location}",
        "svc-infra's httpx client does not follow redirects: a 3xx counts as a failed delivery and "
        "is retried until the dead-letter queue. (Following it would also turn the POST into a GET "
        "for 301/302/303.)",
        "Register the final URL {location} as the subscription URL (often http→https or a missing "
        "trailing slash).",
    ),
    C.AUTH: Explanation(Status.FAIL, "{head}: rejected (authentication)", "{why}{said}", "{fix}"),
    C.BAD_REQUEST: Explanation(
        Status.WARN,
        "{head}: reachable, but the test event was refused",
        "The endpoint answers, but rejects svc_nb's test event (topic svc_nb.probe) — fine if it "
        "validates topics; a real event may pass.{said}",
        "Check the endpoint accepts svc-infra's event shape {{topic, payload, version, created_at}}.",
    ),
    C.CLIENT_ERROR: Explanation(
        Status.FAIL,
        "{head}: client error, {why}",
        "svc-infra retries every non-2xx answer, then dead-letters it.{said}",
        "{fix}",
    ),
    C.SERVER_ERROR: Explanation(
        Status.FAIL,
        "{head}: server error",
        "The receiver failed while handling the event; svc-infra retries (60, 120, 180, 240 s) and "
        "then dead-letters it.{said}",
        "Read the receiver's logs/traceback for this request.",
    ),
    C.UNEXPECTED_STATUS: Explanation(
        Status.FAIL, "{head}: unexpected status", "{said}", "Answer webhooks with a 2xx status."
    ),
    C.HTTP_TIMEOUT: Explanation(
        Status.FAIL,
        "no HTTP answer within {timeout:g} s",
        "The server accepted the connection but did not answer the POST. {hint}",
        "Answer webhooks quickly (2xx first, then process the event in the background).",
    ),
    C.PROTOCOL: Explanation(
        Status.FAIL,
        "HTTP exchange failed: {error}",
        "The connection closed or broke before a complete HTTP answer.",
        "Read the receiver's logs; check it speaks HTTP/1.1 on this port.",
    ),
    C.SLOW: Explanation(
        Status.WARN,
        "slow answer: {elapsed:.2f} s, {share:.0%} of svc-infra's {limit:g} s delivery timeout",
        "Under load it will cross the timeout; a timed-out delivery is retried even if the receiver "
        "processed it, so events arrive twice.",
        "Acknowledge with 2xx at once and process in the background; dedupe on X-Event-Id. Raising "
        "WEBHOOK_DELIVERY_TIMEOUT_SECONDS only hides it.",
    ),
    C.TIMEOUT: Explanation(
        Status.FAIL,
        "probe stopped at its {timeout:g} s timeout during {stage}",
        "The peer kept the connection open without finishing this stage.",
        "Check {url} answers; raise timeout= to wait longer.",
    ),
    C.NOT_TRIED: Explanation(Status.SKIP, "not tried: {why}"),
    C.NOT_CONFIGURED: Explanation(
        Status.SKIP,
        "no webhook endpoint configured to probe",
        "diagnose() probes a receiver only when told which one.",
        "Set SVC_NB_WEBHOOK_URL=https://your-receiver/path (and SVC_NB_WEBHOOK_SECRET to sign the "
        "test event), or call await svc_nb.webhooks.probe(url).",
    ),
}


def _status_cause(status: int) -> C | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return C.REDIRECT
    if status in (401, 403):
        return C.AUTH
    if status in (400, 422):
        return C.BAD_REQUEST
    if 400 <= status < 500:
        return C.CLIENT_ERROR
    return C.SERVER_ERROR if 500 <= status < 600 else C.UNEXPECTED_STATUS


def _auth_text(signed: bool) -> dict[str, str]:
    if not signed:
        return {
            "why": "The test event was unsigned, so a verifying endpoint rightly rejects it.",
            "fix": "Pass secret= (the subscription's secret) to probe() to send a signed event.",
        }
    return {
        "why": "The endpoint rejected the signed test event: its secret differs, or it verifies the raw "
        "body instead of the canonical JSON svc-infra signs.",
        "fix": "Compare secret fingerprints, and verify X-Signature over canonical JSON "
        "(svc_nb.webhooks.verify explains mismatches).",
    }


def http_finding(
    status: int, location: str | None, elapsed: float, excerpt: str, signed: bool, target: Target
) -> Finding:
    data: dict[str, Any] = {
        "status_code": status,
        "latency_ms": round(elapsed * 1000, 1),
        "excerpt": excerpt,
        "signed": signed,
    }
    head = f"HTTP {status} in {round(elapsed * 1000, 1):g} ms"
    cause = _status_cause(status)
    if cause is None:
        return Finding("webhooks.http", Status.OK, f"{head}: test event accepted", data=data)
    fields: dict[str, Any] = {
        "head": head,
        "said": f" The endpoint answered: {excerpt!r}." if excerpt else "",
    }
    if cause is C.REDIRECT:
        fields["location"] = data["location"] = (
            mask_url(location) if location else "(no Location header)"
        )
    elif cause is C.AUTH:
        fields |= _auth_text(signed)
    elif cause is C.CLIENT_ERROR:
        fields["why"] = _CLIENT_ERROR_WHY.get(status, "the endpoint refused the request")
        fields["fix"] = _CLIENT_ERROR_FIX.get(
            status, "Read the endpoint's logs for this request."
        ).format(url=target.shown)
    return explain("webhooks.http", cause, EXPLAIN, data=data, **fields)


def latency_finding(elapsed: float, limit: float) -> Finding:
    share = elapsed / limit
    data = {
        "latency_ms": round(elapsed * 1000, 1),
        "delivery_timeout_s": limit,
        "share": round(share, 3),
    }
    if share >= _SLOW_SHARE:
        return explain(
            "webhooks.latency",
            C.SLOW,
            EXPLAIN,
            data=data,
            elapsed=elapsed,
            share=share,
            limit=limit,
        )
    return Finding(
        "webhooks.latency",
        Status.OK,
        f"answered in {data['latency_ms']:g} ms ({share:.0%} of the {limit:g} s delivery timeout)",
        data=data,
    )
