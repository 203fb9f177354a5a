"""How a document's writes and its read-back reach Odoo: one call each (``OneByOne``), or,
for the documents of one ``create_many``, one call per stage for all of them
(``Gathered``).

Odoo's ORM takes many records per call: ``create`` is ``@api.model_create_multi`` (a
list of values, the new ids returned in the same order: ``odoo/orm/models.py``
``BaseModel.create``), and record methods run on a recordset, so ``action_post``
(``addons/account/models/account_move.py``; ``account_payment.py`` for payments) and
``search_read`` on ``id in`` take many ids. Every RPC call is one transaction
(``addons/rpc/controllers/json2.py``; XML-RPC's ``execute_kw`` likewise): a call Odoo
refuses (``UserError``, ``ValidationError``, ...) changed nothing, so a refused stage is
sent again one record per call and only the record Odoo refuses fails.

``create_many`` runs each document's operation unchanged, through its own journal (each
step's intent is logged before the call that carries it, so a call whose answer is lost
is looked up per record by our reference, never sent blind). Each operation is a member
of a ``Gathering``: where it would send its ``create``, its ``action_post`` or its
read-back, it waits in that stage; once every member still running waits, the earliest
stage is sent as one call for all its members.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from syncledger.core.errors import LedgerError, PermanentLedgerError
from syncledger.core.ports import LedgerRecord

#: the calls of one stage for many members: one result (or exception) per item, in order
Send = Callable[[list[Any]], Awaitable[list[Any]]]
Write = Callable[..., Awaitable[Any]]
Read = Callable[[str, list[int]], Awaitable[list[LedgerRecord]]]
#: stages in the order an operation reaches them (the earliest waiting is sent first)
STAGES = ("create", "post", "read")


class Calls(Protocol):
    """A document's (or payment's) ``create``, ``action_post`` and read-back."""

    async def create(self, kind: str, vals: dict[str, Any]) -> int: ...

    async def post(self, kind: str, ident: int) -> None: ...

    async def read(self, kind: str, ident: int) -> LedgerRecord: ...


class OneByOne:
    """Each call on its own."""

    def __init__(self, write: Write, read: Read) -> None:
        self._write = write
        self._read = read

    async def create(self, kind: str, vals: dict[str, Any]) -> int:
        [ident] = await self._write(kind, "create", vals_list=[vals])
        return int(ident)

    async def post(self, kind: str, ident: int) -> None:
        await self._write(kind, "action_post", ids=[ident])

    async def read(self, kind: str, ident: int) -> LedgerRecord:
        return _one(kind, ident, await self._read(kind, [ident]))


class Gathered:
    """The calls of a ``Gathering``'s members, one call per stage and kind."""

    def __init__(self, gathering: Gathering, write: Write, read: Read) -> None:
        self._gathering = gathering
        self._write = write
        self._read = read

    async def create(self, kind: str, vals: dict[str, Any]) -> int:
        return int(await self._gathering.join(("create", kind), vals, self._creates(kind)))

    async def post(self, kind: str, ident: int) -> None:
        await self._gathering.join(("post", kind), ident, self._posts(kind))

    async def read(self, kind: str, ident: int) -> LedgerRecord:
        record: LedgerRecord = await self._gathering.join(("read", kind), ident, self._reads(kind))
        return record

    def _creates(self, kind: str) -> Send:
        async def send(vals_list: list[Any]) -> list[Any]:
            ids = await self._write(kind, "create", vals_list=vals_list)
            return [int(i) for i in ids]

        return _alone_when_refused(send)

    def _posts(self, kind: str) -> Send:
        async def send(ids: list[Any]) -> list[Any]:
            await self._write(kind, "action_post", ids=ids)
            return [None] * len(ids)

        return _alone_when_refused(send)

    def _reads(self, kind: str) -> Send:
        async def send(ids: list[Any]) -> list[Any]:
            records = {r.ledger_id: r for r in await self._read(kind, list(ids))}
            return [records.get(str(i)) or missing(kind, i) for i in ids]

        return send


class Gathering:
    """Members (concurrent operations) whose calls wait in stages; when no member is
    running, the earliest stage with waiters is sent, as one ``Send`` for them all."""

    def __init__(self) -> None:
        self._running = 0
        self._waiting: dict[tuple[str, str], list[tuple[Any, asyncio.Future[Any]]]] = {}
        self._senders: dict[tuple[str, str], Send] = {}
        self._sending: set[asyncio.Task[None]] = set()

    def expect(self, members: int) -> None:
        """``members`` operations are about to start."""
        self._running += members

    async def join(self, stage: tuple[str, str], item: Any, send: Send) -> Any:
        """Wait in ``stage`` with ``item``; its result once the stage is sent."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(stage, []).append((item, future))
        self._senders.setdefault(stage, send)
        self._running -= 1
        self._maybe_send()
        return await future

    def leave(self) -> None:
        """A member is done (or failed): it joins no stage any more."""
        self._running -= 1
        self._maybe_send()

    def _maybe_send(self) -> None:
        if self._running > 0 or not self._waiting:
            return
        stage = min(self._waiting, key=lambda s: (STAGES.index(s[0]), s[1]))
        waiters = self._waiting.pop(stage)
        self._running += len(waiters)
        task = asyncio.get_running_loop().create_task(self._send(stage, waiters))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(
        self, stage: tuple[str, str], waiters: list[tuple[Any, asyncio.Future[Any]]]
    ) -> None:
        try:
            results = await self._senders[stage]([item for item, _ in waiters])
        except Exception as exc:  # every member of the stage gets it (translated already)
            results = [exc] * len(waiters)
        for (_, future), result in zip(waiters, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _alone_when_refused(send: Send) -> Send:
    """``send`` for all; when Odoo refuses the call (its transaction rolled back, nothing
    written), each item alone, so only the refused ones fail."""

    async def sending(items: list[Any]) -> list[Any]:
        try:
            return await send(items)
        except PermanentLedgerError:
            if len(items) == 1:
                raise
        return [await _alone(send, item) for item in items]

    return sending


async def _alone(send: Send, item: Any) -> Any:
    """One item's result, or its error (a lost answer is that item's alone)."""
    try:
        [result] = await send([item])
    except LedgerError as exc:
        return exc
    return result


def _one(kind: str, ident: int, records: Sequence[LedgerRecord]) -> LedgerRecord:
    if not records:
        raise missing(kind, ident)
    return records[0]


def missing(kind: str, ident: object) -> PermanentLedgerError:
    """Odoo has no record ``ident`` of ``kind``."""
    return PermanentLedgerError(
        f"Odoo has no {kind} {ident}: it was deleted or never created; check the link",
        code="odoo.exceptions.MissingError",
    )
