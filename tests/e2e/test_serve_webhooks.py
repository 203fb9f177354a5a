"""`syncledger serve` as a real process on a real nats-server, taking Standard Webhooks
deliveries over real HTTP: stored before the answer, once however often the sender
retries — also when serve is killed with deliveries in flight — and forged ones refused."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.webhooks.platform import TEST_SECRET
from syncledger.adapters.webhooks.sign import sign
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.events import SourceRecordObserved, WebhookReceived
from syncledger.core.settings import Settings
from tests.support.processes import Proc, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "hooks"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


def serve(tmp_path: Path, nats: EmbeddedNats, log: Path) -> tuple[Proc, str]:
    env = {
        "SYNCLEDGER_DATA_DIR": str(tmp_path / "state"),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_SERVE_PORT": "0",
    }
    proc = Proc(["serve", "--source", "webhooks"], env, log).start()
    found: list[str] = []

    def listening() -> bool:
        found[:] = re.findall(r"serving webhooks on port (\d+)", log.read_text(errors="replace"))
        return bool(found) or (proc.popen is not None and proc.popen.poll() is not None)

    wait_for(listening, "serve to listen")
    assert found, log.read_text()
    return proc, f"http://127.0.0.1:{found[-1]}/webhooks/webhooks"


def delivery(n: int, *, secret: str = TEST_SECRET) -> tuple[bytes, dict[str, str]]:
    record = {"id": f"C{n}", "name": f"Hooked {n} Ltd", "currency": "USD"}
    record["updated_at"] = "2026-12-01T00:00:00Z"
    body = json.dumps(
        {"type": "customer.updated", "timestamp": "2026-12-01T00:00:00Z", "data": record}
    )
    raw = body.encode()
    return raw, sign(secret, f"msg_{n}", datetime.now(UTC), raw)


async def stored(tmp_path: Path, nats: EmbeddedNats) -> tuple[list[str], list[str]]:
    """(delivery ids received, refs observed) in the log."""
    settings = Settings(data_dir=tmp_path / "state", nats_url=nats.url, entity=ENTITY)
    received, observed = [], []
    async with open_runtime(settings) as rt:
        async for event in rt.store.read():
            payload = event.envelope().payload()
            if isinstance(payload, WebhookReceived):
                received.append(payload.delivery_id)
            elif isinstance(payload, SourceRecordObserved):
                observed.append(payload.ref)
    return received, observed


async def post_all(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> list[int | None]:
    async with httpx.AsyncClient(timeout=10) as http:

        async def one(body: bytes, headers: dict[str, str]) -> int | None:
            try:
                return (await http.post(url, content=body, headers=headers)).status_code
            except httpx.TransportError:
                return None  # the process died under it: the sender retries

        return list(await asyncio.gather(*(one(b, h) for b, h in bodies)))


async def test_deliveries_are_stored_once_across_retries_and_a_kill(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    log = tmp_path / "serve.log"
    proc, url = serve(tmp_path, nats, log)
    bodies = [delivery(n) for n in range(40)]
    try:
        first = await post_all(url, bodies[:10])
        assert first == [200] * 10
        in_flight = asyncio.ensure_future(post_all(url, bodies[10:]))
        await asyncio.sleep(0)  # let the posts start
        proc.kill()
        await in_flight
        proc, url = serve(tmp_path, nats, tmp_path / "serve-again.log")
        retried = await post_all(url, bodies + bodies)  # the sender retries everything, twice
        assert retried == [200] * 80
    finally:
        proc.stop()
    received, observed = await stored(tmp_path, nats)
    assert sorted(received) == sorted(f"msg_{n}" for n in range(40))
    assert sorted(observed) == sorted(f"webhooks/customer/C{n}" for n in range(40))


async def test_a_forged_delivery_gets_401_and_nothing_reaches_the_log(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    proc, url = serve(tmp_path, nats, tmp_path / "serve.log")
    body, headers = delivery(1)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            forged = await http.post(
                url, content=body.replace(b"Hooked", b"Forged"), headers=headers
            )
            unsigned = await http.post(url, content=body)
            metrics = (await http.get(url.replace("/webhooks/webhooks", "/metrics"))).text
    finally:
        proc.stop()
    assert (forged.status_code, forged.json()["error"]) == (401, "bad_signature")
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "unsigned")
    assert (
        'syncledger_webhooks_refused_total{reason="bad_signature",source="webhooks"} 1.0' in metrics
    )
    assert await stored(tmp_path, nats) == ([], [])


async def test_a_storm_of_duplicate_deliveries_is_stored_once_each(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    """A sender retrying in a storm: 5 deliveries, each posted 60 times at once."""
    proc, url = serve(tmp_path, nats, tmp_path / "serve.log")
    bodies = [delivery(n) for n in range(5)]
    try:
        answers = await post_all(url, bodies * 60)
    finally:
        proc.stop()
    assert answers == [200] * 300
    received, observed = await stored(tmp_path, nats)
    assert sorted(received) == [f"msg_{n}" for n in range(5)]
    assert sorted(observed) == [f"webhooks/customer/C{n}" for n in range(5)]
