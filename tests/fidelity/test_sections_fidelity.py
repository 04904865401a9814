"""svc-infra is the oracle for the webhooks, tokens, OAuth and migrations sections.

Each test makes svc-infra 1.22.2 itself do the thing (sign, publish through its
outbox, run its job worker and webhook handler against an svc_nb ``Receiver``,
issue tokens with its JWT strategy, start an OAuth login, migrate a database
with its Alembic templates) in a child process with a clean environment, then
asserts that svc_nb's reading of the result agrees with what svc-infra did.
Expected values come from the oracle's run, never from a belief about svc-infra.

Redis keys live in db 14 (cleaned before and after each test that uses it).
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from svc_nb import diagnose, webhooks
from svc_nb._redact import fingerprint, mask_secret
from svc_nb._report import Status
from svc_nb.env import job_queue_redis_url, resolve_jwt_secret
from svc_nb.oauth import SESSION_COOKIE, SESSION_MAX_AGE, compare_state, inspect_session_cookie
from svc_nb.tokens import candidates_from_env, find_key, inspect
from svc_nb.webhooks import Receiver, Respond, RetryPolicy, queue_snapshot
from tests._support import RedisServer, closed_port
from tests.fidelity._sections_oracle import (
    LOCAL_PG,
    REDIS_DB14,
    OracleError,
    SectionsOracle,
    clean_db14,
)

pytestmark = [pytest.mark.fidelity]

SUB_SECRET = "whsub-oracle-secret-5f1c2e9a"
FERNET_KEY = "3q2-7wEjmWc1Mv4qYJ0vFh9C0m0E2kEo4mT7q0kQ0aY="  # 44 chars ending in '='
PASSPHRASE_KEY = "correct horse battery staple, not a Fernet key"
QUEUE_ENV = {
    "JOBS_DRIVER": "redis",
    "JOBS_REDIS_URL": REDIS_DB14,
    "WEBHOOK_ENCRYPTION_KEY": FERNET_KEY,
    "WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "5",
}


@pytest.fixture(scope="module")
def oracle() -> Iterator[SectionsOracle]:
    child = SectionsOracle()
    try:
        yield child
    finally:
        child.close()


@pytest.fixture
def db14() -> Iterator[str]:
    clean_db14()
    yield REDIS_DB14
    clean_db14()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _event(payload: Any) -> dict[str, Any]:
    return {
        "topic": "order.created",
        "payload": payload,
        "version": 1,
        "created_at": "2026-03-01T12:00:00.123456+00:00",
    }


def _status_of(last_error: str) -> int:
    match = re.search(r"(\d{3})\s*$", last_error)
    assert match, last_error
    return int(match.group(1))


# -- webhooks: the signature ----------------------------------------------------------------

SIGN_CASES: list[Any] = [
    {"id": 7, "amount": 12.5},
    {"b": 1, "a": {"z": [3, 2, 1], "y": None, "x": True}},
    {"name": "Zoë – ☃ 🎉", "quote": '"</script>"', "sep": "\u2028\u2029", "nul": "\u0000"},
    {"big": 2**70, "neg": -0.0, "exp": 1e21, "small": 1e-7, "int_float": 3.0},
    {},
    [1, "two", {"3": 3}],
    {"10": "ten", "2": "two", "B": 1, "a": 2, "é": 3},
]


def test_sign_equals_svc_infra_sign(oracle: SectionsOracle) -> None:
    """svc_nb signs exactly what svc-infra's ``sign(secret, payload)`` signs."""
    events = [_event(p) for p in SIGN_CASES]
    theirs = oracle.call("sign", {}, secret=SUB_SECRET, payloads=events)
    for event, svc_infra in zip(events, theirs, strict=True):
        ours = webhooks.sign(event, SUB_SECRET)
        assert ours["X-Signature"] == svc_infra["signature"], event
        assert webhooks.canonical_json(event) == svc_infra["canonical"].encode(), event
        # A receiver verifying svc-infra's canonical bytes with svc_nb agrees too.
        report = webhooks.verify(
            svc_infra["canonical"].encode(), {"X-Signature": svc_infra["signature"]}, SUB_SECRET
        )
        assert report.ok, report


def test_handler_delivery_verifies_in_receiver(oracle: SectionsOracle, db14: str) -> None:
    """Outbox → Redis job queue → svc-infra's webhook handler → svc_nb's Receiver verifies it."""
    with (
        Receiver(secret=SUB_SECRET) as right,
        Receiver(secret="not-the-subscription-secret") as wrong,
    ):
        result = oracle.call(
            "pipeline",
            QUEUE_ENV,
            topic="order.created",
            payload={"id": 7, "note": "Zoë ☃", "items": [{"b": 2, "a": 1}]},
            subscribers=[
                {"url": right.url, "secret": SUB_SECRET},
                {"url": wrong.url, "secret": SUB_SECRET},
            ],
            runs=3,
        )
        assert result["queue"] == "RedisJobQueue"
        assert len(right.requests) == 1 and len(wrong.requests) == 1
        request = right.requests[0]
        assert webhooks.detect_scheme(request.headers) == "svc-infra"
        assert request.signature_ok is True, request.verification
        # The receiver with another secret: svc-infra's own verify says no, and so does svc_nb.
        other = wrong.requests[0]
        svc_infra_says = oracle.call(
            "verify",
            {},
            secret="not-the-subscription-secret",
            body=other.body.decode(),
            signature=other.headers["x-signature"],
        )
        assert svc_infra_says is False
        assert other.signature_ok is False
        assert other.verification is not None
        assert other.verification.get("webhooks.signature").cause == "wrong_secret"


