"""The playground's web server: a Starlette app, one WebSocket and one training session per tab.

Routes:

- ``GET /`` the page; ``/static/...`` its JavaScript and CSS (plain files of this package);
- ``WS /ws`` the tab's session: JSON messages both ways (below);
- ``GET /export/{session}/checkpoint`` the trained model as a chainrule checkpoint;
- ``GET /export/{session}/data`` its points (as input features) for ``chainrule evaluate``;
- ``GET /export/{session}/script`` a Python script that rebuilds and retrains it.

Messages from the page (``{"type": ..., ...}``): ``config`` (``changes``: fields of
:class:`~chainrule.playground.config.Config`), ``play``, ``pause``, ``step``, ``reset``,
``regenerate``, ``add_point`` (``x``, ``y``, ``label``), ``remove_point`` (``x``, ``y``),
``csv`` (``text``), ``set_weight`` (``layer``, ``row``, ``col``, ``value``), ``set_bias``
(``layer``, ``row``, ``value``), ``backprop`` (``index`` of a point, or ``null`` to stop),
``transform`` (``layer``, ``x``, ``y``: neurons of a hidden layer, or ``layer: null``),
``ping``. Messages to the page: ``hello`` (session id, limits, choices), ``config``,
``data`` (the points), ``frame`` (heat maps, losses, weights), ``backprop`` (an SVG),
``error`` (``message``), ``expired``.

Training runs in this process with chainrule: while a session plays, a task steps
``steps_per_frame`` epochs, computes one frame (one batched forward pass) and sends it, then
yields to the event loop. Nothing the page sends is ever executed: every message is parsed
as JSON and checked field by field against :mod:`chainrule.playground.limits`; a bad one
gets an ``error`` reply and the session goes on. A WebSocket opened by a page of another
origin (another web site in the same browser) is refused.

>>> from starlette.testclient import TestClient
>>> with TestClient(create_app()).websocket_connect("/ws") as ws:   # doctest: +SKIP
...     ws.receive_json()["type"]
'hello'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from chainrule.playground import limits
from chainrule.playground.config import ACTIVATIONS, OPTIMIZERS, Config
from chainrule.playground.datasets import CLASSIFICATION_DATASETS, FEATURES, REGRESSION_DATASETS
from chainrule.playground.limits import LimitError, RateLimiter
from chainrule.playground.session import Session

__all__ = ["FRAME_INTERVAL_S", "SessionManager", "create_app"]

#: Shortest time between two frames of a playing session (caps the frame rate at 30/s).
FRAME_INTERVAL_S = 1 / 30
#: Longest time one frame may spend training before it is sent (keeps the server responsive).
FRAME_BUDGET_S = 0.25
#: Shortest time between two backprop-view updates while training runs.
BACKPROP_INTERVAL_S = 1.0


@dataclass
class Entry:
    """A live session and its bookkeeping."""

    session: Session
    last_seen: float = field(default_factory=time.monotonic)
    sockets: int = 0
    playing: bool = False
    backprop_index: int | None = None
    backprop_sent: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class SessionManager:
    """All sessions of one server, by their unguessable id; idle ones expire."""

    def __init__(self, ttl: float = limits.SESSION_TTL_S, max_sessions: int = limits.MAX_SESSIONS):
        self.ttl = ttl
        self.max_sessions = max_sessions
        self.entries: dict[str, Entry] = {}

    def create(self) -> tuple[str, Entry]:
        """A new session; a ``LimitError`` when ``max_sessions`` are alive even after expiry."""
        self.expire()
        if len(self.entries) >= self.max_sessions:
            raise LimitError(
                f"the server already runs {self.max_sessions} sessions; close a tab or try later"
            )
        sid = secrets.token_urlsafe(16)
        entry = Entry(Session(Config()))
        self.entries[sid] = entry
        return sid, entry

    def get(self, sid: str) -> Entry | None:
        entry = self.entries.get(sid)
        if entry is not None and self._expired(entry, time.monotonic()):
            self.remove(sid)
            return None
        return entry

    def remove(self, sid: str) -> None:
        entry = self.entries.pop(sid, None)
        if entry is not None:
            entry.playing = False
            entry.wake.set()

    def _expired(self, entry: Entry, now: float) -> bool:
        return now - entry.last_seen > self.ttl

    def expire(self) -> list[str]:
        """Remove every session idle for longer than ``ttl``; returns their ids."""
        now = time.monotonic()
        gone = [sid for sid, e in self.entries.items() if self._expired(e, now)]
        for sid in gone:
            self.remove(sid)
        return gone


def _static(name: str) -> bytes:
    return resources.files("chainrule.playground").joinpath("static", name).read_bytes()


def _choices() -> dict[str, Any]:
    return {
        "features": {name: label for name, (label, _) in FEATURES.items()},
        "classification_datasets": list(CLASSIFICATION_DATASETS),
        "regression_datasets": list(REGRESSION_DATASETS),
        "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS),
    }


def create_app(
    *, session_ttl: float = limits.SESSION_TTL_S, max_sessions: int = limits.MAX_SESSIONS
) -> Any:
    """The Starlette application (one :class:`SessionManager` per app)."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    manager = SessionManager(ttl=session_ttl, max_sessions=max_sessions)
    security_headers = {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    script = "text/javascript; charset=utf-8"
    types = {"index.html": "text/html; charset=utf-8", "app.js": script, "draw.js": script,
             "network.js": script, "style.css": "text/css; charset=utf-8"}

    async def index(request: Any) -> Response:
        return Response(_static("index.html"), media_type=types["index.html"],
                        headers=security_headers)

    async def static(request: Any) -> Response:
        name = request.path_params["name"]
        if name not in types or name == "index.html":
            return Response("not found", status_code=404)
        return Response(_static(name), media_type=types[name], headers=security_headers)

    async def export(request: Any) -> Response:
        from chainrule.playground import export as exporter

        entry = manager.get(request.path_params["sid"])
        if entry is None:
            return JSONResponse({"error": "no such session (it may have expired)"},
                                status_code=404)
        entry.last_seen = time.monotonic()
        kind = request.path_params["kind"]
        if kind == "checkpoint":
            body = exporter.checkpoint_bytes(entry.session)
            return Response(body, media_type="application/octet-stream", headers={
                "Content-Disposition": 'attachment; filename="playground.safetensors"'})
        if kind == "script":
            body = exporter.script(entry.session).encode("utf-8")
            return Response(body, media_type="text/x-python; charset=utf-8", headers={
                "Content-Disposition": 'attachment; filename="playground_model.py"'})
        if kind == "data":
            body = exporter.points_csv(entry.session).encode("utf-8")
            return Response(body, media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{exporter.DATA_NAME}"'})
        return JSONResponse({"error": f"unknown export {kind[:40]!r}"}, status_code=404)

    async def socket(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != websocket.headers.get("host"):
            # Another web site's page in the user's browser: it gets no session here.
            await websocket.close(code=1008)
            return
        await websocket.accept()
        try:
            sid, entry = manager.create()
        except LimitError as e:
            await websocket.send_json({"type": "error", "message": str(e)})
            await websocket.close(code=1013)
            return
        conn = _Connection(websocket, manager, sid, entry)
        ticker = asyncio.create_task(conn.run_training())
        try:
            await conn.send({"type": "hello", "session": sid, "limits": limits.public(),
                             "choices": _choices()})
            await conn.send_all()
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await conn.handle(message)
                if conn.closed:
                    break
        except WebSocketDisconnect:
            pass
        finally:
            conn.closed = True
            entry.playing = False
            entry.wake.set()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ticker
            manager.remove(sid)

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(min(30.0, max(0.05, manager.ttl / 4)))
            manager.expire()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/export/{sid}/{kind}", export),
            WebSocketRoute("/ws", socket),
        ],
        lifespan=lifespan,
    )
    app.state.manager = manager
    return app


class _Connection:
    """One tab's WebSocket: parses its messages and runs its training task."""

    def __init__(self, websocket: Any, manager: SessionManager, sid: str, entry: Entry) -> None:
        self.websocket = websocket
        self.manager = manager
        self.sid = sid
        self.entry = entry
        self.rate = RateLimiter()
        self.closed = False
        self.send_lock = asyncio.Lock()

    @property
    def session(self) -> Session:
        return self.entry.session

    async def send(self, payload: dict[str, Any]) -> None:
        if self.closed:
            return
        text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
        async with self.send_lock:
            await self.websocket.send_text(text)

    async def _try_send(self, payload: dict[str, Any]) -> bool:
        """Send, or return False when the socket has gone (the reader then cleans up)."""
        try:
            await self.send(payload)
        except Exception:
            self.entry.playing = False
            return False
        return True

    async def error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def send_all(self) -> None:
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing})
        await self.send(self.session.points())
        await self.send(self.session.frame())

    async def handle(self, message: dict[str, Any]) -> None:
        """Check and apply one message; every problem becomes an ``error`` reply."""
        if self.manager.get(self.sid) is None:
            await self.send({"type": "expired", "message": "this session expired; reload the "
                             "page to start a new one"})
            self.closed = True
            await self.websocket.close(code=1000)
            return
        self.entry.last_seen = time.monotonic()
        if not self.rate.allow():
            await self.error(f"too many messages: at most {limits.RATE_MESSAGES} per "
                             f"{limits.RATE_WINDOW_S:g} s; this one was dropped")
            return
        text = message.get("text")
        if text is None:
            await self.error("expected a text message holding JSON")
            return
        if len(text) > limits.MAX_MESSAGE_BYTES:
            await self.error(f"message too large: {len(text)} bytes, the limit is "
                             f"{limits.MAX_MESSAGE_BYTES}")
            return
        try:
            payload = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            await self.error("message is not valid JSON")
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            await self.error('expected a JSON object with a "type"')
            return
        kind = payload["type"]
        handler = getattr(self, f"on_{kind}", None) if kind.isidentifier() else None
        if handler is None:
            await self.error(f"unknown message type {kind[:40]!r}")
            return
        try:
            await handler(payload)
        except (LimitError, ValueError, TypeError, KeyError, IndexError, ArithmeticError) as e:
            await self.error(f"{kind}: {e}")
        except Exception as e:  # a bug must cost one reply, not the tab's session
            await self.error(f"{kind}: internal error ({type(e).__name__}: {e})")

    # ---- message handlers (one per type) --------------------------------------------
    async def on_ping(self, msg: dict[str, Any]) -> None:
        await self.send({"type": "pong"})

    async def on_config(self, msg: dict[str, Any]) -> None:
        rebuilt = self.session.apply(msg.get("changes"))
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing, "rebuilt": rebuilt})
        if rebuilt == "data":
            await self.send(self.session.points())
        await self._after_change()

    async def on_play(self, msg: dict[str, Any]) -> None:
        self.entry.playing = True
        self.entry.wake.set()
        await self.send({"type": "status", "playing": True})

    async def on_pause(self, msg: dict[str, Any]) -> None:
        self.entry.playing = False
        await self.send({"type": "status", "playing": False})

    async def on_step(self, msg: dict[str, Any]) -> None:
        self.session.step(1)
        await self._after_change()

    async def on_reset(self, msg: dict[str, Any]) -> None:
        self.session.reset_net()
        await self._after_change()

    async def on_regenerate(self, msg: dict[str, Any]) -> None:
        seed = msg.get("seed")
        if seed is not None:
            self.session.apply({"seed": seed})
        else:
            self.session.regenerate()
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing})
        await self.send(self.session.points())
        await self._after_change()

    async def on_add_point(self, msg: dict[str, Any]) -> None:
        self.session.add_point(msg.get("x"), msg.get("y"), msg.get("label"))
        await self.send(self.session.points())
        await self._after_change()

    async def on_remove_point(self, msg: dict[str, Any]) -> None:
        if self.session.remove_point(msg.get("x"), msg.get("y")):
            await self.send(self.session.points())
            await self._after_change()

    async def on_csv(self, msg: dict[str, Any]) -> None:
        self.session.load_csv(msg.get("text"))
        self.entry.backprop_index = None
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing, "rebuilt": "data"})
        await self.send(self.session.points())
        await self._after_change()

    async def on_set_weight(self, msg: dict[str, Any]) -> None:
        self.session.set_weight(msg.get("layer"), msg.get("row"), msg.get("col"),
                                msg.get("value"))
        await self._after_change()

    async def on_set_bias(self, msg: dict[str, Any]) -> None:
        self.session.set_bias(msg.get("layer"), msg.get("row"), msg.get("value"))
        await self._after_change()

    async def on_backprop(self, msg: dict[str, Any]) -> None:
        index = msg.get("index")
        if index is None:
            self.entry.backprop_index = None
            return
        index = limits.check_int("index", index, 0, len(self.session.X) - 1)
        self.entry.backprop_index = index
        await self._send_backprop()

    async def on_transform(self, msg: dict[str, Any]) -> None:
        if msg.get("layer") is None:
            self.session.transform_view = None
            return
        self.session.set_transform_view(msg.get("layer"), msg.get("x"), msg.get("y"))
        await self.send(self.session.frame())

    async def _after_change(self) -> None:
        index = self.entry.backprop_index
        if index is not None and index >= len(self.session.X):
            self.entry.backprop_index = None
        await self.send(self.session.frame())
        if self.entry.backprop_index is not None:
            await self._send_backprop()

    async def _send_backprop(self) -> None:
        index = self.entry.backprop_index
        if index is None:
            return
        self.entry.backprop_sent = time.monotonic()
        await self.send(self.session.backprop_graph(index))

    # ---- the training task ----------------------------------------------------------
    async def run_training(self) -> None:
        """While playing: train, send a frame, yield; while paused: wait for ``play``."""
        entry = self.entry
        while not self.closed:
            if not entry.playing:
                entry.wake.clear()
                await entry.wake.wait()
                continue
            if self.manager.get(self.sid) is None:
                entry.playing = False
                await self.send({"type": "expired", "message": "this session expired; reload "
                                 "the page to start a new one"})
                continue
            started = time.perf_counter()
            try:
                for _ in range(self.session.config.steps_per_frame):
                    self.session.step(1)
                    if time.perf_counter() - started > FRAME_BUDGET_S:
                        break
                frame = self.session.frame()
            except Exception as e:  # a training failure pauses this session, never the server
                entry.playing = False
                await self._try_send({"type": "error", "message": f"training stopped: {e}"})
                await self._try_send({"type": "status", "playing": False})
                continue
            if not await self._try_send(frame):
                return
            now = time.monotonic()
            if entry.backprop_index is not None and now - entry.backprop_sent >= (
                BACKPROP_INTERVAL_S
            ):
                try:
                    payload = self.session.backprop_graph(entry.backprop_index)
                except Exception as e:
                    entry.backprop_index = None
                    payload = {"type": "error", "message": f"backprop view: {e}"}
                entry.backprop_sent = now
                if not await self._try_send(payload):
                    return
            elapsed = time.perf_counter() - started
            await asyncio.sleep(max(0.002, FRAME_INTERVAL_S - elapsed))
