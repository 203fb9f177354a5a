"""Retention: shred the data keys of data subjects whose retention period has ended.

A subject (customer) is kept for ``years(kind)`` after the end of the fiscal year of its
records' documents (document dates, :mod:`syncledger.audit.business_dates`; a record with
no document date counts from its last activity), for every record kind it has; it
expires when the longest of those ends. Each entity may have its own fiscal year end.
An active legal hold that covers it wins over expiry. Shredding destroys the subject's
data keys (crypto-shredding) and appends ``SubjectKeyShredded`` per key, so projections
drop what they derived; the events themselves, and so every proof, stay as they were.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from syncledger.audit.business_dates import DocumentDates, fiscal_year_end, month_end
from syncledger.audit.context import AuditContext
from syncledger.audit.events import RetentionRunCompleted, SubjectKeyShredded
from syncledger.audit.holds import HOLD_EVENTS, HoldBook, SubjectFacts
from syncledger.audit.index import LoggedEvent, LogIndex, SubjectKey
from syncledger.core.errors import ConfigurationError
from syncledger.core.ids import uuid7
from syncledger.core.keystore import subject_key_id


class RetentionPolicy(BaseModel):
    """Years to keep each record kind after the end of the fiscal year of its last activity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fiscal_year_end_month: int = Field(default=12, ge=1, le=12)
    #: per entity: ``[fiscal_year_end_months] acme = 6`` (June year end)
    fiscal_year_end_months: dict[str, Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=dict
    )
    default_years: int = Field(default=7, ge=0)
    years: dict[str, int] = Field(default_factory=dict)

    def years_for(self, kind: str) -> int:
        return self.years.get(kind, self.default_years)

    def end_month(self, entity: str) -> int:
        """The month the entity's fiscal year ends in."""
        return self.fiscal_year_end_months.get(entity, self.fiscal_year_end_month)

    @classmethod
    def load(cls, path: Path) -> RetentionPolicy:
        """From TOML: ``fiscal_year_end_month``, ``default_years``, ``[years] kind = n``."""
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError, PydanticValidationError) as exc:
            raise ConfigurationError(f"retention policy {path} is not valid: {exc}") from exc


def load_policy(ctx: AuditContext, path: Path | None = None) -> RetentionPolicy:
    """``path``, else ``<data dir>/audit/retention.toml`` when it exists, else defaults.
    Holds and exports read the fiscal year ends from it too."""
    chosen = path or ctx.audit_dir / "retention.toml"
    if path is None and not chosen.exists():
        return RetentionPolicy()
    return RetentionPolicy.load(chosen)


def retained_until(last_activity: date, years: int, end_month: int) -> date:
    fy_end = fiscal_year_end(last_activity, end_month)
    return month_end(fy_end.year + years, end_month)


Status = Literal["shred", "held", "retain", "erased"]


@dataclass
class SubjectDecision:
    entity: str
    customer: str
    key_ids: list[str]
    retained_until: date
    status: Status
    hold_ids: list[str] = field(default_factory=list)
    facts: SubjectFacts | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "customer": self.customer,
            "status": self.status,
            "retained_until": self.retained_until.isoformat(),
            "keys": len(self.key_ids),
            "holds": self.hold_ids,
        }


@dataclass
class RetentionReport:
    as_of: date
    applied: bool
    run_id: str
    decisions: list[SubjectDecision]

    def with_status(self, status: Status) -> list[SubjectDecision]:
        return [d for d in self.decisions if d.status == status]

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "applied": self.applied,
            "shredded" if self.applied else "would_shred": [
                d.to_json() for d in self.with_status("shred")
            ],
            "held": [d.to_json() for d in self.with_status("held")],
            "not_expired": len(self.with_status("retain")),
            "already_erased": len(self.with_status("erased")),
        }


def _subject_expiry(
    index: LogIndex, dates: DocumentDates, events: list[LoggedEvent], policy: RetentionPolicy
) -> date:
    last_by_kind: dict[str, date] = {}
    documents = dates.of_subject.get((events[0].entity, events[0].customer or ""))
    latest_document = max(documents) if documents else None
    for ev in events:
        kind = index.record_kind(ev.entity, ev.ref) if ev.ref else "unknown"
        # a record without a document date (the customer) counts from its documents
        day = dates.of_event(ev) or latest_document or ev.occurred_at.date()
        if day > last_by_kind.get(kind, date.min):
            last_by_kind[kind] = day
    end_month = policy.end_month(events[0].entity)
    return max(
        retained_until(day, policy.years_for(kind), end_month) for kind, day in last_by_kind.items()
    )


