"""What a widget shares with the browser, and typing into it the way the browser does.

Widget state is what the frontend syncs and what "Save widget state" writes into the
notebook file: every model of the view (containers, controls, layouts, styles), plus
the text fallback a notebook stores beside the widget view.
"""

from __future__ import annotations

import json
from typing import Any


def synced(view: Any) -> str:
    """The JSON state of every model in ``view``, as the browser receives it."""
    return json.dumps([model.get_state() for model in view.walk()], default=repr)


def displayed(view: Any) -> str:
    """The synced state plus the display bundle a notebook saves as the cell's output."""
    return synced(view) + json.dumps(view._repr_mimebundle_(), default=repr)


def type_into(field: Any, text: str) -> None:
    """What a browser's update message does: ``set_state`` with the field's new value."""
    field.set_state({"value": text})
