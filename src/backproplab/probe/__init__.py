"""``bp.Probe``: record a hand-written NumPy training loop, prove its gradient right or wrong, diagnose it.

Modules: :mod:`.recorder` (the Probe and its bounded buffers), :mod:`.check` (finite differences of
the user's loss and the patterns they name), :mod:`.diagnosis` (a RunRecord for the diagnosis, the
comparable-network control, the stop-rule critique), :mod:`._file` (save/load without pickle).
"""

from __future__ import annotations

from .check import ArrayCheck, CheckReport
from .recorder import Probe, Snapshot

__all__ = ["Probe", "Snapshot", "ArrayCheck", "CheckReport"]
