"""adapters/sandbox/numbers.py: a number in a request body, or why it is none."""

from __future__ import annotations

from decimal import Decimal

import pytest

from syncledger.adapters.sandbox.numbers import NumberRules, Unread, checked_number, read_number


@pytest.mark.parametrize(
    ("value", "read"),
    [
        (Decimal("10.50"), Decimal("10.50")),
        (3, Decimal(3)),
        ("0.1", Decimal("0.1")),
        (" 7 ", Decimal(7)),
        (0.5, Decimal("0.5")),  # a float read through its text, not its binary value
        (None, Unread.MISSING),
        (True, Unread.NOT_A_NUMBER),
        ("ten", Unread.UNPARSABLE),
        ([1], Unread.UNPARSABLE),
        ("NaN", Unread.NOT_FINITE),
        (Decimal("-Infinity"), Unread.NOT_FINITE),
    ],
)
def test_a_value_reads_as_a_number_or_says_why_not(value: object, read: object) -> None:
    assert read_number(value) == read


def test_a_float_is_no_number_where_floats_are_refused() -> None:
    assert read_number(0.5, floats=False) is Unread.NOT_A_NUMBER


def test_the_platforms_rule_of_why_is_raised() -> None:
    rules = NumberRules("required", "not a number", not_finite="not finite")
    with pytest.raises(ValueError, match=r"^required$"):
        checked_number(None, rules, ValueError)
    with pytest.raises(ValueError, match=r"^not a number$"):
        checked_number("x", rules, ValueError)  # unparsable text: the not-a-number rule
    with pytest.raises(ValueError, match=r"^not finite$"):
        checked_number("Infinity", rules, ValueError)
    assert checked_number("2.5", rules, ValueError) == Decimal("2.5")
