"""Holds placed by rules on events (issue 18): a dispute, a mismatch above an amount in one
currency, a named customer; each rule holds a customer once, across runs, restarts and two
evaluators at the same time; the hold is placed by ``rule:<name>`` and told to channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncledger.audit import cli
from syncledger.audit.alert_drafts import register as register_audit_drafts
from syncledger.audit.context import AuditContext
from syncledger.audit.events import LegalHoldPlaced, audit_filter
from syncledger.audit.hold_rules import HoldRuleEvaluator, HoldRules, apply_rules
from syncledger.audit.holds import HoldBook, HoldRequest, place, release_hold
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.core.alert_rules import draft_for
from syncledger.core.errors import ConcurrencyError, ConfigurationError
from syncledger.core.events import (
    Envelope,
    EventData,
    InvoiceDisputed,
    MismatchDetected,
    make_envelope,
    subject_for,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
C0, C1, C2 = (f"hubspot/customer/c{n}" for n in range(3))
# write_sample_log: customer c<n> has invoices i<2n> and i<2n+1>
INVOICE_OF = {C0: "hubspot/invoice/i0", C1: "hubspot/invoice/i2", C2: "hubspot/invoice/i4"}


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data", actor="legal@acme")
    asyncio.run(
        write_sample_log(context.store, context.keystore, start=datetime(2025, 1, 5, tzinfo=UTC))
    )
    context.audit_dir.mkdir(parents=True, exist_ok=True)
    (context.audit_dir / "roles.toml").write_text('compliance = ["legal@acme"]\n')
    context.clock = lambda: NOW
    return context


def rules(ctx: AuditContext, text: str) -> None:
    (ctx.audit_dir / "hold_rules.toml").write_text(text)


def append(ctx: AuditContext, payload: EventData, raw_id: str) -> Envelope:
    kind = "mismatch" if isinstance(payload, MismatchDetected) else "invoice"
    category = "recon" if isinstance(payload, MismatchDetected) else "ledger"
    env = make_envelope(
        payload,
        entity=ctx.entity,
        subject=subject_for(ctx.entity, category, "qbo", kind, raw_id),
        actor="sync",
    )
    asyncio.run(ctx.store.append([env]))
    return env


def dispute(ctx: AuditContext, customer: str) -> Envelope:
    ref = INVOICE_OF[customer]
    event = InvoiceDisputed(source_ref=ref, ledger="qbo", credit_note_ref=f"{ref}/dispute")
    return append(ctx, event, ref.rsplit("/", 1)[-1])


def mismatch(ctx: AuditContext, customer: str, at_stake: str, currency: str) -> Envelope:
    ref = INVOICE_OF[customer]
    event = MismatchDetected(
        key=f"amount:{ref}:{currency}:{at_stake}",
        mismatch_type="amount_mismatch",
        ledger="qbo",
        source_ref=ref,
        run_id="run-2",
        at_stake=Decimal(at_stake),
        currency=currency,
    )
    return append(ctx, event, f"{ref.rsplit('/', 1)[-1]}-{currency}-{at_stake}")


def book(ctx: AuditContext) -> HoldBook:
    return asyncio.run(HoldBook.load(ctx))


def placed_events(ctx: AuditContext) -> list[LegalHoldPlaced]:
    async def read() -> list[LegalHoldPlaced]:
        out = []
        async for stored in ctx.store.read(audit_filter("hold")):
            payload = stored.envelope().payload()
            if isinstance(payload, LegalHoldPlaced):
                out.append(payload)
        return out

    return asyncio.run(read())


DISPUTES = """
[[rule]]
name = "disputes"
on = "dispute"
reason = "disputed invoice"
review_after_days = 365
"""

LARGE_EUR = """
[[rule]]
name = "large-eur"
on = "mismatch"
currency = "EUR"
above = "10000.00"
"""


# ---------------------------------------------------------------------- each rule kind


def test_a_dispute_holds_the_invoices_customer_by_the_rules_identity(ctx: AuditContext) -> None:
    rules(ctx, DISPUTES)
    env = dispute(ctx, C1)
    report = asyncio.run(apply_rules(ctx))
    (hold,) = report.placed
    assert hold.scope == Scope("customer", C1)
    assert hold.placed_by == "rule:disputes" and hold.rule == "disputes"
    assert "disputed invoice" in hold.reason and INVOICE_OF[C1] in hold.reason
    assert hold.review_on == date(2026, 6, 1)  # review_after_days = 365 from 2025-06-01
    (event,) = placed_events(ctx)
    assert event.trigger_event == env.id and event.rule == "disputes"
    assert [h.hold_id for h in book(ctx).active()] == [hold.hold_id]


def test_a_mismatch_above_the_amount_in_that_currency_only(ctx: AuditContext) -> None:
    rules(ctx, LARGE_EUR)
    mismatch(ctx, C0, "9999.99", "EUR")  # not above
    mismatch(ctx, C0, "10000.00", "EUR")  # not above: equal
    mismatch(ctx, C1, "50000.00", "USD")  # another currency: no exchange rate is assumed
    mismatch(ctx, C2, "-12000.00", "eur")  # the ledger holds 12,000 more: above
    report = asyncio.run(apply_rules(ctx))
    assert [h.scope.value for h in report.placed] == [C2]
    assert report.placed[0].placed_by == "rule:large-eur"


def test_a_mismatch_rule_can_name_its_types(ctx: AuditContext) -> None:
    rules(ctx, LARGE_EUR + 'mismatch_types = ["tax_mismatch"]\n')
    mismatch(ctx, C0, "20000", "EUR")  # an amount mismatch: not this rule's
    assert asyncio.run(apply_rules(ctx)).placed == []


def test_a_named_customer_as_users_type_it(ctx: AuditContext) -> None:
    rules(ctx, '[[rule]]\nname = "litigation"\non = "customer"\ncustomer = " C2 "\n')
    report = asyncio.run(apply_rules(ctx))
    assert [(h.scope.value, h.placed_by) for h in report.placed] == [(C2, "rule:litigation")]


def test_the_hold_is_told_to_alert_channels_as_hold_placed(ctx: AuditContext) -> None:
    register_audit_drafts()
    rules(ctx, DISPUTES)
    dispute(ctx, C0)
    asyncio.run(apply_rules(ctx))

    async def last_hold() -> Envelope:
        return [s.envelope() async for s in ctx.store.read(audit_filter("hold"))][-1]

    env = asyncio.run(last_hold())
    draft = draft_for(env, env.payload(), {})
    assert draft is not None and draft.topic == "hold" and draft.event_type == "hold.placed"
    assert draft.data["placed_by"] == "rule:disputes"


# ---------------------------------------------------------------------- once


def test_twice_run_places_once_and_a_second_dispute_adds_nothing(ctx: AuditContext) -> None:
    rules(ctx, DISPUTES)
    dispute(ctx, C0)
    evaluator = HoldRuleEvaluator(ctx)
    assert len(asyncio.run(evaluator.turn()).placed) == 1
    again = asyncio.run(evaluator.turn())
    assert again.placed == [] and again.already == 0  # nothing new was read
    dispute(ctx, C0)  # the customer's other dispute: the rule holds it already
    third = asyncio.run(evaluator.turn())
    assert third.placed == [] and third.already == 1
    dispute(ctx, C1)
    assert [h.scope.value for h in asyncio.run(evaluator.turn()).placed] == [C1]
    assert len(placed_events(ctx)) == 2


def test_a_restart_reads_the_log_again_and_places_nothing_twice(ctx: AuditContext) -> None:
    rules(ctx, DISPUTES + LARGE_EUR)
    dispute(ctx, C0)
    mismatch(ctx, C1, "20000", "EUR")
    first = asyncio.run(apply_rules(ctx))
    assert {h.scope.value for h in first.placed} == {C0, C1}
    restarted = asyncio.run(HoldRuleEvaluator(ctx).turn())  # a new process: from seq 1
    assert restarted.placed == [] and restarted.already == 2
    assert len(placed_events(ctx)) == 2


def test_two_evaluators_at_once_place_each_hold_once(ctx: AuditContext) -> None:
    rules(ctx, DISPUTES)
    for customer in (C0, C1, C2):
        dispute(ctx, customer)

    async def both() -> None:
        await asyncio.gather(HoldRuleEvaluator(ctx).turn(), HoldRuleEvaluator(ctx).turn())

    asyncio.run(both())
    assert sorted(e.scope_value for e in placed_events(ctx)) == [C0, C1, C2]


def test_a_rule_hold_is_appended_only_to_an_empty_subject(ctx: AuditContext) -> None:
    request = HoldRequest(
        Scope("customer", C0), "r", rule="disputes", hold_id="hold-rule-abc", allow_empty=True
    )
    asyncio.run(place(ctx, request))
    with pytest.raises(ConcurrencyError):
        asyncio.run(place(ctx, request))
    assert len(placed_events(ctx)) == 1


def test_a_released_rule_hold_is_not_placed_again_by_the_rule(ctx: AuditContext) -> None:
    rules(ctx, DISPUTES)
    dispute(ctx, C0)
    (hold,) = asyncio.run(apply_rules(ctx)).placed
    asyncio.run(release_hold(ctx, hold.hold_id, "dispute settled"))
    dispute(ctx, C0)
    assert asyncio.run(HoldRuleEvaluator(ctx).turn()).placed == []
    assert book(ctx).active() == []


def test_a_new_rule_applies_to_what_the_log_already_holds(ctx: AuditContext) -> None:
    dispute(ctx, C2)
    evaluator = HoldRuleEvaluator(ctx)
    assert asyncio.run(evaluator.turn()).placed == []  # no rules file yet
    rules(ctx, DISPUTES)
    assert [h.scope.value for h in asyncio.run(evaluator.turn()).placed] == [C2]


def test_an_event_without_a_customer_is_counted_not_guessed(ctx: AuditContext) -> None:
    rules(ctx, DISPUTES)
    event = InvoiceDisputed(source_ref="hubspot/invoice/unknown", ledger="qbo", credit_note_ref="x")
    append(ctx, event, "unknown")
    report = asyncio.run(apply_rules(ctx))
    assert report.placed == [] and report.without_customer == 1


# ---------------------------------------------------------------------- the file


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[rule]]\nname = "m"\non = "mismatch"\nabove = "5"\n', "needs currency"),
        ('[[rule]]\nname = "m"\non = "mismatch"\ncurrency = "EUR"\n', "needs above"),
        ('[[rule]]\nname = "d"\non = "dispute"\ncustomer = "C1"\n', "does not take customer"),
        ('[[rule]]\nname = "c"\non = "customer"\n', "needs customer"),
        ('[[rule]]\nname = "m"\non = "mismatch"\ncurrency = "EURO"\nabove = "1"\n', "ISO 4217"),
        ('[[rule]]\nname = "x"\non = "fraud"\n', "rule.0.on"),
        ('[[rule]]\nname = "d"\non = "dispute"\n[[rule]]\nname = "d"\non = "dispute"\n', "unique"),
        ("[[rule]\n", "not TOML"),
    ],
)
def test_a_bad_rules_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "hold_rules.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        HoldRules.load(path)
    assert str(path) in str(caught.value) and says in str(caught.value)


def test_no_rules_file_means_no_rules(tmp_path: Path) -> None:
    assert HoldRules.load(tmp_path / "absent.toml") == HoldRules()


# ---------------------------------------------------------------------- the command


@pytest.fixture
def wired(ctx: AuditContext) -> Iterator[AuditContext]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield ctx

    cli.set_context_factory(factory)
    yield ctx
    cli._factory = None


def test_hold_rules_apply_from_the_command_line(wired: AuditContext) -> None:
    rules(wired, DISPUTES)
    dispute(wired, C0)
    result = CliRunner().invoke(cli.audit_app, ["hold", "rules", "apply"])
    assert result.exit_code == 0, result.output
    assert "hold rules: 1 placed, 0 already placed" in result.stdout
    assert f"on customer:{C0} by rule:disputes" in result.stdout
    again = CliRunner().invoke(cli.audit_app, ["hold", "rules", "apply"])
    assert "hold rules: 0 placed, 1 already placed" in again.stdout


def test_hold_rules_apply_refuses_a_bad_file_in_one_line(wired: AuditContext) -> None:
    rules(wired, '[[rule]]\nname = "m"\non = "mismatch"\n')
    result = CliRunner().invoke(cli.audit_app, ["hold", "rules", "apply"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "hold_rules.toml" in result.stderr


def test_runs_job_places_holds_as_the_log_grows_and_is_quiet_otherwise(
    ctx: AuditContext,
) -> None:
    from syncledger.core.bootstrap import Runtime
    from syncledger.core.pipeline import _hold_rules
    from syncledger.core.settings import Settings

    settings = Settings(entity=ctx.entity, data_dir=ctx.data_dir)
    rt = Runtime(settings, "", None, ctx.store, ctx.keystore, None)  # type: ignore[arg-type]
    job = _hold_rules(rt)
    assert asyncio.run(job()) == ""  # no rules file: nothing read, nothing said
    rules(ctx, DISPUTES)
    dispute(ctx, C0)
    line = asyncio.run(job())
    assert line.startswith("hold rules: 1 placed") and f"customer:{C0}" in line
    assert asyncio.run(job()) == ""
    dispute(ctx, C1)
    assert f"customer:{C1}" in asyncio.run(job())
    assert sorted(e.scope_value for e in placed_events(ctx)) == [C0, C1]
