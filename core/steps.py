"""The journal of a multi-write operation (DESIGN §5: one intent and outcome per write).

A record whose ledger effect takes several writes — a credit note and its application, a
refund and its link, a document and its posting — has each write logged on the record's
ledger subject: ``LedgerStepRequested`` before the call, ``LedgerStepSucceeded`` after.
A redelivery or a restart folds those events (``RecordState.steps``) and the adapter's
operation, run again, skips the steps already done, asks the ledger about a step whose
answer was lost (``find``, with the step's own idempotency key behind it), and writes the
rest. A failure of step 2 leaves step 2 without an outcome: the record is not settled
until every step has one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from syncledger.core.errors import LedgerError
from syncledger.core.events import EventData, LedgerStepRequested, LedgerStepSucceeded
from syncledger.core.ports import StepFind, StepResult, StepWrite, step_key
from syncledger.core.sync_state import RecordState

Emit = Callable[[EventData], Awaitable[None]]
Guard = Callable[[], None]


class StepJournal:
    """``WriteSteps`` for one push of one record, logging through the sync's ``emit``."""

    def __init__(
        self,
        *,
        source_ref: str,
        ledger: str,
        key: str,
        state: RecordState,
        emit: Emit,
        guard: Guard | None = None,
    ) -> None:
        self._ref = source_ref
        self._ledger = ledger
        self._key = key
        self._state = state
        self._emit = emit
        self._guard = guard

    async def step(self, name: str, write: StepWrite, find: StepFind) -> StepResult:
        logged = self._state.steps_of(self._key).get(name)
        if logged is not None and logged.done:
            return StepResult(logged.ledger_ref or "", dict(logged.detail))
        if logged is not None:  # asked for before; its answer never reached the log
            found = await find()
            if found is not None:
                await self._succeeded(name, found, recovered=True)
                return found
        else:
            self._check()
            await self._emit(self._requested(name))
        self._check()
        try:
            result = await write(step_key(self._key, name))
        except LedgerError as exc:
            exc.step = name
            raise
        await self._succeeded(name, result, recovered=False)
        return result

    def _check(self) -> None:
        if self._guard is not None:
            self._guard()

    def _requested(self, name: str) -> LedgerStepRequested:
        return LedgerStepRequested(
            source_ref=self._ref,
            ledger=self._ledger,
            idempotency_key=self._key,
            step=name,
            step_key=step_key(self._key, name),
        )

    async def _succeeded(self, name: str, result: StepResult, *, recovered: bool) -> None:
        await self._emit(
            LedgerStepSucceeded(
                source_ref=self._ref,
                ledger=self._ledger,
                idempotency_key=self._key,
                step=name,
                ledger_ref=result.ledger_id,
                detail=dict(result.detail),
                recovered=recovered,
            )
        )
