"""The playground's server: sessions, messages, limits, expiry, export (Starlette TestClient)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette warns that httpx is deprecated for TestClient
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chainrule.playground import limits
from chainrule.playground.server import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def receive_until(ws, kind: str, limit: int = 200) -> dict:
    """Messages until one of type ``kind`` (others are skipped)."""
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message among {limit}")


def open_session(ws) -> dict:
    hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert [ws.receive_json()["type"] for _ in range(3)] == ["config", "data", "frame"]
    return hello


def assert_alive(ws) -> None:
    ws.send_json({"type": "ping"})
    receive_until(ws, "pong")


def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/app.js" in page.text and "<canvas id=\"heatmap\"" in page.text
    assert "Content-Security-Policy" in page.headers
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    # only the package's own files, nothing else from the file system
    assert client.get("/static/..%2Fserver.py").status_code == 404
    assert client.get("/static/session.py").status_code == 404


def test_page_loads_nothing_from_outside(client):
    outside = re.compile(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//"""
                         r"""|url\(\s*["']?(https?:)?//|@import|fetch\(\s*["'`]https?:""",
                         re.IGNORECASE)
    for name in ("", "static/app.js", "static/style.css"):
        text = client.get(f"/{name}").text
        assert not outside.search(text), outside.search(text)


def test_session_hello_then_state(client):
    with client.websocket_connect("/ws") as ws:
        hello = open_session(ws)
        assert hello["limits"]["max_layers"] == limits.MAX_LAYERS
        assert "r" in hello["choices"]["features"]
        assert len(hello["session"]) >= 20  # unguessable id
        assert hello["session"] in client.app.state.manager.entries


def test_each_tab_is_its_own_session(client):
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        sa, sb = open_session(a)["session"], open_session(b)["session"]
        assert sa != sb
        a.send_json({"type": "config", "changes": {"hidden": [3]}})
        assert receive_until(a, "config")["config"]["hidden"] == [3]
        manager = client.app.state.manager
        assert manager.entries[sb].session.config.hidden == [4, 2]
    assert client.app.state.manager.entries == {}  # closed tabs end their sessions


