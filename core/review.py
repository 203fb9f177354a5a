"""The review queue: records the sync would have had to guess about wait for a person.

Today that is a source customer several ledger customers match (``ReviewRequested``,
reason ``ambiguous_match``). ``syncledger review`` lists the open items with each
candidate's name; ``syncledger review <ref> --link <ledger id>`` or ``--create`` appends
``ReviewResolved``, and the worker links or creates the record and then retries the
records that waited for it (its invoices, their payments).
"""

from __future__ import annotations

from core.bootstrap import open_runtime
from core.errors import ConfigurationError, LedgerError
from core.events import ReviewResolved, make_envelope
from core.ledgers import LedgerHandle, open_ledger
from core.model import RecordRef
from core.settings import Settings
from core.subjects import source_subject
from core.sync_state import RecordState, SyncState


async def open_reviews(settings: Settings) -> list[RecordState]:
    async with open_runtime(settings) as rt:
        state = SyncState(settings.entity, settings.ledger)
        await state.load(rt.store)
    return sorted(
        (r for r in state.records.values() if r.review_key is not None and r.ledger_ref is None),
        key=lambda r: r.source_ref,
    )


async def review_text(settings: Settings) -> str:
    items = await open_reviews(settings)
    if not items:
        return f"no records wait for review on {settings.ledger}"
    ledger = open_ledger(settings)
    lines = [f"{len(items)} records wait for review on {settings.ledger}:"]
    try:
        for item in items:
            lines.append(f"  {item.source_ref}  ({item.review_reason})")
            for candidate in item.review_candidates:
                lines.append(
                    f"    candidate {candidate}: {await _describe(ledger, item, candidate)}"
                )
    finally:
        await ledger.aclose()
    lines.append(
        "decide with: syncledger review <ref> --link <ledger id>  (it is that record)  or  "
        "--create  (it is none of them)"
    )
    return "\n".join(lines)


async def _describe(ledger: LedgerHandle, item: RecordState, ledger_id: str) -> str:
    try:
        found = await ledger.adapter.get(item.kind or "customer", ledger_id)
    except LedgerError as exc:
        return f"(could not read it: {exc.code or type(exc).__name__})"
    if found is None:
        return "(no longer in the ledger)"
    return found.name or "(no name)"


async def resolve_review(
    settings: Settings, ref: RecordRef, *, link: str | None, create: bool, note: str = ""
) -> str:
    """Append the decision for one open review item; the worker carries it out."""
    if (link is None) == (not create):
        raise ConfigurationError("give exactly one of --link <ledger id> or --create")
    async with open_runtime(settings) as rt:
        state = SyncState(settings.entity, settings.ledger)
        await state.load(rt.store)
        rec = state.records.get(str(ref))
        if rec is None or rec.review_key is None or rec.ledger_ref is not None:
            raise ConfigurationError(
                f"{ref} is not waiting for review on {settings.ledger}: "
                "`syncledger review` lists the records that are"
            )
        if link is not None:
            await _check_target(settings, ref, link)
        payload = ReviewResolved(
            ref=str(ref),
            ledger=settings.ledger,
            decision="link" if link is not None else "create",
            ledger_ref=link,
            note=note,
        )
        subject = source_subject(settings.entity, ref)
        await rt.store.append(
            [make_envelope(payload, entity=settings.entity, subject=subject, actor=settings.actor)]
        )
    what = f"link to {settings.ledger} {ref.kind} {link}" if link else "create it"
    return f"{ref}: decision recorded ({what}); the worker carries it out next"


async def _check_target(settings: Settings, ref: RecordRef, ledger_id: str) -> None:
    ledger = open_ledger(settings)
    try:
        found = await ledger.adapter.get(ref.kind, ledger_id)
    finally:
        await ledger.aclose()
    if found is None:
        raise ConfigurationError(
            f"{settings.ledger} has no {ref.kind} {ledger_id}: pick one of the candidates "
            "`syncledger review` lists"
        )
    if found.external_ref is not None and found.external_ref != str(ref):
        raise ConfigurationError(
            f"{settings.ledger} {ref.kind} {ledger_id} already belongs to "
            f"{found.external_ref}: link {ref} to another, or --create"
        )