def test_non_string_keys_are_named(oracle: SectionsOracle, db14: str) -> None:
    """``{2: …, 10: …}`` signed by svc-infra cannot be verified even by svc-infra: say why."""
    with Receiver(secret=SUB_SECRET) as rx:
        result = oracle.call(
            "pipeline",
            {},  # the in-memory queue and outbox keep the int keys up to sign()
            topic="order.created",
            payload={"2": "two", "10": "ten"},
            subscribers=[{"url": rx.url, "secret": SUB_SECRET}],
            runs=1,
            int_keys=True,
        )
        assert result["queue"] == "InMemoryJobQueue"
        (request,) = rx.requests
    svc_infra_verifies = oracle.call(
        "verify",
        {},
        secret=SUB_SECRET,
        body=request.body.decode(),
        signature=request.headers["x-signature"],
    )
    assert svc_infra_verifies is False  # the oracle: even svc-infra's own verify fails
    report = webhooks.verify(request.body, request.headers, SUB_SECRET)
    finding = report.get("webhooks.signature")
    assert finding.status is Status.FAIL
    assert finding.cause == "non_string_keys", finding
    assert "wrong secret" not in finding.summary.lower()
    assert "10" in finding.detail and "2" in finding.detail
    # The fix svc_nb gives says the Redis queue turns the keys into text before signing.
    assert "JOBS_DRIVER=redis" in finding.fix
    with Receiver(secret=SUB_SECRET) as rx:
        result = oracle.call(
            "pipeline",
            QUEUE_ENV,
            topic="order.created",
            payload={"2": "two", "10": "ten"},
            subscribers=[{"url": rx.url, "secret": SUB_SECRET}],
            runs=1,
            int_keys=True,
        )
        assert result["queue"] == "RedisJobQueue"
        (request,) = rx.requests
    assert request.signature_ok is True


# -- webhooks: retries, dead letters and the requeue recipe ----------------------------------


def _svc_infra_waits(runs: list[dict[str, Any]], job_id: str) -> list[tuple[int, int]]:
    """(min, max) seconds svc-infra scheduled before each retry, read from jobs:delayed."""
    waits = []
    for run in runs:
        score = run["state"]["delayed"].get(job_id)
        if score is not None:
            before, after = run["clock"]
            waits.append((int(score) - after, int(score) - before))
    return waits


@pytest.mark.slow
def test_retry_rules_match_svc_infra(oracle: SectionsOracle, db14: str) -> None:
    """410 is retried like any failure and Retry-After is ignored, as svc-infra's worker does."""
    script: list[Respond | int] = [
        Respond.gone(),
        Respond.retry_after(3600),
        Respond.gone(),
        Respond.retry_after(7200, status=429),
        200,
    ]
    with Receiver(secret=SUB_SECRET, behaviour=script) as rx:
        result = oracle.call(
            "pipeline",
            QUEUE_ENV,
            topic="order.created",
            payload={"id": 1},
            subscribers=[{"url": rx.url, "secret": SUB_SECRET}],
            runs=8,
        )
        svc_infra_statuses = [r.status for r in rx.requests]
    job_id = result["queued"]["ready"][0]
    svc_infra_waits = _svc_infra_waits(result["runs"], job_id)
    final = result["runs"][-1]["state"]
    assert job_id not in final["jobs"]  # acknowledged: delivered on the last attempt

    policy = RetryPolicy.svc_infra()
    assert policy.stop_on_gone is False and policy.honour_retry_after is False
    with Receiver(secret=SUB_SECRET, behaviour=script) as rx:
        log = _run(webhooks.deliver(rx.url, {"id": 1}, SUB_SECRET, policy=policy, time_scale=0))
    ours = log.attempts
    assert list(ours["status_code"]) == svc_infra_statuses
    scheduled = ours["scheduled_at"].diff().dt.total_seconds().dropna().tolist()
    assert len(scheduled) == len(svc_infra_waits)
    for wait, (low, high) in zip(scheduled, svc_infra_waits, strict=True):
        assert low <= wait <= high, (scheduled, svc_infra_waits)
    assert policy.delays() == scheduled


