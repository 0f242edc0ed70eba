"""The dashboard's web server: Starlette on uvicorn in a daemon thread, bound to 127.0.0.1.

Why this stack: uvicorn serves server-sent events (``sse-starlette``) from one event loop, with no
thread per client and a clean shutdown; the standard library's ``http.server`` would need a thread
per open stream and hand-written event framing. It is the ``dashboard`` extra; the core never
imports it.

Every route but ``/static/*`` (vendored, data-free files) needs the session token from the page
URL; a request without it gets 403. State-changing requests are POSTs with the token and a JSON body
that the controller validates; a bad parameter gets 400 and a one-line message the page shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import threading
import webbrowser
from typing import Any

from .page import STATIC, build_page
from .recorder import Recorder, frame_payload

__all__ = ["DashboardServer", "require_server_stack", "INSTALL_HINT"]

INSTALL_HINT = "the dashboard needs its server stack: pip install 'backproplab[dashboard]'"
PUSH_INTERVAL = 0.25  # seconds between pushes to a page; training never waits for them
logger = logging.getLogger(__name__)


def require_server_stack() -> None:
    """Raise ImportError with the one-line install hint when Starlette, uvicorn or sse-starlette is missing."""
    try:
        import sse_starlette  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def free_socket(port: int | None) -> socket.socket:
    """A listening socket on 127.0.0.1 (never another interface): ``port``, or a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


class _Cursor:
    """What one page has already received."""

    def __init__(self) -> None:
        self.frame_seq = -1
        self.series: dict[str, tuple[int, int]] = {}
        self.findings_version = -1
        self.meta_version = -1
        self.run = 0


def updates(recorder: Recorder, cursor: _Cursor, meta_version: int) -> dict[str, Any]:
    """The part of the recorder a page does not have yet, and the run's status."""
    out: dict[str, Any] = {"status": dict(recorder.status)}
    if cursor.run != recorder.run:  # the recorder started over: the page drops what it holds
        cursor.__init__()  # type: ignore[misc]
        cursor.run = recorder.run
        out["reset"] = True
    if cursor.meta_version != meta_version:
        out["meta"] = recorder.meta
        cursor.meta_version = meta_version
    frames = [f for f in list(recorder.frames) if f["seq"] > cursor.frame_seq]
    if frames:
        out["frames"] = [frame_payload(f) for f in frames]
        out["keep"] = [f["seq"] for f in list(recorder.frames)]
        cursor.frame_seq = frames[-1]["seq"]
    series_out: dict[str, Any] = {}
    all_series = {"loss": recorder.loss, **recorder.epoch_series}
    for name, series in list(all_series.items()):
        points = series.points
        known = cursor.series.get(name)
        if known is None or known[0] != series.version:
            series_out[name] = {"replace": True, "points": _pts(points)}
        elif len(points) > known[1]:
            series_out[name] = {"replace": False, "points": _pts(points[known[1]:])}
        else:
            continue
        cursor.series[name] = (series.version, len(points))
    if series_out:
        out["series"] = series_out
    if cursor.findings_version != recorder.findings_version:
        out["findings"] = recorder.findings
        cursor.findings_version = recorder.findings_version
    return out


def _pts(points: list[tuple[int, float]]) -> list[list[Any]]:
    from .recorder import _points

    return _points(points)


class DashboardServer:
    """Serve one recorder (and optionally a controller) on 127.0.0.1 from a daemon thread.

    Parameters
    ----------
    recorder : Recorder
    controller : object with ``handle(action, params) -> dict``, optional
        Receives the page's POSTed controls; raises ValueError for a bad parameter.
    port : int, optional
        A free port when omitted.
    replay : dict, optional
        Serve this replay state (inlined in the page) instead of a live recorder.
    """

    def __init__(self, recorder: Recorder, controller: Any = None, port: int | None = None,
                 replay: dict[str, Any] | None = None) -> None:
        require_server_stack()
        self.recorder = recorder
        self.replay = replay
        self.controller = controller
        self.token = secrets.token_urlsafe(18)
        self.meta_version = 0
        self._sock = free_socket(port)
        self.port = self._sock.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def touch_meta(self) -> None:
        """Tell connected pages that ``recorder.meta`` changed (e.g. the playground's new network)."""
        self.meta_version += 1

    # ------------------------------------------------------------------ app
    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, JSONResponse, Response
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles

        def allowed(request: Any) -> bool:
            return secrets.compare_digest(str(request.query_params.get("token", "")), self.token)

        def refused() -> Response:
            return JSONResponse({"error": "forbidden: this request lacks the session token from the page URL"},
                                status_code=403)

        async def index(request: Any) -> Response:
            if not allowed(request):
                return HTMLResponse("<!DOCTYPE html><title>403</title><p>forbidden: open the URL printed in the "
                                    "terminal; it carries the session token</p>", status_code=403)
            if self.replay is not None:
                return HTMLResponse(build_page(self.replay, mode="replay", token=self.token))
            mode = self.recorder.meta.get("mode", "live")
            return HTMLResponse(build_page(None, mode=mode, token=self.token, title=self.recorder.meta.get("title")))

        async def state(request: Any) -> Response:
            if not allowed(request):
                return refused()
            return Response(json.dumps(self.recorder.state(), allow_nan=False, default=str),
                            media_type="application/json")

        async def stream(request: Any) -> Response:
            if not allowed(request):
                return refused()
            from sse_starlette.sse import EventSourceResponse

            return EventSourceResponse(self._events(request), ping=15)

        async def control(request: Any) -> Response:
            if not allowed(request):
                return refused()
            if self.controller is None:
                return JSONResponse({"error": "this dashboard has no controls"}, status_code=400)
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                return JSONResponse({"error": "the request body is not JSON"}, status_code=400)
            if not isinstance(body, dict) or not isinstance(body.get("action"), str):
                return JSONResponse({"error": "expected a JSON object with an 'action' string"}, status_code=400)
            params = body.get("params", {})
            if not isinstance(params, dict):
                return JSONResponse({"error": "params must be a JSON object"}, status_code=400)
            try:
                result = await asyncio.to_thread(self.controller.handle, body["action"], params)
            except (ValueError, TypeError) as error:
                return JSONResponse({"error": str(error).splitlines()[0]}, status_code=400)
            self.touch_meta()
            return JSONResponse({"ok": True, **(result or {})})

        routes = [Route("/", index), Route("/api/state", state), Route("/api/stream", stream),
                  Route("/api/control", control, methods=["POST"]), Mount("/static", StaticFiles(directory=STATIC))]
        return Starlette(routes=routes)

    async def _events(self, request: Any) -> Any:
        cursor = _Cursor()
        while not self._stopping:
            if await request.is_disconnected():
                break  # the page closed: only this stream ends, the run goes on
            update = updates(self.recorder, cursor, self.meta_version)
            yield {"event": "update", "data": json.dumps(update, allow_nan=False, default=str)}
            await asyncio.sleep(PUSH_INTERVAL)

    # ------------------------------------------------------------------ lifecycle
    def start(self, open_browser: bool = False) -> None:
        import uvicorn

        config = uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="backproplab-dashboard", daemon=True)
        self._thread.start()
        if open_browser:
            try:
                webbrowser.open(self.url)
            except webbrowser.Error:  # no browser here; the URL is on the dashboard object
                logger.info("no browser to open; the dashboard is at %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._sock.close()
