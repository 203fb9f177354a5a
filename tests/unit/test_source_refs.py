"""A record named as its source names it (``hubspot/deal/123``) is found."""

from __future__ import annotations

import pytest

from syncledger.core.model import RecordRef
from syncledger.core.sources import canonical_ref


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("hubspot/deal/123", "hubspot/invoice/123"),
        ("hubspot/company/9", "hubspot/customer/9"),
        ("hubspot/contact/7", "hubspot/customer/contact-7"),
        ("hubspot/invoice/123", "hubspot/invoice/123"),
        ("csv/invoice/INV-1", "csv/invoice/INV-1"),
        ("elsewhere/deal/1", "elsewhere/deal/1"),
    ],
)
def test_a_source_object_name_reads_as_our_kind(given: str, meant: str) -> None:
    assert str(canonical_ref(RecordRef.parse(given))) == meant
