"""A real playground server under load: sessions training flat out, and GET / timed meanwhile.

Used by ``test_playground.py`` and runnable by itself to print the figures::

    python tests/robustness/playground_load.py --sessions 8 --seconds 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SRC = str(Path(__file__).resolve().parents[2] / "src")
#: The heaviest setting a page may ask for: six layers of eight, batch size 1, 2,000 points,
#: 50 epochs per frame (each epoch is 1,600 optimizer steps).
HEAVY = {"hidden": [8] * 6, "batch_size": 1, "num_points": 2000, "steps_per_frame": 50}


@contextmanager
def playground(*args: str) -> Any:
    """``chainrule playground --port 0 ARGS`` in a subprocess: yields ``(url, process)``."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://[^ ]+/", line)
        if match is None:
            raise RuntimeError(f"no address announced: {line!r} {proc.stderr.read()}")
        url = match.group(0)
        deadline = time.monotonic() + 30
        while True:
            try:
                get_page(url)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get_page(url: str, host: str | None = None) -> tuple[int, float]:
    """``GET /`` on a new connection (as a page reload makes one): status and seconds."""
    address = url.split("//", 1)[1].rstrip("/")
    name, port = address.rsplit(":", 1)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(name.strip("[]"), int(port), timeout=30)
    try:
        conn.request("GET", "/", headers={"Host": host or address})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    return response.status, time.perf_counter() - started


class TrainingTab(threading.Thread):
    """One browser tab: opens a session, asks for ``changes``, plays, reads every frame."""

    def __init__(self, url: str, changes: dict) -> None:
        super().__init__(daemon=True)
        self.url, self.changes = url, changes
        self.frames = 0
        self.epoch = 0
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.url.replace("http", "ws", 1) + "ws",
                         origin=self.url.rstrip("/")) as ws:
                ws.send(json.dumps({"type": "config", "changes": self.changes}))
                ws.send(json.dumps({"type": "play"}))
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        msg = json.loads(ws.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    if msg["type"] == "frame":
                        self.frames += 1
                        self.epoch = msg["epoch"]
        except BaseException as e:  # reported by the caller
            self.error = e
            self.ready.set()


def measure(url: str, sessions: int = 8, seconds: float = 6.0, warmup: float = 2.0,
            changes: dict | None = None) -> dict[str, Any]:
    """GET / latencies while ``sessions`` tabs train as fast as they are allowed."""
    tabs = [TrainingTab(url, changes or HEAVY) for _ in range(sessions)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.ready.wait(30)
    time.sleep(warmup)
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, took = get_page(url)
        assert status == 200
        latencies.append(took)
        time.sleep(0.05)
    for tab in tabs:
        tab.stop.set()
    for tab in tabs:
        tab.join(10)
    errors = [repr(t.error) for t in tabs if t.error is not None]
    latencies.sort()
    return {
        "sessions": sessions,
        "requests": len(latencies),
        "median_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
        "frames_per_session": [t.frames for t in tabs],
        "epochs_per_session": [t.epoch for t in tabs],
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with playground() as (url, _):
        idle = measure(url, sessions=0, seconds=2.0, warmup=0.0)
        busy = measure(url, sessions=args.sessions, seconds=args.seconds)
    print(json.dumps({"idle": idle, "busy": busy}, indent=2))


if __name__ == "__main__":
    main()
