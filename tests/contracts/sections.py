"""The contract sections every ledger platform has, and the OAuth pair, as the bases a
platform's contract class (``tests/unit/test_<platform>_contract.py``) starts from; it
adds the sections only some platforms have (foreign currency, throttling, prefetch, tax
ids, refund and application refusals)."""

from __future__ import annotations

from tests.contracts.ledger_sections import (
    ApplicationsSection,
    DeltaSection,
    MoneySection,
    OAuthSection,
    PagingSection,
    PlatformSection,
)
from tests.contracts.sandbox_sections import (
    AdminOAuthSection,
    AdminSection,
    InjectedThrottleSection,
    PersistenceSection,
    SecretsSection,
)
from tests.contracts.wire_sections import ItemLookupSection, LostCredentialSection


class EveryLedgerSections(
    LostCredentialSection,
    ApplicationsSection,
    ItemLookupSection,
    DeltaSection,
    SecretsSection,
    MoneySection,
    PagingSection,
    AdminSection,
    InjectedThrottleSection,
    PersistenceSection,
    PlatformSection,
):
    """What every ledger's contract checks beyond the core contract."""


class OAuthSections(OAuthSection, AdminOAuthSection):
    """A ledger signing in with an OAuth2 refresh token, and its sandbox's token routes."""
