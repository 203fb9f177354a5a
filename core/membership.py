"""Live ``run`` workers, as the cluster sees them (issue 13, "Owned partitions").

Each worker that owns partitions (``syncledger run --entities``) keeps one key,
``worker.<id>``, in the ``SL_LEASES`` KV bucket the push leases live in (core/lease.py),
so it needs no other bucket or permission and lapses the same way:

- written when the worker starts, rewritten every TTL/3 (a plain ``put``: the key says
  "I am alive", it fences nothing — the push leases do that);
- gone by itself one TTL (the bucket's ``max_age``) after a killed worker's last write;
- deleted when the worker stops cleanly (SIGTERM), so the others take its share at once.

The count of live workers only decides each worker's fair share of partitions
(:mod:`syncledger.core.partitions`); a wrong count for a moment moves partitions
sooner or later, never lets two processes push one partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.js.errors
from nats.js.kv import KeyValue

from syncledger.core.errors import EventStoreUnavailable
from syncledger.core.lease import UNREACHABLE, LeaseHolder, new_holder

log = logging.getLogger(__name__)

WORKER_PREFIX = "worker."


class Membership:
    """This worker's key in the cluster and the count of live workers."""

    def __init__(self, kv: KeyValue, ttl: float, me: LeaseHolder | None = None) -> None:
        self._kv, self._ttl = kv, ttl
        self.me = me or new_holder()
        self.key = WORKER_PREFIX + self.me.owner
        self._keeper: asyncio.Task[None] | None = None

    async def join(self) -> None:
        """Register, and keep the key fresh until :meth:`leave`."""
        await self._write()
        self._keeper = asyncio.create_task(self._keep(), name=f"membership {self.key}")

    async def leave(self) -> None:
        """Stop renewing and delete the key (it lapses anyway if NATS is away)."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        with contextlib.suppress(*UNREACHABLE, nats.js.errors.Error):
            await self._kv.delete(self.key)

    async def live(self) -> list[str]:
        """The live workers' ids (this one included, even before its first write lands)."""
        try:
            keys = await self._kv.keys()  # a handful of keys; filters warn on old servers
        except nats.js.errors.NoKeysError:
            keys = []
        except UNREACHABLE as exc:
            raise EventStoreUnavailable(
                f"cannot list the live workers in NATS ({type(exc).__name__}); "
                "check that nats-server is running"
            ) from exc
        ids = {k.removeprefix(WORKER_PREFIX) for k in keys if k.startswith(WORKER_PREFIX)}
        return sorted(ids | {self.me.owner})

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self._write()
            except EventStoreUnavailable as exc:  # tried again next turn
                log.warning("%s", exc)

    async def _write(self) -> None:
        try:
            await self._kv.put(self.key, self.me.model_dump_json().encode())
        except UNREACHABLE as exc:
            raise EventStoreUnavailable(
                f"cannot register this worker in NATS ({type(exc).__name__}); "
                "check that nats-server is running"
            ) from exc
