"""Legal holds and retention: fiscal-year arithmetic, holds override, shredding as events."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from syncledger.audit.checkpoints import checkpoint_now
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import HoldError
from syncledger.audit.holds import HoldBook, place_hold, release_hold
from syncledger.audit.index import LogIndex
from syncledger.audit.retention import (
    RetentionPolicy,
    fiscal_year_end,
    retained_until,
    run_retention,
)
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.trace import trace_record
from syncledger.audit.verifylog import verify_log
from syncledger.core.errors import ConfigurationError, SubjectErased
from syncledger.core.keystore import subject_key_id

START = datetime(2020, 5, 1, tzinfo=UTC)
C0, C1, C2 = (f"hubspot/customer/c{i}" for i in range(3))
LATER = date(2030, 1, 1)


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data", actor="compliance@acme")
    asyncio.run(write_sample_log(context.store, context.keystore, start=START))
    context.audit_dir.mkdir(parents=True, exist_ok=True)
    (context.audit_dir / "roles.toml").write_text('compliance = ["compliance@acme"]\n')
    return context


def run(ctx: AuditContext, *, apply: bool, as_of: date = LATER, years: int = 7):  # type: ignore[no-untyped-def]
    return asyncio.run(
        run_retention(ctx, RetentionPolicy(default_years=years), as_of=as_of, apply=apply)
    )


def test_fiscal_year_arithmetic() -> None:
    assert fiscal_year_end(date(2020, 5, 1), 12) == date(2020, 12, 31)
    assert fiscal_year_end(date(2020, 5, 1), 3) == date(2021, 3, 31)
    assert fiscal_year_end(date(2020, 3, 31), 3) == date(2020, 3, 31)
    assert fiscal_year_end(date(2020, 1, 15), 2) == date(2020, 2, 29)
    assert retained_until(date(2020, 5, 1), 7, 12) == date(2027, 12, 31)
    assert retained_until(date(2020, 1, 15), 1, 2) == date(2021, 2, 28)


def test_policy_years_per_record_kind(tmp_path: Path) -> None:
    path = tmp_path / "retention.toml"
    path.write_text("fiscal_year_end_month = 6\ndefault_years = 7\n[years]\ninvoice = 10\n")
    policy = RetentionPolicy.load(path)
    assert (policy.years_for("invoice"), policy.years_for("customer")) == (10, 7)
    path.write_text("fiscal_year_end_month = 13\n")
    with pytest.raises(ConfigurationError):
        RetentionPolicy.load(path)


def test_nothing_expires_before_its_time(ctx: AuditContext) -> None:
    report = run(ctx, apply=False, as_of=date(2027, 12, 31))
    assert {d.status for d in report.decisions} == {"retain"}
    assert {d.customer for d in report.decisions} == {C0, C1, C2}
    assert all(d.retained_until == date(2027, 12, 31) for d in report.decisions)


def test_the_longest_kind_decides(ctx: AuditContext) -> None:
    policy = RetentionPolicy(default_years=1, years={"invoice": 10})
    report = asyncio.run(run_retention(ctx, policy, as_of=LATER, apply=False))
    assert {d.retained_until for d in report.decisions} == {date(2030, 12, 31)}
    assert {d.status for d in report.decisions} == {"retain"}


def test_dry_run_changes_nothing(ctx: AuditContext) -> None:
    before = asyncio.run(ctx.store.last_seq())
    report = run(ctx, apply=False)
    assert len(report.with_status("shred")) == 3
    assert asyncio.run(ctx.store.last_seq()) == before
    assert not ctx.keystore.is_shredded(subject_key_id("acme", C0))


def test_apply_shreds_expired_subjects_records_it_and_proofs_still_hold(
    ctx: AuditContext,
) -> None:
    asyncio.run(checkpoint_now(ctx))
    hold = asyncio.run(place_hold(ctx, Scope.parse(f"customer:{C1}"), "tax audit 2029"))
    report = run(ctx, apply=True)
    assert {d.customer for d in report.with_status("shred")} == {C0, C2}
    assert [(d.customer, d.hold_ids) for d in report.with_status("held")] == [(C1, [hold.hold_id])]
    assert ctx.keystore.is_shredded(subject_key_id("acme", C0))
    assert not ctx.keystore.is_shredded(subject_key_id("acme", C1))
    with pytest.raises(SubjectErased):
        ctx.keystore.data_key(subject_key_id("acme", C2))

    index = asyncio.run(LogIndex.build(ctx.store))
    shredded = [ev.data for ev in index.of_type("SubjectKeyShredded")]
    assert {d["customer_ref"] for d in shredded} == {C0, C2}
    assert all(d["reason"] == "retention" and d["run_id"] == report.run_id for d in shredded)
    (summary,) = [ev.data for ev in index.of_type("RetentionRunCompleted")]
    assert (summary["shredded"], summary["held"]) == (2, 1)
    assert summary["held_hold_ids"] == [hold.hold_id]

    assert asyncio.run(verify_log(ctx)).ok  # shredding rewrote no event
    trace = asyncio.run(trace_record(ctx, "hubspot/invoice/i0")).trace
    assert {s.personal.status for s in trace.steps} <= {"none", "erased"}
    assert "erased" in {s.personal.status for s in trace.steps}


def test_a_second_run_finds_nothing_new(ctx: AuditContext) -> None:
    run(ctx, apply=True)
    again = run(ctx, apply=True)
    assert {d.status for d in again.decisions} == {"erased"}
    index = asyncio.run(LogIndex.build(ctx.store))
    assert len(list(index.of_type("SubjectKeyShredded"))) == 3  # not recorded twice


@pytest.mark.parametrize(
    ("scope", "held"),
    [
        ("entity:acme", {C0, C1, C2}),
        ("entity:other", set()),
        ("period:2020-05", {C0, C1, C2}),
        ("period:2019", set()),
        (f"customer:{C2}", {C2}),
        ("case:case-77", {C0, C1, C2}),
    ],
)
def test_every_hold_scope_blocks_shredding(ctx: AuditContext, scope: str, held: set[str]) -> None:
    notice = place_hold(ctx, Scope.parse(scope), "preservation notice", allow_empty=not held)
    asyncio.run(notice)
    report = run(ctx, apply=True)
    assert {d.customer for d in report.with_status("held")} == held
    assert {d.customer for d in report.with_status("shred")} == {C0, C1, C2} - held
    for customer in held:
        assert not ctx.keystore.is_shredded(subject_key_id("acme", customer))


def test_a_case_hold_can_be_limited_to_some_customers(ctx: AuditContext) -> None:
    asyncio.run(place_hold(ctx, Scope.parse("case:case-9"), "subpoena", (C0,)))
    report = run(ctx, apply=False)
    assert [d.customer for d in report.with_status("held")] == [C0]


def test_release_lets_retention_proceed_and_everything_is_in_the_log(ctx: AuditContext) -> None:
    hold = asyncio.run(place_hold(ctx, Scope.parse("entity:acme"), "audit FY2020"))
    assert len(run(ctx, apply=False).with_status("held")) == 3
    released = asyncio.run(release_hold(ctx, hold.hold_id, "audit closed"))
    assert not released.active and released.released_by == "compliance@acme"
    assert len(run(ctx, apply=False).with_status("shred")) == 3
    book = asyncio.run(HoldBook.load(ctx))
    assert book.active() == []
    assert book.holds[hold.hold_id].reason == "audit FY2020"
    assert book.holds[hold.hold_id].placed_by == "compliance@acme"


def test_hold_mistakes_are_refused_with_a_clear_message(ctx: AuditContext) -> None:
    with pytest.raises(HoldError, match="needs a reason"):
        asyncio.run(place_hold(ctx, Scope.parse("entity:acme"), "  "))
    with pytest.raises(HoldError, match="no legal hold"):
        asyncio.run(release_hold(ctx, "hold-nope", "x"))
    hold = asyncio.run(place_hold(ctx, Scope.parse("entity:acme"), "x"))
    asyncio.run(release_hold(ctx, hold.hold_id, "done"))
    with pytest.raises(HoldError, match="already released"):
        asyncio.run(release_hold(ctx, hold.hold_id, "again"))
    with pytest.raises(ConfigurationError):
        Scope.parse("period:2020-13")