def test_dead_letter_last_error_is_the_attempt_before(oracle: SectionsOracle, db14: str) -> None:
    """svc-infra dead-letters without recording the last failure: the snapshot says which attempt."""
    statuses = [500, 502, 503, 504, 418]
    with Receiver(secret=SUB_SECRET, behaviour=statuses) as rx:
        mid = oracle.call(
            "pipeline",
            QUEUE_ENV,
            topic="order.created",
            payload={"id": 2},
            subscribers=[{"url": rx.url, "secret": SUB_SECRET}],
            runs=2,
        )
        job_id = mid["queued"]["ready"][0]
        # Mid-way: the job waits in jobs:delayed with the error of the attempt just made.
        waiting = mid["runs"][-1]["state"]["jobs"][job_id]
        snap = _run(queue_snapshot(REDIS_DB14))
        row = snap.jobs.set_index("job_id").loc[job_id]
        assert row["state"] == "delayed"
        assert row["last_error"] == waiting["last_error"]
        attempt_of_error = statuses.index(_status_of(waiting["last_error"])) + 1
        assert row["last_error_attempt"] == attempt_of_error

        rest = oracle.call("work", QUEUE_ENV, runs=5)
    final = rest[-1]["state"]
    assert job_id in final["dlq"]
    stored = final["jobs"][job_id]
    attempts_made = len(rx.requests)
    attempt_of_error = statuses.index(_status_of(stored["last_error"])) + 1
    assert attempt_of_error < attempts_made  # the oracle: the last failure is not recorded

    snap = _run(queue_snapshot(REDIS_DB14))
    row = snap.jobs.set_index("job_id").loc[job_id]
    assert row["state"] == "dlq"
    assert row["last_error"] == stored["last_error"]
    assert row["status_code"] == _status_of(stored["last_error"])
    assert row["attempts"] == int(stored["attempts"]) == attempts_made
    assert row["last_error_attempt"] == attempt_of_error
    dead = snap.report.get("webhooks.queue.dlq")
    assert dead.cause == "dead_lettered"
    assert f"attempt {attempt_of_error} of {attempts_made}" in dead.detail


def _requeue_commands(fix: str) -> list[str]:
    commands = [part.strip() for part in fix.split("&&")]
    first = commands[0]
    commands[0] = first[first.index("redis-cli") :]
    return commands


def _run_recipe(commands: list[str], password: str | None = None) -> None:
    for command in commands:
        if password is not None:
            command = command.replace("****", urllib.parse.quote(password, safe=""))
        done = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=10, check=False
        )
        refused = ("ERR", "NOAUTH", "WRONGPASS", "AUTH failed")
        said = done.stdout + done.stderr
        assert done.returncode == 0 and not any(r in said for r in refused), (command, done)


def _dead_letter_then_requeue(
    oracle: SectionsOracle, env: dict[str, str], url: str, password: str | None
) -> None:
    healed = threading.Event()

    def answer(attempt: int, request: Any) -> int:
        return 200 if healed.is_set() else 503

    with Receiver(secret=SUB_SECRET, behaviour=answer) as rx:
        result = oracle.call(
            "pipeline",
            env,
            topic="order.created",
            payload={"id": 3},
            subscribers=[{"url": rx.url, "secret": SUB_SECRET}],
            runs=7,
        )
        job_id = result["queued"]["ready"][0]
        assert job_id in result["runs"][-1]["state"]["dlq"]
        snap = _run(queue_snapshot(url))
        fix = snap.report.get("webhooks.queue.dlq").fix
        if password is not None:
            assert password not in fix and password not in str(snap.report)
        commands = _requeue_commands(fix)
        assert all(c.startswith("redis-cli -u ") for c in commands), fix
        _run_recipe(commands, password)
        healed.set()
        after = oracle.call("work", env, runs=2)
        assert rx.requests[-1].status == 200
    assert job_id not in after[0]["state"]["jobs"]  # svc-infra delivered and acknowledged it
    assert after[0]["state"]["dlq"] == []


def test_dlq_requeue_recipe_works_with_svc_infra(oracle: SectionsOracle, db14: str) -> None:
    """The recipe names the Redis and database; run as printed, svc-infra's worker redelivers."""
    _dead_letter_then_requeue(oracle, QUEUE_ENV, REDIS_DB14, None)


@pytest.mark.slow
def test_dlq_requeue_recipe_masks_the_password(oracle: SectionsOracle) -> None:
    password = "q-pass/word+" + uuid.uuid4().hex[:8]
    with RedisServer("--requirepass", password) as server:
        url = f"redis://:{urllib.parse.quote(password, safe='')}@127.0.0.1:{server.port}/0"
        env = {**QUEUE_ENV, "JOBS_REDIS_URL": url}
        _dead_letter_then_requeue(oracle, env, url, password)


# -- webhooks: the subscription secret at rest ---------------------------------------------


def _queued_secrets(queued: dict[str, Any]) -> dict[str, str]:
    return {
        job_id: json.loads(job["payload"])["payload"]["subscription"]["secret"]
        for job_id, job in queued["jobs"].items()
    }


def _publish_twice(oracle: SectionsOracle, env: dict[str, str]) -> dict[str, str]:
    result = oracle.call(
        "pipeline",
        env,
        topic="order.created",
        payload={"id": 4},
        subscribers=[
            {"url": "http://127.0.0.1:9/a", "secret": SUB_SECRET},
            {"url": "http://127.0.0.1:9/b", "secret": SUB_SECRET},
        ],
        runs=0,
    )
    return _queued_secrets(result["queued"])


