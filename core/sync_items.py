"""Ledger items: every item a document's lines name is in the ledger before the document
goes, created only where the mapping's item policy says so."""

from __future__ import annotations

import hashlib

from syncledger.core.events import LedgerItemCreated, LedgerItemRequested
from syncledger.core.model import CreditNote, Invoice
from syncledger.core.ports import ItemWrite
from syncledger.core.sync_context import SyncContext, Work
from syncledger.core.sync_log import SyncLog
from syncledger.core.validation import LEDGER_ITEM_MISSING


class Items:
    def __init__(self, ctx: SyncContext, log: SyncLog) -> None:
        self._ctx = ctx
        self._log = log

    async def ensure(self, work: Work, document: Invoice | CreditNote) -> tuple[str, str] | None:
        """Every item the document's lines name is in the ledger before the document goes
        (the adapter books each line to it). A code the mapping sends to a ledger item must
        name one; an unlisted code is created only under ``unmatched = "create"`` (with no
        mapping file, nothing is created). A refusal is a reason to reject the record."""
        for code in dict.fromkeys(line.item_code for line in document.lines if line.item_code):
            missing = await self._ensure_one(work, code)
            if missing is not None:
                return missing
        return None

    async def _ensure_one(self, work: Work, code: str) -> tuple[str, str] | None:
        ctx = self._ctx
        item = await ctx.ledger.find_item(code)
        if item is not None:
            if code in ctx.state.items and ctx.state.items[code] is None:
                await self._created(work, code, item.ledger_id, recovered=True)
            return None
        if ctx.mapping is None or not ctx.mapping.items.creates(code):
            return LEDGER_ITEM_MISSING, self._missing(code)
        if code not in ctx.state.items:
            await self._log.emit(
                work,
                LedgerItemRequested(
                    source_ref=str(work.ref),
                    ledger=ctx.name,
                    code=code,
                    mapping_version=ctx.mapping_version,
                ),
            )
        key = hashlib.sha256(f"item\x00{code}\x00{ctx.name}".encode()).hexdigest()
        ctx.check_owner()
        made = await ctx.ledger.create_item(ItemWrite(code, idempotency_key=key))
        await self._created(work, code, made.ledger_id, recovered=False)
        return None

    async def _created(self, work: Work, code: str, item_id: str, *, recovered: bool) -> None:
        await self._log.emit(
            work,
            LedgerItemCreated(
                source_ref=str(work.ref),
                ledger=self._ctx.name,
                code=code,
                ledger_item_ref=item_id,
                recovered=recovered,
            ),
        )

    def _missing(self, code: str) -> str:
        ledger, mapping = self._ctx.name, self._ctx.mapping
        if mapping is None:
            return (
                f"a line is booked to item {code!r}, which {ledger} does not have, and with no "
                f"mapping file the sync creates no items: create {code!r} in {ledger} or map "
                "the code in [items.map]"
            )
        if code in mapping.items.items.values():
            sources = sorted(k for k, v in mapping.items.items.items() if v == code)
            return (
                f"[items.map] of {mapping.source} sends {', '.join(map(repr, sources))} "
                f"to item {code!r}, which {ledger} does not have: create it in {ledger} or "
                "correct the entry"
            )
        return (
            f"a line is booked to item {code!r}, which {ledger} does not have, and the item "
            f'policy of {mapping.source} is unmatched = "{mapping.items.unmatched}"'
            f": create {code!r} in {ledger} or map the code in [items.map]"
        )
