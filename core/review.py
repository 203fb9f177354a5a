"""The review queue: records the sync would have had to guess about wait for a person.

Today that is a source customer several ledger customers match (``ReviewRequested``,
reason ``ambiguous_match``). ``syncledger review`` lists the open items with each
candidate's name and why it matched (name / e-mail / tax id: the rules, never our
values, ``core/review_match.py``); ``syncledger review <ref> --link <ledger id>`` or
``--create`` appends ``ReviewResolved``, and the worker links or creates the record and
then retries the records that waited for it (its invoices, their payments).
"""

from __future__ import annotations

from dataclasses import dataclass

from syncledger.core.errors import ConfigurationError, LedgerError
from syncledger.core.events import ReviewResolved, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerAdapter
from syncledger.core.review_match import rules_text
from syncledger.core.store import EventStore
from syncledger.core.subjects import source_subject
from syncledger.core.sync_state import RecordState, SyncState


@dataclass(frozen=True, slots=True)
class ReviewDesk:
    """What the review commands work with: the log, the ledger, and who decides for which
    entity (the composition root opens them: ``syncledger.core.pipeline.review_desk``)."""

    store: EventStore
    ledger: LedgerAdapter
    entity: str
    actor: str

    @property
    def ledger_id(self) -> str:
        return self.ledger.ledger


async def open_reviews(desk: ReviewDesk) -> list[RecordState]:
    state = SyncState(desk.entity, desk.ledger_id)
    await state.load(desk.store)
    return sorted(
        (r for r in state.records.values() if r.review_key is not None and r.ledger_ref is None),
        key=lambda r: r.source_ref,
    )


async def review_text(desk: ReviewDesk) -> str:
    items = await open_reviews(desk)
    if not items:
        return f"no records wait for review on {desk.ledger_id}"
    lines = [f"{len(items)} records wait for review on {desk.ledger_id}:"]
    for item in items:
        lines.append(f"  {item.source_ref}  ({item.review_reason})")
        for candidate in item.review_candidates:
            named = await _describe(desk, item, candidate)
            why = rules_text(matched_by(item, candidate))
            lines.append(f"    candidate {candidate}: {named} ({why})")
    lines.append(
        "decide with: syncledger review <ref> --link <ledger id>  (it is that record)  or  "
        "--create  (it is none of them)"
    )
    return "\n".join(lines)


def matched_by(item: RecordState, ledger_id: str) -> tuple[str, ...] | None:
    """The rules ``ledger_id`` matched ``item`` by; None when they were not recorded."""
    if not item.review_matches:
        return None
    return item.review_matches.get(ledger_id, ())


async def _describe(desk: ReviewDesk, item: RecordState, ledger_id: str) -> str:
    try:
        found = await desk.ledger.get(item.kind or "customer", ledger_id)
    except LedgerError as exc:
        return f"(could not read it: {exc.code or type(exc).__name__})"
    if found is None:
        return "(no longer in the ledger)"
    return found.name or "(no name)"


async def resolve_review(
    desk: ReviewDesk, ref: RecordRef, *, link: str | None, create: bool, note: str = ""
) -> str:
    """Append the decision for one open review item; the worker carries it out."""
    if (link is None) == (not create):
        raise ConfigurationError("give exactly one of --link <ledger id> or --create")
    state = SyncState(desk.entity, desk.ledger_id)
    await state.load(desk.store)
    rec = state.records.get(str(ref))
    if rec is None or rec.review_key is None or rec.ledger_ref is not None:
        raise ConfigurationError(
            f"{ref} is not waiting for review on {desk.ledger_id}: "
            "`syncledger review` lists the records that are"
        )
    if link is not None:
        await _check_target(desk, ref, link)
    payload = ReviewResolved(
        ref=str(ref),
        ledger=desk.ledger_id,
        decision="link" if link is not None else "create",
        ledger_ref=link,
        note=note,
    )
    subject = source_subject(desk.entity, ref)
    await desk.store.append(
        [make_envelope(payload, entity=desk.entity, subject=subject, actor=desk.actor)]
    )
    what = f"link to {desk.ledger_id} {ref.kind} {link}" if link else "create it"
    return f"{ref}: decision recorded ({what}); the worker carries it out next"


async def _check_target(desk: ReviewDesk, ref: RecordRef, ledger_id: str) -> None:
    found = await desk.ledger.get(ref.kind, ledger_id)
    if found is None:
        raise ConfigurationError(
            f"{desk.ledger_id} has no {ref.kind} {ledger_id}: pick one of the candidates "
            "`syncledger review` lists"
        )
    if found.external_ref is not None and found.external_ref != str(ref):
        raise ConfigurationError(
            f"{desk.ledger_id} {ref.kind} {ledger_id} already belongs to "
            f"{found.external_ref}: link {ref} to another, or --create"
        )
