"""Many new customers matched at once (``core.ports.CustomerBatchMatcher``), by the rules
of ``XeroLedger.match_customer``: contacts (archived ones too) with the same name, e-mail
or tax number, ignoring case (tax numbers also spaces, dots and dashes).

Xero's ``where`` joins ``==`` comparisons with ``OR`` / ``||`` ("Requests and responses",
developer.xero.com/documentation/api/requests-and-responses, as summarised in coupler.io's
"How to use Where parameter in Xero importer": "To fetch results that correspond to one of
the conditions - use OR"; ``match_customer`` asks one customer's clauses that way), so a
batch's customers go in one ``where``: the clauses of all of them joined by ``OR``, each
contact given to the customers it matches. One request (paged) instead of one per
customer. Xero's advice to keep ``where`` to simple ``==`` comparisons for large
organisations is kept: nothing else is asked.

Xero documents no limit on a ``where``, but a request whose URL is longer than about 2,090
characters is answered 404 (XeroAPI/Xero-NetStandard#471: ``GET /Contacts?IDs=…`` fails
"with a total URL length of >2091"; xero-node#404 and Xero-OpenAPI#534 the same at 53
ids). So a ``where`` here is at most ``MAX_WHERE_ENCODED`` characters once percent-encoded
(the rest of the URL is under 150), and more customers go in further requests; a customer
whose clauses alone are longer is left out (core matches it on its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from syncledger.adapters.xero.mapping import tax_key
from syncledger.core.model import Customer

MAX_WHERE_ENCODED = 1500
#: every contact (archived ones too) this ``where`` selects, all pages
Rows = Callable[[str], Awaitable[list[dict[str, Any]]]]


def where_literal(value: str) -> str:
    """A string literal of Xero's ``where`` syntax."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def clauses(customer: Customer) -> list[str]:
    """What ``where`` asks for one customer: name, e-mail, the tax number as given and in
    its compact form."""
    wanted = {"Name": customer.name, "EmailAddress": customer.email}
    found = [f"{field}=={where_literal(value)}" for field, value in wanted.items() if value]
    compact = tax_key(customer.tax_id)
    forms = dict.fromkeys(f for f in (customer.tax_id, compact) if f)
    return found + [f"TaxNumber=={where_literal(form)}" for form in forms]


def matches(raw: Mapping[str, Any], customer: Customer) -> bool:
    """The contact has the customer's name or e-mail (case aside) or tax number."""
    wanted = {"Name": customer.name, "EmailAddress": customer.email}
    same = any(
        value and str(raw.get(field) or "").casefold() == value.casefold()
        for field, value in wanted.items()
    )
    compact = tax_key(customer.tax_id)
    return same or (compact is not None and tax_key(raw.get("TaxNumber")) == compact)


async def match_many(
    rows: Rows, customers: Mapping[str, Customer]
) -> dict[str, list[dict[str, Any]]]:
    """The contacts matching each customer, by the caller's id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk, where in _wheres(customers):
        got = await rows(where)
        for ref in chunk:
            found[ref] = [raw for raw in got if matches(raw, customers[ref])]
    return found


def _wheres(customers: Mapping[str, Customer]) -> Iterator[tuple[list[str], str]]:
    """The customers in groups whose ``where`` fits, with that ``where``."""
    chunk: list[str] = []
    asked: dict[str, None] = {}
    for ref, customer in customers.items():
        mine = dict.fromkeys(clauses(customer))
        if _encoded(mine) > MAX_WHERE_ENCODED:
            continue  # alone too long for one request: matched on its own
        if chunk and _encoded({**asked, **mine}) > MAX_WHERE_ENCODED:
            yield chunk, " OR ".join(asked)
            chunk, asked = [], {}
        chunk.append(ref)
        asked.update(mine)
    if chunk:
        yield chunk, " OR ".join(asked)


def _encoded(asked: Mapping[str, None]) -> int:
    return len(quote(" OR ".join(asked), safe=""))
