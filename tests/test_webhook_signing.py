"""sign/verify: published vectors, reference libraries, round trips, every mismatch cause."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
import standardwebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svc_nb._redact import fingerprint
from svc_nb._report import Report, Status
from svc_nb.webhooks import (
    SCHEMES,
    SigningError,
    canonical_json,
    detect_scheme,
    parse_headers,
    sign,
    verify,
)

NOW = 1_714_000_000  # fixed clock for every time-judging call
STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # Standard Webhooks' published test secret
STRIPE_SECRET = "whsec_test_stripe_4c9e0a"
PLAIN_SECRET = "sekrit-svc-infra-1"
EVENT = {
    "topic": "invoice.created",
    "payload": {"id": "inv_1", "amount": 1200, "note": "café"},
    "version": 1,
    "created_at": "2026-01-01T00:00:00+00:00",
}
JSON_BODY = b'{"id":"evt_1","type":"invoice.paid","data":{"b":2,"a":1}}'


def _cause(report: Report) -> Any:
    return report["webhooks.signature"].cause


def _all_text(report: Report) -> str:
    return str(report) + report.to_json() + report._repr_html_()


# --------------------------------------------------------------------------- published vectors


def test_standard_webhooks_published_vector() -> None:
    # From the Standard Webhooks spec/README test vector.
    headers = sign(
        b'{"test": 2432232314}',
        STD_SECRET,
        scheme="standard",
        timestamp=1614265330,
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    report = verify(b'{"test": 2432232314}', headers, STD_SECRET, now=1614265330 + 10)
    assert report.ok and report["webhooks.signature"].data["scheme"] == "standard"


def test_github_documented_example() -> None:
    secret = "It's a Secret to Everybody"
    headers = sign(b"Hello, World!", secret, scheme="github")
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert headers["X-Hub-Signature-256"] == expected
    assert verify(b"Hello, World!", {"X-Hub-Signature-256": expected}, secret).ok
    # the legacy sha1 header alone is still verified
    sha1 = hmac.new(secret.encode(), b"Hello, World!", hashlib.sha1).hexdigest()
    assert verify(b"Hello, World!", {"X-Hub-Signature": f"sha1={sha1}"}, secret).ok


def test_svc_infra_scheme_is_hmac_hex_over_canonical_json() -> None:
    headers = sign(EVENT, PLAIN_SECRET)
    canonical = json.dumps(EVENT, sort_keys=True, separators=(",", ":")).encode()
    assert canonical_json(EVENT) == canonical
    assert (
        headers["X-Signature"]
        == hmac.new(PLAIN_SECRET.encode(), canonical, hashlib.sha256).hexdigest()
    )
    assert headers["X-Signature-Alg"] == "hmac-sha256" and headers["X-Signature-Version"] == "v1"
    assert headers["X-Topic"] == "invoice.created" and headers["X-Payload-Version"] == "1"
    assert headers["X-Attempt"] == "1" and headers["X-Event-Id"]
    assert "X-Webhook-Subscription" not in headers
    assert sign(EVENT, PLAIN_SECRET, subscription_id="sub_9")["X-Webhook-Subscription"] == "sub_9"


# --------------------------------------------------------------------------- reference libraries


def test_standardwebhooks_library_both_directions() -> None:
    body = JSON_BODY.decode()
    wh = standardwebhooks.Webhook(STD_SECRET)
    when = dt.datetime.now(dt.UTC)
    ours = sign(JSON_BODY, STD_SECRET, scheme="standard", timestamp=when, msg_id="msg_abc")
    wh.verify(body, ours)  # raises if ours is wrong
    theirs_sig = wh.sign("msg_xyz", when, body)
    theirs = {
        "webhook-id": "msg_xyz",
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": theirs_sig,
    }
    assert verify(JSON_BODY, theirs, STD_SECRET, now=when).ok
    # bytes secrets are raw keys on both sides
    raw_key = b"\x01\x02raw-key-bytes"
    assert verify(
        JSON_BODY,
        {
            **theirs,
            "webhook-signature": standardwebhooks.Webhook(raw_key).sign("msg_xyz", when, body),
        },
        raw_key,
        now=when,
    ).ok


def test_stripe_library_both_directions() -> None:
    stripe = pytest.importorskip("stripe")
    header = stripe.WebhookSignature.generate_signature_header(
        JSON_BODY.decode(), STRIPE_SECRET, timestamp=NOW
    )
    report = verify(JSON_BODY, {"Stripe-Signature": header}, STRIPE_SECRET, now=NOW + 1)
    assert report.ok and report["webhooks.signature"].data["scheme"] == "stripe"
    ours = sign(JSON_BODY, STRIPE_SECRET, scheme="stripe", timestamp=NOW)
    assert ours["Stripe-Signature"] == header
    stripe.WebhookSignature.verify_header(
        JSON_BODY.decode(), ours["Stripe-Signature"], STRIPE_SECRET, tolerance=None
    )


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("scheme", SCHEMES)
def test_round_trip_and_detection(scheme: str) -> None:
    secret = STD_SECRET if scheme in ("standard", "stripe") else PLAIN_SECRET
    body: Any = EVENT if scheme == "svc-infra" else JSON_BODY
    headers = sign(body, secret, scheme=scheme, timestamp=NOW, msg_id="m1")
    assert detect_scheme(headers) == scheme
    assert detect_scheme({k.upper(): v for k, v in headers.items()}) == scheme
    sent = canonical_json(EVENT) if scheme == "svc-infra" else JSON_BODY
    report = verify(sent, headers, secret, now=NOW)
    assert report.ok and report.worst is Status.OK, str(report)
    assert len(report) == 1
    finding = report["webhooks.signature"]
    assert finding.data["scheme"] == scheme and finding.data["matched_secret"] == 0
    # explicit scheme, header names in any case
    assert verify(
        sent, {k.title(): v for k, v in headers.items()}, secret, scheme=scheme, now=NOW
    ).ok
    # one changed byte fails
    tampered = sent.replace(b"1", b"2", 1)
    assert not verify(tampered, headers, secret, now=NOW).ok


def test_svc_infra_delivery_as_httpx_sends_it_only_canonical_matches() -> None:
    headers = sign(EVENT, PLAIN_SECRET)
    sent = httpx.Request("POST", "http://127.0.0.1/", json=EVENT).content  # what svc-infra POSTs
    assert sent != canonical_json(EVENT)
    # the guide's recipe — HMAC over the raw body — does not match
    naive = hmac.new(PLAIN_SECRET.encode(), sent, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(naive, headers["X-Signature"])
    report = verify(sent, headers, PLAIN_SECRET)
    finding = report["webhooks.signature"]
    assert report.ok and finding.data["form"] == "canonical"
    assert "canonical" in finding.summary and "raw body" in finding.detail
    # the canonical bytes themselves match as raw
    assert (
        verify(canonical_json(EVENT), headers, PLAIN_SECRET)["webhooks.signature"].data["form"]
        == "raw"
    )


def test_several_signatures_in_one_header() -> None:
    one = sign(JSON_BODY, STD_SECRET, scheme="standard", timestamp=NOW, msg_id="m1")
    other = sign(
        JSON_BODY,
        "whsec_" + base64.b64encode(b"another key").decode(),
        scheme="standard",
        timestamp=NOW,
        msg_id="m1",
    )
    multi = {
        **one,
        "webhook-signature": f"{other['webhook-signature']} v2,xyz {one['webhook-signature']}",
    }
    assert verify(JSON_BODY, multi, STD_SECRET, now=NOW).ok
    s1 = sign(JSON_BODY, STRIPE_SECRET, scheme="stripe", timestamp=NOW)["Stripe-Signature"]
    s2 = sign(JSON_BODY, "whsec_old", scheme="stripe", timestamp=NOW)["Stripe-Signature"]
    header = s2 + "," + s1.split(",")[1]
    assert verify(JSON_BODY, {"Stripe-Signature": header}, STRIPE_SECRET, now=NOW).ok


# --------------------------------------------------------------------------- rotation


def test_rotation_matches_older_secret_and_warns() -> None:
    headers = sign(JSON_BODY, "old-secret-abc", scheme="github")
    report = verify(JSON_BODY, headers, ["new-secret-xyz", "old-secret-abc"])
    assert report.ok
    assert report["webhooks.signature"].data["matched_secret"] == 1
    rotation = report["webhooks.rotation"]
    assert rotation.status is Status.WARN and rotation.cause == "older_secret"
    assert fingerprint("old-secret-abc") in rotation.summary
    assert "old-secret-abc" not in _all_text(report)
    # first of the list: no rotation warning
    assert len(verify(JSON_BODY, headers, ["old-secret-abc", "new-secret-xyz"])) == 1


def test_none_of_the_secrets_gives_fingerprints_never_secrets() -> None:
    headers = sign(EVENT, "the-real-secret-9")
    candidates = ["candidate-one-111", "candidate-two-222"]
    report = verify(canonical_json(EVENT), headers, candidates)
    finding = report["webhooks.signature"]
    assert finding.status is Status.FAIL and finding.cause == "wrong_secret"
    assert finding.data["candidates"] == [fingerprint(c) for c in candidates]
    assert all(fingerprint(c) in finding.detail for c in candidates)
    text = _all_text(report)
    assert all(c not in text for c in [*candidates, "the-real-secret-9"])


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize("scheme", ["standard", "stripe"])
def test_tolerance_edges_with_fixed_now(scheme: str) -> None:
    headers = sign(JSON_BODY, STD_SECRET, scheme=scheme, timestamp=NOW, msg_id="m1")
    assert verify(JSON_BODY, headers, STD_SECRET, now=NOW + 300).ok
    assert verify(JSON_BODY, headers, STD_SECRET, now=NOW - 300).ok
    old = verify(JSON_BODY, headers, STD_SECRET, now=NOW + 301)
    assert not old.ok and old["webhooks.signature"].status is Status.OK
    assert old["webhooks.timestamp"].cause == "timestamp_too_old"
    assert old["webhooks.timestamp"].data["age_s"] == 301
    new = verify(JSON_BODY, headers, STD_SECRET, now=dt.datetime.fromtimestamp(NOW - 301, dt.UTC))
    assert new["webhooks.timestamp"].cause == "timestamp_too_new"
    assert "future" in new["webhooks.timestamp"].summary
    assert verify(JSON_BODY, headers, STD_SECRET, now=NOW + 900, tolerance=900).ok


def test_timestamp_in_milliseconds() -> None:
    headers = sign(JSON_BODY, STD_SECRET, scheme="standard", timestamp=NOW * 1000, msg_id="m1")
    report = verify(JSON_BODY, headers, STD_SECRET, now=NOW + 2)
    assert report["webhooks.timestamp"].cause == "timestamp_milliseconds"
    assert "seconds" in report["webhooks.timestamp"].summary


def test_signed_seconds_sent_milliseconds() -> None:
    headers = sign(JSON_BODY, STRIPE_SECRET, scheme="stripe", timestamp=NOW)
    sig = headers["Stripe-Signature"].split(",")[1]
    report = verify(
        JSON_BODY, {"Stripe-Signature": f"t={NOW * 1000},{sig}"}, STRIPE_SECRET, now=NOW
    )
    assert _cause(report) == "timestamp_units"
    assert report["webhooks.timestamp"].cause == "timestamp_milliseconds"


# --------------------------------------------------------------------------- header causes


@pytest.mark.parametrize(
    ("scheme", "headers", "header"),
    [
        ("svc-infra", {"X-Topic": "a"}, "X-Signature"),
        ("github", {}, "X-Hub-Signature-256"),
        ("stripe", {}, "Stripe-Signature"),
        ("standard", {"webhook-signature": "v1,abc", "webhook-timestamp": str(NOW)}, "webhook-id"),
        ("standard", {"webhook-signature": "v1,abc", "webhook-id": "m"}, "webhook-timestamp"),
    ],
)
def test_missing_header(scheme: str, headers: dict[str, str], header: str) -> None:
    report = verify(JSON_BODY, headers, PLAIN_SECRET, scheme=scheme, now=NOW)
    finding = report["webhooks.signature"]
    assert finding.cause == "missing_header" and finding.data["header"] == header
    assert header in finding.summary


@pytest.mark.parametrize(
    ("headers", "header"),
    [
        ({"Stripe-Signature": "v1=abcdef"}, "Stripe-Signature"),
        ({"Stripe-Signature": f"t={NOW}"}, "Stripe-Signature"),
        ({"Stripe-Signature": "t=yesterday,v1=ab"}, "Stripe-Signature t="),
        ({"X-Hub-Signature-256": "757107ea0eb2"}, "X-Hub-Signature-256"),
        (
            {"webhook-id": "m", "webhook-timestamp": str(NOW), "webhook-signature": "v2,abc"},
            "webhook-signature",
        ),
        (
            {"webhook-id": "m", "webhook-timestamp": "soon", "webhook-signature": "v1,abc"},
            "webhook-timestamp",
        ),
    ],
)
def test_malformed_header(headers: dict[str, str], header: str) -> None:
    finding = verify(JSON_BODY, headers, STRIPE_SECRET, now=NOW)["webhooks.signature"]
    assert finding.cause == "malformed_header" and finding.data["header"] == header


def test_no_signature_header_at_all() -> None:
    finding = verify(JSON_BODY, {"Content-Type": "application/json"}, PLAIN_SECRET)[
        "webhooks.signature"
    ]
    assert finding.cause == "missing_header" and "X-Signature" in finding.detail


def test_guide_header_name_is_called_out() -> None:
    sig = hmac.new(PLAIN_SECRET.encode(), JSON_BODY, hashlib.sha256).hexdigest()
    report = verify(JSON_BODY, {"X-Webhook-Signature": sig}, PLAIN_SECRET)
    finding = report["webhooks.signature"]
    assert finding.cause == "guide_header"
    assert "X-Signature" in finding.detail and "WEBHOOK_SECRET" in finding.detail
    # alongside a real header: verdict from X-Signature, plus the warning
    both = verify(
        canonical_json(EVENT),
        {**sign(EVENT, PLAIN_SECRET), "X-Webhook-Signature": sig},
        PLAIN_SECRET,
    )
    assert both["webhooks.signature"].status is Status.OK
    assert both["webhooks.guide_header"].status is Status.WARN


# --------------------------------------------------------------------------- secret causes


def test_standard_secret_used_raw_by_sender() -> None:
    # sender HMACs with the whsec_ string's bytes instead of the decoded key
    to_sign = f"m1.{NOW}.".encode() + JSON_BODY
    sig = base64.b64encode(hmac.new(STD_SECRET.encode(), to_sign, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "m1", "webhook-timestamp": str(NOW), "webhook-signature": f"v1,{sig}"}
    report = verify(JSON_BODY, headers, STD_SECRET, now=NOW)
    assert _cause(report) == "secret_raw"
    assert "base64" in report["webhooks.signature"].summary


def test_stripe_secret_without_prefix() -> None:
    headers = sign(JSON_BODY, STRIPE_SECRET.removeprefix("whsec_"), scheme="stripe", timestamp=NOW)
    report = verify(JSON_BODY, headers, STRIPE_SECRET, now=NOW)
    assert _cause(report) == "secret_prefix" and "whsec_" in report["webhooks.signature"].summary
    # and the reverse: the receiver dropped the prefix
    headers = sign(JSON_BODY, STRIPE_SECRET, scheme="stripe", timestamp=NOW)
    assert (
        _cause(verify(JSON_BODY, headers, STRIPE_SECRET.removeprefix("whsec_"), now=NOW))
        == "secret_prefix"
    )


def test_secret_base64_decoded_by_sender() -> None:
    secret = base64.b64encode(b"0123456789abcdef").decode()
    sig = hmac.new(b"0123456789abcdef", JSON_BODY, hashlib.sha256).hexdigest()
    report = verify(JSON_BODY, {"X-Hub-Signature-256": f"sha256={sig}"}, secret)
    assert _cause(report) == "secret_base64"


def test_secret_with_trailing_newline() -> None:
    headers = sign(EVENT, PLAIN_SECRET)
    report = verify(canonical_json(EVENT), headers, PLAIN_SECRET + "\n")
    assert _cause(report) == "secret_whitespace" and ".strip()" in report["webhooks.signature"].fix


def test_standard_secret_not_base64() -> None:
    headers = sign(JSON_BODY, STD_SECRET, scheme="standard", timestamp=NOW, msg_id="m1")
    report = verify(JSON_BODY, headers, "whsec_not*base64!", now=NOW)
    assert _cause(report) == "secret_not_base64"
    with pytest.raises(SigningError, match="base64"):
        sign(JSON_BODY, "whsec_not*base64!", scheme="standard")


def test_empty_secret() -> None:
    assert (
        _cause(verify(JSON_BODY, sign(JSON_BODY, "x-secret", scheme="github"), ""))
        == "empty_secret"
    )


# --------------------------------------------------------------------------- signature encoding


def test_base64_signature_where_hex_expected() -> None:
    digest = hmac.new(PLAIN_SECRET.encode(), canonical_json(EVENT), hashlib.sha256).digest()
    headers = {"X-Signature": base64.b64encode(digest).decode()}
    report = verify(canonical_json(EVENT), headers, PLAIN_SECRET)
    assert (
        _cause(report) == "signature_encoding" and "base64" in report["webhooks.signature"].summary
    )


def test_hex_signature_where_base64_expected() -> None:
    to_sign = f"m1.{NOW}.".encode() + JSON_BODY
    digest = hmac.new(base64.b64decode(STD_SECRET[6:]), to_sign, hashlib.sha256).hexdigest()
    headers = {
        "webhook-id": "m1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": f"v1,{digest}",
    }
    report = verify(JSON_BODY, headers, STD_SECRET, now=NOW)
    assert _cause(report) == "signature_encoding" and "hex" in report["webhooks.signature"].summary


def test_uppercase_hex_and_prefixed_hex() -> None:
    headers = sign(EVENT, PLAIN_SECRET)
    upper = verify(
        canonical_json(EVENT), {"X-Signature": headers["X-Signature"].upper()}, PLAIN_SECRET
    )
    assert (
        _cause(upper) == "signature_encoding" and "uppercase" in upper["webhooks.signature"].summary
    )
    prefixed = verify(
        canonical_json(EVENT), {"X-Signature": "sha256=" + headers["X-Signature"]}, PLAIN_SECRET
    )
    assert _cause(prefixed) == "signature_encoding"


# --------------------------------------------------------------------------- body altered


def _pretty(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=2).encode()


@pytest.mark.parametrize(
    ("signed", "received", "code"),
    [
        (JSON_BODY, JSON_BODY + b"\n", "trailing_newline"),
        (JSON_BODY + b"\n", JSON_BODY, "missing_newline"),
        (JSON_BODY, b"\xef\xbb\xbf" + JSON_BODY, "bom"),
        (b"line one\nline two\n", b"line one\r\nline two\r\n", "crlf"),
        (JSON_BODY, _pretty(JSON_BODY), "compact_json"),
        (_pretty(JSON_BODY), JSON_BODY, "pretty_json"),
        (json.dumps(json.loads(JSON_BODY)).encode(), JSON_BODY, "spaced_json"),
        (
            json.dumps(json.loads(JSON_BODY), sort_keys=True).encode(),
            json.dumps(json.loads(JSON_BODY)).encode(),
            "key_order",
        ),
    ],
)
@pytest.mark.parametrize("scheme", ["github", "stripe", "standard"])
def test_body_altered_after_signing(signed: bytes, received: bytes, code: str, scheme: str) -> None:
    headers = sign(signed, STD_SECRET, scheme=scheme, timestamp=NOW, msg_id="m1")
    report = verify(received, headers, STD_SECRET, now=NOW)
    finding = report["webhooks.signature"]
    assert finding.status is Status.FAIL
    assert finding.cause == "body_altered" and finding.data["transformation"] == code
    assert "request.body()" in finding.fix


def test_svc_infra_body_changed_in_content() -> None:
    headers = sign(EVENT, PLAIN_SECRET)
    changed = canonical_json({**EVENT, "version": 2})
    assert _cause(verify(changed, headers, PLAIN_SECRET)) == "wrong_secret"
    assert _cause(verify(b"<html>not json", headers, PLAIN_SECRET)) == "body_not_json"


# --------------------------------------------------------------------------- inputs


def test_parse_headers_forms() -> None:
    raw = "POST /hook HTTP/1.1\nX-Signature: abc\ncontent-type: application/json\n\nnot a header"
    assert parse_headers(raw) == {"x-signature": "abc", "content-type": "application/json"}
    assert parse_headers('{"X-Signature": "abc", "X-Attempt": 2}') == {
        "x-signature": "abc",
        "x-attempt": "2",
    }
    assert parse_headers([("X-A", "1"), (b"X-B", b"2")]) == {"x-a": "1", "x-b": "2"}
    headers = sign(JSON_BODY, "gh-secret-1", scheme="github")
    text = "\n".join(f"{k}: {v}" for k, v in headers.items())
    assert verify(JSON_BODY, text, "gh-secret-1").ok
    assert verify(JSON_BODY, httpx.Headers(headers), "gh-secret-1").ok


def test_misuse_raises_with_guidance() -> None:
    with pytest.raises(SigningError, match="unknown signing scheme"):
        verify(JSON_BODY, {}, "s", scheme="hmac")
    with pytest.raises(TypeError, match="secret"):
        verify(JSON_BODY, {}, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="body"):
        verify(42, {}, "s")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aware"):
        verify(JSON_BODY, {}, "s", now=dt.datetime(2026, 1, 1))
    with pytest.raises(SigningError, match="empty"):
        sign(JSON_BODY, "", scheme="github")
    with pytest.raises(TypeError, match="one secret"):
        sign(JSON_BODY, ["a", "b"], scheme="github")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200)),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "X-Signature",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "Stripe-Signature",
                "X-Hub-Signature-256",
                "X-Hub-Signature",
                "X-Webhook-Signature",
                "svix-signature",
                "X-Other",
            ]
        )
        | st.text(max_size=12),
        st.text(max_size=80)
        | st.sampled_from(["v1,", "t=1,v1=", "sha256=", "t=,v1=a", "v1,=== v1,a"]),
        max_size=6,
    ),
    secret=st.one_of(
        st.text(max_size=30), st.binary(max_size=30), st.lists(st.text(max_size=20), max_size=3)
    ),
    scheme=st.sampled_from([None, *SCHEMES]),
)
def test_verify_and_detect_never_raise(
    body: Any, headers: dict[str, str], secret: Any, scheme: Any
) -> None:
    detect_scheme(headers)
    report = verify(body, headers, secret, scheme=scheme, now=NOW)
    assert isinstance(report, Report) and report.get("webhooks.signature") is not None


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300))
def test_parse_headers_never_raises_on_text(text: str) -> None:
    assert isinstance(parse_headers(text), dict)
    detect_scheme(text)


# --------------------------------------------------------------------------- trust: hostile or odd input


def test_non_finite_tolerance_or_now_is_refused() -> None:
    year_old = NOW - 365 * 86400
    headers = sign(JSON_BODY, STRIPE_SECRET, scheme="stripe", timestamp=year_old)
    # NaN compares false with every age: a year-old signature used to pass as fresh.
    for tolerance in (float("nan"), float("inf"), -1):
        with pytest.raises(ValueError, match="tolerance"):
            verify(JSON_BODY, headers, STRIPE_SECRET, tolerance=tolerance, now=NOW)
    with pytest.raises(TypeError, match="tolerance"):
        verify(JSON_BODY, headers, STRIPE_SECRET, tolerance="300", now=NOW)  # type: ignore[arg-type]
    for now in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="now"):
            verify(JSON_BODY, headers, STRIPE_SECRET, now=now)
    old = verify(JSON_BODY, headers, STRIPE_SECRET, now=NOW)
    assert not old.ok and old["webhooks.timestamp"].cause == "timestamp_too_old"


def test_bytes_headers_verify() -> None:
    headers = sign(EVENT, PLAIN_SECRET)
    as_bytes = {k.encode(): v.encode() for k, v in headers.items()}
    assert detect_scheme(as_bytes) == "svc-infra"
    assert verify(canonical_json(EVENT), as_bytes, PLAIN_SECRET).ok
    # ASGI scopes carry a list of (bytes, bytes) pairs; raw header text may arrive as bytes too
    assert verify(canonical_json(EVENT), list(as_bytes.items()), PLAIN_SECRET).ok
    text = "\r\n".join(f"{k}: {v}" for k, v in headers.items()).encode()
    assert verify(canonical_json(EVENT), text, PLAIN_SECRET).ok
    missing = verify(canonical_json(EVENT), {b"X-Other": b"1"}, PLAIN_SECRET)
    assert missing["webhooks.signature"].cause == "missing_header"


@pytest.mark.parametrize(
    "text",
    [
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000,
        '{"X-Signature": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_deeply_nested_header_text_never_raises(text: str) -> None:
    import time

    started = time.perf_counter()
    assert isinstance(parse_headers(text), dict)
    assert detect_scheme(text) in (None, "svc-infra")
    report = verify(JSON_BODY, text, PLAIN_SECRET)
    assert report["webhooks.signature"].cause in ("missing_header", "wrong_secret", "body_not_json")
    assert time.perf_counter() - started < 2.0


def test_deeply_nested_body_is_explained_or_refused() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    headers = sign(EVENT, PLAIN_SECRET)
    assert _cause(verify(deep.encode(), headers, PLAIN_SECRET)) == "body_not_json"
    with pytest.raises(SigningError, match="nested too deeply"):
        sign(deep, PLAIN_SECRET)
    with pytest.raises(SigningError, match="nested too deeply"):
        canonical_json(deep)


def test_one_error_tree_and_the_cause_vocabulary() -> None:
    from svc_nb import SvcNbError
    from svc_nb.webhooks import AttemptsError, WebhooksCause, WebhooksError

    assert issubclass(WebhooksError, SvcNbError) and issubclass(WebhooksError, ValueError)
    assert issubclass(SigningError, WebhooksError) and issubclass(AttemptsError, WebhooksError)
    assert all(member.description for member in WebhooksCause)
    # every cause the signature checks produce is a member of the vocabulary
    codes = {m.value for m in WebhooksCause}
    for cause in (
        "wrong_secret",
        "body_altered",
        "missing_header",
        "timestamp_too_old",
        "older_secret",
    ):
        assert cause in codes


def test_every_non_ok_signature_finding_has_a_cause() -> None:
    headers = sign(JSON_BODY, STRIPE_SECRET, scheme="stripe", timestamp=NOW)
    reports = [
        verify(JSON_BODY, headers, ["wrong-secret-1", STRIPE_SECRET], now=NOW + 1000),
        verify(JSON_BODY + b"\n", {**headers, "X-Webhook-Signature": "x"}, STRIPE_SECRET, now=NOW),
        verify(JSON_BODY, {}, STRIPE_SECRET),
    ]
    for report in reports:
        for finding in report:
            assert (finding.cause is None) == (finding.status is Status.OK), finding
