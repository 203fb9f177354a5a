"""A ledger out of reach (core/outage.py): asking it is bounded and ends in one line;
credentials that cannot work end at once; pushes abandoned by an outage are asked for
again by themselves once it answers, and only those.

The ledger is the QBO adapter over the in-process QBO sandbox, behind a transport that
can go dark (connection refused) or deaf (never answers)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.memory import MemoryLedger
from syncledger.adapters.platforms import Connection, platform
from syncledger.core.errors import ConfigurationError, LedgerUnavailable
from syncledger.core.events import (
    LedgerPushAbandoned,
    LedgerPushRequested,
    RetryRequested,
    make_envelope,
)
from syncledger.core.ingest import Ingestor
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.model import RecordRef
from syncledger.core.outage import (
    LedgerSite,
    OutageRetries,
    OutageWatch,
    Stall,
    check_ledger,
    run_watched,
)
from syncledger.core.ports import LedgerAdapter, SourceItem
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.subjects import ledger_subject
from syncledger.core.sync import SyncService, idempotency_key
from syncledger.core.sync_state import SyncState
from tests.support.records import customer

ENTITY = "acme"


class Switch(httpx.AsyncBaseTransport):
    """The sandbox's ASGI app, unless switched ``dark`` (refused) or ``deaf`` (silent)."""

    def __init__(self, app: httpx.AsyncBaseTransport) -> None:
        self.app, self.mode, self.sent = app, "up", 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.mode == "dark":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "deaf":
            await asyncio.sleep(3600)
        return await self.app.handle_async_request(request)


def qbo(tmp_path: Path, creds: dict[str, str] | None = None) -> tuple[LedgerAdapter, Switch]:
    plat = platform("qbo")
    switch = Switch(httpx.ASGITransport(app=plat.sandbox_app(None)))
    token_file = tmp_path / "tokens" / "qbo.json"
    return plat.connect(Connection(plat.sandbox_url, token_file, creds or {}, switch)), switch


def site(tmp_path: Path) -> LedgerSite:
    return LedgerSite("QuickBooks Online at http://qbo.test", "qbo", tmp_path / "tokens/qbo.json")


# ---------------------------------------------------------------------- check_ledger


async def test_a_ledger_that_answers_passes_even_for_a_record_it_does_not_have(
    tmp_path: Path,
) -> None:
    adapter, switch = qbo(tmp_path)
    await check_ledger(adapter, site(tmp_path), within=5)
    assert switch.sent >= 1
    await adapter.aclose()


@pytest.mark.parametrize("mode", ["dark", "deaf"])
async def test_a_silent_ledger_ends_the_wait_with_one_line(tmp_path: Path, mode: str) -> None:
    adapter, switch = qbo(tmp_path)
    switch.mode = mode
    with pytest.raises(LedgerUnavailable) as silent:
        await check_ledger(adapter, site(tmp_path), within=1.0, pause=0.2)
    message = str(silent.value)
    assert message.startswith("QuickBooks Online at http://qbo.test did not answer for 1 s (")
    assert "\n" not in message
    await adapter.aclose()


async def test_a_ledger_back_within_the_wait_passes(tmp_path: Path) -> None:
    adapter, switch = qbo(tmp_path)
    switch.mode = "dark"

    async def back_after_a_pause(seconds: float) -> None:
        switch.mode = "up"
        await asyncio.sleep(0)

    await check_ledger(adapter, site(tmp_path), within=30, sleep=back_after_a_pause)
    await adapter.aclose()


@pytest.mark.parametrize("retry_after", [500.0, 60.0])  # beyond the adapter's wait; QBO's own
async def test_a_throttled_ledger_is_an_answering_one(tmp_path: Path, retry_after: float) -> None:
    """Even a Retry-After the adapter would wait out (60 s, QBO's) is an answer at once:
    asking is not waiting (the check once sat out the 60 s and called QBO silent)."""
    plat = platform("qbo")
    app = plat.sandbox_app(None)
    plat.sandbox_handle(app).faults.update({"throttle": 1000, "retry_after": retry_after})
    conn = Connection(plat.sandbox_url, tmp_path / "t.json", {}, httpx.ASGITransport(app=app))
    adapter = plat.connect(conn)
    await check_ledger(adapter, site(tmp_path), within=2)
    await adapter.aclose()


async def test_a_broken_token_file_ends_at_once_without_asking_the_ledger(
    tmp_path: Path,
) -> None:
    adapter, switch = qbo(tmp_path)
    token_file = tmp_path / "tokens" / "qbo.json"
    token_file.parent.mkdir()
    token_file.write_text("{not json")
    with pytest.raises(ConfigurationError) as broken:
        await check_ledger(adapter, site(tmp_path), within=60)
    assert str(broken.value) == (
        "cannot authenticate to QuickBooks Online at http://qbo.test: the token file "
        f"{token_file} is not valid JSON: delete it and set SYNCLEDGER_QBO_REFRESH_TOKEN to a "
        "refresh token from a new authorisation of the connection"
    )
    assert switch.sent == 0
    await adapter.aclose()


