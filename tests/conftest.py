from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

# the contracts' asserts show their values on failure, as a test module's do
pytest.register_assert_rewrite("tests.contracts")

from tests.support.servers import nats_server, postgres_server  # noqa: E402

# the key-encryption keys of the data directories the suite sets up go to
# $XDG_CONFIG_HOME/syncledger/<id>/ (core/keystore.py): a private one for this run, inherited
# by the commands tests start, instead of the runner's own ~/.config
_CONFIG_HOME = tempfile.mkdtemp(prefix="syncledger-test-config-")
os.environ["XDG_CONFIG_HOME"] = _CONFIG_HOME
atexit.register(shutil.rmtree, _CONFIG_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url
