"""What verify()'s fast path relies on, checked as properties rather than timings.

verify() runs once per request in a receiver, so its happy path leans on caches:
secrets already registered are only looked up, texts already seen clean skip the
scanners, names already judged skip the regexes, and keys and HMAC states are kept.
Each test here fails if one of those shortcuts leaks a secret, outlives a change
of the registry, grows without bound, or changes what verify() reports.
(Throughput itself is measured by benchmarks/, item 4.)
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from svc_nb import _redact, _scan
from svc_nb._report import Finding, Report, Status
from svc_nb.webhooks import _schemes, sign, verify

NOW = 1_714_000_000
STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # Standard Webhooks' published test secret
PLAIN_SECRET = "sekrit-fast-path-1"
BODY = b'{"a":1}'
CASES = [("svc-infra", PLAIN_SECRET), ("standard", STD_SECRET)]


def _views(report: Report) -> str:
    return str(report) + report.to_json() + report._repr_html_() + repr(report.to_dict())


def _leaky_report(text: str) -> Report:
    """A report carrying ``text`` in every place a view shows."""
    finding = Finding(
        "fast.path",
        Status.FAIL,
        text,
        text,
        text,
        {"note": text, text: 1, "nested": [{"v": text}]},
        cause="auth_failed",
    )
    return Report([finding], title=text)


def _exposed(secret: str) -> list[str]:
    """The forms of ``secret`` that must never be shown (whsec_ secrets: the base64 part too)."""
    return [secret, secret.removeprefix("whsec_")]


@pytest.mark.parametrize(("scheme", "secret"), CASES)
def test_a_secret_verified_again_and_again_stays_masked_in_later_views(
    scheme: str, secret: str
) -> None:
    with _redact.isolated_registry(empty=True):
        leak = f"configured with {secret}"
        # Seen clean before the secret is known: the memo of clean texts must forget it.
        assert _redact.scrub(leak) == leak
        assert _leaky_report(leak).findings[0].summary == leak
        headers = sign(BODY, secret, scheme=scheme, timestamp=NOW, msg_id="m1")
        for _ in range(3):  # the first call registers; the later ones take the fast path
            assert verify(BODY, headers, secret, scheme=scheme, now=NOW).ok
        shown = _views(_leaky_report(leak))
        for form in _exposed(secret):
            assert form not in shown


@pytest.mark.parametrize(("scheme", "secret"), CASES)
def test_verify_registers_again_a_secret_the_registry_evicted(scheme: str, secret: str) -> None:
    with _redact.isolated_registry(empty=True):
        headers = sign(BODY, secret, scheme=scheme, timestamp=NOW, msg_id="m1")
        assert verify(BODY, headers, secret, now=NOW).ok
        for i in range(_redact.MAX_REGISTERED_SECRETS + 8):
            _redact.register_secret(f"filler-secret-{i:06d}")
        assert secret in _redact.scrub(f"x {secret}")  # evicted: the premise of this test
        assert verify(BODY, headers, secret, now=NOW).ok
        shown = _views(_leaky_report(f"x {secret}"))
        for form in _exposed(secret):
            assert form not in shown


def test_verifying_keeps_a_secret_in_use_the_newest_so_it_is_not_evicted() -> None:
    with _redact.isolated_registry(empty=True):
        headers = sign(BODY, PLAIN_SECRET, scheme="svc-infra", timestamp=NOW)
        assert verify(BODY, headers, PLAIN_SECRET, now=NOW).ok
        for i in range(_redact.MAX_REGISTERED_SECRETS - 1):  # the registry is now full
            _redact.register_secret(f"filler-secret-{i:06d}")
        assert verify(BODY, headers, PLAIN_SECRET, now=NOW).ok  # the fast path: moved to newest
        for i in range(16):  # evicts the oldest fillers, not the secret in use
            _redact.register_secret(f"later-secret-{i:06d}")
        assert PLAIN_SECRET not in _views(_leaky_report(f"x {PLAIN_SECRET}"))


@pytest.mark.parametrize(
    ("scheme", "secret", "data"),
    [
        ("svc-infra", PLAIN_SECRET, {"scheme": "svc-infra", "matched_secret": 0, "form": "raw"}),
        (
            "standard",
            STD_SECRET,
            {"scheme": "standard", "matched_secret": 0, "form": "raw", "age_s": 0.25},
        ),
    ],
)
def test_the_happy_path_reports_exactly_what_it_always_did(
    scheme: str, secret: str, data: dict[str, Any]
) -> None:
    headers = sign(BODY, secret, scheme=scheme, timestamp=NOW, msg_id="m1")
    for _ in range(2):  # cold and warm caches report alike
        report = verify(BODY, headers, secret, now=NOW + 0.25)
        assert report.to_dict() == {
            "title": "webhook signature",
            "ok": True,
            "worst": "ok",
            "counts": {"ok": 1, "warn": 0, "fail": 0, "skip": 0},
            "findings": [
                {
                    "check": "webhooks.signature",
                    "status": "ok",
                    "summary": f"{scheme} signature valid",
                    "detail": "",
                    "fix": "",
                    "cause": None,
                    "data": data,
                }
            ],
        }


def test_verify_caches_stay_bounded_with_many_secrets() -> None:
    count = _schemes._CACHE_LIMIT * 2 + 5
    for i in range(count):
        secret = "whsec_" + base64.b64encode(f"bounded-key-{i:05d}".encode()).decode()
        headers = sign(BODY, secret, scheme="standard", timestamp=NOW, msg_id="m1")
        assert verify(BODY, headers, [f"other-{i:05d}", secret], now=NOW).ok
    assert len(_schemes._forms_cache) <= _schemes._CACHE_LIMIT
    assert len(_schemes._key_cache) <= _schemes._CACHE_LIMIT + 1
    assert len(_schemes._hmac_cache) <= _schemes._CACHE_LIMIT + 1
    assert len(_schemes._pads_cache) <= _schemes._CACHE_LIMIT + 1


def test_clean_text_memos_are_bounded_and_dropped_when_a_secret_is_registered() -> None:
    for i in range(_redact._CLEAN_LIMIT * 2):
        _redact.scrub(f"ordinary text {i}")
        _redact.scrub_data({f"plain_key_{i}": 1})
    assert len(_redact._state["clean"]) <= _redact._CLEAN_LIMIT
    assert len(_redact._state["plain_keys"]) <= _redact._CLEAN_LIMIT
    value = "Zq81-kk2-LMN0-rotated"
    text = f"now using {value}"
    assert _redact.scrub(text) == text
    assert dict(Finding("fast.path", Status.OK, "x", data={value: 1}).data) == {value: 1}
    _redact.register_secret(value)
    assert value not in _redact.scrub(text)
    assert value not in repr(dict(Finding("fast.path", Status.OK, "x", data={value: 1}).data))
    # Nothing in the memos needs masking: each one scrubs to itself.
    for kept in [*_redact._state["clean"], *_redact._state["plain_keys"]]:
        assert _redact.scrub(kept) == kept


def test_a_long_text_is_scrubbed_every_time_not_remembered() -> None:
    text = "ordinary " * 100
    _redact.scrub(text)
    assert text not in _redact._state["clean"]


def test_secret_name_verdicts_are_remembered_correctly_and_bounded() -> None:
    for _ in range(2):  # judged, then remembered
        assert _scan.is_secret_name("DB_PASSWORD") is True
        assert _scan.is_secret_name("DB_PASSWORD_FILE") is False
        assert _scan.is_secret_name("x-api-key") is True
        assert _scan.is_secret_name("") is False
        assert _scan.is_secret_name(None) is False  # type: ignore[arg-type]
    for i in range(_scan._NAME_VERDICTS_LIMIT + 50):
        _scan.is_secret_name(f"name_{i}")
    assert len(_scan._NAME_VERDICTS) <= _scan._NAME_VERDICTS_LIMIT
    assert _scan.is_secret_name("token_" + "x" * 500) is True  # long names: judged, not kept
    assert ("token_" + "x" * 500) not in _scan._NAME_VERDICTS


def test_finding_built_by_hand_written_init_behaves_as_the_dataclass_did() -> None:
    caller_data = {"n": 1, "password": "hunter22"}
    finding = Finding("a.b", "warn", None, 3, data=caller_data)  # type: ignore[arg-type]
    assert finding.status is Status.WARN and finding.summary == "" and finding.detail == "3"
    assert finding.fix == "" and finding.cause is None
    assert dict(finding.data) == {"n": 1, "password": _redact.MASK}
    caller_data["n"] = 2  # the finding holds its own copy
    assert finding.data["n"] == 1
    assert dict(Finding("a.b", Status.OK, "x").data) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.summary = "changed"  # type: ignore[misc]
    with _redact.isolated_registry():
        _redact.register_secret(PLAIN_SECRET)
        changed = dataclasses.replace(finding, fix=f"use {PLAIN_SECRET}")
    assert PLAIN_SECRET not in changed.fix and changed.detail == "3"
    assert changed == dataclasses.replace(changed)
    assert [f.name for f in dataclasses.fields(Finding)] == [
        "check",
        "status",
        "summary",
        "detail",
        "fix",
        "data",
        "cause",
    ]


def test_a_deferred_report_answers_ok_without_building_and_builds_once() -> None:
    """The verdict is known up front; the findings are worded once, when first read."""
    from svc_nb._report import DeferredReport, Finding, Status

    built: list[int] = []

    def build() -> list[Finding]:
        built.append(1)
        return [Finding("x.y", Status.OK, "fine")]

    report = DeferredReport(build, worst=Status.OK, title="t")
    assert report.ok and report.worst is Status.OK and built == []
    assert [f.summary for f in report] == ["fine"] and len(report) == 1
    assert report.to_dict()["findings"][0]["summary"] == "fine"
    assert built == [1]


def test_the_valid_delivery_report_reads_the_same_when_deferred() -> None:
    """verify's happy path defers its finding; read, it is the finding an eager build gives."""
    import time

    from svc_nb import webhooks
    from svc_nb._report import DeferredReport
    from svc_nb.webhooks import _verdicts, _verify_fast

    body, secret, now = b'{"a":1}', "s" * 32, time.time()
    headers = webhooks.sign(body, secret, scheme="svc-infra")
    report = webhooks.verify(body, headers, secret, scheme="svc-infra", now=now)
    assert isinstance(report, DeferredReport) and report.ok
    eager = _verdicts.ok_report(_verify_fast.valid_findings("svc-infra", None, now))
    assert report.to_dict() == eager.to_dict() and str(report) == str(eager)
    assert secret not in str(report) + report._repr_html_()


