"""Data keys made ahead of the records that need them, off the event loop.

A new customer's sealed name needs a new data key, durable (``keys.db``,
``synchronous=FULL``) before the record that uses it is acknowledged. Made where the
ingest asks for it, that is one SQLite transaction and fsync on the event loop per new
customer, holding every other delivery still. :class:`KeysAhead` makes them before the
ingest instead: the key ids asked for while one batch is written join the next one, and
each batch is one transaction (``SqliteKeyStore.create_missing``) on a worker thread.
A caller returns once its keys are durable and cached, so the ingest then finds them
without touching SQLite. A key store that cannot batch (the in-memory one) is asked
key by key, as the ingest would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from syncledger.core.keystore import KeyStore


@runtime_checkable
class BatchKeyStore(Protocol):
    """A key store that makes many keys in one durable write (``SqliteKeyStore``)."""

    def uncached(self, key_ids: Iterable[str]) -> list[str]: ...

    def create_missing(self, key_ids: Iterable[str]) -> None: ...


class KeysAhead:
    """Makes data keys in batches on a worker thread (module docstring)."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys
        #: checked once: a Protocol isinstance check costs more than the rest of ``ready``
        self._batch = keys if isinstance(keys, BatchKeyStore) else None
        self._wanted: set[str] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._writer: asyncio.Task[None] | None = None

    async def ready(self, key_ids: Iterable[str]) -> None:
        """Return once every key of ``key_ids`` exists durably (a shredded one is left
        shredded: the ingest refuses it as before)."""
        pending = self.ask(key_ids)
        if pending is not None:
            await pending

    def ask(self, key_ids: Iterable[str]) -> asyncio.Future[None] | None:
        """Start making the keys of ``key_ids`` that are missing; the future to await
        before they are used (None: none was missing). A caller that stops waiting calls
        :func:`forget` on it."""
        keys = self._batch
        if keys is None:
            for key_id in key_ids:
                self._keys.data_key(key_id, create=True)
            return None
        fresh = keys.uncached(key_ids)
        if not fresh:
            return None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wanted.update(fresh)
        self._waiters.append(done)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(keys))
        return done

    async def _write(self, keys: BatchKeyStore) -> None:
        """Batch after batch until nobody waits; every waiter gets its batch's outcome."""
        while self._waiters:
            wanted, waiters = self._wanted, self._waiters
            self._wanted, self._waiters = set(), []
            try:
                await asyncio.to_thread(keys.create_missing, wanted)
            except asyncio.CancelledError as stop:  # the loop is closing
                _settle([*waiters, *self._waiters], stop)
                raise
            except Exception as exc:  # this batch's callers get it; the next batch is tried
                _settle(waiters, exc)
            else:
                _settle(waiters, None)


def _settle(waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    for waiter in waiters:
        if waiter.done():
            continue  # its caller went away (the sender hung up)
        if exc is None:
            waiter.set_result(None)
        elif isinstance(exc, asyncio.CancelledError):
            waiter.cancel()
        else:
            waiter.set_exception(exc)


def forget(pending: asyncio.Future[None] | None) -> None:
    """No one awaits ``pending`` any more: its outcome, whatever it is, is dropped (the
    keys are still made; a failure is raised to the next caller that needs them)."""
    if pending is not None:
        pending.add_done_callback(_retrieved)


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()
