"""Notebook 08 (is it my service or its dependencies?) runs top to bottom in a real kernel."""

from __future__ import annotations

import importlib.util

import nbformat
import pytest

from tests._support import NOTEBOOKS, execute_notebook, notebook_text_outputs

NOTEBOOK = NOTEBOOKS / "08_service.ipynb"


def test_notebook_is_stripped_and_parameterised() -> None:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.outputs and c.execution_count is None for c in code)
    # Short cells: the demo app lives in svc_nb.demo, not in the notebook.
    assert max(len(c.source.splitlines()) for c in code) <= 10


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("svc_infra") is None, reason="needs svc-infra")
def test_notebook_08_runs() -> None:
    nb = execute_notebook(NOTEBOOK, {"SVC_NB_TIMEOUT": "10"})
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    text = notebook_text_outputs(nb)
    # 1: the wiring, with the double CORS trap
    assert "two CORS middlewares" in text and "ServerErrorMiddleware" in text
    # 2: start-up, broken then fixed
    assert "the environment variable SVC_NB_DEMO_SQL_URL is not set" in text
    assert "start-up finished in" in text
    # 3: CORS: wildcard, trailing slash, a 500 without CORS headers, then fixed
    assert "any origin may make credentialed requests" in text
    assert "has no trailing slash" in text
    assert "A 500 without CORS headers" in text
    assert "error answers (404 and 500) keep their CORS headers" in text
    # 4: the redirect URI behind a proxy, then with uvicorn trusting it
    assert "only with uvicorn trusting the proxy headers" in text
    assert (
        "https://api.example.com/auth/oauth/github/callback (behind a TLS proxy), which is registered"
        in text
    )
    # 5: the Secure cookie over http, then fixed
    assert "svc_session is Secure, but the login runs over http" in text
    assert "svc_session comes back to the callback" in text
    # 6: the JWT: the public dev secret, then a real one (never shown)
    assert "signs JWTs with svc-infra dev default" in text
    assert "signed with AUTH_JWT_SECRET" in text
    # 7: the webhook handler that HMACs the raw body, then svc-infra's check
    assert "the handler HMACs the raw body" in text
    assert "1/1 deliveries accepted" in text
    assert "demo-webhook-secret" not in text and "demo-session-secret" not in text
