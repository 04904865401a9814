"""The JWT inspector widget, tested as an object: set values, read the rendered output."""

from __future__ import annotations

import base64
import json
import re
import time

import jwt

from svc_nb import tokens
from svc_nb.widgets import jwt_inspector
from svc_nb.widgets._jwt import timeline_svg
from tests._widgets import displayed, type_into

NOW = 1_750_000_000
SECRET = "widget-secret-0123456789abcdef-ABCDEFG"


def _marks(page: str) -> list[str]:
    return re.findall(r'data-mark="(\w+)"', page)


def test_updates_on_every_change_and_never_echoes_the_key() -> None:
    good = tokens.make(secret=SECRET, now=NOW - 60)
    inspector = jwt_inspector(good, now=NOW)
    seen = [inspector.output.value]
    assert 'data-verdict="unverified"' in seen[-1]
    assert "header" in seen[-1].lower() and "svcnb-claims" in seen[-1]

    inspector.key.value = SECRET
    seen.append(inspector.output.value)
    assert 'data-verdict="valid"' in seen[-1]
    assert _marks(seen[-1]) == ["now", "exp"]

    inspector.key.value = "another-secret-0123456789abcdef-XYZ"
    seen.append(inspector.output.value)
    assert 'data-verdict="invalid"' in seen[-1] and "signature mismatch" in seen[-1]
    assert inspector.report["tokens.signature"].cause == "bad_signature"

    inspector.key.value = SECRET
    expired = tokens.make(secret=SECRET, lifetime=60, now=NOW - 90)  # 30 s late: skew
    inspector.token.value = f"Bearer {expired}\n"
    seen.append(inspector.output.value)
    assert 'data-verdict="invalid"' in seen[-1] and "expired 30 s ago" in seen[-1]
    assert "leeway=31" in seen[-1] and "stripped" in seen[-1]
    assert inspector.report["tokens.exp"].cause == "expired_clock_skew"
    assert inspector.report["tokens.input"].cause == "pasted_decoration"

    inspector.leeway.value = 35
    seen.append(inspector.output.value)
    assert 'data-verdict="valid"' in seen[-1]
    assert "accepted only thanks to leeway=35" in seen[-1]
    assert inspector.report["tokens.exp"].cause == "accepted_by_leeway"

    for page in [*seen, displayed(inspector)]:
        assert SECRET not in page
        assert "another-secret-0123456789abcdef-XYZ" not in page
        for token in (good, expired):
            assert token.rsplit(".", 1)[1] not in page  # signatures hidden


def test_audience_field_names_the_mfa_pre_token() -> None:
    pre = tokens.make(secret=SECRET, audience=[tokens.MFA_AUDIENCE], lifetime=300, now=NOW)
    inspector = jwt_inspector(pre, SECRET, now=NOW)
    inspector.audience.value = tokens.ACCESS_AUDIENCE
    assert "MFA pre-token" in inspector.output.value
    assert inspector.report["tokens.aud"].cause == "mfa_pre_token"
    assert 'data-verdict="invalid"' in inspector.output.value


def test_empty_and_malformed_inputs() -> None:
    inspector = jwt_inspector(now=NOW)
    assert "Paste a token" in inspector.output.value
    inspector.token.value = "eyJhbGciOi.not-a-token"
    assert "2 segment(s)" in inspector.output.value
    assert inspector.report["tokens.format"].cause == "wrong_segment_count"
    inspector.token.value = "   "
    assert "Paste a token" in inspector.output.value


def test_timeline_places_iat_nbf_now_exp_in_time_order() -> None:
    svg = timeline_svg({"iat": NOW - 100, "nbf": NOW - 50, "exp": NOW + 500, "now": NOW})
    assert _marks(svg) == ["iat", "nbf", "now", "exp"]
    xs = [float(x) for x in re.findall(r'data-mark="\w+"><line x1="([\d.]+)"', svg)]
    assert xs == sorted(xs) and xs[0] < xs[-1]
    assert 'stroke="#2da44e"' in svg  # now inside the valid window: green
    expired = timeline_svg({"exp": NOW - 10, "now": NOW})
    assert 'stroke="#cf222e" stroke-width="6"' in expired
    assert timeline_svg({"now": NOW}) == ""


