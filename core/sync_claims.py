"""Push intents: ``LedgerPushRequested`` is appended before the ledger call, checked
against the record's ledger subject so two processes never both write one intent."""

from __future__ import annotations

import logging

from syncledger.core.errors import ConcurrencyError
from syncledger.core.events import LedgerPushRequested
from syncledger.core.sync_context import Outcome, SyncContext, Work
from syncledger.core.sync_log import SyncLog

log = logging.getLogger("syncledger.core.sync")


class Claims:
    def __init__(self, ctx: SyncContext, log: SyncLog) -> None:
        self._ctx = ctx
        self._log = log

    async def claim(self, work: Work) -> bool:
        """Append the push's intent, checked against the record's ledger subject as this
        process last saw it. When another writer appended there first and its events show
        this push asked for (or done) already, the intent is not ours: False, and the
        record is tried again later as a recovery (a lookup by our reference before any
        write), so two processes never both write one intent."""
        subject = self._log.subject(work)
        for _ in range(3):
            self._ctx.check_owner()
            try:
                await self._log.append_once(subject, self._requested(work), work)
                return True
            except ConcurrencyError:
                await self._log.refresh(subject)
                if _taken(work):
                    return False
        return False

    async def claim_many(self, works: list[Work]) -> list[bool]:
        """Claim many intents in one atomic append; on a conflict, one by one."""
        try:
            await self._log.append_many([(w, self._requested(w)) for w in works], fallback=False)
        except ConcurrencyError:
            return [await self.claim(w) for w in works]
        return [True] * len(works)

    def elsewhere(self, work: Work) -> Outcome:
        log.warning(
            "%s: another process asked the ledger for this push first; checking again later",
            work.ref,
        )
        return Outcome("retry", str(work.ref), max(self._ctx.base_delay, 10.0))

    def _requested(self, work: Work) -> LedgerPushRequested:
        return LedgerPushRequested(
            source_ref=str(work.ref),
            ledger=self._ctx.name,
            operation=work.operation,
            idempotency_key=work.key,
            mapping_version=self._ctx.mapping_version,
            content_sha256=work.content_sha,
            applied=work.applied,
        )


def _taken(work: Work) -> bool:
    rec = work.state
    done = rec.pushed_sha == work.content_sha and rec.overwrite_id is None
    if rec.pending_key == work.key or done:
        return True
    return work.operation == "create" and rec.ledger_ref is not None
