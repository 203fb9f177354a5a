"""Holds and retention on business dates (issue 18): periods by document date in each
entity's fiscal year, empty scopes refused, customer ids as typed, review dates, and only
the compliance role extends or releases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit import sample
from syncledger.audit.alert_drafts import register as register_audit_drafts
from syncledger.audit.business_dates import fiscal_year_end, in_period
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError, HoldError
from syncledger.audit.events import LegalHoldExtended, LegalHoldReleased, audit_subject
from syncledger.audit.holds import HoldBook, extend_hold, place_hold, release_hold
from syncledger.audit.package import export_package
from syncledger.audit.retention import RetentionPolicy, run_retention
from syncledger.audit.roles import os_user
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import signer_map, verify_package
from syncledger.core.alert_rules import draft_for
from syncledger.core.events import make_envelope

#: documents dated 2024-03 and seen by syncledger in 2025-09 (a late backfill)
SEEN = datetime(2025, 9, 1, tzinfo=UTC)
C0, C1 = "hubspot/customer/c0", "hubspot/customer/c1"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditContext:
    original = sample.SampleLog.invoice

    def dated(self: sample.SampleLog, customer: str, n: int, **kw: bool) -> str:
        """Invoices dated March 2024, seen by syncledger in September 2025 (a backfill)."""
        clock, self.clock = self.clock, datetime(2024, 3, 10 + n, tzinfo=UTC)
        try:
            return original(self, customer, n, **kw)
        finally:
            self.clock = clock

    monkeypatch.setattr(sample.SampleLog, "invoice", dated)
    context = memory_context(tmp_path / "data", actor="legal@acme")
    asyncio.run(write_sample_log(context.store, context.keystore, customers=2, start=SEEN))
    context.audit_dir.mkdir(parents=True, exist_ok=True)
    (context.audit_dir / "roles.toml").write_text('compliance = ["legal@acme"]\n')
    return context


def policy_file(ctx: AuditContext, text: str) -> None:
    (ctx.audit_dir / "retention.toml").write_text(text)


# ---------------------------------------------------------------------- fiscal periods


def test_a_period_is_the_fiscal_year_ending_in_it_or_a_calendar_month() -> None:
    assert fiscal_year_end(date(2023, 7, 1), 6) == date(2024, 6, 30)
    assert in_period("2024", date(2023, 7, 1), 6) and not in_period("2024", date(2024, 7, 1), 6)
    assert in_period("2024", date(2024, 12, 31), 12)
    assert in_period("2024-03", date(2024, 3, 31), 6) and not in_period(
        "2024-03", date(2024, 4, 1), 6
    )


def test_a_period_hold_protects_the_documents_of_that_period_not_when_they_were_seen(
    ctx: AuditContext,
) -> None:
    hold = asyncio.run(place_hold(ctx, Scope.parse("period:2024"), "FY2024 audit"))
    policy = RetentionPolicy(default_years=0)
    report = asyncio.run(run_retention(ctx, policy, as_of=date(2031, 1, 1), apply=False))
    assert {d.customer for d in report.with_status("held")} == {C0, C1}
    assert all(d.hold_ids == [hold.hold_id] for d in report.with_status("held"))
    with pytest.raises(HoldError, match="matches no customer"):
        asyncio.run(place_hold(ctx, Scope.parse("period:2025"), "when they were seen"))


def test_the_fiscal_year_end_is_configured_per_entity(ctx: AuditContext) -> None:
    # a June year end: documents of March 2024 are in FY2024, nothing in FY2025
    policy_file(ctx, "[fiscal_year_end_months]\nacme = 6\n")
    asyncio.run(place_hold(ctx, Scope.parse("period:2024"), "FY2024 (July 2023 - June 2024)"))
    with pytest.raises(HoldError, match="matches no customer"):
        asyncio.run(place_hold(ctx, Scope.parse("period:2025"), "FY2025"))


def test_retention_counts_from_the_fiscal_year_end_of_the_documents(ctx: AuditContext) -> None:
    policy = RetentionPolicy(default_years=7, fiscal_year_end_months={"acme": 6})
    report = asyncio.run(run_retention(ctx, policy, as_of=date(2031, 7, 1), apply=False))
    # invoices dated March 2024: FY ends 30 June 2024, kept 7 fiscal years
    invoice_customers = {d.customer: d.retained_until for d in report.decisions}
    assert invoice_customers[C0] == date(2031, 6, 30)
    assert {d.status for d in report.decisions} == {"shred"}
    calendar = RetentionPolicy(default_years=7)
    later = asyncio.run(run_retention(ctx, calendar, as_of=date(2031, 7, 1), apply=False))
    assert {d.retained_until for d in later.decisions} == {date(2031, 12, 31)}


def test_a_period_export_takes_the_documents_of_the_period(
    ctx: AuditContext, tmp_path: Path
) -> None:
    auditor = x25519.X25519PrivateKey.generate()
    out = tmp_path / "fy.slpkg"
    asyncio.run(export_package(ctx, Scope.parse("period:2024"), [auditor.public_key()], out))
    keys = signer_map([SigningKeyring.open(ctx.audit_dir / "signing").current_public_key()])
    pkg = verify_package(out.read_bytes(), auditor, keys)
    refs = {t["ref"] for t in json.loads(pkg.files["traces.json"])}
    assert {"hubspot/invoice/i0", "hubspot/invoice/i1"} <= refs
    with pytest.raises(AuditError, match="no events in scope period:2025"):
        asyncio.run(export_package(ctx, Scope.parse("period:2025"), [auditor.public_key()], out))


# ---------------------------------------------------------------------- scopes as typed


def test_an_empty_scope_is_refused_unless_allowed_and_says_so(ctx: AuditContext) -> None:
    for scope in ("customer:nobody", "entity:other", "case:k1"):
        with pytest.raises(HoldError, match="--allow-empty"):
            asyncio.run(
                place_hold(ctx, Scope.parse(scope), "x", ("ghost",) if "case" in scope else ())
            )
    hold = asyncio.run(place_hold(ctx, Scope.parse("customer:nobody"), "x", allow_empty=True))
    assert hold.scope == Scope("customer", "nobody")


def test_customer_accepts_the_sources_own_id_as_typed(ctx: AuditContext) -> None:
    hold = asyncio.run(place_hold(ctx, Scope.parse("customer:C1"), "dispute"))
    assert hold.scope == Scope("customer", C1)
    case = asyncio.run(place_hold(ctx, Scope.parse("case:k-9"), "subpoena", ("c0",)))
    assert case.case_customers == (C0,)


def test_a_case_exports_its_customers(ctx: AuditContext, tmp_path: Path) -> None:
    asyncio.run(place_hold(ctx, Scope.parse("case:k-9"), "subpoena", ("c0",)))
    auditor = x25519.X25519PrivateKey.generate()
    out = tmp_path / "case.slpkg"
    asyncio.run(export_package(ctx, Scope.parse("case:k-9"), [auditor.public_key()], out))
    keys = signer_map([SigningKeyring.open(ctx.audit_dir / "signing").current_public_key()])
    pkg = verify_package(out.read_bytes(), auditor, keys)
    customers = {t["customer"] for t in json.loads(pkg.files["traces.json"])}
    assert customers == {C0}
    assert [h["scope"] for h in json.loads(pkg.files["holds.json"])] == ["case:k-9"]
    with pytest.raises(AuditError, match="no legal hold has scope case:k-0"):
        asyncio.run(export_package(ctx, Scope.parse("case:k-0"), [auditor.public_key()], out))


# ---------------------------------------------------------------------- who, until when


def test_holds_carry_a_review_date_that_only_compliance_extends(ctx: AuditContext) -> None:
    hold = asyncio.run(
        place_hold(ctx, Scope.parse(f"customer:{C0}"), "claim", review_on=date(2026, 1, 31))
    )
    assert hold.review_on == date(2026, 1, 31) and hold.placed_by == "legal@acme"
    assert hold.review_due(date(2026, 2, 1)) and not hold.review_due(date(2026, 1, 30))
    longer = asyncio.run(extend_hold(ctx, hold.hold_id, date(2027, 1, 31), "claim open"))
    assert longer.review_on == date(2027, 1, 31)
    with pytest.raises(HoldError, match="is not after"):
        asyncio.run(extend_hold(ctx, hold.hold_id, date(2026, 6, 1), "shorter"))
    assert asyncio.run(HoldBook.load(ctx)).holds[hold.hold_id].review_on == date(2027, 1, 31)


def test_only_the_compliance_role_extends_or_releases(ctx: AuditContext) -> None:
    hold = asyncio.run(place_hold(ctx, Scope.parse(f"customer:{C0}"), "claim"))
    clerk = memory_context(ctx.data_dir, actor="clerk@acme")
    clerk.store = ctx.store
    for attempt in (
        release_hold(clerk, hold.hold_id, "done"),
        extend_hold(clerk, hold.hold_id, date(2030, 1, 1), "longer"),
    ):
        with pytest.raises(HoldError, match=r"clerk@acme may not .* compliance role"):
            asyncio.run(attempt)
    assert asyncio.run(HoldBook.load(ctx)).holds[hold.hold_id].active
    released = asyncio.run(release_hold(ctx, hold.hold_id, "settled"))
    assert released.released_by == "legal@acme"


def test_without_a_configured_actor_the_identity_is_the_os_user(ctx: AuditContext) -> None:
    anonymous = memory_context(ctx.data_dir, actor="syncledger")
    anonymous.store = ctx.store
    hold = asyncio.run(place_hold(anonymous, Scope.parse(f"customer:{C1}"), "claim"))
    assert hold.placed_by == os_user() != "syncledger"
    with pytest.raises(HoldError, match=f"{os_user()} may not release"):
        asyncio.run(release_hold(anonymous, hold.hold_id, "done"))


# ---------------------------------------------------------------------- alerts


def test_hold_release_and_extension_are_told_to_hold_channels() -> None:
    register_audit_drafts()
    released = LegalHoldReleased(hold_id="h1", reason="settled", released_by="legal@acme")
    extended = LegalHoldExtended(
        hold_id="h1", review_on="2027-01-31", reason="claim open", extended_by="legal@acme"
    )
    drafts = [
        draft_for(
            make_envelope(e, entity="acme", subject=audit_subject("acme", "hold", "h1"), actor="t"),
            e,
        )
        for e in (released, extended)
    ]
    assert [(d.topic, d.event_type) for d in drafts if d] == [
        ("hold", "hold.released"),
        ("hold", "hold.extended"),
    ]
    assert drafts[1] is not None and drafts[1].data["review_on"] == "2027-01-31"
    assert drafts[0] is not None and "released" in drafts[0].title
