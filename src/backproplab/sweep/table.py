"""The results table: one row per run, keyed by the run's hash, written as runs finish.

The CSV file is the record. Each flush rewrites it whole through :func:`backproplab._io.open_atomic`
(a temporary file beside it, fsynced, then renamed over it), so a crash or a second Ctrl-C leaves
either the previous complete table or the new complete table, never a half-written row. Rows are
flushed in chunks (every ``chunk_rows`` rows or ``flush_seconds`` seconds, and at the end), so the
cost of rewriting stays small against the runs. A Parquet copy is written beside it at the end of a
sweep when pyarrow is installed.

Reopening a table resumes it: its keys are the runs already done. A table written under another
configuration (another fingerprint) is refused unless ``overwrite`` is set.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Iterable
from typing import Any

from .._io import atomic_write, check_output_path, check_regular_file

__all__ = ["ResultTable", "parse_cell", "format_cell", "read_table"]

FIRST_COLUMNS = ["key", "fingerprint", "point", "seed"]


def format_cell(value: Any) -> str:
    """A cell as text that :func:`parse_cell` reads back exactly (floats by their shortest repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return str(value)


def parse_cell(text: str) -> Any:
    """The value of a CSV cell: int, float, bool, a JSON list, None for empty, else the string."""
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def read_table(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a sweep table (CSV), with typed values."""
    path = check_regular_file(os.fspath(path), "sweep table")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(FIRST_COLUMNS) <= set(reader.fieldnames):
            raise ValueError(f"sweep table {path!r} is not a backproplab sweep table (no {'/'.join(FIRST_COLUMNS)} columns)")
        return [{name: parse_cell(cell or "") for name, cell in row.items()} for row in reader]


class ResultTable:
    """Rows keyed by run; ``add`` buffers a finished run's row, ``flush`` writes the whole table atomically.

    Parameters
    ----------
    path : path or None
        The CSV file; None keeps the rows in memory only.
    fingerprint : str
        The configuration's fingerprint; an existing table with another one is refused.
    overwrite : bool
        Start afresh even when ``path`` holds another configuration's table.
    """

    def __init__(self, path: str | os.PathLike[str] | None, fingerprint: str, *, overwrite: bool = False,
                 chunk_rows: int = 50, flush_seconds: float = 2.0) -> None:
        self.path = None if path is None else check_output_path(path, "sweep table")
        self.fingerprint = fingerprint
        self.chunk_rows = chunk_rows
        self.flush_seconds = flush_seconds
        self._rows: dict[str, dict[str, Any]] = {}
        self._columns: list[str] = list(FIRST_COLUMNS)
        self._unflushed = 0
        self._last_flush = time.monotonic()
        if self.path is not None and os.path.exists(self.path) and os.path.getsize(self.path) and not overwrite:
            self._resume(self.path)

    def _resume(self, path: str) -> None:
        rows = read_table(path)
        others = {str(row["fingerprint"]) for row in rows} - {self.fingerprint}
        if others:
            raise ValueError(
                f"sweep table {path!r} holds runs of another configuration (fingerprint {sorted(others)[0]}, this "
                f"config is {self.fingerprint}); choose another output file or pass --overwrite to start afresh"
            )
        with open(path, newline="") as handle:
            self._columns = next(csv.reader(handle))
        for row in rows:
            self._rows[str(row["key"])] = row

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def keys(self) -> set[str]:
        return set(self._rows)

    def rows(self) -> list[dict[str, Any]]:
        """Every row, ordered by configuration point and seed (the same order whichever backend ran them)."""
        return sorted(self._rows.values(), key=lambda row: (row["point"], row["seed"]))

    def add(self, row: dict[str, Any]) -> bool:
        """Record a finished run; a run already present is ignored (returns False). Flushes a full chunk."""
        key = row["key"]
        if key in self._rows:
            return False
        self._rows[key] = row
        self._columns += [name for name in row if name not in self._columns]
        self._unflushed += 1
        if self._unflushed >= self.chunk_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        return True

    def to_csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self._columns)
        for row in self.rows():
            writer.writerow([format_cell(row.get(name)) for name in self._columns])
        return buffer.getvalue()

    def flush(self) -> None:
        """Write every row so far, atomically (nothing to do in memory-only mode or when nothing changed)."""
        self._last_flush = time.monotonic()
        if self.path is None or (self._unflushed == 0 and os.path.exists(self.path)):
            return
        atomic_write(self.path, self.to_csv_text())
        self._unflushed = 0

    def write_parquet(self) -> str | None:
        """A Parquet copy beside the CSV (same stem, ``.parquet``) when pyarrow is installed; its path or None."""
        if self.path is None:
            return None
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return None
        columns = {name: _arrow_column([row.get(name) for row in self.rows()]) for name in self._columns}
        table = pa.table({name: pa.array(values) for name, values in columns.items()})
        target = os.path.splitext(self.path)[0] + ".parquet"
        atomic_write(target, lambda handle: pq.write_table(table, handle))
        return target


def _arrow_column(values: Iterable[Any]) -> list[Any]:
    """One type per column: lists and mixed columns become JSON text, numbers stay numbers."""
    values = list(values)
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present):
        return values
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        as_float = any(isinstance(v, float) for v in present)
        return [None if v is None else (float(v) if as_float else v) for v in values]
    if all(isinstance(v, str) for v in present):
        return values
    return [None if v is None else format_cell(v) for v in values]


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
