"""HubSpot changes read from the Webhooks Journal (SYNCLEDGER_HUBSPOT_JOURNAL=true), against
the sandbox over HTTP in-process: the source contract with the journal on; entries read
once across restarts, the offset kept in the cursor, deletions and property changes (also
of a deal's line items) hinted and re-read, a lost offset, a static token refused."""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import (
    TEST_ACCESS_TOKEN,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REFRESH_TOKEN,
    HubSpotSandbox,
    create_app,
)
from syncledger.adapters.hubspot.sandbox.store import JOURNAL_KEEP_MS
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.errors import ConfigurationError
from syncledger.core.events import SourceCursorAdvanced, SourceRecordObserved
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.logs import configure
from syncledger.core.settings_check import check_environment
from syncledger.core.source_ports import SourceItem, SourceReader
from syncledger.core.source_sync import SourceLog, last_cursor, poll_source
from syncledger.core.store_memory import MemoryEventStore
from tests.contracts.source_contract import SourceContract, SourceUnderTest, read_all
from tests.unit.test_hubspot_source_contract import HubSpotPerson, connection

OAUTH = {
    "client_id": TEST_CLIENT_ID,
    "client_secret": TEST_CLIENT_SECRET,
    "refresh_token": TEST_REFRESH_TOKEN,
    "journal": "true",
}
JOURNAL = "/webhooks-journal/journal/2026-03"


def journal_connection(tmp_path: Path, sandbox: HubSpotSandbox) -> SourceConnection:
    return connection(tmp_path, sandbox, **OAUTH)


class TestHubSpotJournalSource(SourceContract):
    """The whole source contract holds with the journal feeding the changes."""

    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        sandbox = HubSpotSandbox()
        conn = journal_connection(tmp_path, sandbox)

        async def reopen() -> SourceReader:
            return SOURCE.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, HubSpotPerson(sandbox), reopen)
        finally:
            await reader.aclose()


def ids(items: list[SourceItem], kind: str = "customer") -> Counter[str]:
    return Counter(i.id for i in items if i.kind == kind)


def searches(sandbox: HubSpotSandbox) -> int:
    return sum(1 for _, path in sandbox.requests if path.endswith("/search"))


async def caught_up(tmp_path: Path, sandbox: HubSpotSandbox) -> tuple[list[SourceItem], str]:
    reader = SOURCE.connect(journal_connection(tmp_path, sandbox))
    try:
        items, cursor = await read_all(reader, None)
    finally:
        await reader.aclose()
    assert cursor is not None
    return items, cursor


async def read_from(
    tmp_path: Path, sandbox: HubSpotSandbox, cursor: str
) -> tuple[list[SourceItem], str]:
    """A fresh reader (a restarted process) going on from ``cursor``."""
    reader = SOURCE.connect(journal_connection(tmp_path, sandbox))
    try:
        items, after = await read_all(reader, cursor)
    finally:
        await reader.aclose()
    assert after is not None
    return items, after


