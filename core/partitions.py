"""Owned partitions: many entities, few ``run`` workers (issue 13, "Owned partitions").

A partition is one entity+ledger. ``syncledger run --entities a,b,c`` (or
``SYNCLEDGER_ENTITIES``) makes this process one of the workers that share those
partitions; every worker given the same list shares them:

- each worker registers itself (:mod:`syncledger.core.membership`) and, every TTL/3,
  counts the live workers and aims at its fair share, ``ceil(partitions / workers)``;
- below it, it tries to take the push lease (core/lease.py) of partitions it does not
  own, in an order of its own (a hash of worker id and partition, so workers do not all
  reach for the same ones first); above it, it gives up the surplus: stops pushing that
  partition, *then* deletes its lease, so the next owner starts at once;
- a killed worker's leases lapse after one TTL and its membership key with them: the
  others count one worker less, their share grows, they take the orphans;
- SIGTERM stops every partition, deletes every lease and the membership key;
- the limiters a partition's work builds are seeded from its previous owner's published
  usage and publish their own (adapters/rate_usage_kv.py), so a tenant's windows hold across
  a move, graceful or not.

The push lease stays the only gate: a partition is pushed only while its lease is held
(``PushLease.check`` before every ledger write), and its other work — reconciliation,
back-sync, e-mails, alerts, the source poll (``pipeline.owner_jobs``) — runs only while
it is held and is cancelled the moment the lease's local deadline passes, before the
server can let the key lapse. A wrong worker count moves partitions, never doubles one.

Every move is one ``run`` line (``took partition``, ``gave up partition``, ``lost
partition``) with the fair share that decided it: the partitions' owner history is in the
workers' logs (the bucket keeps only the current holder).

Each entity's ledger is the top-level one unless an ``[entity_ledgers.<name>]`` table in
syncledger.toml names its own ledger, URL, tenant or home currency (``Settings.for_entity``;
every command with ``--entity <name>`` reads the same table); an entity with its own URL
keeps its tokens in ``<data dir>/tokens/<entity>/<ledger>.json``.

Every holder of a push lease that calls the ledger hands its limiters' usage on the same
way (:func:`shared_limits`): a partition's owner here, and single-entity ``run`` (hot
standby), ``sync --once`` and ``import --backfill`` through :func:`lease_limits`; they
all use the key ``usage.<entity>.<ledger>``, so any of them may take over from any other.

Entities whose ledgers are one tenant (same ledger, URL and tenant) would be two
partitions with two limiters, each spending the tenant's whole budget: ``run --entities``
refuses such a list at start with one line (:func:`check_tenants`); between processes
(two single-entity ``run`` processes, workers given different lists, a ``sync --once``
beside a ``run``) every lease holder's :func:`shared_limits` first claims the tenant
(core/tenant_claim.py), and the second entity of a tenant pushed at once is refused with
one line. Chosen over one lease per tenant (one owner, one limiter for all its entities),
which would change what a partition is, how the fair share counts and every owner's key:
refusing is a few lines and cannot let the limits slip; an operator gives each tenant one
entity (docs/operations.md, "Scaling out"). Only ledgers reached at a URL are compared (the
in-process sandbox has its own limits in each process). An entity whose tenant is not
known (no ``tenant`` in its table, none chosen by ``connect``) may be any tenant at its
URL: the safe path counts it as sharing with every other entity there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from nats.js.kv import KeyValue

from syncledger.core.bootstrap import Runtime
from syncledger.core.errors import ConfigurationError, EventStoreError, SyncLedgerError
from syncledger.core.lease import PushLease, lease_key, new_holder, open_bucket
from syncledger.core.membership import Membership
from syncledger.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partition:
    """One entity+ledger and the settings its work runs with."""

    settings: Settings

    @property
    def entity(self) -> str:
        return self.settings.entity

    @property
    def scope(self) -> str:
        return f"{self.settings.entity}/{self.settings.ledger}"

    @property
    def key(self) -> str:
        return lease_key(self.settings.entity, self.settings.ledger)


def partitions_of(settings: Settings) -> list[Partition]:
    """The partitions ``settings.entities`` names, each with its entity's ledger (its
    ``[entity_ledgers.<name>]`` table's, or the top-level one)."""
    return [Partition(settings.for_entity(name)) for name in settings.entities]


def check_ledgers(parts: list[Partition]) -> None:
    """Every partition names a ledger this build has (``ConfigurationError`` naming the
    entity otherwise), before any lease is taken."""
    from syncledger.adapters.platforms import platform

    for part in parts:
        try:
            platform(part.settings.ledger)
        except ConfigurationError as exc:
            raise ConfigurationError(f"entity {part.entity}: {exc}") from exc


