"""The NetSuite sandbox account: gates (TBA, throttling, concurrency), record operations,
reference data (currencies), asynchronous jobs, and the handle tests use (``count``,
``records``, fault injection, ``throttled``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook
from syncledger.adapters.netsuite.sandbox.errors import NsError, refuse
from syncledger.adapters.netsuite.sandbox.items import ITEM_TYPES, SEED_ITEMS
from syncledger.adapters.netsuite.sandbox.query import record_filter
from syncledger.adapters.netsuite.sandbox.reads import Reader, collection, page_bounds
from syncledger.adapters.netsuite.sandbox.rules import Account
from syncledger.adapters.netsuite.sandbox.schema import Schema
from syncledger.adapters.netsuite.sandbox.tba import SignedRequest, TbaServer
from syncledger.adapters.netsuite.sandbox.writes import Writer
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.faults import Faults
from syncledger.adapters.sandbox.scaffold import SandboxHandle
from syncledger.adapters.sandbox.throttle import WindowThrottle

RECORD_TYPES = (
    "customer",
    "invoice",
    "customerPayment",
    "creditMemo",
    "customerRefund",
    "serviceSaleItem",
    "discountItem",
    "currency",
)
RECORD_OF_KIND = {
    "customer": "customer",
    "invoice": "invoice",
    "payment": "customerPayment",
    "credit_note": "creditMemo",
    "refund": "customerRefund",
}
SEED_CURRENCIES = {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR"}
CURRENCY_NAMES = {
    "USD": "US Dollar",
    "GBP": "British pound",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
}


def record_type(name: str) -> str:
    """The canonical spelling of a REST record type (they are case-insensitive)."""
    for known in RECORD_TYPES:
        if known.lower() == name.lower():
            return known
    raise refuse("record.type_unknown", record=name)


class NetSuiteSandbox(SandboxHandle[NetSuiteBook]):
    """One sandbox account. Operations raise ``NsError`` on refusal."""

    def __init__(
        self,
        book: NetSuiteBook,
        tba: TbaServer,
        *,
        concurrency: int,
        per_minute: int,
        home_currency: str = "USD",
        timezone: str = "UTC",
        latency: float = 0.0,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(book, faults=faults, home_currency=home_currency)
        self.tba = tba
        self.concurrency = concurrency
        self.latency = latency
        self.in_flight = 0
        self._frequency = WindowThrottle(Rate(per_minute, 60.0))
        self.account = _account(self.home_currency)
        zone = ZoneInfo(timezone)
        self.reader = Reader(book, zone)
        self.writer = Writer(book, self.account)
        #: request body checks; ``ignored`` lists the fields it dropped ("record:path")
        self.schema = Schema()
        with book.transaction():
            for record, item in SEED_ITEMS.items():
                book.seed(record, item, "createdDate")

    # ------------------------------------------------------ handle for tests

    @property
    def account_id(self) -> str:
        return self.tba.account_id

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of a kind (``item``: items of every type)."""
        if kind == "item":
            return [item for record in ITEM_TYPES for item in self.book.records(record)]
        return self.book.records(RECORD_OF_KIND.get(kind, kind))

    # --------------------------------------------------------------- gates

    def admit(self, request: SignedRequest) -> None:
        """Login, then injected throttling, then the account's concurrency and frequency."""
        if self.tba.failure(request) is not None:
            raise refuse("login.invalid")
        injected = self.injected_throttle()
        if injected is not None:
            raise refuse("limit.concurrency", headers={"Retry-After": f"{injected:g}"})
        if self.in_flight >= self.concurrency:
            self.throttled += 1
            raise refuse("limit.concurrency")
        if self.over_limit(self._frequency.admit(self.account_id)):
            raise refuse("limit.frequency")

    @contextlib.contextmanager
    def flight(self) -> Iterator[None]:
        """Counts a request as in flight (against the concurrency limit) until it ends."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    # ---------------------------------------------------------- operations

    @property
    def ignored(self) -> list[str]:
        """Body fields dropped as a SuiteTax account's records do not hold them."""
        return self.schema.ignored

    def create(self, record: str, body: Any) -> dict[str, Any]:
        record = _writable_type(record)
        with self.book.transaction():
            return self.writer.create(record, self.schema.conformed(record, _object(body)))

    def put(self, record: str, ident: str, body: Any, replace: Iterable[str]) -> dict[str, Any]:
        record = _writable_type(record)
        external = _external(ident)
        if external is None:
            raise refuse("upsert.not_external_id")
        conformed = self.schema.conformed(record, _object(body))
        with self.book.transaction():
            return self.writer.upsert(record, external, conformed, replace)

    def patch(self, record: str, ident: str, body: Any, replace: Iterable[str]) -> dict[str, Any]:
        record = _writable_type(record)
        conformed = self.schema.conformed(record, _object(body))
        with self.book.transaction():
            current = self.lookup(record, ident)
            return self.writer.update(record, current, conformed, replace)

    def lookup(self, record: str, ident: str) -> dict[str, Any]:
        record = record_type(record)
        if record == "currency":
            return self._currency(ident)
        external = _external(ident)
        found = (
            self.book.get(record, ident)
            if external is None
            else self.book.by_external_id(record, external)
        )
        if found is None:
            raise refuse("record.not_found", record=record, ident=ident)
        return found

    def read(self, record: str, ident: str, base: str, *, expand: bool) -> dict[str, Any]:
        found = self.lookup(record, ident)
        return self.reader.present(record_type(record), found, base, expand=expand)

    def listing(self, record: str, params: Mapping[str, str], base: str) -> dict[str, Any]:
        record = record_type(record)
        size, start = page_bounds(params.get("limit"), params.get("offset"))
        if record == "currency":
            items = self._currency_items(params.get("q"), base)
        else:
            items = self.reader.ids(record, params.get("q"), base)
        query = {"q": params["q"]} if params.get("q") else {}
        return collection(items, size, start, f"{base}/services/rest/record/v1/{record}", query)

    def suiteql(self, body: Any, params: Mapping[str, str], base: str) -> dict[str, Any]:
        statement = _object(body).get("q")
        if not isinstance(statement, str) or not statement.strip():
            raise refuse("suiteql.no_statement")
        size, start = page_bounds(params.get("limit"), params.get("offset"))
        rows = self.reader.suiteql(statement)
        return collection(rows, size, start, f"{base}/services/rest/query/v1/suiteql", {})

    # ---------------------------------------------------------------- async

    def job_for(self, key: str | None) -> int | None:
        if key is None:
            return None
        try:
            uuid.UUID(key)
        except ValueError:
            raise refuse("async.key_not_uuid") from None
        return self.book.job_for_key(key)

    def conflict(self, job_id: int, base: str) -> NsError:
        location = f"{base}/services/rest/async/v1/job/{job_id}"
        headers = {"Location": location, "Preference-Applied": "respond-async"}
        return refuse("async.key_used", headers=headers)

    # ----------------------------------------------------------- currencies

    def _currency(self, ident: str) -> dict[str, Any]:
        code = self.account.currencies.get(ident)
        if code is None:
            raise refuse("record.not_found", record="currency", ident=ident)
        return {
            "id": ident,
            "symbol": code,
            "name": CURRENCY_NAMES.get(code, code),
            "isBaseCurrency": ident == self.account.base_currency,
            "isInactive": False,
        }

    def _currency_items(self, q: str | None, base: str) -> list[dict[str, Any]]:
        records = [self._currency(i) for i in sorted(self.account.currencies, key=int)]
        if q:
            keep = record_filter(q, self.reader.zone)
            records = [r for r in records if keep(r)]
        return [
            {
                "links": [
                    {"rel": "self", "href": f"{base}/services/rest/record/v1/currency/{r['id']}"}
                ],
                "id": r["id"],
            }
            for r in records
        ]


def _account(home_currency: str) -> Account:
    currencies = dict(SEED_CURRENCIES)
    if home_currency not in currencies.values():
        currencies[str(len(currencies) + 1)] = home_currency
    base = next(i for i, code in currencies.items() if code == home_currency)
    return Account(currencies=currencies, base_currency=base)


def _writable_type(record: str) -> str:
    record = record_type(record)
    if record == "currency":
        raise refuse("record.read_only")
    return record


def _external(ident: str) -> str | None:
    return ident[4:] if ident.lower().startswith("eid:") else None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise refuse("request.not_object")
    return body
