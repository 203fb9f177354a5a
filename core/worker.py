"""The sync worker: a FastStream app with a durable JetStream pull subscriber.

- The stream belongs to our event store (created with nats-py); FastStream binds to it
  with ``declare=False`` so it never rewrites the stream's configuration.
- Ack policy is manual and explicit: a message is acked only after its outcome event is
  stored, and nacked (with the backoff delay) when the ledger asked us to retry.
  Anything unexpected nacks too — FastStream's JetStream default, ``REJECT_ON_ERROR``,
  would *terminate* the message and lose the record. ``max_deliver=-1``: never dropped.
- Messages are fetched in batches (in stream order) and handled in order, so a customer
  is handled before its invoices and an invoice before its payments; documents whose
  dependencies are in the ledger go out through the ledger's batch endpoint where it has
  one (``SyncService.handle_many``). A batch is handled as soon as nothing more is pending
  unless the ledger's rate limits are pressed (then after up to ``FILL_S`` of filling),
  and a fetch's timeout never drops the batch in hand (``FetchTimeouts``).
- When this process no longer holds the push lease (``OwnershipLost`` from the service's
  guard), the batch is nacked untouched and every later batch too: the worker stops
  pushing, and ``WorkerStats.ownership_lost`` tells its owner to stop consuming.
- A ``ConfigurationError`` (a token file that is not one, credentials the ledger refuses
  for good) is not retried every few seconds for ever: the batch is handed back, the
  worker handles nothing more, and ``WorkerStats.halted``/``fatal`` tell its owner to stop
  with that one line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, cast

import nats.errors
from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsBatchMessage
from faststream.nats.subscriber.usecases import BatchPullStreamSubscriber
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api

from syncledger.core.errors import ConfigurationError, EventStoreUnavailable, OwnershipLost
from syncledger.core.logs import quiet_idle_fetches
from syncledger.core.metrics import SOURCE_TO_LEDGER_LAG, count_push
from syncledger.core.ports import RatePressure
from syncledger.core.settings import nats_servers
from syncledger.core.subjects import entity_filter
from syncledger.core.sync import Outcome, SyncService

log = logging.getLogger(__name__)

#: outcomes that put a source change in the ledger (for the lag histogram)
_SETTLED = frozenset({"pushed", "linked", "recovered"})
BatchMessage = Annotated[NatsBatchMessage, Context("message")]
ACK_WAIT_S = 30.0  # redelivery after a crashed worker; long pushes send heartbeats
#: the longest a batch's fill waits for more changes (the pull's timeout); only a fill
#: whose ledger limits are pressed waits it out (``FetchTimeouts``). At 250 ms, 5 changes/s
#: on QBO still cost 1.60-1.62 requests a change, above 500/min; at 500 ms, 1.42
#: (bench/latency.py)
FILL_S = 0.5


def durable_name(entity: str, ledger: str) -> str:
    return f"sync-{entity}-{ledger}".replace(".", "_")


@dataclass
class WorkerStats:
    outcomes: dict[str, int] = field(default_factory=dict)
    ownership_lost: asyncio.Event = field(default_factory=asyncio.Event)
    #: why the worker stopped handling events (an error no retry can fix), once it did
    fatal: ConfigurationError | None = None
    halted: asyncio.Event = field(default_factory=asyncio.Event)
    handling: set[asyncio.Future[list[Outcome]]] = field(default_factory=set)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.status] = self.outcomes.get(outcome.status, 0) + 1

    def halt(self, error: ConfigurationError) -> None:
        """Stop handling events: ``error`` is what the person must fix first."""
        if self.fatal is None:
            self.fatal = error
        self.halted.set()

    def abort(self) -> None:
        """Stop the batch in hand now (its events are handed back), rather than let a
        stopping broker wait for a batch stuck on a ledger that is gone."""
        for handling in self.handling:
            handling.cancel()


class FetchTimeouts:
    """A pull subscription whose ``fetch`` times out with ``nats.errors.TimeoutError`` only,
    and ends a batch's fill once nothing more is pending.

    FastStream's batch loop (0.7.8, ``BatchPullStreamSubscriber._consume_pull``) fetches
    until the batch is full or its wait is over, keeping what it has in a local list, and
    ends that list on ``nats.errors.TimeoutError``. nats-py 2.16's ``fetch`` (``_fetch_n``)
    also times out with a bare ``asyncio.TimeoutError`` when a status answer to its no-wait
    request leaves no time for a second request (upstream: nats-io/nats.py PR #1008, open,
    which restores the documented exception). That one escaped FastStream's loop with the
    messages it had fetched: its supervisor restarted the loop, and those messages waited
    unacknowledged for ``ack_wait`` (30 s) before JetStream redelivered them: the 10-30 s
    "stalls" of bench/latency.py at 3 changes/s (issue 11).

    The same loop waits up to the pull's timeout (``FILL_S``) for a batch to fill, even when
    the consumer has nothing more: most of a lone change's latency. When the last message
    of a fetch says nothing was pending after it (``metadata.num_pending``, JetStream's
    count at delivery), the fill's next fetch (``batch`` below the batch size: FastStream
    asks for the rest) is answered with the timeout at once, which ends the fill with the
    batch in hand. A backlog still fills whole batches (bench/push.py).

    Not while the ledger's rate limits are ``pressure.pressed()`` (a window more than 70 %
    used, adapters/ratelimit.py): then the fill goes on up to ``FILL_S`` and more changes
    share the batch's requests (one match of all its new customers). Ending every fill at
    once, a steady 5 changes/s on QBO cost 1.68 requests a change (batches mostly of one),
    above QBO's 500 requests/min once past the first minute (bench/latency.py, issue 11)."""

    def __init__(
        self,
        pull: JetStreamContext.PullSubscription,
        batch_size: int,
        pressure: RatePressure | None = None,
    ) -> None:
        self.pull = pull
        self.batch_size = batch_size
        self.pressure = pressure
        self.caught_up = False

    async def fetch(
        self,
        batch: int = 1,
        timeout: float | None = 5,  # noqa: ASYNC109 -- nats-py's signature, FastStream calls it
        heartbeat: float | None = None,
    ) -> list[Msg]:
        if self.caught_up and batch < self.batch_size and not self._pressed():
            self.caught_up = False
            raise nats.errors.TimeoutError  # nothing more to wait for: handle what is held
        msgs = await self._fetch(batch, timeout, heartbeat)
        self.caught_up = bool(msgs) and msgs[-1].metadata.num_pending == 0
        return msgs

    def _pressed(self) -> bool:
        return self.pressure is not None and self.pressure.pressed()

    async def _fetch(self, batch: int, expiry: float | None, heartbeat: float | None) -> list[Msg]:
        try:
            msgs: list[Msg] = await self.pull.fetch(batch, expiry, heartbeat)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:  # the bare one: the same expiry, told the same way
            raise nats.errors.TimeoutError from exc
        return msgs

    def __getattr__(self, name: str) -> object:
        return getattr(self.pull, name)


