"""What a signature check tells the user: one table from cause to explanation, and its findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import fingerprint
from svc_nb._report import Finding, Report, Status
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._headers import HeaderProblem, Parsed

__all__ = [
    "CHECK",
    "TITLE",
    "guide_header_finding",
    "header_problem_finding",
    "is_milliseconds",
    "no_scheme_finding",
    "ok_finding",
    "ok_report",
    "rotation_finding",
    "signature_finding",
    "timestamp_findings",
]

CHECK = "webhooks.signature"
TITLE = "webhook signature"
_MS_THRESHOLD = 100_000_000_000  # a Unix time above this is in milliseconds (year 5138 in s)
_SHOWN_NAMES = 50  # header names listed when none is a signature header

_SECRET_MISMATCH = Explanation(
    Status.FAIL,
    "secret encoding mismatch: {why}",
    "Secret #{n} ({fp}) reproduces the signature once read this way. {rule}",
    "{fix}",
)
_CLOCK_FIX = (
    "Sync both clocks with NTP (timedatectl set-ntp true); a retried delivery must be re-signed "
    "with a fresh timestamp. Only raise tolerance= if you accept older replays."
)

_EXPLAIN: dict[C, Explanation] = {
    C.MISSING_HEADER: Explanation(
        Status.FAIL,
        "header {header} is missing ({scheme} scheme)",
        "The {scheme} scheme needs {header}: {expected}. Without it there is nothing to verify.",
        "Pass every request header to verify(), e.g. verify(body, dict(request.headers), secret); "
        "check that a proxy does not strip {header}.",
    ),
    C.MALFORMED_HEADER: Explanation(
        Status.FAIL,
        "header {header} is malformed ({scheme} scheme)",
        "Got {shown!r}; expected {expected}.",
        "Send {header} exactly as the {scheme} scheme defines it: {expected}.",
    ),
    C.GUIDE_HEADER: Explanation(
        Status.FAIL,
        "X-Webhook-Signature is the guide's header name; svc-infra never sends it",
        "svc-infra sends the signature in X-Signature (HMAC-SHA256, lowercase hex, over the "
        "canonical JSON of the event); the guide's X-Webhook-Signature and WEBHOOK_SECRET do not "
        "exist in svc-infra.",
        "Read request.headers['X-Signature'] and use the subscription's secret; "
        "svc_nb.webhooks.verify(body, headers, secret) does both.",
    ),
    C.EMPTY_SECRET: Explanation(
        Status.FAIL,
        "no secret given (empty)",
        "An empty secret cannot verify anything.",
        "Pass the subscription's signing secret (svc-infra stores it per subscription; "
        "WEBHOOK_SECRET is not an svc-infra setting).",
    ),
    C.SIGNATURE_ENCODING: Explanation(
        Status.FAIL,
        "signature encoding mismatch: {why}",
        "The MAC itself is right (secret #{n}, {fp}); only its text form differs.",
        "{fix}",
    ),
    C.TIMESTAMP_UNITS: Explanation(
        Status.FAIL,
        "signed over a timestamp in other units than the header carries ({signed} vs {sent})",
        "The signature covers the timestamp in {signed_units}, the header sends the other; the "
        "scheme wants seconds in both.",
        "Use one value, int(time.time()), for the header and the signed string.",
    ),
    C.SECRET_RAW: _SECRET_MISMATCH,
    C.SECRET_PREFIX: _SECRET_MISMATCH,
    C.SECRET_BASE64: _SECRET_MISMATCH,
    C.SECRET_WHITESPACE: Explanation(
        Status.FAIL,
        _SECRET_MISMATCH.summary,
        _SECRET_MISMATCH.detail,
        "Strip the secret when you read it: secret = open(path).read().strip().",
    ),
    C.SECRET_NOT_BASE64: Explanation(
        Status.FAIL,
        "secret #{n} ({fp}) is not a Standard Webhooks secret",
        "Standard Webhooks secrets are 'whsec_' + base64; this one does not decode, and none of "
        "the other readings reproduced the signature.",
        "Copy the secret exactly as the sender shows it (whsec_…).",
    ),
    C.BODY_ALTERED: Explanation(
        Status.FAIL,
        "body changed after signing: {why}",
        "HMAC over the body transformed back ({transformation}) matches secret #{n} ({fp}); the "
        "bytes you verified are not the bytes that were signed.",
        "Verify the raw request body exactly as received (await request.body()), before any JSON "
        "parsing, re-serialising, decoding or logging middleware touches it.",
    ),
    C.NON_STRING_KEYS: Explanation(
        Status.FAIL,
        "the sender signed int keys: no receiver can verify this event (the secret is right)",
        "Secret #{n} ({fp}) reproduces the signature once these objects' keys are sorted as "
        "numbers: {where}. The sender held them as int keys, and json.dumps(sort_keys=True) "
        "ordered them as numbers (2 before 10); on the wire they are text, which every receiver, "
        "svc-infra's own verify() included, sorts as text ('10' before '2').",
        "Publish payloads whose keys are all strings, e.g. {{str(k): v for k, v in d.items()}}. "
        "svc-infra's in-memory queue (the default) signs the dict as published; with "
        "JOBS_DRIVER=redis the keys become text before signing.",
    ),
    C.BODY_NOT_JSON: Explanation(
        Status.FAIL,
        "svc-infra signature does not match and the body is not JSON",
        "svc-infra signs the canonical JSON of the event; this body does not parse as JSON, so it "
        "is not what svc-infra sent (truncated, re-encoded, or another sender).",
        "Pass the raw request body as received: await request.body().",
    ),
    C.WRONG_SECRET: Explanation(
        Status.FAIL,
        "{scheme} signature does not match any of {count} secret(s)",
        "None of the {count} secret(s) you passed ({fps}) reproduces the signature, with or "
        "without the usual encoding mistakes and body changes. Either the sender signs with "
        "another secret, or the body was changed in a way svc_nb does not recognise.{note}",
        "Compare fingerprints: svc_nb.tokens.fingerprint() of the sender's secret must equal one "
        "of the candidates; for svc-infra the secret is the subscription's own (stored encrypted "
        "as enc:v1:… under WEBHOOK_ENCRYPTION_KEY).",
    ),
    C.TIMESTAMP_MILLISECONDS: Explanation(
        Status.FAIL,
        "timestamp {ts_text} is in milliseconds; {scheme} wants seconds",
        "As seconds it would be {as_seconds} UTC, {offset:+.0f} s from now; as written it is far "
        "in the future, so every receiver rejects it.",
        "Send int(time.time()), not int(time.time() * 1000) (JavaScript: Math.floor(Date.now() / 1000)).",
    ),
    C.TIMESTAMP_TOO_OLD: Explanation(
        Status.FAIL,
        "timestamp is {age:.0f} s in the past (tolerance {tolerance:g} s)",
        "A replayed or long-delayed delivery, or a slow clock on the receiver.",
        _CLOCK_FIX,
    ),
    C.TIMESTAMP_TOO_NEW: Explanation(
        Status.FAIL,
        "timestamp is {age:.0f} s in the future (tolerance {tolerance:g} s)",
        "The sender's clock runs ahead of the receiver's (or the receiver's clock is behind).",
        _CLOCK_FIX,
    ),
    C.OLDER_SECRET: Explanation(
        Status.WARN,
        "signed with secret #{n} of {count} ({fp}), not the first",
        "During rotation the sender still signs with a secret other than the first you listed; "
        "if the list is newest-first, the sender has not switched to the new secret yet.",
        "Finish the rotation: set the new secret on the sender's subscription, then drop the old "
        "one from the receiver's list.",
    ),
}

# No scheme recognised at all: the same cause as a missing header, worded for the general case.
_NO_SIGNATURE = {
    C.MISSING_HEADER: Explanation(
        Status.FAIL,
        "no signature header found",
        "Headers present: {names}. Looked for X-Signature (svc-infra), webhook-signature "
        "(Standard Webhooks), Stripe-Signature, X-Hub-Signature-256 (GitHub).",
        "Pass all request headers, e.g. verify(body, dict(request.headers), secret), or name the "
        "scheme: verify(..., scheme='svc-infra').",
    ),
}


def signature_finding(
    cause: C, *, check: str = CHECK, data: Mapping[str, Any] | None = None, **fields: Any
) -> Finding:
    """The finding for a signature cause, its text filled from ``fields``."""
    return explain(check, cause, _EXPLAIN, data=data, **fields)


def header_problem_finding(problem: HeaderProblem) -> Finding:
    return signature_finding(
        problem.cause,
        data={"header": problem.header, "scheme": problem.scheme},
        header=problem.header,
        scheme=problem.scheme,
        expected=problem.expected,
        shown=problem.shown,
    )


def guide_header_finding(*, primary: bool = False) -> Finding:
    """The guide's X-Webhook-Signature: the verdict when alone, a warning beside another scheme."""
    if primary:
        return signature_finding(C.GUIDE_HEADER)
    return explain("webhooks.guide_header", C.GUIDE_HEADER, _EXPLAIN, status=Status.WARN)


