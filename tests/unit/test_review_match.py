"""Why a review candidate matched (issue 16): the rules shared with our customer, told
from what the ledger returned, never our values."""

from __future__ import annotations

from syncledger.core import review
from syncledger.core.model import Customer
from syncledger.core.ports import LedgerRecord, SourceItem
from syncledger.core.review_match import match_rules, rules_text
from tests.unit.test_sync import ENTITY, Harness

OURS = Customer(
    id="c1", name="Acme  Ltd", currency="GBP", email="Ada@Example.com", tax_id="GB 123-456-789"
)


def _candidate(name: str, raw: dict[str, object]) -> LedgerRecord:
    return LedgerRecord("customer", "L1", "0", None, name=name, raw=raw)


def test_each_rule_is_seen_in_what_the_ledger_returned() -> None:
    assert match_rules(OURS, _candidate("acme ltd", {})) == ("name",)
    nested = {"Contact": {"EmailAddress": "ada@example.com "}, "TaxNumber": "gb123456789"}
    assert match_rules(OURS, _candidate("Other", nested)) == ("email", "tax_id")
    assert match_rules(OURS, _candidate("Other", {"x": ["GB123456789"]})) == ("tax_id",)
    assert match_rules(OURS, _candidate("Other", {"note": "ada"})) == ()


def test_the_rules_read_as_words_and_old_items_say_so() -> None:
    assert rules_text(("name", "email", "tax_id")) == "matched by name, e-mail and tax id"
    assert rules_text(("email",)) == "matched by e-mail"
    assert rules_text(None) == "why it matched was not recorded"
    assert "ledger's own search" in rules_text(())


async def test_the_queue_says_why_each_candidate_matched_without_our_values() -> None:
    h = Harness()
    by_tax = h.ledger.seed_customer("Acme Ltd", tax_id="GB980780684")
    by_name = h.ledger.seed_customer("ACME LTD")
    fields = {"name": "Acme Ltd", "currency": "USD", "tax_id": "GB 980 780 684"}
    await h.ingest([SourceItem("csv", "customer", "c1", "2026-01-01T00:00:00", fields)])
    assert [o.status for o in await h.run()] == ["review"]
    text = await review.review_text(review.ReviewDesk(h.store, h.ledger, ENTITY, "t"))
    assert f"candidate {by_tax}: Acme Ltd (matched by name and tax id)" in text
    assert f"candidate {by_name}: ACME LTD (matched by name)" in text
    assert "GB 980 780 684" not in text
