"""Numbers and dates as the Xero sandbox reads them from request bodies: amounts never
through float, dates in the forms Xero accepts (``2019-03-12``, ``2019-03-12T00:00:00``,
``/Date(1552348800000+0000)/``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from syncledger.adapters.sandbox.numbers import NumberRules, checked_number
from syncledger.adapters.xero.sandbox.book import day_ms, ms_date
from syncledger.adapters.xero.sandbox.errors import refuse, refuse_element

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def number(value: Any, name: str) -> Decimal:
    """A JSON number as Decimal; a validation error naming the field otherwise."""
    rules = NumberRules("amount.not_a_number", "amount.not_a_number")
    return checked_number(value, rules, partial(refuse_element, field=name))


def optional(body: dict[str, Any], name: str) -> Decimal | None:
    return None if body.get(name) is None else number(body[name], name)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def places(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def parse_day(value: Any, name: str) -> date:
    """A date field of a request body; Xero's PostDataInvalidException when unreadable."""
    day = _day(value) if isinstance(value, str) else None
    if day is None:
        raise refuse("body.date_invalid", value=value, path=name)
    return day


def _day(text: str) -> date | None:
    match = _MSDATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    if len(text) not in (10, 19) or (len(text) == 19 and not text.endswith("T00:00:00")):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def day_fields(name: str, day: date) -> dict[str, str]:
    """``Date`` + ``DateString`` (or ``DueDate`` + ``DueDateString``) as Xero answers them."""
    return {name: ms_date(day_ms(day)), f"{name}String": f"{day.isoformat()}T00:00:00"}


def stored_day(record: dict[str, Any], name: str) -> date | None:
    value = record.get(name)
    return None if value is None else parse_day(value, name)
