"""The live dashboard, its offline replays and the playground (extra ``backproplab[dashboard]``).

``Dashboard`` records with NumPy alone; serving the page needs Starlette, uvicorn and sse-starlette,
imported only when a server starts (a missing one gives a one-line install hint).
"""

from __future__ import annotations

from .live import Dashboard
from .replay import load_run, write_replay

__all__ = ["Dashboard", "load_run", "write_replay"]
