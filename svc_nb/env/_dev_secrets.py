"""Secrets svc-infra invents: its public development defaults and the literal ``"unused"``.

Outside a production-like ``APP_ENV`` every ``require_secret`` call without a value
falls back to a public string, and each call site has its own: tokens, MFA
pre-tokens and the session cookie are then signed with *different* public keys, so a
token minted with one never verifies with another. Independently of the
environment, svc-infra 1.22.2's user manager signs password-reset and e-mail
verification tokens with the literal secret ``"unused"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._effective import DEV_JWT_SECRET, DEV_SESSION_JWT_SECRET
from svc_nb.env._explanations import combine
from svc_nb.env._known_bad import PROVED_SVC_INFRA_VERSION
from svc_nb.env._read import app_environment, resolve_jwt_secret

__all__ = ["DEV_DEFAULTS", "DEV_SECRET_CHECKS"]

C = EnvCause
#: Where svc-infra falls back to a public default, and which variables would replace it.
DEV_DEFAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "access tokens (JWT)": (DEV_JWT_SECRET, ("AUTH_JWT__SECRET", "AUTH_JWT_SECRET", "JWT_SECRET")),
    "MFA pre-tokens": ("dev-only-mfa-jwt-secret-not-for-production", ("AUTH_JWT__SECRET",)),
    "the svc_session cookie (add_auth_users)": (DEV_SESSION_JWT_SECRET, ("AUTH_JWT__SECRET",)),
    "API key hashes (enable_api_keys=True)": (
        "dev-only-apikey-hmac-secret-not-for-production",
        ("APIKEY_HASH_SECRET",),
    ),
    "admin impersonation (add_admin)": (
        "dev-only-admin-impersonation-secret-not-for-production",
        ("ADMIN_IMPERSONATION_SECRET", "APP_SECRET"),
    ),
}

EXPLAIN: dict[EnvCause, Explanation] = {
    C.DEV_DEFAULT_SECRET: Explanation(Status.WARN, "{summary}", "{why}", "{fix}"),
}


def _defaults_in_use(env: Mapping[str, str]) -> list[tuple[str, str, tuple[str, ...]]]:
    _, _, prod_like = app_environment(env)
    if prod_like:
        return []  # there svc-infra raises MissingSecretError instead (env.jwt_secret says so)
    jwt_set = resolve_jwt_secret(env) is not None
    used = []
    for what, (default, names) in DEV_DEFAULTS.items():
        jwt_based = names[0] == "AUTH_JWT__SECRET"
        if (jwt_based and not jwt_set) or (not jwt_based and not any(env.get(n) for n in names)):
            used.append((what, default, names))
    return used


def _check_dev_secrets(env: dict[str, str], prod_like: bool) -> Finding | None:
    problems = []
    used = _defaults_in_use(env)
    if used:
        lines = [f"{what}: '{default}' (set {' or '.join(names)})" for what, default, names in used]
        problems.append(
            explain(
                "env.dev_secrets",
                C.DEV_DEFAULT_SECRET,
                EXPLAIN,
                summary=f"{len(used)} signing key(s) are svc-infra's public development defaults",
                why="Each is in svc-infra's source, so anyone can sign what it protects; and "
                "they differ from each other, so a token minted under one default never "
                "verifies under another:\n" + "\n".join(lines),
                fix="Set AUTH_JWT__SECRET (it replaces the token, MFA and session defaults), and "
                "APIKEY_HASH_SECRET / ADMIN_IMPERSONATION_SECRET where those features are used.",
                data={"defaults": [what for what, _, _ in used]},
            )
        )
    problems.append(
        explain(
            "env.dev_secrets",
            C.DEV_DEFAULT_SECRET,
            EXPLAIN,
            summary="svc-infra signs password-reset and e-mail verification tokens with the "
            "literal secret 'unused'",
            why=f"Its fastapi-users UserManager (svc-infra <= {PROVED_SVC_INFRA_VERSION}) sets "
            "reset_password_token_secret and verification_token_secret to 'unused', whatever the "
            "environment says: a verification token for any user id and e-mail can be minted by "
            "anyone. No variable changes it.",
            fix="Do not rely on e-mail verification as proof of ownership; mount your own "
            "verify/reset routes with a real secret, or upgrade svc-infra once it is fixed.",
            data={"svc_infra_version": PROVED_SVC_INFRA_VERSION},
        )
    )
    return combine("env.dev_secrets", "secrets svc-infra supplies itself", problems)


DEV_SECRET_CHECKS = [("env.dev_secrets", _check_dev_secrets)]
