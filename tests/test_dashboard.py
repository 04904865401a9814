"""The dashboard widget as an object: build it, click re-run, wait, read the HTML."""

from __future__ import annotations

import pytest

from svc_nb import Report, Status
from svc_nb._diagnose import registered_checks
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL
from tests._widgets import displayed

pytest.importorskip("ipywidgets")


def test_dashboard_runs_every_check_and_shows_the_report() -> None:
    from svc_nb.widgets import dashboard

    dash = dashboard(
        {"SQL_URL": LOCAL_PG_URL, "REDIS_URL": LOCAL_REDIS_URL, "APP_ENV": "prod"}, timeout=3.0
    )
    report = dash.wait(15)
    assert isinstance(report, Report)
    assert not dash.running and dash.button.disabled is False
    # One progress light per registered check, each finished (no "running…" left).
    assert list(dash.progress) == registered_checks()
    for name, row in dash.progress.items():
        assert "running" not in row.value, name
        assert f"<code>{name}</code>" in row.value
    assert "✘" in dash.progress["env"].value  # APP_ENV=prod without a JWT secret fails
    html = dash.output.value
    assert 'class="svcnb-report"' in html
    assert "env.jwt_secret" in html and "MissingSecretError" in html
    assert "FAIL" in dash.header.value
    assert report["env.jwt_secret"].status is Status.FAIL


def test_rerun_button_runs_again_with_the_same_environment() -> None:
    from svc_nb.widgets import dashboard

    environ = {"AUTH_JWT__SECRET": "x" * 40}
    dash = dashboard(environ, timeout=2.0)
    first = dash.wait(15)
    assert first is not None and dash.runs == 1
    dash.button.click()
    assert dash.runs == 2
    second = dash.wait(15)
    assert second is not None and second is not first
    assert second["env.jwt_secret"].status is Status.OK
    assert "env.jwt_secret" in dash.output.value


def test_click_while_running_does_not_start_a_second_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from svc_nb import _diagnose
    from svc_nb.widgets import dashboard

    registered_checks()  # import the sections first, then add a slow check to a copy
    builders = dict(_diagnose._builders)

    async def slow(_env: object, timeout: float) -> Report:
        await asyncio.sleep(0.6)
        return Report()

    builders["zz_slow"] = (999, slow)
    monkeypatch.setattr(_diagnose, "_builders", builders)
    dash = dashboard({}, timeout=2.0)
    assert "running" in dash.progress["zz_slow"].value
    assert dash.button.disabled is True
    dash.button.click()
    dash.start()
    assert dash.runs == 1
    dash.wait(10)
    assert dash.runs == 1 and dash.report is not None
    assert "running" not in dash.progress["zz_slow"].value


def test_dashboard_rejects_bad_timeout() -> None:
    from svc_nb.widgets import dashboard

    with pytest.raises(ValueError, match="positive"):
        dashboard({}, timeout=0)


def test_secrets_in_the_environment_stay_out_of_widget_state() -> None:
    from svc_nb.widgets import Dashboard, dashboard

    db_password, jwt_secret = "dash-db-pass-4e7a91", "dash-jwt-secret-" + "q" * 32
    environ = {
        # trust authentication: the password is accepted and ignored, so the checks pass
        "SQL_URL": LOCAL_PG_URL.replace("postgres@", f"postgres:{db_password}@"),
        "REDIS_URL": LOCAL_REDIS_URL,
        "AUTH_JWT__SECRET": jwt_secret,
    }
    dash = dashboard(environ, timeout=3.0)
    assert isinstance(dash, Dashboard)
    report = dash.wait(15)
    assert report is not None and report["db.auth"].status is Status.OK
    state = displayed(dash)
    assert "db.auth" in state  # the report is in the state...
    assert db_password not in state and jwt_secret not in state  # ... its secrets are not
