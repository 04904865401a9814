"""What a user reads for each ``env.compare.*`` cause: the table the verdicts fill in.

Texts name settings but never write ``NAME=value`` or ``secret: value`` for a
secret: every view masks what follows a secret's name, and the fingerprints
must stay readable.
"""

from __future__ import annotations

from svc_nb._explain import Explanation
from svc_nb._report import Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._explanations import NEW_FERNET_CMD

__all__ = ["EXPLAIN", "ROLE_WORDS"]

C = EnvCause
FAIL, WARN, SKIP = Status.FAIL, Status.WARN, Status.SKIP

ROLE_WORDS = {
    "issues_tokens": "issue access tokens",
    "verifies_tokens": "verify access tokens",
    "creates_subscriptions": "create webhook subscriptions",
    "enqueues": "enqueue jobs",
    "worker": "run the worker (take jobs, deliver webhooks)",
}

_QUEUE_RULE = (
    "svc-infra's easy_jobs() queues in Redis only with JOBS_DRIVER=redis, on JOBS_REDIS_URL, else "
    "REDIS_URL_PRIVATE, REDIS_PRIVATE_URL, REDIS_URL, CACHE_URL; otherwise in process memory. "
    "Webhook deliveries wait there for a worker."
)
_ROTATE = (
    "To change a secret without logging users out, set the new one everywhere and list the "
    "previous one in AUTH_JWT__OLD_SECRETS (a JSON list) until its tokens expire."
)

