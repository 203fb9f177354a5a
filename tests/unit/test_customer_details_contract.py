"""The ledger side of the reverse direction on all seven ledgers' sandboxes
(``tests/contracts/customer_details_section.py``): each edit is made through the sandbox's
own service, the way its screens change a customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from syncledger.adapters.freshbooks.sandbox.service import resource
from syncledger.core.ports import LedgerRecord
from tests.contracts.customer_details_section import EDITED, CustomerDetailsSection
from tests.contracts.ledger_contract import LedgerUnderTest
from tests.support.freshbooks import in_process_freshbooks
from tests.support.netsuite import in_process_netsuite
from tests.support.odoo import in_process_odoo
from tests.support.qbo import in_process_qbo
from tests.support.sage import in_process_sage
from tests.support.xero import in_process_xero
from tests.support.zoho import in_process_zoho


class TestQboCustomerDetails(CustomerDetailsSection):
    changes_resolution = 0.01

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        qbo = in_process_qbo()
        yield LedgerUnderTest(qbo.ledger, qbo.sandbox, attempts=qbo.retry.attempts)
        await qbo.ledger.aclose()
        qbo.sandbox.close()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        body = {
            "Id": pushed.ledger_id,
            "SyncToken": pushed.version,
            "sparse": True,
            "PrimaryEmailAddr": {"Address": EDITED["email"]},
            "PrimaryPhone": {"FreeFormNumber": EDITED["phone"]},
        }
        ledger.sandbox.write("customer", None, body)


class TestXeroCustomerDetails(CustomerDetailsSection):
    changes_resolution = 0.01  # UpdatedDateUTC and If-Modified-Since count milliseconds

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        xero = in_process_xero()
        yield LedgerUnderTest(xero.ledger, xero.sandbox, attempts=xero.retry.attempts)
        await xero.ledger.aclose()
        xero.sandbox.close()

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


class TestZohoCustomerDetails(CustomerDetailsSection):
    # The sandbox's contact list rows (adapters/zoho/sandbox/listing.py SUMMARY) carry the
    # primary person's e-mail but no phone: the change read reports the e-mail only
    delta_details = ("email",)

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        zoho = in_process_zoho()
        yield LedgerUnderTest(zoho.ledger, zoho.sandbox, attempts=zoho.retry.attempts)
        await zoho.ledger.aclose()
        zoho.sandbox.close()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        org = ledger.sandbox.org
        current = org.book.get("contact", pushed.ledger_id)
        persons: list[dict[str, Any]] = [dict(p) for p in current["contact_persons"]]
        persons[0] |= {"email": EDITED["email"], "phone": EDITED["phone"]}
        org.update_contact(pushed.ledger_id, {"contact_persons": persons})


class TestFreshBooksCustomerDetails(CustomerDetailsSection):
    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        fb = in_process_freshbooks()
        yield LedgerUnderTest(fb.ledger, fb.sandbox, attempts=fb.retry.attempts)
        await fb.ledger.aclose()
        fb.sandbox.close()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        client = {"email": EDITED["email"], "bus_phone": EDITED["phone"]}
        ledger.sandbox.update(resource("users/clients"), pushed.ledger_id, {"client": client}, ())


class TestSageCustomerDetails(CustomerDetailsSection):
    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        sage = in_process_sage()
        yield LedgerUnderTest(sage.ledger, sage.sandbox, attempts=sage.retry.attempts)
        await sage.ledger.aclose()
        sage.sandbox.close()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        person = {"email": EDITED["email"], "telephone": EDITED["phone"]}
        ledger.sandbox.update(
            "contacts", pushed.ledger_id, {"contact": {"main_contact_person": person}}
        )


class TestNetSuiteCustomerDetails(CustomerDetailsSection):
    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        netsuite = in_process_netsuite()
        yield LedgerUnderTest(netsuite.ledger, netsuite.sandbox, attempts=netsuite.retry.attempts)
        await netsuite.aclose()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        body = {"email": EDITED["email"], "phone": EDITED["phone"]}
        ledger.sandbox.patch("customer", pushed.ledger_id, body, ())


class TestOdooCustomerDetails(CustomerDetailsSection):
    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        odoo = in_process_odoo()
        yield LedgerUnderTest(odoo.ledger, odoo.sandbox, attempts=odoo.retry.attempts)
        await odoo.ledger.aclose()
        odoo.sandbox.close()

    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        vals = {"email": EDITED["email"], "phone": EDITED["phone"]}
        ledger.sandbox.execute("res.partner", "write", [int(pushed.ledger_id)], {"vals": vals}, {})
