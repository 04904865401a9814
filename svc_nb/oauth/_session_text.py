"""What the session-cookie checks tell the user: cause → (status, summary, detail, fix)."""

from __future__ import annotations

from svc_nb._explain import Explanation
from svc_nb._report import Status
from svc_nb.oauth._causes import OAuthCause as C

__all__ = ["COOKIE", "STATE"]

_INVALID_STATE_NOTE = ' svc-infra\'s callback then answers 400 {{"detail": "invalid_state"}}.'

_F = Status.FAIL
COOKIE: dict[C, Explanation] = {
    C.SESSION_COOKIE_MISSING: Explanation(
        _F,
        "no {cookie_name} cookie in what was given",
        "Without the session cookie the callback finds no saved state: svc-infra answers "
        "400 invalid_state. The browser did not send it back to the callback.",
        "In the browser's dev tools (Application → Cookies) check on the callback request: "
        "SameSite (Lax is needed for the provider's top-level redirect back; Strict drops it), "
        "Domain (login started on www.example.com, callback on example.com or localhost vs "
        "127.0.0.1), and Secure (an https_only cookie is never sent over http).",
    ),
    C.SAMESITE_STRICT: Explanation(
        _F,
        "SameSite=Strict: the cookie is not sent on the redirect back from the provider",
        "{attributes}",
        "Use SameSite=Lax (Starlette's default: SessionMiddleware(same_site='lax')).",
    ),
    C.SAMESITE_NONE_INSECURE: Explanation(
        _F,
        "SameSite=None without Secure: browsers reject the cookie",
        "{attributes}",
        "Use SameSite=Lax, or SameSite=None together with https_only=True.",
    ),
    C.COOKIE_TOO_LARGE: Explanation(
        _F,
        "{cookie_name} is {size} bytes — over the 4096-byte browser limit",
        "Browsers silently drop a cookie over 4096 bytes, so the state saved at login never comes back.",
        "Store less in the session (no tokens or profiles in request.session); keep large data server-side.",
    ),
    C.COOKIE_NEAR_LIMIT: Explanation(
        Status.WARN,
        "{cookie_name} is {size} bytes",
        "Within 10 % of the 4096-byte limit: a little more session data and browsers drop it.",
        "Store less in the session (no tokens or profiles in request.session); keep large data server-side.",
    ),
    C.DEPENDENCY_MISSING: Explanation(
        Status.SKIP, "itsdangerous is not installed", fix="pip install itsdangerous"
    ),
    C.SESSION_SIGNATURE_INVALID: Explanation(
        _F,
        "the cookie's signature does not verify with this secret",
        "itsdangerous: {error_type}. Starlette then ignores the cookie and starts an empty "
        "session, so the saved state is gone." + _INVALID_STATE_NOTE,
        "Use the same SessionMiddleware secret_key on every instance and across restarts "
        "(compare with svc_nb.tokens.fingerprint); a rotated secret logs everybody out once.",
    ),
    C.SESSION_EXPIRED: Explanation(
        _F,
        "signed {age} s ago (max_age {max_age} s) — expired",
        "signed at {signed_at}; Starlette ignores sessions older than max_age, so the state from "
        "the login is lost." + _INVALID_STATE_NOTE,
        "The user started the login more than {max_age} s ago: send them to the login again.",
    ),
    C.SESSION_PAYLOAD_INVALID: Explanation(
        _F,
        "the cookie is signed but its body is not base64 JSON",
        fix="This is not a Starlette SessionMiddleware cookie.",
    ),
    C.NO_PENDING_LOGIN: Explanation(
        Status.WARN,
        "no oauth:<provider>:state in the session{for_provider}",
        "svc-infra removes the keys once a callback succeeds; none here means no login is "
        "pending in this browser session (already completed, or started in another browser "
        "or on another host).",
        "Start the login again from the same host the callback is served on.",
    ),
}
STATE: dict[C, Explanation] = {
    C.SESSION_EXPIRED: Explanation(
        _F,
        "session expired: the saved state is ignored",
        "Starlette drops a session older than max_age (4 h in svc-infra) — the callback sees "
        "none." + _INVALID_STATE_NOTE,
        "Start the login again.",
    ),
    C.NO_PENDING_LOGIN: Explanation(
        _F,
        "the session holds no state to compare with",
        "The login was started in another browser or on another host name, the session "
        "was replaced after login (cleared cookies, another secret), or a callback already ran: "
        "svc-infra removes the saved state before comparing, even when the callback fails."
        + _INVALID_STATE_NOTE,
        "Start the login again from the same browser and host that serves the callback.",
    ),
    C.STATE_MISMATCH: Explanation(
        _F,
        "the callback's state differs from the session's",
        "The session holds a newer state: another login was started (e.g. in another tab) after "
        "this one and overwrote oauth:<provider>:state; or the callback URL was reused/bookmarked."
        + _INVALID_STATE_NOTE,
        "Finish only the most recent login attempt; close other login tabs and start again.",
    ),
    C.AUTHLIB_STATE_MISSING: Explanation(
        _F,
        "oauth:{provider}:state matches, but Authlib's _state_{provider}_<state> key is missing",
        "svc-infra's own check passes, then Authlib (authorize_access_token) finds no saved "
        "data for this state and raises mismatching_state; svc-infra redirects to "
        "AUTH_POST_LOGIN_REDIRECT?oauth_error=mismatching_state and empties the session. Both "
        "keys are written by the same login request, so something removed Authlib's: code that "
        "edits request.session, or another OAuth client registered under the same name.",
        "Do not clear or rewrite request.session between login and callback; start the login again.",
    ),
}
