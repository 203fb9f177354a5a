"""A worker killed during an update: did our write land? (core/sync_updates.py
``_already_applied``.) Landed only when the ledger's record shows what we meant to write on
every field we can compare, not when its name or total matches and its version moved: an
update of a customer's e-mail only, or of an invoice's due date only, that never reached
the ledger while someone else moved the version is sent (the conflict path decides by
authority), never taken as done. The log is the in-memory store with real sync runs, the
ledger the in-memory one; the kill is the ledger call raising ``SystemExit``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from syncledger.core.ports import LedgerRecord
from syncledger.core.sync import Outcome
from tests.support.records import changed, customer, invoice
from tests.unit.test_sync import Harness
from tests.unit.test_sync_operations import events_of

OLD, NEW = "ada@example.com", "ada@new.example.com"


async def _killed_in(h: Harness, method: str, *, after_commit: bool) -> None:
    """Deliver the pending source change to a worker that dies in the ledger call
    ``method``: before the ledger got it, or after the ledger committed it. The message
    stays unacknowledged: delivered again by the next run, to a worker rebuilt from the log."""
    original = getattr(h.ledger, method)

    async def die(*args: object, **kwargs: object) -> object:
        if after_commit:
            await original(*args, **kwargs)
        raise SystemExit("killed")

    setattr(h.ledger, method, die)
    with pytest.raises(SystemExit):
        await h.run()
    delattr(h.ledger, method)  # the class's method again
    h.consumed -= 1


async def _one(h: Harness, kind: str) -> LedgerRecord:
    [rec] = [r for r in h.ledger.records.values() if r.kind == kind]
    return rec


async def _statuses(h: Harness) -> list[str]:
    return [o.status for o in await h.run()]


async def _email_change_killed(h: Harness, *, after_commit: bool) -> None:
    """c1 pushed with OLD, then changed at the source to NEW only; the worker is killed
    during that update."""
    c1 = customer("c1", email=OLD)
    await h.ingest([c1])
    await h.run()
    await h.ingest([changed(c1, "2026-02-01", email=NEW)])
    await _killed_in(h, "update_customer", after_commit=after_commit)


# ---------------------------------------------------------------- customers


async def test_an_email_update_killed_before_sending_is_not_taken_as_landed() -> None:
    h = Harness()  # the source owns customers
    await _email_change_killed(h, after_commit=False)
    rec = await _one(h, "customer")
    h.ledger.edit_customer(rec.ledger_id, phone="+1 555 0100")  # a bookkeeper: version moved
    outcomes: list[Outcome] = await h.run()
    assert [o.status for o in outcomes] == ["pushed"]
    after = await _one(h, "customer")
    assert after.raw["email"] == NEW
    assert after.raw["phone"] == "+1 555 0100"  # the update does not carry a phone
    [conflict] = await events_of(h, "ConflictDetected")
    assert conflict["data"]["resolution"] == "source_wins"  # type: ignore[index]


async def test_with_ledger_authority_it_waits_for_a_person_not_lost_nor_overwritten() -> None:
    h = Harness(authority={"customer": "ledger"})
    await _email_change_killed(h, after_commit=False)
    rec = await _one(h, "customer")
    h.ledger.edit_customer(rec.ledger_id, phone="+1 555 0100")
    assert await _statuses(h) == ["abandoned"]
    after = await _one(h, "customer")
    assert (after.raw["email"], after.raw["phone"]) == (OLD, "+1 555 0100")  # as it was
    [conflict] = await events_of(h, "ConflictDetected")
    assert conflict["data"]["resolution"] == "needs_review"  # type: ignore[index]


async def test_an_email_update_that_landed_is_recognised_with_no_second_write() -> None:
    h = Harness()
    await _email_change_killed(h, after_commit=True)
    calls = h.ledger.calls
    assert await _statuses(h) == ["recovered"]
    assert h.ledger.calls == calls
    assert (await _one(h, "customer")).raw["email"] == NEW
    assert await events_of(h, "ConflictDetected") == []
    [done] = (await events_of(h, "LedgerPushSucceeded"))[1:]
    assert done["data"]["recovered"] is True  # type: ignore[index]


async def test_an_email_the_ledger_no_longer_holds_is_unknown_so_written_again() -> None:
    h = Harness()
    await _email_change_killed(h, after_commit=True)
    rec = await _one(h, "customer")
    h.ledger.records[rec.ledger_id] = LedgerRecord(  # a bookkeeper cleared it: a new version
        "customer",
        rec.ledger_id,
        str(int(rec.version or 0) + 1),
        rec.external_ref,
        name=rec.name,
        currency=rec.currency,
        raw={k: v for k, v in rec.raw.items() if k != "email"},
    )
    assert await _statuses(h) == ["pushed"]
    assert (await _one(h, "customer")).raw["email"] == NEW


# ---------------------------------------------------------------- invoices


async def _due_date_change_killed(h: Harness, *, after_commit: bool) -> LedgerRecord:
    """i1 pushed (due 2026-02-01), then changed at the source to fall due on 2026-03-15
    only; the worker is killed during that update. The invoice as the ledger then holds it."""
    i1 = invoice("i1", "c1")
    await h.ingest([customer("c1"), i1])
    await h.run()
    await h.ingest([changed(i1, "2026-02-01", due_date="2026-03-15")])
    await _killed_in(h, "update_invoice", after_commit=after_commit)
    return await _one(h, "invoice")


async def test_a_due_date_update_killed_before_sending_reaches_the_ledger() -> None:
    h = Harness(authority={"invoice": "source"})
    inv = await _due_date_change_killed(h, after_commit=False)
    assert inv.due_date is not None and inv.due_date.isoformat() == "2026-02-01"
    h.ledger._replace("by-hand", inv.ledger_id, inv.version, name="INV-0042")  # same total
    assert await _statuses(h) == ["pushed"]
    after = await _one(h, "invoice")
    assert after.due_date is not None and after.due_date.isoformat() == "2026-03-15"
    assert (after.name, after.total) == ("INV-i1", Decimal("110.00"))


async def test_a_due_date_update_killed_before_a_payment_in_the_ledger_keeps_both() -> None:
    h = Harness()  # the ledger owns invoices; a payment is no one's edit
    inv = await _due_date_change_killed(h, after_commit=False)
    h.ledger._pay(inv, Decimal("10.00"))  # recorded in the ledger: the version moved
    assert await _statuses(h) == ["pushed"]
    after = await _one(h, "invoice")
    assert after.due_date is not None and after.due_date.isoformat() == "2026-03-15"
    assert (after.total, after.balance) == (Decimal("110.00"), Decimal("100.00"))


async def test_a_due_date_update_that_landed_is_recognised_with_no_second_write() -> None:
    h = Harness()
    inv = await _due_date_change_killed(h, after_commit=True)
    assert inv.due_date is not None and inv.due_date.isoformat() == "2026-03-15"
    calls = h.ledger.calls
    assert await _statuses(h) == ["recovered"]
    assert h.ledger.calls == calls
    assert await events_of(h, "ConflictDetected") == []
