"""The live sessions of one playground server: each tab's session, its worker and its timer.

A session lives while its tab is open and for ``ttl`` seconds after the last message;
at most ``max_sessions`` live at once. Each has an unguessable id (it names the session in
export URLs) and a :class:`~chainrule.playground.work.SessionWorker` on the server's
shared pool of worker threads.

>>> manager = SessionManager(ttl=60)
>>> sid, entry = manager.create()
>>> manager.get(sid) is entry
True
"""

from __future__ import annotations

import asyncio
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chainrule.playground import limits
from chainrule.playground.config import Config
from chainrule.playground.limits import LimitError
from chainrule.playground.session import Session
from chainrule.playground.work import SessionWorker, make_pool

__all__ = ["Entry", "SessionManager"]


@dataclass
class Entry:
    """A live session, the worker that runs its work, and its bookkeeping."""

    session: Session
    worker: SessionWorker
    last_seen: float = field(default_factory=time.monotonic)
    sockets: int = 0
    playing: bool = False
    backprop_index: int | None = None
    backprop_sent: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class SessionManager:
    """All sessions of one server, by their unguessable id; idle ones expire."""

    def __init__(self, ttl: float = limits.SESSION_TTL_S, max_sessions: int = limits.MAX_SESSIONS,
                 pool: ThreadPoolExecutor | None = None):
        self.ttl = ttl
        self.max_sessions = max_sessions
        self.pool = pool if pool is not None else make_pool()
        self.entries: dict[str, Entry] = {}

    def create(self) -> tuple[str, Entry]:
        """A new session; a ``LimitError`` when ``max_sessions`` are alive even after expiry."""
        self.expire()
        if len(self.entries) >= self.max_sessions:
            raise LimitError(
                f"the server already runs {self.max_sessions} sessions; close a tab or try later"
            )
        sid = secrets.token_urlsafe(16)
        entry = Entry(Session(Config()), SessionWorker(self.pool))
        self.entries[sid] = entry
        return sid, entry

    def get(self, sid: str) -> Entry | None:
        entry = self.entries.get(sid)
        if entry is not None and self._expired(entry, time.monotonic()):
            self.remove(sid)
            return None
        return entry

    def remove(self, sid: str) -> None:
        entry = self.entries.pop(sid, None)
        if entry is not None:
            entry.playing = False
            entry.wake.set()

    def _expired(self, entry: Entry, now: float) -> bool:
        return now - entry.last_seen > self.ttl

    def expire(self) -> list[str]:
        """Remove every session idle for longer than ``ttl``; returns their ids."""
        now = time.monotonic()
        gone = [sid for sid, e in self.entries.items() if self._expired(e, now)]
        for sid in gone:
            self.remove(sid)
        return gone