async def test_entries_are_read_once_across_restarts_without_searching(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    old = sandbox.store.create("companies", {"name": "Before"})
    backfill, cursor = await caught_up(tmp_path, sandbox)
    made = [sandbox.store.create("companies", {"name": f"Journal {n}"}) for n in range(120)]
    searched = searches(sandbox)
    first, cursor = await read_from(tmp_path, sandbox, cursor)
    again, cursor = await read_from(tmp_path, sandbox, cursor)
    assert ids(backfill) == Counter([old])
    assert ids(first) == Counter(made)  # more entries than a batch: all of them, once
    assert again == []
    assert searches(sandbox) == searched  # the journal, not search, carried them


async def test_the_offset_is_in_the_cursor_and_moves_to_the_last_entry_read(
    tmp_path: Path,
) -> None:
    sandbox = HubSpotSandbox()
    sandbox.store.create("companies", {"name": "Before"})
    _, cursor = await caught_up(tmp_path, sandbox)
    assert json.loads(cursor)["journal"] == {
        "offset": sandbox.store.journal.entries[-1].offset,
        "live": True,
    }
    sandbox.store.create("companies", {"name": "After"})
    _, cursor = await read_from(tmp_path, sandbox, cursor)
    assert json.loads(cursor)["journal"]["offset"] == sandbox.store.journal.entries[-1].offset


async def test_a_first_start_on_an_empty_journal_reads_it_from_the_earliest(
    tmp_path: Path,
) -> None:
    sandbox = HubSpotSandbox()
    _, cursor = await caught_up(tmp_path, sandbox)
    assert json.loads(cursor)["journal"] == {"offset": None, "live": True}
    made = sandbox.store.create("companies", {"name": "First ever"})
    found, _ = await read_from(tmp_path, sandbox, cursor)
    assert ids(found) == Counter([made])


async def test_property_changes_and_deletions_are_hinted_and_reread(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    person = HubSpotPerson(sandbox)
    store = sandbox.store
    company = store.create("companies", {"name": "Renamed Ltd"})
    gone = store.create("companies", {"name": "Gone Ltd"})
    ref = await person.make_invoice()
    deal = ref.rsplit("/", 1)[1]
    _, cursor = await caught_up(tmp_path, sandbox)
    for n in range(5):  # five changes of one record: one re-read
        store.update("companies", company, {"name": f"Renamed {n} Ltd"})
    store.archive("companies", gone)
    line = store.linked("deals", deal, "line_items")[0]
    store.update("line_items", line, {"price": "75.00"})
    found, cursor = await read_from(tmp_path, sandbox, cursor)
    by_id = {i.id: i for i in found}
    assert ids(found) == Counter([company, gone])
    assert by_id[company].fields["name"] == "Renamed 4 Ltd"
    assert by_id[gone].deleted
    assert ids(found, "invoice") == Counter([deal])  # the line item's deal, re-read
    store.archive("deals", deal)
    found, _ = await read_from(tmp_path, sandbox, cursor)
    assert [(i.kind, i.id, i.deleted) for i in found] == [("invoice", deal, True)]


async def test_an_offset_the_journal_no_longer_holds_falls_back_to_searching(
    tmp_path: Path,
) -> None:
    sandbox = HubSpotSandbox()
    store = sandbox.store
    real_clock = store.clock
    store.create("companies", {"name": "Before"})
    _, cursor = await caught_up(tmp_path, sandbox)
    missed = store.create("companies", {"name": "Missed while down"})
    store.clock = lambda: real_clock() + JOURNAL_KEEP_MS + 60_000  # four days later
    found, cursor = await read_from(tmp_path, sandbox, cursor)
    later = store.create("companies", {"name": "Later"})
    after, _ = await read_from(tmp_path, sandbox, cursor)
    assert ids(found) == Counter([missed])
    assert ids(after) == Counter([later])


def test_a_static_token_with_the_journal_is_refused_in_one_line(tmp_path: Path) -> None:
    conn = SourceConnection(
        tmp_path / "tokens.json",
        base_url="https://api.hubapi.com",
        credentials={"access_token": "pat-na1-x", "journal": "true"},
    )
    with pytest.raises(ConfigurationError) as refused:
        SOURCE.connect(conn)
    message = str(refused.value)
    assert "\n" not in message
    assert "SYNCLEDGER_HUBSPOT_JOURNAL=true needs OAuth" in message
    assert "pat-na1-x" not in message


def test_a_journal_value_other_than_true_or_false_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="write true or false"):
        SOURCE.connect(connection(tmp_path, HubSpotSandbox(), **{**OAUTH, "journal": "yes"}))


def test_the_settings_check_knows_the_journal_variable() -> None:
    check_environment({"SYNCLEDGER_HUBSPOT_JOURNAL": "true"})
    with pytest.raises(ConfigurationError, match="SYNCLEDGER_HUBSPOT_JOURNAL"):
        check_environment({"SYNCLEDGER_HUBSPOT_JORNAL": "true"})


async def test_the_sandbox_journal_refuses_a_static_token_and_a_zero_count() -> None:
    sandbox = HubSpotSandbox()
    sandbox.store.create("companies", {"name": "Any"})
    app = create_app(sandbox)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=SOURCE.sandbox_url
    ) as http:
        static = await http.get(
            f"{JOURNAL}/latest", headers={"Authorization": f"Bearer {TEST_ACCESS_TOKEN}"}
        )
        token = (
            await http.post(
                "/oauth/v3/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": TEST_CLIENT_ID,
                    "client_secret": TEST_CLIENT_SECRET,
                    "refresh_token": TEST_REFRESH_TOKEN,
                },
            )
        ).json()["access_token"]
        signed_in = {"Authorization": f"Bearer {token}"}
        zero = await http.get(f"{JOURNAL}/batch/earliest/0", headers=signed_in)
        latest = await http.get(f"{JOURNAL}/latest", headers=signed_in)
        file = await http.get(latest.json()["url"])  # pre-signed: no credentials
        forged = await http.get(latest.json()["url"].split("?")[0] + "?signature=x")
    assert (static.status_code, static.json()["category"]) == (403, "MISSING_SCOPES")
    assert (zero.status_code, zero.json()["category"]) == (400, "VALIDATION_ERROR")
    assert set(latest.json()) == {"currentOffset", "expiresAt", "url"}
    events = file.json()["journalEvents"]
    assert [(e["objectTypeId"], e["action"]) for e in events] == [("0-2", "CREATE")]
    assert forged.status_code == 403
    assert sandbox.daily_used == 0  # the journal is exempt from the account's limits


