"""The signature checker widget, tested as an object: set values, read the rendered output."""

from __future__ import annotations

import json

import httpx

from svc_nb._redact import fingerprint
from svc_nb.webhooks import sign
from svc_nb.widgets import signature_checker
from svc_nb.widgets._signature import split_secrets
from tests._widgets import displayed, type_into

NOW = 1_714_000_000
SECRET = "widget-hook-secret-5a7c9e"
OLD = "widget-old-secret-1b3d5f"
EVENT = {
    "topic": "order.paid",
    "payload": {"id": 7},
    "version": 1,
    "created_at": "2026-01-01T00:00:00Z",
}


def test_live_verdicts_and_the_secret_is_never_echoed() -> None:
    body = httpx.Request("POST", "http://127.0.0.1/", json=EVENT).content.decode()
    headers = sign(EVENT, SECRET)
    raw_lines = "\n".join(f"{k}: {v}" for k, v in headers.items())
    checker = signature_checker(now=NOW)
    seen = [checker.output.value]
    assert "Paste" in seen[-1] and checker.report is None

    checker.body.value = body
    checker.headers.value = raw_lines
    seen.append(checker.output.value)
    assert "Detected scheme: <b>svc-infra</b>" in seen[-1] and "Type the secret" in seen[-1]

    checker.secret.value = SECRET
    seen.append(checker.output.value)
    assert 'data-verdict="valid"' in seen[-1] and "canonical JSON" in seen[-1]
    assert checker.report is not None and checker.report.ok

    checker.secret.value = f"{OLD}, another-one-2c4e6a"
    seen.append(checker.output.value)
    assert 'data-verdict="rejected"' in seen[-1] and 'data-cause="wrong_secret"' in seen[-1]
    assert "Secrets tried: 2" in seen[-1]

    checker.secret.value = f"{OLD} {SECRET}"  # rotation: matched the second
    seen.append(checker.output.value)
    assert 'data-verdict="valid"' in seen[-1] and "webhooks.rotation" in seen[-1]

    checker.headers.value = json.dumps(headers)  # JSON headers work too
    seen.append(checker.output.value)
    assert 'data-verdict="valid"' in seen[-1]

    checker.body.value = body + "\n"
    checker.secret.value = SECRET
    checker.headers.value = "\n".join(
        f"{k}: {v}" for k, v in sign(body.encode(), SECRET, scheme="github").items()
    )
    seen.append(checker.output.value)
    assert "Detected scheme: <b>github</b>" in seen[-1]
    assert 'data-cause="body_altered"' in seen[-1] and "trailing newline" in seen[-1]

    for page in [*seen, displayed(checker)]:
        for secret in (SECRET, OLD, "another-one-2c4e6a"):
            assert secret not in page


def test_guide_header_and_chosen_scheme() -> None:
    checker = signature_checker(body='{"a":1}', headers="X-Webhook-Signature: abc", secret=SECRET)
    assert "Detected scheme: <b>none</b>" in checker.output.value
    assert 'data-cause="guide_header"' in checker.output.value
    assert "X-Signature" in checker.output.value

    stripe_headers = sign(b'{"a":1}', SECRET, scheme="stripe", timestamp=NOW)
    checker = signature_checker(
        body='{"a":1}', headers=json.dumps(stripe_headers), secret=SECRET, now=NOW + 400
    )
    assert 'data-verdict="rejected"' in checker.output.value  # outside the 300 s tolerance
    assert "webhooks.timestamp" in checker.output.value
    checker.tolerance.value = 500
    assert 'data-verdict="valid"' in checker.output.value
    checker.scheme.value = "github"  # forcing the wrong scheme names the missing header
    assert (
        "X-Hub-Signature-256" in checker.output.value
        and "verifying as <b>github</b>" in checker.output.value
    )


def test_split_secrets_and_display_bundle() -> None:
    assert split_secrets(" a, b\nc  ") == ["a", "b", "c"]
    checker = signature_checker()
    bundle = checker._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_deeply_nested_header_text_does_not_break_the_widget() -> None:
    for text in (
        '{"a":' * 100_000,
        "[" * 100_000,
        '{"X-Signature": ' + "[" * 50_000 + "]" * 50_000 + "}",
    ):
        checker = signature_checker(body="{}", headers=text, secret=SECRET)
        assert "Detected scheme" in checker.output.value
        assert SECRET not in checker.output.value


def test_secrets_stay_out_of_widget_state_and_can_be_forgotten() -> None:
    # A body with a secret-named field and an Authorization header: shown masked, verified as sent.
    body = json.dumps({"event": "user.created", "password": "body-pass-9c1e44"})
    lines = [f"{k}: {v}" for k, v in sign(body.encode(), SECRET, scheme="github").items()]
    headers = "\n".join([*lines, "Authorization: Bearer header-token-77aa0b"])
    checker = signature_checker(now=NOW)
    type_into(checker.body, body)
    type_into(checker.headers, headers)
    type_into(checker.secret, f"{OLD}, {SECRET}")
    assert 'data-verdict="valid"' in checker.output.value  # the real body and secrets
    assert checker.secret.value == ""  # emptied once read
    assert fingerprint(OLD) in checker.secret.placeholder
    assert fingerprint(SECRET) in checker.secret.placeholder
    assert "body-pass-9c1e44" not in checker.body.value
    assert "header-token-77aa0b" not in checker.headers.value
    state = displayed(checker)
    for secret in (SECRET, OLD, "body-pass-9c1e44", "header-token-77aa0b"):
        assert secret not in state, secret

    # An edit of the shown body keeps the hidden value: a trailing newline breaks the HMAC
    # for that reason alone.
    type_into(checker.body, checker.body.value + "\n")
    assert 'data-cause="body_altered"' in checker.output.value
    assert "trailing newline" in checker.output.value

    checker.forget_secret.click()
    assert "Type the secret" in checker.output.value and checker.report is None
    assert fingerprint(SECRET) not in checker.secret.placeholder


def test_secret_given_in_code_never_reaches_the_browser() -> None:
    body = httpx.Request("POST", "http://127.0.0.1/", json=EVENT).content.decode()
    headers = json.dumps(sign(EVENT, SECRET))
    checker = signature_checker(body, headers, SECRET)
    assert 'data-verdict="valid"' in checker.output.value
    assert SECRET not in displayed(checker)
