"""notebooks/02_redis.ipynb runs unattended against the machine's Redis."""

from __future__ import annotations

import pytest

from tests._support import LOCAL_REDIS_URL, NOTEBOOKS, execute_notebook, notebook_text_outputs

pytestmark = pytest.mark.notebook


def test_notebook_02_redis() -> None:
    nb = execute_notebook(
        NOTEBOOKS / "02_redis.ipynb", {"REDIS_URL": LOCAL_REDIS_URL, "SVC_NB_TIMEOUT": "3"}
    )
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = notebook_text_outputs(nb)
    # The URL gallery names each mistake.
    assert "is not URL-encoded" in text and "as a USERNAME" in text
    assert "TLS option ?ssl_cert_reqs= on a plain redis:// URL" in text
    assert "did you mean ?socket_timeout=" in text.lower()
    # The healthy local server, then each broken case, classified.
    assert "svc_nb cache check: OK" in text and "answers PING: median" in text
    assert "connection refused: nothing listens on 127.0.0.1:1" in text
    assert "database 42 does not exist" in text
    assert "did not answer within 1 s" in text
    # Memory figures and the chart, then the degradation discussion's mem:// check.
    assert "used_memory" in text and "Figure" in text
    assert "mem:// means a per-process cache" in text and "no automatic fallback" in text
    # The example passwords in the gallery never show.
    for secret in ("s3cr3t-password", "ss#word", "p/ss"):
        assert secret not in text
    # Outputs are stripped in the committed file.
    import nbformat

    stored = nbformat.read(NOTEBOOKS / "02_redis.ipynb", as_version=4)
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in stored.cells
        if c.cell_type == "code"
    )
    assert "parameters" in stored.cells[1].metadata.get("tags", [])
