"""Source sandboxes served over real HTTP on loopback (uvicorn in a thread), and the steps
the integration tests of the way back share: a reader connected to the served HubSpot,
and everything it reads pushed one-way through a :class:`tests.unit.test_sync.Harness`."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from syncledger.adapters.hubspot.platform import SOURCE as HUBSPOT
from syncledger.adapters.hubspot.sandbox.server import (
    TEST_ACCESS_TOKEN,
    HubSpotSandbox,
    create_app,
)
from syncledger.adapters.jobber.sandbox.server import JobberSandbox
from syncledger.adapters.jobber.sandbox.server import create_app as create_jobber_app
from syncledger.adapters.jobber.sandbox.server import sandbox_of as jobber_sandbox_of
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.source_ports import SourceReader
from tests.contracts.source_contract import read_all
from tests.unit.test_sync import Harness


@contextlib.contextmanager
def served(app: Starlette) -> Iterator[str]:
    """``app`` on a real loopback port; the socket listens before the server thread
    starts, so a first request waits in its backlog rather than failing."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@contextlib.contextmanager
def served_hubspot() -> Iterator[tuple[HubSpotSandbox, str]]:
    """A HubSpot sandbox and its URL on loopback."""
    sandbox = HubSpotSandbox()
    with served(create_app(sandbox)) as url:
        yield sandbox, url


@contextlib.contextmanager
def served_jobber() -> Iterator[tuple[JobberSandbox, str]]:
    """A Jobber sandbox and its URL on loopback."""
    app = create_jobber_app()
    with served(app) as url:
        yield jobber_sandbox_of(app), url


def hubspot_reader(url: str, tmp_path: Path) -> SourceReader:
    """The HubSpot source connected to the served sandbox at ``url`` (its test token)."""
    creds = {"access_token": TEST_ACCESS_TOKEN}
    return HUBSPOT.connect(SourceConnection(tmp_path / "t.json", base_url=url, credentials=creds))


async def pushed_one_way(h: Harness, reader: SourceReader) -> None:
    """Everything ``reader`` reads, ingested and pushed one-way."""
    items, _ = await read_all(reader, None)
    await h.ingest(items)
    await h.run()
