"""Jobber write-back says what became of each invoice (against the Jobber sandbox,
in-process): the payment record's ``userErrors`` refuse that invoice with Jobber's words,
a request that fails leaves it and the rest not attempted, the ones before stay written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncledger.adapters.jobber import writeback
from syncledger.adapters.jobber.client import JobberGraphQL
from syncledger.adapters.jobber.sandbox.server import create_app, sandbox_of
from syncledger.adapters.jobber.sandbox.store import Store
from syncledger.core.errors import SourceError
from syncledger.core.source_ports import StatusUpdate
from tests.unit.test_jobber_source import _reader


def _paid(invoice: str) -> StatusUpdate:
    return StatusUpdate(
        f"jobber/invoice/{invoice}", "qbo", "paid", "USD", Decimal("100.00"), Decimal("0.00"),
        "1042", "77", None, None,
    )  # fmt: skip


def _invoices(store: Store, n: int) -> list[str]:
    client = store.put_client(companyName="Race Ltd")
    lines = [{"name": "Work", "description": "", "quantity": 1, "unitPrice": 100}]
    return [store.put_invoice(client, str(500 + i), lines) for i in range(n)]


@dataclass
class Between:
    """Jobber's API, with something happening in Jobber just before one call."""

    api: JobberGraphQL
    before: str  # the query name
    happen: Any
    calls: int = 0

    async def run(
        self, name: str, query: str, variables: Mapping[str, Any], *, mutation: bool = False
    ) -> tuple[dict[str, Any], Any]:
        if name == self.before:
            self.calls += 1
            self.happen(self.calls)
        return await self.api.run(name, query, variables, mutation=mutation)


async def test_an_invoice_deleted_before_its_payment_record_is_refused_with_jobbers_words(
    tmp_path: Path,
) -> None:
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    first, second = _invoices(store, 2)
    reader = _reader(app, tmp_path)

    def delete_the_first(call: int) -> None:
        if call == 1:
            store.destroy(first)  # after its amounts were read

    api = Between(reader._api, "record_payment", delete_the_first)
    try:
        outcomes = await writeback.write_back(api, "USD", [_paid(first), _paid(second)])  # type: ignore[arg-type]
    finally:
        await reader.aclose()
    gone, taken = outcomes
    assert (gone.result, gone.code) == ("refused", "source_refused")
    assert "Invoice not found" in gone.message  # Jobber's userErrors message
    assert taken.result == "written"
    assert store.paid_amount(second) == Decimal("100")


async def test_a_failed_request_leaves_that_invoice_and_the_rest_not_attempted(
    tmp_path: Path,
) -> None:
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    invoices = _invoices(store, 3)
    reader = _reader(app, tmp_path)

    def down_on_the_second(call: int) -> None:
        if call == 2:
            raise SourceError("jobber: timed out")

    api = Between(reader._api, "invoice_paid", down_on_the_second)
    try:
        outcomes = await writeback.write_back(api, "USD", [_paid(i) for i in invoices])  # type: ignore[arg-type]
    finally:
        await reader.aclose()
    assert [o.result for o in outcomes] == ["written", "not_attempted", "not_attempted"]
    assert "timed out" in outcomes[1].message
    assert api.calls == 2  # nothing asked of Jobber after the failure
    assert [store.paid_amount(i) for i in invoices] == [Decimal("100"), 0, 0]
