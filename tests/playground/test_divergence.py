"""A diverging session shows NaN, pauses, and recovers with Reset or a new setting."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest

from chainrule.playground.config import Config
from chainrule.playground.limits import LimitError
from chainrule.playground.session import Session

pytest.importorskip("starlette")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from chainrule.playground.server import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The issue's example: regression, learning rate 10, ReLU.
DIVERGING = {"problem": "regression", "dataset": "plane", "learning_rate": 10,
             "activation": "relu"}


def _diverged_session() -> Session:
    s = Session(Config(**DIVERGING))
    s.step(10)
    assert s.diverged
    return s


def test_a_diverged_session_draws_nan_losses_and_refuses_to_train() -> None:
    s = _diverged_session()
    frame = s.frame()
    assert frame["diverged"] is True and frame["train_loss"] is None
    json.dumps(frame, allow_nan=False)  # every number finite: the frame can be sent
    with pytest.raises(LimitError, match=r"diverged.*Reset"):
        s.step(1)


@pytest.mark.parametrize("recover", [
    lambda s: s.reset_net(),
    lambda s: s.apply({"learning_rate": 0.03}),          # even a "live" change rebuilds
    lambda s: s.apply({"activation": "tanh"}),
    lambda s: s.apply({"num_points": 100}),
])
def test_reset_or_a_new_setting_recovers(recover) -> None:
    s = _diverged_session()
    recover(s)
    assert not s.diverged and s.epoch == 0 and s.frame()["diverged"] is False
    assert all(np.isfinite(p.data).all() for p in s.model.parameters())
    s.apply({"learning_rate": 0.03})
    s.step(2)
    assert not s.diverged and s.frame()["train_loss"] is not None


def receive_until(ws, kind: str, limit: int = 500) -> dict:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message")


def test_the_server_pauses_a_diverging_session_and_it_recovers() -> None:
    with TestClient(create_app()) as client, client.websocket_connect("/ws") as ws:
        for _ in range(4):
            ws.receive_json()
        ws.send_json({"type": "config", "changes": {**DIVERGING, "steps_per_frame": 5}})
        receive_until(ws, "frame")
        ws.send_json({"type": "play"})
        assert receive_until(ws, "status")["playing"] is True
        error = receive_until(ws, "error")
        assert "training diverged" in error["message"] and "Reset" in error["message"]
        status = receive_until(ws, "status")
        assert status == {"type": "status", "playing": False, "diverged": True}
        ws.send_json({"type": "play"})
        assert "diverged" in receive_until(ws, "error")["message"]
        ws.send_json({"type": "step"})
        assert "press Reset" in receive_until(ws, "error")["message"]
        ws.send_json({"type": "reset"})
        frame = receive_until(ws, "frame")
        assert frame["epoch"] == 0 and frame["diverged"] is False
        ws.send_json({"type": "config", "changes": {"learning_rate": 0.03}})
        receive_until(ws, "frame")
        ws.send_json({"type": "play"})
        assert receive_until(ws, "status")["playing"] is True
        deadline = time.monotonic() + 20
        frame = receive_until(ws, "frame")
        while frame["epoch"] < 3 and time.monotonic() < deadline:
            frame = receive_until(ws, "frame")
        assert frame["epoch"] >= 3 and frame["diverged"] is False  # the counter moves again
        assert frame["train_loss"] is not None
