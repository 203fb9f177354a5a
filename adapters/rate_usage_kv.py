"""A partition's rate-limit usage in a JetStream KV bucket, handed to its next owner
(issue 13, "Shared rate limits"; the reasoning is in :mod:`syncledger.adapters.rate_usage`).

The usage lives in a KV bucket of its own, ``SL_RATES`` (one key per partition,
``usage.<entity>.<ledger>``, named by core/partitions.py; no TTL: a daily window must
outlive the leases' seconds-long TTL; a snapshot whose horizon is older than its widest
window is simply ignored). The ``SL_LEASES`` bucket could not hold it: its ``max_age``
is the lease TTL, so a killed owner's last usage would lapse with its lease, just when
the next owner needs it.

Each write is a compare-and-set on the revision this owner last saw, so a previous owner
still finishing cannot overwrite the new owner's usage unseen: whoever finds the key
moved reads it, counts it too (counting a request twice only waits longer) and writes
again. Only the holder of the partition's push lease writes; the horizon of its
limiters moves on only when a write was stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import AsyncIterator, Callable

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import api as js_api
from nats.js.kv import KeyValue
from pydantic import ValidationError

from syncledger.adapters.rate_usage import PUBLISH_EVERY_S, RateUsage, UsageBook
from syncledger.core.errors import EventStoreUnavailable

log = logging.getLogger(__name__)

RATES_BUCKET = "SL_RATES"
_TIMEOUT_S = 2.0
#: what a lost connection to NATS looks like from nats-py (translated here)
UNREACHABLE = (nats.errors.Error, OSError, asyncio.TimeoutError)


async def open_rates_bucket(nc: NatsClient, replicas: int = 1) -> KeyValue:
    """The ``SL_RATES`` bucket, created when missing (``replicas`` copies in a cluster)."""
    js = nc.jetstream(timeout=_TIMEOUT_S)
    try:
        try:
            return await js.key_value(RATES_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            return await _create(js, replicas)
    except UNREACHABLE as exc:
        raise EventStoreUnavailable(
            f"cannot open the {RATES_BUCKET} bucket in NATS ({type(exc).__name__}); "
            "check that nats-server is running and this user may use that bucket"
        ) from exc


async def _create(js: nats.js.JetStreamContext, replicas: int) -> KeyValue:
    config = js_api.KeyValueConfig(
        bucket=RATES_BUCKET,
        description="syncledger rate-limit usage per partition, for its next owner",
        history=1,
        storage=js_api.StorageType.FILE,
        replicas=replicas,
        direct=False,  # reads go to the stream leader: a replica's copy may be stale
    )
    try:
        return await js.create_key_value(config)
    except nats.js.errors.BadRequestError:  # created meanwhile by another process
        return await js.key_value(RATES_BUCKET)


def tenant_id(*parts: str | None) -> str:
    """Which tenant requests count against (e.g. ledger, URL, tenant id), hashed: a URL
    may carry a secret, and the bucket never holds one."""
    said = "\n".join(part or "" for part in parts)
    return hashlib.sha256(said.encode()).hexdigest()[:32]


#: whether this process still owns the partition (its push lease is held)
Owned = Callable[[], bool]


class RateHandover:
    """One owner's usage for one partition: read at take-over, written while it owns."""

    def __init__(self, kv: KeyValue, key: str, book: UsageBook, owned: Owned) -> None:
        self._kv, self.key, self.book, self._owned = kv, key, book, owned
        self._revision = 0

    async def start(self) -> None:
        """Count the stored usage, then store ours (the limiters start no request
        before that write is stored)."""
        handed = await self._read()
        self.book.adopt(handed)
        if handed is not None:
            log.info("%s: %s", self.key, _described(handed))
        if not await self.publish():
            raise EventStoreUnavailable(
                f"cannot store the rate-limit usage {self.key} in NATS; "
                "the partition is not pushed until it can be"
            )

    async def keep(self) -> None:
        """Publish every ``PUBLISH_EVERY_S``, and as soon as a limiter is built (it starts
        nothing until a snapshot names it), until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.book.joined.wait(), PUBLISH_EVERY_S)
            self.book.joined.clear()
            await self.publish()

    async def publish(self, *, final: bool = False) -> bool:
        """Store the usage while the lease is held; True when stored."""
        for _ in range(2):  # once more after counting a usage written meanwhile
            if not self._owned():
                return False
            usage, grant = self.book.snapshot(final=final)
            try:
                self._revision = await self._write(usage)
            except nats.js.errors.KeyWrongLastSequenceError:
                self.book.adopt(await self._read())
                continue
            except UNREACHABLE as exc:
                log.warning("storing the rate usage of %s failed: %s", self.key, type(exc).__name__)
                return False
            self.book.grant(grant)
            return True
        return False

    async def _write(self, usage: RateUsage) -> int:
        value = usage.model_dump_json().encode()
        if self._revision == 0:
            return await self._kv.create(self.key, value)
        return await self._kv.update(self.key, value, last=self._revision)

    async def _read(self) -> RateUsage | None:
        try:
            entry = await self._kv.get(self.key)
        except nats.js.errors.KeyNotFoundError:
            self._revision = 0
            return None
        except UNREACHABLE as exc:
            raise EventStoreUnavailable(
                f"cannot read the rate-limit usage {self.key} in NATS "
                f"({type(exc).__name__}); check that nats-server is running"
            ) from exc
        self._revision = int(entry.revision or 0)
        return _parsed(entry.value, self.key)


def _described(usage: RateUsage) -> str:
    counted = sum(len(e.ages_ms) + e.in_flight for e in usage.limiters.values())
    line = f"counting the previous owner's {counted} recent requests"
    if usage.final:
        return line + " (its final usage)"
    gap = usage.until - usage.written_at
    most = sum(e.allowance for e in usage.limiters.values())
    return line + f" and, for the {gap:.0f} s after its last usage, up to {most} more"


def _parsed(raw: bytes | None, key: str) -> RateUsage | None:
    try:
        return RateUsage.model_validate_json(raw or b"")
    except ValidationError:
        log.warning("the stored rate usage %s is not readable: ignored", key)
        return None


@contextlib.asynccontextmanager
async def handed_over_limits(
    kv: KeyValue, key: str, tenant: str, owned: Owned
) -> AsyncIterator[UsageBook]:
    """While inside, the limiters built join a book for ``key``: seeded from the stored
    usage, and publishing theirs while ``owned()``; a final usage is stored on the way
    out (the caller's work has stopped by then)."""
    book = UsageBook(tenant)
    handover = RateHandover(kv, key, book, owned)
    await handover.start()
    keeper = asyncio.create_task(handover.keep(), name=f"rate usage {handover.key}")
    try:
        with book.current():
            yield book
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        book.hold(-math.inf)  # the work has stopped: nothing more starts, stored or not
        await handover.publish(final=True)