async def test_a_refused_client_secret_ends_at_once_naming_the_settings(tmp_path: Path) -> None:
    adapter, switch = qbo(tmp_path, {"client_secret": "not-the-secret"})
    with pytest.raises(ConfigurationError) as refused:
        await check_ledger(adapter, site(tmp_path), within=60)
    message = str(refused.value)
    assert message.startswith("cannot authenticate to QuickBooks Online at http://qbo.test: ")
    assert "(invalid_client)" in message
    assert "SYNCLEDGER_QBO_CLIENT_ID, SYNCLEDGER_QBO_CLIENT_SECRET" in message
    assert "not-the-secret" not in message
    assert switch.sent == 1  # the token endpoint, once
    await adapter.aclose()


async def test_a_refused_refresh_token_says_to_re_authorise_and_which_file_to_delete(
    tmp_path: Path,
) -> None:
    adapter, _ = qbo(tmp_path, {"refresh_token": "never-granted"})
    with pytest.raises(ConfigurationError) as refused:
        await check_ledger(adapter, site(tmp_path), within=60)
    message = str(refused.value)
    assert "(invalid_grant)" in message
    assert "set SYNCLEDGER_QBO_REFRESH_TOKEN to the new refresh token and delete" in message
    assert str(tmp_path / "tokens/qbo.json") in message
    assert "never-granted" not in message
    await adapter.aclose()


# ---------------------------------------------------------------------- retries


class Log:
    """A log with source records, where pushes are abandoned as the sync abandons them."""

    def __init__(self) -> None:
        self.store = MemoryEventStore()
        self.keys = MemoryKeyStore()

    async def ingest(self, items: Iterable[SourceItem]) -> None:
        ingestor = Ingestor(self.store, self.keys, entity=ENTITY, actor="test")
        await ingestor.load()

        async def gen() -> AsyncIterator[SourceItem]:
            for item in items:
                yield item

        await ingestor.ingest(gen())

    async def abandon(self, ref: str, *, transient: bool) -> None:
        state = SyncState(ENTITY, "memory")
        await state.load(self.store)
        rec = state.records[ref]
        assert rec.observed_sha is not None
        key = idempotency_key(ref, rec.observed_sha, "memory")
        subject = ledger_subject(ENTITY, "memory", RecordRef.parse(ref))
        events = [
            LedgerPushRequested(
                source_ref=ref,
                ledger="memory",
                operation="create",
                idempotency_key=key,
                mapping_version="memory@1",
                content_sha256=rec.observed_sha,
            ),
            LedgerPushAbandoned(
                source_ref=ref,
                ledger="memory",
                idempotency_key=key,
                attempts=8,
                code=None if transient else "6000",
                message="memory POST /customer: ConnectError" if transient else "refused",
                transient=transient,
            ),
        ]
        await self.store.append(
            [make_envelope(e, entity=ENTITY, subject=subject, actor="test") for e in events]
        )

    async def retries_asked(self) -> list[str]:
        return [
            json.loads(s.raw)["data"]["ref"]
            async for s in self.store.read(f"sl.{ENTITY}.source.>")
            if json.loads(s.raw)["type"] == "RetryRequested"
        ]

    def retries(self) -> OutageRetries:
        return OutageRetries(self.store, ENTITY, "memory", "test")


async def test_only_pushes_abandoned_by_an_outage_are_asked_for_again() -> None:
    log = Log()
    await log.ingest([customer("c1"), customer("c2"), customer("c3")])
    await log.abandon("csv/customer/c1", transient=True)
    await log.abandon("csv/customer/c2", transient=False)  # refused: a person must act
    retries = log.retries()
    await retries.catch_up()
    assert retries.pending() == ["csv/customer/c1"]
    assert retries.waiting() == ["csv/customer/c1", "csv/customer/c3"]
    assert await retries.request() == ["csv/customer/c1"]
    assert await log.retries_asked() == ["csv/customer/c1"]
    assert await retries.request() == []  # asked once: the retry cleared the abandonment
    assert await log.retries_asked() == ["csv/customer/c1"]


async def test_a_record_changed_since_its_abandonment_is_not_asked_for() -> None:
    log = Log()
    await log.ingest([customer("c1")])
    await log.abandon("csv/customer/c1", transient=True)
    await log.ingest([customer("c1", "Renamed", version="2026-02-01T00:00:00")])
    retries = log.retries()
    await retries.catch_up()
    assert retries.pending() == []  # the new version goes to the ledger by itself
    assert await retries.request() == []