# -- the one-pass path for the common valid delivery ------------------------------------

_STD_HEADERS = sign(BODY, STD_SECRET, scheme="standard", timestamp=NOW, msg_id="m1")
_SVC_HEADERS = sign(BODY, PLAIN_SECRET, scheme="svc-infra")
_SVC_SIG = _SVC_HEADERS["X-Signature"]
_ASGI_EXTRA = {
    "host": "receiver.local",
    "user-agent": "python-httpx/0.28.1",
    "content-type": "application/json",
    "content-length": "7",
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
}


def _case(headers: Any, secret: Any = PLAIN_SECRET, **kwargs: Any) -> dict[str, Any]:
    return {"headers": headers, "secret": secret, **kwargs}


# (name, verify's arguments, whether the one-pass path answers it)
_EQUIVALENCE = [
    ("svc-infra as sign() spells it", _case(_SVC_HEADERS), True),
    ("svc-infra lower-case names", _case({k.lower(): v for k, v in _SVC_HEADERS.items()}), True),
    ("svc-infra named explicitly", _case(_SVC_HEADERS, scheme="svc-infra"), True),
    (
        "as an ASGI server hands them over (lower-case, more headers)",
        _case({**{k.lower(): v for k, v in _SVC_HEADERS.items()}, **_ASGI_EXTRA}),
        True,
    ),
    (
        "a name with a non-ASCII capital",
        _case({**_SVC_HEADERS, "x-sİgnature": "0" * 64}),
        True,
    ),
    (
        "standard with lower-case extra headers",
        _case({**_STD_HEADERS, **_ASGI_EXTRA}, STD_SECRET),
        True,
    ),
    ("svc-infra signature padded", _case({"X-Signature": f"  {_SVC_SIG} "}), True),
    ("standard", _case(_STD_HEADERS, STD_SECRET), True),
    ("standard, now=None", _case("fresh", STD_SECRET, now=None), True),
    ("standard, int tolerance 0", _case(_STD_HEADERS, STD_SECRET, tolerance=0), False),
    ("standard, stale", _case(_STD_HEADERS, STD_SECRET, now=NOW + 900.0), False),
    (
        "standard, tolerance covers it",
        _case(_STD_HEADERS, STD_SECRET, now=NOW + 900.0, tolerance=1e4),
        True,
    ),
    (
        "standard, timestamp in ms",
        _case({**_STD_HEADERS, "webhook-timestamp": str(NOW * 1000)}, STD_SECRET),
        False,
    ),
    (
        "standard, two signatures",
        _case(
            {**_STD_HEADERS, "webhook-signature": "v1,AAAA " + _STD_HEADERS["webhook-signature"]},
            STD_SECRET,
        ),
        False,
    ),
    (
        "svix names",
        _case({k.replace("webhook-", "svix-"): v for k, v in _STD_HEADERS.items()}, STD_SECRET),
        False,
    ),
    ("wrong secret", _case(_SVC_HEADERS, "another-secret-entirely"), False),
    ("rotation: second secret", _case(_SVC_HEADERS, ["old-secret-xyz", PLAIN_SECRET]), False),
    ("empty secret", _case(_SVC_HEADERS, ""), False),
    ("standard secret not base64", _case(_STD_HEADERS, "whsec_!!!not base64!!!"), False),
    ("the guide's header as well", _case({**_SVC_HEADERS, "X-Webhook-Signature": _SVC_SIG}), False),
    (
        # The later spelling wins, as lower_headers reads it: here the bad one.
        "a second spelling of the header",
        _case({"X-Signature": _SVC_SIG, "x-signature": "0" * 64}),
        False,
    ),
    ("bytes header names", _case({k.encode(): v for k, v in _SVC_HEADERS.items()}), False),
    ("bytes header values", _case({k: v.encode() for k, v in _SVC_HEADERS.items()}), False),
    ("header pairs", _case(list(_SVC_HEADERS.items())), False),
    ("no signature header", _case({"Content-Type": "application/json"}), False),
    ("datetime now", _case(_STD_HEADERS, STD_SECRET, now="datetime"), False),
    ("bytes secret", _case(_SVC_HEADERS, PLAIN_SECRET.encode()), False),
    # A falsy scheme is no request to detect one: both paths refuse it.
    ("empty scheme", _case(_SVC_HEADERS, scheme=""), False),
    ("scheme 0", _case(_SVC_HEADERS, scheme=0), False),
    ("unknown scheme", _case(_SVC_HEADERS, scheme="svc_infra"), False),
    # Another header's value is not read by the one pass; the general path reads it as text.
    (
        "a nested header value JSON cannot hold",
        _case({**_SVC_HEADERS, "x-meta": {"at": object(), (1, 2): "k"}}),
        True,
    ),
    ("a bytes value in another header", _case({**_SVC_HEADERS, "x-meta": b"\xff"}), True),
]


