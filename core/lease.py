"""The push lease: exactly one process pushes an entity+ledger at a time (DESIGN §5).

The lease is a key in the JetStream KV bucket ``SL_LEASES`` (``push.<entity>.<ledger>``),
so it holds for the embedded server and a cluster alike, across processes and machines:

- taken by ``create`` (refused while the key exists), its value saying who holds it
  (owner id, pid, host, command, since);
- renewed every TTL/3 by ``update`` with the last revision: the revision is the fencing
  token, so a renewal after someone else took the key fails;
- it lapses by itself: the bucket's ``max_age`` is the TTL, so a killed owner's key is gone
  after at most one TTL without a renewal;
- released on a clean exit by ``delete`` with the last revision.

An owner whose renewal failed (revision moved, key gone, or the server unreachable past
the local deadline) is *fenced*: ``check()``, which the sync calls before every ledger
write, raises ``OwnershipLost`` from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import api as js_api
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, ValidationError

from syncledger.core.errors import (
    ConfigurationError,
    EventStoreUnavailable,
    LeaseHeld,
    OwnershipLost,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE_BUCKET = "SL_LEASES"
#: what a lost connection to NATS looks like from nats-py (translated here, never passed on)
_UNREACHABLE = (nats.errors.Error, OSError, asyncio.TimeoutError)
UNREACHABLE = _UNREACHABLE
#: the local deadline is this share of the TTL short of the server's expiry
_SAFETY = 0.1
#: how long a process waiting for the lease keeps trying while NATS does not answer
UNREACHABLE_GRACE_S = 30.0


def lease_key(entity: str, ledger: str) -> str:
    """``push.<entity>.<ledger>`` in KV key characters (anything else becomes ``_``)."""
    return f"push.{_key_part(entity)}.{_key_part(ledger)}"


def _key_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_=-]", "_", text) or "_"


def this_command() -> str:
    """The syncledger command this process runs, without its arguments (no paths, no
    secrets): ``syncledger run``, ``syncledger import --backfill``."""
    args = sys.argv[1:]
    words = [a for a in args if not a.startswith("-")][:1]
    flags = [a for a in args if a in ("--once", "--backfill")]
    return " ".join(["syncledger", *words, *flags])


class LeaseHolder(BaseModel):
    """The lease's value: who pushes, since when."""

    model_config = ConfigDict(frozen=True)

    owner: str
    pid: int
    host: str
    command: str
    since: datetime

    def describe(self, scope: str) -> str:
        since = self.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"pushing for {scope} is owned by process {self.pid} on host {self.host} "
            f"since {since} ({self.command})"
        )


def new_holder(command: str | None = None) -> LeaseHolder:
    return LeaseHolder(
        owner=uuid.uuid4().hex,
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command or this_command(),
        since=datetime.now(UTC),
    )


