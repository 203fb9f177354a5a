"""`syncledger demo --source <id>` end to end on a real nats-server: deal to cash and back.

Each run reads the sample through the source's sandbox, pushes it to the QBO sandbox,
has a bookkeeper pay ten invoices in the ledger, writes their status back to the source,
announces one more change by signed webhook and refuses a forged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncledger.core.demo_source import PAYMENTS, run_source_demo
from syncledger.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("source_id", ["hubspot", "jobber"])
async def test_the_source_demo_ends_clean_with_status_written_back(
    source_id: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "state", ledger="qbo")
    summary = await run_source_demo(settings, source_id, json_out=True)
    assert summary.source == source_id
    assert summary.pushed > 200
    assert summary.mismatches == 0
    assert summary.ledger_duplicates == 0
    assert summary.written_back == PAYMENTS
    assert summary.webhooks_refused == 1
    # run again on the same log (the source's sandbox starts afresh with the same data):
    # everything is in the ledger already; nothing is created twice (a record the new
    # run's person changed again may be updated)
    again = await run_source_demo(settings, source_id, json_out=True)
    assert again.synced == summary.synced
    assert again.pushed <= 1
    assert again.ledger_duplicates == 0
    assert again.mismatches == 0
