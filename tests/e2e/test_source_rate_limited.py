"""Fault: the source rate-limited (issue 11), as real processes.

HubSpot's sandbox runs as a process of its own (tests/support/hubspot_server.py) with a
low daily allowance (12 requests: the whole import needs about 20) and "other apps" of
the account using its burst allowance mid-import (3 answers of 429
TEN_SECONDLY_ROLLING). ``syncledger import --source hubspot`` runs as a process against
it, on a real nats-server, again each time it stops:

- the burst 429s are backed off and retried within the read;
- at ``X-HubSpot-RateLimit-Daily-Remaining: 0`` the reader sends nothing more, keeps the
  pages it read, and the import stops with one line naming the daily limit; a fresh
  process on a used-up day gets one 429 DAILY and stops;
- once HubSpot resets the day, the import goes on from its cursor and completes.

The log then holds every record (250 companies, 120 deals as invoices), each version
once; an import after that adds nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.hubspot.sandbox.server import TEST_ACCESS_TOKEN
from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats, free_port
from syncledger.core.events import SourceRecordObserved
from syncledger.core.settings import Settings
from tests.support.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]
ENTITY = "ratelimited"
DAILY_LIMIT = 12
DAILY = "HubSpot's daily API limit for this account is used up"


class HubSpotProcess:
    """The sandbox process and its control API."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> HubSpotProcess:
        args = ["--port", str(self.port), "--daily-limit", str(DAILY_LIMIT)]
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "tests.support.hubspot_server", *args],
                stdout=out,
                stderr=out,
            )
        wait_for(self._answers, "the HubSpot sandbox to listen")
        return self

    def _answers(self) -> bool:
        try:
            self.control("counts")
        except OSError:
            return False
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/_control/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(20)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def hubspot(tmp_path: Path) -> Iterator[HubSpotProcess]:
    server = HubSpotProcess(tmp_path / "hubspot.log").start()
    try:
        yield server
    finally:
        server.stop()


def import_source(
    tmp_path: Path, nats: EmbeddedNats, hubspot: HubSpotProcess
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SYNCLEDGER_DATA_DIR": str(tmp_path / "state"),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_SOURCE_URL": hubspot.url,
        "SYNCLEDGER_HUBSPOT_ACCESS_TOKEN": TEST_ACCESS_TOKEN,
    }
    return subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", "import", "--source", "hubspot"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def stopped_on_the_daily_limit(done: subprocess.CompletedProcess[str]) -> bool:
    lines = done.stderr.strip().splitlines()
    return done.returncode == 1 and lines[-1].startswith("error: ") and DAILY in lines[-1]


async def observed(tmp_path: Path, nats: EmbeddedNats) -> Counter[tuple[str, str]]:
    """(ref, content digest) of every record version in the log, counted."""
    settings = Settings(data_dir=tmp_path / "state", nats_url=nats.url, entity=ENTITY)
    found: Counter[tuple[str, str]] = Counter()
    async with open_runtime(settings) as rt:
        async for event in rt.store.read():
            payload = event.envelope().payload()
            if isinstance(payload, SourceRecordObserved):
                found[(payload.ref, payload.content_sha256)] += 1
    return found


async def test_a_rate_limited_source_is_read_once_and_completely(
    tmp_path: Path, nats: EmbeddedNats, hubspot: HubSpotProcess
) -> None:
    made = hubspot.control("seed", {"companies": 250, "deals": 120})
    hubspot.control("others", {"policy": "burst", "after": 3, "requests": 3})

    first = import_source(tmp_path, nats, hubspot)
    assert stopped_on_the_daily_limit(first), first.stderr
    assert hubspot.control("counts")["throttled"] == 3  # backed off and retried

    used_up = import_source(tmp_path, nats, hubspot)  # the same day, a fresh process
    assert stopped_on_the_daily_limit(used_up), used_up.stderr
    assert hubspot.control("counts")["daily_refusals"] == 1  # one 429, then nothing sent

    rounds = 0
    while True:
        hubspot.control("new-day", {})
        rounds += 1
        done = import_source(tmp_path, nats, hubspot)
        if done.returncode == 0:
            break
        assert stopped_on_the_daily_limit(done), done.stderr
        assert rounds < 5, "the import makes no progress from one day to the next"
    hubspot.control("new-day", {})
    again = import_source(tmp_path, nats, hubspot)

    versions = await observed(tmp_path, nats)
    counts = hubspot.control("counts")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("0 new record versions"), again.stdout
    assert (counts["throttled"], counts["daily_refusals"]) == (3, 1)
    assert all(n == 1 for n in versions.values()), versions.most_common(3)
    refs = Counter(ref for ref, _ in versions)
    expected = [f"hubspot/customer/{i}" for i in made["companies"]] + [
        f"hubspot/invoice/{i}" for i in made["deals"]
    ]
    assert refs == Counter(expected)
