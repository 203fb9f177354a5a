"""The ledger contract over real sockets: the QBO sandbox as ``serve`` runs it (the CLI's
``syncledger sandbox qbo``), the adapter against its URL, faults set over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.oauth2 import FileTokenStore
from syncledger.adapters.qbo.ledger import QboLedger
from syncledger.core.embedded import free_port
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.support.qbo import REALM, qbo_auth

pytestmark = pytest.mark.integration
ATTEMPTS = 3


class ServedSandbox:
    """``LedgerSandbox`` over the sandbox's ``/_sandbox`` admin endpoints."""

    def __init__(self, url: str) -> None:
        self._admin = httpx.Client(base_url=f"{url}/_sandbox")

    @property
    def throttled(self) -> int:
        return int(self._admin.get("/stats").json()["throttled"])

    def count(self, kind: str) -> int:
        return int(self._admin.get("/counts").json()[kind])

    def _faults(self, **settings: Any) -> None:
        self._admin.post("/faults", json=settings).raise_for_status()

    def fail_next_writes(self, n: int = 1, status: int = 500) -> None:
        self._faults(fail_writes=n, fail_status=status)

    def throttle_next(self, n: int = 1, retry_after: float = 1.0) -> None:
        self._faults(throttle=n, retry_after=retry_after)

    def commit_then_timeout_next(self, n: int = 1, stall_seconds: float | None = None) -> None:
        self._faults(commit_then_timeout=n, stall_seconds=stall_seconds or 1.0)

    def close(self) -> None:
        self._admin.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    code = (
        "from pathlib import Path; from syncledger.adapters.qbo.sandbox.server import serve; "
        f"serve({port}, Path({str(tmp_path)!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_sandbox/stats", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the QBO sandbox did not start at {url}")


class TestServedQboLedgerContract(LedgerContract):
    unknown_customer_code = "2500"

    @pytest.fixture
    async def ledger(self, served: str, tmp_path: Path) -> AsyncIterator[LedgerUnderTest]:
        adapter = QboLedger.connect(
            realm_id=REALM,
            auth=qbo_auth(FileTokenStore(tmp_path / "tokens.json"), base_url=served),
            base_url=served,
            timeout=0.5,
            retry=RetryPolicy(
                attempts=ATTEMPTS, base_delay=0.01, max_delay=0.05, max_retry_after=2.0
            ),
        )
        sandbox = ServedSandbox(served)
        yield LedgerUnderTest(adapter, sandbox, attempts=ATTEMPTS)
        await adapter.aclose()
        sandbox.close()
