"""matplotlib charts: attempt timelines, status codes, latency, retry schedules, memory.

matplotlib is imported inside each function so that ``import svc_nb`` stays light.
Every function returns the Figure; in a notebook it shows.
"""

from __future__ import annotations

__all__: list[str] = []

# --- webhook charts (issue 10) -------------------------------------------------
# --- end webhook charts --------------------------------------------------------

# --- cache memory chart (issue 6) ----------------------------------------------
# --- end cache memory chart ----------------------------------------------------
