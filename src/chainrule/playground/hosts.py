"""Only the hosts the playground is bound to: a guard against DNS rebinding.

A web page on ``evil.example`` can make its own name resolve to ``127.0.0.1`` after it
loaded ("DNS rebinding"); the browser then lets that page talk to the playground as if it
were the same site. What gives it away is the ``Host`` header: ``evil.example:8000``.
:class:`HostCheck` (an ASGI middleware, for HTTP requests and WebSockets alike) accepts
only the names the server is reached by: for a loopback address ``localhost`` and the
loopback addresses; for all interfaces (``0.0.0.0``, ``::``) any IP address (an address
typed in is never a rebinding) plus this machine's names; for one address, that address.
``extra`` names (``--allow-host``) are added, e.g. for a reverse proxy.

>>> sorted(allowed_hosts("127.0.0.1"))
['127.0.0.1', '::1', 'localhost']
>>> host_of("[::1]:8000"), host_of("Example.org:80"), host_of("a b")
('::1', 'example.org', None)
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

__all__ = ["HostCheck", "allowed_hosts", "host_of"]

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def host_of(header: str | None) -> str | None:
    """The host name of a ``Host`` header (lower case, no port, IPv6 without brackets)."""
    if not header:
        return None
    text = header.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (text[end + 1:] and not text[end + 1:].startswith(":")):
            return None
        return text[1:end] or None
    name, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if port and not port.isdigit():
        return None
    if not name or any(c.isspace() or c in "/\\@?#" for c in name):
        return None
    return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _wildcard(bind: str) -> bool:
    return bind in ("", "0.0.0.0", "::")


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> set[str]:
    """The host names a server bound to ``bind`` answers to (see the module docstring)."""
    bind = bind.strip("[]").lower()
    names = {n.strip().lower() for n in extra if n.strip()}
    if _wildcard(bind):
        names |= _LOOPBACK_NAMES | {socket.gethostname().lower(), socket.getfqdn().lower()}
    elif bind == "localhost" or (_is_ip(bind) and ipaddress.ip_address(bind).is_loopback):
        names |= _LOOPBACK_NAMES | {bind}
    else:
        names.add(bind)
    return names


class HostCheck:
    """ASGI middleware: a request whose ``Host`` is not allowed gets 400 (a WebSocket: 403).

    ``any_ip``: also accept every IP address (a server bound to all interfaces).
    """

    def __init__(self, app: Any, hosts: Iterable[str], any_ip: bool = False) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}
        self.any_ip = any_ip

    def allows(self, header: str | None) -> bool:
        name = host_of(header)
        return name is not None and (name in self.hosts or (self.any_ip and _is_ip(name)))

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = None
        for key, value in scope.get("headers", ()):
            if key == b"host":
                header = value.decode("latin-1")
                break
        if self.allows(header):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting answers 403
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"unknown host: this server answers to the names it is bound to\n"
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
