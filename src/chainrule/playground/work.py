"""Session work off the event loop, within a budget: how the playground stays responsive.

Every call that trains or draws (a training slice, a step, a frame, a backprop graph, an
export) runs in a small pool of worker threads, never on the event loop, so the loop is
always free to answer ``GET /`` and the other tabs. Each session's calls go through its own
:class:`SessionWorker`: one call at a time (the session is never touched by two threads),
and metered by a :class:`WorkBudget`, a token bucket of CPU seconds: a session may compute
at most :data:`~chainrule.playground.limits.WORK_SHARE` of a second per second, in bursts
of up to :data:`~chainrule.playground.limits.WORK_BURST_S`. A tab that floods the server
with cheap-looking messages (``step`` on a large net with batch size 1) is slowed down by
the work they cost, not by their number; the others keep their share of the pool.

>>> budget = WorkBudget(rate=0.5, burst=1.0, now=0.0)
>>> budget.charge(3.0, now=0.0)     # 3 s of work: 2 s in debt
>>> budget.delay(now=0.0)           # 2 s of debt at 0.5 s per second: wait 4 s
4.0
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from chainrule.playground import limits

__all__ = ["SessionWorker", "WorkBudget", "make_pool"]

T = TypeVar("T")


def make_pool(workers: int = limits.WORKERS) -> ThreadPoolExecutor:
    """The threads that run every session's work (shared by all sessions of a server)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="playground-work")


class WorkBudget:
    """A token bucket of compute seconds: ``rate`` seconds earned per second, up to ``burst``.

    Work is charged after it ran (its CPU time); a session in debt waits :meth:`delay`
    seconds before its next call.
    """

    def __init__(self, rate: float = limits.WORK_SHARE, burst: float = limits.WORK_BURST_S,
                 now: float | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic() if now is None else now

    def _refill(self, now: float | None) -> float:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return now

    def charge(self, seconds: float, now: float | None = None) -> None:
        """Take ``seconds`` of work from the bucket (it may go into debt)."""
        self._refill(now)
        self.tokens -= seconds

    def delay(self, now: float | None = None) -> float:
        """Seconds to wait until the bucket is out of debt (0 if it is not in debt)."""
        self._refill(now)
        return max(0.0, -self.tokens / self.rate)


class SessionWorker:
    """Runs one session's work in the shared pool: one call at a time, within its budget."""

    def __init__(self, pool: ThreadPoolExecutor, budget: WorkBudget | None = None) -> None:
        self.pool = pool
        self.budget = budget or WorkBudget()
        self.lock = asyncio.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, after this session's earlier calls and its debt."""
        async with self.lock:
            delay = self.budget.delay()
            if delay > 0:
                await asyncio.sleep(delay)
            spent: list[float] = []
            future = asyncio.get_running_loop().run_in_executor(self.pool, _timed, fn, args,
                                                                spent)
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                # The thread cannot be stopped: hold the lock until it is done, so that no
                # second call ever touches the session while it runs.
                while not future.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait([future])
                raise
            finally:
                self.budget.charge(spent[0] if spent else 0.0)


def _timed(fn: Callable[..., T], args: tuple, spent: list[float]) -> T:
    """Run ``fn`` and record the CPU time this thread spent on it (even when it raises)."""
    start = time.thread_time()
    try:
        return fn(*args)
    finally:
        spent.append(time.thread_time() - start)
