"""``JetStreamEventStore``: the event store on NATS JetStream, with group commit.

Concurrent ``append`` calls are queued and coalesced into JetStream *atomic batches*
(ADR-50, ``allow_atomic``) of up to 1,000 messages: one fsync for the whole batch instead
of one per message; a group of a few one-event appends is sent as plain publishes instead,
all in flight at once (a batch of one is acknowledged later: ``_commit_group``). Every
message carries ``Nats-Msg-Id`` = event id, so a retried append is stored once. When a
coalesced batch is refused (a duplicate id inside it, 10201; or an expectation failed,
10071) the store falls back to committing each caller's events on their own, so one
caller's conflict never fails another caller's write.

How many groups are in flight: on a stream of one server, one, unless at least
``AHEAD_MIN`` appends wait (then up to ``max_inflight``). nats-server stages an atomic
batch of a one-replica file stream in a file store of its own, made and removed per batch
(``newBatchStore`` in server/jetstream_batching.go, nats-server @1787eee: ``replicas == 1 &&
storage == FileStorage``; other streams stage in memory), a fixed cost of about 4.5 ms
(``bench/ingest.py``'s probe: a batch of one, against 0.7 ms for a plain publish). A few
appends at a time (webhooks: one append per delivery) gain nothing from a second small
batch beside the first: they wait for it, and the appends that came meanwhile go out
together in the next. Bulk writes (thousands waiting) still keep several full groups in
flight. Measured 2026-12-07, ``bench/ingest.py`` at 500 webhooks/s for 5 s, four rounds
each, alternately, machine at load 1.0-1.7: one group in flight p50 13-22 ms, p99 46-85
ms; four, p50 29-36 ms, p99 88-133 ms. ``bench/append.py`` (20,000 events, 2,000 writers)
with one group in flight at all times lost a quarter of its rate (22-25k events/s against
26-37k): hence the ``AHEAD_MIN`` exception. A replicated stream keeps ``max_inflight``.

A write JetStream leaves unanswered while the server still answers about the stream was
refused by the stream's store (its disk is full or failing: JetStream then keeps quiet to
the publisher, and keeps refusing until the server restarts; a full disk can also switch
JetStream off). The store does not retry that for minutes: it asks ``recovery``
(``core/logdisk.py``) to get the server storing again, else raises ``LogNotWritable``
with its one line, and fails the writes of the next moments at once.

On a cluster (a replicated stream, ``SYNCLEDGER_STREAM_REPLICAS`` 3 or 5) an unanswered
write means something else: while the stream elects a leader it "will not accept
messages", and publishes get "no responders" (503) or time out (SOURCES.md §7.2). Such a
write, and an atomic batch the new leader never saw whole (10176 "atomic publish batch is
incomplete": ADR-50 rejects a batch with a gap, and nothing of it is stored), is sent again
with the same ``Nats-Msg-Id`` — the stream drops a copy it already holds within its
duplicate window (§7.2) — with jittered backoff for up to ``ELECTION_WAIT_S``, far inside
that window. The full-disk diagnosis above is not made on a replicated stream: an
election is indistinguishable from it by the same signals (§7.2, nats.go#1781), so a
cluster whose leader stores nothing ends, after that wait, in ``EventStoreUnavailable``
(nothing confirmed stored) rather than ``LogNotWritable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from syncledger.core.errors import (
    ConcurrencyError,
    EventStoreError,
    EventStoreUnavailable,
    ImmutableLogError,
    LogMissing,
    LogNotWritable,
)
from syncledger.core.events import Envelope
from syncledger.core.ids import uuid7
from syncledger.core.jetstream_read import PullReader
from syncledger.core.store import STREAM_NAME, STREAM_SUBJECTS, StoredEvent, first_expectations

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # server limit per atomic batch
#: a group of at most this many one-message appends is published message by message
#: (see ``_commit_group``); larger groups, and any multi-message append, are atomic batches
SINGLES_MAX = 4
#: on a one-server stream, a second group goes out while one is in flight only when at
#: least this many appends wait (module docstring)
AHEAD_MIN = 64
ERR_WRONG_LAST_SEQ = 10071
ERR_BATCH_DUPLICATE = 10201
#: the batch reached the stream's leader with a gap: on a replicated stream a leader change
#: in mid-batch (nothing of it was stored, so it is sent again)
ERR_BATCH_INCOMPLETE = 10176
DUPLICATE_WINDOW_S = 2 * 3600
#: after a write JetStream did not store, later writes fail at once for this long rather
#: than each wait for its acknowledgement (then one is tried for real again)
UNWRITABLE_RECHECK_S = 2.0
#: how long "does the server still answer about the stream?" may take
LIVENESS_CHECK_S = 2.0
#: a replicated stream: how long an unacknowledged write is sent again while the cluster
#: elects a leader (well inside DUPLICATE_WINDOW_S, so the copies are dropped)
ELECTION_WAIT_S = 60.0
#: the longest pause between two tries
MAX_RETRY_DELAY_S = 2.0
NOT_STORED = (
    "JetStream answers but did not store the events (its disk is full or failing, or "
    "JetStream switched itself off): free space or repair the disk; nothing was written"
)


class StoreRecovery(Protocol):
    """Asked when JetStream answers but stores nothing (``core/logdisk.py``)."""

    async def recover(self) -> bool:
        """True once the server can store again (e.g. restarted now the disk has room)."""
        ...

    def why(self) -> str:
        """The one line that says why nothing could be stored, and what to do."""
        ...


@dataclass(slots=True)
class _Msg:
    subject: str
    payload: bytes
    msg_id: str
    expected: str | None = None  # Nats-Expected-Last-Subject-Sequence

    def headers(self) -> dict[str, str]:
        if self.expected is None:
            return {"Nats-Msg-Id": self.msg_id}
        return {"Nats-Msg-Id": self.msg_id, "Nats-Expected-Last-Subject-Sequence": self.expected}


@dataclass(slots=True)
class _Entry:
    msgs: list[_Msg]
    future: asyncio.Future[list[int]]
    expected: frozenset[str] = frozenset()  # subjects carrying an expectation

    def subjects(self) -> set[str]:
        return {m.subject for m in self.msgs}


def _messages(events: Sequence[Envelope], expect: Mapping[str, int] | None) -> list[_Msg]:
    if not expect:  # the common case, on the hot path
        return [_Msg(ev.subject, ev.to_bytes(), ev.id) for ev in events]
    exp = first_expectations(events, expect)
    return [
        _Msg(ev.subject, ev.to_bytes(), ev.id, str(exp[i]) if i in exp else None)
        for i, ev in enumerate(events)
    ]


def _conflicts(entry: _Entry, group: list[_Entry], expected: set[str]) -> bool:
    """Would ``entry`` break an expectation inside the batch (or be broken by one)?"""
    if not entry.expected and not expected:
        return False
    written = {m.subject for e in group for m in e.msgs}
    return bool(entry.expected & written or entry.subjects() & expected)


#: the connection dropped or is reconnecting: the write may or may not have left
_NOT_SENT = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
)


def _publish_singly(group: list[_Entry]) -> bool:
    """A small group of one-message appends: cheaper as plain publishes than as a batch."""
    return len(group) <= SINGLES_MAX and all(len(e.msgs) == 1 for e in group)


class _BatchRefused(Exception):
    def __init__(self, err_code: int, description: str) -> None:
        super().__init__(description)
        self.err_code = err_code
        self.description = description


class JetStreamEventStore:
    def __init__(
        self,
        nc: NatsClient,
        *,
        stream: str = STREAM_NAME,
        ack_timeout: float = 10.0,
        max_inflight: int = 4,
        retries: int = 3,
        election_wait_s: float = ELECTION_WAIT_S,
    ) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream(timeout=ack_timeout)
        self.stream = stream
        self._ack_timeout = ack_timeout
        self._retries = retries
        self._election_wait_s = election_wait_s
        #: the stream has replicas in a cluster (learnt by ensure_stream)
        self.replicated = False
        self._pending: deque[_Entry] = deque()
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(max_inflight)
        self._in_flight = 0  # groups sent and not yet settled
        self._tasks: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        #: how to get a server that stopped storing to store again (None: nobody can here)
        self.recovery: StoreRecovery | None = None
        self._unwritable: tuple[float, str] | None = None  # (until, why)
        #: one "does it store nothing?" diagnosis (and recovery) at a time
        self._diagnosing = asyncio.Lock()
        #: recoveries so far: a write that failed before the latest one is just sent again
        self._recoveries = 0

    # ------------------------------------------------------------------ setup

    async def ensure_stream(self, replicas: int = 1, *, create: bool = False) -> None:
        """Check that the log stream exists and is syncledger's (file storage, deny delete
        and purge, atomic batches). A missing stream raises ``LogMissing`` — never a fresh,
        empty log — unless ``create``, which only first-time setup passes
        (``core/log_setup.py``)."""
        try:
            info = await self._js.stream_info(self.stream)
        except NotFoundError:
            if not create:
                raise LogMissing(f"stream {self.stream} does not exist") from None
            await self._create_stream(replicas)
            self.replicated = replicas > 1
            return
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(f"cannot read stream {self.stream}: {exc}") from exc
        cfg = info.config
        self.replicated = (cfg.num_replicas or 1) > 1
        if (cfg.num_replicas or 1) != replicas:
            log.warning(
                "stream %s keeps %d copies, not the configured %d: a stream keeps its own "
                "(change it with the NATS admin tools)",
                self.stream,
                cfg.num_replicas or 1,
                replicas,
            )
        if not (cfg.deny_delete and cfg.deny_purge and cfg.allow_atomic):
            raise EventStoreError(
                f"stream {self.stream} exists without deny_delete/deny_purge/allow_atomic; "
                "it was not created by syncledger"
            )

    async def _create_stream(self, replicas: int) -> None:
        config = js_api.StreamConfig(
            name=self.stream,
            subjects=[STREAM_SUBJECTS],
            storage=js_api.StorageType.FILE,
            retention=js_api.RetentionPolicy.LIMITS,
            discard=js_api.DiscardPolicy.NEW,
            deny_delete=True,
            deny_purge=True,
            duplicate_window=DUPLICATE_WINDOW_S,
            allow_atomic=True,
            num_replicas=replicas,
        )
        try:
            await self._js.add_stream(config)
        except nats.errors.TimeoutError as exc:
            raise EventStoreUnavailable(
                f"creating stream {self.stream} got no answer: the server is down, or this "
                "NATS user may not create streams (first-time setup needs the admin user)"
            ) from exc
        except nats.errors.Error as exc:
            raise EventStoreError(f"cannot create stream {self.stream}: {exc}") from exc

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ append

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        if not events:
            return []
        msgs = _messages(events, expect)
        entry = _Entry(msgs, asyncio.get_running_loop().create_future())
        if expect:
            entry.expected = frozenset(m.subject for m in msgs if m.expected is not None)
        self._pending.append(entry)
        self._wakeup.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_loop())
        return await entry.future

    async def _flush_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                if self._wait_for_group_in_flight():
                    break  # that group's end wakes this loop (``_commit_group``)
                await self._slots.acquire()
                group = self._take_group()
                self._in_flight += 1
                task = asyncio.create_task(self._commit_group(group))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                await asyncio.sleep(0)  # let more appends join the next group

    def _wait_for_group_in_flight(self) -> bool:
        """True when the appends waiting should join the next group rather than go out
        beside the one in flight (module docstring)."""
        busy = self._in_flight > 0 and len(self._pending) < AHEAD_MIN
        return busy and not self.replicated

    def _take_group(self) -> list[_Entry]:
        """Entries for one atomic batch: ≤ MAX_BATCH messages, no expectation on a subject
        another entry of the batch writes (the server checks expectations against the
        stream as it was before the batch)."""
        group: list[_Entry] = []
        count = 0
        expected: set[str] = set()
        while self._pending:
            entry = self._pending[0]
            if group and (
                count + len(entry.msgs) > MAX_BATCH or _conflicts(entry, group, expected)
            ):
                break
            self._pending.popleft()
            group.append(entry)
            count += len(entry.msgs)
            expected |= entry.expected
        return group

    async def _commit_group(self, group: list[_Entry]) -> None:
        """Commit one group, settling every caller's future.

        A small group of one-message appends (at most ``SINGLES_MAX``) is not an atomic
        batch: nats-server 2.15.1 stages a batch before acknowledging its commit, so a
        batch of one is acknowledged later than a plain publish. Each message goes out
        alone instead (``_commit_alone``: ``_single``, the same ``Nats-Msg-Id`` and
        expectation header, the same retries), all in flight at once, and each caller gets
        its own result or error. The group holds no expectation on a subject another of its
        entries writes (``_take_group``), so their order among themselves does not matter.

        Measured 2026-12-07, embedded server (one node, ``sync_interval: always``), 2-core
        machine at load average 3-7, W writers each appending one event at a time, 200
        appends per writer, all-batches (SINGLES_MAX 0) vs 4, two runs each:
        W=1 p50 3.2-4.3 ms (p99 5.5-7.4) vs 0.75-0.9 ms (p99 1.3-6.1), 224-296 vs
        633-1,234 appends/s; W=4 p50 3.6-4.5 vs 1.6-2.5 ms; W=16 about even (p50 ~4.5 ms,
        ~3,100/s either way: groups there are mostly larger than 4). A threshold of 16
        was no better than 4 at W=16 (2,938/s). Large groups keep the batch, whose one
        fsync carries hundreds of appends: ``bench/append.py`` (10,000 events, 2,000
        writers) 29.3k/s before, 32.1k/s after (ratio to raw atomic batches 0.79 / 0.96,
        noise: the same path); 16 writers 3.7k/s before, 3.0k/s after (0.11 / 0.12).
        """
        try:
            if _publish_singly(group):
                await self._commit_each(group)
                return
            msgs = [m for e in group for m in e.msgs]
            if len(msgs) <= MAX_BATCH:
                try:
                    last = await self._with_retries(self._atomic, msgs)
                    seq = last - len(msgs) + 1
                    for entry in group:
                        n = len(entry.msgs)
                        entry.future.set_result(list(range(seq, seq + n)))
                        seq += n
                    return
                except _BatchRefused:
                    pass  # a duplicate or a conflict inside: settle each caller alone
                except EventStoreError as exc:
                    for entry in group:
                        entry.future.set_exception(exc)
                    return
            for entry in group:
                await self._commit_alone(entry)
        except Exception as exc:  # never leave a caller waiting
            for entry in group:
                if not entry.future.done():
                    entry.future.set_exception(
                        EventStoreError(f"append failed: {type(exc).__name__}: {exc}")
                    )
        finally:
            self._in_flight -= 1
            self._slots.release()
            self._wakeup.set()  # appends held back for this group go out now

    async def _commit_each(self, group: list[_Entry]) -> None:
        """Every entry of ``group`` on its own, all in flight together."""
        results = await asyncio.gather(
            *(self._commit_alone(entry) for entry in group), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                raise result  # the caller fails every entry still waiting

    async def _commit_alone(self, entry: _Entry) -> None:
        try:
            if 1 < len(entry.msgs) <= MAX_BATCH:
                try:
                    last = await self._with_retries(self._atomic, entry.msgs)
                    first = last - len(entry.msgs) + 1
                    entry.future.set_result(list(range(first, last + 1)))
                    return
                except _BatchRefused as refused:
                    if refused.err_code != ERR_BATCH_DUPLICATE:
                        raise self._translate(refused, entry.msgs) from refused
            seqs = [await self._with_retries(self._single, m) for m in entry.msgs]
            entry.future.set_result(seqs)
        except _BatchRefused as refused:
            entry.future.set_exception(self._translate(refused, entry.msgs))
        except EventStoreError as exc:
            entry.future.set_exception(exc)

    @staticmethod
    def _translate(refused: _BatchRefused, msgs: list[_Msg]) -> EventStoreError:
        if refused.err_code == ERR_WRONG_LAST_SEQ:
            for m in msgs:
                if m.expected is not None:
                    return ConcurrencyError(m.subject, int(m.expected), refused.description)
        return EventStoreError(f"JetStream refused the write: {refused.description}")

    async def _with_retries(self, fn: Any, arg: Any) -> int:
        """``fn(arg)`` until acknowledged: ``self._retries`` more tries, and on a replicated
        stream as many as fit in ``election_wait_s``; every try sends the same messages,
        each with the same ``Nats-Msg-Id``."""
        deadline = asyncio.get_running_loop().time() + (
            self._election_wait_s if self.replicated else 0.0
        )
        delay, attempt = 0.2, 0
        while True:
            self._refuse_while_unwritable()
            recoveries = self._recoveries
            try:
                result: int = await fn(arg)
                self._unwritable = None
                return result
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
                if not self.replicated:
                    await self._diagnose(exc, recoveries)  # raises unless it may retry
                failure: Exception = exc
            except _BatchRefused as refused:
                # a gap on one server is its store dropping messages (a full disk): the
                # caller settles each entry alone, where that is diagnosed
                if not (self.replicated and refused.err_code == ERR_BATCH_INCOMPLETE):
                    raise
                failure = refused
            except _NOT_SENT as exc:
                failure = exc
            attempt += 1
            if not self._may_retry(attempt, deadline):
                raise EventStoreUnavailable(
                    f"no acknowledgement from JetStream after {attempt} tries "
                    f"({type(failure).__name__}); the events were not confirmed stored"
                ) from failure
            log.warning("append not acknowledged (%s); retrying", type(failure).__name__)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, MAX_RETRY_DELAY_S)

    async def _diagnose(self, exc: Exception, recoveries: int) -> None:
        """One server left a write unanswered: raise ``LogNotWritable`` when it stores
        nothing and cannot be made to, else return (the write is sent again). Writes in
        flight together fail together: one diagnoses (and recovers) at a time, and a write
        that failed before a recovery, or after another found the log unwritable, follows
        that finding instead of restarting the server again."""
        async with self._diagnosing:
            if self._recoveries != recoveries:
                return  # the server was got storing again meanwhile: the same events again
            self._refuse_while_unwritable()
            if await self._stores_nothing():
                await self._unless_recovered(exc)
                self._recoveries += 1  # recovered: the same events again

    def _may_retry(self, attempts: int, deadline: float) -> bool:
        if self._nc.is_closed:  # reconnecting gave up: nothing will answer
            return False
        return attempts <= self._retries or asyncio.get_running_loop().time() < deadline

    async def _stores_nothing(self) -> bool:
        """A write got no acknowledgement: True when the server is up and still answers
        about the stream, so it chose not to store. JetStream does not answer a publisher
        whose write its disk refused, and a JetStream that switched itself off (its disk
        was full) answers no API request at all."""
        if not self._nc.is_connected:
            return False
        try:
            await asyncio.wait_for(self._js.stream_info(self.stream), LIVENESS_CHECK_S)
        except (ServiceUnavailableError, nats.errors.NoRespondersError):
            return True  # connected, and nothing serves JetStream: it is off
        except (nats.errors.Error, TimeoutError):
            return False  # the server itself is slow or going: an ordinary retry
        return True

    async def _unless_recovered(self, exc: Exception) -> None:
        """Return when the server stores again; else raise the one line saying why not
        (and fail the writes of the next moments at once, instead of each waiting)."""
        if self.recovery is not None and await self.recovery.recover():
            log.warning("the log's server stores again; writing the events once more")
            return
        why = self.recovery.why() if self.recovery is not None else NOT_STORED
        self._unwritable = (asyncio.get_running_loop().time() + UNWRITABLE_RECHECK_S, why)
        raise LogNotWritable(why) from exc

    async def heal(self) -> bool:
        """After a write JetStream did not store, and none stored since: ask ``recovery``
        to get the server storing again (``run`` calls this on a schedule, so the log
        resumes once its disk has room even while nothing else writes). True when it did."""
        if self._unwritable is None or self.recovery is None:
            return False
        if not await self.recovery.recover():
            return False
        self._unwritable = None
        self._recoveries += 1
        log.warning("the log's server stores again")
        return True

    def _refuse_while_unwritable(self) -> None:
        if self._unwritable is None:
            return
        until, why = self._unwritable
        if asyncio.get_running_loop().time() < until:
            raise LogNotWritable(why)

    async def _atomic(self, msgs: list[_Msg]) -> int:
        batch_id = uuid7()
        last = len(msgs)
        for i, m in enumerate(msgs, 1):
            headers = m.headers()
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(i)
            if i < last:
                await self._nc.publish(m.subject, m.payload, headers=headers)
            else:
                headers["Nats-Batch-Commit"] = "1"
                reply = await self._nc.request(
                    m.subject, m.payload, headers=headers, timeout=self._ack_timeout
                )
                return self._ack_seq(reply.data)
        raise AssertionError("empty batch")

    async def _single(self, m: _Msg) -> int:
        reply = await self._nc.request(
            m.subject, m.payload, headers=m.headers(), timeout=self._ack_timeout
        )
        return self._ack_seq(reply.data)

    @staticmethod
    def _ack_seq(data: bytes) -> int:
        ack = json.loads(data)
        err = ack.get("error")
        if err:
            raise _BatchRefused(int(err.get("err_code", 0)), str(err.get("description", "")))
        return int(ack["seq"])

    # ------------------------------------------------------------------ read

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncGenerator[StoredEvent, None]:
        end = await self.last_seq()
        if end < from_seq:
            return
        reader = PullReader(self._nc, self._js, self.stream, stall_s=self._ack_timeout)
        async with contextlib.aclosing(reader.read(subjects, max(from_seq, 1), end)) as events:
            async for stored in events:
                yield stored

    async def last_seq(self) -> int:
        try:
            info = await self._js.stream_info(self.stream)
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(f"cannot read stream {self.stream}: {exc}") from exc
        return int(info.state.last_seq)

    async def subject_last_seq(self, subject: str) -> int:
        try:
            msg = await self._js.get_last_msg(self.stream, subject)
        except NotFoundError:
            return 0
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(f"cannot read {subject}: {exc}") from exc
        return int(msg.seq or 0)

    async def delete(self, seq: int) -> None:
        try:
            await self._js.delete_msg(self.stream, seq)
        except APIError as exc:
            raise ImmutableLogError(f"the log refused to delete event {seq}: {exc}") from exc
        raise EventStoreError(f"stream {self.stream} allowed a delete: it is misconfigured")

    async def purge(self) -> None:
        try:
            await self._js.purge_stream(self.stream)
        except APIError as exc:
            raise ImmutableLogError(f"the log refused to purge: {exc}") from exc
        raise EventStoreError(f"stream {self.stream} allowed a purge: it is misconfigured")
