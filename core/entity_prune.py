"""``syncledger entities prune``: the durable consumers of entities the configuration no
longer names, deleted on ``--yes`` — never one a live process uses (issue 13 follow-up).

Every entity+ledger that is pushed keeps a durable consumer on the log stream for good
(``sync-<entity>-<ledger>``, core/worker.py), and an entity with alert channels one more
(``alerts-<entity>``, core/alert_consumer.py). Removing an entity from ``run --entities``
(or moving it to another ledger) leaves them behind, idle; from nats-server 2.15 a stream
holds at most ``default_max_consumers`` consumers, idle ones included (core/embedded.py),
so they would pile up towards a refusal. Nothing deletes them unasked: whether an entity
is gone for good, or only out of this configuration (a single-entity ``run`` elsewhere
pushing it with its own settings), is the operator's to say.

- Without ``--yes`` the consumers are listed (exit 1 when there are any, like
  ``syncledger errors``): a ``sync-`` or ``alerts-`` consumer whose name is not one the
  configuration's entities use — ``syncledger.toml``/``SYNCLEDGER_*``: the entity,
  ``entities`` and every ``[entity_ledgers.<name>]`` table, each with its ledger —
  with the events it has not acknowledged.
- With ``--yes`` each is deleted *while this command holds the push lease* its consumer
  serves (core/lease.py): ``push.<entity>.<ledger>`` for a sync consumer, and for an alert
  consumer every ledger's lease of its entity (the alerts are raised by whichever owner
  of the entity's push lease runs, core/pipeline.py ``owner_jobs``). Held by anyone
  else, the consumer is kept and the holder named. While this command holds the lease no
  process pushes that entity+ledger nor raises its alerts; one that takes it afterwards
  makes its consumer again (FastStream declares it on start), which reads the entity's
  events from the start of the log: what was already pushed is known from the log and is
  not pushed twice (the sync state is folded from the log's outcomes, core/sync.py).

Consumer names keep the entity with ``.`` as ``_`` (``durable_name``), which is also how
the lease key writes it (``lease_key``), so the lease checked is the one a pushing
process holds. Chosen over deleting at ``run --entities`` start or on a lease lapsing:
either would delete a consumer some other configuration may still use.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.kv import KeyValue

from syncledger.core.alert_consumer import consumer_name
from syncledger.core.bootstrap import open_runtime
from syncledger.core.errors import EventStoreUnavailable
from syncledger.core.lease import UNREACHABLE, PushLease, lease_key, new_holder, open_bucket
from syncledger.core.pipeline import NEEDS_ATTENTION, Said
from syncledger.core.settings import Settings
from syncledger.core.worker import durable_name

COMMAND = "syncledger entities prune"
_SYNC, _ALERTS = "sync-", "alerts-"


@dataclass(frozen=True)
class StaleConsumer:
    """A durable consumer no configured entity uses."""

    consumer: str
    entity: str  # as the consumer's name writes it (``.`` as ``_``)
    ledger: str | None  # None: the entity's alert consumer
    unacknowledged: int


@dataclass(frozen=True)
class Pruned:
    """What ``--yes`` did with one: deleted, or kept and why."""

    stale: StaleConsumer
    kept_because: str | None = None


def configured_consumers(settings: Settings) -> set[str]:
    """The consumer names the configuration's entities use."""
    names = {settings.entity, *settings.entities, *settings.entity_ledgers}
    used: set[str] = set()
    for name in names:
        one = settings.for_entity(name)
        used |= {durable_name(name, one.ledger), consumer_name(name)}
    return used


def stale_of(info: js_api.ConsumerInfo) -> StaleConsumer | None:
    """The consumer as one of ours (None for a consumer of another kind)."""
    name = info.name
    waiting = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    if name.startswith(_ALERTS):
        return StaleConsumer(name, name.removeprefix(_ALERTS), None, waiting)
    entity, _, ledger = name.removeprefix(_SYNC).rpartition("-")
    if not name.startswith(_SYNC) or not entity or not ledger:
        return None
    return StaleConsumer(name, entity, ledger, waiting)


async def stale_consumers(
    js: JetStreamContext, stream: str, settings: Settings
) -> list[StaleConsumer]:
    """The log stream's durable consumers of entities the configuration does not name."""
    used = configured_consumers(settings)
    found = [stale_of(info) for info in await _consumers(js, stream)]
    return sorted((s for s in found if s is not None and s.consumer not in used), key=_name)


def _name(stale: StaleConsumer) -> str:
    return stale.consumer


