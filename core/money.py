"""Money: ``Decimal`` amounts with an ISO 4217 currency, quantized to its minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any

import pycountry
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from syncledger.core.errors import MoneyError

# ISO 4217 minor units that are not 2 (pycountry does not carry exponents).
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
# Codes in the ISO list that are not money one can invoice in.
_NOT_INVOICEABLE = {
    "XAU",
    "XAG",
    "XPT",
    "XPD",
    "XTS",
    "XXX",
    "XDR",
    "XSU",
    "XUA",
    "XBA",
    "XBB",
    "XBC",
    "XBD",
}


@lru_cache(maxsize=512)
def is_currency(code: str) -> bool:
    """True when ``code`` is an active ISO 4217 code usable on an invoice."""
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        return False
    return code not in _NOT_INVOICEABLE and pycountry.currencies.get(alpha_3=code) is not None


def minor_unit(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def check_currency(code: str) -> str:
    if not isinstance(code, str) or not is_currency(code):
        raise MoneyError(f"unknown currency {code!r}: use an ISO 4217 code such as USD or EUR")
    return code


def to_decimal(value: Any) -> Decimal:
    """Parse an amount without ever going through float."""
    if isinstance(value, float):
        raise MoneyError(f"amount {value!r} is a float: pass a string or Decimal")
    if isinstance(value, bool):
        raise MoneyError(f"amount {value!r} is not a number")
    try:
        result = Decimal(value) if isinstance(value, Decimal | int) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"amount {value!r} is not a decimal number") from exc
    if not result.is_finite():
        raise MoneyError(f"amount {value!r} is not finite")
    return result


def quantize(amount: Decimal, currency: str) -> Decimal:
    """To the currency's minor unit, half away from zero: commercial rounding, as every
    ledger we push to rounds (QBO, Xero, Sage, Zoho, FreshBooks, NetSuite, Odoo)."""
    exp = Decimal(1).scaleb(-minor_unit(currency))
    return amount.quantize(exp, rounding=ROUND_HALF_UP)


def _decimal_in(value: Any) -> Decimal:
    return to_decimal(value)


DecimalStr = Annotated[
    Decimal, BeforeValidator(_decimal_in), PlainSerializer(lambda d: str(d), return_type=str)
]
Currency = Annotated[str, BeforeValidator(check_currency)]


class Money(BaseModel):
    """An amount in one currency. Arithmetic refuses to mix currencies."""

    model_config = ConfigDict(frozen=True)

    amount: DecimalStr
    currency: Currency

    @classmethod
    def of(cls, amount: Any, currency: str) -> Money:
        cur = check_currency(currency)
        return cls(amount=quantize(to_decimal(amount), cur), currency=cur)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
