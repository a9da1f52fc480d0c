"""Serve the playground with uvicorn: pick the port, say where to open it, run until Ctrl+C.

uvicorn (and Starlette, through :func:`~chainrule.playground.server.create_app`) are
imported only when :func:`serve` runs, so the rest of the playground works without them.
A port in use is reported (one line) before any address is announced; the server answers
only to the names it is bound to (:mod:`chainrule.playground.hosts`).

>>> serve("127.0.0.1", 0, on_ready=print)        # doctest: +SKIP
http://127.0.0.1:43817/
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Iterable

from chainrule.errors import ChainruleError, ConfigError
from chainrule.playground import limits

__all__ = ["check_port_free", "free_port", "serve", "server_url"]


def server_url(host: str, port: int) -> str:
    """The address a browser opens for ``host:port``; an IPv6 host goes in brackets.

    >>> server_url("127.0.0.1", 8000), server_url("::1", 8080)
    ('http://127.0.0.1:8000/', 'http://[::1]:8080/')
    """
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def free_port(host: str) -> int:
    """A TCP port free on ``host`` now: the one the system gives a socket bound to port 0."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    """A :class:`ConfigError` if another program listens on ``host:port`` already.

    Bound the way uvicorn binds (``SO_REUSEADDR``), then released; only "address in use"
    is reported here, any other failure is left to the server to report.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {port} on {host} is in use by another program: "
                                  f"choose another with --port (or --port 0 for a free one)"
                                  ) from None


class _QuietDisconnects(logging.Filter):
    """Drops asyncio's "socket.send() raised exception.": a client that went away mid-send,
    which the server handles (its session ends), not a fault to report."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("socket.send() raised exception")


def serve(host: str = "127.0.0.1", port: int = 8000, *,
          on_ready: Callable[[str], object] | None = None,
          allow_hosts: Iterable[str] = ()) -> None:
    """Serve the playground on ``host:port`` until interrupted (Ctrl+C ends it).

    ``port`` 0 picks a free port; a port in use is refused before the address is
    announced. ``on_ready(url)`` is called with the address to open (:func:`server_url`)
    once the port is known, before the server starts. The default host, 127.0.0.1, is
    reachable from this machine only. Requests are answered only when their ``Host`` is a
    name of ``host`` (or one of ``allow_hosts``): a web page cannot reach the playground
    through DNS rebinding.
    """
    try:
        import uvicorn
    except ImportError as e:
        raise ChainruleError(
            "the playground needs starlette and uvicorn: pip install 'chainrule[playground]'"
        ) from e
    from chainrule.playground.hosts import allowed_hosts
    from chainrule.playground.server import create_app

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    if port == 0:
        port = free_port(host)
    else:
        check_port_free(host, port)
    app = create_app(allowed_hosts=allowed_hosts(host, allow_hosts),
                     any_ip=host.strip("[]") in ("", "0.0.0.0", "::"))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            ws_max_size=limits.MAX_MESSAGE_BYTES + 1024)
    quiet = logging.getLogger("asyncio")
    if not any(isinstance(f, _QuietDisconnects) for f in quiet.filters):
        quiet.addFilter(_QuietDisconnects())
    if on_ready is not None:
        on_ready(server_url(host, port))
    uvicorn.Server(config).run()