def test_widget_renders_from_real_pyjwt_token_with_iat_and_nbf() -> None:
    token = jwt.encode(
        {"sub": "u", "iat": NOW - 10, "nbf": NOW - 5, "exp": NOW + 60}, SECRET, algorithm="HS256"
    )
    inspector = jwt_inspector(token, SECRET, now=NOW)
    assert _marks(inspector.output.value) == ["iat", "nbf", "now", "exp"]
    assert inspector.report.verdict == "valid"
    bundle = inspector._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_key_and_signature_stay_out_of_widget_state() -> None:
    token = tokens.make(secret=SECRET, now=NOW - 60)
    head, signature = token.rsplit(".", 1)
    inspector = jwt_inspector(now=NOW)
    type_into(inspector.token, f"Bearer {token}\n")
    type_into(inspector.key, SECRET)
    assert 'data-verdict="valid"' in inspector.output.value
    # The password field is emptied once read; its placeholder names the key by fingerprint.
    assert inspector.key.value == ""
    assert tokens.fingerprint(SECRET) in inspector.key.placeholder
    # The token field shows the token without its signature.
    assert head in inspector.token.value and signature not in inspector.token.value
    state = displayed(inspector)
    assert SECRET not in state and signature not in state
    assert "eyJ" not in json.dumps(inspector._repr_mimebundle_()["text/plain"])

    # Editing the shown text keeps the hidden signature: whitespace around it changes nothing...
    type_into(inspector.token, inspector.token.value + "  ")
    assert inspector.report is not None and inspector.report.verdict == "valid"
    # ... and a changed claim is checked against the real signature: a mismatch, not a parse error.
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = head.split(".")[0] + "." + _b64url({**claims, "sub": "admin"})
    type_into(inspector.token, inspector.token.value.replace(head, forged))
    assert inspector.report["tokens.signature"].cause == "bad_signature"
    assert signature not in displayed(inspector)

    # A new token pasted over the old one is inspected as typed.
    other = tokens.make(secret=SECRET, lifetime=60, now=NOW - 90)
    type_into(inspector.token, other)
    assert inspector.report["tokens.exp"].cause == "expired_clock_skew"
    assert other.rsplit(".", 1)[1] not in displayed(inspector)

    inspector.forget_key.click()
    assert inspector.report["tokens.signature"].cause == "not_verified"
    assert tokens.fingerprint(SECRET) not in inspector.key.placeholder
    assert inspector.forget_key.disabled


def test_key_given_in_code_never_reaches_the_browser() -> None:
    token = tokens.make(secret=SECRET, now=NOW - 60)
    inspector = jwt_inspector(token, SECRET, now=NOW)
    assert 'data-verdict="valid"' in inspector.output.value
    state = displayed(inspector)
    assert SECRET not in state and token.rsplit(".", 1)[1] not in state
    assert inspector.token.value.startswith(token.rsplit(".", 1)[0])


def test_a_pasted_megabyte_token_stays_responsive() -> None:
    big = jwt.encode({"sub": "u", "exp": NOW + 600, "blob": "x" * 750_000}, SECRET, "HS256")
    assert len(big) > 1_000_000
    inspector = jwt_inspector(key=SECRET, now=NOW)
    cases = [(big, "valid"), (f"Bearer {big}\n", "valid")]
    cases += [(junk, "invalid") for junk in ("eyJ" * 340_000, "a." * 500_000, "x" * 1_000_000)]
    for text, verdict in cases:
        started = time.perf_counter()
        type_into(inspector.token, text)
        took = time.perf_counter() - started
        assert took < 2.0, f"{took:.2f} s for {text[:10]!r}…"
        assert inspector.report is not None and inspector.report.verdict == verdict
        assert big.rsplit(".", 1)[1] not in inspector.token.value
    # the rendered page quotes the token briefly, not a megabyte of it
    assert len(inspector.output.value) < 50_000
