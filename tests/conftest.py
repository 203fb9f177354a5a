from __future__ import annotations

from collections.abc import Iterator

import pytest

# the contracts' asserts show their values on failure, as a test module's do
pytest.register_assert_rewrite("tests.contracts")

from tests.support.servers import nats_server, postgres_server  # noqa: E402


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url
