"""Reading the log in stream order through a pull consumer, a batch of messages per request.

Why not nats-py's ordered push consumer, which the store used before: nats-py hands each of
its messages to ``next_msg`` through a new task per message (about two thirds of the read's
CPU time, ``bench/replay.py``), and its callback form answers the server's flow control as
messages arrive rather than as they are used, so nothing would bound what it buffers.

Here an ephemeral pull consumer (acknowledgements none, in memory, one replica, removed by
the server once idle) is asked for :data:`BATCH` messages per request
(``$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`` with a ``batch`` body: docs.nats.io,
JetStream API reference "Get Next Message"; ADR-13), and a request is sent only while
fewer than :data:`WINDOW` batches are asked for and not yet taken by the reader — so at
most that many messages are ever held, whatever the stream's length. Messages arrive
through a callback on a private inbox (no task per message).

Order and completeness are checked as an ordered consumer checks them: every message's
reply subject carries its stream and consumer sequence and how many messages follow
(``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>``,
or with a domain and an account hash after ``ACK`` and a token at the end: ADR-15; read
here without building nats-py's ``Msg.metadata``, whose timestamp costs more than the
rest); a consumer sequence that skips, or a 409 status (the consumer was
deleted, its leader changed), makes the reader start a new consumer after the last
sequence it handed out. Requests carry neither ``expires`` nor ``no_wait``, so the 404 and
408 statuses that end such requests early are not expected; any status other than an idle
heartbeat is treated the same way (a new consumer from the last sequence handed out: the
safe path, never a guess at how many messages a request still owes). Silence for
``stall_s`` while messages are owed starts a new consumer once (its server may be the one
that went); a second silence is ``EventStoreUnavailable``.

A consumer is deleted as soon as its read ends (``$JS.API.CONSUMER.DELETE.<stream>.<name>``),
not left for the server to remove after :data:`INACTIVE_S`: from nats-server 2.15 a stream
holds at most ``default_max_consumers`` consumers, idle ones included (docs.nats.io,
reference/config/jetstream/limits/default_max_consumers; nats-server PR #8337; measured on
2.15.1 without the setting: the 1,001st is refused with ``JSMaximumConsumersLimitErr``,
10026 "maximum consumers limit reached"), and the short reads of ``run --entities`` (every
partition's jobs read the log) kept hundreds of idle consumers beside the durable ones
(``bench/scale.py``, issue 13). A user that may not delete consumers (the
``syncledger-reader`` role, ``core/nats_users.py``) gets no answer but a permissions
violation: after one :data:`DELETE_WAIT_S` that connection stops asking, and the server
removes its consumers once idle, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js import api as js_api

from syncledger.core.errors import EventStoreUnavailable
from syncledger.core.store import StoredEvent

BATCH = 500  # messages per pull request
WINDOW = 4 * BATCH  # messages asked for and not yet handed to the reader, at most
#: seconds an idle consumer outlives its reader, if deleting it did not work
INACTIVE_S = 60.0
#: seconds to wait for the answer to deleting a finished read's consumer
DELETE_WAIT_S = 1.0
#: connections whose user may not delete consumers (the reader role): they stop asking
_CANNOT_DELETE: weakref.WeakSet[NatsClient] = weakref.WeakSet()
STATUS_HEARTBEAT = "100"
MAX_RESTARTS = 5
#: silences (no message for ``stall_s`` while some are owed) that start a new consumer (its
#: server may have gone: a replicated stream's leader moves) before the read gives up
MAX_STALLS = 1
_V1_TOKENS = 9  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>
_V2_TOKENS = 12  # $JS.ACK.<domain>.<hash>.<stream>.… .<pending>.<token> (11: no token)


class _Restart(Exception):
    """The consumer lost its place: start a new one after the last sequence handed out."""


class _Stalled(_Restart):
    """Nothing arrived for ``stall_s`` while messages were owed."""


@dataclass(slots=True)
class _Pull:
    """One consumer's deliveries: what arrived and has not been handed out yet."""

    consumer: str
    inbox: str
    buffer: deque[Msg] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    asked: int = 0  # messages requested so far
    taken: int = 0  # messages handed to the reader so far
    next_dseq: int = 1
    broken: str | None = None  # why this consumer must be replaced

    async def on_msg(self, msg: Msg) -> None:
        status = msg.headers.get(js_api.Header.STATUS) if msg.headers else None
        if status is None:
            self.buffer.append(msg)
        elif status != STATUS_HEARTBEAT:
            description = msg.headers.get(js_api.Header.DESCRIPTION, "") if msg.headers else ""
            self.broken = f"status {status} {description}".strip()
        self.arrived.set()