class WorkerBroker(NatsBroker):
    """FastStream's NATS broker whose batch pull subscribers fetch through
    ``FetchTimeouts`` once started (the subscription exists only then), reading the
    ledger's rate ``pressure`` when one is given."""

    pressure: RatePressure | None = None

    async def start(self) -> None:
        await super().start()
        for sub in self.subscribers:
            if isinstance(sub, BatchPullStreamSubscriber):
                _guard_fetches(sub, self.pressure)


def _guard_fetches(sub: BatchPullStreamSubscriber, pressure: RatePressure | None) -> None:
    """Its loop reads ``sub.subscription`` on each fetch: the next one goes through."""
    pull, size = sub.subscription, sub.pull_sub.batch_size
    if pull is not None and not isinstance(pull, FetchTimeouts):
        guarded = FetchTimeouts(pull, size, pressure)
        sub.subscription = cast("JetStreamContext.PullSubscription", guarded)


def build_broker(
    nats_url: str,
    service: SyncService,
    *,
    stream: str,
    entity: str,
    ledger: str,
    on_outcome: Callable[[Outcome], None] | None = None,
    ack_wait: float = ACK_WAIT_S,
    batch_size: int = 30,
    pressure: RatePressure | None = None,
) -> tuple[NatsBroker, WorkerStats]:
    """``pressure``: the ledger's rate limits, read before a batch's fill ends early."""
    quiet_idle_fetches(log)
    broker = WorkerBroker(nats_servers(nats_url), logger=log, graceful_timeout=30.0)
    broker.pressure = pressure
    stats = WorkerStats()
    consumer = js_api.ConsumerConfig(
        ack_policy=js_api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=-1,
        deliver_policy=js_api.DeliverPolicy.ALL,
        max_ack_pending=1000,
    )

    @broker.subscriber(
        entity_filter(entity, "source"),
        stream=JStream(stream, declare=False),
        durable=durable_name(entity, ledger),
        config=consumer,
        pull_sub=PullSub(batch_size=batch_size, timeout=FILL_S, batch=True),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_source_events(msg: BatchMessage) -> None:
        raws = _once_each(msg.raw_message)
        items = [(m.metadata.sequence.stream, m.subject, m.data) for m in raws]
        if stats.ownership_lost.is_set() or stats.halted.is_set():
            await _hand_back(raws)
            return
        heartbeat = asyncio.create_task(_keep_alive(raws, ack_wait / 3))
        handling = asyncio.ensure_future(_handle(service, items))
        stats.handling.add(handling)
        try:
            outcomes = await handling
        except asyncio.CancelledError:
            await _hand_back(raws)
            if handling.cancelled() and not _being_cancelled():
                return  # aborted (WorkerStats.abort): the next run gets them
            raise
        except OwnershipLost as exc:
            log.warning("%s; handing stream seqs %s.. back", exc, items[0][0])
            stats.ownership_lost.set()
            await _hand_back(raws)
            return
        except ConfigurationError as exc:  # settings or credentials: retrying cannot help
            log.info("sync stopped: %s", exc)  # the command ends with this line
            stats.halt(exc)
            await _hand_back(raws)
            return
        except EventStoreUnavailable as exc:  # the log: unreachable, or its disk is full
            log.warning("sync paused on stream seqs %s..: %s; will retry", items[0][0], exc)
            for m in raws:
                await m.nak(delay=5.0)
            return
        except Exception:
            log.exception("sync failed on stream seqs %s..; will retry", items[0][0])
            for m in raws:
                await m.nak(delay=5.0)
            return
        finally:
            stats.handling.discard(handling)
            heartbeat.cancel()
        settled_at = datetime.now(UTC)
        for m, outcome in zip(raws, outcomes, strict=True):
            stats.count(outcome)
            count_push(service.ledger_name, outcome.source_ref, outcome.status)
            if outcome.status in _SETTLED:  # the message's time is when the log stored it
                lag = (settled_at - m.metadata.timestamp).total_seconds()
                SOURCE_TO_LEDGER_LAG.labels(ledger=service.ledger_name).observe(max(lag, 0.0))
            if on_outcome is not None:
                on_outcome(outcome)
            if outcome.status == "retry":
                await m.nak(delay=outcome.retry_after)
            else:
                await m.ack()

    return broker, stats


def _once_each(msgs: list[Msg]) -> list[Msg]:
    """The batch's messages once each (at the place of the first delivery, the latest
    delivery kept: its ack is the one JetStream waits for). A delivery that reached the
    client late (a busy process) can sit in the fetch inbox until JetStream redelivers
    the message after ``ack_wait``; the next fetch then holds both, and handling both
    would push one record twice."""
    latest: dict[int, Msg] = {}
    for m in msgs:
        latest[m.metadata.sequence.stream] = m
    return list(latest.values())


async def _handle(service: SyncService, items: list[tuple[int, str, bytes]]) -> list[Outcome]:
    if service.guard is not None:
        service.guard()
    return await service.handle_many(items)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _hand_back(msgs: list[Msg]) -> None:
    """Nak without handling: the lease's next owner gets them (after a short delay, so a
    fenced worker that is still fetching does not spin on them)."""
    for m in msgs:
        await m.nak(delay=1.0)


async def _keep_alive(msgs: list[Msg], every: float) -> None:
    """Tell JetStream we are still working, so a slow ledger call is not redelivered."""
    while True:
        await asyncio.sleep(every)
        for m in msgs:
            await m.in_progress()


async def wait_idle(
    js: JetStreamContext,
    stream: str,
    durable: str,
    *,
    settle: int = 2,
    poll: float = 0.25,
    give_up_after: float | None = None,
) -> None:
    """Until the durable consumer has nothing pending and nothing unacknowledged."""
    quiet = 0
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    while quiet < settle:
        info = await js.consumer_info(stream, durable)
        idle = info.num_pending == 0 and info.num_ack_pending == 0
        quiet = quiet + 1 if idle else 0
        if deadline is not None and loop.time() > deadline:
            raise TimeoutError(f"consumer {durable} still busy: {info.num_pending} pending")
        await asyncio.sleep(poll)