async def open_bucket(nc: NatsClient, ttl: float, replicas: int = 1) -> tuple[KeyValue, float]:
    """The ``SL_LEASES`` bucket (created with ``max_age = ttl`` and ``replicas`` copies in a
    cluster when missing) and the TTL in force: an existing bucket keeps its own, which
    every process then follows."""
    js = nc.jetstream(timeout=min(5.0, ttl / 3))
    try:
        try:
            kv = await js.key_value(LEASE_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            kv = await _create_bucket(js, ttl, replicas)
        bucket_ttl = float((await kv.status()).ttl or 0)
    except _UNREACHABLE as exc:
        raise EventStoreUnavailable(
            f"cannot open the {LEASE_BUCKET} lease bucket in NATS ({type(exc).__name__}); "
            "check that nats-server is running and this user may use that bucket"
        ) from exc
    if bucket_ttl <= 0:
        raise ConfigurationError(
            f"the {LEASE_BUCKET} bucket has no TTL (max_age), so a killed owner's lease would "
            "never lapse; delete the KV_SL_LEASES stream as the NATS admin while nothing runs"
        )
    if abs(bucket_ttl - ttl) > 1e-3:
        log.warning(
            "the %s bucket's TTL is %.1f s, not the configured %.1f s: %.1f s applies "
            "(to change it, delete the KV_SL_LEASES stream as the NATS admin while nothing runs)",
            LEASE_BUCKET,
            bucket_ttl,
            ttl,
            bucket_ttl,
        )
    return kv, bucket_ttl


async def _create_bucket(js: nats.js.JetStreamContext, ttl: float, replicas: int) -> KeyValue:
    config = js_api.KeyValueConfig(
        bucket=LEASE_BUCKET,
        description="syncledger push leases: one owner per entity+ledger",
        history=1,
        ttl=ttl,
        storage=js_api.StorageType.FILE,
        replicas=replicas,  # a cluster keeps the leases through the loss of a minority
        direct=False,  # reads go to the stream leader: a replica's copy may be stale
    )
    try:
        return await js.create_key_value(config)
    except nats.js.errors.BadRequestError:  # created meanwhile by another process
        return await js.key_value(LEASE_BUCKET)


class PushLease:
    """This process's claim on pushing one entity+ledger; see the module docstring."""

    def __init__(self, kv: KeyValue, ttl: float, scope: str, key: str, me: LeaseHolder) -> None:
        self._kv, self._ttl, self.scope, self.key, self.me = kv, ttl, scope, key, me
        self._revision = 0
        self._deadline = 0.0  # time.monotonic() after which we may no longer be the owner
        self._fenced: str | None = "not taken yet"
        self._keeper: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    @classmethod
    async def open(
        cls,
        nc: NatsClient,
        entity: str,
        ledger: str,
        ttl: float,
        command: str | None = None,
        *,
        replicas: int = 1,
    ) -> PushLease:
        kv, bucket_ttl = await open_bucket(nc, ttl, replicas)
        return cls(
            kv, bucket_ttl, f"{entity}/{ledger}", lease_key(entity, ledger), new_holder(command)
        )

    # ------------------------------------------------------------------ taking

    async def take(self) -> LeaseHolder | None:
        """Take the lease if nobody holds it: None when taken, else who holds it."""
        for _ in range(3):  # a key that lapses between our two requests is tried again
            holder = await self._try_create()
            if holder is not _NOBODY:
                return holder
        return _UNKNOWN

    async def _try_create(self) -> LeaseHolder | None:
        self.me = self.me.model_copy(update={"owner": uuid.uuid4().hex, "since": datetime.now(UTC)})
        sent = time.monotonic()
        try:
            self._revision = await self._kv.create(self.key, self._value())
        except nats.js.errors.KeyWrongLastSequenceError:
            return await self._holder()
        except _UNREACHABLE as exc:
            raise EventStoreUnavailable(
                f"cannot take the push lease for {self.scope}: NATS did not answer "
                f"({type(exc).__name__}); check that nats-server is running"
            ) from exc
        self._held_from(sent)
        self._keeper = asyncio.create_task(self._keep(), name=f"lease {self.key}")
        return None

    async def take_or_raise(self) -> None:
        """Take the lease or raise ``LeaseHeld``; a holder that has visibly ended (same
        host, pid gone) is waited out, which takes at most one TTL."""
        holder = await self.take()
        if holder is not None and self._ended(holder):
            holder = await self._take_within(2 * self._ttl)
        if holder is not None:
            raise LeaseHeld(self.describe(holder))

    async def _take_within(self, seconds: float) -> LeaseHolder | None:
        end = time.monotonic() + seconds
        holder = await self.take()
        while holder is not None and time.monotonic() < end:
            await asyncio.sleep(min(1.0, self._ttl / 5))
            holder = await self.take()
        return holder

    def describe(self, holder: LeaseHolder) -> str:
        """Who pushes; noting when that process has visibly ended."""
        text = holder.describe(self.scope)
        if self._ended(holder):
            text += f" (that process has ended: its lease lapses within {self._ttl:.0f} s)"
        return text

    def _ended(self, holder: LeaseHolder) -> bool:
        return holder.host == self.me.host and not _alive(holder.pid)

    async def wait(
        self, stop: asyncio.Event | None, on_wait: Callable[[LeaseHolder], None]
    ) -> bool:
        """Until this process holds the lease (True) or ``stop`` is set (False);
        ``on_wait`` is told once who holds it when the first try fails. NATS may be away
        for up to ``UNREACHABLE_GRACE_S`` at a time (a restart) before this gives up."""
        stop = stop or asyncio.Event()
        told, away_since = False, None
        while not stop.is_set():
            try:
                holder = await self.take()
            except EventStoreUnavailable:
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > UNREACHABLE_GRACE_S:
                    raise
            else:
                if holder is None:
                    return True
                away_since = None
                if not told:
                    on_wait(holder)
                    told = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, self._ttl / 5))
        return False

    async def _holder(self) -> LeaseHolder:
        """Who holds the key (``_NOBODY`` if it lapsed or was released meanwhile)."""
        try:
            entry = await self._kv.get(self.key)
        except nats.js.errors.KeyNotFoundError:
            return _NOBODY
        except _UNREACHABLE as exc:
            raise EventStoreUnavailable(
                f"cannot read the push lease for {self.scope}: NATS did not answer "
                f"({type(exc).__name__}); check that nats-server is running"
            ) from exc
        try:
            return LeaseHolder.model_validate_json(entry.value or b"")
        except ValidationError:
            return _UNKNOWN

    # ------------------------------------------------------------------ holding

    def check(self) -> None:
        """Raise ``OwnershipLost`` unless this process still holds the lease (cheap, local:
        the sync calls it before every ledger write)."""
        self._expire_if_due()
        if self._fenced is not None:
            raise OwnershipLost(f"this process stopped pushing for {self.scope}: {self._fenced}")

    @property
    def ttl(self) -> float:
        """The bucket's TTL this lease lapses after."""
        return self._ttl

    @property
    def held(self) -> bool:
        """Whether this process may still push (the local deadline not passed, not fenced)."""
        self._expire_if_due()
        return self._fenced is None

    async def until_lost(self) -> None:
        """Returns once this process may no longer push: fenced, released, or the local
        deadline passed without a renewal (it does not wait for the renewal turn to notice,
        so work stopped on it stops before the server lets the key lapse)."""
        while self.held:
            remaining = self._deadline - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.lost.wait(), timeout=max(remaining, 0.0))

    async def while_held(self, work: Awaitable[T]) -> T | None:
        """``work`` while the lease is held: not started when it is not, cancelled as soon
        as it is lost (None then). The jobs only an owner does run through this."""
        if not self.held:
            if inspect.iscoroutine(work):
                work.close()
            return None
        task = asyncio.ensure_future(work)
        watch = asyncio.ensure_future(self.until_lost())
        try:
            await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(watch, task, return_exceptions=True)
        return None if task.cancelled() else task.result()

    async def _keep(self) -> None:
        """Renew every TTL/3 until fenced (or cancelled by ``release``)."""
        while self._fenced is None:
            await asyncio.sleep(self._ttl / 3)
            await self.renew()

    async def renew(self) -> None:
        """One renewal: ``update`` with the last revision (the fencing token)."""
        if self._fenced is not None:
            return
        sent = time.monotonic()
        try:
            self._revision = await self._update()
        except nats.js.errors.KeyWrongLastSequenceError:
            self._fence("another process took the lease, or it lapsed")
            return
        except _UNREACHABLE as exc:  # try again next turn, unless the deadline has passed
            log.warning("renewing the push lease for %s failed: %s", self.scope, type(exc).__name__)
            self._expire_if_due()
            return
        self._held_from(sent)

    async def _update(self) -> int:
        try:
            return await self._kv.update(self.key, self._value(), last=self._revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            if not await self._still_mine():  # our last renewal may have landed unanswered
                raise
            return await self._kv.update(self.key, self._value(), last=self._revision)

    async def _still_mine(self) -> bool:
        """Whether the key still holds our owner id; if so, adopt its revision."""
        try:
            entry = await self._kv.get(self.key)
        except nats.js.errors.KeyNotFoundError:
            return False
        if self._owner_of(entry.value) != self.me.owner:
            return False
        self._revision = int(entry.revision or 0)
        return True

    def _expire_if_due(self) -> None:
        if self._fenced is None and time.monotonic() >= self._deadline:
            self._fence("it was not renewed before it lapsed (NATS unreachable?)")

    async def release(self) -> None:
        """Stop renewing; delete the key with the last revision if it is still ours, so
        the next owner need not wait for the TTL."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        if self._fenced is None:
            self._fenced = "released"
            self.lost.set()
            with contextlib.suppress(*_UNREACHABLE):  # not ours any more, or it lapses anyway
                await self._kv.delete(self.key, last=self._revision)

    # ------------------------------------------------------------------ inside

    def _held_from(self, sent: float) -> None:
        """The key was written at or after ``sent``: it lives until ``sent + TTL`` at least."""
        self._deadline = sent + self._ttl * (1 - _SAFETY)
        self._fenced = None
        self.lost.clear()

    def _fence(self, why: str) -> None:
        if self._fenced is None:
            log.warning("push lease for %s lost: %s", self.scope, why)
        self._fenced = why
        self.lost.set()

    def _value(self) -> bytes:
        return self.me.model_dump_json().encode()

    @staticmethod
    def _owner_of(raw: bytes | None) -> str | None:
        try:
            return LeaseHolder.model_validate_json(raw or b"").owner
        except ValidationError:
            return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


_EPOCH = datetime.fromtimestamp(0, UTC)
#: a key whose value is not a holder we can read
_UNKNOWN = LeaseHolder(owner="?", pid=0, host="unknown", command="unknown", since=_EPOCH)
#: the key vanished between our two requests
_NOBODY = LeaseHolder(owner="", pid=0, host="", command="", since=_EPOCH)
