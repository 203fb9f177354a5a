"""An invoice's ``send`` flag: the source asks the ledger to e-mail it to the customer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from syncledger.core.model import Invoice
from syncledger.core.validation import INVALID_FLAG, LedgerRules, Rejected, Validated, validate
from tests.support.records import invoice

RULES = LedgerRules("qbo")


@pytest.mark.parametrize(
    ("given", "send"),
    [("true", True), ("Yes", True), ("1", True), ("false", False), ("", False), (True, True)],
)
def test_the_send_flag_reads_as_true_or_false(given: object, send: bool) -> None:
    item = invoice("i1", "c1")
    verdict = validate(replace(item, fields={**item.fields, "send": given}), RULES)
    assert isinstance(verdict, Validated)
    assert isinstance(verdict.record, Invoice)
    assert verdict.record.send is send


def test_an_invoice_without_the_flag_is_not_sent() -> None:
    verdict = validate(invoice("i1", "c1"), RULES)
    assert isinstance(verdict, Validated) and isinstance(verdict.record, Invoice)
    assert verdict.record.send is False


def test_a_flag_that_is_not_true_or_false_is_refused_with_its_reason() -> None:
    item = invoice("i1", "c1")
    verdict = validate(replace(item, fields={**item.fields, "send": "maybe"}), RULES)
    assert isinstance(verdict, Rejected)
    [reason] = verdict.reasons
    assert (reason.code, reason.field) == (INVALID_FLAG, "send")
