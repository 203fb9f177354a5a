"""Customer details the ledger owns flow back to the CRM (issue #11), against the HubSpot
sandbox served over real HTTP on loopback (uvicorn), with the memory ledger and log.

A customer pushed one-way; a bookkeeper edits its e-mail and phone in the ledger; the
reverse is turned on later (no re-import); back-sync writes the ledger's values onto the
HubSpot contact once — also when the worker dies between the write and its mark — and
the source's next read is not echoed back into the ledger as a conflict. Its trace shows
the way back. The same with QuickBooks Online, Xero and Odoo sandboxes as the books (their
own change reads), where a later CRM edit of the owned e-mail leaves the books' value.

The billing address goes back in parts only: a bookkeeper fills the address's own fields
at QuickBooks Online (Xero) and the HubSpot company's address properties (the Jobber
client's ``billingAddress``) take them; an address a ledger holds as one text, or one the
memory ledger cannot read in parts, is refused with its reason and never split."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.adapters.jobber.platform import SOURCE as JOBBER
from syncledger.adapters.jobber.sandbox.server import JobberSandbox
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.errors import SourceError
from syncledger.core.model import RecordRef
from syncledger.core.source_ports import (
    CustomerDetailsRefusal,
    CustomerDetailsUpdate,
    CustomerDetailsWriter,
    RecordFetcher,
    RecordHint,
    SourceItem,
    SourceReader,
)
from syncledger.core.trace import trace
from tests.support.odoo import in_process_odoo
from tests.support.qbo import in_process_qbo
from tests.support.served_sources import hubspot_reader, pushed_one_way
from tests.support.xero import in_process_xero
from tests.unit.test_customer_reverse import OwningHarness, backsync
from tests.unit.test_sync import ENTITY, Harness

pytestmark = pytest.mark.integration
OWNED = {"email": "ledger", "phone": "ledger"}


@dataclass
class KilledAfterWrite:
    """The source takes the write, then the worker dies before it marks it."""

    inner: CustomerDetailsWriter

    async def write_customer_details(
        self, updates: Sequence[CustomerDetailsUpdate]
    ) -> list[CustomerDetailsRefusal]:
        await self.inner.write_customer_details(updates)
        raise SourceError("worker killed after the write")


async def edit_in_books(h: Harness, ref: str, **details: str) -> None:
    """A bookkeeper edits the details of the customer pushed for ``ref`` in the ledger."""
    pushed = await h.ledger.find("customer", ref)
    assert pushed is not None
    h.ledger.edit_customer(pushed.ledger_id, **details)


async def reread_not_echoed(
    h: Harness, reader: RecordFetcher, hint: RecordHint
) -> list[SourceItem]:
    """The source's version of the record after our write, re-read by id as a webhook's
    hint is: it is pushed as our own write, not met as a conflict."""
    later = await reader.fetch([hint])
    await h.ingest(later)
    outcomes = await h.run()
    assert [o.status for o in outcomes if o.status != "ignored"] == ["pushed"]
    assert "ConflictDetected" not in await h.types()
    return later


def contact_updates(sandbox: HubSpotSandbox) -> int:
    return sum(
        1
        for method, path in sandbox.requests
        if method == "POST" and path == "/crm/objects/2026-03/contacts/batch/update"
    )


async def test_a_bookkeepers_email_and_phone_reach_the_hubspot_contact_once(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path
) -> None:
    sandbox, url = hubspot
    rid = sandbox.store.create(
        "contacts",
        {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}
        | {"phone": "+44 20 7946 0001"},
    )
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, CustomerDetailsWriter) and isinstance(reader, SourceReader)
    try:
        h = Harness()
        await pushed_one_way(h, reader)
        ref = f"hubspot/customer/contact-{rid}"
        books = {"email": "accounts@lovelace.example", "phone": "+44 20 7946 0000"}
        await edit_in_books(h, ref, **books)

        await backsync(h, reader, {})  # still one-way: nothing reaches HubSpot
        assert sandbox.store.records["contacts"][rid].properties["email"] == "ada@example.com"

        with pytest.raises(SourceError):  # reverse on; killed between write and mark
            await backsync(h, KilledAfterWrite(reader), OWNED)
        report = await backsync(h, reader, OWNED)  # the restarted worker writes it again
        assert report.details_written == 1
        again = await backsync(h, reader, OWNED)
        assert (again.details_observed, again.details_written) == (0, 0)

        props = sandbox.store.records["contacts"][rid].properties
        assert {k: props[k] for k in books} == books
        assert contact_updates(sandbox) == 2  # the write, and once more after the crash

        # HubSpot announces the contact's change (our write) and it is re-read by id, as a
        # webhook's hint is (a loopback URL counts as live: delta searches keep a margin)
        assert isinstance(reader, RecordFetcher)
        later = await reread_not_echoed(h, reader, RecordHint("customer", f"contact-{rid}"))
        assert later[0].fields["email"] == books["email"]

        said = [line.summary for line in await trace(h.store, ENTITY, RecordRef.parse(ref))]
        assert any("the ledger owns them" in s for s in said)
        assert any("email, phone written back to the source" in s for s in said)
    finally:
        await reader.aclose()


async def test_an_address_the_ledger_holds_in_no_parts_is_refused_with_its_reason(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path
) -> None:
    sandbox, url = hubspot
    rid = sandbox.store.create("companies", {"name": "Analytical Engines", "city": "London"})
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, CustomerDetailsWriter)
    try:
        h = Harness()
        await pushed_one_way(h, reader)
        edits = {"email": "ae@example.com", "billing_address": "1 Dorset St\nLondon"}
        await edit_in_books(h, f"hubspot/customer/{rid}", **edits)
        owned = {"email": "ledger", "billing_address": "ledger"}
        report = await backsync(h, reader, owned)
        assert report.details_refused == 2 and report.details_written == 0
        assert any("billing_address refused (no_parts)" in line for line in report.lines)
        assert any("email refused (not_mapped)" in line for line in report.lines)
        assert sandbox.store.records["companies"][rid].properties["city"] == "London"
        assert (await backsync(h, reader, owned)).details_refused == 0  # not retried
    finally:
        await reader.aclose()


async def test_a_bookkeepers_email_and_phone_reach_the_jobber_client_once(
    jobber: tuple[JobberSandbox, str], tmp_path: Path
) -> None:
    sandbox, url = jobber
    rid = sandbox.store.put_client(
        firstName="Grace",
        lastName="Hopper",
        emails=[{"address": "grace@example.com", "primary": True}],
        phones=[{"number": "+1 212 555 0100", "primary": True}],
    )
    reader = JOBBER.connect(SourceConnection(tmp_path / "t.json", base_url=url))
    assert isinstance(reader, CustomerDetailsWriter) and isinstance(reader, RecordFetcher)
    try:
        h = Harness()
        await pushed_one_way(h, reader)
        ref = f"jobber/customer/{rid}"
        books = {"email": "accounts@hopper.example", "phone": "+1 212 555 0199"}
        await edit_in_books(h, ref, **books)
        owned = {"email": "ledger", "phone": "ledger", "billing_address": "ledger"}

        with pytest.raises(SourceError):
            await backsync(h, KilledAfterWrite(reader), owned)
        report = await backsync(h, reader, owned)
        assert (report.details_written, report.details_refused) == (1, 0)
        assert (await backsync(h, reader, owned)).details_observed == 0

        client = sandbox.store.records[rid].fields
        assert [(e["address"], e["primary"]) for e in client["emails"]] == [(books["email"], True)]
        assert [(p["number"], p["primary"]) for p in client["phones"]] == [(books["phone"], True)]

        later = await reread_not_echoed(h, reader, RecordHint("customer", rid))
        assert later[0].fields["email"] == books["email"]

        # the memory ledger reads no address in parts: refused, never split
        await edit_in_books(h, ref, billing_address="1 Navy Yard")
        refused = await backsync(h, reader, owned)
        assert any("billing_address refused (no_parts)" in line for line in refused.lines)
    finally:
        await reader.aclose()


async def test_with_quickbooks_books_the_edited_email_reaches_hubspot(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path
) -> None:
    """The QBO sandbox as the books: the bookkeeper's sparse update of the customer's
    e-mail is read back by QBO's own change feed and written to the HubSpot contact."""
    sandbox, url = hubspot
    rid = sandbox.store.create(
        "contacts", {"firstname": "Mary", "lastname": "Somerville", "email": "mary@example.com"}
    )
    qbo = in_process_qbo()
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, CustomerDetailsWriter)
    try:
        h = Harness(ledger=qbo.ledger)  # type: ignore[arg-type]
        await pushed_one_way(h, reader)
        ref = f"hubspot/customer/contact-{rid}"
        pushed = await qbo.ledger.find("customer", ref)
        assert pushed is not None and pushed.version is not None
        qbo.sandbox.write(
            "customer",
            None,
            {
                "Id": pushed.ledger_id,
                "SyncToken": pushed.version,
                "sparse": True,
                "PrimaryEmailAddr": {"Address": "mary.accounts@example.com"},
            },
        )  # a bookkeeper at QBO's screens
        report = await backsync(h, reader, {"email": "ledger"})
        assert (report.details_observed, report.details_written) == (1, 1)
        props = sandbox.store.records["contacts"][rid].properties
        assert props["email"] == "mary.accounts@example.com"
    finally:
        await reader.aclose()
        await qbo.ledger.aclose()


