"""A contract section for the platform's default mapping file, mixed into a platform's
contract class (``tests/unit/test_<platform>_contract.py``).

- :class:`DefaultMappingSection`: the default mapping loads, names its version and has a
  digest (what a mapping publication records), and names the field of each kind's record
  that holds our reference. What else a platform's default file says is checked in its
  own ledger tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from tests.contracts.ledger_contract import LedgerContract


class DefaultMappingSection(LedgerContract):
    #: the version the default mapping names
    mapping_version: ClassVar[str] = ""
    #: the field of each kind's record holding our reference (empty: the platform's
    #: mapping says it otherwise, and its own tests read it)
    reference_fields: ClassVar[dict[str, str]] = {}

    #: the platform's ``load_mapping`` (``staticmethod(load_mapping)``)
    default_mapping: ClassVar[Callable[[], Any]]

    def references(self, mapping: Any) -> dict[str, str]:
        """The reference field of each kind, as ``mapping`` names it."""
        return dict(mapping.ref_field)

    def test_the_default_mapping_loads_and_has_a_digest(self) -> None:
        mapping = self.default_mapping()
        assert mapping.version == self.mapping_version
        assert len(mapping.digest) == 64
        if self.reference_fields:
            assert self.references(mapping) == self.reference_fields