EXPLAIN: dict[EnvCause, Explanation] = {
    C.COMPARE_TOO_FEW_SERVICES: Explanation(
        FAIL,
        "{count} usable service(s): a comparison needs at least two",
        "{problems}",
        "Pass two or more services, e.g. compare({{'api': 'api.env', 'worker': 'worker.env'}}) "
        "or: svc-nb compare api=api.env worker=worker.env",
    ),
    C.COMPARE_DATA_MISSING: Explanation(
        SKIP,
        "not compared: the inputs of {names} do not carry the {setting}",
        "A doctor report holds what its env checks measured; an older one may lack a value.",
        "Pass the service's .env file instead, or a report from a newer `svc-nb doctor --json`.",
    ),
    C.JWT_SECRET_MISMATCH: Explanation(
        FAIL,
        "different JWT secrets: {flows}",
        "svc-infra signs HS256 tokens with the issuer's secret and verifies them with the "
        "verifier's own and its AUTH_JWT__OLD_SECRETS.\nSigning keys: {groups}.{note}",
        "Set one AUTH_JWT__SECRET on every service that issues or verifies tokens. " + _ROTATE,
    ),
    C.JWT_ROTATION_INCOMPLETE: Explanation(
        FAIL,
        "JWT rotation half done: {flows}",
        "Moved to a new secret, keeping the previous one in AUTH_JWT__OLD_SECRETS: {senders}. "
        "Still on the previous one only: {receivers}.\nSigning keys: {groups}.{note}",
        "Give {receivers} the new secret as AUTH_JWT__SECRET (the signing key of {senders}, "
        "{sender_value}) and move the current one into AUTH_JWT__OLD_SECRETS (a JSON list) "
        "until tokens signed with it expire.",
    ),
    C.JWT_SECRET_MISSING: Explanation(
        FAIL,
        "{missing} cannot issue or verify tokens: no JWT secret in a production-like environment",
        "svc-infra raises MissingSecretError when it builds the JWT strategy: {flows}.\n"
        "Signing keys: {groups}.{note}",
        "Set AUTH_JWT__SECRET on {missing} to the signing key of {present}.",
    ),
    C.JWT_ROTATION_IN_PROGRESS: Explanation(
        WARN,
        "JWT rotation in progress: {flows}",
        "Every token still verifies: the signing key of {senders} is listed in "
        "AUTH_JWT__OLD_SECRETS on {receivers}.\nSigning keys: {groups}.{note}",
        "Finish the rotation: give {senders} the new secret as AUTH_JWT__SECRET (the signing "
        "key of {receivers}); once tokens signed with the previous one have expired "
        "(AUTH_JWT__LIFETIME_SECONDS, default 7 days), drop it from AUTH_JWT__OLD_SECRETS.",
    ),
    C.WEBHOOK_KEY_MISMATCH: Explanation(
        FAIL,
        "WEBHOOK_ENCRYPTION_KEY differs: {flows}",
        "svc-infra encrypts each subscription secret with the creating service's key (Fernet, "
        "enc:v1:) and the worker decrypts it with its own before signing a delivery. With another "
        "key every delivery raises cryptography's InvalidToken, is retried and ends in the "
        "dead-letter queue.\nKeys: {groups}.{note}",
        "Set one WEBHOOK_ENCRYPTION_KEY on every service that creates subscriptions or delivers "
        "webhooks ({involved}). Subscriptions stored under another key must be created again.",
    ),
    C.WEBHOOK_KEY_MISSING: Explanation(
        FAIL,
        "no WEBHOOK_ENCRYPTION_KEY on {missing} in a production-like environment: subscription "
        "secrets can be neither stored nor delivered",
        "svc-infra raises MissingSecretError the first time it encrypts or decrypts one: "
        "{flows}.\nKeys: {groups}.{note}",
        "Set WEBHOOK_ENCRYPTION_KEY on {missing} to the key of {present}.",
    ),
    C.WEBHOOK_KEY_INVALID: Explanation(
        FAIL,
        "the WEBHOOK_ENCRYPTION_KEY of {invalid} is unusable: svc-infra cannot build its Fernet key",
        "A 44-character value ending in '=' must decode to 32 bytes: {flows}.\n"
        "Keys: {groups}.{note}",
        "Generate one Fernet key and set it on every service: " + NEW_FERNET_CMD,
    ),
    C.JOB_QUEUE_MISMATCH: Explanation(
        FAIL,
        "different job queues: {flows}",
        _QUEUE_RULE + "\nQueues: {groups}.{note}",
        "Set JOBS_DRIVER=redis and one JOBS_REDIS_URL on every service that enqueues or works "
        "jobs ({involved}).",
    ),
    C.JOB_QUEUE_NOT_SHARED: Explanation(
        FAIL,
        "job queue in process memory: {flows}",
        _QUEUE_RULE + "\nQueues: {groups}.{note}",
        "Set JOBS_DRIVER=redis and one JOBS_REDIS_URL on {involved}; if each service works only "
        "its own jobs, say so with roles=.",
    ),
    C.DATABASE_DIFFERS: Explanation(
        WARN,
        "the services use {count} different databases",
        "{groups}.{note}\nExpected between deployments; within one, a service pointing at "
        "another deployment's database (staging at production's) is the classic mistake.",
        "Set the same SQL_URL on services that share data, and check that no staging or "
        "development service points at a production database.",
    ),
    C.NO_DATABASE_URL: Explanation(
        SKIP,
        "none of {names} has a database URL the running app reads (SQL_URL)",
        "{groups}.{note}",
        "Set SQL_URL on each service (see env.database_url).",
    ),
    C.APP_ENV_MIXED: Explanation(
        WARN,
        "production-like ({prod}) and development ({dev}) environments in one group",
        "In development svc-infra requires no secret and falls back to public ones (JWT, "
        "session, webhook key): next to production services that is a mistake, or a group "
        "that should not be compared.\n{groups}.{note}",
        "Set APP_ENV the same on every service of one deployment (e.g. production or staging).",
    ),
    C.CACHE_URL_DIFFERS: Explanation(
        WARN,
        "the services use {count} different caches",
        "Invalidating an entry on one service leaves the others' copies.\n{groups}.{note}",
        "Set the same CACHE_URL (or REDIS_URL) on services that share cached data.",
    ),
    C.CACHE_NAMESPACE_DIFFERS: Explanation(
        WARN,
        "one cache, different namespaces (CACHE_PREFIX:CACHE_VERSION)",
        "svc-infra prefixes every key with prefix:version, so these services neither read nor "
        "invalidate each other's entries.\n{groups}.{note}",
        "Set the same CACHE_PREFIX and CACHE_VERSION on services that share cached data "
        "(svc and v1 by default).",
    ),
}