def fair_share(partitions: int, workers: int) -> int:
    """How many partitions one of ``workers`` live workers owns at most."""
    return math.ceil(partitions / max(workers, 1))


def preference(worker: str, parts: list[Partition]) -> list[Partition]:
    """``parts`` in this worker's order of preference (rendezvous hashing: each worker
    its own order, the same one on every turn)."""

    def rank(part: Partition) -> bytes:
        return hashlib.sha256(f"{worker}/{part.key}".encode()).digest()

    return sorted(parts, key=rank)


#: how long a worker leaves a partition whose work failed before taking it again
COOL_DOWN_S = 60.0

#: what one owned partition does while its lease is held (push, and the owner's jobs)
PartitionWork = Callable[[Partition, PushLease, asyncio.Event], Awaitable[None]]


@dataclass
class _Owned:
    lease: PushLease
    stop: asyncio.Event
    task: asyncio.Task[None]


@dataclass
class PartitionOwner:
    """This worker's partitions: takes its fair share of leases, gives up the surplus,
    and runs ``work`` for each one it holds."""

    kv: KeyValue
    ttl: float
    membership: Membership
    parts: list[Partition]
    work: PartitionWork
    announce: Callable[[str], None]
    owned: dict[str, _Owned] = field(default_factory=dict)
    cooling: dict[str, float] = field(default_factory=dict)  # key -> monotonic time
    rates: KeyValue | None = None  # SL_RATES: limiter usage handed over

    async def run(self, stop: asyncio.Event) -> None:
        """Balance every TTL/3 until ``stop``; then stop and release every partition."""
        try:
            while not stop.is_set():
                await self._turn()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.ttl / 3)
        finally:
            await self.release_all("this worker stops")

    async def _turn(self) -> None:
        try:
            await self.balance()
        except EventStoreError as exc:  # NATS away for a moment: the leases still gate
            log.warning("balancing partitions failed: %s; trying again", exc)

    async def balance(self) -> None:
        """One turn: forget partitions whose lease was lost, then move towards the share."""
        await self._reap()
        workers = len(await self.membership.live())
        share = fair_share(len(self.parts), workers)
        why = f"fair share {share} of {len(self.parts)} partitions with {workers} live workers"
        order = preference(self.membership.me.owner, self.parts)
        for part in reversed(order):
            if len(self.owned) <= share:
                break
            if part.key in self.owned:
                await self.give_up(part, f"gave up partition {part.scope} ({why})")
        for part in order:
            if len(self.owned) >= share:
                break
            if part.key not in self.owned and not self._cooling(part):
                await self._try_take(part, why)

    async def _try_take(self, part: Partition, why: str) -> None:
        lease = PushLease(self.kv, self.ttl, part.scope, part.key, new_holder())
        if await lease.take() is not None:
            return
        stop = asyncio.Event()
        task = asyncio.create_task(self._guarded(part, lease, stop), name=f"push {part.scope}")
        self.owned[part.key] = _Owned(lease, stop, task)
        self.announce(f"took partition {part.scope} ({why})")

    async def _guarded(self, part: Partition, lease: PushLease, stop: asyncio.Event) -> None:
        try:
            async with self._limits(part, lease):
                await self.work(part, lease, stop)
        except SyncLedgerError as exc:
            self._failed(part, str(exc))
        except Exception:
            log.exception("partition %s stopped on an unexpected error", part.scope)
            self._failed(part, "an unexpected error (above)")

    def _limits(
        self, part: Partition, lease: PushLease
    ) -> contextlib.AbstractAsyncContextManager[object]:
        """The partition's limiters seeded from the previous owner's usage and handing
        theirs on (adapters/rate_usage_kv.py), when the worker was given the bucket."""
        if self.rates is None:
            return contextlib.nullcontext()
        return shared_limits(self.rates, self.kv, part.settings, lease)

    def _failed(self, part: Partition, why: str) -> None:
        """A partition whose work stopped on an error (credentials the ledger refuses, a
        broken token file): not taken again by this worker for ``COOL_DOWN_S``, so it
        does not spin; another worker may try it meanwhile."""
        self.cooling[part.key] = time.monotonic() + COOL_DOWN_S
        log.warning(
            "partition %s stopped: %s; this worker tries it again in %.0f s",
            part.scope,
            why,
            COOL_DOWN_S,
        )

    def _cooling(self, part: Partition) -> bool:
        return self.cooling.get(part.key, 0.0) > time.monotonic()

    async def _reap(self) -> None:
        for key, owned in list(self.owned.items()):
            if owned.task.done() or not owned.lease.held:
                part = next(p for p in self.parts if p.key == key)
                why = "its work stopped: see the line above" if owned.lease.held else "lease lost"
                await self.give_up(part, f"lost partition {part.scope} ({why})")

    async def give_up(self, part: Partition, line: str) -> None:
        """Stop the partition's work, then delete its lease (never the other way round)."""
        owned = self.owned.pop(part.key)
        owned.stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await owned.task
        await owned.lease.release()
        self.announce(line)

    async def release_all(self, why: str) -> None:
        for part in [p for p in self.parts if p.key in self.owned]:
            await self.give_up(part, f"gave up partition {part.scope} ({why})")


