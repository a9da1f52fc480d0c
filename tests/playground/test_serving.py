"""playground.serve: the address to open, port 0, and the uvicorn server it runs."""

from __future__ import annotations

import socket
import sys

import pytest

import chainrule as cr
from chainrule.playground import limits, serve
from chainrule.playground.serving import free_port, server_url

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")


def test_the_url_puts_an_ipv6_host_in_brackets() -> None:
    assert server_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert server_url("0.0.0.0", 1) == "http://0.0.0.0:1/"
    assert server_url("::1", 8080) == "http://[::1]:8080/"


def test_a_free_port_can_be_bound() -> None:
    port = free_port("127.0.0.1")
    assert 0 < port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.fixture
def started(monkeypatch) -> list:
    """What happens, in order, instead of running the server: ``("ready", url)`` from
    ``on_ready`` and ``("run", config)`` from ``uvicorn.Server.run``."""
    events: list = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: events.append(("run", self.config)))
    return events


def test_port_zero_is_resolved_before_the_address_is_announced(started: list) -> None:
    serve("127.0.0.1", 0, on_ready=lambda url: started.append(("ready", url)))
    (ready, url), (run, config) = started
    assert (ready, run) == ("ready", "run")  # the address first, then the server
    assert config.host == "127.0.0.1" and 0 < config.port <= 65535
    assert url == f"http://127.0.0.1:{config.port}/"
    assert config.ws_max_size == limits.MAX_MESSAGE_BYTES + 1024
    assert config.log_level == "warning"
    assert callable(config.app)  # the playground's Starlette app


def test_a_given_port_is_used_as_is_and_on_ready_is_optional(started: list) -> None:
    serve("::1", 8123)
    ((run, config),) = started
    assert run == "run" and (config.host, config.port) == ("::1", 8123)


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_a_port_out_of_range_is_refused_before_anything_starts(started: list, port: int) -> None:
    with pytest.raises(cr.ConfigError, match=f"--port must be in 0..65535, got {port}"):
        serve("127.0.0.1", port, on_ready=started.append)
    assert started == []


def test_without_uvicorn_the_error_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(cr.ChainruleError, match=r"pip install 'chainrule\[playground\]'"):
        serve()
