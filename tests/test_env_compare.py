"""``svc_nb.env.compare``: the settings of several services side by side, and what breaks between them.

The oracle tests run every service of :data:`SERVICES` as svc-infra builds it (one
clean child process each, ``tests/_compare_oracle.py``): the token its JWT strategy
issues, the subscription secret it encrypts, the database URL its engine gets,
its job queue's Redis target, its cache settings and environment. Then, for pairs
and trios of those services written as real ``.env`` files, every verdict of
``compare`` must match what svc-infra did across the processes: a token one
service issued rejected by another, a secret one encrypted that another cannot
decrypt, two queues that are not one.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from svc_nb import Status
from svc_nb.env import EnvCause, compare
from svc_nb.env._compare_cli import main as compare_main
from svc_nb.env._compare_settings import database_key, redis_key
from svc_nb.env._compare_view import MARK
from tests._compare_oracle import run_group
from tests._support import ROOT, changed_env
from tests.fidelity._oracle import clean_env

C = EnvCause
PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379"
FERNET_1 = "q3Dk8Mq1wF0b1Yq6nVv9m0mD4o1d0fVQbXo0y6X8nQ0="
FERNET_2 = "17wllk3qVA82ZlEbSc0MR8piYqa0uoppTgIvsxDnTN8="
S1 = "compare-secret-one-" + "a" * 24
S2 = "compare-secret-two-" + "b" * 24
S3 = "compare-secret-three-" + "c" * 24

BASE: dict[str, str] = {
    "APP_ENV": "production",
    "SQL_URL": PG,
    "CACHE_URL": f"{REDIS}/11",
    "JOBS_DRIVER": "redis",
    "JOBS_REDIS_URL": f"{REDIS}/12",
    "AUTH_JWT__SECRET": S1,
    "WEBHOOK_ENCRYPTION_KEY": FERNET_1,
    "SESSION_SECRET": "compare-session-" + "d" * 24,
}


def service(**changes: str | None) -> dict[str, str]:
    return changed_env(BASE, changes)


# Each service differs from "api" in one way (or, for worker*, in none that matters).
SERVICES: dict[str, dict[str, str]] = {
    "api": service(),
    "worker": service(),
    # Other names, same effective values: AUTH_JWT_SECRET wins over JWT_SECRET, and the
    # job queue falls back to REDIS_URL_PRIVATE before REDIS_URL.
    "worker_fallbacks": service(
        AUTH_JWT__SECRET=None,
        AUTH_JWT_SECRET=S1,
        JWT_SECRET=S2,
        JOBS_REDIS_URL=None,
        REDIS_URL_PRIVATE=f"{REDIS}/12",
        REDIS_URL=f"{REDIS}/5",
    ),
    "worker_jwt": service(AUTH_JWT__SECRET=S2),
    "api_rotated": service(AUTH_JWT__SECRET=S3, AUTH_JWT__OLD_SECRETS=json.dumps([S1])),
    "worker_key": service(WEBHOOK_ENCRYPTION_KEY=FERNET_2),
    "worker_queue": service(JOBS_REDIS_URL=None, REDIS_URL=f"{REDIS}/5"),
    "worker_memory": service(JOBS_DRIVER=None),
    "staging": service(SQL_URL="postgresql://postgres@127.0.0.1:5432/postgres"),
    "dev": {"APP_ENV": "development", "SQL_URL": PG, "CACHE_URL": f"{REDIS}/11"},
    "worker_cache": service(CACHE_PREFIX="worker"),
}
CHECKS = (
    "env.compare.jwt_secret",
    "env.compare.webhook_encryption_key",
    "env.compare.queue",
    "env.compare.database",
    "env.compare.app_env",
    "env.compare.cache",
)


@pytest.fixture(scope="module")
def oracle() -> dict[str, dict[str, Any]]:
    """What svc-infra did in every service of the catalogue, computed once."""
    return run_group(SERVICES)


def write_env(folder: Path, name: str, env: Mapping[str, str]) -> Path:
    """A real .env file; JSON values single-quoted, as people write them."""
    path = folder / f"{name}.env"
    lines = [f"{k}='{v}'" if v[:1] in "[{" else f"{k}={v}" for k, v in env.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env_files(tmp_path: Path) -> dict[str, Path]:
    return {name: write_env(tmp_path, name, env) for name, env in SERVICES.items()}


def statuses(comparison: Any) -> dict[str, tuple[str, str | None]]:
    return {f.check: (f.status.value, f.cause) for f in comparison.report if f.check in CHECKS}


# -- what svc-infra did, pair by pair --------------------------------------------------


def _oracle_verdicts(a: dict[str, Any], b: dict[str, Any], na: str, nb: str) -> dict[str, str]:
    """The statuses svc-infra's behaviour implies for two services that do everything."""
    rejected = (
        a["accepts_tokens_from"].get(nb) is not True or b["accepts_tokens_from"].get(na) is not True
    )
    same_key = a["jwt"].get("secret_fp") == b["jwt"].get("secret_fp") and "error" not in a["jwt"]
    jwt = "fail" if rejected else "ok" if same_key else "warn"
    decrypts = (
        a["decrypts_secrets_from"].get(nb) is True and b["decrypts_secrets_from"].get(na) is True
    )
    qa, qb = a["job_queue"], b["job_queue"]
    queue = "fail" if qa != qb else "warn" if qa["driver"] == "memory" else "ok"
    cache_a = (redis_key(a["cache"]["url"]), a["cache"]["prefix"], a["cache"]["version"])
    cache_b = (redis_key(b["cache"]["url"]), b["cache"]["prefix"], b["cache"]["version"])
    return {
        "env.compare.jwt_secret": jwt,
        "env.compare.webhook_encryption_key": "ok" if decrypts else "fail",
        "env.compare.queue": queue,
        "env.compare.database": "ok" if a["database"] == b["database"] else "warn",
        "env.compare.app_env": (
            "ok" if a["environment"]["prod_like"] == b["environment"]["prod_like"] else "warn"
        ),
        "env.compare.cache": "ok" if cache_a == cache_b else "warn",
    }


