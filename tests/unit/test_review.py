"""`syncledger review`: the queue a person reads, and the decision the worker carries out
(the runtime is the in-memory store and ledger here; the commands are the real ones)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from syncledger.core import review
from syncledger.core.cli import app
from syncledger.core.errors import ConfigurationError
from syncledger.core.model import RecordRef
from tests.support.records import customer, invoice
from tests.unit.test_sync import ENTITY, Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


def _desk(h: Harness) -> review.ReviewDesk:
    """The log and ledger of the harness, as the composition root hands them to review."""
    return review.ReviewDesk(h.store, h.ledger, ENTITY, "reviewer")


async def _ambiguous(h: Harness) -> tuple[str, str]:
    first = h.ledger.seed_customer("Twin Co")
    second = h.ledger.seed_customer("twin co")
    await h.ingest([customer("c1", name="Twin Co"), invoice("i1", "c1")])
    assert [o.status for o in await h.run()] == ["review", "rejected"]
    return first, second


async def test_the_queue_shows_each_candidate_by_name(harness: Harness) -> None:
    desk = _desk(harness)
    assert "no records wait" in await review.review_text(desk)
    first, second = await _ambiguous(harness)
    text = await review.review_text(desk)
    assert "csv/customer/c1  (ambiguous_match)" in text
    assert f"candidate {first}: Twin Co" in text
    assert f"candidate {second}: twin co" in text


async def test_a_link_decision_is_carried_out_and_the_invoice_follows(harness: Harness) -> None:
    desk = _desk(harness)
    _, second = await _ambiguous(harness)
    ref = RecordRef.parse("csv/customer/c1")
    said = await review.resolve_review(desk, ref, link=second, create=False, note="same VAT")
    assert "decision recorded" in said
    statuses = [o.status for o in await harness.run()]
    statuses += [o.status for o in await harness.run()]
    assert [s for s in statuses if s != "ignored"] == ["linked", "pushed"]
    found = await harness.ledger.find("invoice", "csv/invoice/i1")
    assert found is not None and found.customer_ledger_id == second
    assert await review.open_reviews(desk) == []
    with pytest.raises(ConfigurationError, match="not waiting for review"):
        await review.resolve_review(desk, ref, link=second, create=False)


async def test_a_link_to_a_record_that_is_not_there_is_refused(harness: Harness) -> None:
    desk = _desk(harness)
    await _ambiguous(harness)
    ref = RecordRef.parse("csv/customer/c1")
    with pytest.raises(ConfigurationError, match="has no customer 999"):
        await review.resolve_review(desk, ref, link="999", create=False)
    with pytest.raises(ConfigurationError, match="exactly one"):
        await review.resolve_review(desk, ref, link=None, create=False)


def test_a_decision_without_its_record_or_choice_is_one_line_of_usage() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["review", "csv/customer/c1"])
    assert result.exit_code == 2
    assert "exactly one of --link" in result.output
    result = runner.invoke(app, ["review", "--create"])
    assert result.exit_code == 2
    assert "name the record" in result.output
