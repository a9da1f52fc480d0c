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

Training runs in this process with chainrule, but never on the event loop: while a session
plays, a task has a worker thread step up to ``steps_per_frame`` epochs (at most
``FRAME_BUDGET_S`` of work) and compute one frame (one batched forward pass), sends it, and
waits for the next. Every call that trains or draws goes through the session's
:class:`~chainrule.playground.work.SessionWorker`: one at a time, within the session's work
budget, so one tab cannot stall the others or the page itself. A diverging session (its
loss NaN) pauses, says so, and recovers with Reset or a new setting. Nothing the page sends
is ever executed: every message is parsed as JSON and checked field by field against
:mod:`chainrule.playground.limits`; a bad one gets an ``error`` reply and the session goes
on. A WebSocket opened by a page of another origin (another web site in the same browser)
is refused, and so is any request whose ``Host`` is not a name the server is bound to (DNS
rebinding; :mod:`chainrule.playground.hosts`). A client that goes away mid-send ends its
session quietly.

>>> from starlette.testclient import TestClient
>>> with TestClient(create_app()).websocket_connect("/ws") as ws:   # doctest: +SKIP
...     ws.receive_json()["type"]
'hello'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from chainrule.playground import limits
from chainrule.playground.config import ACTIVATIONS, OPTIMIZERS
from chainrule.playground.datasets import CLASSIFICATION_DATASETS, FEATURES, REGRESSION_DATASETS
from chainrule.playground.hosts import HostCheck
from chainrule.playground.limits import LimitError, RateLimiter
from chainrule.playground.manager import Entry, SessionManager
from chainrule.playground.session import Session

__all__ = ["FRAME_INTERVAL_S", "SessionManager", "create_app"]