async def test_two_processes_asking_at_once_append_one_retry() -> None:
    log = Log()
    await log.ingest([customer("c1")])
    await log.abandon("csv/customer/c1", transient=True)
    first, second = log.retries(), log.retries()
    await first.catch_up()
    await second.catch_up()
    asked = await asyncio.gather(first.request(), second.request())
    assert sorted(asked) == [[], ["csv/customer/c1"]]
    assert await log.retries_asked() == ["csv/customer/c1"]


async def test_the_retried_record_reaches_the_ledger_once() -> None:
    log = Log()
    await log.ingest([customer("c1")])
    await log.abandon("csv/customer/c1", transient=True)
    await log.retries().request()
    ledger = MemoryLedger()
    state = SyncState(ENTITY, ledger.ledger)
    await state.load(log.store)
    service = SyncService(
        log.store, ledger, log.keys, state, entity=ENTITY, actor="t", mapping_version="m@1"
    )
    retry = [s async for s in log.store.read(f"sl.{ENTITY}.source.>")][-1]
    assert json.loads(retry.raw)["type"] == RetryRequested.__name__
    outcome = await service.handle(retry.seq, retry.subject, retry.raw)
    assert outcome.status == "pushed"
    assert ledger.count("customer") == 1


async def test_run_asks_the_ledger_once_per_turn_warns_once_and_retries_when_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = Log()
    await log.ingest([customer("c1")])
    await log.abandon("csv/customer/c1", transient=True)
    adapter, switch = qbo(tmp_path)
    switch.mode = "dark"
    watch = OutageWatch(log.retries(), adapter, site(tmp_path), probe_s=0.5)
    with caplog.at_level(logging.WARNING, logger="syncledger.core.outage"):
        assert await watch.turn() == []
        assert await watch.turn() == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "syncledger.core.outage"]
    assert len(warnings) == 1
    assert warnings[0].endswith("; 1 records wait and will be pushed when it is back")
    assert await log.retries_asked() == []
    switch.mode = "up"
    assert await watch.turn() == ["csv/customer/c1"]
    assert await log.retries_asked() == ["csv/customer/c1"]
    await adapter.aclose()


async def test_run_does_not_ask_the_ledger_when_nothing_waits_for_it(tmp_path: Path) -> None:
    log = Log()
    await log.ingest([customer("c1")])
    adapter, switch = qbo(tmp_path)
    watch = OutageWatch(log.retries(), adapter, site(tmp_path))
    assert await watch.turn() == []
    assert switch.sent == 0
    await adapter.aclose()


# ---------------------------------------------------------------------- a bounded run


async def test_a_stalled_run_is_cancelled_and_ends_with_the_ledgers_line() -> None:
    cleaned: list[str] = []

    async def work() -> str:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("worker stopped")
        return "never"

    async def ledger_gone() -> None:
        raise LedgerUnavailable("QuickBooks Online did not answer for 1 s")

    stall = Stall(ledger_gone, stall_s=0.2)
    with pytest.raises(LedgerUnavailable, match="did not answer for 1 s"):
        await run_watched(work(), stall.watch())
    assert cleaned == ["worker stopped"]


async def test_a_run_that_moves_is_not_interrupted_and_gives_its_result() -> None:
    asked: list[float] = []

    async def ledger_fine() -> None:
        asked.append(0.0)

    stall = Stall(ledger_fine, stall_s=0.05)

    async def work() -> str:
        for _ in range(6):
            await asyncio.sleep(0.03)
            stall.saw("pushed")
        return "done"

    assert await run_watched(work(), stall.watch()) == "done"


async def test_a_run_that_only_retries_has_the_ledger_asked_and_goes_on_while_it_answers() -> None:
    asked: list[float] = []

    async def ledger_fine() -> None:
        asked.append(0.0)

    stall = Stall(ledger_fine, stall_s=0.05)

    async def work() -> str:
        for _ in range(10):
            await asyncio.sleep(0.03)
            stall.saw("retry")
        return "done"

    assert await run_watched(work(), stall.watch()) == "done"
    assert asked  # nothing moved for a while: the ledger was asked, and it answered


async def test_what_waits_for_the_ledger_is_what_it_has_not_got_and_no_person_must_fix() -> None:
    log = Log()
    await log.ingest([customer("c1"), customer("c2"), customer("c3")])
    await log.abandon("csv/customer/c2", transient=False)
    await log.abandon("csv/customer/c3", transient=False)
    await log.ingest([customer("c2", "Fixed", version="2026-02-01T00:00:00")])
    retries = log.retries()
    await retries.catch_up()
    assert retries.waiting() == ["csv/customer/c1", "csv/customer/c2"]
