"""Small ASGI apps the notebooks troubleshoot."""

from __future__ import annotations

from typing import Any

from svc_nb.demo._errors import require

__all__ = ["cors_api"]


def cors_api(**cors_options: Any) -> Any:
    """An API with ``/items`` (GET, POST, PUT) behind Starlette's ``CORSMiddleware``.

    ``cors_options`` go to the middleware as svc-infra passes them
    (``allow_origins``, ``allow_credentials``, ``allow_methods``, ``allow_headers``…).
    """
    require("starlette", "starlette")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def items(request: Request) -> Response:
        return JSONResponse({"items": [], "method": request.method})

    return Starlette(
        routes=[Route("/items", items, methods=["GET", "POST", "PUT"])],
        middleware=[Middleware(CORSMiddleware, **cors_options)],
    )
