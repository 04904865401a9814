"""The JWT inspector widget, tested as an object: set values, read the rendered output."""

from __future__ import annotations

import re

import jwt

from svc_nb import tokens
from svc_nb.widgets import jwt_inspector
from svc_nb.widgets._jwt import timeline_svg

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

    inspector.key.value = SECRET
    expired = tokens.make(secret=SECRET, lifetime=60, now=NOW - 90)  # 30 s late: skew
    inspector.token.value = f"Bearer {expired}\n"
    seen.append(inspector.output.value)
    assert 'data-verdict="invalid"' in seen[-1] and "expired 30 s ago" in seen[-1]
    assert "leeway=31" in seen[-1] and "stripped" in seen[-1]

    inspector.leeway.value = 35
    seen.append(inspector.output.value)
    assert 'data-verdict="valid"' in seen[-1]
    assert "accepted only thanks to leeway=35" in seen[-1]

    for page in seen:
        assert SECRET not in page
        assert "another-secret-0123456789abcdef-XYZ" not in page
        for token in (good, expired):
            assert token.rsplit(".", 1)[1] not in page  # signatures hidden


def test_audience_field_names_the_mfa_pre_token() -> None:
    pre = tokens.make(secret=SECRET, audience=[tokens.MFA_AUDIENCE], lifetime=300, now=NOW)
    inspector = jwt_inspector(pre, SECRET, now=NOW)
    inspector.audience.value = tokens.ACCESS_AUDIENCE
    assert "MFA pre-token" in inspector.output.value
    assert 'data-verdict="invalid"' in inspector.output.value


def test_empty_and_malformed_inputs() -> None:
    inspector = jwt_inspector(now=NOW)
    assert "Paste a token" in inspector.output.value
    inspector.token.value = "eyJhbGciOi.not-a-token"
    assert "2 segment(s)" in inspector.output.value
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
    token = jwt.encode({"sub": "u", "iat": NOW - 10, "nbf": NOW - 5, "exp": NOW + 60}, SECRET,
                       algorithm="HS256")
    inspector = jwt_inspector(token, SECRET, now=NOW)
    assert _marks(inspector.output.value) == ["iat", "nbf", "now", "exp"]
    assert inspector.report.verdict == "valid"
    bundle = inspector._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