def partition_runtime(rt: Runtime, part: Partition) -> Runtime:
    """The process's runtime (one NATS connection, one key store) seen as the partition's."""
    return dataclasses.replace(rt, settings=part.settings)


def usage_key(settings: Settings) -> str:
    """Where the entity+ledger's limiter usage is kept in ``SL_RATES``."""
    return "usage." + lease_key(settings.entity, settings.ledger).removeprefix("push.")


@contextlib.asynccontextmanager
async def shared_limits(
    rates: KeyValue, leases: KeyValue, settings: Settings, lease: PushLease
) -> AsyncIterator[None]:
    """While inside, the entity's ledger tenant is claimed (core/tenant_claim.py: a
    ``ConfigurationError`` when another process pushes an entity of it), and the limiters
    built are seeded from the usage the entity+ledger's previous lease holder published
    and publish theirs while ``lease`` and the claim are held; a final usage is stored on
    the way out (adapters/rate_usage_kv.py), then the claim released."""
    from syncledger.adapters.rate_usage_kv import handed_over_limits, tenant_id
    from syncledger.core.tenant_claim import claim_tenant

    claim = await claim_tenant(leases, lease.ttl, settings, _known_tenant(settings))

    def owned() -> bool:
        return lease.held and (claim is None or claim.held)

    tenant = tenant_id(settings.ledger, settings.ledger_url, settings.ledger_tenant)
    try:
        async with handed_over_limits(rates, usage_key(settings), tenant, owned):
            yield
    finally:
        if claim is not None:
            await claim.release()


@contextlib.asynccontextmanager
async def lease_limits(rt: Runtime, lease: PushLease) -> AsyncIterator[None]:
    """:func:`shared_limits` for the runtime's entity+ledger (single-entity ``run``,
    ``sync --once``, ``import --backfill``): enter it once ``lease`` is held and before the
    ledger is opened (its limiters join when built), leave it before the lease is
    released."""
    from syncledger.adapters.rate_usage_kv import open_rates_bucket

    s = rt.settings
    rates = await open_rates_bucket(rt.nc, s.stream_replicas)
    leases, _ttl = await open_bucket(rt.nc, s.lease_ttl_s, s.stream_replicas)
    async with shared_limits(rates, leases, s, lease):
        yield


def check_tenants(parts: list[Partition]) -> None:
    """``ConfigurationError`` naming two entities whose ledgers may be one tenant (see
    the module docstring), before any lease is taken."""
    seen: list[tuple[Partition, str | None]] = []
    for part in parts:
        s = part.settings
        if s.ledger_url is None:
            continue
        tenant = _known_tenant(s)
        for other, theirs in seen:
            o = other.settings
            if (o.ledger, o.ledger_url) == (s.ledger, s.ledger_url) and (
                tenant is None or theirs is None or tenant == theirs
            ):
                raise ConfigurationError(_shared_line(other, part))
        seen.append((part, tenant))


def _known_tenant(settings: Settings) -> str | None:
    from syncledger.core.ledgers import stored_tenant

    if settings.ledger_tenant is not None:
        return settings.ledger_tenant
    try:
        return stored_tenant(settings.ledger_token_file(settings.ledger))
    except SyncLedgerError:  # a broken token file: its partition says so when taken
        return None


def _shared_line(first: Partition, second: Partition) -> str:
    from syncledger.core.redact import mask_url

    where = f"{first.settings.ledger} at {mask_url(str(first.settings.ledger_url))}"
    return (
        f"entities {first.entity} and {second.entity} may be one tenant of {where}: "
        "run --entities limits each entity on its own, so together they could exceed "
        "the tenant's rate limits; give each tenant one entity, or name each entity's "
        "tenant in its [entity_ledgers.<name>] table when they differ"
    )
