"""Fixtures several integration modules share; a module that defines one of these names
uses its own.

- ``server``: a nats-server of the test's own (its data under ``tmp_path/nats``);
- ``rt``: the runtime on the module's ``settings`` fixture (which names the entity and
  the waits the module needs), ``ledger``: its configured ledger, closed after;
- ``hubspot``, ``jobber``: a source sandbox served over real HTTP on loopback, with its URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.adapters.jobber.sandbox.server import JobberSandbox
from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.settings import Settings
from tests.support.served_sources import served_hubspot, served_jobber


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats") as embedded:
        yield embedded


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as runtime:
        yield runtime


@pytest.fixture
async def ledger(rt: Runtime) -> AsyncIterator[LedgerHandle]:
    handle = open_ledger(rt.settings)
    yield handle
    await handle.aclose()


@pytest.fixture
def hubspot() -> Iterator[tuple[HubSpotSandbox, str]]:
    with served_hubspot() as sandbox_and_url:
        yield sandbox_and_url


@pytest.fixture
def jobber() -> Iterator[tuple[JobberSandbox, str]]:
    with served_jobber() as sandbox_and_url:
        yield sandbox_and_url
