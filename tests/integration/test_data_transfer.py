"""Transfer rules end to end as processes (issue 18, "Personal data that crosses borders"):
a real embedded nats-server, the QBO sandbox served over HTTP, a CSV export whose
customers carry e-mail addresses, and `[data_regions]` + `[transfer]` in syncledger.toml.

The ledger's region is not allowed: every customer is refused `transfer_not_allowed`
(nothing personal reaches the ledger, its invoices wait), the data map in force is in the
log once; the transfer approved for that region: `retry` pushes the customers and their
documents follow, each once; reconciliation clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncledger.core.embedded import EmbeddedNats
from tests.integration.test_rollout import Cli, _export, logged, nats, refs, sandbox
from tests.support.processes import SandboxServer

pytestmark = [pytest.mark.integration]
__all__ = ["nats", "sandbox"]  # the fixtures this module uses

REGIONS = '[data_regions]\ncsv = "EU"\nqbo = "US"\n\n'
RULES = (
    '[transfer]\nallowed_regions = [{allowed}]\nmechanism = "SCCs"\n'
    'approved_by = "dpo@transfer.example"\napproved_on = 2026-11-30\n'
)


def test_refused_until_the_transfer_is_approved(
    tmp_path: Path, nats: EmbeddedNats, sandbox: SandboxServer
) -> None:
    cli = Cli(tmp_path, nats, sandbox)
    cli.settings(REGIONS + RULES.format(allowed='"UK"'))
    assert cli.run("import", str(_export(tmp_path / "export"))).returncode == 0

    first = cli.answer(1, "sync", "--once")
    assert first["records"]["sent"] == 0
    assert sandbox.counts()["customer"] == 0
    rejected = logged(nats, "SourceRecordRejected")
    customers = [e for e in rejected if e["data"]["kind"] == "customer"]
    assert len(customers) == 3
    assert {r["code"] for e in customers for r in e["data"]["reasons"]} == {"transfer_not_allowed"}
    assert all("csv (EU) to qbo (US)" in r["message"] for e in customers
               for r in e["data"]["reasons"])  # fmt: skip
    errors = cli.run("errors")
    assert errors.returncode == 1 and "transfer_not_allowed" in errors.stdout
    [published] = logged(nats, "DataMapPublished")
    assert published["data"]["data_map"]["transfer"].startswith("personal data may not go")

    cli.settings(REGIONS + RULES.format(allowed='"UK", "US"'))
    for n in (1, 2, 3):
        assert cli.run("retry", f"csv/customer/C-{n}").returncode == 0
    second = cli.answer(0, "sync", "--once")
    assert second["records"]["refused"] == 0
    counts = sandbox.counts()
    assert (counts["customer"], counts["invoice"], counts["payment"]) == (3, 3, 3)
    pushed = refs(logged(nats, "LedgerPushSucceeded"), "source_ref")
    assert len(pushed) == len(set(pushed)) == 9
    maps = logged(nats, "DataMapPublished")
    assert len(maps) == 2 and maps[-1]["data"]["data_map"]["transfer"] == "allowed"
    assert cli.run("reconcile", "--full").returncode == 0
