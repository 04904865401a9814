"""Small servers and scratch projects the notebooks troubleshoot, so their cells stay short.

- :func:`serve`: any ASGI app on a free loopback port in a background thread
  (``.url``, ``.stop()``, or ``with``);
- :func:`oauth_provider`: a local OAuth/OIDC provider with one client (notebook 03);
- :func:`session_login_app` / :func:`start_login`: svc-infra's login step, state in
  the ``svc_session`` cookie (notebook 03);
- :func:`alembic_project`: a scratch database and migrations folder (notebook 06);
- :func:`cors_api`: an API behind Starlette's CORS middleware (notebook 06);
- :func:`service_app`: an svc-infra app with a switch per misconfiguration (notebook 08);
- :func:`timeout_parameter`: a notebook's timeout parameter, NaN and inf refused.

These need the test-time packages (starlette, uvicorn, alembic, sqlalchemy,
itsdangerous); each helper says which one is missing.
"""

from __future__ import annotations

from svc_nb.demo._alembic import AlembicProject, alembic_project
from svc_nb.demo._apps import cors_api
from svc_nb.demo._errors import DemoError
from svc_nb.demo._oauth import LocalOAuthProvider, oauth_provider, session_login_app, start_login
from svc_nb.demo._params import timeout_parameter
from svc_nb.demo._serve import Served, serve
from svc_nb.demo._service_app import service_app

__all__ = [
    "AlembicProject",
    "DemoError",
    "LocalOAuthProvider",
    "Served",
    "alembic_project",
    "cors_api",
    "oauth_provider",
    "serve",
    "service_app",
    "session_login_app",
    "start_login",
    "timeout_parameter",
]
