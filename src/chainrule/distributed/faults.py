"""A rank that fails ends the whole job, naming the rank and the error.

MPI's collectives wait for every rank: a rank that dies or leaves would keep the others
waiting forever in their next ``Allreduce``. So, for a job of more than one rank,
:func:`install` (called by :func:`~chainrule.distributed.init`) sets up three things:

- an exception nobody caught, on any rank, prints its traceback and
  ``chainrule: rank R of K failed: ...``, and ends the job with ``MPI_Abort``
  (:func:`end_job`); the command line does the same for the errors it prints as one line;
- a rank that is killed (SIGKILL, the out-of-memory killer) cannot say anything, so a
  watcher thread on each rank waits on its peers on the same machine (Linux pidfds) and,
  when one ends before the job finished, prints ``chainrule: rank R of K (pid P on HOST)
  ended before the job finished`` and ends the job. The MPI launcher would stop the job
  too, naming only the process id, and it would often be first: it acts when a process's
  output closes, so each rank starts a tiny *keeper* process that holds the rank's
  stdout and stderr open for :data:`KEEP_SECONDS` after the rank died, which gives the
  watcher its turn;
- a clean exit waits at a barrier for every rank (at interpreter exit) and lets the keeper
  go, so a rank that is done early is not taken for a dead one.

Files stay whole through all this: every file chainrule writes is written atomically
(:mod:`chainrule.atomic`), so a rank stopped mid-write leaves the previous checkpoint.
"""

from __future__ import annotations

import atexit
import os
import select
import socket
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

from chainrule.errors import ChainruleError

__all__ = ["KEEP_SECONDS", "end_job", "install"]

#: How long a killed rank's output stays open (the peers' watchers then name it).
KEEP_SECONDS = 2.0
# Time for the launcher to forward a last line of output before MPI_Abort ends everything.
_FLUSH_SECONDS = 0.3
# The keeper: ends at once when told (a byte on stdin), else when its rank died + the delay.
_KEEPER = "import os, time\nif not os.read(0, 1):\n    time.sleep({})\n"

_job: dict[str, Any] = {}  # rank, size, peers [(host, pid)], comm, finishing


def install(comm: Any) -> None:
    """Make a failing or vanished rank end the job (see the module docstring)."""
    me = comm.Get_rank()
    peers = comm.allgather((socket.gethostname(), os.getpid()))
    _job.update(rank=me, size=comm.Get_size(), peers=peers, comm=comm, finishing=False)
    sys.excepthook = _excepthook
    try:
        _job["keeper"] = subprocess.Popen([sys.executable, "-c", _KEEPER.format(KEEP_SECONDS)],
                                          stdin=subprocess.PIPE, pass_fds=_launcher_fds())
    except OSError:
        pass  # without a keeper the launcher may name the process before the watcher
    atexit.register(_finish)
    watched = {}
    for r, (host, pid) in enumerate(peers):
        if r != me and host == peers[me][0]:
            try:
                watched[os.pidfd_open(pid)] = r
            except (AttributeError, OSError):  # no pidfds here (not Linux >= 5.3)
                break
    if watched:
        threading.Thread(target=_watch, args=(watched,), name="chainrule-peer-watch",
                         daemon=True).start()


def _launcher_fds() -> tuple[int, ...]:
    """The connection to the launcher that a process's end closes (MPICH: ``PMI_FD``)."""
    value = os.environ.get("PMI_FD", "")
    return (int(value),) if value.isdigit() else ()


def end_job(code: int, reason: str) -> None:
    """Print ``chainrule: rank R of K failed: REASON; ending the job`` and abort every rank.

    Does nothing in a world of one (the caller then exits as usual).
    """
    if not _job:
        return
    print(f"chainrule: rank {_job['rank']} of {_job['size']} failed: {reason}; ending the job",
          file=sys.stderr, flush=True)
    sys.stdout.flush()
    time.sleep(_FLUSH_SECONDS)  # let the launcher pass the output on before the abort
    _job["comm"].Abort(code)


def _excepthook(kind: type, value: BaseException, tb: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        end_job(130, "interrupted")
    if not issubclass(kind, ChainruleError):
        traceback.print_exception(kind, value, tb)
    end_job(1, f"{kind.__name__}: {value}")


def _finish() -> None:
    """At a clean exit: from now on peers may end; wait until all are here."""
    _job["finishing"] = True
    _job["comm"].Barrier()
    keeper = _job.get("keeper")
    if keeper is not None:
        keeper.communicate(b"x")  # done: the keeper ends now


def _watch(watched: dict[int, int]) -> None:
    """Wait until a peer process on this machine ends; unless the job is finishing, the
    lowest surviving rank here says which rank it was, and the job ends."""
    poller = select.poll()
    for fd in watched:
        poller.register(fd, select.POLLIN)
    poller.poll()
    if _job["finishing"]:
        return
    gone = sorted(watched[fd] for fd, _ in poller.poll(0))
    me = _job["rank"]
    if me == min([me, *(r for r in watched.values() if r not in gone)]):
        for r in gone:
            host, pid = _job["peers"][r]
            print(f"chainrule: rank {r} of {_job['size']} (pid {pid} on {host}) ended before "
                  "the job finished; ending the job", file=sys.stderr, flush=True)
        time.sleep(_FLUSH_SECONDS)  # let the launcher pass the line on before the abort
    else:
        time.sleep(KEEP_SECONDS)  # the lowest surviving rank speaks; abort if it did not
    _job["comm"].Abort(1)
