"""Customer details onto HubSpot contacts when HubSpot takes only part of a batch (207),
against the sandbox over HTTP in-process: what went through is written, only the failed
inputs are sent again, and one that keeps failing is refused with its reason without
holding back its neighbours (adapters/hubspot/customer_writeback.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.core.errors import SourceError
from syncledger.core.source_ports import CustomerDetailsUpdate, CustomerDetailsWriter
from tests.unit.test_hubspot_source_contract import connection

UPDATE = "/crm/objects/2026-03/contacts/batch/update"


@dataclass
class Portal:
    sandbox: HubSpotSandbox
    writer: CustomerDetailsWriter

    def contact(self, n: int) -> str:
        props = {"firstname": f"Ada {n}", "email": f"ada{n}@example.com"}
        return self.sandbox.store.create("contacts", props)

    def email(self, rid: str) -> str:
        return self.sandbox.store.records["contacts"][rid].properties["email"]

    def updates(self) -> int:
        return sum(1 for m, p in self.sandbox.requests if (m, p) == ("POST", UPDATE))


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    sandbox = HubSpotSandbox()
    writer = SOURCE.connect(connection(tmp_path, sandbox))
    assert isinstance(writer, CustomerDetailsWriter)
    yield Portal(sandbox, writer)
    await writer.aclose()  # type: ignore[attr-defined]
    sandbox.close()


def _new_email(rid: str, email: str) -> CustomerDetailsUpdate:
    return CustomerDetailsUpdate(f"hubspot/customer/contact-{rid}", "xero", {"email": email})


async def test_an_input_hubspot_keeps_refusing_is_refused_and_its_neighbours_written(
    portal: Portal,
) -> None:
    a, b, c, d = (portal.contact(n) for n in range(4))
    taken = portal.email(d)  # HubSpot keeps a contact's email unique: b's input fails
    wanted = [_new_email(a, "a.books@example.com"), _new_email(b, taken)]
    refusals = await portal.writer.write_customer_details(
        [*wanted, _new_email(c, "c.books@example.com")]
    )
    assert [(r.source_ref, r.field, r.reason) for r in refusals] == [
        (f"hubspot/customer/contact-{b}", "email", "refused")
    ]
    assert "VALIDATION_ERROR" in refusals[0].message and taken not in refusals[0].message
    assert (portal.email(a), portal.email(b), portal.email(c)) == (
        "a.books@example.com",
        "ada1@example.com",
        "c.books@example.com",
    )
    assert portal.updates() == 3  # the batch, then b alone twice


async def test_an_input_that_fails_once_is_sent_again_alone(portal: Portal) -> None:
    a, b = portal.contact(0), portal.contact(1)
    portal.sandbox.writes.faults.fail(b, times=1, status="500")
    refusals = await portal.writer.write_customer_details(
        [_new_email(a, "a.books@example.com"), _new_email(b, "b.books@example.com")]
    )
    assert refusals == []
    assert (portal.email(a), portal.email(b)) == ("a.books@example.com", "b.books@example.com")
    assert portal.updates() == 2


async def test_an_input_that_keeps_failing_for_a_while_is_left_for_the_next_run(
    portal: Portal,
) -> None:
    a, b = portal.contact(0), portal.contact(1)
    portal.sandbox.writes.faults.fail(b, times=3, status="503")
    wanted = [_new_email(a, "a.books@example.com"), _new_email(b, "b.books@example.com")]
    with pytest.raises(SourceError, match="written again at the next back-sync"):
        await portal.writer.write_customer_details(wanted)
    assert portal.email(a) == "a.books@example.com"  # its neighbour went through
    assert portal.email(b) == "ada1@example.com"
    assert await portal.writer.write_customer_details(wanted) == []  # the next run
    assert portal.email(b) == "b.books@example.com"


async def test_a_deleted_contact_is_refused_not_found_and_the_others_written(
    portal: Portal,
) -> None:
    rids = [portal.contact(n) for n in range(5)]
    portal.sandbox.store.archive("contacts", rids[3])
    refusals = await portal.writer.write_customer_details(
        [_new_email(r, f"books{i}@example.com") for i, r in enumerate(rids)]
    )
    assert [(r.source_ref, r.reason) for r in refusals] == [
        (f"hubspot/customer/contact-{rids[3]}", "not_found")
    ]
    assert [portal.email(r) for i, r in enumerate(rids) if i != 3] == [
        f"books{i}@example.com" for i in (0, 1, 2, 4)
    ]
