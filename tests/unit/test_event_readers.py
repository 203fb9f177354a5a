"""Every reader of the log decides, per event class, what it does with each source, ledger
and reconciliation event: a type added later (or renamed) fails here until it has its
place, instead of being silently left out of a fold, an audit trace or a package.

(The projections' own check is in test_projections_fold.)"""

from __future__ import annotations

import pytest

import syncledger.audit.events  # noqa: F401 - registers the audit module's event types
from syncledger.audit import index, trace
from syncledger.core import sync_state
from syncledger.core.events import EventData, registered_types


def _sync_types() -> set[type[EventData]]:
    """Registered source, ledger and reconciliation types (the audit module's own events,
    category ``audit``, are read by that module alone)."""
    found = {cls for cls in registered_types().values() if cls.category != "audit"}
    assert len(found) >= 20, found  # the registry is filled: the check below means something
    return found


def test_the_sync_state_folds_or_leaves_alone_each_type_on_purpose() -> None:
    folded, left = set(sync_state.FOLDED), sync_state.NOT_FOLDED
    assert _sync_types() - folded - left == set()
    assert folded & left == set()


def test_the_audit_index_ties_each_type_to_its_record_in_one_way() -> None:
    ways = [index.BY_REF, index.BY_SOURCE_REF, index.BY_LINK, index.NOT_ABOUT_A_RECORD]
    placed = [cls for way in ways for cls in way]
    assert len(placed) == len(set(placed))  # one way each
    assert _sync_types() - set(placed) == set()


@pytest.mark.parametrize("cls", sorted(_sync_types(), key=lambda c: c.__name__))
def test_an_event_naming_its_mapping_version_shows_that_mapping_in_traces(
    cls: type[EventData],
) -> None:
    if "mapping_version" in cls.model_fields:
        assert cls in trace.USES_MAPPING
    else:
        assert cls not in trace.USES_MAPPING
