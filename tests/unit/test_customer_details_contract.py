"""The ledger side of the reverse direction on all seven ledgers' sandboxes
(``tests/contracts/customer_details_section.py``): each edit is made through the sandbox's
own service, the way its screens change a customer. A bookkeeper's address goes into the
platform's own address fields (``edit_address_in_books``)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

import pytest

from syncledger.adapters.freshbooks.sandbox.service import resource
from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord
from tests.contracts.customer_details_section import ADDRESS, EDITED, CustomerDetailsSection
from tests.contracts.ledger_contract import LedgerUnderTest
from tests.contracts.ledger_sections import InProcess, in_process, opened
from tests.support.freshbooks import in_process_freshbooks
from tests.support.netsuite import in_process_netsuite
from tests.support.odoo import in_process_odoo
from tests.support.qbo import in_process_qbo
from tests.support.sage import in_process_sage
from tests.support.xero import in_process_xero
from tests.support.zoho import in_process_zoho

STREET = ADDRESS.street[0]


class OnSandbox(CustomerDetailsSection):
    """The section on a platform's in-process sandbox (``books``), closed after the test."""

    @abstractmethod
    def books(self) -> InProcess:
        """The platform's in-process sandbox."""

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        async with opened(in_process(self.books())) as env:
            yield env.under_test


class TestQboCustomerDetails(OnSandbox):
    changes_resolution = 0.01

    def books(self) -> InProcess:
        return in_process_qbo()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        body = {
            "Id": pushed.ledger_id,
            "SyncToken": pushed.version,
            "sparse": True,
            "PrimaryEmailAddr": {"Address": EDITED["email"]},
            "PrimaryPhone": {"FreeFormNumber": EDITED["phone"]},
        }
        ledger.sandbox.write("customer", None, body)

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        address = {
            "Line1": STREET,
            "City": ADDRESS.city,
            "CountrySubDivisionCode": ADDRESS.region,
            "PostalCode": ADDRESS.postal_code,
            "Country": ADDRESS.country,
        }
        body = {"Id": pushed.ledger_id, "SyncToken": pushed.version, "sparse": True}
        ledger.sandbox.write("customer", None, body | {"BillAddr": address})


class TestXeroCustomerDetails(OnSandbox):
    changes_resolution = 0.01  # UpdatedDateUTC and If-Modified-Since count milliseconds

    def books(self) -> InProcess:
        return in_process_xero()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        contact = {
            "ContactID": pushed.ledger_id,
            "EmailAddress": EDITED["email"],
            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": EDITED["phone"]}],
        }
        self._save(ledger, pushed, contact)

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        address = {
            "AddressType": "POBOX",
            "AddressLine1": STREET,
            "City": ADDRESS.city,
            "Region": ADDRESS.region,
            "PostalCode": ADDRESS.postal_code,
            "Country": ADDRESS.country,
        }
        self._save(ledger, pushed, {"ContactID": pushed.ledger_id, "Addresses": [address]})

    @staticmethod
    def _save(ledger: LedgerUnderTest, pushed: LedgerRecord, contact: dict[str, Any]) -> None:
        ledger.sandbox.save_all(
            "Contact",
            {"Contacts": [contact]},
            ident=pushed.ledger_id,
            summarize=True,
            unitdp=2,
            put=False,
        )


class TestZohoCustomerDetails(OnSandbox):
    # The sandbox's contact list rows (adapters/zoho/sandbox/listing.py SUMMARY) carry the
    # primary person's e-mail but no phone: the change read reports the e-mail only
    delta_details = ("email",)
    delta_address = False  # the list rows carry no billing_address either

    def books(self) -> InProcess:
        return in_process_zoho()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        org = ledger.sandbox.org
        current = org.book.get("contact", pushed.ledger_id)
        persons: list[dict[str, Any]] = [dict(p) for p in current["contact_persons"]]
        persons[0] |= {"email": EDITED["email"], "phone": EDITED["phone"]}
        org.update_contact(pushed.ledger_id, {"contact_persons": persons})

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        address = {
            "address": STREET,
            "street2": "",
            "city": ADDRESS.city,
            "state": ADDRESS.region,
            "zip": ADDRESS.postal_code,
            "country": ADDRESS.country,
        }
        ledger.sandbox.org.update_contact(pushed.ledger_id, {"billing_address": address})