@pytest.mark.parametrize("key", [FERNET_KEY, PASSPHRASE_KEY], ids=["fernet-key", "passphrase-key"])
def test_subscription_secret_is_decrypted_with_the_key(
    oracle: SectionsOracle, db14: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBHOOK_ENCRYPTION_KEY", raising=False)
    stored = _publish_twice(oracle, {**QUEUE_ENV, "WEBHOOK_ENCRYPTION_KEY": key})
    ciphertexts = list(stored.values())
    # The oracle: one secret, two different ciphertexts, both decrypting to it.
    assert len(set(ciphertexts)) == 2 and all(c.startswith("enc:v1:") for c in ciphertexts)
    plain = oracle.call("decrypt", {"WEBHOOK_ENCRYPTION_KEY": key}, ciphertexts=ciphertexts)
    assert [p["plain"] for p in plain] == [SUB_SECRET, SUB_SECRET]

    snap = _run(queue_snapshot(REDIS_DB14, encryption_key=key))
    shown = set(snap.jobs["secret"])
    assert shown == {mask_secret(SUB_SECRET)}
    assert fingerprint(SUB_SECRET) in shown.pop()

    monkeypatch.setenv("WEBHOOK_ENCRYPTION_KEY", key)  # the same key, from the environment
    snap = _run(queue_snapshot(REDIS_DB14))
    assert set(snap.jobs["secret"]) == {mask_secret(SUB_SECRET)}

    monkeypatch.delenv("WEBHOOK_ENCRYPTION_KEY")
    snap = _run(queue_snapshot(REDIS_DB14))
    (text,) = set(snap.jobs["secret"])  # one text for both: never a ciphertext fingerprint
    assert text.startswith("encrypted")
    assert not any(fingerprint(c) in str(snap.report) + text for c in ciphertexts)
    secrets = snap.report.get("webhooks.queue.secrets")
    assert secrets is not None and secrets.cause == "secret_encrypted"
    assert "WEBHOOK_ENCRYPTION_KEY" in secrets.fix


def test_subscription_secret_with_a_wrong_or_bad_key(
    oracle: SectionsOracle, db14: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBHOOK_ENCRYPTION_KEY", raising=False)
    stored = _publish_twice(oracle, QUEUE_ENV)
    wrong = oracle.call(
        "decrypt", {"WEBHOOK_ENCRYPTION_KEY": PASSPHRASE_KEY}, ciphertexts=list(stored.values())
    )
    assert all("error" in w for w in wrong)  # the oracle: another key cannot decrypt
    snap = _run(queue_snapshot(REDIS_DB14, encryption_key=PASSPHRASE_KEY))
    (text,) = set(snap.jobs["secret"])
    assert text.startswith("encrypted") and "does not decrypt" in text
    assert snap.report.get("webhooks.queue.secrets").cause == "secret_key_mismatch"

    bad = "!" * 43 + "="  # the shape of a Fernet key, not base64
    refused = oracle.call("encrypt", {"WEBHOOK_ENCRYPTION_KEY": bad}, secrets=[SUB_SECRET])
    assert "ValueError" in refused["error"]["mro"]  # svc-infra cannot encrypt with it
    snap = _run(queue_snapshot(REDIS_DB14, encryption_key=bad))
    finding = snap.report.get("webhooks.queue.secrets")
    assert finding.cause == "bad_encryption_key" and finding.status is Status.FAIL
    assert bad not in str(snap.report)


def test_subscription_secret_under_svc_infra_dev_key(
    oracle: SectionsOracle, db14: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No WEBHOOK_ENCRYPTION_KEY where the app runs: svc-infra encrypts with its dev key."""
    monkeypatch.delenv("WEBHOOK_ENCRYPTION_KEY", raising=False)
    env = {k: v for k, v in QUEUE_ENV.items() if k != "WEBHOOK_ENCRYPTION_KEY"}
    stored = _publish_twice(oracle, env)
    assert all(c.startswith("enc:v1:") for c in stored.values())
    snap = _run(queue_snapshot(REDIS_DB14))
    assert set(snap.jobs["secret"]) == {mask_secret(SUB_SECRET)}
    finding = snap.report.get("webhooks.queue.secrets")
    assert finding.cause == "dev_encryption_key" and finding.status is Status.WARN


# -- webhooks: where svc-infra's job queue lives -----------------------------------------------

_CLOSED = f"redis://127.0.0.1:{closed_port()}/3"
QUEUE_LOCATIONS: dict[str, dict[str, str]] = {
    "unset": {},
    "driver-memory": {"JOBS_DRIVER": "memory", "REDIS_URL": "redis://127.0.0.1:6379/5"},
    "driver-unknown": {"JOBS_DRIVER": "kafka", "REDIS_URL": "redis://127.0.0.1:6379/5"},
    "driver-padded": {"JOBS_DRIVER": "redis ", "REDIS_URL": "redis://127.0.0.1:6379/5"},
    "driver-upper": {"JOBS_DRIVER": "REDIS", "REDIS_URL": "redis://127.0.0.1:6379/5"},
    "no-url": {"JOBS_DRIVER": "redis"},
    "jobs-url-first": {
        "JOBS_DRIVER": "redis",
        "JOBS_REDIS_URL": "redis://127.0.0.1:6379/1",
        "REDIS_URL_PRIVATE": "redis://127.0.0.1:6379/2",
        "REDIS_PRIVATE_URL": "redis://127.0.0.1:6379/3",
        "REDIS_URL": "redis://127.0.0.1:6379/4",
        "CACHE_URL": "redis://127.0.0.1:6379/5",
    },
    "private-first": {
        "JOBS_DRIVER": "redis",
        "REDIS_URL_PRIVATE": "redis://127.0.0.1:6379/2",
        "REDIS_PRIVATE_URL": "redis://127.0.0.1:6379/3",
        "REDIS_URL": "redis://127.0.0.1:6379/4",
        "CACHE_URL": "redis://127.0.0.1:6379/5",
    },
    "private-alias": {
        "JOBS_DRIVER": "redis",
        "REDIS_PRIVATE_URL": "redis://127.0.0.1:6379/3",
        "REDIS_URL": "redis://127.0.0.1:6379/4",
    },
    "redis-before-cache": {
        "JOBS_DRIVER": "redis",
        "REDIS_URL": "redis://127.0.0.1:6379/4",
        "CACHE_URL": "redis://127.0.0.1:6379/5",
    },
    "cache-only": {"JOBS_DRIVER": "redis", "CACHE_URL": "redis://127.0.0.1:6379/5"},
    "empty-jobs-url": {
        "JOBS_DRIVER": "redis",
        "JOBS_REDIS_URL": "",
        "REDIS_URL": "redis://127.0.0.1:6379/4",
    },
    "password-and-db": {
        "JOBS_DRIVER": "redis",
        "JOBS_REDIS_URL": "redis://worker:s3cr%40t@127.0.0.1:6390/9",
    },
    "rest-url": {"JOBS_DRIVER": "redis", "UPSTASH_REDIS_REST_URL": "https://localhost:8079"},
    "mem-cache-url": {"JOBS_DRIVER": "redis", "CACHE_URL": "mem://"},
}


def _redis_target(url: str) -> dict[str, Any]:
    kwargs = redis.Redis.from_url(url).connection_pool.connection_kwargs
    return {k: kwargs.get(k) for k in ("host", "port", "db", "username", "password", "path")}


@pytest.mark.parametrize("case", QUEUE_LOCATIONS, ids=list(QUEUE_LOCATIONS))
def test_job_queue_location_matches_easy_jobs(oracle: SectionsOracle, case: str) -> None:
    env = QUEUE_LOCATIONS[case]
    built = oracle.call("jobs", env)
    ours = job_queue_redis_url(env)
    if "error" in built:  # svc-infra refuses the URL at easy_jobs(): svc_nb must not read it
        assert ours is not None and not ours.startswith(("redis://", "rediss://", "unix://"))
        return
    if built["queue"] == "InMemoryJobQueue":
        assert ours is None
        return
    assert built["queue"] == "RedisJobQueue"
    assert ours is not None
    assert _redis_target(ours) == built["redis"]


@pytest.mark.parametrize("case", ["unset", "driver-padded", "rest-url"])
def test_diagnose_queue_check_is_no_all_clear(oracle: SectionsOracle, case: str) -> None:
    """An in-memory (or refused) queue is never reported as "0 jobs, ok"."""
    env = {**QUEUE_LOCATIONS[case], "REDIS_URL": REDIS_DB14}
    if case == "rest-url":
        env.pop("REDIS_URL")
    built = oracle.call("jobs", env)
    report = _run(diagnose(env, timeout=3.0))
    (finding,) = [f for f in report if f.check == "webhooks.queue"]
    if "error" in built:
        assert finding.status is Status.FAIL and finding.cause == "queue_url_invalid"
        return
    assert built["queue"] == "InMemoryJobQueue"
    assert finding.status is Status.WARN, finding
    assert finding.cause == "in_memory_queue"
    text = f"{finding.summary} {finding.detail}"
    assert "memory" in text and "restart" in text
    assert "JOBS_DRIVER=redis" in finding.fix


def test_queue_redis_down_is_a_failure(oracle: SectionsOracle) -> None:
    """JOBS_REDIS_URL unreachable (the cache's Redis fine): svc-infra cannot enqueue a delivery."""
    env = {"JOBS_DRIVER": "redis", "JOBS_REDIS_URL": _CLOSED, "REDIS_URL": REDIS_DB14}
    with pytest.raises(OracleError) as refused:
        oracle.call(
            "pipeline",
            env,
            topic="order.created",
            payload={"id": 6},
            subscribers=[{"url": "http://127.0.0.1:9/x", "secret": SUB_SECRET}],
            runs=0,
        )
    assert "ConnectionError" in str(refused.value)  # the oracle: publishing fails
    report = _run(diagnose(env, timeout=2.0))
    (finding,) = [f for f in report if f.check == "webhooks.queue"]
    assert finding.status is Status.FAIL and finding.cause == "connect_failed"


def test_queue_reads_the_redis_svc_infra_uses(
    oracle: SectionsOracle, db14: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """diagnose() and queue_snapshot() read JOBS_REDIS_URL's Redis, not REDIS_URL's."""
    env = {**QUEUE_ENV, "REDIS_URL": _CLOSED, "CACHE_URL": _CLOSED}
    built = oracle.call("jobs", env)
    assert built["redis"]["db"] == 14
    published = oracle.call(
        "pipeline",
        env,
        topic="order.created",
        payload={"id": 5},
        subscribers=[{"url": "http://127.0.0.1:9/x", "secret": SUB_SECRET}],
        runs=0,
    )
    ready = len(published["queued"]["ready"])
    assert ready == 1

    report = _run(diagnose(env, timeout=3.0))
    (finding,) = [f for f in report if f.check == "webhooks.queue"]
    assert finding.status is Status.OK and finding.data["ready"] == ready

    for name in ("REDIS_URL_PRIVATE", "REDIS_PRIVATE_URL", "WEBHOOK_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    snap = _run(queue_snapshot())
    assert snap.url == REDIS_DB14
    assert snap.counts()["ready"] == ready

    monkeypatch.delenv("JOBS_DRIVER")
    snap = _run(queue_snapshot())
    assert snap.report.get("webhooks.queue").cause == "in_memory_queue"


# -- tokens ---------------------------------------------------------------------------------

JWT_ENV = {
    "AUTH_JWT__SECRET": "jwt-current-secret-0123456789abcdef0123",
    "AUTH_JWT__OLD_SECRETS": json.dumps(
        ["jwt-old-secret-a-0123456789abcdef012345", "jwt-old-secret-b-0123456789abcdef012345"]
    ),
    "JWT_SECRET_KEY": "jwt-guide-secret-0123456789abcdef0123456",
    "AUTH_JWT_SECRET": "jwt-shadowed-single-0123456789abcdef012",
    "JWT_SECRET": "jwt-shadowed-bare-0123456789abcdef0123456",
}
UNUSED_VARIABLES = ("JWT_SECRET_KEY", "AUTH_JWT_SECRET", "JWT_SECRET")


@pytest.fixture(scope="module")
def jwt_run(oracle: SectionsOracle) -> dict[str, Any]:
    extra = {name: JWT_ENV[name] for name in UNUSED_VARIABLES}
    return oracle.call("jwt", JWT_ENV, extra_secrets=extra)


def test_find_key_names_the_secret_svc_infra_accepts_with(jwt_run: dict[str, Any]) -> None:
    assert jwt_run["strategy"] == "RotatingJWTStrategy"
    candidates = candidates_from_env(JWT_ENV)
    # svc_nb's candidates are svc-infra's verification secrets, in svc-infra's order.
    current = resolve_jwt_secret(JWT_ENV)
    assert current is not None and candidates[current.source] == jwt_run["secrets"][0]
    for i, secret in enumerate(jwt_run["secrets"][1:]):
        assert candidates[f"AUTH_JWT__OLD_SECRETS[{i}]"] == secret
    names = {"primary": current.source} | {
        f"old[{i}]": f"AUTH_JWT__OLD_SECRETS[{i}]" for i in range(len(jwt_run["secrets"]) - 1)
    }
    for token_name, token in jwt_run["tokens"].items():
        verdict = jwt_run["verdicts"][token_name]
        report = find_key(token, candidates)
        finding = report.get("tokens.find_key")
        if verdict["signers"]:
            assert finding.data["match"] == names[verdict["signers"][0]], token_name
        if token_name == "mfa":
            continue  # signed with the current secret; svc-infra rejects it for its audience
        accepted = (
            finding.data.get("role") in ("current", "old") and finding.status is not Status.FAIL
        )
        assert accepted == verdict["strategy_accepts"], (token_name, finding)
    rotated = find_key(jwt_run["tokens"]["old[1]"], candidates).get("tokens.find_key")
    assert rotated.cause == "rotated_secret"
    guide = find_key(jwt_run["tokens"]["JWT_SECRET_KEY"], candidates).get("tokens.find_key")
    assert guide.cause == "unread_secret_variable"
    for name in ("AUTH_JWT_SECRET", "JWT_SECRET"):  # set, but svc-infra reads AUTH_JWT__SECRET
        assert not jwt_run["verdicts"][name]["strategy_accepts"]
        shadowed = find_key(jwt_run["tokens"][name], candidates).get("tokens.find_key")
        assert shadowed.cause == "shadowed_secret_variable", shadowed
        assert current.source in shadowed.summary


def test_inspect_agrees_with_the_strategy(jwt_run: dict[str, Any]) -> None:
    primary = jwt_run["secrets"][0]
    access = inspect(jwt_run["tokens"]["access"], key=primary, now=jwt_run["issued_at"])
    assert access.verified and access.worst is not Status.FAIL, access
    assert access.claims["aud"] == jwt_run["audience"]
    assert access.claims["exp"] - jwt_run["issued_at"] in range(
        jwt_run["lifetime_seconds"] - 5, jwt_run["lifetime_seconds"] + 1
    )
    # svc-infra's strategy accepts an old-secret token; with only the primary key it is not ours.
    assert jwt_run["verdicts"]["old[0]"]["strategy_accepts"]
    old = inspect(jwt_run["tokens"]["old[0]"], key=primary, now=jwt_run["issued_at"])
    assert not old.verified and old.get("tokens.signature").cause == "bad_signature"
    with_old = inspect(
        jwt_run["tokens"]["old[0]"], key=jwt_run["secrets"][1], now=jwt_run["issued_at"]
    )
    assert with_old.verified


def test_mfa_pre_token_is_not_an_access_token(jwt_run: dict[str, Any]) -> None:
    verdict = jwt_run["verdicts"]["mfa"]
    assert verdict["mfa_reader_accepts"] and not verdict["strategy_accepts"]
    token = jwt_run["tokens"]["mfa"]
    report = inspect(token, key=jwt_run["mfa_secret"], now=jwt_run["issued_at"])
    assert report.verified
    assert "tokens.mfa" in {f.check for f in report} or any(
        f.cause == "mfa_pre_token" for f in report
    ), report
    assert report.claims["exp"] - report.claims["iat"] == jwt_run["mfa_lifetime"]
    assert jwt_run["mfa_lifetime"] == jwt_run["mfa_settings_lifetime"]
    # Judged as an access token (svc-infra's audience), svc_nb fails it as svc-infra does.
    as_access = inspect(
        token, key=jwt_run["mfa_secret"], audience=jwt_run["audience"][0], now=jwt_run["issued_at"]
    )
    assert as_access.worst is Status.FAIL
    assert {f.cause for f in as_access if f.status is Status.FAIL} & {
        "mfa_pre_token",
        "wrong_audience",
    }


OLD_SECRET_CASES: dict[str, dict[str, str]] = {
    "json-list": {"AUTH_JWT__SECRET": "cur", "AUTH_JWT__OLD_SECRETS": '["old-a", "old-b"]'},
    "json-string": {"AUTH_JWT__SECRET": "cur", "AUTH_JWT__OLD_SECRETS": '"old-a"'},
    "comma-list": {"AUTH_JWT__SECRET": "cur", "AUTH_JWT__OLD_SECRETS": "old-a,old-b"},
    "empty-list": {"AUTH_JWT__SECRET": "cur", "AUTH_JWT__OLD_SECRETS": "[]"},
    "without-block-secret": {"JWT_SECRET": "cur", "AUTH_JWT__OLD_SECRETS": '["old-a"]'},
    "lower-case-names": {"auth_jwt__secret": "cur", "auth_jwt__old_secrets": '["old-a"]'},
    "block-json": {"AUTH_JWT": '{"secret": "cur", "old_secrets": ["old-a"]}'},
    "block-json-and-nested": {
        "AUTH_JWT": '{"secret": "cur"}',
        "AUTH_JWT__OLD_SECRETS": '["old-b"]',
    },
}


@pytest.mark.parametrize("case", OLD_SECRET_CASES, ids=list(OLD_SECRET_CASES))
def test_old_secrets_are_the_ones_svc_infra_verifies_with(
    oracle: SectionsOracle, case: str
) -> None:
    env = OLD_SECRET_CASES[case]
    run = oracle.call("jwt", env, extra_secrets={})
    # The oracle: svc-infra's verification secrets after the current one (none if it refused).
    theirs = [] if "error" in run else run["secrets"][1:]
    candidates = candidates_from_env(env)
    ours = [v for k, v in candidates.items() if k.startswith("AUTH_JWT__OLD_SECRETS[")]
    assert ours == theirs, (run.get("error"), candidates)


@pytest.mark.parametrize("env", [{}, JWT_ENV], ids=["no secret", "AUTH_JWT__SECRET set"])
def test_reset_and_verify_tokens_are_signed_with_the_literal_unused(
    oracle: SectionsOracle, env: dict[str, str]
) -> None:
    """env.dev_secrets' claim, whatever the environment: svc-infra's own UserManager uses
    'unused', so anyone can forge a verification token it decodes."""
    from svc_nb.env import check_env

    run = oracle.call("jwt", env, extra_secrets={})
    secrets = run["manager_token_secrets"]
    assert secrets == {"reset": "unused", "verify": "unused", "forged_verify_token_decodes": True}
    finding = check_env(env)["env.dev_secrets"]
    assert finding.status is Status.WARN and "'unused'" in finding.detail + finding.summary


def test_dev_default_secrets_are_found(oracle: SectionsOracle) -> None:
    """Without a JWT secret, svc-infra signs with built-in development secrets: find_key says so."""
    run = oracle.call("jwt", {}, extra_secrets={})
    candidates = candidates_from_env({})
    for token_name in ("access", "mfa"):
        finding = find_key(run["tokens"][token_name], candidates).get("tokens.find_key")
        assert finding.cause == "dev_default_secret", (token_name, finding)
        assert finding.status is Status.WARN
    signer = {"access": run["secrets"][0], "mfa": run["mfa_secret"]}
    assert signer["access"] != signer["mfa"]  # two different built-in secrets
    assert set(signer.values()) <= set(candidates.values())


# -- oauth ----------------------------------------------------------------------------------

OAUTH_ENV = {
    "SQL_URL": LOCAL_PG,
    "AUTH_JWT__SECRET": "oauth-session-secret-0123456789abcdef01",
    "AUTH_GITHUB_CLIENT_ID": "gh-oracle-client",
    "AUTH_GITHUB_CLIENT_SECRET": "gh-oracle-client-secret",
}
CALLBACK_CASES: dict[str, dict[str, Any]] = {
    "state_mismatch": {"state": "not-the-login-state"},
    "session_cookie_missing": {"no_cookie": True},
    "session_signature_invalid": {"secret": "another-session-secret-0123456789"},
    "session_expired": {"age_s": 4 * 3600 + 120},
    "no_pending_login": {"drop_keys": ["oauth:"]},
    "authlib_state_missing": {"drop_keys": ["_state_"]},
}


@pytest.fixture(scope="module")
def oauth_run(oracle: SectionsOracle) -> dict[str, Any]:
    forge = [{"name": name, **case} for name, case in CALLBACK_CASES.items()]
    return oracle.call("oauth", OAUTH_ENV, provider="github", forge=forge)


def test_login_cookie_is_read_as_svc_infra_wrote_it(oauth_run: dict[str, Any]) -> None:
    middleware, session = oauth_run["middleware"], oauth_run["session"]
    # The session cookie is signed with the JWT secret svc_nb resolves from the environment.
    current = resolve_jwt_secret(OAUTH_ENV)
    assert current is not None and oauth_run["secret"] == current.value
    assert middleware["session_cookie"] == SESSION_COOKIE
    assert middleware["max_age"] == SESSION_MAX_AGE
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(oauth_run["login"]["location"]).query)[
        "state"
    ][0]
    report = inspect_session_cookie(
        oauth_run["cookie_header"], oauth_run["secret"], now=oauth_run["now"], provider="github"
    )
    assert report.get("oauth.session.signature").status is Status.OK
    age = report.get("oauth.session.age")
    assert age.status is Status.OK and age.data["max_age_s"] == middleware["max_age"]
    keys = report.get("oauth.session.oauth_keys")
    assert keys.status is Status.OK
    svc_infra_keys = {k.split(":", 2)[2] for k in session if k.startswith("oauth:github:")}
    assert set(keys.data["providers"]["github"]) == svc_infra_keys
    assert keys.data["providers"]["github"]["state"] == state == session["oauth:github:state"]
    authlib = {k for k in session if k.startswith("_state_github_")}
    assert {f"_state_github_{s}" for s in keys.data["authlib_states"]["github"]} == authlib
    for secret_value in (session["oauth:github:pkce_verifier"], oauth_run["secret"]):
        assert secret_value not in str(report) and secret_value not in json.dumps(
            report.to_dict(), default=str
        )
    matching = compare_state(
        state, oauth_run["cookie_header"], oauth_run["secret"], now=oauth_run["now"]
    )
    assert matching.get("oauth.session.state").status is Status.OK


def _svc_infra_answer(answer: dict[str, Any]) -> str:
    if answer["status"] == 400:
        return f"400 {answer['body']['detail']}"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer["location"]).query)
    return f"{answer['status']} oauth_error={query['oauth_error'][0]}"


@pytest.mark.parametrize("cause", CALLBACK_CASES, ids=list(CALLBACK_CASES))
def test_callback_failures_are_named_with_svc_infra_answer(
    oauth_run: dict[str, Any], cause: str
) -> None:
    (callback,) = [c for c in oauth_run["callbacks"] if c["case"]["name"] == cause]
    answer = callback["answer"]
    assert answer["status"] in (302, 400)  # the oracle: svc-infra refused this callback
    report = compare_state(callback["state"], callback["cookie"], oauth_run["secret"])
    failing = [f for f in report if f.status is Status.FAIL]
    assert failing and failing[0].cause == cause, report
    assert failing[0].data["svc_infra_answer"] == _svc_infra_answer(answer)


def test_failed_callback_leaves_no_pending_login(oauth_run: dict[str, Any]) -> None:
    """svc-infra pops its state even when the callback fails: a retry cannot succeed."""
    (callback,) = [c for c in oauth_run["callbacks"] if c["case"]["name"] == "state_mismatch"]
    (new_cookie,) = callback["answer"]["set_cookie"]
    login_state = oauth_run["session"]["oauth:github:state"]
    report = compare_state(login_state, new_cookie, oauth_run["secret"], provider="github")
    assert report.get("oauth.session.state").cause == "no_pending_login"


# -- migrations -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[Any]:
    """svc-infra's Alembic env.py connects with ssl='require': the local server has no TLS."""
    from tests._support import PostgresCluster

    with PostgresCluster(ssl=True) as cluster:
        yield cluster


@pytest.mark.slow
@pytest.mark.parametrize("version_table", [None, "svc_versions"], ids=["default", "renamed"])
def test_migrations_check_agrees_with_svc_infra_alembic(
    oracle: SectionsOracle, tls_postgres: Any, tmp_path: Any, version_table: str | None
) -> None:
    from svc_nb import migrations

    database = f"fid_{uuid.uuid4().hex[:10]}"
    tls_postgres.psql(f'CREATE DATABASE "{database}"')
    url = tls_postgres.url(db=database)
    env = {"SQL_URL": url.replace("postgresql://", "postgresql+asyncpg://", 1)}
    env["PROJECT_ROOT"] = str(tmp_path)
    ours_env = {}
    if version_table:
        env["ALEMBIC_VERSION_TABLE"] = ours_env["ALEMBIC_VERSION_TABLE"] = version_table
    script_location = tmp_path / "migrations"

    def check() -> Any:
        return _run(
            migrations.check(
                url, script_location, version_table=None, environ=ours_env, timeout=30.0
            )
        )

    steps = oracle.call(
        "migrations",
        env,
        steps=[
            {"action": "init"},
            {"action": "revision", "message": "first"},
            {"action": "upgrade"},
            {"action": "current"},
            {"action": "heads"},
        ],
    )
    assert all("error" not in s for s in steps), steps
    current, heads = steps[-2]["result"], steps[-1]["result"]
    assert current == heads  # the oracle: svc-infra's Alembic put the database at head
    report = check()
    state = report.get("migrations.state")
    assert state.status is Status.OK, report
    assert current[0] in f"{state.summary} {state.detail} {state.data}"

    steps = oracle.call(
        "migrations",
        env,
        steps=[
            {"action": "revision", "message": "second"},
            {"action": "current"},
            {"action": "heads"},
        ],
    )
    current, heads = steps[-2]["result"], steps[-1]["result"]
    assert current != heads
    behind = check().get("migrations.state")
    assert behind.cause == "pending_revisions", behind
    assert heads[0] in f"{behind.summary} {behind.detail} {behind.fix}"

    steps = oracle.call("migrations", env, steps=[{"action": "upgrade"}, {"action": "current"}])
    assert steps[-1]["result"] == heads
    assert check().get("migrations.state").status is Status.OK
