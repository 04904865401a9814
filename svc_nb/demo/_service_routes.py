"""The demo service's own routes (notebook 08), in a module FastAPI can read the annotations of.

FastAPI reads a handler's parameter types from its annotations; handlers
defined here, with their types imported at module level, keep them readable.
Imported only when ``service_app()`` builds an app (it needs FastAPI).
"""

import hashlib
import hmac
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from svc_infra.webhooks.fastapi import require_signature

__all__ = ["add_items", "add_webhook"]


def add_items(app: FastAPI) -> None:
    stock = {"a": 1, "b": 2}

    @app.get("/items")
    async def items() -> Any:
        return {"items": sorted(stock)}

    @app.get("/items/{name}")
    async def item(name: str) -> Any:
        # A bug on purpose: an unknown name raises KeyError, which becomes a 500.
        return {"name": name, "count": stock[name]}


def add_webhook(app: FastAPI, path: str, mode: str, secret: str) -> None:
    """The receiving route: svc-infra's canonical check, or the guide's HMAC over the raw body."""
    if mode == "canonical":

        @app.post(path)
        async def receive(event: dict = Depends(require_signature(lambda: secret))) -> Any:  # noqa: B008
            return {"received": event.get("topic")}

        return

    @app.post(path)
    async def receive_raw(request: Request) -> Any:
        # The guide's recipe: HMAC over the raw body. svc-infra signs canonical JSON instead.
        body = await request.body()
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-signature", "")):
            raise HTTPException(status_code=401, detail="invalid signature")
        return {"received": True}
