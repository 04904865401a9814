"""Why a webhook check did not pass: one stable code per cause, each with its meaning."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["WebhooksCause"]


class WebhooksCause(CauseEnum):
    """The ``cause`` of every non-ok finding in svc_nb.webhooks."""

    # -- signatures (webhooks.signature, .timestamp, .rotation, .guide_header)
    MISSING_HEADER = (
        "missing_header",
        "the signature header (or one it needs) is not in the request",
    )
    MALFORMED_HEADER = "malformed_header", "a signature header does not have the scheme's format"
    GUIDE_HEADER = (
        "guide_header",
        "X-Webhook-Signature, the guide's header name, which svc-infra never sends",
    )
    EMPTY_SECRET = "empty_secret", "the secret passed to verify is empty"
    SIGNATURE_ENCODING = (
        "signature_encoding",
        "the MAC is right but spelt wrongly (hex vs base64, case, prefix)",
    )
    TIMESTAMP_UNITS = (
        "timestamp_units",
        "the signature covers the timestamp in other units than the header",
    )
    SECRET_RAW = (
        "secret_raw",
        "the sender used the secret's raw bytes, not its base64-decoded value",
    )
    SECRET_PREFIX = "secret_prefix", "the sender and receiver disagree on the whsec_ prefix"
    SECRET_BASE64 = "secret_base64", "the sender base64-decoded a secret the scheme uses as text"
    SECRET_WHITESPACE = "secret_whitespace", "the receiver's secret carries surrounding whitespace"
    SECRET_NOT_BASE64 = (
        "secret_not_base64",
        "a Standard Webhooks secret that is not whsec_ + base64",
    )
    BODY_ALTERED = (
        "body_altered",
        "the body was changed after signing (newline, BOM, re-serialised JSON)",
    )
    BODY_NOT_JSON = (
        "body_not_json",
        "an svc-infra body that is not JSON, so not what svc-infra sent",
    )
    NON_STRING_KEYS = (
        "non_string_keys",
        "the sender signed a payload with non-string (int) keys: no receiver can verify it",
    )
    WRONG_SECRET = "wrong_secret", "no secret given reproduces the signature"
    TIMESTAMP_MILLISECONDS = (
        "timestamp_milliseconds",
        "the signed timestamp is in milliseconds, not seconds",
    )
    TIMESTAMP_TOO_OLD = (
        "timestamp_too_old",
        "the signed timestamp is older than the tolerance (replay or delay)",
    )
    TIMESTAMP_TOO_NEW = "timestamp_too_new", "the signed timestamp is ahead of the receiver's clock"
    OLDER_SECRET = (
        "older_secret",
        "signed with a secret other than the first listed (rotation unfinished)",
    )
    # -- endpoint probe (webhooks.url, .tcp, .tls, .http, .latency, .endpoint)
    BAD_URL = "bad_url", "the webhook URL cannot be used (empty, malformed, bad port, not http(s))"
    DNS = "dns", "the URL's host name does not resolve"
    REFUSED = "refused", "the host answered but nothing listens on the port"
    UNREACHABLE = "unreachable", "the network reported an error before any HTTP"
    TCP_TIMEOUT = "tcp_timeout", "no answer to the TCP connect within the timeout"
    CAFILE = "cafile", "the CA bundle passed as cafile= cannot be loaded"
    TLS_TIMEOUT = "tls_timeout", "TCP connected but the TLS handshake got no answer"
    PLAIN_HTTP = "plain_http", "https:// was used against a port that speaks plain HTTP"
    HANDSHAKE = "handshake", "the TLS handshake failed for another reason"
    EXPIRED = "expired", "the server's certificate has expired"
    NOT_YET_VALID = "not_yet_valid", "the server's certificate is not valid yet"
    HOSTNAME_MISMATCH = "hostname_mismatch", "the certificate does not name the URL's host"
    SELF_SIGNED = "self_signed", "the certificate is self-signed"
    UNKNOWN_ISSUER = "unknown_issuer", "the certificate's issuer is not trusted (incomplete chain?)"
    VERIFY_FAILED = "verify_failed", "the certificate was rejected for another reason"
    EXPIRES_SOON = "expires_soon", "the certificate is valid but expires within two weeks"
    BAD_SECRET = "bad_secret", "the secret passed to probe cannot sign with the chosen scheme"
    REDIRECT = "redirect", "the endpoint answered 3xx, which svc-infra does not follow"
    AUTH = "auth", "the endpoint rejected the event with 401/403 (usually the signature)"
    BAD_REQUEST = "bad_request", "the endpoint refused the test event's content (400/422)"
    CLIENT_ERROR = "client_error", "the endpoint answered another 4xx"
    SERVER_ERROR = "server_error", "the endpoint answered 5xx"
    UNEXPECTED_STATUS = "unexpected", "the endpoint answered a status outside 2xx-5xx"
    HTTP_TIMEOUT = "http_timeout", "the endpoint accepted the connection but did not answer in time"
    PROTOCOL = "protocol", "the connection broke before a complete HTTP answer"
    SLOW = "slow", "the endpoint answers, but close to svc-infra's delivery timeout"
    TIMEOUT = "timeout", "no answer within the timeout"
    NOT_TRIED = "not_tried", "not tried because an earlier stage failed"
    NOT_CONFIGURED = "not_configured", "nothing configured to check"
    # -- deliveries (webhooks.delivery.*) and attempt logs (webhooks.attempts.load)
    NOT_DELIVERED = "not_delivered", "some deliveries never succeeded"
    CANCELLED = "cancelled", "the run was cancelled before every delivery finished"
    NO_ATTEMPTS = "no_attempts", "the log holds no attempts"
    GONE = "gone", "the endpoint answered 410 Gone: it wants no more events"
    CONNECT_FAILED = "connect_failed", "no connection (refused, reset or closed before a response)"
    TLS_FAILED = "tls_failed", "the TLS handshake failed"
    BAD_ROWS = "bad_rows", "rows of an attempt log could not be read and were left out"
    MISSING_INDEX = (
        "missing_index",
        "the attempts table has no index leading with the delivery or time column",
    )
    NO_PERCENTILES = (
        "no_percentiles",
        "the database has no percentile_cont, so latency percentiles are left empty",
    )
    # -- svc-infra's queue in Redis (webhooks.queue.*)
    IN_MEMORY_QUEUE = (
        "in_memory_queue",
        "svc-infra's job queue lives in process memory (JOBS_DRIVER is not redis)",
    )
    QUEUE_URL_INVALID = (
        "queue_url_invalid",
        "the job queue's Redis URL is not redis://, rediss:// or unix://: easy_jobs() refuses it",
    )
    AUTH_FAILED = "auth_failed", "Redis refused the credentials"
    QUEUE_NOT_READ = "queue_not_read", "Redis did not answer, so the queue was not read"
    ORPHAN_JOB = "orphan_job", "a job id is listed but its hash is missing"
    CORRUPT_JOB = "corrupt_job", "a job's fields cannot be read (bad JSON, times, secret type)"
    DEAD_LETTERED = "dead_lettered", "deliveries gave up and sit in the dead-letter list"
    STUCK_PROCESSING = "stuck_processing", "jobs in processing past their visibility deadline"
    ENDPOINT_FAILING = "endpoint_failing", "an endpoint failed every job sent to it"
    SECRET_ENCRYPTED = (
        "secret_encrypted",
        "subscription secrets are encrypted (enc:v1:) and no key was given to read them",
    )
    SECRET_KEY_MISMATCH = (
        "secret_key_mismatch",
        "the WEBHOOK_ENCRYPTION_KEY given does not decrypt the stored subscription secrets",
    )
    BAD_ENCRYPTION_KEY = (
        "bad_encryption_key",
        "the WEBHOOK_ENCRYPTION_KEY given is not usable: svc-infra raises ValueError with it",
    )
    DEV_ENCRYPTION_KEY = (
        "dev_encryption_key",
        "the secrets were encrypted with svc-infra's built-in development key",
    )
