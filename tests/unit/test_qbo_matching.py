"""QboLedger.match_customers against the QBO sandbox in-process: the answers of
match_customer, one customer at a time, in one query per field (adapters/qbo/matching.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from syncledger.adapters.qbo.matching import MAX_VALUE_CHARS, MAX_VALUES, match_many
from syncledger.adapters.qbo.sandbox.errors import QboFault
from syncledger.adapters.qbo.sandbox.query import parse
from syncledger.core.ports import CustomerBatchMatcher
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import customer
from tests.support.matching import at_once, created, one_by_one
from tests.support.qbo import InProcessQbo, in_process_qbo


@pytest.fixture
async def qbo() -> AsyncIterator[InProcessQbo]:
    options = {"page_size": 3}
    async with closed_after(
        in_process_qbo(per_second=200, per_minute=10000, ledger_options=options)
    ) as env:
        yield env


async def test_a_batch_is_matched_as_one_by_one_in_one_query_per_field(qbo: InProcessQbo) -> None:
    assert isinstance(qbo.ledger, CustomerBatchMatcher)
    await created(qbo.ledger, 1, name="Acme Ltd")
    await created(qbo.ledger, 2, name="Mail Owner", email="ops@example.com")
    gone = await created(qbo.ledger, 3, name="O'Brien & Sons")
    stored = qbo.sandbox.book.get("Customer", gone) or {}
    qbo.sandbox.book.put("Customer", stored | {"Active": False})  # inactive still matches
    for n in range(4, 7):  # three of one e-mail: with ops@, more than a page (3)
        await created(qbo.ledger, n, email="shared@example.com")
    customers = {
        "a": customer(11, name="ACME LTD"),
        "b": customer(12, name="New One", email="OPS@example.com"),
        "c": customer(13, name="o'brien & sons"),
        "d": customer(14, name="Stranger"),
        "e": customer(15, name="Another", email="shared@example.com"),
        "f": customer(16, name="Acme Ltd", email="ops@example.com"),
    }
    expected = await one_by_one(qbo.ledger, customers)
    assert [len(expected[r]) for r in "abcdef"] == [1, 1, 1, 0, 3, 2]
    before = len(qbo.transport.queries("Customer"))
    assert await at_once(qbo.ledger, customers) == expected
    statements = qbo.transport.queries("Customer")[before:]
    # one DisplayName IN; PrimaryEmailAddr IN finds 4 rows: two pages of 3
    assert [s.split(" IN ")[0].rsplit(" ", 1)[-1] for s in statements] == [
        "DisplayName",
        "PrimaryEmailAddr",
        "PrimaryEmailAddr",
    ]


async def test_without_e_mails_a_batch_is_one_query(qbo: InProcessQbo) -> None:
    await created(qbo.ledger, 1, name="Acme Ltd")
    customers = {str(n): customer(n, name=f"Batch {n}") for n in range(10, 20)}
    before = len(qbo.transport.queries("Customer"))
    assert await at_once(qbo.ledger, customers) == {ref: [] for ref in customers}
    assert len(qbo.transport.queries("Customer")) - before == 1


async def test_many_customers_go_in_several_bounded_queries(qbo: InProcessQbo) -> None:
    await created(qbo.ledger, 1, name="Batch 0149")
    customers = {str(n): customer(n, name=f"Batch {n:04d} {'x' * 20}") for n in range(300)}
    customers["149"] = customer(149, name="batch 0149")
    before = len(qbo.transport.queries("Customer"))
    found = await at_once(qbo.ledger, customers)
    assert found == await one_by_one(qbo.ledger, customers)
    assert len(found["149"]) == 1
    statements = qbo.transport.queries("Customer")[before : before + 100]
    names = [s for s in statements if "DisplayName IN" in s]
    assert len(names) > 1
    for statement in names:
        values = statement.split(" IN (", 1)[1].split(") AND ", 1)[0]
        assert len(values) <= MAX_VALUE_CHARS
        assert values.count("', '") + 1 <= MAX_VALUES


async def test_a_row_carrying_none_of_the_values_makes_its_query_unsure() -> None:
    """QBO compared in a way ours does not: nobody asked in that query gets an answer."""
    customers = {
        "a": customer(1, name="Alpha", email="a@example.com"),
        "b": customer(2, name="Beta"),
    }

    async def rows(where: str) -> list[dict[str, Any]]:
        if where.startswith("DisplayName"):
            return [{"Id": "7", "DisplayName": "Alpha"}, {"Id": "8", "DisplayName": "Beta "}]
        return [{"Id": "9", "PrimaryEmailAddr": {"Address": "A@example.com"}}]

    assert await match_many(rows, customers) == {}

    async def fine(where: str) -> list[dict[str, Any]]:
        if where.startswith("DisplayName"):
            return [{"Id": "7", "DisplayName": "ALPHA"}]
        return [{"Id": "9", "PrimaryEmailAddr": {"Address": "A@example.com"}}]

    found = await match_many(fine, customers)
    assert {ref: [r["Id"] for r in got] for ref, got in found.items()} == {
        "a": ["7", "9"],
        "b": [],
    }


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM Customer WHERE DisplayName IN ('a', 'b') AND Active IN (true, false)",
        "SELECT * FROM Customer WHERE PrimaryEmailAddr IN ('a@example.com') MAXRESULTS 10",
    ],
)
def test_the_sandbox_takes_in_lists_on_name_and_e_mail(statement: str) -> None:
    parse(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",  # no OR
        "SELECT * FROM Customer WHERE DisplayName = ('a', 'b')",  # a list only after IN
        "SELECT * FROM Customer WHERE Notes IN ('a')",  # not filterable
    ],
)
def test_the_sandbox_refuses_what_qbo_refuses(statement: str) -> None:
    with pytest.raises(QboFault):
        parse(statement)


async def test_one_customer_is_matched_on_every_page(qbo: InProcessQbo) -> None:
    """More rows than a page (3) share the e-mail: match_customer reads them all, as the
    batch does."""
    made = {await created(qbo.ledger, n, email="shared@example.com") for n in range(1, 6)}
    named = await created(qbo.ledger, 6, name="Another")
    wanted = customer(20, name="Another", email="SHARED@example.com")
    before = len(qbo.transport.queries("Customer"))
    found = {r.ledger_id for r in await qbo.ledger.match_customer(wanted)}
    assert found == made | {named}
    # DisplayName: one page; PrimaryEmailAddr: two pages (3 and 2)
    assert len(qbo.transport.queries("Customer")) - before == 3
    assert set((await at_once(qbo.ledger, {"w": wanted}))["w"]) == found
