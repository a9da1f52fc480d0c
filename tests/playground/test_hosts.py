"""The playground answers only to the names it is bound to (HTTP and WebSocket)."""

from __future__ import annotations

import socket
import warnings

import pytest

from chainrule.playground.hosts import HostCheck, allowed_hosts, host_of

pytest.importorskip("starlette")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chainrule.playground.server import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize(("header", "name"), [
    ("localhost:8000", "localhost"), ("127.0.0.1", "127.0.0.1"), ("[::1]:8000", "::1"),
    ("::1", "::1"), ("Evil.Example:80", "evil.example"), ("", None), (None, None),
    ("a b:80", None), ("[::1", None), ("[::1]x", None), ("host:port", None),
    ("user@host", None),
])
def test_host_of_a_header(header, name) -> None:
    assert host_of(header) == name


def test_allowed_names_follow_the_bind_address() -> None:
    assert allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts("[::1]") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts("192.0.2.7") == {"192.0.2.7"}
    wide = allowed_hosts("0.0.0.0", ["play.example"])
    assert {"localhost", socket.gethostname().lower(), "play.example"} <= wide
    check = HostCheck(None, wide, any_ip=True)
    assert check.allows("10.1.2.3:8000") and check.allows("[fe80::1]:8000")
    assert not check.allows("evil.example:8000")  # a rebound name, never an address


@pytest.fixture
def client():
    with TestClient(create_app(allowed_hosts=allowed_hosts("127.0.0.1")),
                    base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost.", ""])
def test_foreign_hosts_get_nothing(client, host) -> None:
    page = client.get("/", headers={"host": host})
    assert page.status_code == 400 and "playground" not in page.text
    assert client.get("/static/app.js", headers={"host": host}).status_code == 400
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            "/ws", headers={"host": host}) as ws:
        ws.receive_json()
    assert client.app.state.manager.entries == {}


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_its_own_names_are_served(client, host) -> None:
    assert client.get("/", headers={"host": host}).status_code == 200
    with client.websocket_connect("/ws", headers={"host": host}) as ws:
        assert ws.receive_json()["type"] == "hello"
