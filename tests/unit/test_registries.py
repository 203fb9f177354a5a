"""Ledgers and sources are found by id in their registries (adapters/platforms.py,
adapters/sources/registry.py); an id not registered, or a module this build lacks, is a
ConfigurationError saying which ids there are."""

from __future__ import annotations

import pytest

from syncledger.adapters.platforms import platform, platform_ids, registered
from syncledger.adapters.sources.registry import source, source_ids
from syncledger.core.errors import ConfigurationError


def test_every_registered_ledger_and_source_is_found_under_its_id() -> None:
    assert all(platform(ledger).id == ledger for ledger in platform_ids())
    assert all(source(name).id == name for name in source_ids())


def test_an_unknown_id_lists_the_ones_to_choose_from() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown ledger 'nope': choose one of qbo, "):
        platform("nope")
    with pytest.raises(ConfigurationError, match=r"\(SYNCLEDGER_SOURCE\)$"):
        source("nope")


def test_a_registered_module_missing_from_the_build_is_said_so() -> None:
    modules = {"gone": "syncledger.adapters.no_such_platform.platform"}
    with pytest.raises(ConfigurationError, match="ledger 'gone' is not available in this build"):
        registered(modules, "gone", "ledger", "the list")