class TestFreshBooksCustomerDetails(OnSandbox):
    def books(self) -> InProcess:
        return in_process_freshbooks()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        client = {"email": EDITED["email"], "bus_phone": EDITED["phone"]}
        ledger.sandbox.update(resource("users/clients"), pushed.ledger_id, {"client": client}, ())

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        client = {
            "p_street": STREET,
            "p_street2": "",
            "p_city": ADDRESS.city,
            "p_province": ADDRESS.region,
            "p_code": ADDRESS.postal_code,
            "p_country": ADDRESS.country,
        }
        ledger.sandbox.update(resource("users/clients"), pushed.ledger_id, {"client": client}, ())


class TestSageCustomerDetails(OnSandbox):
    # Sage answers a country as a link to a country record, which the adapter does not read
    address_read = AddressParts(ADDRESS.street, ADDRESS.city, ADDRESS.region, ADDRESS.postal_code)

    def books(self) -> InProcess:
        return in_process_sage()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        person = {"email": EDITED["email"], "telephone": EDITED["phone"]}
        ledger.sandbox.update(
            "contacts", pushed.ledger_id, {"contact": {"main_contact_person": person}}
        )

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        address = {
            "address_line_1": STREET,
            "address_line_2": "",
            "city": ADDRESS.city,
            "region": ADDRESS.region,
            "postal_code": ADDRESS.postal_code,
            "country_id": ADDRESS.country,
        }
        ledger.sandbox.update("contacts", pushed.ledger_id, {"contact": {"main_address": address}})


class TestNetSuiteCustomerDetails(OnSandbox):
    def books(self) -> InProcess:
        return in_process_netsuite()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        body = {"email": EDITED["email"], "phone": EDITED["phone"]}
        ledger.sandbox.patch("customer", pushed.ledger_id, body, ())

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        address = {
            "addr1": STREET,
            "city": ADDRESS.city,
            "state": ADDRESS.region,
            "zip": ADDRESS.postal_code,
            "country": ADDRESS.country,
        }
        line = {"defaultBilling": True, "addressBookAddress": address}
        body = {"addressBook": {"items": [line]}}
        ledger.sandbox.patch("customer", pushed.ledger_id, body, ("addressBook",))


class TestOdooCustomerDetails(OnSandbox):
    # The state and the country are links a bookkeeper picks (res.country.state CA of the
    # US, res.country US); Odoo reads them as their display names, the state's without the
    # " (US)" Odoo adds (adapters/odoo/customer_details.py)
    address_read = AddressParts(
        ADDRESS.street, ADDRESS.city, "California", ADDRESS.postal_code, "United States"
    )

    def books(self) -> InProcess:
        return in_process_odoo()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        vals = {"email": EDITED["email"], "phone": EDITED["phone"]}
        self._write(ledger, pushed, vals)

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        country = self._one(ledger, "res.country", [["code", "=", ADDRESS.country]])
        state = self._one(
            ledger,
            "res.country.state",
            [["code", "=", ADDRESS.region], ["country_id", "=", country]],
        )
        vals = {
            "street": STREET,
            "street2": False,
            "city": ADDRESS.city,
            "state_id": state,
            "zip": ADDRESS.postal_code,
            "country_id": country,
        }
        self._write(ledger, pushed, vals)

    @staticmethod
    def _one(ledger: LedgerUnderTest, model: str, domain: list[Any]) -> int:
        [found] = ledger.sandbox.execute(model, "search", [], {"domain": domain}, {})
        return int(found)

    @staticmethod
    def _write(ledger: LedgerUnderTest, pushed: LedgerRecord, vals: dict[str, Any]) -> None:
        ledger.sandbox.execute("res.partner", "write", [int(pushed.ledger_id)], {"vals": vals}, {})


class TestOdoo17XmlRpcCustomerDetails(TestOdooCustomerDetails):
    """The same over XML-RPC on Odoo 17: the links come back as XML-RPC arrays."""

    def books(self) -> InProcess:
        return in_process_odoo(transport="xmlrpc", version=17)
