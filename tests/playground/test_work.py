"""Session work runs in worker threads, one call at a time per session, within a budget."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from chainrule.playground.work import SessionWorker, WorkBudget, make_pool


def test_the_budget_refills_at_its_rate_up_to_its_burst() -> None:
    b = WorkBudget(rate=0.5, burst=1.0, now=0.0)
    assert b.delay(now=0.0) == 0.0
    b.charge(0.4, now=0.0)
    assert b.delay(now=0.0) == 0.0          # within the burst
    b.charge(1.6, now=0.0)                  # 1 s of debt
    assert b.delay(now=0.0) == pytest.approx(2.0)
    assert b.delay(now=1.0) == pytest.approx(1.0)
    assert b.delay(now=100.0) == 0.0 and b.tokens == 1.0  # never more than the burst


def test_calls_of_one_session_never_overlap_and_leave_the_loop_free() -> None:
    pool = make_pool(workers=4)
    worker = SessionWorker(pool, WorkBudget(rate=10.0, burst=10.0))
    running, overlaps, threads = [0], [0], set()

    def work() -> None:
        running[0] += 1
        overlaps[0] = max(overlaps[0], running[0])
        threads.add(threading.get_ident())
        time.sleep(0.05)
        running[0] -= 1

    async def main() -> float:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.gather(*(worker.run(work) for _ in range(6)))
        task.cancel()
        return ticks

    ticks = asyncio.run(main())
    pool.shutdown()
    assert overlaps[0] == 1                     # one at a time
    assert threading.get_ident() not in threads  # never on the event loop's thread
    assert ticks >= 10                          # the loop ran meanwhile (6 x 50 ms of work)


def test_a_session_in_debt_waits_for_its_share() -> None:
    pool = make_pool(workers=1)
    worker = SessionWorker(pool, WorkBudget(rate=1.0, burst=0.05))

    def spin(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    async def main() -> float:
        await worker.run(spin, 0.25)            # 0.2 s over the burst
        started = time.monotonic()
        await worker.run(spin, 0.0)
        return time.monotonic() - started

    waited = asyncio.run(main())
    pool.shutdown()
    assert waited >= 0.12


def test_errors_are_raised_in_the_caller_and_still_charged() -> None:
    pool = make_pool(workers=1)
    budget = WorkBudget(rate=1.0, burst=1.0)
    worker = SessionWorker(pool, budget)

    def fail() -> None:
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        asyncio.run(worker.run(fail))
    pool.shutdown()
    assert budget.tokens < 0.97
