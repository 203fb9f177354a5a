from __future__ import annotations

import pytest

from syncledger.core.store_memory import MemoryEventStore
from tests.contracts.event_store_contract import EventStoreContract


class TestMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self) -> MemoryEventStore:
        return MemoryEventStore()
