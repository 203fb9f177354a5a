"""Property: malformed source records never crash the worker. 10,000 generated records
of every shape go through ingest and the sync process (memory store, fake ledger); each
invalid one becomes ``SourceRecordRejected`` with at least one reason (at ingest when its
numbers no ledger can hold, else from the worker), and nothing is pushed for it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from itertools import count
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.core.ingest import Ingestor, normalized
from syncledger.core.ports import SourceItem
from syncledger.core.sync import SyncService
from syncledger.core.sync_state import name_key
from syncledger.core.validation import Rejected, validate
from tests.support.rules import rules_of
from tests.unit.test_sync import ENTITY, Harness
from tests.unit.test_validation_properties import FAST, _kinds_and_garbage


class Pipeline:
    """One long-lived worker, fed one record at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.h = Harness()
        self.ids = count()
        self.ingestor = Ingestor(self.h.store, self.h.keys, entity=ENTITY, actor="prop")
        self.service: SyncService = self.loop.run_until_complete(self.h.service())
        self.seen = 0

    def feed(self, kind: Any, fields: Any) -> list[dict[str, Any]]:
        return self.loop.run_until_complete(self._feed(kind, fields))

    async def _feed(self, kind: Any, fields: Any) -> list[dict[str, Any]]:
        item = SourceItem("csv", kind, f"R{next(self.ids)}", "2026-01-01T00:00:00", fields)

        async def one() -> AsyncIterator[SourceItem]:
            yield item

        await self.ingestor.ingest(one())
        new = [s async for s in self.h.store.read(from_seq=self.seen + 1)]
        for stored in new:
            if stored.subject.startswith(f"sl.{ENTITY}.source."):
                await self.service.handle(stored.seq, stored.subject, stored.raw)
        after = [json.loads(s.raw) async for s in self.h.store.read(from_seq=self.seen + 1)]
        self.seen = await self.h.store.last_seq()
        return after


PIPELINE = Pipeline()
NAMED = Pipeline()  # its own worker: names seen only here
NAMES_SEEN: set[str | None] = set()


@settings(FAST, max_examples=10_000)
@given(case=_kinds_and_garbage)
def test_malformed_records_never_crash_the_worker(case: tuple[Any, Any]) -> None:
    kind, fields = case
    calls_before = PIPELINE.h.ledger.calls
    events = PIPELINE.feed(kind, fields)
    types = [e["type"] for e in events]
    if types[0] == "SourceRecordRejected":  # numbers no ledger can hold: refused at ingest
        assert types == ["SourceRecordRejected"]
        assert events[0]["data"]["ledger"] is None and events[0]["data"]["reasons"]
        item = normalized(SourceItem("csv", kind, "x", "v", fields))
        assert isinstance(validate(item, rules_of("memory")), Rejected)  # validation agrees
        assert PIPELINE.h.ledger.calls == calls_before
        return
    assert types[0] == "SourceRecordObserved"
    observed = events[0]["data"]
    item = SourceItem("csv", observed["kind"], "x", "v", observed["record"])
    if isinstance(validate(item, rules_of("memory")), Rejected) or observed["kind"] != "customer":
        # invalid, or a document whose customer does not exist in the source
        assert types[1:] == ["SourceRecordRejected"]
        assert events[1]["data"]["reasons"]
        assert PIPELINE.h.ledger.calls == calls_before
    elif types[-1] == "SourceRecordRejected":  # a name an earlier customer already has
        assert events[-1]["data"]["reasons"][0]["code"] == "duplicate_name"
        assert PIPELINE.h.ledger.calls == calls_before
    else:
        assert types[-1] in ("LedgerPushSucceeded", "RecordLinked", "LedgerPushAbandoned")


@settings(FAST, max_examples=200)
@given(name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""))
def test_valid_customers_sync(name: str) -> None:
    events = NAMED.feed("customer", {"name": name, "currency": "USD"})
    observed = events[0]["data"]
    item = SourceItem("csv", "customer", "x", "v", observed["record"])
    if isinstance(validate(item, rules_of("memory")), Rejected):
        return
    key = name_key(name)
    if key in NAMES_SEEN:  # a second customer with that name: refused, never pushed
        assert events[-1]["type"] == "SourceRecordRejected"
        assert events[-1]["data"]["reasons"][0]["code"] == "duplicate_name"
    else:
        assert events[-1]["type"] == "LedgerPushSucceeded"
    NAMES_SEEN.add(key)
