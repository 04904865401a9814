"""What a user reads for each token cause: the tables, and findings noted lazily.

``inspect`` only *names* outcomes (a check id, a table key, the observed
values); the Finding text is built from these tables when the report is first
read, so that inspecting stays about as cheap as a bare ``jwt.decode``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from svc_nb._explain import CauseEnum, Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.tokens._causes import TokensCause

__all__ = ["EXPLANATIONS", "Deferred", "Notes", "Passed", "Spec", "build", "finding", "spec"]

C = TokensCause
FAIL, WARN, OK, SKIP = Status.FAIL, Status.WARN, Status.OK, Status.SKIP

_NEW_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe({required}))"'
_FIND_SIGNER = (
    "find the signer: svc_nb.tokens.find_key(token, svc_nb.tokens.candidates_from_env()); "
    "compare fingerprints across services with svc_nb.tokens.fingerprint(secret)"
)


class Passed(CauseEnum):
    """Table keys of checks that passed. Never a cause: an ok finding carries none."""

    SIGNATURE_VERIFIED = "signature_verified", "the signature matches the key"
    NOT_EXPIRED = "not_expired", "exp is in the future"
    AUDIENCE_MATCHES = "audience_matches", "aud includes the expected audience"
    AUDIENCE_UNCHECKED = "audience_unchecked", "aud present, no audience= to compare with"
    ISSUER_MATCHES = "issuer_matches", "iss is the expected issuer"
    CURRENT_SECRET = "current_secret", "signed with the secret svc-infra uses"
    CANDIDATE_SIGNED = "candidate_signed", "this candidate secret signed the token"
    SECRET_ROUND_TRIPS = "secret_round_trips", "the configured secret signs and verifies"


EXPLANATIONS: dict[CauseEnum, Explanation] = {
    # -- what was pasted --------------------------------------------------------------------
    C.PASTED_DECORATION: Explanation(
        WARN,
        "stripped {stripped} from the pasted token",
        "Only the bare compact JWT (header.claims.signature) is a token; the Authorization "
        "header adds 'Bearer ' itself.",
        "send or store the bare token; in code: header.removeprefix('Bearer ').strip()",
    ),
    C.EMPTY_TOKEN: Explanation(
        FAIL,
        "the token is empty",
        "Nothing was left after stripping whitespace, quotes and 'Bearer '.",
        "copy the whole token (it starts with eyJ and has two dots)",
    ),
    C.WRONG_SEGMENT_COUNT: Explanation(
        FAIL,
        "malformed JWT: {segments} segment(s) separated by '.', expected 3",
        "A signed JWT has exactly 3 (header.claims.signature){hint}.",
        "copy the complete token; check nothing truncated it (logs, cookies of 4 KB)",
    ),
    C.ENCRYPTED_JWE: Explanation(
        FAIL,
        "malformed JWT: 5 segment(s) separated by '.', expected 3",
        "5 segments: this is an encrypted JWE, not a signed JWT; its claims cannot be read "
        "without the decryption key.",
        "decrypt it with the recipient's key (e.g. jwcrypto), or ask the issuer for a signed JWT",
    ),
    C.BAD_BASE64: Explanation(
        FAIL,
        "malformed JWT: the {segment} segment (#{number}) is not valid base64url",
        "JWT segments use the URL-safe alphabet A-Z a-z 0-9 - _ without padding.",
        "copy the token again; a '+', '/', '%' or '=' means it was re-encoded on the way",
    ),
    C.BAD_JSON: Explanation(
        FAIL,
        "malformed JWT: the {segment} segment (#{number}) is not JSON",
        "It decodes from base64url but the bytes are not a JSON document.",
        "this is not a JWT (or it was truncated); copy the complete token",
    ),
    C.NOT_JSON_OBJECT: Explanation(
        FAIL,
        "malformed JWT: the {segment} segment (#{number}) is JSON {kind}, not an object",
        "JWT header and claims must be JSON objects ({{...}}).",
        "the issuer must encode a dict of claims (jwt.encode({{'sub': ...}}, ...))",
    ),
    # -- algorithm and signature ------------------------------------------------------------
    C.ALG_NONE: Explanation(
        FAIL,
        "alg: none — an unsigned token; it must never be accepted",
        "Anyone can forge an 'alg: none' token (the classic alg=none attack); PyJWT rejects it "
        "unless 'none' is explicitly allowed, and svc_nb never allows it.",
        "always pass algorithms=['HS256'] (svc-infra) to jwt.decode; reject this token",
    ),
    C.UNSUPPORTED_ALG: Explanation(
        FAIL,
        "unsupported or missing alg {alg} in the header",
        "Known algorithms: {known}.",
        "svc-infra issues HS256 tokens; check who issued this one",
    ),
    C.ALG_NOT_ALLOWED: Explanation(
        FAIL,
        "alg {alg} is not in the pinned algorithms {allowed}",
        "Accepting whatever alg the header names is how algorithm-confusion attacks work.",
        "if {alg} is legitimate here, add it: algorithms=[{alg!r}]; otherwise reject the token",
    ),
    C.ALG_CONFUSION: Explanation(
        FAIL,
        "RS→HS algorithm confusion attack: an {alg} token checked against a {kty} public key",
        "The header asks for HMAC, and the only key is a public one. Using the public key as the "
        "HMAC secret would let anyone who knows it (it is public) forge tokens; svc_nb refuses, "
        "as must your service.",
        "pin the algorithm to the key type: jwt.decode(token, public_key, algorithms=['RS256']); "
        "reject this token",
    ),
    C.KEY_TYPE_MISMATCH: Explanation(
        FAIL,
        "key type mismatch: the token is {alg} (public-key signed) but the key is an HMAC secret",
        "An asymmetric token is verified with the issuer's public key, not a shared secret.",
        "pass the issuer's public key (PEM), JWK or JWKS URL",
    ),
    C.NOT_VERIFIED: Explanation(
        WARN,
        "signature NOT verified: decoded only (no key given)",
        "Anyone can write any claims into a token; only the signature proves who issued it.",
        "pass key= (the AUTH_JWT__SECRET value, a public key, JWK or JWKS URL) to verify",
    ),
    C.BAD_SIGNATURE: Explanation(
        FAIL,
        "signature mismatch: the token was not signed with this key",
        "{tried} Either the secret differs (another environment, a rotated secret) or the token "
        "was altered.",
        _FIND_SIGNER,
    ),
    C.WEAK_KEY: Explanation(
        WARN,
        "the HMAC secret is shorter than {alg}'s {required} bytes",
        "RFC 7518 §3.2 requires a key at least as long as the hash output; a short secret can be "
        "brute-forced offline from any token.",
        f"generate one: {_NEW_SECRET} and set AUTH_JWT__SECRET (keep the old one in "
        "AUTH_JWT__OLD_SECRETS while rotating)",
    ),
    Passed.SIGNATURE_VERIFIED: Explanation(OK, "signature verified ({alg}, {key})"),
    # -- keys and key sets ------------------------------------------------------------------
    C.KEY_UNUSABLE: Explanation(FAIL, "{problem}", "{detail}", "{fix}"),
    C.EMPTY_KEY_SET: Explanation(
        FAIL,
        "the key set is empty",
        "No usable key was found.",
        "pass the issuer's secret, public key or a JWKS with at least one key",
    ),
    C.NO_KEY_FOR_ALG: Explanation(
        FAIL,
        "no key in the key set fits {alg}",
        "Keys are of type {types}.",
        "pass the issuer's key for {alg}",
    ),
    C.UNKNOWN_KID: Explanation(
        FAIL,
        "no key with kid {kid} in the key set",
        "Key ids available: {kids}{refetched}",
        "the token was signed with a key the issuer no longer (or never) published; get a new "
        "token, or point at the right issuer's JWKS",
    ),
    C.MISSING_KID: Explanation(
        WARN,
        "no kid in the header while the key set has {count} {alg} keys",
        "Without a kid every key must be tried; after a rotation a verifier may pick the wrong one.",
        "have the issuer set the 'kid' header to the signing key's id",
    ),
    C.JWKS_HTTP_STATUS: Explanation(
        FAIL,
        "the JWKS URL answered HTTP {status_code}",
        "JWKS URL: {url}",
        "use the issuer's JWKS endpoint (see its /.well-known/openid-configuration 'jwks_uri')",
    ),
    C.JWKS_INVALID: Explanation(
        FAIL,
        "the JWKS URL did not return a JWKS document: {problem}",
        "JWKS URL: {url}",
        "check the URL points at the JWKS (usually /.well-known/jwks.json), not an HTML page",
    ),
    C.JWKS_TOO_LARGE: Explanation(
        FAIL,
        "the JWKS document is larger than {limit}",
        "JWKS URL: {url}",
        "check the URL points at a JWKS (a key set is a few kilobytes)",
    ),
    # -- time -------------------------------------------------------------------------------
    C.BAD_NUMERIC_DATE: Explanation(
        FAIL,
        "{claim} is not a number: {value}",
        "'{claim}' must be NumericDate: Unix seconds as a number.",
        "issue the token with a numeric {claim} (int(time.time()) + lifetime)",
    ),
    C.NO_EXP: Explanation(
        WARN,
        "no exp: the token never expires",
        "A leaked token without exp works forever.",
        "issue tokens with an exp (svc-infra sets one: AUTH_JWT__LIFETIME_SECONDS)",
    ),
    C.EXPIRED: Explanation(
        FAIL,
        "expired {ago} ago (exp {exp_utc})",
        "The token's lifetime is over.",
        "get a new token (log in again or use the refresh token)",
    ),
    C.EXPIRED_CLOCK_SKEW: Explanation(
        FAIL,
        "expired {ago} ago (exp {exp_utc})",
        "It failed by only {late:.0f} s: that is clock skew territory (the verifier's clock ahead "
        "of the issuer's, or a slow hop). A leeway of {need} s would accept it.",
        "sync the clocks (chrony/NTP); or decode with leeway={need} "
        "(svc-infra itself has no leeway setting)",
    ),
    C.ACCEPTED_BY_LEEWAY: Explanation(
        WARN,
        "expired {ago} ago, accepted only thanks to leeway={leeway:g} s",
        "exp {exp_utc}",
        "sync the clocks; do not rely on leeway",
    ),
    Passed.NOT_EXPIRED: Explanation(OK, "valid for another {left} (exp {exp_utc})"),
    C.NOT_YET_VALID: Explanation(
        FAIL,
        "not valid yet: becomes valid in {wait} (nbf {nbf_utc})",
        "The token is not active yet.",
        "wait until nbf, or check the issuer's clock",
    ),
    C.NOT_YET_VALID_CLOCK_SKEW: Explanation(
        FAIL,
        "not valid yet: becomes valid in {wait} (nbf {nbf_utc})",
        "Only {early:.0f} s early: clock skew (the issuer's clock is ahead). "
        "A leeway of {need} s would accept it.",
        "sync the clocks (chrony/NTP) or decode with leeway={need}",
    ),
    C.IAT_IN_FUTURE: Explanation(
        FAIL,
        "issued in the future: iat is {ahead} ahead of now",
        "A token cannot be issued after 'now': the issuer's clock is ahead of this one (clock "
        "skew). PyJWT rejects it ('The token is not yet valid (iat)'); leeway={need} would "
        "accept it.",
        "sync the clocks (chrony/NTP) on both hosts, or decode with leeway={need}",
    ),
    C.LONG_LIFETIME: Explanation(
        WARN,
        "long-lived token (lifetime {lifetime}, {how})",
        "Access tokens over 24 h widen the window for a leaked token; svc-infra's default "
        "lifetime is 7 days (604800 s).",
        "shorten it: AUTH_JWT__LIFETIME_SECONDS=3600 (and use refresh tokens)",
    ),
    # -- claims -----------------------------------------------------------------------------
    C.MFA_PRE_TOKEN: Explanation(
        FAIL,
        "an MFA pre-token (aud fastapi-users:mfa), not an access token",
        "svc-infra issues this 5-minute token after the password step when MFA is on; it only "
        "proves the first factor and is rejected where fastapi-users:auth is expected.",
        "complete the MFA step (send the pre-token with the TOTP code to the MFA verify "
        "endpoint) and use the access token it returns",
    ),
    C.MISSING_AUDIENCE: Explanation(
        FAIL,
        "no aud claim, expected {expected}",
        "The verifier requires an audience the token does not carry.",
        "issue the token with aud, or stop requiring one",
    ),
    C.WRONG_AUDIENCE: Explanation(
        FAIL,
        "audience mismatch: token aud {aud}, expected {expected}",
        "The token was issued for another service or purpose.",
        "use a token issued for this audience, or fix audience= in the verifier",
    ),
    Passed.AUDIENCE_MATCHES: Explanation(OK, "aud {aud} matches"),
    Passed.AUDIENCE_UNCHECKED: Explanation(
        OK,
        "aud {aud} (not checked: no audience= given)",
        "Note: PyJWT's jwt.decode raises InvalidAudienceError on a token with aud when you do "
        "not pass audience=.",
        "verify it: audience={suggested!r}",
    ),
    C.MISSING_ISSUER: Explanation(
        FAIL,
        "no iss claim, expected {expected}",
        "svc-infra does not set iss on its tokens.",
        "stop requiring an issuer for svc-infra tokens, or issue tokens with iss",
    ),
    C.WRONG_ISSUER: Explanation(
        FAIL,
        "issuer mismatch: {iss}, expected {expected}",
        "The token comes from another issuer (environment, tenant or provider).",
        "use a token from the expected issuer, or fix issuer=",
    ),
    Passed.ISSUER_MATCHES: Explanation(OK, "iss {iss} matches"),
    C.SENSITIVE_CLAIMS: Explanation(
        WARN,
        "sensitive-looking claims in clear: {names}",
        "A JWT is only base64url-encoded, not encrypted: anyone holding it can read every claim.",
        "keep personal data out of tokens (put the user id in sub and look the rest up)",
    ),
    # -- find_key ---------------------------------------------------------------------------
    C.NOT_HMAC: Explanation(
        SKIP,
        "the token is {alg}: find_key compares HMAC secrets (HS256/384/512)",
        "",
        "verify public-key tokens with inspect(token, key=<JWKS URL or PEM>)",
    ),
    C.EMPTY_SECRET: Explanation(SKIP, "{name} is empty or unset: nothing to compare"),
    C.NOT_THE_SIGNER: Explanation(SKIP, "{name} ({fingerprint}): no match"),
    Passed.CANDIDATE_SIGNED: Explanation(OK, "{name} ({fingerprint}): SIGNED this token"),
    C.UNKNOWN_SIGNER: Explanation(
        FAIL,
        "none of the {count} candidate secrets signed this token",
        "Tried: {names}. The token was signed by another environment or service (or with a "
        "secret rotated out of AUTH_JWT__OLD_SECRETS).",
        "get a token from this environment, or give every service the same AUTH_JWT__SECRET "
        "(compare svc_nb.tokens.fingerprint(secret) on each host)",
    ),
    Passed.CURRENT_SECRET: Explanation(OK, "signed with the current secret {name}"),
    C.ROTATED_SECRET: Explanation(
        WARN,
        "signed with an old, rotated secret ({name})",
        "The issuer still signs with (or the token predates) a secret you have rotated out. "
        "svc-infra verifies with it only while it is listed in AUTH_JWT__OLD_SECRETS.",
        "let the token expire / log in again; make sure every issuer uses the new "
        "AUTH_JWT__SECRET before dropping the old one from AUTH_JWT__OLD_SECRETS",
    ),
    C.UNREAD_SECRET_VARIABLE: Explanation(
        WARN,
        "signed with {name}, the guide's variable",
        "svc-infra never reads JWT_SECRET_KEY; the service reads AUTH_JWT__SECRET (then "
        "AUTH_JWT_SECRET, JWT_SECRET), so a service configured only through JWT_SECRET_KEY is "
        "not using this secret.",
        "rename the variable to AUTH_JWT__SECRET",
    ),
    C.SHADOWED_SECRET_VARIABLE: Explanation(
        WARN,
        "signed with {name}, which svc-infra does not use: {current} takes precedence",
        "svc-infra reads AUTH_JWT__SECRET, then AUTH_JWT_SECRET, then JWT_SECRET, and uses the "
        "first one set; its strategy rejects this token.",
        "keep one JWT secret variable (AUTH_JWT__SECRET) and remove the others, or list this "
        "secret in AUTH_JWT__OLD_SECRETS while its tokens are still in use",
    ),
    C.DEV_DEFAULT_SECRET: Explanation(
        WARN,
        "signed with svc-infra's built-in development secret ({name})",
        "No JWT secret is set, so outside production svc-infra signs access tokens with "
        "'dev-only-jwt-secret-not-for-production' and MFA pre-tokens with "
        "'dev-only-mfa-jwt-secret-not-for-production': anyone with svc-infra can sign tokens "
        "this service accepts.",
        'set AUTH_JWT__SECRET (32+ random bytes, e.g. python -c "import secrets; '
        'print(secrets.token_urlsafe(48))"); tokens signed with the default then stop working',
    ),
    # -- the configured secret (diagnose) ----------------------------------------------------
    C.NO_SECRET: Explanation(
        SKIP, "no JWT secret configured: nothing to round-trip (see env.jwt_secret)"
    ),
    C.ROUND_TRIP_FAILED: Explanation(
        FAIL,
        "{source} ({fingerprint}) could not round-trip an svc-infra-shaped token",
        "{reasons}",
        "check the secret's value (encoding, stray characters)",
    ),
    Passed.SECRET_ROUND_TRIPS: Explanation(
        OK,
        "{source} ({fingerprint}, {strength}) signs and verifies an svc-infra-shaped HS256 token",
        "Compare the fingerprint across services: equal fingerprints mean the same secret "
        "(Python's hash() is salted per process and cannot be compared).",
    ),
}


class Deferred:
    """A value computed only if the finding is read: a UTC date, a fingerprint, a quote.

    Formatting dates and quoting values costs more than verifying an HMAC, and a
    secret's fingerprint is deliberately slow; most inspections never show them.
    """

    __slots__ = ("arg", "func")

    def __init__(self, func: Callable[[Any], Any], arg: Any) -> None:
        self.func = func
        self.arg = arg

    def resolve(self) -> Any:
        return self.func(self.arg)


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.resolve() if type(v) is Deferred else v for k, v in values.items()}


class Spec(NamedTuple):
    """A finding named but not yet worded: built from the table on first read."""

    check: str
    status: Status
    key: CauseEnum
    fields: dict[str, Any]
    data: dict[str, Any]

    def build(self) -> Finding:
        return explain(
            self.check,
            self.key,
            EXPLANATIONS,
            data=_resolved(self.data),
            status=self.status,
            **_resolved(self.fields),
        )


class Notes:
    """The findings of one inspection, in order: specs (lazy) and ready Findings."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Spec | Finding] = []

    def add(
        self,
        check: str,
        key: CauseEnum,
        /,
        *,
        data: dict[str, Any] | None = None,
        status: Status | None = None,
        **fields: Any,
    ) -> None:
        chosen = status or EXPLANATIONS[key].status
        self.items.append(Spec(check, chosen, key, fields, data or {}))

    def append(self, finding: Spec | Finding) -> None:
        self.items.append(finding)


def spec(
    check: str,
    key: CauseEnum,
    /,
    *,
    data: dict[str, Any] | None = None,
    status: Status | None = None,
    **fields: Any,
) -> Spec:
    """A finding named now and worded on first read (status: the table's unless overridden)."""
    return Spec(check, status or EXPLANATIONS[key].status, key, fields, data or {})


def build(item: Spec | Finding) -> Finding:
    """The Finding of a noted item (a ready Finding is returned as is)."""
    return item if isinstance(item, Finding) else item.build()


def finding(
    check: str,
    key: CauseEnum,
    /,
    *,
    data: dict[str, Any] | None = None,
    status: Status | None = None,
    **fields: Any,
) -> Finding:
    """A Finding built at once from the table (outside the inspect hot path)."""
    return explain(check, key, EXPLANATIONS, data=data, status=status, **fields)
