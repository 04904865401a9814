"""Which bundled notebook, and which section of it, investigates a check.

One table from check-id prefix to (notebook, section heading); the longest
prefix wins, so ``db.url.password`` finds the URL section and ``db.auth`` the
connection section. ``svc-nb doctor`` names the row in each finding's
``notebook`` field, ``svc-nb open CHECK_ID`` opens it, ``%svc open`` links it.
Pure data: importing this module costs nothing (the doctor imports it).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from svc_nb._exceptions import ArgumentValueError

__all__ = ["NOTEBOOK_SECTIONS", "NotebookRef", "UnknownCheckError", "notebook_for"]

_DB, _REDIS, _OAUTH = "01_database.ipynb", "02_redis.ipynb", "03_oauth.ipynb"
_QUICK, _JWT, _HOOKS, _ENV, _SERVICE = (
    "00_quick_diagnostics.ipynb",
    "04_jwt.ipynb",
    "05_webhooks.ipynb",
    "06_environment.ipynb",
    "08_service.ipynb",
)

# check-id prefix -> (notebook file, the markdown heading of the section, without the #s).
# tests/test_run_notebook.py proves every heading exists in its notebook.
NOTEBOOK_SECTIONS: dict[str, tuple[str, str]] = {
    "env": (_QUICK, "3. Your environment, finding by finding"),
    "env.env_file": (_QUICK, "A `.env` file, without touching `os.environ`"),
    "env.files": (_QUICK, "A `.env` file, without touching `os.environ`"),
    "env.cors": (_ENV, "4. CORS errors in the browser"),
    "python": (_ENV, "1. \"No module named 'svc_infra'\""),
    "loop": (_ENV, '3. "Event loop is already running"'),
    "db": (_DB, "2. The staged connection check"),
    "db.url": (_DB, "1. Validate the connection string (no network)"),
    "db.ssl": (_DB, "3. SSL"),
    "db.pool": (_DB, "4. Pool exhaustion: capacity, headroom and activity"),
    "db.capacity": (_DB, "4. Pool exhaustion: capacity, headroom and activity"),
    "db.activity": (_DB, "4. Pool exhaustion: capacity, headroom and activity"),
    "migrations": (_ENV, "2. Alembic state"),
    "cache": (_REDIS, "2 · Connect: reachability, latency, authentication, server"),
    "cache.url": (_REDIS, "1 · Which URL will svc-infra use, and does it say what you think?"),
    "cache.backend": (_REDIS, "4 · When Redis is down: no automatic fallback"),
    "cache.memory": (_REDIS, "3 · Memory: used vs `maxmemory`, eviction policy, fragmentation"),
    "cache.fragmentation": (
        _REDIS,
        "3 · Memory: used vs `maxmemory`, eviction policy, fragmentation",
    ),
    "tokens": (_JWT, "1 · Decode first — and know that decoding is not verifying"),
    "tokens.format": (_JWT, "2 · Malformed tokens name the broken segment"),
    "tokens.input": (_JWT, "2 · Malformed tokens name the broken segment"),
    "tokens.exp": (_JWT, "3 · Expiry and clock skew"),
    "tokens.nbf": (_JWT, "3 · Expiry and clock skew"),
    "tokens.iat": (_JWT, "3 · Expiry and clock skew"),
    "tokens.lifetime": (_JWT, "3 · Expiry and clock skew"),
    "tokens.aud": (_JWT, "4 · The right token for the job"),
    "tokens.alg": (_JWT, "5 · Pinned algorithms: `alg: none` and the RS→HS confusion attack"),
    "tokens.signature": (_JWT, "6 · Signature mismatch: which secret signed it?"),
    "tokens.key": (_JWT, "6 · Signature mismatch: which secret signed it?"),
    "tokens.find_key": (_JWT, "6 · Signature mismatch: which secret signed it?"),
    "tokens.secret": (_JWT, "7 · Comparing secrets across services"),
    "oauth": (_OAUTH, "4. Provider metadata and the code exchange"),
    "oauth.redirect_uri": (_OAUTH, "1. Redirect URI mismatch"),
    "oauth.session": (
        _OAUTH,
        '3. "Invalid state parameter": compare the callback with the session cookie',
    ),
    "webhooks": (_HOOKS, "1. Is the endpoint reachable?"),
    "webhooks.signature": (_HOOKS, "2. Signatures: verify what was actually received"),
    "webhooks.timestamp": (_HOOKS, "2. Signatures: verify what was actually received"),
    "webhooks.rotation": (_HOOKS, "2. Signatures: verify what was actually received"),
    "webhooks.guide_header": (_HOOKS, "2. Signatures: verify what was actually received"),
    "webhooks.delivery": (
        _HOOKS,
        "3. A delivery that fails twice, then succeeds — under svc-infra's real policy",
    ),
    "webhooks.attempts": (_HOOKS, "4. A batch to a flaky endpoint"),
    "webhooks.queue": (_HOOKS, "6. svc-infra's delivery queue in Redis"),
    "cors": (_ENV, "4. CORS errors in the browser"),
    "service": (_SERVICE, "Your own service"),
    "service.startup": (_SERVICE, "2. Start-up: configuration or dependency?"),
    "service.health": (_SERVICE, "2. Start-up: configuration or dependency?"),
    "service.cors": (_SERVICE, "3. CORS on the app's real routes"),
    "service.oauth": (_SERVICE, "4. The OAuth redirect URI behind a TLS proxy"),
    "service.session_cookie": (_SERVICE, "5. The session cookie that never comes back"),
    "service.auth": (_SERVICE, "6. The JWT the app issues"),
}

_CHECK_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")
_MARKUP = str.maketrans("", "", "`*_")


class UnknownCheckError(ArgumentValueError):
    """A check id that no bundled notebook investigates; the message lists the sections."""


@dataclass(frozen=True)
class NotebookRef:
    """The bundled notebook and section that investigate ``check``."""

    check: str
    notebook: str
    section: str

    @property
    def anchor(self) -> str:
        """The heading's id in JupyterLab: its rendered text with spaces as hyphens."""
        return self.section.translate(_MARKUP).strip().replace(" ", "-")

    @property
    def command(self) -> str:
        """The command that opens it: ``svc-nb open CHECK_ID``."""
        return f"svc-nb open {self.check}"

    def url_path(self) -> str:
        """``NOTEBOOK#anchor``, quoted for a URL (JupyterLab scrolls to the heading)."""
        return f"{urllib.parse.quote(self.notebook)}#{urllib.parse.quote(self.anchor, safe='')}"

    def to_dict(self) -> dict[str, str]:
        return {"file": self.notebook, "section": self.section, "command": self.command}


def notebook_for(check: str) -> NotebookRef:
    """The notebook section for a check id (``db.auth``) or a section name (``db``).

    Raises :class:`UnknownCheckError` when no row's prefix covers it.
    """
    if not isinstance(check, str) or not _CHECK_ID.fullmatch(check.strip()):
        raise UnknownCheckError(
            f"{check!r:.60} is not a check id: give one such as db.auth or a section such as db"
        )
    check = check.strip()
    parts = check.split(".")
    for end in range(len(parts), 0, -1):
        row = NOTEBOOK_SECTIONS.get(".".join(parts[:end]))
        if row is not None:
            return NotebookRef(check, *row)
    sections = ", ".join(sorted({key.split(".")[0] for key in NOTEBOOK_SECTIONS}))
    raise UnknownCheckError(
        f"no bundled notebook investigates {check!r}: check ids start with one of {sections}"
    )
