"""Why a token (or a key, or a candidate secret) does not pass: one code per cause."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["TokensCause"]


class TokensCause(CauseEnum):
    """Cause codes of the ``tokens.*`` findings (``Finding.cause``)."""

    # -- what was pasted ----------------------------------------------------------------
    PASTED_DECORATION = "pasted_decoration", "'Bearer ', quotes or whitespace around the token"
    EMPTY_TOKEN = "empty_token", "nothing left after stripping what was pasted around it"
    WRONG_SEGMENT_COUNT = "wrong_segment_count", "not three dot-separated segments"
    ENCRYPTED_JWE = "encrypted_jwe", "five segments: an encrypted JWE, not a signed JWT"
    BAD_BASE64 = "bad_base64", "a segment is not base64url"
    BAD_JSON = "bad_json", "the header or claims segment is not JSON"
    NOT_JSON_OBJECT = "not_json_object", "the header or claims are JSON but not an object"
    # -- algorithm and signature --------------------------------------------------------
    ALG_NONE = "alg_none", "an unsigned token (alg: none)"
    UNSUPPORTED_ALG = "unsupported_alg", "the header's alg is missing or unknown"
    ALG_NOT_ALLOWED = "alg_not_allowed", "the header's alg is not in the pinned algorithms"
    ALG_CONFUSION = "alg_confusion", "an HMAC token checked against a public key (RS→HS attack)"
    KEY_TYPE_MISMATCH = "key_type_mismatch", "a public-key token checked against an HMAC secret"
    NOT_VERIFIED = "not_verified", "no key given: the token was decoded, not verified"
    BAD_SIGNATURE = "bad_signature", "the signature does not match the key"
    WEAK_KEY = "weak_key", "the HMAC secret is shorter than the hash output (RFC 7518 §3.2)"
    # -- keys and key sets --------------------------------------------------------------
    KEY_UNUSABLE = "key_unusable", "the key cannot be loaded or cannot verify this algorithm"
    EMPTY_KEY_SET = "empty_key_set", "the key set holds no key"
    NO_KEY_FOR_ALG = "no_key_for_alg", "no key in the key set is of the token's family"
    UNKNOWN_KID = "unknown_kid", "no key in the key set has the token's kid"
    MISSING_KID = "missing_kid", "no kid in the header while the key set has several keys"
    JWKS_HTTP_STATUS = "jwks_http_status", "the JWKS URL answered with a non-200 status"
    JWKS_INVALID = "jwks_invalid", "the JWKS URL did not return a JWKS document"
    JWKS_TOO_LARGE = "jwks_too_large", "the JWKS document is larger than 1 MiB"
    # -- time ---------------------------------------------------------------------------
    BAD_NUMERIC_DATE = "bad_numeric_date", "exp, nbf or iat is not a finite number of seconds"
    NO_EXP = "no_exp", "no exp claim: the token never expires"
    EXPIRED = "expired", "the token's lifetime is over"
    EXPIRED_CLOCK_SKEW = "expired_clock_skew", "expired by seconds: the clocks disagree"
    ACCEPTED_BY_LEEWAY = "accepted_by_leeway", "expired, and accepted only thanks to the leeway"
    NOT_YET_VALID = "not_yet_valid", "nbf is in the future"
    NOT_YET_VALID_CLOCK_SKEW = "not_yet_valid_clock_skew", "nbf is seconds ahead: clock skew"
    IAT_IN_FUTURE = "iat_in_future", "issued after now: the issuer's clock is ahead"
    LONG_LIFETIME = "long_lifetime", "the token lives longer than 24 h"
    # -- claims -------------------------------------------------------------------------
    MFA_PRE_TOKEN = "mfa_pre_token", "an svc-infra MFA pre-token, not an access token"
    MISSING_AUDIENCE = "missing_audience", "an audience is required and the token has no aud"
    WRONG_AUDIENCE = "wrong_audience", "the token's aud does not include the expected audience"
    MISSING_ISSUER = "missing_issuer", "an issuer is required and the token has no iss"
    WRONG_ISSUER = "wrong_issuer", "the token's iss is not the expected issuer"
    SENSITIVE_CLAIMS = "sensitive_claims", "personal or secret-looking data in readable claims"
    # -- which secret signed it (find_key) and the configured secret (diagnose) ----------
    NOT_HMAC = "not_hmac", "the token is not HMAC-signed: secrets cannot be compared"
    EMPTY_SECRET = "empty_secret", "a candidate secret is empty or unset"
    NOT_THE_SIGNER = "not_the_signer", "this candidate secret did not sign the token"
    UNKNOWN_SIGNER = "unknown_signer", "none of the candidate secrets signed the token"
    ROTATED_SECRET = "rotated_secret", "signed with an old secret kept for rotation"
    UNREAD_SECRET_VARIABLE = (
        "unread_secret_variable",
        "signed with JWT_SECRET_KEY, which svc-infra never reads",
    )
    SHADOWED_SECRET_VARIABLE = (
        "shadowed_secret_variable",
        "signed with a JWT secret variable svc-infra skips because another one takes precedence",
    )
    DEV_DEFAULT_SECRET = (
        "dev_default_secret",
        "signed with svc-infra's built-in development secret (no JWT secret is set)",
    )
    NO_SECRET = "no_secret", "no JWT secret configured"
    ROUND_TRIP_FAILED = "round_trip_failed", "the configured secret cannot sign and verify a token"
