"""The sandbox's multi-currency settings: a company currency and dated exchange rates,
answered as HubSpot's Settings API | Currencies documents them (facts and sources:
:mod:`syncledger.adapters.hubspot.rates`): ``company-currency`` answers ``{"id": <code>,
"createdAt": …}``; ``exchange-rates`` lists ``{id, fromCurrencyCode, toCurrencyCode,
conversionRate, effectiveAt, createdAt, updatedAt, visibleInUI}`` rows, paged with
``paging.next.after``. A rate must be greater than 0 with at most 6 decimals (the guide's
rule for ``conversionRate``). HubSpot does not document its page size for this list:
the sandbox pages by :data:`PAGE` so that the reader's paging is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

#: rows per page of the exchange-rate list (ours: HubSpot's is not documented)
PAGE = 20


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Currencies:
    company_currency: str = "USD"
    created_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add_rate(self, currency: str, rate: Decimal, effective_at: datetime) -> dict[str, Any]:
        """A rate from ``currency`` into the company currency, as a person enters it."""
        exponent = rate.as_tuple().exponent
        if rate <= 0 or (isinstance(exponent, int) and exponent < -6):
            raise ValueError(f"conversionRate {rate}: greater than 0, at most 6 decimals")
        now = _iso(datetime.now(UTC))
        row = {
            "id": str(len(self.rows) + 1),
            "fromCurrencyCode": currency.upper(),
            "toCurrencyCode": self.company_currency,
            "conversionRate": rate,
            "effectiveAt": _iso(effective_at),
            "createdAt": now,
            "updatedAt": now,
            "visibleInUI": True,
        }
        self.rows.append(row)
        return row

    def company(self) -> dict[str, Any]:
        return {"id": self.company_currency, "createdAt": _iso(self.created_at)}

    def page(self, after: str | None, from_currency: str | None) -> dict[str, Any] | None:
        """One page of rates, or None for an ``after`` this list never gave."""
        start = int(after) if after and after.isdigit() else 0 if not after else -1
        if start < 0:
            return None
        rows = [r for r in self.rows if not from_currency or r["fromCurrencyCode"] == from_currency]
        body: dict[str, Any] = {"results": rows[start : start + PAGE]}
        if start + PAGE < len(rows):
            body["paging"] = {"next": {"after": str(start + PAGE)}}
        return body
