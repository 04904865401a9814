"""OAuth callback failures: redirect URIs, signed state, the session cookie, code exchange.

svc-infra's OAuth login keeps a random ``state``, the PKCE S256 verifier and the
OIDC nonce in Starlette's signed session cookie (``svc_session``, 4 h), builds its
callback URL with ``request.url_for`` and exchanges the code with Authlib. The
guide's ``generate_state`` / ``verify_state`` / ``StateExpiredError`` do not exist
in svc-infra; svc_nb provides working versions of them here, plus tools that
answer "Invalid state parameter" and "Code exchange failed" from real evidence.
Every non-ok finding carries a :class:`OAuthCause` code (network failures carry
the shared ``timeout`` / ``connect_failed`` / ``tls_failed`` / ``request_failed``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Finding
    from svc_nb.oauth._causes import OAuthCause
    from svc_nb.oauth._errors import OAuthError, StateError, StateExpiredError, StateInvalidError
    from svc_nb.oauth._exchange import exchange_code
    from svc_nb.oauth._provider import check_provider
    from svc_nb.oauth._redirect import compare_redirect_uris
    from svc_nb.oauth._session import (
        COOKIE_LIMIT,
        SESSION_COOKIE,
        SESSION_MAX_AGE,
        compare_state,
        inspect_session_cookie,
    )
    from svc_nb.oauth._state import DEFAULT_STATE_TTL_S, generate_state, verify_state
    from svc_nb.oauth._uri import hide_secrets as mask_uri_secrets

__all__ = [
    "COOKIE_LIMIT",
    "DEFAULT_STATE_TTL_S",
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "OAuthCause",
    "OAuthError",
    "StateError",
    "StateExpiredError",
    "StateInvalidError",
    "check_provider",
    "compare_redirect_uris",
    "compare_state",
    "exchange_code",
    "generate_state",
    "inspect_session_cookie",
    "mask_uri_secrets",
    "verify_state",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


def _diagnose(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    from svc_nb.oauth._env import credential_findings

    return credential_findings(environ, timeout)


with contextlib.suppress(Exception):  # registering never breaks the import
    register_check("oauth", _diagnose, order=60)
