"""The ledgers a platform's contract class (``tests/unit/test_<platform>_contract.py``)
builds for the contract and its sections, written once: the contract's ``ledger``
fixture, ``oauth_ledger`` (:class:`~tests.contracts.ledger_sections.OAuthSection`),
``unlimited_ledger`` (``ThrottleSection``), ``book_ledger`` (the sandbox sections) and
``paged_ledger`` (``PagingSection``).

The platform says how its in-process environment is built (``environment``: its
``tests.support.<platform>.in_process_<platform>``) and the options that are its own
(``contract_options`` …); a platform that builds one of them another way overrides it.
Listed first among the contract class's bases, so its factories stand before the
sections' placeholders.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from syncledger.adapters.http import NO_RETRY
from syncledger.adapters.oauth2 import TokenStore
from syncledger.adapters.ratelimit import Rate, RateLimiter
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.contracts.ledger_sections import InProcess, SectionLedger, in_process, under_test


class InProcessLedgers(LedgerContract, abc.ABC):
    #: the contract's ledger: the sandbox at the contract's ~25 requests/s, a short timeout
    contract_options: ClassVar[dict[str, Any]] = {}
    #: the throttle section's ledger: the sandbox's limit as the contract's (the adapter
    #: gets no client-side limit and no retries on top)
    unlimited_options: ClassVar[dict[str, Any]] = {}
    #: the paging section's ledger, beside its page size
    paged_options: ClassVar[dict[str, Any]] = {}
    #: the refresh token the sandbox signs the adapter in with; None where the platform
    #: signs in another way (an API key, TBA) and keeps no tokens in a store
    refresh_token: ClassVar[str | None] = None

    @abc.abstractmethod
    def environment(self, book: Path | None = None, **options: Any) -> InProcess:
        """``tests.support.<platform>.in_process_<platform>(book, **options)``."""

    def section_ledger(self, env: InProcess, spend: str | None = None) -> SectionLedger:
        """``env`` as a section's ledger (``spend``: the refresh token it signs in with)."""
        return in_process(env, spend=spend)

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        async with under_test(self.environment(**self.contract_options)) as ledger:
            yield ledger

    def oauth_ledger(self, store: TokenStore) -> SectionLedger:
        return self.section_ledger(self.environment(store=store), self.refresh_token)

    def unlimited_ledger(self) -> SectionLedger:
        unlimited = {"limiter": RateLimiter(Rate(10_000, 1.0)), "retry": NO_RETRY}
        return self.section_ledger(self.environment(**self.unlimited_options, **unlimited))

    def book_ledger(self, book: Path | None, store: TokenStore, **options: Any) -> SectionLedger:
        if self.refresh_token is None:  # no tokens: ``store`` is not used
            return self.section_ledger(self.environment(book, **options))
        env = self.environment(book, store=store, **options)
        return self.section_ledger(env, self.refresh_token)

    def paged_ledger(self, page_size: int) -> SectionLedger:
        options = {"page_size": page_size}
        return self.section_ledger(self.environment(**self.paged_options, ledger_options=options))
