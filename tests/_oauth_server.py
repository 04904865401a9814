"""A real OAuth 2.0 / OIDC-discovery authorization server (Authlib + Flask) on loopback.

Authorization code grant with PKCE (S256, required), confidential client
(client_secret_basic or client_secret_post), one-time codes, OIDC discovery
metadata. Served by werkzeug in a background thread.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

CLIENT_ID = "svc-nb-test-client"
CLIENT_SECRET = "test-client-secret-8f3a91c2"
REDIRECT_URI = "http://127.0.0.1:8000/auth/oauth/test/callback"


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    grant_types: tuple[str, ...] = ("authorization_code",)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    user_id: str
    created: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() - self.created > 60


@dataclass
class User:
    id: str = "user-1"

    def get_user_id(self) -> str:
        return self.id


class AuthlibServer:
    """Start with ``with AuthlibServer() as server:``; ``.url``, ``.authorize(...)``."""

    def __init__(self, *, client_grant_types: tuple[str, ...] = ("authorization_code",)) -> None:
        from authlib.integrations.flask_oauth2 import AuthorizationServer
        from authlib.oauth2.rfc6749 import grants
        from authlib.oauth2.rfc7636 import CodeChallenge
        from flask import Flask, jsonify
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:
                pass

        self.clients = {
            CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI], client_grant_types),
        }
        self.codes: dict[str, AuthCode] = {}
        self.tokens: list[dict[str, Any]] = []
        store = self

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                store.codes[code] = AuthCode(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope or "",
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    user_id=request.user.id,
                )

            def query_authorization_code(self, code: str, client: Any) -> AuthCode | None:
                item = store.codes.get(code)
                if item and item.client_id == client.client_id and not item.is_expired():
                    return item
                return None

            def delete_authorization_code(self, authorization_code: AuthCode) -> None:
                store.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: AuthCode) -> User:
                return User(authorization_code.user_id)

        app = Flask("svc_nb_test_oauth")
        server = AuthorizationServer(
            app,
            query_client=lambda cid: self.clients.get(cid),
            save_token=lambda token, request: self.tokens.append(dict(token)),
        )
        server.register_grant(CodeGrant, [CodeChallenge(required=True)])

        @app.route("/authorize")
        def authorize() -> Any:
            user = User()
            # validate the request first, as a consent page would, then approve at once
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.route("/token", methods=["POST"])
        def token() -> Any:
            return server.create_token_response()

        @app.route("/.well-known/openid-configuration")
        def metadata() -> Any:
            return jsonify(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks",
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_basic",
                        "client_secret_post",
                    ],
                }
            )

        self._http = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.port = int(self._http.server_port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def authorize(
        self,
        *,
        code_challenge: str,
        redirect_uri: str = REDIRECT_URI,
        state: str = "st",
        scope: str = "openid email",
    ) -> str:
        """Run the authorization request (user auto-approves); return the code from the redirect."""
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        resp = httpx.get(f"{self.url}/authorize", params=params, follow_redirects=False, timeout=5)
        assert resp.status_code == 302, resp.text
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(resp.headers["location"]).query))
        assert query["state"] == state
        return query["code"]

    def __enter__(self) -> AuthlibServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)