def no_scheme_finding(h: Mapping[str, str]) -> Finding:
    if "x-webhook-signature" in h:
        return guide_header_finding(primary=True)
    names = sorted(name[:64] for name in h)[:_SHOWN_NAMES]
    return explain(
        CHECK,
        C.MISSING_HEADER,
        _NO_SIGNATURE,
        data={"headers": names},
        names=", ".join(names) or "none",
    )


def is_milliseconds(ts: float) -> bool:
    """A Unix time that only makes sense in milliseconds (years 1973–5138 once divided)."""
    return _MS_THRESHOLD < ts < _MS_THRESHOLD * 1000


def timestamp_findings(
    parsed: Parsed, now_s: float, tolerance: float, scheme: str
) -> list[Finding]:
    """A failing finding when the signed timestamp is outside the tolerance (replay or skew)."""
    ts = parsed.timestamp
    if ts is None:
        return []
    if is_milliseconds(ts):
        seconds = ts / 1000
        return [
            signature_finding(
                C.TIMESTAMP_MILLISECONDS,
                check="webhooks.timestamp",
                data={"timestamp": ts, "age_s": round(now_s - seconds, 3)},
                ts_text=parsed.ts_text,
                scheme=scheme,
                offset=now_s - seconds,
                as_seconds=f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%d %H:%M:%S}",
            )
        ]
    age = now_s - ts
    if abs(age) <= tolerance:
        return []
    cause = C.TIMESTAMP_TOO_OLD if age > 0 else C.TIMESTAMP_TOO_NEW
    return [
        signature_finding(
            cause,
            check="webhooks.timestamp",
            data={"age_s": round(age, 3), "tolerance_s": tolerance},
            age=abs(age),
            tolerance=tolerance,
        )
    ]


def rotation_finding(index: int, secrets: Sequence[str | bytes]) -> Finding:
    return signature_finding(
        C.OLDER_SECRET,
        check="webhooks.rotation",
        data={"matched_secret": index},
        n=index + 1,
        count=len(secrets),
        fp=fingerprint(secrets[index]),
    )


def ok_finding(summary: str, detail: str, fix: str, data: dict[str, Any]) -> Finding:
    """The verdict of a valid signature (built like every Finding: scrubbed in one place)."""
    return Finding(CHECK, Status.OK, summary, detail, fix, data)


def ok_report(findings: Sequence[Finding]) -> Report:
    """A Report of a valid signature's findings."""
    return Report(findings, title=TITLE)
