"""A rebuild's fold in a process of its own (issue 13: replay at ≥ 0.6 of the raw read).

Reading the log and folding it each cost a few tens of microseconds of CPU per event, and
in one process they take turns on one interpreter lock. For a large rebuild (``replay``,
``verify``) the runner therefore reads in its own process and sends each batch — stored
sequence, subject and exact bytes, nothing decoded — over a pipe to a child process that
runs the same :class:`~syncledger.projections.applier.BatchApplier` on its own engine.
The child answers each batch with the unfoldable rows it recorded (the runner logs them)
or with the error it raised, which the runner raises as its own; the transaction, the
checkpoint guard and the working set are exactly what they are in a thread.

The child is a fresh interpreter (``python -c``, never ``fork``: the parent runs an event
loop and threads; nor ``multiprocessing``'s ``spawn``, which re-runs the parent's main
script), talking over one end of a socket pair with ``multiprocessing.connection``'s
framing. The database URL, which may carry a password, goes to the child over that
socket, never on its command line or into a log. A child that dies is a
``ProjectionError``.

The child collects cyclic garbage rarely (:data:`GC_THRESHOLDS`, after freezing what its
imports made): the fold allocates a dict per row version and holds tens of thousands of
rows, none of them in a cycle, and at the default thresholds the collector walking them
took about a quarter of the child's CPU (9 of 34 us an event of decode and fold, measured
at 60,000 events of ``bench/replay.py``'s log). Cycles are still collected, less often.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
import socket
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import Engine

from syncledger.core.errors import ProjectionError
from syncledger.core.store import StoredEvent
from syncledger.projections.applier import BatchApplier
from syncledger.projections.db import Checkpoint
from syncledger.projections.engine import make_engine
from syncledger.projections.schema import Tables, tables_for
from syncledger.projections.state import Row

_STOP = None
_CHILD = "import sys; from syncledger.projections.fold_process import main; main(int(sys.argv[1]))"
STOP_WAIT_S = 10.0
#: batches a runner may have sent to the child and not yet seen answered: slack for a
#: machine that runs one side and not the other for a while (a 100,000-event replay on the
#: loaded 2-core machine: 9.5-15.5 s with 4, 13-16 s with 2, 16.6-17.1 s with 8; ~2 MB a
#: batch of 2,000 events)
IN_FLIGHT = 4
#: the child's collector thresholds (Python 3.11's default: (700, 10, 10)): young objects
#: allocated before a collection, then collections of each generation before the next
GC_THRESHOLDS = (100_000, 50, 100)


@dataclass(frozen=True, slots=True)
class FoldSettings:
    """What the child needs to build its applier (the URL stays off any command line)."""

    url: str
    name: str
    prefix: str
    suffix: str
    fresh: bool
    max_cached_rows: int

    def tables(self) -> Tables:
        return tables_for(prefix=self.prefix, suffix=self.suffix)


def can_fold_elsewhere(engine: Engine) -> bool:
    """A child process can open the same database (not an in-memory SQLite one)."""
    url = engine.url
    return url.get_backend_name() == "postgresql" or (
        url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    )


def settings_for(
    engine: Engine, *, name: str, tables: Tables, fresh: bool, max_cached_rows: int
) -> FoldSettings:
    url = engine.url.render_as_string(hide_password=False)
    return FoldSettings(url, name, tables.prefix, tables.suffix, fresh, max_cached_rows)


class FoldProcess:
    """The parent's handle on the child: requests sent in order, answered in order.

    A request may be sent while earlier ones are still being answered (:data:`IN_FLIGHT`
    batches at most, the runner's choice), so the child finds its next batch waiting when
    it finishes one. Answers are taken off the socket by one receiver, in the order the
    requests went, each to its caller; a caller that gave up leaves its answer unread by
    anyone but the receiver. After a batch that failed, the child applies no later one
    until it is started again (:meth:`start`): one sent behind it is answered with an
    error, never folded on top of the gap.
    """

    def __init__(self, settings: FoldSettings) -> None:
        mine, theirs = socket.socketpair()
        with theirs:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(theirs.fileno())], pass_fds=[theirs.fileno()]
            )
        self._conn = Connection(mine.detach())
        self._conn.send(settings)
        self._send_lock = asyncio.Lock()
        self._owed: deque[asyncio.Future[tuple[bool, Any]]] = deque()
        self._receiver: asyncio.Task[None] | None = None

    async def start(self) -> Checkpoint:
        found = await self._call(("start", None))
        if not isinstance(found, Checkpoint):
            raise ProjectionError(f"the fold process answered {type(found).__name__}")
        return found

    async def apply(self, batch: list[StoredEvent]) -> list[Row]:
        wire = [(s.seq, s.subject, s.raw) for s in batch]
        rows = await self._call(("apply", wire))
        return list(rows)

    async def close(self) -> None:
        async with self._send_lock:
            await asyncio.to_thread(self._stop)
        if self._receiver is not None:
            with contextlib.suppress(Exception):
                await self._receiver  # it ends with the child: every answer is settled

    def _stop(self) -> None:
        with contextlib.suppress(OSError):  # it ended already
            self._conn.send(_STOP)
        try:
            self._proc.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._conn.close()

    async def _call(self, request: tuple[str, Any]) -> Any:
        answer: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        async with self._send_lock:
            self._owed.append(answer)  # in the order the requests go
            try:
                await asyncio.to_thread(self._send, request)
            except ProjectionError as exc:
                self._settle_all(exc)
                raise
            if self._receiver is None or self._receiver.done():
                self._receiver = asyncio.create_task(self._receive())
        ok, value = await answer
        if not ok:
            raise value
        return value

    async def _receive(self) -> None:
        """Hand each answer to the oldest caller owed one, while any is owed."""
        while self._owed:
            try:
                got = await asyncio.to_thread(self._recv)
            except ProjectionError as exc:
                self._settle_all(exc)
                return
            answer = self._owed.popleft()
            if not answer.done():  # its caller may have been cancelled
                answer.set_result(got)

    def _settle_all(self, exc: ProjectionError) -> None:
        while self._owed:
            answer = self._owed.popleft()
            if not answer.done():
                answer.set_exception(exc)

    def _send(self, request: tuple[str, Any]) -> None:
        try:
            self._conn.send(request)
        except (EOFError, OSError) as exc:
            raise self._ended() from exc

    def _recv(self) -> tuple[bool, Any]:
        try:
            answer: tuple[bool, Any] = self._conn.recv()
            return answer
        except (EOFError, OSError) as exc:
            raise self._ended() from exc

    def _ended(self) -> ProjectionError:
        return ProjectionError(
            f"the fold process ended unexpectedly (exit code {self._proc.poll()})"
        )


# ------------------------------------------------------------------------ the child


def main(fd: int) -> None:
    """The child's entry point: serve requests on the socket ``fd`` until told to stop."""
    gc.freeze()  # the imports' objects: never walked again
    gc.set_threshold(*GC_THRESHOLDS)
    _serve(Connection(fd))


def _serve(conn: Connection) -> None:
    settings: FoldSettings = conn.recv()
    engine = make_engine(settings.url)
    applier = BatchApplier(
        engine, name=settings.name, tables=settings.tables(), fresh=settings.fresh,
        max_cached_rows=settings.max_cached_rows,
    )  # fmt: skip
    failed = False  # a batch failed: none after it is applied until the next start
    try:
        while (request := conn.recv()) is not _STOP:
            applying = request[0] == "apply"
            answer = _NOT_APPLIED if failed and applying else _answer(applier, request)
            failed = applying and not answer[0]
            conn.send(answer)
    except EOFError:
        pass  # the parent went away: nothing is half-done (each batch is a transaction)
    finally:
        engine.dispose()
        conn.close()


_NOT_APPLIED: tuple[bool, Any] = (
    False,
    ProjectionError("batch not applied: the one before it failed (start the runner again)"),
)


def _answer(applier: BatchApplier, request: tuple[str, Any]) -> tuple[bool, Any]:
    kind, payload = request
    try:
        if kind == "start":
            return True, applier.start()
        return True, applier.apply([StoredEvent(*wire) for wire in payload])
    except Exception as exc:
        return False, _portable(exc)


def _portable(exc: Exception) -> Exception:
    """``exc`` if it crosses the pipe intact, else a ``ProjectionError`` saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own object, pickled just now
    except Exception:
        return ProjectionError(f"{type(exc).__name__}: {exc}")
    return exc
