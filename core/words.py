"""Words for people: counts with their plural, money per currency, and what the sync did
in words a user knows (never an internal status name such as "ignored" or "skipped").

Every command's summary goes through here, so "1 record" / "2 records" and
``125.00 USD`` / ``125 JPY`` read the same everywhere. Money is formatted with babel's
CLDR data: the currency's own number of decimals (ISO 4217 minor unit), never fewer, and
more only where the amount itself has more (nothing is rounded away in a report).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

#: the digits group and the currency's decimals, then its ISO code (``1,234.50 EUR``)
_PATTERN = "#,##0.00 ¤¤"

#: what each sync outcome means to a user, in the order a summary lists them; outcomes
#: absent here (``ignored``: an event with nothing to push; ``deferred``: held for a
#: batch and counted with it) are never shown
OUTCOME_WORDS: dict[str, tuple[str, str]] = {
    "pushed": ("record sent to the ledger", "records sent to the ledger"),
    "linked": (
        "record matched one already in the ledger",
        "records matched ones already in the ledger",
    ),
    "recovered": ("record found already sent", "records found already sent"),
    "skipped": ("record already up to date", "records already up to date"),
    "review": ("record waits for review", "records wait for review"),
    "held": ("record waits for rollout", "records wait for rollout"),
    "rejected": ("record refused", "records refused"),
    "retry": ("record to be tried again", "records to be tried again"),
    "abandoned": (
        "record given up after repeated failures",
        "records given up after repeated failures",
    ),
}
#: the JSON key of each shown outcome (docs/json-output.md)
OUTCOME_KEYS: dict[str, str] = {
    "pushed": "sent",
    "linked": "matched",
    "recovered": "found_sent",
    "skipped": "up_to_date",
    "review": "waiting_for_review",
    "held": "waiting_for_rollout",
    "rejected": "refused",
    "retry": "to_retry",
    "abandoned": "given_up",
}
#: outcomes that need a person (``sync --once`` exits 1)
NEEDS_ATTENTION = frozenset({"rejected", "abandoned"})


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``, ``0 records`` (``many`` where adding "s" is wrong)."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def money(amount: Decimal | str | int, currency: str | None) -> str:
    """``125.00 USD``, ``125 JPY``, ``1,234.500 KWD``: the currency's decimals, its code.
    Without a currency (a figure the log holds without one), two decimals and no code.
    Text that is not a number is returned as it is."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    if not currency:
        return format_currency(
            value, "XXX", format="#,##0.00", locale="en", decimal_quantization=False
        )
    code = currency.upper()
    return format_currency(
        value, code, format=_PATTERN, locale="en", currency_digits=True, decimal_quantization=False
    )


def money_or_unknown(amount: Decimal | None, currency: str | None) -> str:
    """:func:`money`, or ``unknown`` where the log holds no figure."""
    return "unknown" if amount is None else money(amount, currency)


def figure(amount: Decimal, currency: str | None) -> str:
    """``125.00``, ``125``, ``1234.500``: the amount with at least its currency's decimals
    and nothing else (no grouping, no code), so it stays a number a program reads back —
    the form figures take inside events (a mismatch's expected/actual). Never rounded;
    without a known currency, at least two decimals."""
    if not amount.is_finite():
        return str(amount)
    places = _places(currency)
    exponent = amount.as_tuple().exponent
    shown = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if shown >= places:
        return f"{amount:f}"
    return f"{amount.quantize(Decimal(1).scaleb(-places)):f}"


def _places(currency: str | None) -> int:
    if not currency:
        return 2
    try:
        return int(get_currency_precision(currency.upper()))
    except (KeyError, ValueError):
        return 2


def outcome_counts(outcomes: Mapping[str, int]) -> dict[str, int]:
    """The outcomes a user sees, by their JSON key (zeros included, so keys are stable)."""
    return {key: int(outcomes.get(status, 0)) for status, key in OUTCOME_KEYS.items()}


def outcome_summary(outcomes: Mapping[str, int]) -> str:
    """``40 records sent to the ledger, 1 record refused`` (or ``nothing to send``)."""
    parts = [
        f"{n:,} {one if n == 1 else many}"
        for status, (one, many) in OUTCOME_WORDS.items()
        if (n := int(outcomes.get(status, 0)))
    ]
    return ", ".join(parts) or "nothing to send"


def needs_attention(outcomes: Mapping[str, int]) -> bool:
    """Records refused or given up in this run."""
    return any(outcomes.get(status, 0) for status in NEEDS_ATTENTION)
