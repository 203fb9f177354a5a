"""Prometheus metrics: ledger requests and pushes are counted while the worker pushes,
and ``/metrics`` serves them (real nats-server, the in-process QBO sandbox, a real HTTP
scrape)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import ConfigurationError
from syncledger.core.ledgers import open_ledger
from syncledger.core.metrics import exposition, served
from syncledger.core.pipeline import ingest_items, run_worker
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from tests.support.records import customer

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats") as embedded:
        yield embedded


async def test_pushing_counts_requests_and_pushes_and_metrics_serves_them(
    tmp_path: Path, server: EmbeddedNats
) -> None:
    cfg = Settings(data_dir=tmp_path / "state", nats_url=server.url, entity="metrics")
    before = exposition().decode()

    async def three() -> AsyncIterator[SourceItem]:
        for i in range(3):
            yield customer(f"m{i}")
        yield customer("bad", email="not-an-address")  # refused at import

    async with open_runtime(cfg) as rt:
        await ingest_items(rt, three())
        ledger = open_ledger(cfg)
        try:
            await run_worker(rt, ledger, until_idle=True)
        finally:
            await ledger.aclose()

    with served(0) as port:
        assert port is not None
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    pushed = {"ledger": "qbo", "kind": "customer", "outcome": "pushed"}
    name = "syncledger_pushes_total"
    assert value(scraped, name, **pushed) - value(before, name, **pushed) == 3
    requests = "syncledger_ledger_requests_total"
    sent = value(scraped, requests, ledger="qbo") - value(before, requests, ledger="qbo")
    assert sent >= 3  # at least one write per customer, every one counted
    timed = "syncledger_ledger_request_duration_seconds_count"
    assert value(scraped, timed, ledger="qbo") - value(before, timed, ledger="qbo") == sent
    lag = "syncledger_source_to_ledger_lag_seconds_count"
    assert value(scraped, lag, ledger="qbo") - value(before, lag, ledger="qbo") == 3
    refused = {"stage": "ledger", "reason": "invalid_email"}
    name = "syncledger_rejections_total"
    assert value(scraped, name, **refused) - value(before, name, **refused) == 1


def test_a_busy_metrics_port_is_one_line_saying_what_to_do() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigurationError) as refused, served(port):
            pass
    message = str(refused.value)
    assert f"127.0.0.1:{port}" in message and "SYNCLEDGER_METRICS_PORT" in message
    assert "\n" not in message


def test_no_port_serves_nothing() -> None:
    with served(None) as port:
        assert port is None


async def test_health_and_readiness_are_served_beside_the_metrics() -> None:
    state = {"ready": False}

    def readiness() -> tuple[bool, str]:
        return (True, "ready: pushing") if state["ready"] else (False, "starting: connecting")

    with served(0, readiness=readiness) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            starting = await client.get("/readyz")
            state["ready"] = True
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
    assert (health.status_code, health.text) == (200, "ok\n")
    assert (starting.status_code, starting.text) == (503, "starting: connecting\n")
    assert (ready.status_code, ready.text) == (200, "ready: pushing\n")
    assert "syncledger_pushes_total" in metrics.text
