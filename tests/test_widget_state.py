"""Every widget has the same shape, and none keeps a secret in the state the browser syncs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from svc_nb import widgets
from svc_nb.widgets._base import View
from tests._widgets import displayed, synced, type_into

pytest.importorskip("ipywidgets")

FACTORIES: dict[str, Callable[[], Any]] = {
    "JwtInspector": lambda: widgets.jwt_inspector(),
    "SignatureChecker": lambda: widgets.signature_checker(),
    "RedirectUriDiff": lambda: widgets.redirect_uri_diff(),
    "RetryExplorer": lambda: widgets.retry_explorer(),
    "ProgressBar": lambda: widgets.progress_bar(3, display=False),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_widget_is_a_view_that_displays_its_container(name: str) -> None:
    import ipywidgets

    view = FACTORIES[name]()
    assert type(view) is getattr(widgets, name) and isinstance(view, View)
    assert isinstance(view.widget, ipywidgets.DOMWidget)
    # Nothing stuck onto the container: the controls live on the view.
    assert [k for k, v in vars(view.widget).items() if isinstance(v, ipywidgets.Widget)] == []
    bundle = view._repr_mimebundle_()
    shown = bundle["application/vnd.jupyter.widget-view+json"]
    assert shown["model_id"] == view.widget.model_id
    # The text fallback names the widget; it is not the repr of every field's value.
    assert bundle["text/plain"] == repr(view) and name in repr(view)
    models = list(view.walk())
    assert models[0] is view.widget and len({id(m) for m in models}) == len(models)
    assert all(isinstance(m, ipywidgets.Widget) for m in models)


def test_walk_reaches_every_nested_control_layout_and_style() -> None:
    view = widgets.signature_checker()
    models = {id(m) for m in view.walk()}
    for control in (view.body, view.headers, view.secret, view.forget_secret, view.scheme):
        assert id(control) in models
        assert id(control.layout) in models
    assert id(view.tolerance.style) in models


def test_redirect_uri_passwords_stay_out_of_widget_state() -> None:
    # A password with '@' and ':' in it, and a bare token used as the user name.
    registered = [
        "https://deploy:reg-p@ss:w0rd-91@myapp.com/cb",
        "https://ghp_tok3n0nly9f2@other.example/cb",
    ]
    view = widgets.redirect_uri_diff(registered, "https://myapp.com/cb")
    assert view.report is not None
    type_into(view.received, "https://deploy:reg-p@ss:w0rd-91@myapp.com/cb")
    assert "matches a registered one exactly" in view.result.value  # compared for real
    state = displayed(view)
    for secret in ("reg-p@ss", "w0rd-91", "ghp_tok3n0nly9f2"):
        assert secret not in state, secret
    assert view.received.value == "https://deploy:****@myapp.com/cb"
    # Editing the second registered line keeps both hidden secrets.
    type_into(view.registered, view.registered.value + "/")
    type_into(view.received, "https://ghp_tok3n0nly9f2@other.example/cb/")
    assert "matches a registered one exactly" in view.result.value
    assert "ghp_tok3n0nly9f2" not in synced(view)


def test_lines_that_look_the_same_masked_keep_their_own_password() -> None:
    view = widgets.redirect_uri_diff(
        ["https://app:first-pass-1a@myapp.com/cb", "https://app:second-pass-2b@myapp.com/cb"],
        "https://app:first-pass-1a@myapp.com/cb",
    )
    assert "matches a registered one exactly" in view.result.value
    shown = view.registered.value
    assert shown.split("\n") == ["https://app:****@myapp.com/cb"] * 2
    # A third URI added below: the two unchanged lines keep their own passwords.
    type_into(view.registered, shown + "\nhttps://myapp.com/other")
    for received in (
        "https://app:first-pass-1a@myapp.com/cb",
        "https://app:second-pass-2b@myapp.com/cb",
    ):
        type_into(view.received, received)
        assert "matches a registered one exactly" in view.result.value, received
    assert "first-pass-1a" not in synced(view) and "second-pass-2b" not in synced(view)


def test_typing_secrets_into_every_widget_leaves_none_in_state() -> None:
    from svc_nb import tokens
    from svc_nb.webhooks import sign

    key, hook_secret = "state-jwt-key-" + "z" * 30, "state-hook-secret-51c0"
    token = tokens.make(secret=key, now=1_750_000_000)
    password = "state-url-pass-0d9e"
    inspector = widgets.jwt_inspector(now=1_750_000_000)
    type_into(inspector.token, token)
    type_into(inspector.key, key)
    checker = widgets.signature_checker(now=1_750_000_000)
    type_into(checker.body, "{}")
    type_into(checker.headers, json.dumps(sign(b"{}", hook_secret, scheme="github")))
    type_into(checker.secret, hook_secret)
    diff = widgets.redirect_uri_diff()
    type_into(diff.registered, f"https://app:{password}@myapp.com/cb")
    type_into(diff.received, f"https://app:{password}@myapp.com/cb")
    assert inspector.report is not None and inspector.report["tokens.signature"].cause is None
    assert checker.report is not None and checker.report.ok
    assert diff.report is not None and diff.report.ok
    for view in (inspector, checker, diff):
        state = displayed(view)
        for secret in (key, hook_secret, token.rsplit(".", 1)[1], password):
            assert secret not in state, (type(view).__name__, secret)
