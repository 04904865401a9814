"""OAuth stand-ins for notebook 03: a small provider and svc-infra's login step.

:class:`LocalOAuthProvider` answers like a real provider: OIDC discovery, an
authorization endpoint that approves at once, and a token endpoint with
one-time codes, PKCE S256 and client-secret checks, failing with RFC 6749 §5.2
errors. :func:`session_login_app` does what svc-infra's
``/auth/oauth/{provider}/login`` does with the session: state, PKCE verifier
and nonce in Starlette's signed ``svc_session`` cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
from typing import Any

from svc_nb._redact import register_secret
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.demo._errors import require
from svc_nb.demo._serve import Served, StopsOnExit, serve

__all__ = ["LocalOAuthProvider", "oauth_provider", "session_login_app", "start_login"]

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/auth/oauth/local/callback"
SESSION_MAX_AGE_S = 4 * 3600  # svc-infra's SessionMiddleware max_age


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class _TokenEndpoint:
    """One-time codes, PKCE and client authentication, judged like a real provider."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.codes: dict[str, dict[str, str]] = {}
        self.used: set[str] = set()

    def issue(self, redirect_uri: str, challenge: str) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": redirect_uri, "challenge": challenge}
        return code

    def judge(self, form: dict[str, str]) -> tuple[str, str, int] | None:
        """An RFC 6749 §5.2 error (code, description, status), or None to issue tokens."""
        given_secret = form.get("client_secret", "")
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            given_secret, self._client_secret
        ):
            return "invalid_client", "Client authentication failed.", 401
        code = form.get("code", "")
        if code in self.used:
            return "invalid_grant", "Authorization code has already been used.", 400
        if code not in self.codes:
            return "invalid_grant", "Unknown or expired authorization code.", 400
        if form.get("redirect_uri") != self.codes[code]["redirect_uri"]:
            return "invalid_grant", "redirect_uri does not match the authorization request.", 400
        if _challenge(form.get("code_verifier", "")) != self.codes[code]["challenge"]:
            return "invalid_grant", "PKCE code_verifier does not match the code_challenge.", 400
        del self.codes[code]
        self.used.add(code)
        return None


def _provider_app(endpoint: _TokenEndpoint) -> Any:
    require("starlette", "starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, RedirectResponse, Response
    from starlette.routing import Route

    async def metadata(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(request: Request) -> Response:
        q = request.query_params
        code = endpoint.issue(q["redirect_uri"], q["code_challenge"])
        query = urllib.parse.urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def token(request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart.
        form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
        error = endpoint.judge(form)
        if error is not None:
            code, description, status = error
            return JSONResponse(
                {"error": code, "error_description": description}, status_code=status
            )
        return JSONResponse(
            {"access_token": secrets.token_urlsafe(32), "token_type": "Bearer", "expires_in": 3600}
        )

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", metadata),
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
        ]
    )


class LocalOAuthProvider(StopsOnExit):
    """A running OAuth/OIDC provider on 127.0.0.1 with one registered client.

    ``url`` is its issuer; ``client_id``, ``client_secret`` and ``redirect_uri``
    are the registered client's (the secret is random and registered with
    svc_nb's redaction, so it never shows in output). Stop it with ``stop()``.
    """

    def __init__(
        self, *, client_id: str = "notebook-client", redirect_uri: str = DEFAULT_REDIRECT_URI
    ) -> None:
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(24)
        register_secret(self.client_secret)
        self.redirect_uri = redirect_uri
        self._endpoint = _TokenEndpoint(client_id, self.client_secret)
        self.app = _provider_app(self._endpoint)
        self._served: Served = serve(self.app)
        self.url = self._served.url

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}/token"

    def login(
        self, *, redirect_uri: str | None = None, timeout: float = DEFAULT_HTTP_TIMEOUT_S
    ) -> tuple[str, str]:
        """What the app's login and the browser do: returns (authorization code, PKCE verifier)."""
        import httpx

        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "state": secrets.token_urlsafe(8),
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
        resp = httpx.get(f"{self.url}/authorize", params=params, timeout=check_timeout(timeout))
        query = urllib.parse.urlsplit(resp.headers["location"]).query
        return dict(urllib.parse.parse_qsl(query))["code"], verifier

    def stop(self) -> None:
        self._served.stop()

    def __repr__(self) -> str:
        # No client secret here: reprs end up in notebook outputs.
        return f"<LocalOAuthProvider {self.url} client_id={self.client_id!r}>"


def oauth_provider(
    *, client_id: str = "notebook-client", redirect_uri: str = DEFAULT_REDIRECT_URI
) -> LocalOAuthProvider:
    """Start a :class:`LocalOAuthProvider` on a free loopback port."""
    return LocalOAuthProvider(client_id=client_id, redirect_uri=redirect_uri)


def session_login_app(session_secret: str) -> Any:
    """A Starlette app whose ``/auth/oauth/{provider}/login`` stores state like svc-infra's.

    The session keys are ``oauth:{provider}:state``, ``:pkce_verifier`` and
    ``:nonce``, plus Authlib's ``_state_{provider}_{state}``, in the signed
    ``svc_session`` cookie (4 h), as svc-infra does.
    """
    require("itsdangerous", "itsdangerous")
    require("starlette", "starlette")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def login(request: Request) -> Response:
        provider = request.path_params["provider"]
        request.session[f"oauth:{provider}:state"] = secrets.token_urlsafe(24)
        request.session[f"oauth:{provider}:pkce_verifier"] = secrets.token_urlsafe(48)
        request.session[f"oauth:{provider}:nonce"] = secrets.token_urlsafe(16)
        state = request.session[f"oauth:{provider}:state"]
        callback = str(request.url_for("login", provider=provider)).replace("/login", "/callback")
        # Authlib's authorize_redirect keeps its own copy of the state (1 h expiry).
        request.session[f"_state_{provider}_{state}"] = {
            "data": {"redirect_uri": callback},
            "exp": time.time() + 3600,
        }
        return JSONResponse({"state": state})

    session = Middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie="svc_session",
        max_age=SESSION_MAX_AGE_S,
    )
    return Starlette(
        routes=[Route("/auth/oauth/{provider}/login", login, name="login")], middleware=[session]
    )


async def start_login(app: Any, provider: str = "google") -> tuple[str, str]:
    """Call the login route in process: returns (state, the ``Set-Cookie`` header)."""
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        resp = await client.get(f"/auth/oauth/{provider}/login")
    return resp.json()["state"], resp.headers["set-cookie"]