def test_play_trains_and_loss_falls(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_json({"type": "config", "changes": {"steps_per_frame": 5}})
        first = receive_until(ws, "frame")
        ws.send_json({"type": "play"})
        assert receive_until(ws, "status")["playing"] is True
        frame = first
        deadline = time.monotonic() + 20
        while frame["epoch"] < 60 and time.monotonic() < deadline:
            frame = receive_until(ws, "frame")
        ws.send_json({"type": "pause"})
        assert frame["epoch"] >= 60
        assert frame["test_loss"] < first["test_loss"] - 0.1
        assert frame["test_acc"] > 0.8


def test_step_reset_and_live_learning_rate(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_json({"type": "step"})
        assert receive_until(ws, "frame")["epoch"] == 1
        ws.send_json({"type": "step"})
        stepped = receive_until(ws, "frame")
        assert stepped["epoch"] == 2
        ws.send_json({"type": "config", "changes": {"learning_rate": 0.3}})
        assert receive_until(ws, "config")["rebuilt"] == "live"
        live = receive_until(ws, "frame")
        assert live["epoch"] == 2 and live["weights"] == stepped["weights"]
        ws.send_json({"type": "config", "changes": {"activation": "relu"}})
        assert receive_until(ws, "config")["rebuilt"] == "net"
        assert receive_until(ws, "frame")["epoch"] == 0
        ws.send_json({"type": "step"})
        receive_until(ws, "frame")
        ws.send_json({"type": "reset"})
        assert receive_until(ws, "frame")["epoch"] == 0


def test_points_add_remove_and_csv(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_json({"type": "add_point", "x": 1.5, "y": -2.0, "label": 1})
        data = receive_until(ws, "data")
        assert data["x"][-1] == [1.5, -2.0] and data["y"][-1] == 1 and data["train"][-1] == 1
        n = len(data["x"])
        ws.send_json({"type": "remove_point", "x": 1.5, "y": -2.0})
        assert len(receive_until(ws, "data")["x"]) == n - 1
        ws.send_json({"type": "csv", "text": "x1,x2,label\n0,0,0\n1,1,1\n2,-1,2\n-3,3,1\n"})
        cfg = receive_until(ws, "config")["config"]
        assert cfg["dataset"] == "custom" and cfg["num_classes"] == 3
        data = receive_until(ws, "data")
        assert data["x"] == [[0.0, 0.0], [1.0, 1.0], [2.0, -1.0], [-3.0, 3.0]]
        assert len(receive_until(ws, "frame")["weights"][-1]) == 3  # 3 output scores


def test_edit_weight_and_bias(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_json({"type": "set_weight", "layer": 0, "row": 1, "col": 0, "value": 2.5})
        assert receive_until(ws, "frame")["weights"][0][1][0] == 2.5
        ws.send_json({"type": "set_bias", "layer": 2, "row": 1, "value": -0.75})
        assert receive_until(ws, "frame")["biases"][2][1] == -0.75


def test_backprop_view_sends_an_svg_of_the_loss_graph(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_json({"type": "backprop", "index": 3})
        msg = receive_until(ws, "backprop")
        assert msg["index"] == 3 and msg["svg"].lstrip().startswith(("<svg", "<?xml"))
        assert "W1" in msg["svg"] and msg["loss"] > 0
        ws.send_json({"type": "step"})
        receive_until(ws, "frame")
        assert receive_until(ws, "backprop")["loss"] != msg["loss"]  # follows training
        ws.send_json({"type": "backprop", "index": None})
        ws.send_json({"type": "step"})
        receive_until(ws, "frame")
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"  # no backprop message any more


def test_hidden_layer_view(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_json({"type": "transform", "layer": 0, "x": 1, "y": 3})
        view = receive_until(ws, "frame")["transform"]
        assert (view["layer"], view["x"], view["y"]) == (0, 1, 3)
        assert len(view["points"]) == 400 and len(view["lines"]) == 22
        ws.send_json({"type": "config", "changes": {"hidden": [2]}})
        view = receive_until(ws, "frame")["transform"]
        assert (view["layer"], view["x"], view["y"]) == (0, 1, 1)  # clamped to the new net
        ws.send_json({"type": "transform", "layer": None})
        ws.send_json({"type": "step"})
        assert "transform" not in receive_until(ws, "frame")


@pytest.mark.parametrize("payload, needle", [
    ("not json", "not valid JSON"),
    ("[1, 2]", '"type"'),
    ('{"type": "rm -rf"}', "unknown message type"),
    ('{"type": "__class__"}', "unknown message type"),
    ('{"type": "config", "changes": {"hidden": [8, 8, 8, 8, 8, 8, 8]}}', "hidden"),
    ('{"type": "config", "changes": {"hidden": [9]}}', "hidden: 9 is outside"),
    ('{"type": "config", "changes": {"hidden": [0]}}', "hidden: 0 is outside"),
    ('{"type": "config", "changes": {"learning_rate": "1; import os"}}', "learning_rate"),
    ('{"type": "config", "changes": {"learning_rate": 1e999}}', "learning_rate"),
    ('{"type": "config", "changes": {"activation": "__import__"}}', "activation"),
    ('{"type": "config", "changes": {"code": "print(1)"}}', "unknown field"),
    ('{"type": "config", "changes": {"num_points": 100000}}', "num_points"),
    ('{"type": "config", "changes": [1]}', "expected an object"),
    ('{"type": "config", "changes": {"features": []}}', "features"),
    ('{"type": "add_point", "x": 99, "y": 0, "label": 0}', "x: 99.0 is outside"),
    ('{"type": "add_point", "x": 0, "y": 0, "label": 7}', "label"),
    ('{"type": "set_weight", "layer": 5, "row": 0, "col": 0, "value": 1}', "layer"),
    ('{"type": "set_weight", "layer": 0, "row": 0, "col": 0, "value": "x"}', "value"),
    ('{"type": "backprop", "index": -1}', "index"),
    ('{"type": "transform", "layer": 0, "x": 0, "y": 4}', "y neuron"),
    ('{"type": "transform", "layer": 2, "x": 0, "y": 0}', "layer"),
    ('{"type": "csv", "text": "x1,x2,label\\n1,2\\n"}', "csv line 2"),
    ('{"type": "csv", "text": "1,2,0\\n9,0,1\\n"}', "outside"),
    ('{"type": "csv", "text": "1,2,0\\n1,0,nan\\n"}', "finite"),
])
def test_bad_messages_get_an_error_and_the_session_lives_on(client, payload, needle):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_text(payload)
        err = receive_until(ws, "error")
        assert needle in err["message"]
        assert_alive(ws)


def test_binary_and_oversized_messages_are_refused(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        ws.send_bytes(b"\x00\x01")
        assert "text message" in receive_until(ws, "error")["message"]
        big = json.dumps({"type": "csv", "text": "0,0,0\n" * (limits.MAX_MESSAGE_BYTES // 6 + 10)})
        ws.send_text(big)
        assert "too large" in receive_until(ws, "error")["message"]
        csv = "x1,x2,label\n" + "0.5,0.5,1\n" * (limits.MAX_CSV_BYTES // 10 + 1)
        ws.send_json({"type": "csv", "text": csv})
        assert "larger than" in receive_until(ws, "error")["message"]
        assert_alive(ws)


def test_rate_limit(client):
    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        for _ in range(limits.RATE_MESSAGES + 20):
            ws.send_json({"type": "ping"})
        kinds = [ws.receive_json() for _ in range(limits.RATE_MESSAGES + 20)]
        errors = [m for m in kinds if m["type"] == "error"]
        assert errors and "too many messages" in errors[0]["message"]
        assert sum(m["type"] == "pong" for m in kinds) == limits.RATE_MESSAGES


def test_session_expires_when_idle():
    app = create_app(session_ttl=0.3)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        sid = open_session(ws)["session"]
        time.sleep(0.5)
        ws.send_json({"type": "step"})
        assert "expired" in receive_until(ws, "expired")["message"]
        assert sid not in app.state.manager.entries
        assert client.get(f"/export/{sid}/checkpoint").status_code == 404


def test_sweeper_expires_idle_sessions():
    app = create_app(session_ttl=0.2)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        open_session(ws)
        deadline = time.monotonic() + 5
        while app.state.manager.entries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.manager.entries == {}


def test_session_cap():
    with TestClient(create_app(max_sessions=1)) as client:
        with client.websocket_connect("/ws") as first:
            open_session(first)
            with client.websocket_connect("/ws") as second:
                err = second.receive_json()
                assert err["type"] == "error" and "already runs 1 sessions" in err["message"]
                with pytest.raises(WebSocketDisconnect):
                    second.receive_json()
            assert_alive(first)


def test_export_unknown_session_or_kind(client):
    assert client.get("/export/nope/checkpoint").status_code == 404
    with client.websocket_connect("/ws") as ws:
        sid = open_session(ws)["session"]
        assert client.get(f"/export/{sid}/weights.exe").status_code == 404


def test_export_checkpoint_loads_and_evaluates(client, tmp_path, monkeypatch):
    from chainrule.cli import main as cli_main
    from chainrule.train.checkpoint import load_checkpoint

    with client.websocket_connect("/ws") as ws:
        sid = open_session(ws)["session"]
        ws.send_json({"type": "config", "changes": {"features": ["x1", "x2", "x1sq", "r"],
                                                     "steps_per_frame": 10}})
        receive_until(ws, "frame")
        for _ in range(3):
            ws.send_json({"type": "step"})
            receive_until(ws, "frame")
        ckpt_bytes = client.get(f"/export/{sid}/checkpoint").content
        csv_text = client.get(f"/export/{sid}/data").text
        session = client.app.state.manager.entries[sid].session
        (tmp_path / "playground.safetensors").write_bytes(ckpt_bytes)
        (tmp_path / "playground_points.csv").write_text(csv_text)
        ckpt = load_checkpoint(tmp_path / "playground.safetensors")
        assert ckpt.config["input_features"] == ["x1", "x2", "x1sq", "r"]
        assert ckpt.epoch == 3 and ckpt.class_names == ["0", "1"]
        import chainrule as cr

        with cr.no_grad():
            mine = session.model(cr.tensor(session.phi)).data
            theirs = ckpt.model(cr.tensor(session.phi)).data
        np.testing.assert_allclose(theirs, mine, rtol=1e-6)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["evaluate", "playground.safetensors", "--json"]) == 0


def test_export_script_runs(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        sid = open_session(ws)["session"]
        ws.send_json({"type": "config", "changes": {
            "hidden": [3], "features": ["x1", "x2", "sinx1", "theta"], "optimizer": "adam",
            "regularization": "l1", "reg_rate": 0.001, "learning_rate": 0.03}})
        receive_until(ws, "frame")
        text = client.get(f"/export/{sid}/script").text
    path = tmp_path / "playground_model.py"
    path.write_text(text)
    result = subprocess.run([sys.executable, str(path), "--epochs", "10"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("epoch   10") and "test acc" in last


def test_cli_registers_playground():
    from chainrule.cli import build_parser

    args = build_parser().parse_args(["playground", "--port", "9000"])
    assert args.host == "127.0.0.1" and args.port == 9000 and callable(args.func)
    help_text = subprocess.run([sys.executable, "-m", "chainrule", "playground", "--help"],
                               capture_output=True, text=True, timeout=60,
                               cwd=Path(__file__).parent).stdout
    assert "127.0.0.1" in help_text


def test_training_failure_pauses_the_session_not_the_server(client, monkeypatch):
    from chainrule.playground.session import Session

    def broken(self, epochs=1):
        raise FloatingPointError("overflow in the update")

    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        monkeypatch.setattr(Session, "step", broken)
        ws.send_json({"type": "play"})
        assert "training stopped: overflow" in receive_until(ws, "error")["message"]
        assert receive_until(ws, "status")["playing"] is False
        assert_alive(ws)


def test_command_binds_localhost_and_prints_the_url():
    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert page.status_code == 200 and "chainrule playground" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_other_origins_get_no_session(client):
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    assert client.app.state.manager.entries == {}
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        open_session(ws)


def test_an_internal_error_costs_one_reply_not_the_session(client, monkeypatch):
    from chainrule.playground.session import Session

    def broken(self):
        raise RuntimeError("something unexpected")

    with client.websocket_connect("/ws") as ws:
        open_session(ws)
        monkeypatch.setattr(Session, "reset_net", broken)
        ws.send_json({"type": "reset"})
        assert "internal error (RuntimeError" in receive_until(ws, "error")["message"]
        monkeypatch.undo()
        assert_alive(ws)
