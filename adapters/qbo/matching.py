"""Customers matched (``QboLedger.match_customer``, ``match_one``) and many new customers
matched at once (``core.ports.CustomerBatchMatcher``, ``match_many``) by the same rules: a
customer whose DisplayName or primary e-mail equals ours, active or not, every page of
each query read (``Rows``).

QBO's query language has ``IN`` with a list of values ("Operator: IN, =, <, >, <=, >=,
LIKE"; "Value: (Value [,Value]) ... only supported for IN clauses") and no ``OR`` ("The
OR operation isn't supported"): Intuit, "Query operations and syntax",
developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries.
``DisplayName`` and ``PrimaryEmailAddr`` are filterable on Customer (Intuit's Customer
entity reference, as ``match_customer`` already queries them). So a batch costs one
``DisplayName IN (...)`` query and, when any customer has an e-mail, one
``PrimaryEmailAddr IN (...)`` query, each paged by ``MAXRESULTS`` (at most 1000 a page,
same page) like every query of the adapter, instead of one or two queries per customer.

Each row QBO returns is given to the customers whose name (or e-mail) it carries,
compared ignoring case (the sandbox's string comparison, ``sandbox/query.py``). Where QBO's
comparison is stricter, a row is given to a customer it would not have matched alone: one
more candidate, a review instead of a link, never a duplicate. A row that carries none of
the values asked for (QBO compared in some way ours does not) cannot be given to anyone:
then none of the customers of that query get an answer, and core matches them one by one.

Undocumented, so kept safe: Intuit names no limit on a statement's length or on the
values of an ``IN``; the statement goes in the URL (``GET .../query?query=``). A query
here carries at most ``MAX_VALUES`` values and ``MAX_VALUE_CHARS`` characters of
quoted values (a URL of about 6 KB at most once percent-encoded, under the 8 KB
request-line limit common to web servers); more values go in further queries
(``in_lists``; ``QboLedger.prefetch`` cuts its ``Id IN`` lists the same way).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from syncledger.adapters.qbo.items import qbo_literal
from syncledger.core.model import Customer

MAX_VALUES = 100
MAX_VALUE_CHARS = 2000
#: every row of the Customer query with this condition (all pages)
Rows = Callable[[str], Awaitable[list[dict[str, Any]]]]
#: the fields matched on, and how each reads from a customer of ours
_FIELDS: tuple[tuple[str, Callable[[Customer], str | None]], ...] = (
    ("DisplayName", lambda c: c.name),
    ("PrimaryEmailAddr", lambda c: c.email),
)


async def match_one(rows: Rows, customer: Customer) -> list[dict[str, Any]]:
    """The rows whose DisplayName or e-mail equals the customer's, each once, read to
    the last page (``QboLedger.match_customer``)."""
    found: dict[str, dict[str, Any]] = {}
    for field, value_of in _FIELDS:
        value = value_of(customer)
        if not value:
            continue
        for raw in await rows(f"{field} = {qbo_literal(value)}"):
            found.setdefault(str(raw["Id"]), raw)
    return list(found.values())


async def match_many(
    rows: Rows, customers: Mapping[str, Customer]
) -> dict[str, list[dict[str, Any]]]:
    """The rows matching each customer, by the caller's id; a customer whose answer is
    unsure is left out (core matches it on its own)."""
    found: dict[str, dict[str, dict[str, Any]]] = {ref: {} for ref in customers}
    for field, value_of in _FIELDS:
        wanted = {ref: v for ref, c in customers.items() if (v := value_of(c))}
        for chunk in in_lists(sorted(set(wanted.values()))):
            got = await rows(f"{field} IN ({', '.join(qbo_literal(v) for v in chunk)})")
            asked = set(chunk)
            _attribute(got, field, {r: v for r, v in wanted.items() if v in asked}, found)
    return {ref: list(by_id.values()) for ref, by_id in found.items()}


def _attribute(
    got: list[dict[str, Any]],
    field: str,
    asked: dict[str, str],
    found: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """Give each row to the customers whose value it carries; a row nobody asked for
    makes every customer of this query unsure (dropped from ``found``)."""
    by_value: dict[str, list[str]] = {}
    for ref, value in asked.items():
        by_value.setdefault(value.casefold(), []).append(ref)
    for raw in got:
        owners = by_value.get(_text(raw.get(field)).casefold())
        if owners is None:
            for ref in asked:
                found.pop(ref, None)
            return
        for ref in owners:
            if ref in found:
                found[ref].setdefault(str(raw["Id"]), raw)


def _text(value: Any) -> str:
    """A field's text as QBO answers it (an e-mail is ``{"Address": ...}``)."""
    if isinstance(value, dict):
        value = value.get("Address")
    return value if isinstance(value, str) else ""


def in_lists(values: Iterable[str]) -> Iterator[list[str]]:
    """``values`` in order, cut into the lists of one ``IN (...)`` each: at most
    ``MAX_VALUES`` values and ``MAX_VALUE_CHARS`` characters quoted (also ``prefetch``'s
    ``Id IN`` lists, ``QboLedger.prefetch``)."""
    chunk: list[str] = []
    size = 0
    for value in values:
        length = len(qbo_literal(value)) + 2
        if chunk and (len(chunk) >= MAX_VALUES or size + length > MAX_VALUE_CHARS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += length
    if chunk:
        yield chunk