def _xero_edit(xero: Any, ledger_id: str, email: str) -> None:
    """A bookkeeper at Xero's screens: the contact's e-mail changed (its POST)."""
    contact = {"ContactID": ledger_id, "EmailAddress": email}
    xero.sandbox.save_all(
        "Contact", {"Contacts": [contact]}, ident=ledger_id, summarize=True, unitdp=2, put=False
    )


def _odoo_edit(odoo: Any, ledger_id: str, email: str) -> None:
    """A bookkeeper at Odoo's screens: the partner's e-mail written."""
    odoo.sandbox.execute("res.partner", "write", [int(ledger_id)], {"vals": {"email": email}}, {})


BOOKS: dict[str, tuple[Callable[[], Any], Callable[[Any, str, str], None]]] = {
    "xero": (in_process_xero, _xero_edit),
    "odoo": (in_process_odoo, _odoo_edit),
}


@pytest.mark.parametrize("books", sorted(BOOKS))
async def test_with_other_books_the_edited_email_reaches_hubspot_and_is_not_echoed(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path, books: str
) -> None:
    """Xero's (and Odoo's) sandbox as the books: the bookkeeper's e-mail is read back by
    the ledger's own change read, written to the HubSpot contact, and HubSpot's next
    version of the contact is pushed as our own write, not met as a conflict. A later
    CRM edit of the e-mail does not overwrite the ledger's."""
    sandbox, url = hubspot
    rid = sandbox.store.create(
        "contacts", {"firstname": "Emmy", "lastname": "Noether", "email": "emmy@example.com"}
    )
    make, edit = BOOKS[books]
    env = make()
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, CustomerDetailsWriter) and isinstance(reader, RecordFetcher)
    try:
        h = OwningHarness({"email": "ledger"}, ledger=env.ledger)
        await pushed_one_way(h, reader)
        ref = f"hubspot/customer/contact-{rid}"
        pushed = await env.ledger.find("customer", ref)
        assert pushed is not None
        edit(env, pushed.ledger_id, "emmy.accounts@example.com")

        report = await backsync(h, reader, {"email": "ledger"})
        assert (report.details_observed, report.details_written) == (1, 1)
        props = sandbox.store.records["contacts"][rid].properties
        assert props["email"] == "emmy.accounts@example.com"

        await reread_not_echoed(h, reader, RecordHint("customer", f"contact-{rid}"))

        # a CRM user changes the e-mail again: the books keep the bookkeeper's
        sandbox.store.update("contacts", rid, {"email": "emmy.crm@example.com"})
        await h.ingest(await reader.fetch([RecordHint("customer", f"contact-{rid}")]))
        pushed_again = await h.run()
        assert [o.status for o in pushed_again if o.status != "ignored"] == ["pushed"]
        held = await env.ledger.get("customer", pushed.ledger_id)
        assert held is not None
        assert env.ledger.customer_details(held)["email"] == "emmy.accounts@example.com"
    finally:
        await reader.aclose()
        await env.ledger.aclose()
        env.sandbox.close()


