"""What a served sandbox ledger holds, counted by our reference (for fault tests)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from syncledger.adapters.platforms import Connection, platform
from syncledger.core.settings import Settings

KINDS = ("customer", "invoice", "payment", "credit_note", "refund")


def token_file(cfg: Settings) -> Path:
    return cfg.data_dir / "tokens" / "qbo.json"  # shared with the workers: tokens rotate


async def refs_in_ledger(cfg: Settings, url: str) -> Counter[str | None]:
    """How many ledger records carry each of our references (QBO sandbox)."""
    ledger = platform("qbo").connect(Connection(url, token_file(cfg), {}))
    try:
        return Counter([r.external_ref for kind in KINDS async for r in ledger.list_all(kind)])
    finally:
        await ledger.aclose()


async def assert_ledger_holds_each_record_once(cfg: Settings, url: str, expected: set[str]) -> None:
    counts = await refs_in_ledger(cfg, url)
    assert [ref for ref, n in counts.items() if n > 1] == []  # no duplicates
    assert expected - set(counts) == set()  # nothing missing
    assert set(counts) - expected == set()  # nothing we did not send