def _verify_case(case: dict[str, Any]) -> Report:
    import datetime as dt
    import time

    kwargs = dict(case)
    headers, secret = kwargs.pop("headers"), kwargs.pop("secret")
    if headers == "fresh":  # signed now, for now=None (the real clock)
        headers = sign(BODY, secret, scheme="standard", timestamp=int(time.time()))
    now = kwargs.pop("now", float(NOW) + 0.25)
    if now == "datetime":
        now = dt.datetime.fromtimestamp(NOW, dt.UTC)
    return verify(BODY, headers, secret, now=now, **kwargs)


@pytest.mark.parametrize(
    ("name", "case", "one_pass"), _EQUIVALENCE, ids=[c[0] for c in _EQUIVALENCE]
)
def test_the_one_pass_path_reports_what_the_general_path_reports(
    name: str, case: dict[str, Any], one_pass: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every input reads the same with and without the one-pass path; it answers only its case."""
    from svc_nb.webhooks import _signing, _verify_fast

    answered: list[bool] = []

    def spy(*args: Any) -> Any:
        result = _verify_fast.valid_delivery(*args)
        answered.append(result is not None)
        return result

    def outcome() -> Report | Exception:
        try:
            return _verify_case(case)
        except Exception as exc:  # misuse: both paths must refuse it alike
            return exc

    monkeypatch.setattr(_signing, "valid_delivery", spy)
    fast = outcome()
    assert answered == [one_pass]
    monkeypatch.setattr(_signing, "valid_delivery", lambda *args: None)
    general = outcome()
    if not isinstance(fast, Report) or not isinstance(general, Report):
        assert (type(fast), str(fast)) == (type(general), str(general))
        return
    views = [fast.to_dict(), general.to_dict()]
    if case.get("now", 0) is None:  # the age moves with the real clock: compare the rest
        for view in views:
            for finding in view["findings"]:
                finding["data"].pop("age_s")
    else:
        assert str(fast) == str(general)
    assert views[0] == views[1]


def test_a_secret_registered_again_after_the_registry_changed_is_masked_again() -> None:
    """Registering the last call's secrets again is skipped only while nothing changed since."""
    secret = "newest-secret-skip-check"
    _redact.register_secret(secret)
    _redact.register_secret(secret)  # the skipped call
    with _redact.isolated_registry(empty=True):
        assert secret in _redact.scrub(f"x {secret}")  # gone with the emptied registry
        _redact.register_secret(secret)  # must not be skipped as "already the newest"
        assert secret not in _redact.scrub(f"x {secret}")


def test_a_bytearray_changed_in_place_is_registered_again() -> None:
    """The skip compares with the last call's arguments: a mutable one cannot be kept."""
    buffer = bytearray(b"first-typed-secret-1")
    with _redact.isolated_registry(empty=True):
        _redact.register_secret(buffer)
        buffer[:] = b"second-typed-secret-2"  # a widget's buffer, reused
        _redact.register_secret(buffer)
        assert "second-typed-secret-2" not in _redact.scrub("x second-typed-secret-2")


def test_a_secret_registered_while_a_scrub_runs_is_masked_by_every_later_scrub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race on the clean-text memos, made deterministic.

    Another thread registers the secret after this scrub read the registry and
    before it remembers the text (or the mapping key) as clean. This scrub may
    go either way; every scrub that starts after register_secret returned must
    mask, so the remembering must not reach the memos later scrubs read.
    """
    secret = "raced-value-7f3a9c"  # no secret-looking word: a plain key
    text = f"uses {secret}"
    real = _redact._scrub_text
    registered: list[bool] = []

    def racing(value: str) -> str:
        scrubbed = real(value)  # judged under the registry as it was
        if value == text and not registered:
            registered.append(True)
            _redact.register_secret(secret)  # the other thread, right here
        return scrubbed

    with _redact.isolated_registry(empty=True):
        monkeypatch.setattr(_redact, "_scrub_text", racing)
        _redact.scrub(text)
        monkeypatch.undo()
        assert secret not in _redact.scrub(text)
        assert secret not in _views(_leaky_report(text))

    registered.clear()
    with _redact.isolated_registry(empty=True):  # the same race on a mapping key
        monkeypatch.setattr(_redact, "_scrub_text", racing)
        _redact.scrub_data({text: 1})
        monkeypatch.undo()
        assert secret not in repr(_redact.scrub_data({text: 1}))


def _quoting(secret: str) -> list[Finding]:
    """A builder that keeps a raw input, as inspect's keeps key material (picklable)."""
    return [Finding("x.y", Status.FAIL, f"saw {secret}")]


def test_a_deferred_report_is_masked_when_read_and_never_copied_with_its_builder() -> None:
    """Title and findings are scrubbed under the registry at reading time; copies hold no builder.

    The builder keeps the raw inputs: a copy or a pickle carries the built,
    scrubbed findings instead.
    """
    import copy
    import functools
    import pickle

    from svc_nb._report import DeferredReport
    from svc_nb.webhooks import _verify_fast

    secret = "deferred-secret-51c0e"
    build = functools.partial(_quoting, secret)
    with _redact.isolated_registry(empty=True):
        report = DeferredReport(build, worst=Status.FAIL, title=f"about {secret}")
        fast = _verify_fast.deferred_valid("svc-infra", None, float(NOW))
        _redact.register_secret(secret, "webhook signature")  # registered after, read now
        for shown in (_views(report), report.title, repr(report), _views(fast), fast.title):
            assert secret not in shown and "webhook signature" not in shown
        copied = copy.copy(DeferredReport(build, worst=Status.FAIL, title="t"))
        assert vars(copied)["_build"] is None and copied.findings == report.findings
        try:
            blob = pickle.dumps(DeferredReport(build, worst=Status.FAIL, title="t"))
        except TypeError:
            blob = b""  # a built Finding's data does not pickle: nothing leaves either
        assert secret.encode() not in blob


@pytest.mark.parametrize("key_length", [0, 1, 31, 32, 63, 64, 65, 100, 128, 200])
def test_the_padded_key_states_give_hmac_sha256_exactly(key_length: int) -> None:
    """RFC 2104 from two SHA-256 states equals the hmac module, short, block-sized and long keys."""
    import hashlib
    import hmac

    key = bytes((i * 37 + 11) % 256 for i in range(key_length))
    for message in (b"", b"m", BODY, bytes(range(256)) * 5):
        inner_pad, outer_pad = _schemes.hmac_sha256_pads(key)
        inner = inner_pad.copy()
        inner.update(message)
        outer = outer_pad.copy()
        outer.update(inner.digest())
        assert outer.digest() == hmac.new(key, message, hashlib.sha256).digest()


def test_a_name_islower_accepts_is_its_own_lower_case_form() -> None:
    """The premise of verify's shortcut for lower-case header names, on this Python's Unicode.

    A dict whose joined names pass ``islower()`` is taken as its own lower-cased
    form; that holds only if no character ``islower()`` lets through (lower-case or
    uncased, beside a lower-case letter) changes under ``lower()``.
    """
    import sys

    changed = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if ("a" + chr(code)).islower() and chr(code).lower() != chr(code)
    ]
    assert changed == []