ADDRESS = {"billing_address": "ledger"}


async def test_a_bookkeepers_address_in_quickbooks_fields_reaches_the_hubspot_company(
    hubspot: tuple[HubSpotSandbox, str], tmp_path: Path
) -> None:
    """QBO as the books: the company's address arrives as one text in ``BillAddr.Line1``;
    while it stays so, a bookkeeper's edit of it is refused (one text, not split). Filled
    in QBO's own address fields, its parts reach HubSpot's address properties, the next
    read of the company is not echoed as a conflict, and a later change of one part sends
    that part only: the street HubSpot was given stays."""
    sandbox, url = hubspot
    rid = sandbox.store.create(
        "companies",
        {"name": "Analytical Engines", "address": "1 Dorset St", "city": "London"}
        | {"zip": "W1U 4EG", "country": "United Kingdom"},
    )
    qbo = in_process_qbo()
    reader = hubspot_reader(url, tmp_path)
    assert isinstance(reader, CustomerDetailsWriter) and isinstance(reader, RecordFetcher)
    try:
        h = OwningHarness(ADDRESS, ledger=qbo.ledger)
        await pushed_one_way(h, reader)
        pushed = await qbo.ledger.find("customer", f"hubspot/customer/{rid}")
        assert pushed is not None
        assert pushed.raw["BillAddr"]["Line1"] == "1 Dorset St\nLondon\nW1U 4EG\nUnited Kingdom"

        _qbo_address(qbo, pushed.ledger_id, {"Line1": "1 Dorset Street\nLondon"})
        one_text = await backsync(h, reader, ADDRESS)
        assert any("billing_address refused (free_text)" in ln for ln in one_text.lines)

        books = {"Line1": "221B Baker St", "City": "London", "PostalCode": "NW1 6XE"}
        _qbo_address(qbo, pushed.ledger_id, books | {"Country": "United Kingdom"})
        report = await backsync(h, reader, ADDRESS)
        assert (report.details_observed, report.details_written) == (1, 1)
        props = sandbox.store.records["companies"][rid].properties
        assert {k: props.get(k) for k in ("address", "city", "zip", "country")} == {
            "address": "221B Baker St",
            "city": "London",
            "zip": "NW1 6XE",
            "country": "United Kingdom",
        }

        await reread_not_echoed(h, reader, RecordHint("customer", rid))
        sandbox.store.update("companies", rid, {"address": "221B Baker Street"})  # HubSpot's
        _qbo_address(qbo, pushed.ledger_id, books | {"Country": "UK"})
        assert (await backsync(h, reader, ADDRESS)).details_written == 1
        props = sandbox.store.records["companies"][rid].properties
        assert (props["address"], props["country"]) == ("221B Baker Street", "UK")
    finally:
        await reader.aclose()
        await qbo.ledger.aclose()