async def _consumers(js: JetStreamContext, stream: str) -> list[js_api.ConsumerInfo]:
    infos: list[js_api.ConsumerInfo] = []
    try:
        while batch := await js.consumers_info(stream, offset=len(infos)):  # 256 at a time
            infos += batch
    except UNREACHABLE as exc:
        raise EventStoreUnavailable(
            f"cannot list the consumers of stream {stream} ({type(exc).__name__}); "
            "check that nats-server is running"
        ) from exc
    return infos


def guarding_leases(stale: StaleConsumer) -> list[str]:
    """The push leases whose holder may use the consumer."""
    from syncledger.adapters.platforms import platform_ids

    ledgers = [stale.ledger] if stale.ledger is not None else list(platform_ids())
    return [lease_key(stale.entity, ledger) for ledger in ledgers]


async def prune_one(
    js: JetStreamContext, kv: KeyValue, ttl: float, stream: str, stale: StaleConsumer
) -> Pruned:
    """Delete the consumer while holding every lease that guards it; kept if one is held."""
    async with _holding(kv, ttl, stale) as held_by:
        if held_by is not None:
            return Pruned(stale, held_by)
        await _delete(js, stream, stale.consumer)
    return Pruned(stale)


@contextlib.asynccontextmanager
async def _holding(kv: KeyValue, ttl: float, stale: StaleConsumer) -> AsyncIterator[str | None]:
    """Inside: None with every guarding lease held here, or who holds one (none held)."""
    taken: list[PushLease] = []
    try:
        held_by = None
        for key in guarding_leases(stale):
            lease = PushLease(
                kv, ttl, key.removeprefix("push.").replace(".", "/"), key, new_holder(COMMAND)
            )
            holder = await lease.take()
            if holder is not None:
                held_by = lease.describe(holder)
                break
            taken.append(lease)
        yield held_by
    finally:
        for lease in taken:
            await lease.release()


async def _delete(js: JetStreamContext, stream: str, consumer: str) -> None:
    try:
        await js.delete_consumer(stream, consumer)
    except nats.js.errors.NotFoundError:
        return  # deleted meanwhile: what was asked
    except UNREACHABLE as exc:
        raise EventStoreUnavailable(
            f"cannot delete consumer {consumer} ({type(exc).__name__}); "
            "check that nats-server is running, then run the command again"
        ) from exc


async def prune_said(settings: Settings, yes: bool) -> Said:
    """The stale consumers listed, or (``yes``) deleted where no lease guards them."""
    async with open_runtime(settings) as rt:
        js = rt.nc.jetstream()
        stale = await stale_consumers(js, settings.stream, settings)
        if not yes or not stale:
            return _listed(settings.stream, stale)
        kv, ttl = await open_bucket(rt.nc, settings.lease_ttl_s, settings.stream_replicas)
        done = [await prune_one(js, kv, ttl, settings.stream, s) for s in stale]
    return _pruned(settings.stream, done)


def _what(stale: StaleConsumer) -> str:
    whose = f"entity {stale.entity}" + (f", ledger {stale.ledger}" if stale.ledger else " (alerts)")
    return f"{stale.consumer} ({whose}; {stale.unacknowledged:,} events not acknowledged)"


def _listed(stream: str, stale: list[StaleConsumer]) -> Said:
    data: dict[str, object] = {"stream": stream, "stale": [asdict(s) for s in stale]}
    if not stale:
        text = f"no durable consumers of entities the configuration does not name on {stream}"
        return Said(text, data)
    lines = [f"durable consumers on {stream} of entities the configuration does not name:"]
    lines += [f"  {_what(s)}" for s in stale]
    lines.append(
        f"delete them with `{COMMAND} --yes` (one whose entity is being pushed is kept); "
        "an entity pushed again later reads the log from its start and pushes nothing twice"
    )
    return Said("\n".join(lines), data, NEEDS_ATTENTION)


def _done_line(pruned: Pruned) -> str:
    if pruned.kept_because is None:
        return f"deleted {_what(pruned.stale)}"
    return f"kept {_what(pruned.stale)}: {pruned.kept_because}"


def _pruned(stream: str, done: list[Pruned]) -> Said:
    kept = [p for p in done if p.kept_because is not None]
    lines = [
        f"kept {_what(p.stale)}: {p.kept_because}"
        if p.kept_because
        else f"deleted {_what(p.stale)}"
        for p in done
    ]
    if kept:
        lines.append(
            f"{len(kept)} kept: stop what pushes them, or add them back to the configuration"
        )
    data: dict[str, object] = {
        "stream": stream,
        "deleted": [asdict(p.stale) for p in done if p.kept_because is None],
        "kept": [{**asdict(p.stale), "because": p.kept_because} for p in kept],
    }
    return Said("\n".join(lines), data, NEEDS_ATTENTION if kept else 0)
