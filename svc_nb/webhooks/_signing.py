"""Webhook signatures: :func:`sign` for four schemes, and :func:`verify`, which explains every mismatch.

The happy path computes one signature per secret and compares it in constant
time; the cause-hunting (other secrets' encodings, body transformations,
timestamps) runs only after a mismatch, in :mod:`svc_nb.webhooks._mismatch`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from svc_nb._clock import Now, unix_seconds
from svc_nb._report import Report
from svc_nb._validate import check_duration
from svc_nb.webhooks._causes import WebhooksCause
from svc_nb.webhooks._errors import SigningError
from svc_nb.webhooks._headers import HeaderProblem, Parsed, detect_in, lower_headers, read_signature
from svc_nb.webhooks._mismatch import Mismatch, explain_mismatch
from svc_nb.webhooks._schemes import (
    SCHEMES,
    BodyInput,
    HeadersInput,
    SecretInput,
    body_bytes,
    canonical_json,
    check_scheme,
    mac,
    remember,
    scheme_key,
    secret_list,
    sign,
)
from svc_nb.webhooks._verdicts import (
    TITLE,
    guide_header_finding,
    header_problem_finding,
    is_milliseconds,
    no_scheme_finding,
    ok_finding,
    ok_report,
    rotation_finding,
    signature_finding,
    timestamp_findings,
)
from svc_nb.webhooks._verify_fast import deferred_valid, valid_data, valid_delivery, valid_finding

__all__ = ["SCHEMES", "canonical_json", "sign", "verify"]

_CANONICAL_DETAIL = (
    "svc-infra signs json.dumps(event, sort_keys=True, separators=(',', ':')) but POSTs "
    "httpx's own serialisation; only the canonical form matches, which is expected. "
    "A receiver that HMACs the raw body (the guide's recipe) rejects this delivery."
)
_CANONICAL_FIX = (
    "Verify hmac(secret, canonical_json(json.loads(body))) — svc_nb.webhooks.canonical_json."
)


def _canonical_or_none(raw: bytes) -> bytes | None:
    try:
        return canonical_json(raw.decode("utf-8-sig"))
    except (SigningError, UnicodeDecodeError):
        return None


def _accepted(
    scheme: str,
    parsed: Parsed,
    index: int,
    secrets: Sequence[str | bytes],
    now_s: float,
    tolerance: float,
    h: Mapping[str, str],
    *,
    form: str,
) -> Report:
    ts = parsed.timestamp
    timely = ts is None or not (is_milliseconds(ts) or abs(now_s - ts) > tolerance)
    if form == "raw" and index == 0 and timely and "x-webhook-signature" not in h:
        return deferred_valid(scheme, ts, now_s)  # the common valid delivery, worded on demand
    if form == "canonical":
        data = valid_data(scheme, index, form, ts, now_s)
        summary = f"{scheme} signature valid over the canonical JSON (the raw body differs)"
        findings = [ok_finding(summary, _CANONICAL_DETAIL, _CANONICAL_FIX, data)]
    else:
        findings = [valid_finding(scheme, ts, now_s, index=index, form=form)]
    if index > 0:
        findings.append(rotation_finding(index, secrets))
    if not timely:
        findings.extend(timestamp_findings(parsed, now_s, tolerance, scheme))
    if "x-webhook-signature" in h:
        findings.append(guide_header_finding())
    return ok_report(findings)


def _keys(scheme: str, secrets: Sequence[str | bytes]) -> list[bytes | None]:
    keys: list[bytes | None] = []
    for secret in secrets:
        try:
            keys.append(scheme_key(scheme, secret))
        except SigningError:  # a Standard Webhooks secret that is not base64: explained later
            keys.append(None)
    return keys


def _header_problem(problem: HeaderProblem, h: Mapping[str, str]) -> Report:
    findings = [header_problem_finding(problem)]
    if "x-webhook-signature" in h:
        findings.append(guide_header_finding())
    return Report(findings, title=TITLE)


def verify(
    body: BodyInput,
    headers: HeadersInput,
    secret: SecretInput,
    *,
    scheme: str | None = None,
    tolerance: float = 300,
    now: Now = None,
) -> Report:
    """Check a received webhook's signature; explain the cause when it does not match.

    ``body`` is the raw request body (bytes as received); ``headers`` the request
    headers (mapping or pairs, str or bytes, JSON or ``Name: value`` lines);
    ``secret`` one secret or a list of them (rotation). ``scheme`` None detects
    it from the headers. ``tolerance`` (finite seconds) bounds a signed
    timestamp's age. Returns a Report whose ``webhooks.signature`` finding
    holds the verdict.
    """
    fast = valid_delivery(body, headers, secret, scheme, tolerance, now)
    if fast is not None:
        return fast
    # Argument checks first, cheapest form first: verify() sits in receivers' hot paths.
    secrets = secret_list(secret)
    if scheme is not None and scheme not in SCHEMES:
        check_scheme(scheme)
    # NaN and inf fail the comparison and reach the validator, which says what to pass.
    if not (type(tolerance) in (int, float) and 0 <= tolerance < math.inf):
        tolerance = check_duration(tolerance, name="tolerance")
    raw = body_bytes(body)
    now_s = unix_seconds(now)
    remember(secrets)
    h = lower_headers(headers)
    used = scheme or detect_in(h)
    if used is None:
        return Report([no_scheme_finding(h)], title=TITLE)
    usable = secrets if all(secrets) else [s for s in secrets if s]
    if not usable:
        return Report(
            [signature_finding(WebhooksCause.EMPTY_SECRET, data={"scheme": used})], title=TITLE
        )
    try:
        parsed = read_signature(used, h)
    except HeaderProblem as problem:
        return _header_problem(problem, h)
    keys = _keys(used, usable)
    for index, key in enumerate(keys):
        if key is not None and parsed.matches(mac(key, parsed.prefix + raw, parsed.algo)):
            return _accepted(used, parsed, index, usable, now_s, tolerance, h, form="raw")
    # svc-infra signs the canonical JSON, not httpx's serialisation.
    canonical = _canonical_or_none(raw) if used == "svc-infra" else None
    if canonical is not None and canonical != raw:
        for index, key in enumerate(keys):
            if key is not None and parsed.matches(mac(key, canonical)):
                return _accepted(used, parsed, index, usable, now_s, tolerance, h, form="canonical")
    mismatch = Mismatch(used, parsed, raw, canonical, usable, keys)
    return explain_mismatch(mismatch, h, now_s, tolerance)