def _qbo_address(qbo: Any, ledger_id: str, address: dict[str, str]) -> None:
    """A bookkeeper at QBO's screens: the customer's billing address (a sparse update)."""
    current = qbo.sandbox.read("customer", ledger_id)["Customer"]
    body = {"Id": ledger_id, "SyncToken": current["SyncToken"], "sparse": True}
    qbo.sandbox.write("customer", None, body | {"BillAddr": address})


async def test_a_bookkeepers_address_in_xero_fields_reaches_the_jobber_client(
    jobber: tuple[JobberSandbox, str], tmp_path: Path
) -> None:
    """Xero as the books: a bookkeeper fills the contact's postal address fields; Jobber's
    client edit takes them as its ``billingAddress`` (the parts Xero does not hold keep
    Jobber's), and the next read of the client is not echoed as a conflict."""
    sandbox, url = jobber
    rid = sandbox.store.put_client(
        firstName="Grace",
        lastName="Hopper",
        billingAddress={"street1": "1 Navy Yard", "street2": "Building 1", "city": "Washington"}
        | {"province": "DC", "postalCode": "20374", "country": "US"},
    )
    xero = in_process_xero()
    reader = JOBBER.connect(SourceConnection(tmp_path / "t.json", base_url=url))
    assert isinstance(reader, CustomerDetailsWriter) and isinstance(reader, RecordFetcher)
    try:
        h = OwningHarness(ADDRESS, ledger=xero.ledger)
        await pushed_one_way(h, reader)
        pushed = await xero.ledger.find("customer", f"jobber/customer/{rid}")
        assert pushed is not None
        address = {"AddressType": "POBOX", "AddressLine1": "2 Crystal Dr", "City": "Arlington"}
        contact = {"ContactID": pushed.ledger_id, "Addresses": [address | {"Region": "VA"}]}
        xero.sandbox.save_all(
            "Contact", {"Contacts": [contact]}, ident=pushed.ledger_id, summarize=True,
            unitdp=2, put=False,
        )  # fmt: skip

        report = await backsync(h, reader, ADDRESS)
        assert (report.details_observed, report.details_written) == (1, 1)
        assert sandbox.store.records[rid].fields["billingAddress"] == {
            "street1": "2 Crystal Dr",
            "street2": "Building 1",
            "city": "Arlington",
            "province": "VA",
            "postalCode": "20374",
            "country": "US",
        }
        later = await reread_not_echoed(h, reader, RecordHint("customer", rid))
        assert later[0].fields["billing_address"].startswith("2 Crystal Dr")
        assert (await backsync(h, reader, ADDRESS)).details_observed == 0
    finally:
        await reader.aclose()
        await xero.ledger.aclose()
        xero.sandbox.close()
