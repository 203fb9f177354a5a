"""HubSpot's own exchange rates, as the invoice's ``exchange_rate``.

HubSpot's multi-currency settings keep a company currency and, per additional currency,
dated rates "from the additional currency to your company currency" (HubSpot, Settings
API | Currencies guide, developers.hubspot.com/docs/api/settings/currencies):

- ``GET /settings/currencies/2026-03/company-currency`` answers ``{"id": <the company
  currency's code>, "createdAt": …}`` (reference: get-company-currency, 2026-03);
- ``GET /settings/currencies/2026-03/exchange-rates`` lists every rate, paged with
  ``after`` (``paging.next.after``): ``fromCurrencyCode``, ``toCurrencyCode``,
  ``conversionRate`` (> 0, at most 6 decimals), ``effectiveAt`` (reference:
  get-exchange-rates, 2026-03). Scope ``settings.currencies.read``.

A deal in another currency than the books' home currency becomes an invoice with the rate
HubSpot held for that currency on the deal's close date: the newest rate whose
``effectiveAt`` is on or before the end of that day (UTC). That is the firm's own rate,
entered in its CRM — never one syncledger assumes. Only when HubSpot's company currency
*is* the books' home currency (``[settings] home_currency`` in ``source_mapping.toml``)
do HubSpot's rates say "home currency per 1 unit" (docs/csv.md ``exchange_rate``); when
it is not, or HubSpot holds no rate for the day, the invoice carries none and validation
refuses it with ``missing_exchange_rate`` (nothing is guessed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from syncledger.adapters.wire_dates import iso_moment


@dataclass(frozen=True, slots=True)
class DatedRate:
    effective_at: datetime
    rate: Decimal


def _rate(value: object) -> Decimal | None:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() and rate > 0 else None


@dataclass(frozen=True, slots=True)
class ExchangeRates:
    """HubSpot's dated rates into its company currency, by the currency they convert."""

    company_currency: str
    by_currency: Mapping[str, tuple[DatedRate, ...]]

    @classmethod
    def of(cls, company_currency: str, rows: Iterable[Mapping[str, Any]]) -> ExchangeRates:
        """Rows as HubSpot lists them; a row into another currency, without a date or with
        a rate that is not a positive number is left out (never read as 0 or 1)."""
        home = company_currency.upper()
        found: dict[str, list[DatedRate]] = {}
        for row in rows:
            to = str(row.get("toCurrencyCode") or home).upper()
            when, rate = iso_moment(row.get("effectiveAt")), _rate(row.get("conversionRate"))
            source = str(row.get("fromCurrencyCode") or "").upper()
            if to == home and source and when is not None and rate is not None:
                found.setdefault(source, []).append(DatedRate(when, rate))
        ordered = {k: tuple(sorted(v, key=lambda d: d.effective_at)) for k, v in found.items()}
        return cls(home, ordered)

    def on(self, currency: str, day: date) -> Decimal | None:
        """Units of the company currency per 1 ``currency`` in force at the end of ``day``."""
        if currency.upper() == self.company_currency:
            return None
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        held = [d.rate for d in self.by_currency.get(currency.upper(), ()) if d.effective_at < end]
        return held[-1] if held else None
