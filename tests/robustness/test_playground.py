"""The real playground server (``chainrule playground``) under load, attack and disconnects."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")

from tests.robustness.playground_load import SRC, get_page, measure, playground


def test_get_page_stays_fast_while_eight_sessions_train_flat_out() -> None:
    with playground() as (url, _):
        figures = measure(url, sessions=8, seconds=4.0, warmup=1.5)
    print(json.dumps(figures))
    assert figures["errors"] == []
    assert all(n >= 1 for n in figures["frames_per_session"])  # every session is answered
    assert sum(figures["epochs_per_session"]) >= 1  # and they train
    # The target is 100 ms; the bound is generous for a shared, loaded test machine. Before
    # training moved off the event loop one GET / took 9 s under this load.
    assert figures["median_ms"] < 250 and figures["p95_ms"] < 1000, figures


def _upgrade_status(url: str, host: str) -> int:
    """The HTTP status a WebSocket handshake to ``/ws`` with this ``Host`` gets."""
    address = url.split("//", 1)[1].rstrip("/")
    name, port = address.rsplit(":", 1)
    request = (f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection((name, int(port)), timeout=30) as sock:
        sock.sendall(request.encode())
        return int(sock.recv(4096).split(b" ", 2)[1])


def test_only_its_own_host_names_are_answered() -> None:
    with playground() as (url, proc):
        port = url.rsplit(":", 1)[1].rstrip("/")
        for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
            assert get_page(url, host=host)[0] == 200
            assert _upgrade_status(url, host) == 101
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.io:{port}"):
            assert get_page(url, host=host)[0] == 400   # DNS rebinding: refused
            assert _upgrade_status(url, host) == 403
        assert "Traceback" not in _stop(proc)


def test_a_busy_port_is_one_line_and_no_address() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "chainrule", "playground", "--port", str(port)],
            capture_output=True, text=True, timeout=60, env={"PYTHONPATH": SRC, "PATH": ""})
    assert result.returncode == 1
    assert result.stdout == ""  # no "open http://..." for a server that never ran
    assert result.stderr == (f"chainrule playground: error: port {port} on 127.0.0.1 is in "
                             "use by another program: choose another with --port (or --port "
                             "0 for a free one)\n")


def test_clients_that_vanish_mid_send_leave_no_traceback() -> None:
    from websockets.sync.client import connect

    with playground() as (url, proc):
        ws_url, origin = url.replace("http", "ws", 1) + "ws", url.rstrip("/")
        for flood in ({"type": "play"}, {"type": "backprop", "index": 3}, {"type": "step"}):
            with contextlib.suppress(Exception), connect(ws_url, origin=origin) as ws:
                ws.send(json.dumps({"type": "config", "changes": {"hidden": [8] * 6,
                                                                   "steps_per_frame": 50}}))
                for _ in range(20):
                    ws.send(json.dumps(flood))
                time.sleep(0.3)
                raw = ws.socket  # gone without a closing handshake, frames on their way
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                raw.close()
        time.sleep(1.5)
        assert get_page(url)[0] == 200
        log = _stop(proc)
    assert log == "", log


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    return proc.communicate(timeout=10)[1]
