"""Helpers for the playground's browser tests: a server in a thread, polling, screenshots.

The page's Content-Security-Policy forbids ``wait_for_function`` (it evaluates strings), so
the tests poll JavaScript expressions with :func:`wait_for`. With ``CHAINRULE_SCREENSHOTS=DIR``
set, :func:`shot` saves pictures in ``DIR`` (that is how ``docs/img/playground-*.png`` are
made).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("CHAINRULE_SCREENSHOTS")


@contextmanager
def serve() -> Iterator[str]:
    """A playground server on a free port of 127.0.0.1, in a thread; yields its URL."""
    import uvicorn

    from chainrule.playground.server import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the playground server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def open_page(browser: Any, url: str, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A fresh tab (its own session) on the playground; it must log no console error."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    wait_for(pg, "window.playground && window.playground.frame !== null")
    try:
        yield pg
    finally:
        context.close()
    assert errors == [], f"console errors: {errors}"


def wait_for(pg: Any, expression: str, timeout: float = 15.0) -> Any:
    """Poll a JavaScript expression until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pg.evaluate(expression)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {expression}")


def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def sync(pg: Any) -> None:
    """Wait until the server has answered everything the page sent so far: the server
    answers a connection's messages in order, so its reply to a ping comes after them."""
    pongs = pg.evaluate("window.playground.pongs")
    pg.evaluate("window.playground.socket.send(JSON.stringify({type: 'ping'}))")
    wait_for(pg, f"window.playground.pongs > {pongs}")


def epoch(pg: Any) -> int:
    return int(pg.text_content("#epoch"))


def shot(pg: Any, name: str, selector: str | None = None, **kwargs: Any) -> None:
    """Save ``playground-NAME.png`` (the page, or the element ``selector``) when asked to."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        target = pg.locator(selector) if selector else pg
        target.screenshot(path=str(Path(SHOTS) / f"playground-{name}.png"), **kwargs)
