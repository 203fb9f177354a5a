"""HubSpot and Jobber webhooks over real HTTP through a real `syncledger serve` process on a
real nats-server, signed by the sandboxes' own signing code (HubSpot: v3 over method + URI
+ body + timestamp; Jobber: HMAC of the body; SOURCES.md §1.7, §2.1).

HubSpot signs the URL it posted to, so ``serve`` behind a proxy must rebuild that URL:
a delivery signed for the public URL and posted to the loopback address ``serve`` listens
on is accepted only with ``SYNCLEDGER_SERVE_PUBLIC_URL`` set, and refused with an operator
log line naming the setting otherwise."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from syncledger.adapters.hubspot.sandbox.server import TEST_CLIENT_SECRET, HubSpotSandbox
from syncledger.adapters.jobber.sandbox.server import JobberSandbox
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.events import WebhookReceived
from syncledger.core.settings import Settings
from syncledger.core.source_ports import WebhookRequest
from tests.support.processes import Proc, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "hooks"
PUBLIC = "https://hooks.example.com/sl"  # a proxy that strips /sl before serve sees it
PATH = "/webhooks/hubspot"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@dataclass
class Served:
    proc: Proc
    base: str  # http://127.0.0.1:<port>
    log: Path


def serve(
    tmp_path: Path, nats: EmbeddedNats, source: str, name: str, public_url: str | None = None
) -> Served:
    env = {
        "SYNCLEDGER_DATA_DIR": str(tmp_path / "state"),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_SERVE_PORT": "0",
        "SYNCLEDGER_SERVE_PUBLIC_URL": public_url or "",
    }
    log = tmp_path / f"{name}.log"
    proc = Proc(["serve", "--source", source], env, log).start()
    found: list[str] = []

    def listening() -> bool:
        found[:] = re.findall(r"serving webhooks on port (\d+)", log.read_text(errors="replace"))
        return bool(found) or (proc.popen is not None and proc.popen.poll() is not None)

    wait_for(listening, f"serve --source {source} to listen")
    assert found, log.read_text()
    return Served(proc, f"http://127.0.0.1:{found[-1]}", log)


async def post(url: str, request: WebhookRequest) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, content=request.body, headers=dict(request.headers))


async def metrics(served: Served) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(f"{served.base}/metrics")).text


async def receipts(tmp_path: Path, nats: EmbeddedNats) -> list[WebhookReceived]:
    settings = Settings(data_dir=tmp_path / "state", nats_url=nats.url, entity=ENTITY)
    found = []
    async with open_runtime(settings) as rt:
        async for event in rt.store.read():
            payload = event.envelope().payload()
            if isinstance(payload, WebhookReceived):
                found.append(payload)
    return found


def refused(text: str, source: str, reason: str) -> float:
    pattern = rf'syncledger_webhooks_refused_total{{reason="{reason}",source="{source}"}} (\S+)'
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


# ------------------------------------------------------------------------ HubSpot


def deal_changed(
    sandbox: HubSpotSandbox, url: str, *, attempt: int = 0, at: datetime | None = None
) -> WebhookRequest:
    """HubSpot telling deal 501 moved to closedwon, event 9001 (try ``attempt``)."""
    event: dict[str, Any] = {
        **sandbox.store.event("deals", "501", "propertyChange"),
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "eventId": 9001,
        "attemptNumber": attempt,
    }
    return sandbox.store.signed_webhook([event], secret=TEST_CLIENT_SECRET, url=url, at=at)


@pytest.fixture
def hubspot() -> Iterator[HubSpotSandbox]:
    sandbox = HubSpotSandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()


async def test_hubspot_behind_a_proxy_stored_once_forged_and_stale_refused(
    tmp_path: Path, nats: EmbeddedNats, hubspot: HubSpotSandbox
) -> None:
    served = serve(tmp_path, nats, "hubspot", "serve", public_url=PUBLIC)
    local = served.base + PATH
    good = deal_changed(hubspot, PUBLIC + PATH)
    forged = WebhookRequest(
        good.method, good.url, good.headers, good.body.replace(b"501", b"502"), good.received_at
    )
    stale = deal_changed(hubspot, PUBLIC + PATH, at=datetime.now(UTC) - timedelta(minutes=6))
    try:
        first = await post(local, good)
        again = await post(local, good)  # the same try delivered twice
        retried = await post(local, deal_changed(hubspot, PUBLIC + PATH, attempt=1))
        bad = await post(local, forged)
        old = await post(local, stale)
        counted = await metrics(served)
    finally:
        served.proc.stop()
    assert (first.status_code, first.json()) == (200, {"stored": True, "duplicate": False})
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert (retried.status_code, retried.json()["duplicate"]) == (200, True)
    assert (bad.status_code, bad.json()["error"]) == (401, "bad_signature")
    assert (old.status_code, old.json()["error"]) == (401, "stale")
    assert refused(counted, "hubspot", "bad_signature") == 1
    assert refused(counted, "hubspot", "stale") == 1
    stored = await receipts(tmp_path, nats)
    assert [(r.source, [(h.kind, h.id) for h in r.hints]) for r in stored] == [
        ("hubspot", [("invoice", "501")])
    ]


async def test_hubspot_signed_for_the_public_url_needs_the_public_url_setting(
    tmp_path: Path, nats: EmbeddedNats, hubspot: HubSpotSandbox
) -> None:
    query = "?key=s3cr3t"  # a query is signed too; it may carry a token: never logged
    bare = serve(tmp_path, nats, "hubspot", "serve-bare")
    try:
        unset = await post(bare.base + PATH + query, deal_changed(hubspot, PUBLIC + PATH + query))
        counted = await metrics(bare)
    finally:
        bare.proc.stop()
    assert (unset.status_code, unset.json()["error"]) == (401, "bad_signature")
    assert refused(counted, "hubspot", "bad_signature") == 1
    said = bare.log.read_text()
    assert f"checked against {bare.base}{PATH}" in said
    assert "SYNCLEDGER_SERVE_PUBLIC_URL is unset" in said
    assert "s3cr3t" not in said
    assert await receipts(tmp_path, nats) == []

    proxied = serve(tmp_path, nats, "hubspot", "serve-proxied", public_url=PUBLIC + "/")
    try:
        accepted = await post(
            proxied.base + PATH + query, deal_changed(hubspot, PUBLIC + PATH + query)
        )
    finally:
        proxied.proc.stop()
    assert (accepted.status_code, accepted.json()["duplicate"]) == (200, False)
    assert [r.source for r in await receipts(tmp_path, nats)] == ["hubspot"]


# ------------------------------------------------------------------------- Jobber


async def test_jobber_stored_once_across_retries_and_a_forged_one_refused(
    tmp_path: Path, nats: EmbeddedNats
) -> None:
    jobber = JobberSandbox()
    good = jobber.signed_webhook("INVOICE_UPDATE", "inv-77")
    forged = WebhookRequest(
        good.method,
        good.url,
        good.headers,
        good.body.replace(b"inv-77", b"inv-78"),
        good.received_at,
    )
    unsigned = WebhookRequest(good.method, good.url, {}, good.body, good.received_at)
    served = serve(tmp_path, nats, "jobber", "serve")
    url = served.base + "/webhooks/jobber"
    try:
        answers = [await post(url, good) for _ in range(3)]  # at-least-once: retried
        bad = await post(url, forged)
        none = await post(url, unsigned)
        counted = await metrics(served)
    finally:
        served.proc.stop()
    assert [(a.status_code, a.json()["duplicate"]) for a in answers] == [
        (200, False),
        (200, True),
        (200, True),
    ]
    assert (bad.status_code, bad.json()["error"]) == (401, "bad_signature")
    assert (none.status_code, none.json()["error"]) == (401, "unsigned")
    assert refused(counted, "jobber", "bad_signature") == 1
    assert refused(counted, "jobber", "unsigned") == 1
    stored = await receipts(tmp_path, nats)
    assert [(r.source, [(h.kind, h.id) for h in r.hints]) for r in stored] == [
        ("jobber", [("invoice", "inv-77")])
    ]


# ------------------------------------------------------------- the public URL setting


@pytest.mark.parametrize(
    "value",
    [
        "s3cr3t.example.net",
        "ftp://s3cr3t.example.net",
        "https://example.net/?token=s3cr3t",
        "https://user:s3cr3t@example.net",
        "https://example.net/#s3cr3t",
    ],
)
def test_a_public_url_that_cannot_be_a_base_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(serve_public_url=value)
    assert all("s3cr3t" not in e["msg"] for e in caught.value.errors())


def test_the_public_url_is_kept_without_a_trailing_slash() -> None:
    assert Settings(serve_public_url="https://hooks.example.com/sl/").serve_public_url == (
        "https://hooks.example.com/sl"
    )
    assert Settings(serve_public_url="").serve_public_url is None
