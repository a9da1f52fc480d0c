"""The playground's limits: every size and rate a page can ask for is capped here.

The playground serves a page to whoever can reach the port, and every tab gets its own
training session in the server's process. These caps keep one tab (or a misbehaving
script posing as one) from taking the machine: a net is at most ``MAX_LAYERS`` hidden
layers of ``MAX_NEURONS`` neurons, a data set at most ``MAX_POINTS`` points, an upload at
most ``MAX_CSV_BYTES``, a WebSocket message at most ``MAX_MESSAGE_BYTES``, and a tab may
send at most ``RATE_MESSAGES`` messages per ``RATE_WINDOW_S`` seconds. Idle sessions
expire after ``SESSION_TTL_S`` seconds and at most ``MAX_SESSIONS`` live at once. Work is
bounded by what it costs, not by the messages that ask for it: ``WORKERS`` threads do all
of it, and each session may use ``WORK_SHARE`` CPU seconds per second
(:mod:`chainrule.playground.work`).

>>> from chainrule.playground import limits
>>> limits.check_int("batch_size", 10, 1, limits.MAX_BATCH)
10
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from typing import Any

from chainrule.errors import ChainruleError

__all__ = [
    "DOMAIN",
    "GRID",
    "MAX_BATCH",
    "MAX_CLASSES",
    "MAX_CSV_BYTES",
    "MAX_LAYERS",
    "MAX_MESSAGE_BYTES",
    "MAX_NEURONS",
    "MAX_POINTS",
    "MAX_SESSIONS",
    "MAX_STEPS_PER_FRAME",
    "NEURON_GRID",
    "RATE_MESSAGES",
    "RATE_WINDOW_S",
    "SESSION_TTL_S",
    "WORKERS",
    "WORK_BURST_S",
    "WORK_SHARE",
    "LimitError",
    "RateLimiter",
    "check_choice",
    "check_float",
    "check_int",
    "public",
]

MAX_LAYERS = 6  #: hidden layers
MAX_NEURONS = 8  #: neurons per hidden layer
MAX_POINTS = 2000  #: points in a data set (generated, clicked or uploaded)
MAX_CLASSES = 6  #: classes of a classification problem
MAX_BATCH = 100  #: mini-batch size
MAX_STEPS_PER_FRAME = 50  #: epochs trained between two frames
GRID = 100  #: the decision-boundary heat map is GRID x GRID
NEURON_GRID = 25  #: every neuron's heat map is NEURON_GRID x NEURON_GRID (GRID // 4)
DOMAIN = 6.0  #: the input plane is [-DOMAIN, DOMAIN]^2
MAX_CSV_BYTES = 128 * 1024  #: an uploaded CSV file
MAX_MESSAGE_BYTES = 2 * MAX_CSV_BYTES + 4096  #: one WebSocket message (JSON escapes a CSV)
RATE_MESSAGES = 120  #: messages a tab may send ...
RATE_WINDOW_S = 2.0  #: ... within this many seconds
SESSION_TTL_S = 15 * 60  #: an idle session (no message, no open socket) expires after this
MAX_SESSIONS = 32  #: sessions alive at once
#: threads that train and draw for all sessions (the event loop never does): at most half
#: the cores, so that the loop always gets a core to answer requests on
WORKERS = max(1, min(4, (os.cpu_count() or 2) // 2))
WORK_SHARE = 0.5  #: CPU seconds of work a session may use per second ...
WORK_BURST_S = 1.0  #: ... saved up to this many seconds


class LimitError(ChainruleError, ValueError):
    """A message asked for something outside the playground's limits (or malformed)."""


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``, or a ``LimitError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LimitError(f"{name}: expected an integer, got {type(value).__name__}")
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise LimitError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise LimitError(f"{name}: {value} is outside [{low}, {high}]")
    return value


def check_float(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a finite float in ``[low, high]``, or a ``LimitError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LimitError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise LimitError(f"{name}: {value!r} is outside [{low}, {high}]")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ``LimitError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise LimitError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


class RateLimiter:
    """A sliding window: at most ``limit`` events within ``window`` seconds.

    >>> r = RateLimiter(limit=2, window=1.0)
    >>> r.allow(now=0.0), r.allow(now=0.1), r.allow(now=0.2), r.allow(now=1.5)
    (True, True, False, True)
    """

    def __init__(self, limit: int = RATE_MESSAGES, window: float = RATE_WINDOW_S) -> None:
        self.limit = limit
        self.window = window
        self.times: deque[float] = deque()

    def allow(self, now: float | None = None) -> bool:
        """Record one event at ``now``; False if it is over the limit (and it is not counted)."""
        now = time.monotonic() if now is None else now
        while self.times and now - self.times[0] > self.window:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True


def public() -> dict[str, Any]:
    """The limits the page needs to know (sent to it when its session opens)."""
    return {
        "max_layers": MAX_LAYERS,
        "max_neurons": MAX_NEURONS,
        "max_points": MAX_POINTS,
        "max_classes": MAX_CLASSES,
        "max_batch": MAX_BATCH,
        "max_steps_per_frame": MAX_STEPS_PER_FRAME,
        "grid": GRID,
        "neuron_grid": NEURON_GRID,
        "domain": DOMAIN,
        "max_csv_bytes": MAX_CSV_BYTES,
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "session_ttl_s": SESSION_TTL_S,
    }
