"""notebooks/05_webhooks.ipynb executed top to bottom in a real kernel against local services."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support import LOCAL_REDIS_URL, execute_notebook, notebook_text_outputs

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05_webhooks.ipynb"
SECRET = "nb05-test-secret-3a9d1c77"


@pytest.mark.notebook
def test_notebook_05_runs_and_shows_the_findings() -> None:
    nb = execute_notebook(
        NOTEBOOK,
        {
            "REDIS_URL": LOCAL_REDIS_URL,
            "WEBHOOK_DEMO_SECRET": SECRET,
            "TIME_SCALE": "0.001",
            "QUEUE_DB": "15",
        },
        timeout=120,
    )
    text = notebook_text_outputs(nb)
    # reachability and signatures
    assert "webhooks.http" in text and "HTTP 200" in text
    assert "svc-infra signature valid over the canonical JSON" in text
    assert "guide's recipe (raw body) matches: False" in text
    assert "does not match" in text
    # the delivery that fails twice then succeeds, on svc-infra's nominal schedule
    assert "1/1 deliveries delivered in 3 attempts" in text
    assert "waits 1 min, 2 min, 3 min, 4 min" in text
    # the batch and the round trip
    assert "200/200 deliveries delivered" in text
    assert "IntProgress" in text  # the progress bar shows in a kernel
    assert "round trip identical: True" in text
    # the queue snapshot, with its findings and cleanup
    assert "deliveries dead-lettered" in text
    assert "stuck in processing past their visibility timeout" in text
    assert "endpoint(s) failing every attempt" in text
    assert "removed 16 demo keys" in text
    # every chart rendered as an image
    pngs = sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )
    assert pngs == 5  # two timelines, status, latency, policy comparison
    # no secret in any output
    assert SECRET not in text
    assert "demo-subscription-secret-" not in text
    # outputs are stripped in git
    import nbformat

    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in stored.cells
        if c.cell_type == "code"
    )
    assert "parameters" in stored.cells[1].metadata.get("tags", [])