def _subject_keys(subject: SubjectKey, events: list[LoggedEvent]) -> list[str]:
    keys = {ev.pii_key_id for ev in events if ev.pii_key_id}
    keys.add(subject_key_id(*subject))
    return sorted(k for k in keys if k)


def decide(
    ctx: AuditContext,
    index: LogIndex,
    holds: HoldBook,
    policy: RetentionPolicy,
    as_of: date,
) -> list[SubjectDecision]:
    decisions = []
    dates = DocumentDates.of(index)
    for subject, events in sorted(index.by_subject().items()):
        keys = _subject_keys(subject, events)
        until = _subject_expiry(index, dates, events, policy)
        facts = SubjectFacts(*subject, frozenset(dates.subject_days(subject, events)))
        decision = SubjectDecision(subject[0], subject[1], keys, until, "retain", [], facts)
        if all(ctx.keystore.is_shredded(k) for k in keys):
            decision.status = "erased"
        elif as_of > until:
            covering = holds.covering(facts, policy.end_month(subject[0]))
            decision.hold_ids = [h.hold_id for h in covering]
            decision.status = "held" if covering else "shred"
        decisions.append(decision)
    return decisions


async def run_retention(
    ctx: AuditContext, policy: RetentionPolicy, *, as_of: date | None = None, apply: bool
) -> RetentionReport:
    """Plan (``apply=False``) or carry out a retention run."""
    as_of = as_of or ctx.clock().date()
    index = await LogIndex.build(ctx.store, ctx.meter)
    holds = HoldBook.fold(ev for ev in index.events if isinstance(ev.event, HOLD_EVENTS))
    report = RetentionReport(as_of, apply, uuid7(), decide(ctx, index, holds, policy, as_of))
    if apply:
        await _apply(ctx, index, report, policy)
    return report


async def _apply(
    ctx: AuditContext, index: LogIndex, report: RetentionReport, policy: RetentionPolicy
) -> None:
    fresh_holds = await HoldBook.load(ctx)  # a hold placed since the index was read wins
    recorded = {shred.key_id for _, shred in index.of_class(SubjectKeyShredded)}
    due = report.with_status("shred")
    with ctx.meter("shredding expired keys", len(due)) as advance:
        for decision in due:
            facts = decision.facts or SubjectFacts(decision.entity, decision.customer, frozenset())
            late = fresh_holds.covering(facts, policy.end_month(decision.entity))
            if late:
                decision.status, decision.hold_ids = "held", [h.hold_id for h in late]
            else:
                await _shred(ctx, decision, report, recorded)
            advance(1)
    await _record_earlier_shreds(ctx, index, report, recorded)
    await ctx.append_audit(_summary(report), "retention", report.run_id)


async def _shred(
    ctx: AuditContext, decision: SubjectDecision, report: RetentionReport, recorded: set[str]
) -> None:
    for key_id in decision.key_ids:
        ctx.keystore.shred(key_id)
        if key_id not in recorded:
            event = SubjectKeyShredded(
                key_id=key_id,
                customer_ref=decision.customer,
                reason="retention",
                run_id=report.run_id,
                expired_on=decision.retained_until.isoformat(),
            )
            await ctx.append_audit(event, "shredded", key_id, entity=decision.entity)
            recorded.add(key_id)


async def _record_earlier_shreds(
    ctx: AuditContext, index: LogIndex, report: RetentionReport, recorded: set[str]
) -> None:
    """A key shredded by a run that stopped before recording it gets its event now."""
    for decision in report.with_status("erased"):
        for key_id in decision.key_ids:
            if key_id not in recorded:
                event = SubjectKeyShredded(
                    key_id=key_id,
                    customer_ref=decision.customer,
                    reason="retention",
                    run_id=report.run_id,
                )
                await ctx.append_audit(event, "shredded", key_id, entity=decision.entity)
                recorded.add(key_id)


def _summary(report: RetentionReport) -> RetentionRunCompleted:
    held = report.with_status("held")
    return RetentionRunCompleted(
        run_id=report.run_id,
        as_of=report.as_of.isoformat(),
        shredded=len(report.with_status("shred")),
        held=len(held),
        not_expired=len(report.with_status("retain")),
        held_hold_ids=tuple(sorted({h for d in held for h in d.hold_ids})),
    )