PAIRS = list(itertools.combinations(SERVICES, 2))


@pytest.mark.fidelity
@pytest.mark.slow
def test_every_pair_is_judged_as_svc_infra_behaves(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    """For all 55 pairs of the catalogue, as .env files: each verdict follows svc-infra's behaviour."""
    disagreements = {}
    for na, nb in PAIRS:
        comparison = compare({na: env_files[na], nb: env_files[nb]})
        said = {check: status for check, (status, _) in statuses(comparison).items()}
        expected = _oracle_verdicts(oracle[na], oracle[nb], na, nb)
        if said != expected:
            disagreements[f"{na}+{nb}"] = {
                c: (said.get(c), expected[c]) for c in CHECKS if said.get(c) != expected[c]
            }
    assert not disagreements, f"compare (svc_nb, svc-infra) disagree: {disagreements}"


@pytest.mark.fidelity
@pytest.mark.slow
def test_the_grid_shows_what_svc_infra_uses(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    """Fingerprints of the JWT signing and old keys, database, queue and cache targets."""
    comparison = compare(env_files)
    settings = comparison._settings
    for name, used in oracle.items():
        cells = settings[name].cells  # type: ignore[union-attr]
        assert cells["jwt_secret"].key == used["jwt"]["secret_fp"], name
        assert list(cells["jwt_old_secrets"].extra) == used["jwt"]["old_fps"], name
        db = used["database"]
        url = f"postgresql://{db['username']}@{db['host']}:{db['port']}/{db['database']}"
        assert cells["database"].key == database_key(url), name
        queue = used["job_queue"]
        if queue["driver"] == "memory":
            assert cells["job_queue"].key == ("memory",), name
        else:
            kind, (_scheme, *target) = cells["job_queue"].key
            expected = [queue["host"], queue["port"], queue["path"], queue["db"], queue["username"]]
            assert (kind, target) == ("redis", expected), name
        cache = used["cache"]
        assert cells["cache_url"].key == redis_key(cache["url"]), name
        assert cells["cache_namespace"].key == (cache["prefix"], cache["version"]), name
        assert cells["app_env"].key[1] == used["environment"]["prod_like"], name
        assert str(cells["jwt_secret"].key) in comparison.frame.loc["JWT signing key", name]


# -- each failure, named ---------------------------------------------------------------


@pytest.mark.fidelity
@pytest.mark.slow
def test_jwt_mismatch(oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]) -> None:
    assert oracle["worker_jwt"]["accepts_tokens_from"]["api"] is False
    comparison = compare({"api": env_files["api"], "worker": env_files["worker_jwt"]})
    found = comparison.report["env.compare.jwt_secret"]
    assert (found.status, found.cause) == (Status.FAIL, C.JWT_SECRET_MISMATCH)
    assert "worker rejects tokens from api" in found.summary
    assert oracle["api"]["jwt"]["secret_fp"] in found.detail
    assert oracle["worker_jwt"]["jwt"]["secret_fp"] in found.detail
    assert "AUTH_JWT__SECRET" in found.fix
    assert comparison.differing == ["jwt_secret"]
    assert comparison.frame.loc["JWT signing key"].str.startswith(MARK).all()


@pytest.mark.fidelity
@pytest.mark.slow
def test_jwt_rotation_in_progress_is_not_a_failure(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    """api still signs with the old secret, which api_rotated lists in AUTH_JWT__OLD_SECRETS."""
    assert oracle["api_rotated"]["accepts_tokens_from"]["api"] is True
    roles = {"api": ["issues_tokens"], "gateway": ["verifies_tokens"]}
    comparison = compare(
        {"api": env_files["api"], "gateway": env_files["api_rotated"]}, roles=roles
    )
    found = comparison.report["env.compare.jwt_secret"]
    assert (found.status, found.cause) == (Status.WARN, C.JWT_ROTATION_IN_PROGRESS)
    assert "rotation in progress" in found.summary and "gateway" in found.summary
    assert "AUTH_JWT__OLD_SECRETS" in found.fix
    assert comparison.report["env.compare.roles"].data["assumed"] is False


@pytest.mark.fidelity
@pytest.mark.slow
def test_jwt_rotation_half_done_in_a_trio(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    """api_rotated signs with the new secret; api and worker know only the old one."""
    assert oracle["api"]["accepts_tokens_from"]["api_rotated"] is False
    assert oracle["worker"]["accepts_tokens_from"]["api_rotated"] is False
    trio = {n: env_files[n] for n in ("api", "worker", "api_rotated")}
    found = compare(trio).report["env.compare.jwt_secret"]
    assert (found.status, found.cause) == (Status.FAIL, C.JWT_ROTATION_INCOMPLETE)
    assert "api, worker lack the new secret and reject tokens from api_rotated" in found.summary
    assert "Give api, worker the new secret" in found.fix


@pytest.mark.fidelity
@pytest.mark.slow
def test_worker_cannot_decrypt_what_the_api_stored(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    assert oracle["worker_key"]["decrypts_secrets_from"]["api"] == "InvalidToken"
    roles = {
        "api": ["issues_tokens", "verifies_tokens", "creates_subscriptions", "enqueues"],
        "worker": "worker",
    }
    comparison = compare({"api": env_files["api"], "worker": env_files["worker_key"]}, roles=roles)
    found = comparison.report["env.compare.webhook_encryption_key"]
    assert (found.status, found.cause) == (Status.FAIL, C.WEBHOOK_KEY_MISMATCH)
    assert "worker cannot decrypt subscription secrets stored by api" in found.summary
    assert "InvalidToken" in found.detail and "WEBHOOK_ENCRYPTION_KEY" in found.fix
    # The worker issues no token here: the JWT check has no pair to judge.
    assert comparison.report["env.compare.jwt_secret"].status is Status.OK


@pytest.mark.fidelity
@pytest.mark.slow
@pytest.mark.parametrize("worker", ["worker_queue", "worker_memory"])
def test_worker_polls_another_queue(
    worker: str, oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    assert oracle[worker]["job_queue"] != oracle["api"]["job_queue"]
    roles = {"api": ["enqueues"], "worker": ["worker"]}
    found = compare({"api": env_files["api"], "worker": env_files[worker]}, roles=roles).report[
        "env.compare.queue"
    ]
    assert (found.status, found.cause) == (Status.FAIL, C.JOB_QUEUE_MISMATCH)
    assert "worker never sees the jobs of api" in found.summary
    assert "JOBS_DRIVER=redis" in found.fix


@pytest.mark.fidelity
@pytest.mark.slow
def test_fallback_names_resolve_to_the_same_values(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    """Different variable names, one queue and one secret for svc-infra: nothing to report."""
    assert oracle["worker_fallbacks"]["job_queue"] == oracle["api"]["job_queue"]
    assert oracle["worker_fallbacks"]["accepts_tokens_from"]["api"] is True
    comparison = compare({"api": env_files["api"], "worker": env_files["worker_fallbacks"]})
    assert all(status == "ok" for status, _ in statuses(comparison).values()), statuses(comparison)
    assert comparison.differing == []


@pytest.mark.fidelity
@pytest.mark.slow
def test_staging_points_at_another_database(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    assert oracle["staging"]["database"] != oracle["api"]["database"]
    comparison = compare(
        {"api": env_files["api"], "worker": env_files["worker"], "staging": env_files["staging"]}
    )
    found = comparison.report["env.compare.database"]
    assert (found.status, found.cause) == (Status.WARN, C.DATABASE_DIFFERS)
    assert "2 different databases" in found.summary and "/postgres on staging" in found.detail
    # Two agree: only the odd one out is marked.
    marks = comparison.differs.loc["database (SQL_URL)"]
    assert marks.to_dict() == {"api": False, "worker": False, "staging": True}


@pytest.mark.fidelity
@pytest.mark.slow
def test_development_service_next_to_production(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    assert oracle["dev"]["environment"]["prod_like"] is False
    comparison = compare({"api": env_files["api"], "dev": env_files["dev"]})
    app_env = comparison.report["env.compare.app_env"]
    assert (app_env.status, app_env.cause) == (Status.WARN, C.APP_ENV_MIXED)
    assert "production-like (api) and development (dev)" in app_env.summary
    # dev signs with svc-infra's public default secret: its fingerprint is what svc-infra used.
    assert oracle["dev"]["jwt"]["secret_fp"] in comparison.frame.loc["JWT signing key", "dev"]
    assert "public dev default" in comparison.frame.loc["JWT signing key", "dev"]
    assert comparison.report["env.compare.jwt_secret"].cause == C.JWT_SECRET_MISMATCH


@pytest.mark.fidelity
@pytest.mark.slow
def test_cache_namespace_differs(
    oracle: dict[str, dict[str, Any]], env_files: dict[str, Path]
) -> None:
    assert oracle["worker_cache"]["cache"]["prefix"] != oracle["api"]["cache"]["prefix"]
    found = compare({"api": env_files["api"], "worker": env_files["worker_cache"]}).report[
        "env.compare.cache"
    ]
    assert (found.status, found.cause) == (Status.WARN, C.CACHE_NAMESPACE_DIFFERS)
    assert "svc:v1 on api; worker:v1 on worker" in found.detail


def test_cache_url_differs(tmp_path: Path) -> None:
    found = compare({"api": service(), "worker": service(CACHE_URL=None)}).report[
        "env.compare.cache"
    ]
    assert (found.status, found.cause) == (Status.WARN, C.CACHE_URL_DIFFERS)


def test_production_service_without_jwt_secret() -> None:
    found = compare({"api": service(), "worker": service(AUTH_JWT__SECRET=None)}).report[
        "env.compare.jwt_secret"
    ]
    assert (found.status, found.cause) == (Status.FAIL, C.JWT_SECRET_MISSING)
    assert found.summary.startswith("worker cannot issue or verify tokens")


def test_unusable_webhook_key() -> None:
    found = compare(
        {"api": service(), "worker": service(WEBHOOK_ENCRYPTION_KEY="!" * 43 + "=")}
    ).report["env.compare.webhook_encryption_key"]
    assert (found.status, found.cause) == (Status.FAIL, C.WEBHOOK_KEY_INVALID)
    assert "of worker is unusable" in found.summary


def test_memory_queues_with_assumed_and_given_roles() -> None:
    envs = {"api": service(JOBS_DRIVER=None), "worker": service(JOBS_DRIVER=None)}
    assumed = compare(envs).report["env.compare.queue"]
    assert (assumed.status, assumed.cause) == (Status.WARN, C.JOB_QUEUE_NOT_SHARED)
    given = compare(envs, roles={"api": "enqueues", "worker": "worker"}).report["env.compare.queue"]
    assert (given.status, given.cause) == (Status.FAIL, C.JOB_QUEUE_NOT_SHARED)


# -- roles -------------------------------------------------------------------------------


def test_default_roles_are_stated_in_the_report() -> None:
    comparison = compare({"api": service(), "worker": service()})
    roles = comparison.report["env.compare.roles"]
    assert roles.status is Status.OK and "assumed to do everything" in roles.summary
    assert comparison.roles_assumed
    assert all(len(held) == 5 for held in comparison.roles.values())


def test_unlisted_services_keep_every_role() -> None:
    comparison = compare(
        {"api": service(), "worker": service(), "admin": service()}, roles={"worker": ["worker"]}
    )
    assert "not listed, assumed to do everything" in comparison.report["env.compare.roles"].detail
    assert comparison.roles["worker"] == ("worker",)
    assert len(comparison.roles["admin"]) == 5


@pytest.mark.parametrize(
    ("roles", "error"),
    [
        ({"api": ["issue"]}, ValueError),
        ({"nobody": ["worker"]}, ValueError),
        ({"api": 3}, TypeError),
        (["api"], TypeError),
    ],
)
def test_bad_roles_are_misuse(roles: Any, error: type[Exception]) -> None:
    from svc_nb import SvcNbError

    with pytest.raises(error) as caught:
        compare({"api": service(), "worker": service()}, roles=roles)
    assert isinstance(caught.value, SvcNbError)


# -- doctor reports as input ---------------------------------------------------------------

DOCTOR_SERVICES = ("api", "worker_jwt", "worker_key", "worker_queue", "staging", "dev")


def _doctor_json(env_file: Path, out: Path) -> Path:
    """`svc-nb doctor --json` as a user runs it where the service runs (only its own variables)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "svc_nb.cli",
            "doctor",
            "--json",
            "--only",
            "env",
            "--env-file",
            str(env_file),
        ],
        env=clean_env({}),
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    out.write_text(proc.stdout, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def doctor_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("doctor")
    files = {n: write_env(folder, n, SERVICES[n]) for n in DOCTOR_SERVICES}
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = pool.map(lambda n: _doctor_json(files[n], folder / f"{n}.json"), DOCTOR_SERVICES)
        return dict(zip(DOCTOR_SERVICES, paths, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("other", DOCTOR_SERVICES[1:])
def test_doctor_reports_give_the_verdicts_of_env_files(
    other: str, doctor_reports: dict[str, Path], env_files: dict[str, Path]
) -> None:
    """Each failure found from the .env files is found from the doctor reports too."""
    from_files = statuses(compare({"api": env_files["api"], other: env_files[other]}))
    from_reports = statuses(compare({"api": doctor_reports["api"], other: doctor_reports[other]}))
    # A doctor report does not carry the cache namespace: that comparison may be left out.
    for check in CHECKS:
        if check == "env.compare.cache" and from_reports[check][1] == C.COMPARE_DATA_MISSING:
            continue
        assert from_reports[check] == from_files[check], check


@pytest.mark.slow
def test_doctor_report_and_env_file_mixed(
    doctor_reports: dict[str, Path], env_files: dict[str, Path]
) -> None:
    comparison = compare({"api": doctor_reports["api"], "worker": env_files["worker_jwt"]})
    assert comparison.report["env.compare.jwt_secret"].cause == C.JWT_SECRET_MISMATCH
    assert comparison.report["env.compare.queue"].status is Status.OK
    # What the report does not carry is shown as such and judged on the rest.
    assert comparison.frame.loc["cache prefix:version", "api"] == "(not in this input)"


def test_doctor_report_without_env_findings(tmp_path: Path) -> None:
    report = tmp_path / "doctor.json"
    report.write_text(
        json.dumps({"schema_version": "1.0", "findings": [{"check": "db.tcp", "status": "ok"}]})
    )
    comparison = compare({"api": report, "worker": service()})
    for check in ("env.compare.jwt_secret", "env.compare.database", "env.compare.queue"):
        found = comparison.report[check]
        assert (found.status, found.cause) == (Status.SKIP, C.COMPARE_DATA_MISSING), check
        assert "api" in found.summary


def test_doctor_watch_output_uses_the_last_document(tmp_path: Path) -> None:
    lines = [
        {
            "findings": [
                {
                    "check": "env.app_env",
                    "status": "ok",
                    "data": {"environment": "dev", "prod_like": False},
                }
            ]
        },
        {
            "findings": [
                {
                    "check": "env.app_env",
                    "status": "ok",
                    "data": {"environment": "prod", "prod_like": True},
                }
            ]
        },
    ]
    watch = tmp_path / "watch.json"
    watch.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    comparison = compare({"api": watch, "worker": service()})
    assert comparison.report["env.compare.app_env"].status is Status.OK


# -- bad input: findings, never tracebacks ------------------------------------------------


def test_missing_file_is_a_finding_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    comparison = compare({"api": service(), "worker": missing})
    found = comparison.report["env.compare.input"]
    assert (found.status, found.cause) == (Status.FAIL, C.ENV_FILE_MISSING)
    assert "worker" in found.summary and str(missing) in found.summary
    services = comparison.report["env.compare.services"]
    assert (services.status, services.cause) == (Status.FAIL, C.COMPARE_TOO_FEW_SERVICES)
    assert comparison.frame.loc["JWT signing key", "worker"].startswith("(input unusable")


def test_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "blob.env"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(512))
    latin1 = tmp_path / "latin1.env"
    latin1.write_bytes(
        "APP_ENV=prod\nCORS_ALLOW_ORIGINS=https://caf\xe9.example\n".encode("latin-1")
    )
    comparison = compare({"api": service(), "blob": binary, "latin": latin1})
    found = {f.data["service"]: f for f in comparison.report.select("env.compare.input")}
    assert (found["blob"].status, found["blob"].cause) == (Status.FAIL, C.COMPARE_INPUT_INVALID)
    assert "is a binary file" in found["blob"].summary
    assert found["latin"].cause == C.ENV_FILE_NOT_UTF8
    assert "line 2" in found["latin"].detail


def test_directory_fifo_and_huge_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.env"
    huge.write_bytes(b"A=" + b"x" * (5 * 1024 * 1024))
    started = time.monotonic()
    comparison = compare({"dir": tmp_path, "fifo": fifo, "huge": huge, "api": service()})
    assert time.monotonic() - started < 5  # a FIFO is never opened: nothing blocks
    causes = {f.data["service"]: f.cause for f in comparison.report.select("env.compare.input")}
    assert causes == {
        "dir": C.ENV_FILE_MISSING,
        "fifo": C.ENV_FILE_MISSING,
        "huge": C.COMPARE_INPUT_INVALID,
    }


def test_json_that_is_not_a_doctor_report(tmp_path: Path) -> None:
    other = tmp_path / "package.json"
    other.write_text('{"name": "frontend", "version": "1.0.0"}')
    broken = tmp_path / "broken.json"
    broken.write_text('{"findings": [')
    comparison = compare({"api": service(), "other": other, "broken": broken})
    summaries = [f.summary for f in comparison.report.select("env.compare.input")]
    assert any("not a svc-nb doctor --json report" in s for s in summaries)
    assert any("does not parse" in s for s in summaries)


def test_no_services_and_a_single_service() -> None:
    for services in ({}, {"api": service()}):
        comparison = compare(services)
        found = comparison.report["env.compare.services"]
        assert (found.status, found.cause) == (Status.FAIL, C.COMPARE_TOO_FEW_SERVICES)
        assert f"{len(services)} usable service(s)" in found.summary
        assert not comparison.report.select("env.compare.jwt_secret")


def test_an_empty_environment_is_compared_with_a_warning(tmp_path: Path) -> None:
    empty_file = tmp_path / "empty.env"
    empty_file.write_text("")
    comparison = compare({"api": service(), "blank": {}, "file": empty_file})
    warned = {f.data["service"]: f for f in comparison.report.select("env.compare.input")}
    assert set(warned) == {"blank", "file"}
    assert all(f.status is Status.WARN and f.cause == C.COMPARE_ENV_EMPTY for f in warned.values())
    assert comparison.report["env.compare.app_env"].cause == C.APP_ENV_MIXED


@pytest.mark.parametrize("services", [["api.env"], "api=api.env", None])
def test_services_must_be_a_mapping(services: Any) -> None:
    with pytest.raises(TypeError, match="mapping of service name"):
        compare(services)


def test_environment_of_the_wrong_type_is_misuse() -> None:
    with pytest.raises(TypeError, match="'worker' must be a mapping"):
        compare({"api": service(), "worker": 42})


# -- views: twenty services, no secret anywhere ----------------------------------------------


def test_twenty_services_render_readably() -> None:
    envs = {f"svc{i:02d}": service(CACHE_PREFIX=f"p{i % 3}") for i in range(20)}
    envs["svc07"] = service(AUTH_JWT__SECRET=S2)
    started = time.monotonic()
    comparison = compare(envs)
    frame = comparison.frame
    assert frame.shape == (13, 20)  # one row per setting, one column per service
    text, page = str(comparison), comparison._repr_html_()
    assert time.monotonic() - started < 15
    grid = text.split("\n\n")[0].splitlines()
    assert max(len(line) for line in grid) < 160
    # The odd service out is the only JWT cell marked.
    marked = comparison.differs.loc["JWT signing key"]
    assert marked[marked].index.tolist() == ["svc07"]
    assert page.count("<th") >= 20 + 13 and "overflow-x:auto" in page
    # Highlighted: svc07's JWT cell, and the whole prefix row (no value holds a majority).
    assert page.count("background:#fff1c2;font-weight") == 1 + 20
    assert "svc07" in comparison.report["env.compare.jwt_secret"].summary


def test_no_secret_in_any_view(tmp_path: Path) -> None:
    seeded = {
        "jwt": "seed-jwt-" + secrets.token_hex(20),
        "old": "seed-old-" + secrets.token_hex(20),
        "session": "seed-session-" + secrets.token_hex(20),
        "key": "seed-key-" + secrets.token_hex(20),
        "dbpw": "seed-dbpw-" + secrets.token_hex(12),
        "redispw": "seed-redispw-" + secrets.token_hex(12),
    }
    env = {
        "APP_ENV": "production",
        "SQL_URL": f"postgresql://app:{seeded['dbpw']}@127.0.0.1:5432/test",
        "CACHE_URL": f"redis://:{seeded['redispw']}@127.0.0.1:6379/11",
        "JOBS_DRIVER": "redis",
        "JOBS_REDIS_URL": f"redis://:{seeded['redispw']}@127.0.0.1:6379/12",
        "AUTH_JWT__SECRET": seeded["jwt"],
        "AUTH_JWT__OLD_SECRETS": json.dumps([seeded["old"]]),
        "SESSION_SECRET": seeded["session"],
        "WEBHOOK_ENCRYPTION_KEY": seeded["key"],
    }
    other = dict(
        env, AUTH_JWT__SECRET=seeded["old"], WEBHOOK_ENCRYPTION_KEY="another-" + seeded["key"]
    )
    comparison = compare({"api": write_env(tmp_path, "api", env), "worker": other})
    views = [
        comparison.frame.to_string(),
        comparison.frame.to_html(),
        str(comparison),
        comparison._repr_html_(),
        json.dumps(comparison.to_dict()),
        comparison.report.to_json(),
        repr(comparison),
    ]
    for view in views:
        for name, value in seeded.items():
            assert value not in view, f"{name} leaked"
    # Secrets are shown as comparable fingerprints.
    assert comparison.frame.loc["JWT signing key", "api"].startswith(("fp:", MARK + "fp:"))


def test_hostile_values_stay_linear() -> None:
    big = "x" * 1_000_000
    env = service(
        CORS_ALLOW_ORIGINS=",".join(["https://a.example"] * 50_000),
        SQL_URL="postgresql://app@" + "h" * 1_000_000 + "/db",
        AUTH_JWT__OLD_SECRETS=json.dumps([f"old-{i}" for i in range(100_000)]),
        JOBS_REDIS_URL="redis://" + big,
        APP_ENV=big,
    )
    started = time.monotonic()
    comparison = compare({"api": env, "worker": service()})
    str(comparison), comparison._repr_html_()
    assert time.monotonic() - started < 10
    assert all(len(cell) < 400 for cell in comparison.frame.to_numpy().ravel())


# -- the command ---------------------------------------------------------------------------


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = compare_main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_exit_statuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api, worker = (
        write_env(tmp_path, "api", SERVICES["api"]),
        write_env(tmp_path, "w", SERVICES["worker"]),
    )
    bad_key = write_env(tmp_path, "wk", SERVICES["worker_key"])
    binary = tmp_path / "blob.env"
    binary.write_bytes(b"\x00\x01\x02")
    assert _cli([f"api={api}", f"worker={worker}"], capsys)[0] == 0
    status, out, _ = _cli([f"api={api}", f"worker={bad_key}"], capsys)
    assert (
        status == 1
        and "webhook_key_mismatch" not in out
        and "WEBHOOK_ENCRYPTION_KEY differs" in out
    )
    assert _cli([f"api={api}"], capsys)[0] == 2
    assert _cli([f"api={api}", "worker"], capsys)[0] == 2
    assert _cli([f"api={api}", f"api={worker}"], capsys)[0] == 2
    assert _cli([f"api={api}", f"worker={tmp_path / 'missing.env'}"], capsys)[0] == 2
    assert _cli([f"api={api}", f"worker={binary}"], capsys)[0] == 3
    assert _cli([f"api={api}", f"worker={worker}", "--role", "api=nonsense"], capsys)[0] == 2


def test_cli_json_and_roles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api, worker = (
        write_env(tmp_path, "api", SERVICES["api"]),
        write_env(tmp_path, "w", SERVICES["worker_jwt"]),
    )
    status, out, _ = _cli(["--json", f"api={api}", f"worker={worker}"], capsys)
    document = json.loads(out)
    assert status == document["exit_code"] == 1
    jwt_row = next(row for row in document["settings"] if row["setting"] == "jwt_secret")
    assert jwt_row["differs"] and jwt_row["values"]["worker"]["marked"]
    causes = {f["check"]: f["cause"] for f in document["report"]["findings"]}
    assert causes["env.compare.jwt_secret"] == "jwt_secret_mismatch"
    # The worker only verifies tokens the api issues, and issues none itself.
    roles = ["--role", "api=issues_tokens", "--role", "worker=verifies_tokens"]
    status, out, _ = _cli(["--json", *roles, f"api={api}", f"worker={worker}"], capsys)
    assert json.loads(out)["roles"]["worker"] == ["verifies_tokens"]
    assert _cli(["--fail-on", "warn", f"api={api}", f"worker={api}"], capsys)[0] == 0


# -- the notebook's section ------------------------------------------------------------------


def test_notebook_section_finds_and_fixes_the_broken_pair() -> None:
    """The compare cells of notebook 00, run in order in one namespace."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "00_quick_diagnostics.ipynb", as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if "Across services" in c.source)
    cells = [c for c in nb.cells[start:] if c.cell_type == "code"]
    cells = cells[: next(i for i, c in enumerate(cells) if "fixed" in c.source) + 1]
    # The notebook's parameters cell defines the targets.
    namespace: dict[str, Any] = {"SQL_URL": PG, "REDIS_URL": f"{REDIS}/0"}
    for cell in cells:
        exec(compile(cell.source, "<notebook cell>", "exec"), namespace)
    broken, fixed = namespace["broken"], namespace["fixed"]
    assert not broken.ok and "env.compare.webhook_encryption_key" in [
        f.check for f in broken.report if f.status is Status.FAIL
    ]
    assert fixed.ok and fixed.differing == []
