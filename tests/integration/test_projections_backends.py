"""The projection contract suite on the real things: a nats-server (JetStream event store)
and PostgreSQL (read-model database), in every combination with the fast fakes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from syncledger.core.store import EventStore
from syncledger.core.store_jetstream import JetStreamEventStore
from syncledger.core.store_memory import MemoryEventStore
from syncledger.projections import make_engine
from tests.unit.test_projections_contract import ProjectionContract

pytestmark = pytest.mark.integration


@pytest.fixture
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamEventStore]:
    """An empty event store on its own stream (subjects ``sl.>``: one stream at a time)."""
    nc = await nats.connect(nats_url)
    name = "T_" + uuid.uuid4().hex
    store = JetStreamEventStore(nc, stream=name)
    await store.ensure_stream(create=True)
    try:
        yield store
    finally:
        await store.close()
        await nc.jetstream().delete_stream(name)
        await nc.close()


@pytest.fixture
def postgres(pg_url: str) -> Iterator[Engine]:
    """An engine on a fresh, empty PostgreSQL database, dropped afterwards."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = "rm_" + uuid.uuid4().hex[:16]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    url = make_url(pg_url).set(database=database).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{database}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'readmodels.db'}")
    yield engine
    engine.dispose()


class TestSqliteOnJetStream(ProjectionContract):
    @pytest.fixture
    def engine(self, sqlite: Engine) -> Engine:
        return sqlite

    @pytest.fixture
    def store(self, jetstream: JetStreamEventStore) -> EventStore:
        return jetstream


@pytest.mark.postgres
class TestPostgresOnMemoryStore(ProjectionContract):
    @pytest.fixture
    def engine(self, postgres: Engine) -> Engine:
        return postgres

    @pytest.fixture
    def store(self) -> EventStore:
        return MemoryEventStore()


@pytest.mark.postgres
class TestPostgresOnJetStream(ProjectionContract):
    @pytest.fixture
    def engine(self, postgres: Engine) -> Engine:
        return postgres

    @pytest.fixture
    def store(self, jetstream: JetStreamEventStore) -> EventStore:
        return jetstream
