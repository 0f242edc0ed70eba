"""The dashboard page: one HTML document with its CSS, its code and the vendored uPlot inlined.

The same document serves the live dashboard, the playground and the exported replay; only the
embedded configuration differs (and a replay carries its data). Nothing is fetched from elsewhere:
a replay opens from ``file://`` offline.
"""

from __future__ import annotations

import html
import json
import os
import re
from functools import cache
from importlib import resources
from typing import Any

from .._io import atomic_write, check_output_path

__all__ = ["build_page", "STATIC", "UPLOT_VERSION"]

STATIC = str(resources.files("backproplab.dashboard") / "static")
UPLOT_VERSION = "1.6.32"


@cache
def _asset(name: str) -> str:
    return (resources.files("backproplab.dashboard") / "static" / name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no closing tag, no HTML comment opener)."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_page(state: dict[str, Any] | None, mode: str, token: str | None = None, title: str | None = None) -> str:
    """The page for ``mode`` ("live", "playground" or "replay"); ``state`` is inlined for a replay."""
    config = {"mode": mode, "token": token, "uplot": UPLOT_VERSION}
    if title is None:
        title = str((state or {}).get("meta", {}).get("title", "backproplab dashboard"))
    page = _asset("index.html")
    replacements = {
        "{{TITLE}}": html.escape(title),
        "{{CSS}}": _asset("vendor/uPlot.min.css") + "\n" + _asset("app.css"),
        "{{UPLOT}}": _asset("vendor/uPlot.iife.min.js"),
        "{{APP}}": _asset("app.js"),
        "{{CONFIG}}": _script_json(config),
        "{{UPLOTVERSION}}": UPLOT_VERSION,
        "{{DATA}}": _script_json(state) if state is not None else "null",
    }
    # one pass over the template, so that inlined code can never be mistaken for a marker
    return re.sub(r"\{\{[A-Z]+\}\}", lambda match: replacements.get(match.group(0), match.group(0)), page)


def write_replay(state: dict[str, Any], path: str | os.PathLike[str]) -> str:
    """Write ``state`` to ``path``: self-contained HTML (data, code and charts inlined; no network
    request; opens from ``file://``), or the raw JSON when the name ends in ``.json``."""
    check_output_path(path, "export")
    state = {**state, "meta": {**state.get("meta", {}), "mode": "replay"}}
    if os.fspath(path).lower().endswith(".json"):
        return atomic_write(path, json.dumps(state, allow_nan=False, default=str))
    return atomic_write(path, build_page(state, mode="replay"))