async def test_the_entry_files_signed_links_never_reach_the_logs(tmp_path: Path) -> None:
    """At DEBUG, configured as the commands configure logging (core/logs.py)."""
    sandbox = HubSpotSandbox()
    _, cursor = await caught_up(tmp_path, sandbox)
    sandbox.store.create("companies", {"name": "Logged"})
    root, httpx_log = logging.getLogger(), logging.getLogger("httpx")
    kept = (root.handlers[:], root.level, httpx_log.level)
    out = io.StringIO()
    configure(logging.DEBUG, stream=out)
    try:
        found, _ = await read_from(tmp_path, sandbox, cursor)
    finally:
        root.handlers = kept[0]
        root.setLevel(kept[1])
        httpx_log.setLevel(kept[2])
    keys = [e.key for e in sandbox.store.journal.entries]
    assert len(found) == 1
    assert "_journal-files" in out.getvalue()  # the download was logged
    assert not [k for k in keys if k in out.getvalue()]


async def test_turning_the_journal_on_later_goes_on_from_the_search_cursor(
    tmp_path: Path,
) -> None:
    sandbox = HubSpotSandbox()
    searching = {k: v for k, v in OAUTH.items() if k != "journal"}
    reader = SOURCE.connect(connection(tmp_path, sandbox, **searching))
    try:
        _, cursor = await read_all(reader, None)
    finally:
        await reader.aclose()
    assert cursor is not None and "journal" not in json.loads(cursor)
    between = sandbox.store.create("companies", {"name": "While searching"})
    found, cursor = await read_from(tmp_path, sandbox, cursor)
    later = sandbox.store.create("companies", {"name": "From the journal"})
    searched = searches(sandbox)
    after, _ = await read_from(tmp_path, sandbox, cursor)
    assert ids(found) == Counter([between])
    assert ids(after) == Counter([later])
    assert searches(sandbox) == searched


async def test_the_offset_is_durable_in_the_log_and_entries_reach_it_once(tmp_path: Path) -> None:
    """Through the pipeline's poll (core/source_sync.py) on a log: each poll a fresh
    reader, as after a restart; an entry's records are in the log before its offset."""
    sandbox = HubSpotSandbox()
    log = SourceLog(MemoryEventStore(), MemoryKeyStore(), "journal", "test")

    async def poll() -> None:
        reader = SOURCE.connect(journal_connection(tmp_path, sandbox))
        try:
            await poll_source(log, reader)
        finally:
            await reader.aclose()

    await poll()
    company = sandbox.store.create("companies", {"name": "Once"})
    await poll()
    sandbox.store.update("companies", company, {"name": "Twice"})
    await poll()
    await poll()
    stored = [s.envelope().payload() async for s in log.store.read()]
    refs = [e.ref for e in stored if isinstance(e, SourceRecordObserved)]
    cursor = await last_cursor(log, "hubspot")
    assert refs == [f"hubspot/customer/{company}"] * 2  # two versions, each once
    assert cursor is not None
    assert json.loads(cursor)["journal"]["offset"] == sandbox.store.journal.entries[-1].offset
    last_record = max(i for i, e in enumerate(stored) if isinstance(e, SourceRecordObserved))
    last_cursor_event = max(i for i, e in enumerate(stored) if isinstance(e, SourceCursorAdvanced))
    assert last_cursor_event > last_record
