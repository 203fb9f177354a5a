"""ISO currency codes ↔ the account's currency records.

NetSuite references a currency by the internal id of its ``currency`` record, which
differs between accounts; the record's ``symbol`` is the ISO 4217 code and
``isBaseCurrency`` marks the base currency. Looked up once per adapter, then cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from syncledger.adapters.http import LedgerHttp
from syncledger.core.errors import PermanentLedgerError

RECORD_PATH = "/services/rest/record/v1/currency"


@dataclass(frozen=True, slots=True)
class Currency:
    id: str
    code: str
    is_base: bool


class Currencies:
    def __init__(self, http: LedgerHttp) -> None:
        self._http = http
        self._by_code: dict[str, Currency] = {}
        self._by_id: dict[str, Currency] = {}

    async def id_of(self, code: str) -> str:
        return (await self.by_code(code)).id

    async def is_base(self, code: str) -> bool:
        return (await self.by_code(code)).is_base

    async def by_code(self, code: str) -> Currency:
        if code not in self._by_code:
            await self._load(await self._find(code))
        if code not in self._by_code:
            raise self._missing(code)
        return self._by_code[code]

    async def code_of(self, currency_id: str | None) -> str | None:
        if currency_id is None:
            return None
        if currency_id not in self._by_id:
            await self._load(currency_id)
        return self._by_id[currency_id].code

    async def _find(self, code: str) -> str:
        query: dict[str, str | int] = {"q": f'symbol IS "{code}"', "limit": 5}
        answer = await self._http.json("GET", RECORD_PATH, params=query, idempotent=True)
        items = answer.get("items") or []
        if not items:
            raise self._missing(code)
        return str(items[0]["id"])

    async def _load(self, currency_id: str) -> None:
        url = f"{RECORD_PATH}/{quote(currency_id, safe='')}"
        raw = await self._http.json("GET", url, idempotent=True)
        currency = Currency(str(raw["id"]), str(raw["symbol"]), bool(raw.get("isBaseCurrency")))
        self._by_code[currency.code] = currency
        self._by_id[currency.id] = currency

    def _missing(self, code: str) -> PermanentLedgerError:
        return PermanentLedgerError(
            f"NetSuite has no currency with ISO code {code}: enable Multiple Currencies and "
            f"add a {code} currency record (Lists > Accounting > Currencies)",
            code="syncledger.unknown_currency",
        )
