"""A number in a request body, read as the sandboxes read it: a ``Decimal``, never through
float, or what is wrong with it, which each platform answers with its own refusal.

The JSON decoder (``adapters/jsonwire.py``) gives numbers as ``Decimal``; platforms that
take amounts as decimal text (Sage, FreshBooks, Zoho) get ``str``. A bool is never a
number (JSON ``true`` is not ``1``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


class Unread(enum.Enum):
    """Why a value is no number."""

    MISSING = "missing"  # None
    NOT_A_NUMBER = "not a number"  # a bool, or a float where floats are refused
    UNPARSABLE = "unparsable"  # anything else that does not read as a number
    NOT_FINITE = "not finite"  # NaN or an infinity


def read_number(value: object, *, floats: bool = True) -> Decimal | Unread:
    """``value`` as a finite ``Decimal``, or why it is none."""
    if value is None:
        return Unread.MISSING
    if isinstance(value, bool) or (isinstance(value, float) and not floats):
        return Unread.NOT_A_NUMBER
    try:
        result = Decimal(value) if isinstance(value, int | Decimal) else Decimal(str(value))
    except InvalidOperation:
        return Unread.UNPARSABLE
    return result if result.is_finite() else Unread.NOT_FINITE


@dataclass(frozen=True, slots=True)
class NumberRules:
    """The platform's rules refusing a number that does not read: one for a missing value,
    one for what is no number (and, unless told, for text that does not parse and for a
    number that is not finite)."""

    missing: str
    not_a_number: str
    unparsable: str = ""
    not_finite: str = ""

    def of(self, why: Unread) -> str:
        rules = {
            Unread.MISSING: self.missing,
            Unread.UNPARSABLE: self.unparsable,
            Unread.NOT_FINITE: self.not_finite,
        }
        return rules.get(why) or self.not_a_number


def checked_number(
    value: object,
    rules: NumberRules,
    refusal: Callable[[str], Exception],
    *,
    floats: bool = True,
) -> Decimal:
    """``value`` as a finite ``Decimal``; ``refusal(rule)`` raised, with the rule of why
    it is none, otherwise."""
    read = read_number(value, floats=floats)
    if isinstance(read, Unread):
        raise refusal(rules.of(read))
    return read