class PullReader:
    """Yields the stored events matching ``subjects`` from ``from_seq`` up to ``end``."""

    def __init__(
        self,
        nc: NatsClient,
        js: JetStreamContext,
        stream: str,
        *,
        stall_s: float,
    ) -> None:
        self._nc = nc
        self._js = js
        self._stream = stream
        self._stall_s = stall_s

    async def read(
        self, subjects: str, from_seq: int, end: int
    ) -> AsyncGenerator[StoredEvent, None]:
        position = from_seq - 1  # the last stream sequence handed out
        restarts = stalls = 0
        while True:
            try:
                events = self._one_consumer(subjects, position + 1, end)
                async with contextlib.aclosing(events):
                    async for stored in events:
                        position = stored.seq
                        yield stored
                return
            except _Stalled as exc:
                stalls += 1
                if stalls > MAX_STALLS:
                    raise EventStoreUnavailable(
                        "replay stalled: no message from JetStream"
                    ) from exc
            except _Restart:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise EventStoreUnavailable(
                        f"reading {self._stream} lost its place {restarts} times; retry"
                    ) from None

    async def _one_consumer(
        self, subjects: str, start: int, end: int
    ) -> AsyncGenerator[StoredEvent, None]:
        info = await self._create(subjects, start)
        pull = _Pull(info.name, self._nc.new_inbox())
        sub: Subscription | None = None
        try:
            if not info.num_pending:
                return  # nothing matches from ``start`` on
            sub = await self._nc.subscribe(pull.inbox, cb=pull.on_msg)
            while True:
                msg = await self._next(pull)
                seq, dseq, pending = sequences(msg.reply)
                if dseq != pull.next_dseq:
                    raise _Restart
                pull.next_dseq += 1
                if seq > end:
                    return
                yield StoredEvent(seq, msg.subject, msg.data)
                if seq == end or pending == 0:
                    return
        finally:
            if sub is not None:
                await _unsubscribe(sub)
            await self._delete(info.name)

    async def _delete(self, consumer: str) -> None:
        """Delete a finished read's consumer (best effort: see the module docstring)."""
        if self._nc in _CANNOT_DELETE or not self._nc.is_connected:
            return  # the server removes it once idle
        subject = f"$JS.API.CONSUMER.DELETE.{self._stream}.{consumer}"
        try:
            await self._nc.request(subject, b"", timeout=DELETE_WAIT_S)
        except TimeoutError:  # a busy or lost server, or a user that may not delete
            if _denied_deleting(self._nc.last_error):
                _CANNOT_DELETE.add(self._nc)
        except nats.errors.Error:
            pass  # no responders, closing: the server removes it once idle

    async def _create(self, subjects: str, start: int) -> js_api.ConsumerInfo:
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(start, 1),
            ack_policy=js_api.AckPolicy.NONE,
            max_deliver=1,
            filter_subject=subjects,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=INACTIVE_S,
        )
        try:
            return await self._js.add_consumer(self._stream, config=config)
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(f"cannot read {self._stream}: {exc}") from exc

    async def _next(self, pull: _Pull) -> Msg:
        while not pull.buffer:
            if pull.broken is not None:
                raise _Restart
            await self._ask(pull)
            pull.arrived.clear()
            try:
                await asyncio.wait_for(pull.arrived.wait(), self._stall_s)
            except TimeoutError:
                raise _Stalled from None
        pull.taken += 1
        msg = pull.buffer.popleft()
        if pull.asked - pull.taken <= WINDOW - BATCH:
            await self._ask(pull)
        return msg

    async def _ask(self, pull: _Pull) -> None:
        while pull.asked - pull.taken <= WINDOW - BATCH:
            subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{pull.consumer}"
            await self._nc.publish(subject, json.dumps({"batch": BATCH}).encode(), pull.inbox)
            pull.asked += BATCH


def sequences(reply: str) -> tuple[int, int, int]:
    """(stream sequence, consumer sequence, messages pending) of a JetStream message, from
    its reply subject (see the module docstring)."""
    tokens = reply.split(".")
    if tokens[:2] != ["$JS", "ACK"] or len(tokens) not in (_V1_TOKENS, _V2_TOKENS - 1, _V2_TOKENS):
        raise EventStoreUnavailable(f"a message without JetStream metadata arrived ({reply!r})")
    shift = 0 if len(tokens) == _V1_TOKENS else 2  # the domain and account hash
    return int(tokens[5 + shift]), int(tokens[6 + shift]), int(tokens[8 + shift])


def _denied_deleting(error: Exception | None) -> bool:
    """Whether the server refused this connection's user the consumer-delete API (the
    server answers a permissions violation with ``-ERR`` and no reply)."""
    text = str(error).lower()
    return "permissions violation" in text and "$js.api.consumer.delete." in text


async def _unsubscribe(sub: Subscription) -> None:
    with contextlib.suppress(Exception):
        await sub.unsubscribe()