#: Shortest time between two frames of a playing session (caps the frame rate at 30/s).
FRAME_INTERVAL_S = 1 / 30
#: Longest time one frame may spend training before it is sent (keeps the frames coming).
FRAME_BUDGET_S = 0.1
#: Shortest time between two backprop-view updates while training runs.
BACKPROP_INTERVAL_S = 1.0
#: Received messages waiting for their turn, in bytes (two of the largest messages).
MAX_QUEUED_BYTES = 2 * limits.MAX_MESSAGE_BYTES


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
    *, session_ttl: float = limits.SESSION_TTL_S, max_sessions: int = limits.MAX_SESSIONS,
    allowed_hosts: Iterable[str] | None = None, any_ip: bool = False,
) -> Any:
    """The Starlette application (one :class:`SessionManager` and worker pool per app).

    ``allowed_hosts``: the ``Host`` names it answers to (``any_ip``: and every IP address;
    :func:`~chainrule.playground.hosts.allowed_hosts` computes them for a bind address);
    ``None`` checks no ``Host`` (tests, or a proxy in front that does).
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

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
        if kind == "checkpoint":  # in the session's worker: never beside a training step
            body = await entry.worker.run(exporter.checkpoint_bytes, entry.session)
            return Response(body, media_type="application/octet-stream", headers={
                "Content-Disposition": 'attachment; filename="playground.safetensors"'})
        if kind == "script":
            body = (await entry.worker.run(exporter.script, entry.session)).encode("utf-8")
            return Response(body, media_type="text/x-python; charset=utf-8", headers={
                "Content-Disposition": 'attachment; filename="playground_model.py"'})
        if kind == "data":
            body = (await entry.worker.run(exporter.points_csv, entry.session)).encode("utf-8")
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
        tasks = [asyncio.create_task(conn.run_training()),
                 asyncio.create_task(conn.run_messages())]
        try:
            await conn.send({"type": "hello", "session": sid, "limits": limits.public(),
                             "choices": _choices()})
            await conn.send_all()
            # Always reading, even while a message's work waits for the session's budget: a
            # client that goes away is noticed at once, and nothing more is sent to it.
            while not conn.closed:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await conn.enqueue(message)
        except Exception:  # the client went away mid-send: its session just ends
            pass
        finally:
            conn.closed = True
            entry.playing = False
            entry.wake.set()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
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
            manager.pool.shutdown(wait=False, cancel_futures=True)

    middleware = [] if allowed_hosts is None else [
        Middleware(HostCheck, hosts=list(allowed_hosts), any_ip=any_ip)]
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/export/{sid}/{kind}", export),
            WebSocketRoute("/ws", socket),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.manager = manager
    return app


class _Connection:
    """One tab's WebSocket: parses its messages and runs its training task.

    The session is only ever touched in its worker (:meth:`work`); the event loop parses,
    checks and sends.
    """

    def __init__(self, websocket: Any, manager: SessionManager, sid: str, entry: Entry) -> None:
        self.websocket = websocket
        self.manager = manager
        self.sid = sid
        self.entry = entry
        self.rate = RateLimiter()
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.inbox_bytes = 0

    @property
    def session(self) -> Session:
        return self.entry.session

    async def work(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in this session's worker (off the event loop, within its budget)."""
        return await self.entry.worker.run(fn, *args)

    async def send(self, payload: dict[str, Any] | str) -> None:
        if self.closed:
            return
        text = payload if isinstance(payload, str) else _encode(payload)
        async with self.send_lock:
            await self.websocket.send_text(text)

    async def send_many(self, payloads: list[Any]) -> None:
        for payload in payloads:
            await self.send(payload)

    async def _try_send(self, payload: dict[str, Any] | str) -> bool:
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
        await self.send_many(await self.work(
            lambda: [_encode(self.session.points()), _encode(self.session.frame())]))

    async def enqueue(self, message: dict[str, Any]) -> None:
        """Queue a received message for :meth:`run_messages`; at most
        ``MAX_QUEUED_BYTES`` wait at once (more are dropped with an ``error`` reply)."""
        size = len(message.get("text") or message.get("bytes") or b"")
        if self.inbox_bytes + size > MAX_QUEUED_BYTES:
            await self.error("busy: the messages before this one are still being worked on; "
                             "this one was dropped")
            return
        self.inbox_bytes += size
        self.inbox.put_nowait(message)

    async def run_messages(self) -> None:
        """Handle the queued messages one after the other, in the order they came."""
        while not self.closed:
            message = await self.inbox.get()
            self.inbox_bytes -= len(message.get("text") or message.get("bytes") or b"")
            try:
                await self.handle(message)
            except Exception:  # the socket went away while replying: the reader ends it
                self.closed = True

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
            if self.closed:
                raise
            await self.error(f"{kind}: internal error ({type(e).__name__}: {e})")

    # ---- message handlers (one per type) --------------------------------------------
    async def on_ping(self, msg: dict[str, Any]) -> None:
        await self.send({"type": "pong"})

    async def on_config(self, msg: dict[str, Any]) -> None:
        rebuilt = await self.work(self.session.apply, msg.get("changes"))
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing, "rebuilt": rebuilt})
        if rebuilt == "data":
            await self.send(await self.work(self.session.points))
        await self._after_change()

    async def on_play(self, msg: dict[str, Any]) -> None:
        if self.session.diverged:
            raise LimitError("the network diverged (its loss is NaN): press Reset or change "
                             "a setting (a lower learning rate) to start again")
        self.entry.playing = True
        self.entry.wake.set()
        await self.send({"type": "status", "playing": True})

    async def on_pause(self, msg: dict[str, Any]) -> None:
        self.entry.playing = False
        await self.send({"type": "status", "playing": False})

    async def on_step(self, msg: dict[str, Any]) -> None:
        await self.work(self.session.step, 1)
        await self._after_change()

    async def on_reset(self, msg: dict[str, Any]) -> None:
        await self.work(self.session.reset_net)
        await self._after_change()

    async def on_regenerate(self, msg: dict[str, Any]) -> None:
        seed = msg.get("seed")
        if seed is not None:
            await self.work(self.session.apply, {"seed": seed})
        else:
            await self.work(self.session.regenerate)
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing})
        await self.send(await self.work(self.session.points))
        await self._after_change()

    async def on_add_point(self, msg: dict[str, Any]) -> None:
        await self.work(self.session.add_point, msg.get("x"), msg.get("y"), msg.get("label"))
        await self.send(await self.work(self.session.points))
        await self._after_change()

    async def on_remove_point(self, msg: dict[str, Any]) -> None:
        if await self.work(self.session.remove_point, msg.get("x"), msg.get("y")):
            await self.send(await self.work(self.session.points))
            await self._after_change()

    async def on_csv(self, msg: dict[str, Any]) -> None:
        await self.work(self.session.load_csv, msg.get("text"))
        self.entry.backprop_index = None
        await self.send({"type": "config", "config": self.session.config.to_dict(),
                         "playing": self.entry.playing, "rebuilt": "data"})
        await self.send(await self.work(self.session.points))
        await self._after_change()

    async def on_set_weight(self, msg: dict[str, Any]) -> None:
        await self.work(self.session.set_weight, msg.get("layer"), msg.get("row"),
                        msg.get("col"), msg.get("value"))
        await self._after_change()

    async def on_set_bias(self, msg: dict[str, Any]) -> None:
        await self.work(self.session.set_bias, msg.get("layer"), msg.get("row"),
                        msg.get("value"))
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
        await self.work(self.session.set_transform_view, msg.get("layer"), msg.get("x"),
                        msg.get("y"))
        await self.send(await self.work(self.session.frame))

    async def _after_change(self) -> None:
        index = self.entry.backprop_index
        if index is not None and index >= len(self.session.X):
            self.entry.backprop_index = None
        await self.send(await self.work(self.session.frame))
        if self.entry.backprop_index is not None:
            await self._send_backprop()

    async def _send_backprop(self) -> None:
        index = self.entry.backprop_index
        if index is None:
            return
        self.entry.backprop_sent = time.monotonic()
        await self.send(await self.work(self.session.backprop_graph, index))

    # ---- the training task ----------------------------------------------------------
    def _train_slice(self, backprop_index: int | None) -> list[str]:
        """In the worker: up to ``steps_per_frame`` epochs (``FRAME_BUDGET_S`` of work), then
        the frame (and the backprop view when due), encoded."""
        session = self.session
        started = time.perf_counter()
        for _ in range(session.config.steps_per_frame):
            session.step(1)
            if session.diverged or time.perf_counter() - started > FRAME_BUDGET_S:
                break
        out = [_encode(session.frame())]
        if backprop_index is not None:
            try:
                out.append(_encode(session.backprop_graph(backprop_index)))
            except Exception as e:
                out.append(_encode({"type": "error", "message": f"backprop view: {e}"}))
        return out

    async def run_training(self) -> None:
        """While playing: train a slice in the worker, send its frame, wait; while paused:
        wait for ``play``. A diverging session pauses and says so."""
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
            now = time.monotonic()
            due = entry.backprop_index is not None and now - entry.backprop_sent >= (
                BACKPROP_INTERVAL_S)
            if due:
                entry.backprop_sent = now
            try:
                payloads = await self.work(self._train_slice,
                                           entry.backprop_index if due else None)
            except Exception as e:  # a training failure pauses this session, never the server
                entry.playing = False
                await self._try_send({"type": "error", "message": f"training stopped: {e}"})
                await self._try_send({"type": "status", "playing": False})
                continue
            for payload in payloads:
                if not await self._try_send(payload):
                    return
            if self.session.diverged:
                entry.playing = False
                await self._try_send({"type": "error", "message": (
                    f"training diverged at epoch {self.session.epoch}: the loss is NaN; lower "
                    "the learning rate, then press Reset (or change a setting)")})
                await self._try_send({"type": "status", "playing": False, "diverged": True})
                continue
            elapsed = time.perf_counter() - started
            await asyncio.sleep(max(0.002, FRAME_INTERVAL_S - elapsed))


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))
