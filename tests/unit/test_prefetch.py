"""The prefetch hook: which records a batch updates, and the adapters' kit cache."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from syncledger.adapters.prefetch import Bounded, Prefetched
from syncledger.core.errors import TransientLedgerError
from syncledger.core.events import SourceRecordDeleted, SourceRecordObserved, make_envelope
from syncledger.core.sync_prefetch import prefetch, update_targets
from syncledger.core.sync_state import RecordState, SyncState


def _observed(ref: str, kind: str, sha: str) -> tuple[int, str, bytes]:
    event = SourceRecordObserved(ref=ref, kind=kind, version="1", content_sha256=sha, record={})
    env = make_envelope(event, entity="e", subject="s", actor="test")
    return (1, "s", env.to_bytes())


def _deleted(ref: str, kind: str) -> tuple[int, str, bytes]:
    env = make_envelope(
        SourceRecordDeleted(ref=ref, kind=kind, version="2"), entity="e", subject="s", actor="t"
    )
    return (2, "s", env.to_bytes())


def _state() -> SyncState:
    state = SyncState("e", "qbo")
    state.records["csv/customer/C1"] = RecordState(
        "csv/customer/C1", kind="customer", ledger_ref="L1", pushed_sha="old"
    )
    state.records["csv/customer/C2"] = RecordState(
        "csv/customer/C2", kind="customer", ledger_ref="L2", pushed_sha="same"
    )
    state.records["csv/invoice/I1"] = RecordState(
        "csv/invoice/I1", kind="invoice", ledger_ref="LI1", pushed_sha="x"
    )
    return state


def test_targets_are_records_in_the_ledger_that_the_batch_changes() -> None:
    items = [
        _observed("csv/customer/C1", "customer", "new"),  # changed: an update
        _observed("csv/customer/C1", "customer", "newer"),  # same record twice: once
        _observed("csv/customer/C2", "customer", "same"),  # that version is pushed
        _observed("csv/customer/C3", "customer", "n"),  # not in the ledger: a create
        _deleted("csv/invoice/I1", "invoice"),  # a void
        (3, "s", b"not json"),
    ]
    assert update_targets(items, _state()) == {"customer": ["L1"], "invoice": ["LI1"]}


class _Reader:
    def __init__(self, fail: bool = False) -> None:
        self.asked: list[tuple[str, list[str]]] = []
        self.fail = fail

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        self.asked.append((kind, list(ledger_ids)))
        if self.fail:
            raise TransientLedgerError("ledger busy")


async def test_prefetch_asks_once_per_kind_and_survives_a_failing_read() -> None:
    items = [_observed("csv/customer/C1", "customer", "new"), _deleted("csv/invoice/I1", "invoice")]
    for reader in (_Reader(), _Reader(fail=True)):
        await prefetch(reader, items, _state())
        assert reader.asked == [("customer", ["L1"]), ("invoice", ["LI1"])]


async def test_a_ledger_without_bulk_reads_is_not_asked() -> None:
    await prefetch(object(), [_observed("csv/customer/C1", "customer", "new")], _state())


def test_prefetched_serves_each_record_once_and_only_while_fresh() -> None:
    now = [0.0]
    kept: Prefetched[dict[str, str]] = Prefetched(max_age=10.0, clock=lambda: now[0])
    kept.keep("customer", "L1", {"v": "1"})
    kept.keep("customer", "L2", {"v": "2"})
    kept.keep("customer", "L3", {"v": "3"})
    assert kept.take("customer", "L1") == {"v": "1"}
    assert kept.take("customer", "L1") is None  # served once
    assert kept.take("invoice", "L2") is None  # another kind
    kept.forget("customer", "L3")
    assert kept.take("customer", "L3") is None
    now[0] = 10.5
    assert kept.take("customer", "L2") is None  # too old: read the ledger again
    assert len(kept) == 0


@pytest.mark.parametrize("max_age", [0.0, 5.0])
def test_prefetched_at_the_edge_of_max_age_is_still_served(max_age: float) -> None:
    now = [100.0]
    kept: Prefetched[str] = Prefetched(max_age=max_age, clock=lambda: now[0])
    kept.keep("customer", "L1", "raw")
    now[0] += max_age
    assert kept.take("customer", "L1") == "raw"


def test_bounded_keeps_the_entries_put_most_recently() -> None:
    kept: Bounded[str, int] = Bounded(2)
    kept.put("a", 1)
    kept.put("b", 2)
    kept.put("a", 3)  # put again: now the most recent
    kept.put("c", 4)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (3, None, 4)
    assert len(kept) == 2
