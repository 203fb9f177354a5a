"""The ledger side of the reverse direction on all seven ledgers' sandboxes
(``tests/contracts/customer_details_section.py``): each edit is made through the sandbox's
own service, the way its screens change a customer."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

import pytest

from syncledger.adapters.freshbooks.sandbox.service import resource
from syncledger.core.ports import LedgerRecord
from tests.contracts.customer_details_section import EDITED, CustomerDetailsSection
from tests.contracts.ledger_contract import LedgerUnderTest
from tests.contracts.ledger_sections import InProcess, in_process, opened
from tests.support.freshbooks import in_process_freshbooks
from tests.support.netsuite import in_process_netsuite
from tests.support.odoo import in_process_odoo
from tests.support.qbo import in_process_qbo
from tests.support.sage import in_process_sage
from tests.support.xero import in_process_xero
from tests.support.zoho import in_process_zoho


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

    def books(self) -> InProcess:
        return in_process_zoho()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        org = ledger.sandbox.org
        current = org.book.get("contact", pushed.ledger_id)
        persons: list[dict[str, Any]] = [dict(p) for p in current["contact_persons"]]
        persons[0] |= {"email": EDITED["email"], "phone": EDITED["phone"]}
        org.update_contact(pushed.ledger_id, {"contact_persons": persons})


class TestFreshBooksCustomerDetails(OnSandbox):
    def books(self) -> InProcess:
        return in_process_freshbooks()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        client = {"email": EDITED["email"], "bus_phone": EDITED["phone"]}
        ledger.sandbox.update(resource("users/clients"), pushed.ledger_id, {"client": client}, ())


class TestSageCustomerDetails(OnSandbox):
    def books(self) -> InProcess:
        return in_process_sage()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        person = {"email": EDITED["email"], "telephone": EDITED["phone"]}
        ledger.sandbox.update(
            "contacts", pushed.ledger_id, {"contact": {"main_contact_person": person}}
        )


class TestNetSuiteCustomerDetails(OnSandbox):
    def books(self) -> InProcess:
        return in_process_netsuite()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        body = {"email": EDITED["email"], "phone": EDITED["phone"]}
        ledger.sandbox.patch("customer", pushed.ledger_id, body, ())


class TestOdooCustomerDetails(OnSandbox):
    def books(self) -> InProcess:
        return in_process_odoo()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        vals = {"email": EDITED["email"], "phone": EDITED["phone"]}
        ledger.sandbox.execute("res.partner", "write", [int(pushed.ledger_id)], {"vals": vals}, {})
