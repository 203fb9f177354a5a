"""`syncledger demo --source <id>` end to end on a real nats-server: deal to cash and back.

Each run reads the sample through the source's sandbox, pushes it to a sandbox ledger (QBO,
and Xero for HubSpot), has a bookkeeper pay ten invoices in the ledger, writes their status
back to the source, announces one more change by signed webhook and refuses a forged one.
`syncledger trace <source>/<document>/<id>` of a paid document then ends at the invoice in
the ledger that holds it (whatever ledger the configuration names) and back at the
document's payment status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.demo_source import PAYMENTS, run_source_demo
from syncledger.core.events import SourceStatusWritten
from syncledger.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
#: how each source calls the document that becomes an invoice (``trace`` takes either)
DOCUMENT = {"hubspot": "deal", "jobber": "invoice"}


async def written_back(settings: Settings) -> list[SourceStatusWritten]:
    found = []
    async with open_runtime(settings) as rt:
        async for event in rt.store.read():
            payload = event.envelope().payload()
            if isinstance(payload, SourceStatusWritten):
                found.append(payload)
    return found


def trace_cli(data_dir: Path, ref: str, configured_ledger: str) -> dict[str, Any]:
    env = {**os.environ, "SYNCLEDGER_LEDGER": configured_ledger}
    args = ["trace", ref, "--data-dir", str(data_dir), "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def assert_trace_ends_in_the_ledger_and_back(
    settings: Settings, source_id: str, ledger: str
) -> None:
    written = await written_back(settings)
    assert {w.ledger for w in written} == {ledger}
    first = written[0]
    _, _, doc_id = first.source_ref.rpartition("/")
    other = "xero" if ledger == "qbo" else "qbo"  # the configuration names another ledger
    traced = trace_cli(settings.data_dir, f"{source_id}/{DOCUMENT[source_id]}/{doc_id}", other)
    assert str(traced["ledger_entry"]).startswith(f"{ledger}/invoice/")
    assert traced["written_back"]["status"] == first.status
    types = [e["type"] for e in traced["events"]]
    assert types.index("LedgerPushSucceeded") < types.index("SourceStatusWritten")


@pytest.mark.parametrize(
    ("source_id", "ledger"), [("hubspot", "qbo"), ("jobber", "qbo"), ("hubspot", "xero")]
)
async def test_the_source_demo_ends_clean_with_status_written_back(
    source_id: str, ledger: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "state", ledger=ledger)
    summary = await run_source_demo(settings, source_id, json_out=True)
    assert summary.source == source_id
    assert summary.pushed > 200
    assert summary.mismatches == 0
    assert summary.ledger_duplicates == 0
    assert summary.written_back == PAYMENTS
    assert summary.webhooks_refused == 1
    await assert_trace_ends_in_the_ledger_and_back(settings, source_id, ledger)
    # run again on the same log (the source's sandbox starts afresh with the same data):
    # everything is in the ledger already; nothing is created twice (a record the new
    # run's person changed again may be updated)
    again = await run_source_demo(settings, source_id, json_out=True)
    assert again.synced == summary.synced
    assert again.pushed <= 1
    assert again.ledger_duplicates == 0
    assert again.mismatches == 0
