"""A ledger's readers of customer details (``core/customer_details.py``
``LedgerCustomerDetails`` and ``LedgerAddressParts``), written once: each ledger names its
platform's three functions of ``adapters/<platform>/customer_details.py`` (:class:`Details`)
and this mixin calls them with the ledger's mapping. Pure: no request is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Details(Generic[M]):
    """A platform's readers, each taking its mapping first."""

    customer_details: Callable[[M, LedgerRecord], dict[str, str | None]]
    address_parts: Callable[[M, LedgerRecord], AddressParts | None]
    address_as_written: Callable[[M, str], AddressParts]


class ReadsCustomerDetails(Generic[M]):
    """The ledger's ``customer_details``, ``address_parts`` and ``address_as_written``,
    read through the platform's ``details`` with the ledger's ``mapping``."""

    mapping: M
    details: ClassVar[Details[Any]]

    def customer_details(self, record: LedgerRecord) -> dict[str, str | None]:
        """The details the customer record holds (core/customer_details.py)."""
        return self.details.customer_details(self.mapping, record)

    def address_parts(self, record: LedgerRecord) -> AddressParts | None:
        """The customer's billing address in parts (core/customer_details.py)."""
        return self.details.address_parts(self.mapping, record)

    def address_as_written(self, text: str) -> AddressParts:
        """The parts the mapping writes a billing address's text to."""
        return self.details.address_as_written(self.mapping, text)
